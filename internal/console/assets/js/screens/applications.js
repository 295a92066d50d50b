// Applications: list, create each type, and an application's page —
// settings, client id and secret, resource grants, sign-on policy
// assignments, attribute mappings, role assignments (workers), a "Try
// sign-on" link, delete. Bodies are the ones internal/mgmt/applications.go,
// appsubs.go, appattributes.go and roles.go take. A SAML application
// (applications_saml.go) has a page of its own: its SAML settings only —
// the API refuses OpenID Connect members on it — its IdP metadata URL,
// sign-on policies and assertion attribute mappings.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice, tabs, live, failIn, inlineEdit } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';
import * as saml from '../saml.js';

const TYPES = [
  { value: 'WEB_APP', label: 'Web app' },
  { value: 'SINGLE_PAGE_APP', label: 'Single-page app' },
  { value: 'NATIVE_APP', label: 'Native app' },
  { value: 'WORKER', label: 'Worker' },
  { value: 'SERVICE', label: 'Service' },
  { value: 'CUSTOM_APP', label: 'Custom app' },
];
const typeLabel = (t) => (TYPES.find((x) => x.value === t) || { label: t }).label;

// What a new application of each type starts with: the grants PingOne's
// console gives it, with code + PKCE for the public clients (RFC 9700).
// The API checks them (grant per type, CODE with AUTHORIZATION_CODE, a
// redirect URI for the code grant, NONE only for public types).
const DEFAULTS = {
  WEB_APP: { grantTypes: ['AUTHORIZATION_CODE'], responseTypes: ['CODE'], tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC', pkceEnforcement: 'OPTIONAL' },
  SINGLE_PAGE_APP: { grantTypes: ['AUTHORIZATION_CODE'], responseTypes: ['CODE'], tokenEndpointAuthMethod: 'NONE', pkceEnforcement: 'S256_REQUIRED' },
  NATIVE_APP: { grantTypes: ['AUTHORIZATION_CODE'], responseTypes: ['CODE'], tokenEndpointAuthMethod: 'NONE', pkceEnforcement: 'S256_REQUIRED' },
  WORKER: { grantTypes: ['CLIENT_CREDENTIALS'], tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' },
  SERVICE: { grantTypes: ['CLIENT_CREDENTIALS'], tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' },
  CUSTOM_APP: { grantTypes: ['AUTHORIZATION_CODE'], responseTypes: ['CODE'], tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC', pkceEnforcement: 'OPTIONAL' },
};

// The grant types each type may hold (appTypeGrants in the API; CIBA is
// refused by Gatehouse, so it is not offered).
const TYPE_GRANTS = {
  WEB_APP: ['AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN', 'CLIENT_CREDENTIALS', 'TOKEN_EXCHANGE'],
  NATIVE_APP: ['AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN', 'CLIENT_CREDENTIALS', 'DEVICE_CODE', 'TOKEN_EXCHANGE'],
  SINGLE_PAGE_APP: ['AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN'],
  WORKER: ['CLIENT_CREDENTIALS', 'AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN'],
  SERVICE: ['CLIENT_CREDENTIALS', 'AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN', 'TOKEN_EXCHANGE'],
  CUSTOM_APP: ['AUTHORIZATION_CODE', 'IMPLICIT', 'REFRESH_TOKEN', 'CLIENT_CREDENTIALS', 'DEVICE_CODE', 'TOKEN_EXCHANGE'],
};
const GRANT_LABELS = {
  AUTHORIZATION_CODE: 'Authorization code', IMPLICIT: 'Implicit', REFRESH_TOKEN: 'Refresh token',
  CLIENT_CREDENTIALS: 'Client credentials', DEVICE_CODE: 'Device authorization', TOKEN_EXCHANGE: 'Token exchange',
};
const PUBLIC_TYPES = ['NATIVE_APP', 'SINGLE_PAGE_APP', 'CUSTOM_APP'];
const AUTH_METHODS = ['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST', 'CLIENT_SECRET_JWT', 'PRIVATE_KEY_JWT'];

const PROTOCOLS = [{ value: 'OPENID_CONNECT', label: 'OpenID Connect' }, { value: 'SAML', label: 'SAML' }];
const protocolLabel = (p) => (PROTOCOLS.find((x) => x.value === p) || { label: p || '' }).label;
// The types a SAML application may be (samlAppTypes in the API).
const SAML_TYPES = ['WEB_APP', 'CUSTOM_APP'];

const appsPath = (envId) => '/environments/' + envId + '/applications';
const appHash = (envId, id) => '#/env/' + envId + '/applications' + (id ? '/' + id : '');

// ---- list and create

async function list(ctx) {
  const toolbar = canEnv(P.writeApplication, ctx.envId) ? [linkButton('New application', appHash(ctx.envId) + '/new', 'primary')] : [];
  page('Applications', { toolbar },
    listView({
      path: appsPath(ctx.envId), name: 'applications', caption: 'Applications',
      columns: [
        { label: 'Name', value: (a) => a.name },
        { label: 'Type', value: (a) => typeLabel(a.type) },
        { label: 'Protocol', value: (a) => protocolLabel(a.protocol) },
        { label: 'Client ID', value: (a) => (a.protocol === 'SAML' ? '—' : h('code', null, a.clientId || a.id)) },
        { label: 'Enabled', value: (a) => (a.enabled ? 'Yes' : 'No') },
      ],
      rowLink: (a) => appHash(ctx.envId, a.id),
      empty: 'No application yet.',
    }));
}

async function create(ctx) {
  if (!canEnv(P.writeApplication, ctx.envId)) {
    page('New application', { crumbs: [['Applications', appHash(ctx.envId)], ['New']] },
      h('p', null, 'You may not create applications in this environment.'));
    return;
  }
  const refs = await saml.refs(ctx.envId);
  const form = formView({
    key: 'application-new',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'description', label: 'Description', type: 'textarea' },
      { name: 'protocol', label: 'Protocol', type: 'select', required: true, options: PROTOCOLS },
      { name: 'type', label: 'Type', type: 'select', required: true, options: TYPES },
      { name: 'redirectUris', label: 'Redirect URIs', type: 'lines', help: 'One per line. Where the application receives the authorization code.' },
      { name: 'assignActorRoles', label: 'Give the worker the roles I hold', type: 'checkbox',
        help: 'Without it the worker has no roles until you assign some.' },
      ...samlFields(refs, {}, true),
    ],
    value: { type: 'WEB_APP', protocol: 'OPENID_CONNECT', assignActorRoles: false, ...SAML_DEFAULTS },
    submitLabel: 'Create application',
    onSubmit: async (data) => {
      let body;
      if (data.protocol === 'SAML') {
        body = { name: data.name, type: data.type, protocol: 'SAML', enabled: true };
        for (const k of SAML_MEMBERS) if (data[k] !== undefined) body[k] = data[k];
        samlBody(body, {});
      } else {
        body = { ...structuredClone(DEFAULTS[data.type] || DEFAULTS.WEB_APP), name: data.name, type: data.type, protocol: 'OPENID_CONNECT', enabled: true };
        if (data.redirectUris && data.redirectUris.length) body.redirectUris = data.redirectUris;
        if (data.type === 'WORKER') body.assignActorRoles = !!data.assignActorRoles;
      }
      if (data.description) body.description = data.description;
      const app = await api.post(appsPath(ctx.envId), body);
      toast('Application ' + app.name + ' created.');
      ctx.go(appHash(ctx.envId, app.id));
    },
    onCancel: () => ctx.go(appHash(ctx.envId)),
  });
  // The roles checkbox is for workers only; redirect URIs are not asked
  // of the client credentials types; a SAML application is a web or
  // custom app with SAML settings and no OpenID Connect ones.
  const byName = (n) => form.fields.find((f) => f.spec.name === n);
  const typeField = byName('type');
  const protoField = byName('protocol');
  const sync = () => {
    const isSAML = protoField.input.value === 'SAML';
    for (const o of typeField.input.options) o.disabled = isSAML && !SAML_TYPES.includes(o.value);
    if (isSAML && !SAML_TYPES.includes(typeField.input.value)) typeField.write('WEB_APP');
    const t = typeField.input.value;
    byName('assignActorRoles').wrap.hidden = isSAML || t !== 'WORKER';
    byName('redirectUris').wrap.hidden = isSAML || t === 'WORKER' || t === 'SERVICE';
    for (const f of form.fields) if (f.spec.saml) f.wrap.hidden = !isSAML;
  };
  typeField.input.addEventListener('change', sync);
  protoField.input.addEventListener('change', sync);
  saml.resetAlgorithmOnKeyChange(form, 'idpSigning');
  sync();
  page('New application', { crumbs: [['Applications', appHash(ctx.envId)], ['New']] }, form);
}

// ---- SAML applications

// What a new SAML application starts with: PingOne's defaults.
const SAML_DEFAULTS = { assertionDuration: 60, assertionSigned: true, responseSigned: false,
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified' };
// The SAML members a create sends (with the certificate ids the form
// holds, turned into spVerification.certificates by samlBody).
const SAML_MEMBERS = ['spEntityId', 'acsUrls', 'assertionDuration', 'idpSigning', 'assertionSigned', 'responseSigned',
  'nameIdFormat', 'defaultTargetUrl', 'spVerification', saml.CERTS];

// samlFields are a SAML application's own settings. creating: the key may
// be left to the environment's default, and the fields show only when the
// protocol is SAML (spec.saml).
function samlFields(refs, app, creating) {
  const ids = saml.certIds(app.spVerification && app.spVerification.certificates);
  return [
    { name: 'spEntityId', label: 'SP entity ID', required: !creating, help: 'The service provider\'s entity id: the Issuer of its AuthnRequests. Unique in the environment.' },
    { name: 'acsUrls', label: 'ACS URLs', type: 'lines', required: !creating, rows: 3,
      help: 'One per line: where the service provider takes assertions (its Assertion Consumer Service). The first is the default.' },
    { name: 'assertionDuration', label: 'Assertion duration (seconds)', type: 'number', required: !creating },
    ...saml.signingFields('idpSigning', refs, app.idpSigning, { required: !creating, emptyLabel: 'The environment\'s default signing key' }),
    { name: 'assertionSigned', label: 'Sign the assertion', type: 'checkbox' },
    { name: 'responseSigned', label: 'Sign the response', type: 'checkbox' },
    // Optional, as PingOne has it: an application without one is sent the
    // unspecified format, and a save leaves it unset.
    { name: 'nameIdFormat', label: 'NameID format', type: 'select', emptyLabel: 'Not set (unspecified)', options: saml.NAMEID_FORMATS },
    { name: 'defaultTargetUrl', label: 'Default target URL', help: 'Where the service provider sends the user after an IdP-initiated sign-on (the RelayState).' },
    { name: 'spVerification.authnRequestSigned', label: 'Require signed AuthnRequests', type: 'checkbox' },
    saml.certificateField(refs, ids, { label: 'Verification certificates', target: 'spVerification.certificates',
      help: 'The service provider\'s certificates that verify its signed AuthnRequests.' }),
  ].map((f) => ({ ...f, saml: creating }));
}

// samlBody turns the form's values into the API's: the signing key as
// idpSigning, the certificate ids as spVerification.certificates. An
// application without spVerification keeps none while nothing is asked of
// it, so a save changes nothing.
function samlBody(data, start) {
  const ids = data[saml.CERTS] || [];
  delete data[saml.CERTS];
  saml.signing(data, 'idpSigning');
  const sv = data.spVerification || {};
  if (!start.spVerification && !sv.authnRequestSigned && !ids.length) delete data.spVerification;
  else data.spVerification = { ...sv, authnRequestSigned: !!sv.authnRequestSigned, certificates: ids.map((id) => ({ id })) };
  return data;
}

async function samlDetail(ctx, app) {
  const envId = ctx.envId;
  const writable = canEnv(P.writeApplication, envId);
  const self = appsPath(envId) + '/' + app.id;
  const refs = await saml.refs(envId);
  const toolbar = [];
  if (writable) {
    toolbar.push(button('Delete application', async () => {
      if (!(await confirmAction('Delete the application "' + app.name + '"? Its service provider can no longer sign users on.'))) return;
      try {
        await api.del(self);
        toast('Application deleted.');
        ctx.go(appHash(envId));
      } catch (err) {
        failIn(document.getElementById('main'), err);
      }
    }, { kind: 'danger' }));
  }
  // What the service provider is given: the IdP's metadata (PingOne's
  // per-application path), or its entity id and single sign-on URL.
  const idpBase = ctx.state.config.authPath + '/' + envId;
  const metadata = idpBase + '/saml20/metadata/' + app.id;
  const startSSO = idpBase + '/saml20/idp/startsso?spEntityId=' + encodeURIComponent(app.spEntityId || '');
  page(app.name, { toolbar, crumbs: [['Applications', appHash(envId)], [app.name]] },
    kv([
      ['Id', h('code', null, app.id)],
      ['Type', typeLabel(app.type)],
      ['Protocol', protocolLabel(app.protocol)],
      ['Enabled', app.enabled ? 'Yes' : 'No'],
      ['SP entity ID', h('code', null, app.spEntityId || '')],
      ['IdP metadata URL', h('a', { href: metadata, target: '_blank', rel: 'noopener noreferrer', id: 'idp-metadata' }, metadata)],
      ['IdP entity ID', h('code', null, idpBase)],
      ['Single sign-on URL', h('code', null, idpBase + '/saml20/idp/sso')],
      ['IdP-initiated sign-on URL', h('code', null, startSSO)],
      ['Created', fmtDate(app.createdAt)],
    ]),
    tabs([
      { label: 'Settings', render: () => samlSettings(ctx, app, refs, writable) },
      { label: 'Sign-on policies', render: () => live((redraw) => policiesTab(ctx, app, writable, redraw)) },
      { label: 'Attribute mappings', render: () => live((redraw) => samlAttributesTab(ctx, app, writable, redraw)) },
    ]));
}

function samlSettings(ctx, app, refs, writable) {
  const value = { ...app, [saml.CERTS]: saml.certIds(app.spVerification && app.spVerification.certificates) };
  const form = formView({
    key: 'application-saml-edit', readOnly: !writable, value,
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'description', label: 'Description', type: 'textarea' },
      { name: 'enabled', label: 'Enabled', type: 'checkbox' },
      ...samlFields(refs, app, false),
      { name: 'homePageUrl', label: 'Home page URL', type: 'url' },
    ],
    onSubmit: async (data) => {
      // What the form does not show goes back as GET returned it.
      await api.put(appsPath(ctx.envId) + '/' + app.id, samlBody(data, app));
      toast('Saved.');
      detail(ctx);
    },
  });
  saml.resetAlgorithmOnKeyChange(form, 'idpSigning');
  return form;
}

// The assertion's attributes: the CORE saml_subject is the Subject's
// NameID (its value and NameID format may change; it stays, required);
// the others are Attributes with their SAML name and NameFormat.
async function samlAttributesTab(ctx, app, writable, redraw) {
  const base = appsPath(ctx.envId) + '/' + app.id + '/attributes';
  const attrs = await api.all(base, null, 'attributes');
  const box = h('div');
  const editor = h('div');
  const fields = (core) => [
    { name: 'name', label: 'Attribute name', required: true, readOnly: core, help: core ? 'The Subject\'s NameID.' : 'The SAML attribute\'s name; a URI is fine.' },
    { name: 'value', label: 'Value', required: true, placeholder: '${user.email}', help: 'A user attribute expression, e.g. ${user.email}, or a literal.' },
    { name: 'nameFormat', label: core ? 'NameID format' : 'Name format', type: 'select', options: core ? saml.NAMEID_FORMATS : saml.ATTR_NAME_FORMATS },
    { name: 'required', label: 'Required', type: 'checkbox', readOnly: core },
  ];
  const fmt = (x) => ([...saml.NAMEID_FORMATS, ...saml.ATTR_NAME_FORMATS].find((f) => f.value === x.nameFormat) || { label: x.nameFormat || '' }).label;
  const edit = (x) => {
    const core = x.mappingType === 'CORE';
    inlineEdit(editor, { key: 'app-attr-' + x.id, value: x, fields: fields(core), href: base + '/' + x.id, saved: 'Mapping saved.', redraw });
  };
  box.append(h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Attribute mappings'),
    h('thead', null, h('tr', null, ['Attribute', 'Value', 'Name format', 'Type', 'Required', writable ? 'Actions' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, attrs.map((x) => h('tr', null,
      h('th', { scope: 'row' }, x.name),
      h('td', null, h('code', null, x.value)),
      h('td', null, fmt(x)),
      h('td', null, x.mappingType),
      h('td', null, x.required ? 'Yes' : 'No'),
      writable ? h('td', null,
        button('Edit', () => edit(x), { class: 'btn btn-secondary btn-small', 'aria-label': 'Edit ' + x.name }),
        x.mappingType === 'CORE' ? null : button('Delete', async () => {
          if (!(await confirmAction('Delete the mapping "' + x.name + '"?'))) return;
          try {
            await api.del(base + '/' + x.id);
            toast('Mapping deleted.');
            redraw();
          } catch (err) {
            failIn(box, err);
          }
        }, { class: 'btn btn-danger btn-small', 'aria-label': 'Delete ' + x.name })) : null))))));
  box.append(editor);
  if (writable) {
    box.append(h('h3', null, 'Add a mapping'), formView({
      key: 'app-attr-new', value: { required: false }, fields: fields(false),
      submitLabel: 'Add mapping',
      onSubmit: async (data) => {
        await api.post(base, data);
        toast('Mapping added.');
        redraw();
      },
    }));
  }
  return box;
}

// ---- the application's page

async function detail(ctx) {
  const envId = ctx.envId;
  const app = await api.get(appsPath(envId) + '/' + ctx.params.appId);
  if (app.protocol === 'SAML') {
    await samlDetail(ctx, app);
    return;
  }
  const writable = canEnv(P.writeApplication, envId);
  const self = appsPath(envId) + '/' + app.id;
  const toolbar = [];
  const tryLink = await trySignOnLink(ctx, app);
  if (tryLink) toolbar.push(tryLink);
  if (writable) {
    toolbar.push(button('Delete application', async () => {
      if (!(await confirmAction('Delete the application "' + app.name + '"? Its clients can no longer sign on or get tokens.'))) return;
      try {
        await api.del(self);
        toast('Application deleted.');
        ctx.go(appHash(envId));
      } catch (err) {
        failIn(document.getElementById('main'), err);
      }
    }, { kind: 'danger' }));
  }
  const asBase = ctx.state.config.authPath + '/' + envId + '/as';
  const items = [
    { label: 'Settings', render: () => settings(ctx, app, writable) },
    { label: 'Resources', render: () => live((redraw) => grantsTab(ctx, app, writable, redraw)) },
    { label: 'Sign-on policies', render: () => live((redraw) => policiesTab(ctx, app, writable, redraw)) },
    { label: 'Attribute mappings', render: () => live((redraw) => attributesTab(ctx, app, writable, redraw)) },
  ];
  if (app.type === 'WORKER') items.push({ label: 'Roles', render: () => live((redraw) => rolesTab(ctx, app, redraw)) });
  page(app.name, { toolbar, crumbs: [['Applications', appHash(envId)], [app.name]] },
    kv([
      ['Client ID', h('code', null, app.clientId || app.id)],
      ['Type', typeLabel(app.type)],
      ['Protocol', app.protocol],
      ['Enabled', app.enabled ? 'Yes' : 'No'],
      ['Token endpoint authentication', app.tokenEndpointAuthMethod],
      ['Issuer', h('code', null, asBase)],
      ['Authorization URL', h('code', null, asBase + '/authorize')],
      ['Token URL', h('code', null, asBase + '/token')],
      ['Created', fmtDate(app.createdAt)],
    ]),
    app.tokenEndpointAuthMethod !== 'NONE' && writable ? secretBox(self) : null,
    tryLink ? null : h('p', { class: 'muted' }, 'Try sign-on needs the authorization code or implicit grant, a redirect URI and an enabled application.'),
    tabs(items));
}

// secretBox reveals and rotates the client secret. The secret is shown
// only after a click, kept in the page alone (never stored, never in a
// URL), and gone when the page is left.
function secretBox(self) {
  const shown = h('div', { class: 'secret', 'aria-live': 'polite' });
  const keep = h('select', { id: 'rotate-keep' },
    h('option', { value: '0' }, 'Stops working at once'),
    h('option', { value: '1' }, 'Keeps working for a day'),
    h('option', { value: '7' }, 'Keeps working for 7 days'),
    h('option', { value: '30' }, 'Keeps working for 30 days'));
  const box = h('section', { class: 'secret-box', 'aria-labelledby': 'secret-title' });
  const show = (s) => {
    shown.replaceChildren(h('span', null, 'Client secret: '), h('code', { class: 'secret-value' }, s.secret),
      button('Hide secret', () => shown.replaceChildren(), { class: 'btn btn-secondary btn-small' }));
    if (s.previous) {
      shown.append(h('p', { class: 'muted' }, 'The previous secret works until ' + fmtDate(s.previous.expiresAt) + '.'));
    }
  };
  const reveal = button('Reveal secret', async () => {
    try {
      show(await api.get(self + '/secret'));
    } catch (err) {
      failIn(box, err);
    }
  });
  const rotate = button('Rotate secret', async () => {
    const days = Number(keep.value);
    const msg = days ? 'Make a new client secret? The current one keeps working for ' + days + (days === 1 ? ' day.' : ' days.')
      : 'Make a new client secret? The current one stops working at once.';
    if (!(await confirmAction(msg, 'Rotate secret'))) return;
    try {
      const body = days ? { previous: { expiresAt: new Date(Date.now() + days * 86400000 - 60000).toISOString() } } : undefined;
      show(await api.post(self + '/secret', body));
      toast('Secret rotated.');
    } catch (err) {
      failIn(box, err);
    }
  });
  box.append(h('h2', { id: 'secret-title' }, 'Client secret'),
    h('div', { class: 'secret' }, reveal, rotate, h('label', { for: 'rotate-keep' }, 'Old secret on rotation'), keep), shown);
  return box;
}

// b64url and the PKCE challenge for the "Try sign-on" link: the console
// cannot finish that exchange (the verifier is thrown away), but an
// application that requires PKCE refuses an authorize without one.
function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function trySignOnLink(ctx, app) {
  const grants = app.grantTypes || [];
  const redirect = (app.redirectUris || []).find((u) => !u.includes('*'));
  if (!app.enabled || !redirect) return null;
  const q = new URLSearchParams({ client_id: app.clientId || app.id });
  if (grants.includes('AUTHORIZATION_CODE')) {
    q.set('response_type', 'code');
  } else if (grants.includes('IMPLICIT')) {
    q.set('response_type', (app.responseTypes || []).includes('TOKEN') ? 'token' : 'id_token');
  } else {
    return null;
  }
  q.set('redirect_uri', redirect);
  q.set('scope', 'openid');
  const rnd = new Uint8Array(16);
  crypto.getRandomValues(rnd);
  q.set('state', b64url(rnd));
  if (q.get('response_type') !== 'code') q.set('nonce', b64url(rnd.slice(0, 8)));
  if (q.get('response_type') === 'code' && app.pkceEnforcement && app.pkceEnforcement !== 'OPTIONAL' && crypto.subtle) {
    const v = new Uint8Array(32);
    crypto.getRandomValues(v);
    const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(b64url(v)));
    q.set('code_challenge', b64url(new Uint8Array(d)));
    q.set('code_challenge_method', 'S256');
  }
  const href = ctx.state.config.authPath + '/' + ctx.envId + '/as/authorize?' + q.toString();
  return h('a', { class: 'btn btn-secondary', href, target: '_blank', rel: 'noopener noreferrer', id: 'try-sign-on' }, 'Try sign-on');
}

