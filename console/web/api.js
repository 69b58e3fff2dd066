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
