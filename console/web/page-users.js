// Users: the partner's user directory (GET /v1/partners/{id}/users) filtered in
// the page; creating a user with roles chosen one per category; a user's
// roles (AssignRole/RemoveRole), password reset, deactivation, restore and
// purge (docs/commands.md). A temporary password is shown once, in the page
// only: it is never stored, and it is gone when its box is closed or the page
// changes.
import {h, replace, clear, uid, announce} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatDate, formatDateTime} from './i18n.js';
import {field, form, values} from './forms.js';
import './labels.js';

const DAY = 24 * 60 * 60 * 1000;
const WINDOW_DAYS = 30;

addMessages({
  en: {
    'users.directory': 'Directory',
    'users.search': 'Search name or email',
    'users.role': 'Role',
    'users.status': 'Status',
    'users.all': 'All',
    'users.status.active': 'Active',
    'users.status.inactive': 'Deactivated',
    'users.status.purged': 'Purged',
    'users.count': 'Showing {shown} of {total} users.',
    'users.name': 'Name',
    'users.email': 'Email',
    'users.roles': 'Roles',
    'users.created': 'Created',
    'users.actions': 'Actions',
    'users.noRoles': 'No role',
    'users.erased': '(personal data erased)',
    'users.mustChange': 'must change password',
    'users.manage': 'Manage',
    'users.manageOf': 'Manage {name}',
    'users.none': 'No user matches.',
    'users.create': 'Create a user',
    'users.firstName': 'First name',
    'users.lastName': 'Last name',
    'users.phone': 'Phone',
    'users.createSubmit': 'Create user',
    'users.createdMsg': 'User {name} created.',
    'users.rolesLegend': 'Roles (at most one per category)',
    'users.noneRole': 'None',
    'users.notGrantable': '(you cannot grant this role)',
    'users.rolesHelp': 'A user holds at most one role per category, and needs at least one role to work. Roles you cannot grant are marked; the server refuses them.',
    'users.saveRoles': 'Save roles',
    'users.rolesSaved': 'Roles saved.',
    'users.rolesUnchanged': 'No change to save.',
    'users.secretTitle': 'Temporary password',
    'users.secretIntro': 'The temporary password of {name}. It is shown only this once: give it to the user now. They must change it when they sign in.',
    'users.copy': 'Copy',
    'users.copied': 'Copied',
    'users.copyFailed': 'Copy failed: select the text and copy it.',
    'users.secretClose': 'Close (the password will not be shown again)',
    'users.reset': 'Reset password',
    'users.resetConfirm': 'Reset the password of {name}? Their current password stops working and a new temporary password is shown once.',
    'users.resetSubmit': 'Confirm reset',
    'users.resetDone': 'Password reset.',
    'users.deactivate': 'Deactivate',
    'users.deactivateConfirm': 'Deactivate {name}? They are signed out and cannot sign in. The account can be restored within 30 days; after that it can only be purged.',
    'users.deactivateSubmit': 'Confirm deactivation',
    'users.deactivated': 'User deactivated.',
    'users.restore': 'Restore',
    'users.restoreConfirm': 'Restore {name}? They can sign in again with their roles.',
    'users.restoreSubmit': 'Confirm restore',
    'users.restored': 'User restored.',
    'users.purge': 'Purge',
    'users.purgeConfirm': 'Purge {name}? Their personal data is erased for good and their email is released. This cannot be undone.',
    'users.purgeSubmit': 'Confirm purge',
    'users.purged': 'User purged.',
    'users.window': 'Deactivated on {date}. It can be restored until {until}. A deactivated user can be purged (personal data erased) only after those 30 days.',
    'users.windowOver': 'Deactivated on {date}. The 30-day restore window ended on {until}: it can no longer be restored, only purged.',
    'users.activeHelp': 'Deactivating a user keeps the account for 30 days, during which it can be restored; after that it can be purged.',
    'users.purgedHelp': 'This user was purged: nothing more can be done.',
    'users.panelTitle': 'Manage {name}',
    'users.closePanel': 'Close',
    'users.lifecycle': 'Account',
    'users.readOnly': 'Your roles let you read the directory only.',
  },
  ja: {
    'users.directory': 'ディレクトリ',
    'users.search': '名前またはメール アドレスで検索',
    'users.role': 'ロール',
    'users.status': '状態',
    'users.all': 'すべて',
    'users.status.active': '有効',
    'users.status.inactive': '無効化済み',
    'users.status.purged': '完全削除済み',
    'users.count': '{total} 人中 {shown} 人を表示しています。',
    'users.name': '名前',
    'users.email': 'メール アドレス',
    'users.roles': 'ロール',
    'users.created': '作成日時',
    'users.actions': '操作',
    'users.noRoles': 'ロールなし',
    'users.erased': '(個人データは消去済み)',
    'users.mustChange': 'パスワード変更が必要',
    'users.manage': '管理',
    'users.manageOf': '{name} を管理',
    'users.none': '該当するユーザーはいません。',
    'users.create': 'ユーザーを作成',
    'users.firstName': '名',
    'users.lastName': '姓',
    'users.phone': '電話番号',
    'users.createSubmit': 'ユーザーを作成',
    'users.createdMsg': 'ユーザー {name} を作成しました。',
    'users.rolesLegend': 'ロール (カテゴリごとに 1 つまで)',
    'users.noneRole': 'なし',
    'users.notGrantable': '(あなたはこのロールを付与できません)',
    'users.rolesHelp': 'ユーザーが持てるロールはカテゴリごとに 1 つまでです。作業するには少なくとも 1 つのロールが必要です。付与できないロールには印が付いており、サーバーが拒否します。',
    'users.saveRoles': 'ロールを保存',
    'users.rolesSaved': 'ロールを保存しました。',
    'users.rolesUnchanged': '保存する変更はありません。',
    'users.secretTitle': '一時パスワード',
    'users.secretIntro': '{name} の一時パスワードです。表示されるのはこの 1 回だけなので、今すぐユーザーに伝えてください。ユーザーはサインイン時に変更する必要があります。',
    'users.copy': 'コピー',
    'users.copied': 'コピーしました',
    'users.copyFailed': 'コピーできませんでした。テキストを選択してコピーしてください。',
    'users.secretClose': '閉じる (パスワードは再表示されません)',
    'users.reset': 'パスワードをリセット',
    'users.resetConfirm': '{name} のパスワードをリセットしますか? 現在のパスワードは使えなくなり、新しい一時パスワードが 1 回だけ表示されます。',
    'users.resetSubmit': 'リセットを確定',
    'users.resetDone': 'パスワードをリセットしました。',
    'users.deactivate': '無効化',
    'users.deactivateConfirm': '{name} を無効化しますか? サインアウトされ、サインインできなくなります。30 日以内なら復元できますが、それを過ぎると完全削除しかできません。',
    'users.deactivateSubmit': '無効化を確定',
    'users.deactivated': 'ユーザーを無効化しました。',
    'users.restore': '復元',
    'users.restoreConfirm': '{name} を復元しますか? 元のロールで再びサインインできるようになります。',
    'users.restoreSubmit': '復元を確定',
    'users.restored': 'ユーザーを復元しました。',
    'users.purge': '完全削除',
    'users.purgeConfirm': '{name} を完全削除しますか? 個人データは完全に消去され、メール アドレスは再利用可能になります。元に戻せません。',
    'users.purgeSubmit': '完全削除を確定',
    'users.purged': 'ユーザーを完全削除しました。',
    'users.window': '{date} に無効化されました。{until} まで復元できます。無効化されたユーザーの完全削除 (個人データの消去) は、この 30 日が過ぎてからのみ可能です。',
    'users.windowOver': '{date} に無効化されました。30 日間の復元期間は {until} に終了したため、復元はできず完全削除のみ可能です。',
    'users.activeHelp': 'ユーザーを無効化してもアカウントは 30 日間保持され、その間は復元できます。その後は完全削除できます。',
    'users.purgedHelp': 'このユーザーは完全削除されています。これ以上の操作はできません。',
    'users.panelTitle': '{name} の管理',
    'users.closePanel': '閉じる',
    'users.lifecycle': 'アカウント',
    'users.readOnly': 'あなたのロールではディレクトリの閲覧のみできます。',
  },
});