function settings(ctx, app, writable) {
  // The current values are always offered, even where the type would not
  // take them today (the console's own application is a public worker).
  const grants = [...new Set([...(TYPE_GRANTS[app.type] || Object.keys(GRANT_LABELS)), ...(app.grantTypes || [])])];
  const methods = [...new Set([...(app.type === 'SINGLE_PAGE_APP' ? ['NONE'] : (PUBLIC_TYPES.includes(app.type) ? ['NONE', ...AUTH_METHODS] : AUTH_METHODS)),
    app.tokenEndpointAuthMethod])];
  return formView({
    key: 'application-edit', readOnly: !writable, value: app,
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'description', label: 'Description', type: 'textarea' },
      { name: 'enabled', label: 'Enabled', type: 'checkbox' },
      { name: 'redirectUris', label: 'Redirect URIs', type: 'lines', rows: 4, help: 'One per line.' },
      { name: 'postLogoutRedirectUris', label: 'Post-logout redirect URIs', type: 'lines', rows: 3, help: 'One per line.' },
      { name: 'allowWildcardInRedirectUris', label: 'Allow a wildcard (*) in redirect URIs', type: 'checkbox' },
      { name: 'grantTypes', label: 'Grant types', type: 'checkboxes', options: grants.map((g) => ({ value: g, label: GRANT_LABELS[g] || g })) },
      { name: 'responseTypes', label: 'Response types', type: 'checkboxes', options: [
        { value: 'CODE', label: 'Code' }, { value: 'TOKEN', label: 'Token' }, { value: 'ID_TOKEN', label: 'ID token' }] },
      { name: 'pkceEnforcement', label: 'PKCE', type: 'select', required: true, options: [
        { value: 'OPTIONAL', label: 'Optional' }, { value: 'REQUIRED', label: 'Required' }, { value: 'S256_REQUIRED', label: 'Required, S256 only' }] },
      { name: 'tokenEndpointAuthMethod', label: 'Token endpoint authentication method', type: 'select', required: true, options: methods },
      { name: 'refreshTokenDuration', label: 'Refresh token lifetime (seconds)', type: 'number', help: 'With the refresh token grant.' },
      { name: 'refreshTokenRollingDuration', label: 'Refresh token rolling lifetime (seconds)', type: 'number' },
      { name: 'homePageUrl', label: 'Home page URL', type: 'url' },
      { name: 'initiateLoginUri', label: 'Initiate login URI', type: 'url', help: 'An https URL that starts a sign-on at the application.' },
    ],
    onSubmit: async (data) => {
      // What the form does not show goes back as GET returned it.
      await api.put(appsPath(ctx.envId) + '/' + app.id, data);
      toast('Saved.');
      detail(ctx);
    },
  });
}

