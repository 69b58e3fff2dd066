// Sign-in: a partner user (partner id, email, password: POST /v1/sessions),
// or the operator or an auditor with their token (checked with GET /v1/me).
// A temporary password must be changed before anything else (POST /v1/me/password).
import {h, replace} from './dom.js';
import {api, saveSession, currentSession} from './api.js';
import {t, addMessages} from './i18n.js';
import {field, form, values, errorBox, fieldError} from './forms.js';

addMessages({
  en: {
    'signin.title': 'Sign in',
    'signin.user': 'Partner user',
    'signin.token': 'Operator or auditor token',
    'signin.mode': 'Sign in as',
    'signin.partnerId': 'Partner id',
    'signin.email': 'Email',
    'signin.password': 'Password',
    'signin.tokenField': 'Token',
    'signin.tokenHelp': 'The operator\'s token is in DATA/operator.token; an auditor\'s was given once when access was issued.',
    'signin.submit': 'Sign in',
    'signin.change.title': 'Choose your password',
    'signin.change.intro': 'You signed in with a temporary password. Choose your own before you go on.',
    'signin.change.old': 'Temporary password',
    'signin.change.new': 'New password',
    'signin.change.newHelp': '12 to 128 characters.',
    'signin.change.confirm': 'New password again',
    'signin.change.mismatch': 'The two new passwords differ.',
    'signin.change.submit': 'Change password',
  },
  ja: {
    'signin.title': 'サインイン',
    'signin.user': 'パートナー ユーザー',
    'signin.token': 'オペレーターまたは監査人のトークン',
    'signin.mode': 'サインイン方法',
    'signin.partnerId': 'パートナー ID',
    'signin.email': 'メール アドレス',
    'signin.password': 'パスワード',
    'signin.tokenField': 'トークン',
    'signin.tokenHelp': 'オペレーターのトークンは DATA/operator.token にあります。監査人のトークンはアクセス発行時に一度だけ渡されます。',
    'signin.submit': 'サインイン',
    'signin.change.title': 'パスワードの設定',
    'signin.change.intro': '一時パスワードでサインインしました。続行する前に自分のパスワードを設定してください。',
    'signin.change.old': '一時パスワード',
    'signin.change.new': '新しいパスワード',
    'signin.change.newHelp': '12 ～ 128 文字。',
    'signin.change.confirm': '新しいパスワード (確認)',
    'signin.change.mismatch': '2 つの新しいパスワードが一致しません。',
    'signin.change.submit': 'パスワードを変更',
  },
});

export function renderSignIn(main, {onSignedIn, error}) {
  let mode = 'user';
  const body = h('div', {});
  const radios = h('fieldset', {class: 'mode'}, h('legend', {}, t('signin.mode')),
    ['user', 'token'].map((m) => h('label', {class: 'radio'},
      h('input', {type: 'radio', name: 'signin-mode', id: `signin-mode-${m}`, value: m, checked: m === mode,
        onchange: () => {
          mode = m;
          draw();
        }}),
      t(m === 'user' ? 'signin.user' : 'signin.token'))));

  function draw() {
    if (mode === 'user') {
      replace(body, form({submitLabel: t('signin.submit'), onsubmit: async (f) => {
        const v = values(f);
        const r = await api.post('/v1/sessions', {partner_id: v.partner_id.trim(), email: v.email.trim(), password: v.password});
        saveSession({token: r.token, kind: 'user', must_change_password: r.must_change_password});
        await onSignedIn();
      }},
      field({label: t('signin.partnerId'), name: 'partner_id', required: true, autocomplete: 'organization'}),
      field({label: t('signin.email'), name: 'email', type: 'email', required: true, autocomplete: 'username'}),
      field({label: t('signin.password'), name: 'password', type: 'password', required: true,
        autocomplete: 'current-password'})));
    } else {
      replace(body, form({submitLabel: t('signin.submit'), onsubmit: async (f) => {
        const token = values(f).token.trim();
        saveSession({token, kind: 'token'});
        try {
          const me = await api.get('/v1/me');
          saveSession({token, kind: me.kind});
        } catch (err) {
          saveSession(null);
          throw err;
        }
        await onSignedIn();
      }},
      field({label: t('signin.tokenField'), name: 'token', type: 'password', required: true, help: t('signin.tokenHelp'),
        autocomplete: 'off'})));
    }
  }
  draw();
  replace(main, h('div', {class: 'page narrow', id: 'page-signin'}, h('h1', {}, t('signin.title')),
    error ? errorBox(error) : null, radios, body));
  document.title = t('signin.title');
}

export function renderPasswordChange(main, {onChanged}) {
  const f = form({submitLabel: t('signin.change.submit'), onsubmit: async (el) => {
    const v = values(el);
    if (v.new !== v.confirm) {
      throw fieldError(t('signin.change.mismatch'), 'confirm');
    }
    await api.post('/v1/me/password', {old: v.old, new: v.new});
    const session = currentSession();
    saveSession({...session, must_change_password: false});
    await onChanged();
  }},
  field({label: t('signin.change.old'), name: 'old', type: 'password', required: true, autocomplete: 'current-password'}),
  field({label: t('signin.change.new'), name: 'new', type: 'password', required: true, help: t('signin.change.newHelp'),
    autocomplete: 'new-password'}),
  field({label: t('signin.change.confirm'), name: 'confirm', type: 'password', required: true,
    autocomplete: 'new-password'}));
  replace(main, h('div', {class: 'page narrow', id: 'page-password'}, h('h1', {}, t('signin.change.title')),
    h('p', {}, t('signin.change.intro')), f));
  document.title = t('signin.change.title');
}