function fullName(u) {
  if (u.erased) return t('users.erased');
  return `${u.first_name || ''} ${u.last_name || ''}`.trim() || u.email || u.user_id;
}

// The temporary password box: the password lives in this node only.
function showSecret(slot, name, password) {
  const copied = h('span', {class: 'form-status', role: 'status', 'aria-live': 'polite'});
  const titleId = uid('secret');
  const box = h('section', {class: 'secret stack', id: 'temporary-password-box', 'aria-labelledby': titleId},
    h('h2', {id: titleId}, t('users.secretTitle')),
    h('p', {}, t('users.secretIntro', {name})),
    h('p', {}, h('code', {id: 'temporary-password'}, password)),
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'primary', id: 'copy-password', onclick: async () => {
        try {
          await navigator.clipboard.writeText(password);
          copied.textContent = t('users.copied');
        } catch {
          copied.textContent = t('users.copyFailed');
        }
      }}, t('users.copy')),
      copied,
      h('button', {type: 'button', id: 'close-password', onclick: () => clear(slot)}, t('users.secretClose'))));
  replace(slot, box);
  box.querySelector('#copy-password').focus();
}

// Radio groups, one per role category (from GET /v1/me), "none" allowed;
// roles the caller cannot grant are offered but marked. `current` preselects.
function roleChooser(me, current) {
  const formKey = uid('roles');
  const grantable = new Set(me.grantable_roles || []);
  const groups = (me.role_categories || []).map((cat, i) => {
    const name = `${formKey}-${i}`;
    const errorId = `${formKey}-${i}-none-error`;
    const held = cat.roles.find((r) => current.includes(r)) || '';
    const radio = (value, label, extra) => {
      const id = `${formKey}-${i}-${value || 'none'}`;
      return h('label', {class: 'radio', for: id},
        h('input', {type: 'radio', id, name, value, checked: value === held,
          dataset: {field: `roles.${i}`, skip: '1', category: cat.category, role: value},
          'aria-describedby': errorId}),
        label, extra ? h('span', {class: 'not-grantable'}, ` ${extra}`) : null);
    };
    const none = radio('', t('users.noneRole'));
    // forms.js puts an error for `roles.<i>` beside its first input: the "none" radio.
    const noneInput = none.querySelector('input');
    const slot = h('p', {class: 'field-error', id: `${noneInput.id}-error`, hidden: true});
    return h('fieldset', {class: 'role-group', dataset: {category: cat.category}},
      h('legend', {}, t(`category.${cat.category}`)),
      h('div', {class: 'role-options'}, none,
        cat.roles.map((r) => radio(r, t(`role.${r}`), grantable.has(r) ? null : t('users.notGrantable')))),
      slot);
  });
  const el = h('fieldset', {class: 'stack roles-chooser'}, h('legend', {}, t('users.rolesLegend')),
    h('p', {class: 'field-help'}, t('users.rolesHelp')), groups);
  // The chosen role of each category ('' for none), in the categories' order.
  el.chosen = () => (me.role_categories || []).map((cat, i) => {
    const checked = el.querySelector(`input[name="${formKey}-${i}"]:checked`);
    return checked ? checked.value : '';
  });
  return el;
}