// ---- resource grants: which scopes of which resource the app may ask for

async function grantsTab(ctx, app, writable, redraw) {
  const base = appsPath(ctx.envId) + '/' + app.id + '/grants';
  const [grants, resources] = await Promise.all([
    api.all(base, null, 'grants'),
    api.all('/environments/' + ctx.envId + '/resources', null, 'resources'),
  ]);
  const scopes = await Promise.all(resources.map((r) => api.all('/environments/' + ctx.envId + '/resources/' + r.id + '/scopes', null, 'scopes').catch(() => [])));
  const box = h('div', null, h('p', { class: 'muted' }, 'The scopes of each resource the application may request. Clear every scope of a resource to remove its grant.'));
  resources.forEach((res, i) => {
    const grant = grants.find((g) => g.resource.id === res.id);
    const sec = h('section', { class: 'grant', 'aria-label': res.name });
    sec.append(h('h3', null, res.name, ' ', h('span', { class: 'muted' }, '(' + res.type + ')')));
    if (!scopes[i].length) {
      sec.append(h('p', { class: 'muted' }, 'This resource has no scopes yet. ', h('a', { href: '#/env/' + ctx.envId + '/resources/' + res.id }, 'Add scopes')));
      box.append(sec);
      return;
    }
    sec.append(formView({
      key: 'grant-' + res.id, readOnly: !writable,
      value: { scopes: grant ? grant.scopes.map((s) => s.id) : [] },
      fields: [{ name: 'scopes', label: 'Scopes of ' + res.name, type: 'checkboxes', options: scopes[i].map((s) => ({ value: s.id, label: s.name })) }],
      submitLabel: 'Save grant',
      onSubmit: async (data) => {
        const body = { resource: { id: res.id }, scopes: (data.scopes || []).map((id) => ({ id })) };
        if (grant && !body.scopes.length) await api.del(base + '/' + grant.id);
        else if (grant) await api.put(base + '/' + grant.id, body);
        else if (body.scopes.length) await api.post(base, body);
        toast('Grant saved.');
        redraw();
      },
    }));
    box.append(sec);
  });
  if (!resources.length) box.append(h('p', { class: 'empty' }, 'The environment has no resources.'));
  return box;
}

