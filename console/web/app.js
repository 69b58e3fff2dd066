// The console's shell: who is signed in (GET /v1/me), the pages their
// permissions open, the language switch, and a hash router (#/users). Each
// page is a module with {id, nav, visible(me), needsPartner, render(root, ctx)};
// the server still decides every request.
import {h, clear, replace, announce} from './dom.js';
import {api, loadSession, saveSession, currentSession, setSignedOutHandler} from './api.js';
import {t, initLanguage, setLanguage, currentLanguage, onLanguageChange, LANGUAGES} from './i18n.js';
import {errorBox} from './forms.js';
import {renderSignIn, renderPasswordChange} from './page-signin.js';
import overview from './page-overview.js';
import settings from './page-settings.js';
import users from './page-users.js';
import profiles from './page-profiles.js';
import catalog from './page-catalog.js';
import pricing from './page-pricing.js';
import audit from './page-audit.js';
import operator from './page-operator.js';

const PAGES = [overview, settings, users, profiles, catalog, pricing, audit, operator];
const PARTNER_KEY = 'acct.partner';

const state = {me: null, partner: null};

function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [id, query] = hash.split('?');
  return {id: id || 'overview', params: new URLSearchParams(query || '')};
}

export function navigate(id, params) {
  const qs = params ? new URLSearchParams(params).toString() : '';
  location.hash = `#/${id}${qs ? '?' + qs : ''}`;
}

function renderTopbar() {
  const bar = document.getElementById('topbar');
  const langSelect = h('select', {id: 'language', 'aria-label': t('app.language'),
    onchange: (e) => setLanguage(e.target.value)},
  LANGUAGES.map((l) => h('option', {value: l, selected: l === currentLanguage()}, l === 'en' ? 'English' : '日本語')));
  const parts = [h('span', {class: 'brand'}, t('app.title')), h('span', {class: 'spacer'})];
  if (state.me) {
    const me = state.me;
    const who = me.kind === 'user' ? `${me.user.first_name} ${me.user.last_name}` :
      me.kind === 'operator' ? t('app.operator') : t('app.auditor', {partner: me.partner_id});
    parts.push(h('span', {class: 'who', id: 'who'}, t('app.signedInAs', {who})));
    if (me.kind === 'operator') parts.push(partnerChooser());
  }
  parts.push(h('label', {class: 'lang', for: 'language'}, t('app.language')), langSelect);
  if (state.me) parts.push(h('button', {type: 'button', id: 'sign-out', onclick: signOut}, t('app.signOut')));
  replace(bar, parts);
}

// The operator picks the partner the partner-scoped pages work on.
function partnerChooser() {
  const input = h('input', {id: 'partner-choice', value: state.partner || '', size: 36, 'aria-label': t('app.partnerId'),
    placeholder: t('app.partnerId'), spellcheck: 'false'});
  return h('form', {class: 'partner-chooser', onsubmit: (e) => {
    e.preventDefault();
    setPartner(input.value.trim());
  }}, input, h('button', {type: 'submit'}, t('app.choosePartner')));
}

export function setPartner(id) {
  state.partner = id || null;
  if (id) sessionStorage.setItem(PARTNER_KEY, id);
  else sessionStorage.removeItem(PARTNER_KEY);
  renderTopbar();
  renderPage();
}

function renderNav() {
  const nav = document.getElementById('sidenav');
  if (!state.me) return clear(nav);
  const route = currentRoute();
  const items = PAGES.filter((p) => p.visible(state.me)).map((p) => h('li', {},
    h('a', {href: `#/${p.id}`, id: `nav-${p.id}`, 'aria-current': p.id === route.id ? 'page' : undefined}, t(p.nav))));
  replace(nav, h('ul', {}, items));
}

let renderToken = 0;
async function renderPage() {
  const main = document.getElementById('main');
  const mine = ++renderToken;
  renderNav();
  if (!state.me) return;
  const route = currentRoute();
  const page = PAGES.find((p) => p.id === route.id);
  if (!page) return replace(main, h('h1', {}, t('app.notFound')));
  if (!page.visible(state.me)) return replace(main, h('h1', {}, t(page.nav)), h('p', {class: 'notice'}, t('app.notAllowed')));
  const partner = state.me.partner_id || state.partner;
  if (page.needsPartner && !partner) {
    return replace(main, h('h1', {}, t(page.nav)), h('p', {class: 'notice'}, t('app.choosePartnerHelp')));
  }
  const root = h('div', {class: 'page', id: `page-${page.id}`});
  replace(main, root);
  document.title = `${t(page.nav)} · ${t('app.title')}`;
  try {
    await page.render(root, {me: state.me, partner, params: route.params, navigate, isCurrent: () => mine === renderToken,
      refreshMe});
  } catch (err) {
    if (mine === renderToken) root.appendChild(errorBox(err));
  }
}

async function refreshMe() {
  state.me = await api.get('/v1/me');
  return state.me;
}

async function signOut() {
  const session = currentSession();
  try {
    // The operator's token is rotated with the CLI, not signed out (403).
    if (session && session.kind !== 'operator') await api.del('/v1/sessions/current');
  } catch {
    // The token may already be dead; the tab forgets it either way.
  }
  saveSession(null);
  state.me = null;
  start();
}

// After sign-in (or on load with a session in this tab).
export async function start() {
  const main = document.getElementById('main');
  renderTopbar();
  const session = loadSession();
  if (!session) {
    state.me = null;
    renderNav();
    return renderSignIn(main, {onSignedIn: start});
  }
  try {
    await refreshMe();
  } catch (err) {
    saveSession(null);
    state.me = null;
    renderTopbar();
    renderNav();
    return renderSignIn(main, {onSignedIn: start, error: err});
  }
  if (state.me.kind === 'user' && state.me.user && state.me.user.must_change_password) {
    renderTopbar();
    renderNav();
    return renderPasswordChange(main, {onChanged: start});
  }
  state.partner = state.me.partner_id || sessionStorage.getItem(PARTNER_KEY);
  renderTopbar();
  await renderPage();
  announce(t('app.signedInAs', {who: state.me.principal}));
}

setSignedOutHandler(() => {
  state.me = null;
  start();
});
window.addEventListener('hashchange', () => renderPage());
onLanguageChange(() => {
  renderTopbar();
  if (state.me) renderPage();
  else start();
});
initLanguage();
start();

