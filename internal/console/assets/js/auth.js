// Sign-on: authorization code with PKCE (S256) against the
// Administrators environment's own authorize endpoint, as a public
// client. The token lives in sessionStorage only: it ends with the tab,
// is never kept beyond it, and never appears in a URL (the code does,
// once, and is removed from the address bar at once).

const TOKEN = 'gatehouse.console.token';
const PENDING = 'gatehouse.console.pending';
const DRAFTS = 'gatehouse.console.drafts';

let config = null;

export function configure(c) { config = c; }

function redirectURI() { return config.authPath + '/console/'; }

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

async function challenge(verifier) {
  if (!crypto.subtle) {
    throw new Error('The console needs a secure context (https, or http on localhost) to sign on.');
  }
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(d));
}

// signIn sends the browser to authorize. returnTo is the hash route to
// come back to; drafts (form values keyed by route and form) survive the
// round trip in sessionStorage.
export async function signIn(returnTo, drafts) {
  const verifier = random(48);
  const state = random(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo: returnTo || '#/environments' }));
  if (drafts && Object.keys(drafts).length) sessionStorage.setItem(DRAFTS, JSON.stringify(drafts));
  const q = new URLSearchParams({
    response_type: 'code', client_id: config.clientId, redirect_uri: redirectURI(),
    scope: 'openid profile', state, code_challenge: await challenge(verifier), code_challenge_method: 'S256',
  });
  location.assign(config.authPath + '/' + config.environmentId + '/as/authorize?' + q.toString());
}

// completeSignIn finishes a sign-on when the page is the redirect URI's
// answer: it exchanges the code and returns the route to go back to, or
// null when the page was not opened by a sign-on.
export async function completeSignIn() {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  // The code leaves the address bar (and the history) before anything else.
  history.replaceState(null, '', location.pathname);
  // The state first: an error someone else's link carries (its
  // error_description any text they chose) is not shown as the server's.
  if (!pending || pending.state !== q.get('state')) {
    throw new Error('Sign-on failed: the answer does not belong to a sign-on this tab started. Sign on again.');
  }
  if (q.has('error')) {
    throw new Error('Sign-on failed: ' + (q.get('error_description') || q.get('error')));
  }
  const body = new URLSearchParams({
    grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectURI(),
    client_id: config.clientId, code_verifier: pending.verifier,
  });
  const res = await fetch(config.authPath + '/' + config.environmentId + '/as/token', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
  });
  const tok = await res.json().catch(() => ({}));
  if (!res.ok || !tok.access_token) {
    throw new Error('Sign-on failed: ' + (tok.error_description || tok.error || res.status));
  }
  store(tok);
  return pending.returnTo;
}

function store(tok) {
  sessionStorage.setItem(TOKEN, JSON.stringify({
    access: tok.access_token, refresh: tok.refresh_token || '', id: tok.id_token || '',
    expiresAt: Date.now() + (tok.expires_in || 3600) * 1000,
  }));
}

function current() { return JSON.parse(sessionStorage.getItem(TOKEN) || 'null'); }

export function accessToken() {
  const t = current();
  return t ? t.access : '';
}

// refresh trades the refresh token for a new access token; false when
// there is none or it no longer works (the caller then signs on again).
export async function refresh() {
  const t = current();
  if (!t || !t.refresh) return false;
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh, client_id: config.clientId });
  const res = await fetch(config.authPath + '/' + config.environmentId + '/as/token', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
  });
  if (!res.ok) return false;
  const tok = await res.json().catch(() => null);
  if (!tok || !tok.access_token) return false;
  store(tok);
  return true;
}

// claims are the access token's claims (sub, env, org…): the console reads
// them only to know who it is; the API decides what the token may do.
export function claims() { return decode(accessToken()); }

// idClaims are the ID token's (preferred_username, name): who signed on,
// even for an administrator whose roles cannot read its own user.
export function idClaims() {
  const t = current();
  return decode(t ? t.id : '');
}

function decode(t) {
  if (!t) return null;
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(p))));
  } catch {
    return null;
  }
}

export function takeDrafts() {
  const d = JSON.parse(sessionStorage.getItem(DRAFTS) || '{}');
  sessionStorage.removeItem(DRAFTS);
  return d;
}

export function signOff() {
  const t = current();
  sessionStorage.removeItem(TOKEN);
  const q = new URLSearchParams({ post_logout_redirect_uri: redirectURI() });
  if (t && t.id) q.set('id_token_hint', t.id);
  location.assign(config.authPath + '/' + config.environmentId + '/as/signoff?' + q.toString());
}
