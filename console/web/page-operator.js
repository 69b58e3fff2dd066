// PLACEHOLDER (issue 21): the operator page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'operator',
  nav: 'nav.operator',
  visible: (me) => me.kind === 'operator',
  needsPartner: false,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.operator')));
  },
};
