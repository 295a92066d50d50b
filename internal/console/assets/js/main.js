// The console's start: configuration, sign-on, the administrator's
// permissions, then a hash router over the screens (screens/index.js).
import * as auth from './auth.js';
import * as api from './api.js';
import * as ui from './ui.js';
import * as perm from './perm.js';
import screens from './screens/index.js';

const { h } = ui;

// Routes from every screen module: '/env/:envId/users/:userId' → a
// matcher and the render function.
const routes = [];
const navItems = [];
for (const s of screens) {
  for (const r of s.routes || []) {
    const names = [];
    const re = new RegExp('^' + r.path.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '$');
    routes.push({ re, names, render: r.render });
  }
  navItems.push(...(s.nav || []));
}

export const state = { config: null, environments: [], env: null, me: null };

function expired() {
  auth.signIn(location.hash, ui.collectDrafts());
}

async function boot() {
  const res = await fetch('/console/config.json');
  state.config = await res.json();
  auth.configure(state.config);
  api.configure(state.config.apiPath, expired);
  let returnTo = null;
  try {
    returnTo = await auth.completeSignIn();
  } catch (err) {
    signOnScreen(err);
    return;
  }
  if (!auth.accessToken()) {
    signOnScreen(null);
    return;
  }
  ui.setRestoredDrafts(auth.takeDrafts());
  const claims = auth.claims();
  await perm.load(claims);
  const idc = auth.idClaims() || {};
  const name = idc.preferred_username || idc.name || '';
  state.me = { id: claims.sub, envId: claims.env, orgId: claims.org, name: name || claims.sub };
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = name ? 'Signed on as ' + name : 'Signed on';
  if (!name && claims.sub !== claims.client_id) {
    api.get('/environments/' + claims.env + '/users/' + claims.sub).then((u) => {
      state.me.name = u.username;
      document.getElementById('who-name').textContent = 'Signed on as ' + u.username;
    }).catch(() => {});
  }
  document.getElementById('sign-off').addEventListener('click', () => auth.signOff());
  await refreshEnvironments();
  setUpChrome();
  window.addEventListener('hashchange', route);
  if (returnTo && returnTo !== location.hash) location.hash = returnTo;
  else route();
}

// signOnScreen is shown before sign-on (or after a failed one); with no
// error the browser goes straight on to sign on.
function signOnScreen(err) {
  const go = ui.button('Sign on', () => auth.signIn(location.hash || '#/environments'), { kind: 'primary' });
  ui.page('Gatehouse console', {}, err ? ui.errorNotice(err) : h('p', null, 'Signing on…'), h('p', null, go));
  if (!err) auth.signIn(location.hash || '#/environments');
}

export async function refreshEnvironments() {
  state.environments = await api.all('/environments').catch(() => []);
  const sel = document.getElementById('env-select');
  ui.fill(sel, h('option', { value: '' }, 'All environments'),
    state.environments.map((e) => h('option', { value: e.id }, e.name)));
  document.getElementById('env-switch').hidden = false;
  if (state.env) sel.value = state.env.id;
}

function setUpChrome() {
  const sel = document.getElementById('env-select');
  sel.addEventListener('change', () => {
    const section = (location.hash.match(/^#\/env\/[^/]+\/([^/]+)/) || [])[1] || 'overview';
    location.hash = sel.value ? '#/env/' + sel.value + '/' + section : '#/environments';
  });
  const toggle = document.getElementById('nav-toggle');
  const nav = document.getElementById('nav');
  toggle.hidden = false;
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
    if (open) { const a = nav.querySelector('a'); if (a) a.focus(); }
  });
  nav.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && nav.classList.contains('open')) { toggle.click(); toggle.focus(); }
  });
  document.getElementById('skip').addEventListener('click', () => document.getElementById('main').focus());
}

const GROUPS = ['Overview', 'Directory', 'Applications', 'Authentication', 'Integrations', 'Experience', 'Monitoring'];

