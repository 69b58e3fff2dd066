// English and Japanese. Each page module adds its own messages
// (addMessages({en: {...}, ja: {...}})); the common ones are here. The language
// comes from the browser (navigator.languages) unless the user picked one in
// this tab. Dates, numbers and money are formatted with Intl for that language.

const LANG_KEY = 'acct.lang';
export const LANGUAGES = ['en', 'ja'];

const messages = {en: {}, ja: {}};
let lang = 'en';
const listeners = [];

export function addMessages(m) {
  for (const l of LANGUAGES) Object.assign(messages[l], m[l] || {});
}

export function initLanguage() {
  const chosen = sessionStorage.getItem(LANG_KEY);
  if (LANGUAGES.includes(chosen)) {
    lang = chosen;
  } else {
    const preferred = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language])
      .map((l) => String(l || '').toLowerCase().slice(0, 2));
    lang = preferred.find((l) => LANGUAGES.includes(l)) || 'en';
  }
  document.documentElement.lang = lang;
}

export function currentLanguage() {
  return lang;
}

export function setLanguage(l) {
  if (!LANGUAGES.includes(l) || l === lang) return;
  lang = l;
  sessionStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  for (const fn of listeners) fn(l);
}

export function onLanguageChange(fn) {
  listeners.push(fn);
}

// t('users.created', {name: 'Ada'}): "{name}" placeholders; a missing key
// shows itself (and English when only Japanese lacks it).
export function t(key, vars) {
  let text = messages[lang][key];
  if (text === undefined) text = messages.en[key];
  if (text === undefined) text = key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] === undefined ? m : String(vars[name])));
  }
  return text;
}

function locale() {
  return lang === 'ja' ? 'ja-JP' : 'en-US';
}

export function formatDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), {dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC'}).format(d) +
    ' UTC';
}

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), {dateStyle: 'medium', timeZone: 'UTC'}).format(d);
}

export function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

// Amounts in the API are micros (millionths of the currency unit).
export function formatMoney(micros, currency) {
  const amount = Number(micros) / 1e6;
  try {
    return new Intl.NumberFormat(locale(), {style: 'currency', currency, maximumFractionDigits: 6}).format(amount);
  } catch {
    return `${formatNumber(amount)} ${currency}`;
  }
}

export function formatMonth(year, month) {
  return new Intl.DateTimeFormat(locale(), {year: 'numeric', month: 'long', timeZone: 'UTC'})
    .format(new Date(Date.UTC(year, month - 1, 1)));
}

addMessages({
  en: {
    'app.title': 'Accountable console',
    'app.language': 'Language',
    'app.signOut': 'Sign out',
    'app.signedInAs': 'Signed in as {who}',
    'app.operator': 'the operator',
    'app.auditor': 'an auditor of {partner}',
    'app.loading': 'Loading…',
    'app.save': 'Save',
    'app.cancel': 'Cancel',
    'app.saved': 'Saved.',
    'app.refresh': 'Refresh',
    'app.none': 'None',
    'app.error': 'Error',
    'app.partner': 'Partner',
    'app.partnerId': 'Partner id',
    'app.choosePartner': 'Open partner',
    'app.choosePartnerHelp': 'The operator works on one partner at a time: paste its id.',
    'app.notAllowed': 'Your roles do not allow this page.',
    'app.notFound': 'No such page.',
    'app.yes': 'Yes',
    'app.no': 'No',
    'app.close': 'Close',
    'app.skip': 'Skip to content',
    'nav.overview': 'Overview',
    'nav.settings': 'Account settings',
    'nav.users': 'Users',
    'nav.profiles': 'Business profiles',
    'nav.catalog': 'Catalog',
    'nav.pricing': 'Pricing',
    'nav.audit': 'Audit',
    'nav.operator': 'Operator',
  },
  ja: {
    'app.title': 'Accountable コンソール',
    'app.language': '言語',
    'app.signOut': 'サインアウト',
    'app.signedInAs': '{who} としてサインイン中',
    'app.operator': 'オペレーター',
    'app.auditor': '{partner} の監査人',
    'app.loading': '読み込み中…',
    'app.save': '保存',
    'app.cancel': 'キャンセル',
    'app.saved': '保存しました。',
    'app.refresh': '更新',
    'app.none': 'なし',
    'app.error': 'エラー',
    'app.partner': 'パートナー',
    'app.partnerId': 'パートナー ID',
    'app.choosePartner': 'パートナーを開く',
    'app.choosePartnerHelp': 'オペレーターは一度に 1 つのパートナーを操作します。ID を貼り付けてください。',
    'app.notAllowed': 'このページはあなたのロールでは表示できません。',
    'app.notFound': 'ページが見つかりません。',
    'app.yes': 'はい',
    'app.no': 'いいえ',
    'app.close': '閉じる',
    'app.skip': 'コンテンツへスキップ',
    'nav.overview': '概要',
    'nav.settings': 'アカウント設定',
    'nav.users': 'ユーザー',
    'nav.profiles': 'ビジネス プロファイル',
    'nav.catalog': 'カタログ',
    'nav.pricing': '価格',
    'nav.audit': '監査',
    'nav.operator': 'オペレーター',
  },
});
