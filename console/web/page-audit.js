// PLACEHOLDER (issue 21): the audit page is being written.
import {h} from './dom.js';
import {can} from './api.js';
import {t} from './i18n.js';

export default {
  id: 'audit',
  nav: 'nav.audit',
  visible: (me) => can(me, 'read_audit_history'),
  needsPartner: true,
  async render(root) {
    root.appendChild(h('h1', {}, t('nav.audit')));
  },
};