function renderNav(envId) {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  const current = location.hash.split('?')[0];
  const link = (label, href) => h('li', null, h('a', { href, 'aria-current': current === href || current.startsWith(href + '/') ? 'page' : null }, label));
  const groups = new Map();
  if (envId) {
    for (const item of navItems) {
      if (item.show && !item.show(envId)) continue;
      if (!groups.has(item.group)) groups.set(item.group, []);
      groups.get(item.group).push(item);
    }
  }
  ui.fill(nav,
    h('ul', null, link('Environments', '#/environments')),
    envId ? h('p', { class: 'nav-env' }, (state.env && state.env.name) || '') : null,
    [...groups].sort((a, b) => GROUPS.indexOf(a[0]) - GROUPS.indexOf(b[0])).map(([g, items]) => [
      h('h2', { class: 'nav-group' }, g),
      h('ul', null, items.sort((a, b) => (a.order || 0) - (b.order || 0)).map((it) => link(it.label, '#' + it.path.replace(':envId', envId)))),
    ]),
  );
  nav.classList.remove('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
}

// A screen that is still loading when the administrator moves on may
// draw over the next one when it finishes; the route that finished last
// then draws again (gen counts routes, done is the last one drawn).
let gen = 0;
let done = 0;

// Route parameters go into API paths as they are, so one that is not a
// plain id — a '/', '..' or '?' once decoded, as a link someone sent could
// carry — would point the screen's requests (a Delete button's among them)
// at another resource: '#/env/E/users/..%2F..%2F..%2Fenvironments%2FX'
// would delete environment X. Ids are UUIDs and types are words.
const SAFE_PARAM = /^[A-Za-z0-9_-]{1,128}$/;

function param(raw) {
  try {
    const v = decodeURIComponent(raw);
    return SAFE_PARAM.test(v) ? v : null;
  } catch {
    return null;
  }
}

function notFound() {
  ui.page('Not found', {}, h('p', null, 'There is no such screen. '), h('a', { href: '#/environments' }, 'Go to environments'));
}

async function route() {
  const mine = ++gen;
  const path = (location.hash.replace(/^#/, '') || '/environments').split('?')[0];
  ui.resetForms();
  const envMatch = path.match(/^\/env\/([^/]+)/);
  const envId = envMatch ? param(envMatch[1]) : '';
  if (envId === null) {
    notFound();
    return;
  }
  if (envId && (!state.env || state.env.id !== envId)) {
    state.env = state.environments.find((e) => e.id === envId) || null;
    if (!state.env) {
      try { state.env = await api.get('/environments/' + envId); } catch { state.env = { id: envId, name: envId }; }
    }
  }
  if (!envId) state.env = null;
  document.getElementById('env-select').value = envId;
  renderNav(envId);
  for (const r of routes) {
    const m = path.match(r.re);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => { params[n] = param(m[i + 1]); });
    if (Object.values(params).includes(null)) break;
    const ctx = {
      params, env: state.env, envId, orgId: state.env && state.env.organization ? state.env.organization.id : state.me.orgId,
      me: state.me, state, go: (hash) => { location.hash = hash; }, refreshEnvironments,
    };
    try {
      await r.render(ctx);
    } catch (err) {
      // A screen whose data the administrator's roles may not read says
      // so, rather than "something went wrong".
      const denied = err instanceof api.ApiError && err.status === 403;
      if (mine === gen) {
        ui.page(denied ? 'Not allowed' : 'Something went wrong', {},
          denied ? h('p', null, 'Your roles do not let you see this in this environment. An administrator with a role such as Environment Admin can give you access.') : null,
          ui.errorNotice(err));
      }
    }
    if (mine === gen) done = mine;
    else if (done === gen) route();
    return;
  }
  notFound();
}

boot().catch((err) => ui.page('The console could not start', {}, ui.errorNotice(err)));
