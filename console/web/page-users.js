// PLACEHOLDER (issue 21): the users page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'users',
  nav: 'nav.users',
  visible: (me) => can(me, 'read_user_directory'),
  needsPartner: true,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.users')));
  },
};
