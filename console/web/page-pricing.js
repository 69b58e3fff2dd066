// PLACEHOLDER (issue 21): the pricing page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'pricing',
  nav: 'nav.pricing',
  visible: (me) => can(me, 'read_price_lists'),
  needsPartner: false,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.pricing')));
  },
};
