// The console's only way to the server: the public HTTP API (docs/openapi.yaml),
// same origin. The token lives in sessionStorage (it dies with the tab) and in
// memory; never in the browser's lasting storage or a cookie.

const SESSION_KEY = 'acct.session';

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code ? error.code : 'http_' + status;
    this.field = error && error.field ? error.field : '';
  }
}

let session = null;
let onSignedOut = () => {};

// Read your writes: the routes of docs/openapi.yaml that take min_position (a
// view answers them, and a view may lag the log by a moment). After a write,
// reads of these routes carry the write's min_position token, so a page shows
// what it just changed. server/console_routes_test.cc holds this list to the
// document's.
const VIEW_ROUTES = [
  '/v1/me/notifications',
  '/v1/partners/{id}/catalog',
  '/v1/partners/{id}/users',
  '/v1/partners/{id}/profile',
  '/v1/partners/{id}/history',
  '/v1/partners/{id}/tax-exemptions/expiring',
  '/v1/tax-exemptions/expiring',
  '/v1/directory/profiles',
  '/v1/pricing/{market}/{currency}',
  '/v1/pricing/{market}/{currency}/preview',
  '/v1/pricing/{market}/{currency}/diff',
  '/v1/pricing/{market}/{currency}/offers/{offer_id}',
  '/v1/pricing/{market}/{currency}/offers/{offer_id}/history',
].map((pattern) => new RegExp('^' + pattern.replace(/\{[a-z_]+\}/g, '[^/]+') + '$'));
let lastWrite = null;  // the min_position token of this tab's last write

export function loadSession() {
  try {
    session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  } catch {
    session = null;
  }
  return session;
}

// {token, kind: 'user'|'operator'|'auditor', must_change_password}
export function saveSession(s) {
  session = s;
  lastWrite = null;
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

export function currentSession() {
  return session;
}

export function setSignedOutHandler(fn) {
  onSignedOut = fn;
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function call(method, path, {query, body, raw} = {}) {
  if (method === 'GET' && lastWrite && VIEW_ROUTES.some((r) => r.test(path)) && !(query && query.min_position)) {
    query = {...query, min_position: lastWrite};
  }
  const headers = {Accept: raw ? '*/*' : 'application/json'};
  if (session && session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, {code: 'network', message: String(e && e.message ? e.message : e)});
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json && json.error ? json.error : {message: text.slice(0, 200)});
    // A token that died (expired, revoked, signed out elsewhere): back to sign-in.
    if (response.status === 401 && session && session.kind !== 'token' && path !== '/v1/sessions') {
      saveSession(null);
      onSignedOut(error);
    }
    throw error;
  }
  if (method !== 'GET' && json && typeof json.min_position === 'string') lastWrite = json.min_position;
  return json;
}

export const api = {
  get: (path, query) => call('GET', path, {query}),
  post: (path, body, query) => call('POST', path, {body, query}),
  patch: (path, body) => call('PATCH', path, {body}),
  del: (path) => call('DELETE', path),
  // A response to read as a file (CSV, JSON lines): the fetch Response.
  raw: (path, query) => call('GET', path, {query, raw: true}),
  // POST /v1/commands with a fresh command id (a retry of the same form
  // submission reuses it: `commandId`).
  command: (type, fields, commandId) =>
    call('POST', '/v1/commands', {body: {type, command_id: commandId || crypto.randomUUID(), ...fields}}),
};

export function can(me, permission) {
  return !!(me && me.permissions && me.permissions.some((p) => p.code === permission));
}
