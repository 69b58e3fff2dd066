// Overview: who is signed in, their roles and the permissions those give
// (GET /v1/me, the server's matrix), and a partner user's latest notifications.
import {h} from './dom.js';
import {api} from './api.js';
import {t, addMessages, formatDateTime} from './i18n.js';
import {section, errorBox} from './forms.js';
import './labels.js';

addMessages({
  en: {
    'overview.principal': 'Principal',
    'overview.kind': 'Kind',
    'overview.kind.user': 'partner user',
    'overview.kind.operator': 'operator',
    'overview.kind.auditor': 'auditor',
    'overview.partner': 'Partner id',
    'overview.roles': 'Roles',
    'overview.permissions': 'What you may do',
    'overview.notifications': 'Latest notifications',
    'overview.unread': '{count} unread',
  },
  ja: {
    'overview.principal': 'プリンシパル',
    'overview.kind': '種類',
    'overview.kind.user': 'パートナー ユーザー',
    'overview.kind.operator': 'オペレーター',
    'overview.kind.auditor': '監査人',
    'overview.partner': 'パートナー ID',
    'overview.roles': 'ロール',
    'overview.permissions': '許可されている操作',
    'overview.notifications': '最新の通知',
    'overview.unread': '未読 {count} 件',
  },
});

export default {
  id: 'overview',
  nav: 'nav.overview',
  visible: () => true,
  needsPartner: false,
  async render(root, {me}) {
    root.appendChild(h('h1', {}, t('nav.overview')));
    const facts = h('dl', {class: 'facts'},
      h('dt', {}, t('overview.principal')), h('dd', {}, me.principal),
      h('dt', {}, t('overview.kind')), h('dd', {}, t(`overview.kind.${me.kind}`)),
      me.partner_id ? [h('dt', {}, t('overview.partner')), h('dd', {}, h('code', {id: 'partner-id'}, me.partner_id))] : null,
      me.roles && me.roles.length ? [h('dt', {}, t('overview.roles')), h('dd', {}, me.roles.map((r) => t(`role.${r}`)).join(', '))] : null);
    root.appendChild(section(t('overview.principal'), facts));
    root.appendChild(section(t('overview.permissions'),
      h('ul', {class: 'permissions'}, me.permissions.map((p) => h('li', {dataset: {code: p.code}}, t(`permission.${p.code}`))))));
    if (me.kind === 'user') {
      const box = section(t('overview.notifications'));
      root.appendChild(box);
      try {
        const feed = await api.get('/v1/me/notifications', {limit: 5});
        box.appendChild(h('p', {}, t('overview.unread', {count: feed.unread_count})));
        box.appendChild(h('ul', {}, (feed.notifications || []).map((n) =>
          h('li', {}, `${formatDateTime(n.at)} — ${t(`notification.${n.kind}`)}`))));
      } catch (err) {
        box.appendChild(errorBox(err));
      }
    }
  },
};
