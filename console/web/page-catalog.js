// PLACEHOLDER (issue 21): the catalog page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'catalog',
  nav: 'nav.catalog',
  visible: (me) => can(me, 'read_catalog'),
  needsPartner: true,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.catalog')));
  },
};
