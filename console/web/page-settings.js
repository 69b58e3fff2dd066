// PLACEHOLDER (issue 21): the settings page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'settings',
  nav: 'nav.settings',
  visible: (me) => me.kind !== 'auditor',
  needsPartner: true,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.settings')));
  },
};