// ---- sign-on policy assignments, in priority order

async function policiesTab(ctx, app, writable, redraw) {
  const base = appsPath(ctx.envId) + '/' + app.id + '/signOnPolicyAssignments';
  const [assigned, policies] = await Promise.all([
    api.all(base, null, 'signOnPolicyAssignments'),
    api.all('/environments/' + ctx.envId + '/signOnPolicies', null, 'signOnPolicies').catch(() => []),
  ]);
  assigned.sort((a, b) => a.priority - b.priority);
  const name = (id) => (policies.find((p) => p.id === id) || { name: id }).name;
  const box = h('div');
  const put = (x, priority) => api.put(base + '/' + x.id, { priority, signOnPolicy: { id: x.signOnPolicy.id } });
  // Priorities are unique per application: a swap parks one assignment
  // past the last priority first.
  const swap = async (i, j) => {
    const a = assigned[i];
    const b = assigned[j];
    const park = Math.max(...assigned.map((x) => x.priority)) + 1;
    try {
      await put(a, park);
      await put(b, a.priority);
      await put(a, b.priority);
      toast('Order saved.');
    } catch (err) {
      failIn(box, err);
      return;
    }
    redraw();
  };
  box.append(h('p', { class: 'muted' }, 'Users signing on to the application go through the first of these policies; without any, the environment\'s default policy applies.'));
  if (!assigned.length) {
    box.append(h('p', { class: 'empty' }, 'No sign-on policy is assigned: the environment\'s default applies.'));
  } else {
    box.append(h('ol', { class: 'order-list', 'aria-label': 'Assigned sign-on policies' }, assigned.map((x, i) => h('li', null,
      h('span', { class: 'grow' }, h('a', { href: '#/env/' + ctx.envId + '/signOnPolicies/' + x.signOnPolicy.id }, name(x.signOnPolicy.id)),
        h('span', { class: 'muted' }, ' · priority ' + x.priority)),
      writable && i > 0 ? button('Move up', () => swap(i, i - 1), { class: 'btn btn-secondary btn-small', 'aria-label': 'Move ' + name(x.signOnPolicy.id) + ' up' }) : null,
      writable && i < assigned.length - 1 ? button('Move down', () => swap(i, i + 1), { class: 'btn btn-secondary btn-small', 'aria-label': 'Move ' + name(x.signOnPolicy.id) + ' down' }) : null,
      writable ? button('Remove', async () => {
        if (!(await confirmAction('Remove the policy "' + name(x.signOnPolicy.id) + '" from the application?', 'Remove'))) return;
        try {
          await api.del(base + '/' + x.id);
          toast('Policy removed.');
          redraw();
        } catch (err) {
          failIn(box, err);
        }
      }, { class: 'btn btn-danger btn-small', 'aria-label': 'Remove ' + name(x.signOnPolicy.id) }) : null))));
  }
  const free = policies.filter((p) => !assigned.some((x) => x.signOnPolicy.id === p.id));
  if (writable && free.length) {
    box.append(h('h3', null, 'Assign a policy'), formView({
      key: 'sopa-new',
      value: { signOnPolicy: { id: free[0].id }, priority: assigned.length ? Math.max(...assigned.map((x) => x.priority)) + 1 : 1 },
      fields: [
        { name: 'signOnPolicy.id', label: 'Sign-on policy', type: 'select', required: true, options: free.map((p) => ({ value: p.id, label: p.name })) },
        { name: 'priority', label: 'Priority', type: 'number', required: true, help: '1 is tried first.' },
      ],
      submitLabel: 'Assign policy',
      onSubmit: async (data) => {
        await api.post(base, data);
        toast('Policy assigned.');
        redraw();
      },
    }));
  }
  return box;
}