function categoryIndexOf(me, role) {
  return (me.role_categories || []).findIndex((c) => c.roles.includes(role));
}

export default {
  id: 'users',
  nav: 'nav.users',
  visible: (me) => can(me, 'read_user_directory'),
  needsPartner: true,
  async render(root, ctx) {
    const {me} = ctx;
    const base = `/v1/partners/${ctx.partner}/users`;
    let users = await api.get(base);
    if (!ctx.isCurrent()) return;
    const manageUsers = can(me, 'manage_users');
    const manageRoles = can(me, 'manage_roles');

    root.appendChild(h('h1', {}, t('nav.users')));
    const secretSlot = h('div', {id: 'secret-slot'});
    root.appendChild(secretSlot);
    if (!manageUsers && !manageRoles) root.appendChild(h('p', {class: 'notice'}, t('users.readOnly')));

    // -- the directory, filtered in the page
    const search = h('input', {type: 'search', id: 'user-search', autocomplete: 'off'});
    const roleFilter = h('select', {id: 'user-role-filter'}, h('option', {value: ''}, t('users.all')),
      (me.role_categories || []).map((c) => h('optgroup', {label: t(`category.${c.category}`)},
        c.roles.map((r) => h('option', {value: r}, t(`role.${r}`))))));
    const statusFilter = h('select', {id: 'user-status-filter'}, h('option', {value: ''}, t('users.all')),
      ['active', 'inactive', 'purged'].map((s) => h('option', {value: s}, t(`users.status.${s}`))));
    const count = h('p', {class: 'counter', id: 'user-count', role: 'status', 'aria-live': 'polite'});
    const tableSlot = h('div', {class: 'table-wrap'});
    const panel = h('div', {id: 'user-panel-slot'});

    const drawTable = () => {
      const q = search.value.trim().toLowerCase();
      const role = roleFilter.value;
      const status = statusFilter.value;
      const shown = users.filter((u) => (!q || `${u.first_name} ${u.last_name} ${u.email}`.toLowerCase().includes(q)) &&
        (!role || (u.roles || []).includes(role)) && (!status || u.status === status));
      count.textContent = t('users.count', {shown: shown.length, total: users.length});
      replace(tableSlot, h('table', {id: 'users-table'},
        h('caption', {class: 'visually-hidden'}, t('users.directory')),
        h('thead', {}, h('tr', {}, ['users.name', 'users.email', 'users.roles', 'users.status', 'users.created', 'users.actions']
          .map((k) => h('th', {scope: 'col'}, t(k))))),
        h('tbody', {}, shown.length ? shown.map((u) => h('tr', {dataset: {user: u.user_id, email: u.email || ''}},
          h('th', {scope: 'row'}, fullName(u)),
          h('td', {}, u.email || '—'),
          h('td', {class: 'user-roles'}, (u.roles || []).length ? u.roles.map((r) => t(`role.${r}`)).join(', ') : t('users.noRoles')),
          h('td', {}, h('span', {class: u.status === 'active' ? 'badge good' : 'badge bad', dataset: {status: u.status}},
            t(`users.status.${u.status}`)),
          u.must_change_password && u.status === 'active' ? h('div', {class: 'field-help'}, t('users.mustChange')) : null),
          h('td', {}, formatDate(u.created_at)),
          h('td', {}, (manageUsers || manageRoles) && u.status !== 'purged' ?
            h('button', {type: 'button', class: 'link', dataset: {action: 'manage'},
              'aria-label': t('users.manageOf', {name: fullName(u)}),
              onclick: () => openPanel(u.user_id)}, t('users.manage')) : null))) :
          h('tr', {}, h('td', {colspan: 6}, t('users.none'))))));
    };
    for (const el of [search, roleFilter, statusFilter]) {
      el.addEventListener('input', drawTable);
      el.addEventListener('change', drawTable);
    }

    const reload = async (reply) => {
      users = await api.get(base, reply && reply.min_position ? {min_position: reply.min_position} : undefined);
      if (!ctx.isCurrent()) return;
      drawTable();
    };

    // -- one user: roles, password, lifecycle
    const openPanel = (userId, message) => {
      const u = users.find((x) => x.user_id === userId);
      if (!u) return clear(panel);
      const name = fullName(u);
      const titleId = uid('panel');
      const status = h('p', {class: 'form-status', role: 'status', 'aria-live': 'polite', id: 'user-panel-status'}, message || '');
      const step = h('div', {class: 'stack', id: 'user-step'});
      const parts = [];
      if (manageRoles && u.status === 'active') {
        const roles = [...(u.roles || [])];
        const chooser = roleChooser(me, roles);
        parts.push(form({submitLabel: t('users.saveRoles'), class: 'stack', onsubmit: async () => {
          const wanted = chooser.chosen();
          let last = null;
          let changed = false;
          try {
            for (const [i, cat] of (me.role_categories || []).entries()) {
              const held = cat.roles.find((r) => roles.includes(r)) || '';
              if (held === wanted[i]) continue;
              changed = true;
              if (held) {
                last = await api.command('RemoveRole', {partner_id: ctx.partner, user_id: u.user_id, role: held});
                roles.splice(roles.indexOf(held), 1);
              }
              if (wanted[i]) {
                try {
                  last = await api.command('AssignRole', {partner_id: ctx.partner, user_id: u.user_id, role: wanted[i]});
                } catch (err) {
                  if (err.field === 'role') err.field = `roles.${i}`;
                  throw err;
                }
                roles.push(wanted[i]);
              }
            }
          } catch (err) {
            if (last) await reload(last);
            throw err;
          }
          if (!changed) return t('users.rolesUnchanged');
          await reload(last);
          openPanel(u.user_id, t('users.rolesSaved'));
          announce(t('users.rolesSaved'));
          return undefined;
        }}, chooser));
      }
      const actions = [];
      const confirmStep = (textKey, submitKey, command, doneKey, danger, after) => () => {
        const close = () => clear(step);
        replace(step, form({submitLabel: t(submitKey), danger, class: 'stack confirm-step', onsubmit: async () => {
          const reply = await api.command(command, {partner_id: ctx.partner, user_id: u.user_id});
          await reload(reply);
          if (after) after(reply);
          openPanel(u.user_id, t(doneKey));
          announce(t(doneKey));
        }}, h('p', {}, t(textKey, {name})), h('button', {type: 'button', onclick: close}, t('app.cancel'))));
        const first = step.querySelector('button');
        if (first) first.focus();
      };
      const lifecycle = [];
      if (manageUsers && u.status === 'active') {
        actions.push(h('button', {type: 'button', id: 'reset-password',
          onclick: confirmStep('users.resetConfirm', 'users.resetSubmit', 'ResetPassword', 'users.resetDone', false,
            (reply) => showSecret(secretSlot, name, reply.result.temporary_password))}, t('users.reset')));
        actions.push(h('button', {type: 'button', class: 'danger', id: 'deactivate-user',
          onclick: confirmStep('users.deactivateConfirm', 'users.deactivateSubmit', 'DeactivateUser', 'users.deactivated', true)},
        t('users.deactivate')));
        lifecycle.push(h('p', {class: 'field-help'}, t('users.activeHelp')));
      }
      if (u.status === 'inactive') {
        const at = new Date(u.deactivated_at).getTime();
        const until = new Date(at + WINDOW_DAYS * DAY).toISOString();
        const open = Date.now() <= at + WINDOW_DAYS * DAY;
        lifecycle.push(h('p', {id: 'restore-window'}, t(open ? 'users.window' : 'users.windowOver',
          {date: formatDateTime(u.deactivated_at), until: formatDateTime(until)})));
        if (manageUsers && open) {
          actions.push(h('button', {type: 'button', class: 'primary', id: 'restore-user',
            onclick: confirmStep('users.restoreConfirm', 'users.restoreSubmit', 'RestoreUser', 'users.restored', false)},
          t('users.restore')));
        }
        if (can(me, 'purge_users') && !open) {
          actions.push(h('button', {type: 'button', class: 'danger', id: 'purge-user',
            onclick: confirmStep('users.purgeConfirm', 'users.purgeSubmit', 'PurgeUser', 'users.purged', true)}, t('users.purge')));
        }
      }
      if (u.status === 'purged') lifecycle.push(h('p', {}, t('users.purgedHelp')));
      replace(panel, h('section', {class: 'card stack', id: 'user-panel', 'aria-labelledby': titleId, dataset: {user: u.user_id}},
        h('h2', {id: titleId}, t('users.panelTitle', {name})),
        h('dl', {class: 'facts'},
          h('dt', {}, t('users.email')), h('dd', {}, u.email || '—'),
          h('dt', {}, t('users.status')), h('dd', {id: 'user-panel-state'}, t(`users.status.${u.status}`)),
          h('dt', {}, t('users.roles')), h('dd', {}, (u.roles || []).length ? u.roles.map((r) => t(`role.${r}`)).join(', ') : t('users.noRoles')),
          h('dt', {}, t('users.created')), h('dd', {}, formatDateTime(u.created_at))),
        status,
        parts,
        lifecycle.length || actions.length ? h('h3', {}, t('users.lifecycle')) : null, lifecycle,
        actions.length ? h('div', {class: 'actions'}, actions) : null,
        step,
        h('div', {class: 'actions'}, h('button', {type: 'button', id: 'close-panel', onclick: () => {
          clear(panel);
        }}, t('users.closePanel')))));
      return undefined;
    };

    root.appendChild(h('section', {class: 'card stack', 'aria-labelledby': 'directory-title'},
      h('h2', {id: 'directory-title'}, t('users.directory')),
      h('div', {class: 'row filters'},
        h('div', {class: 'field'}, h('label', {for: 'user-search'}, t('users.search')), search),
        h('div', {class: 'field'}, h('label', {for: 'user-role-filter'}, t('users.role')), roleFilter),
        h('div', {class: 'field'}, h('label', {for: 'user-status-filter'}, t('users.status')), statusFilter)),
      count, tableSlot));
    root.appendChild(panel);

    // -- creating a user
    if (manageUsers) {
      const chooser = roleChooser(me, []);
      const createForm = form({submitLabel: t('users.createSubmit'), onsubmit: async (formEl) => {
        const v = values(formEl);
        const roles = chooser.chosen().filter(Boolean);
        let reply;
        try {
          reply = await api.command('CreateUser', {partner_id: ctx.partner, profile: v.profile, roles});
        } catch (err) {
          const m = /^roles\[(\d+)\]$/.exec(err.field || '');
          if (m && roles[Number(m[1])]) err.field = `roles.${categoryIndexOf(me, roles[Number(m[1])])}`;
          throw err;
        }
        const name = `${v.profile.first_name} ${v.profile.last_name}`;
        showSecret(secretSlot, name, reply.result.temporary_password);
        for (const input of formEl.querySelectorAll('input[type="text"], input[type="email"], input[type="tel"]')) input.value = '';
        for (const input of formEl.querySelectorAll('input[type="radio"]')) input.checked = input.value === '';
        await reload(reply);
        return t('users.createdMsg', {name});
      }},
      h('div', {class: 'grid'},
        field({label: t('users.firstName'), name: 'profile.first_name', required: true, maxlength: 50, autocomplete: 'off'}),
        field({label: t('users.lastName'), name: 'profile.last_name', required: true, maxlength: 50, autocomplete: 'off'}),
        field({label: t('users.email'), name: 'profile.email', type: 'email', required: true, autocomplete: 'off'}),
        field({label: t('users.phone'), name: 'profile.phone', type: 'tel', autocomplete: 'off'})),
      chooser);
      root.appendChild(h('section', {class: 'card', id: 'create-user', 'aria-labelledby': 'create-user-title'},
        h('h2', {id: 'create-user-title'}, t('users.create')), createForm));
    }

    drawTable();
    if (ctx.params.get('user')) openPanel(ctx.params.get('user'));
  },
};
