// PLACEHOLDER (issue 21): the profiles page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'profiles',
  nav: 'nav.profiles',
  visible: (me) => can(me, 'manage_business_profiles'),
  needsPartner: true,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.profiles')));
  },
};