// ---- attribute mappings: the claims of the app's ID tokens and userinfo

async function attributesTab(ctx, app, writable, redraw) {
  const base = appsPath(ctx.envId) + '/' + app.id + '/attributes';
  const attrs = await api.all(base, null, 'attributes');
  const box = h('div');
  const editor = h('div');
  const fields = (core) => [
    { name: 'name', label: 'Claim name', required: true, readOnly: core },
    { name: 'value', label: 'Value', required: true, placeholder: '${user.email}', help: 'A user attribute expression, e.g. ${user.name.given}, or a literal.' },
    { name: 'required', label: 'Required', type: 'checkbox', readOnly: core },
    core ? null : { name: 'idToken', label: 'In the ID token', type: 'checkbox' },
    core ? null : { name: 'userInfo', label: 'In userinfo', type: 'checkbox' },
  ];
  const edit = (x) => {
    const core = x.mappingType === 'CORE';
    inlineEdit(editor, { key: 'app-attr-' + x.id, value: x, fields: fields(core), href: base + '/' + x.id, saved: 'Mapping saved.', redraw });
  };
  box.append(h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Attribute mappings'),
    h('thead', null, h('tr', null, ['Claim', 'Value', 'Type', 'Required', 'ID token', 'Userinfo', writable ? 'Actions' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, attrs.map((x) => h('tr', null,
      h('th', { scope: 'row' }, x.name),
      h('td', null, h('code', null, x.value)),
      h('td', null, x.mappingType),
      h('td', null, x.required ? 'Yes' : 'No'),
      h('td', null, x.idToken === false ? 'No' : 'Yes'),
      h('td', null, x.userInfo === false ? 'No' : 'Yes'),
      writable ? h('td', null,
        button('Edit', () => edit(x), { class: 'btn btn-secondary btn-small', 'aria-label': 'Edit ' + x.name }),
        x.mappingType === 'CORE' ? null : button('Delete', async () => {
          if (!(await confirmAction('Delete the mapping "' + x.name + '"?'))) return;
          try {
            await api.del(base + '/' + x.id);
            toast('Mapping deleted.');
            redraw();
          } catch (err) {
            failIn(box, err);
          }
        }, { class: 'btn btn-danger btn-small', 'aria-label': 'Delete ' + x.name })) : null))))));
  box.append(editor);
  if (writable) {
    box.append(h('h3', null, 'Add a mapping'), formView({
      key: 'app-attr-new', value: { required: false, idToken: true, userInfo: true }, fields: fields(false),
      submitLabel: 'Add mapping',
      onSubmit: async (data) => {
        await api.post(base, data);
        toast('Mapping added.');
        redraw();
      },
    }));
  }
  return box;
}

