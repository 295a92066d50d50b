// The console's only way to the server's data: the public /v1 API with the
// administrator's token. Errors keep PingOne's body (code, message,
// details with their targets) so forms can show each at its field.
import * as auth from './auth.js';

let apiPath = '';
let onExpired = () => {};

export function configure(path, expired) { apiPath = path; onExpired = expired; }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('The request failed (' + status + ').'));
    this.status = status;
    this.code = (body && body.code) || '';
    this.details = (body && Array.isArray(body.details)) ? body.details : [];
    this.body = body;
  }
}

// url makes an API URL of a path ("/environments/…") or takes an absolute
// one (a _links.next href) as it is, provided it is the API's own.
export function url(path, params) {
  let u = path.startsWith('http') ? path : apiPath + path;
  if (!u.startsWith(apiPath + '/')) throw new Error('Not an API URL: ' + u);
  // fetch would resolve a '.' or '..' segment (or a backslash, read as a
  // slash) to another endpoint than the one the screen names.
  const segments = u.slice(apiPath.length).split('?')[0].split('/');
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s) || s.includes('\\'))) throw new Error('Not an API URL: ' + u);
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) u += (u.includes('?') ? '&' : '?') + s;
  }
  return u;
}

async function send(method, path, { params, body, contentType, accept, raw, retried } = {}) {
  const headers = { Authorization: 'Bearer ' + auth.accessToken() };
  if (accept) headers.Accept = accept;
  let payload;
  if (body instanceof FormData) {
    // multipart/form-data: the browser writes the Content-Type with its
    // boundary.
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path, params), { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, { code: 'NETWORK', message: 'The server could not be reached.' });
  }
  if (res.status === 401 && !retried) {
    if (await auth.refresh()) return send(method, path, { params, body, contentType, accept, raw, retried: true });
    // Signs on again; the page is left, so nothing after this runs.
    onExpired();
    return new Promise(() => {});
  }
  if (res.status === 204) return null;
  const text = await res.text();
  if (raw && res.ok) return text;
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path, params) => send('GET', path, { params });
export const post = (path, body, contentType) => send('POST', path, { body, contentType });
export const put = (path, body, contentType) => send('PUT', path, { body, contentType });
export const patch = (path, body, contentType) => send('PATCH', path, { body, contentType });
export const del = (path) => send('DELETE', path);
// text reads a resource as another media type than JSON (a certificate as
// PEM: application/x-x509-ca-cert); errors stay PingOne's JSON.
export const text = (path, accept) => send('GET', path, { accept, raw: true });
// upload POSTs a FormData as multipart/form-data (a certificate file).
export const upload = (path, form) => send('POST', path, { body: form });

// list reads one page of a collection: its items (the first _embedded
// member, or the named one), the next page's URL and the counts.
export async function list(path, params, name) {
  const data = await get(path, params);
  const emb = (data && data._embedded) || {};
  const key = name || Object.keys(emb)[0];
  return {
    items: (key && emb[key]) || [],
    next: data && data._links && data._links.next ? data._links.next.href : '',
    count: data ? data.count : 0,
    size: data ? data.size : 0,
    raw: data,
  };
}

// all follows _links.next through every page, up to max items: for small
// collections a form needs whole (populations for a select).
export async function all(path, params, name, max = 1000) {
  const out = [];
  let page = await list(path, params, name);
  out.push(...page.items);
  while (page.next && out.length < max) {
    page = await list(page.next, null, name);
    out.push(...page.items);
  }
  return out;
}