// ---- role assignments of a worker

async function rolesTab(ctx, app, redraw) {
  const base = appsPath(ctx.envId) + '/' + app.id + '/roleAssignments';
  const writable = canEnv(P.writeRoleAssignment, ctx.envId);
  const [ras, roles, pops] = await Promise.all([
    api.all(base, null, 'roleAssignments'),
    api.all('/roles', null, 'roles'),
    api.all('/environments/' + ctx.envId + '/populations', null, 'populations').catch(() => []),
  ]);
  const envs = ctx.state.environments;
  const roleName = (id) => (roles.find((r) => r.id === id) || { name: id }).name;
  const scopeName = (s) => {
    if (s.type === 'ORGANIZATION') return 'Organization';
    if (s.type === 'ENVIRONMENT') return 'Environment ' + ((envs.find((e) => e.id === s.id) || { name: s.id }).name);
    if (s.type === 'POPULATION') return 'Population ' + ((pops.find((p) => p.id === s.id) || { name: s.id }).name);
    return s.type + ' ' + s.id;
  };
  const box = h('div');
  box.append(ras.length ? h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Role assignments'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Scope'), writable ? h('th', { scope: 'col' }, 'Actions') : null)),
    h('tbody', null, ras.map((ra) => h('tr', null,
      h('th', { scope: 'row' }, roleName(ra.role.id)),
      h('td', null, scopeName(ra.scope)),
      writable ? h('td', null, ra.readOnly ? h('span', { class: 'muted' }, 'Read only') : button('Remove', async () => {
        if (!(await confirmAction('Remove the role "' + roleName(ra.role.id) + '" from the application?', 'Remove'))) return;
        try {
          await api.del(base + '/' + ra.id);
          toast('Role removed.');
          redraw();
        } catch (err) {
          failIn(box, err);
        }
      }, { class: 'btn btn-danger btn-small', 'aria-label': 'Remove ' + roleName(ra.role.id) })) : null)))))
    : h('p', { class: 'empty' }, 'The worker has no roles: its tokens may do nothing in the API.'));
  if (!writable) return box;
  const scopeOptions = (type) => {
    if (type === 'ORGANIZATION') return [{ value: ctx.orgId, label: 'This organization' }];
    if (type === 'ENVIRONMENT') return envs.map((e) => ({ value: e.id, label: e.name }));
    if (type === 'POPULATION') return pops.map((p) => ({ value: p.id, label: p.name }));
    return [];
  };
  const form = formView({
    key: 'app-role-new',
    value: { role: { id: roles[0] ? roles[0].id : '' }, scope: { type: 'ENVIRONMENT', id: ctx.envId } },
    fields: [
      { name: 'role.id', label: 'Role', type: 'select', required: true, options: roles.map((r) => ({ value: r.id, label: r.name })) },
      { name: 'scope.type', label: 'Scope type', type: 'select', required: true, options: [
        { value: 'ENVIRONMENT', label: 'Environment' }, { value: 'ORGANIZATION', label: 'Organization' }, { value: 'POPULATION', label: 'Population' }] },
      { name: 'scope.id', label: 'Scope', type: 'select', required: true, options: scopeOptions('ENVIRONMENT') },
    ],
    submitLabel: 'Assign role',
    onSubmit: async (data) => {
      await api.post(base, data);
      toast('Role assigned.');
      redraw();
    },
  });
  const typeSel = form.fields.find((f) => f.spec.name === 'scope.type').input;
  const idSel = form.fields.find((f) => f.spec.name === 'scope.id').input;
  typeSel.addEventListener('change', () => {
    idSel.replaceChildren(...scopeOptions(typeSel.value).map((o) => h('option', { value: o.value }, o.label)));
  });
  box.append(h('h3', null, 'Assign a role'), form);
  return box;
}

export default {
  nav: [{ group: 'Applications', label: 'Applications', path: '/env/:envId/applications', order: 0, show: (envId) => canRead(P.readApplication, envId) }],
  routes: [
    { path: '/env/:envId/applications', render: list },
    { path: '/env/:envId/applications/new', render: create },
    { path: '/env/:envId/applications/:appId', render: detail },
  ],
};
