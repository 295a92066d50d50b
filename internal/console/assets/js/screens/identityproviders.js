// Identity providers: list, create, edit, enable or disable, delete, and
// their attribute mappings. Gatehouse serves OPENID_CONNECT and SAML
// providers (internal/mgmt/identityproviders.go refuses the other PingOne
// types by name); a SAML provider's form holds its SAML settings only (the
// API refuses OpenID Connect members on it). The API returns a provider's client secret on every read, as
// PingOne does for its Terraform provider; the console never puts it in a
// field: a save without a new secret keeps the stored one.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice, tabs, live, failIn, inlineEdit } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';
import * as saml from '../saml.js';

const TYPES = [{ value: 'OPENID_CONNECT', label: 'OpenID Connect' }, { value: 'SAML', label: 'SAML' }];
const typeLabel = (t) => (TYPES.find((x) => x.value === t) || { label: t }).label;
const AUTH = ['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST', 'NONE'];
const PKCE = [{ value: 'NONE', label: 'None' }, { value: 'S256', label: 'S256' }];
const UPDATES = [{ value: 'EMPTY_ONLY', label: 'Only when the user has no value' }, { value: 'ALWAYS', label: 'At every sign-on' }];

const idpPath = (envId, id) => '/environments/' + envId + '/identityProviders' + (id ? '/' + id : '');
const idpHash = (envId, id) => '#/env/' + envId + '/identityProviders' + (id ? '/' + id : '');

// withoutSecret is a provider as a form may hold it.
function withoutSecret(p) {
  const out = structuredClone(p);
  delete out.clientSecret;
  delete out._embedded;
  return out;
}

async function list(ctx) {
  const toolbar = canEnv(P.writeConfig, ctx.envId) ? [linkButton('New identity provider', idpHash(ctx.envId) + '/new', 'primary')] : [];
  page('Identity providers', { toolbar },
    h('p', { class: 'muted' }, 'External OpenID Connect and SAML providers users may sign on with.'),
    listView({
      path: idpPath(ctx.envId), name: 'identityProviders', caption: 'Identity providers',
      columns: [
        { label: 'Name', value: (p) => p.name },
        { label: 'Type', value: (p) => typeLabel(p.type) },
        { label: 'Issuer or entity ID', value: (p) => h('code', null, p.issuer || p.idpEntityId || '') },
        { label: 'Enabled', value: (p) => (p.enabled ? 'Yes' : 'No') },
      ],
      rowLink: (p) => idpHash(ctx.envId, p.id),
      empty: 'No identity provider yet.',
    }));
}

function providerFields(pops, creating, type = 'OPENID_CONNECT') {
  return [
    { name: 'name', label: 'Name', required: true },
    { name: 'description', label: 'Description', type: 'textarea' },
    { name: 'type', label: 'Type', type: 'select', required: true, options: TYPES, readOnly: !creating },
    { name: 'enabled', label: 'Enabled', type: 'checkbox' },
    ...(type === 'OPENID_CONNECT' ? oidcFields(creating) : []),
    { name: 'registration.population.id', label: 'Population for new users', type: 'select', emptyLabel: 'No registration',
      options: pops.map((p) => ({ value: p.id, label: p.name })), help: 'Users new to Gatehouse are created in it at their first sign-on.' },
  ];
}

function oidcFields(creating) {
  return [
    { name: 'clientId', label: 'Client ID', required: true, help: 'Gatehouse\'s client id at the provider.' },
    { name: 'clientSecret', label: 'Client secret', type: 'password', required: creating,
      help: creating ? null : 'Leave empty to keep the current secret.' },
    { name: 'issuer', label: 'Issuer', type: 'url', required: true, placeholder: 'https://idp.example/' },
    { name: 'discoveryEndpoint', label: 'Discovery endpoint', type: 'url' },
    { name: 'authorizationEndpoint', label: 'Authorization endpoint', type: 'url', required: true },
    { name: 'tokenEndpoint', label: 'Token endpoint', type: 'url', required: true },
    { name: 'userInfoEndpoint', label: 'Userinfo endpoint', type: 'url' },
    { name: 'jwksEndpoint', label: 'JWKS endpoint', type: 'url', required: true },
    { name: 'scopes', label: 'Scopes', type: 'lines', required: true, help: 'One per line; openid is required.' },
    { name: 'tokenEndpointAuthMethod', label: 'Token endpoint authentication method', type: 'select', required: true, options: AUTH },
    { name: 'pkceMethod', label: 'PKCE', type: 'select', required: true, options: PKCE },
  ];
}

// samlFields are a SAML provider's settings: where Gatehouse sends its
// AuthnRequests, how the provider's responses are verified, and how
// Gatehouse names and signs itself towards it.
function samlFields(refs, p) {
  return [
    { name: 'idpEntityId', label: 'IdP entity ID', required: true, help: 'The provider\'s entity id: the Issuer its responses carry.' },
    { name: 'ssoEndpoint', label: 'SSO endpoint', type: 'url', required: true, placeholder: 'https://idp.example/sso',
      help: 'Where the browser takes Gatehouse\'s AuthnRequest.' },
    { name: 'ssoBinding', label: 'SSO binding', type: 'select', required: true, options: saml.BINDINGS },
    saml.certificateField(refs, saml.certIds(p.idpVerification && p.idpVerification.certificates), {
      label: 'Verification certificates', target: 'idpVerification.certificates', required: true,
      help: 'The provider\'s certificates that verify its signed responses and assertions.' }),
    { name: 'spEntityId', label: 'SP entity ID', required: true, help: 'Gatehouse\'s entity id towards the provider: the audience it expects.' },
    { name: 'authnRequestSigned', label: 'Sign AuthnRequests', type: 'checkbox' },
    ...saml.signingFields('spSigning', refs, p.spSigning, { emptyLabel: 'The environment\'s default signing key',
      label: 'AuthnRequest signing key' }),
  ].map((f) => ({ ...f, saml: true }));
}

// samlBody turns the form's values into the API's: the certificate ids
// as idpVerification.certificates, the key as spSigning.
function samlBody(data) {
  const ids = data[saml.CERTS] || [];
  delete data[saml.CERTS];
  data.idpVerification = { ...(data.idpVerification || {}), certificates: ids.map((id) => ({ id })) };
  saml.signing(data, 'spSigning');
  return data;
}

// registrationOf drops an empty registration: the API requires its
// population id when registration is sent.
function registrationOf(data) {
  if (data.registration && (!data.registration.population || !data.registration.population.id)) delete data.registration;
  return data;
}

async function create(ctx) {
  const crumbs = [['Identity providers', idpHash(ctx.envId)], ['New']];
  if (!canEnv(P.writeConfig, ctx.envId)) {
    page('New identity provider', { crumbs }, h('p', null, 'You may not create identity providers in this environment.'));
    return;
  }
  const [pops, refs] = await Promise.all([
    api.all('/environments/' + ctx.envId + '/populations', null, 'populations').catch(() => []),
    saml.refs(ctx.envId),
  ]);
  // One form for both types: the fields of the other type are hidden and
  // neither checked nor sent.
  const oidc = oidcFields(true).map((f) => ({ ...f, oidc: true }));
  const all = providerFields(pops, true, 'NONE');
  const fields = [...all.slice(0, 4), ...oidc, ...samlFields(refs, {}), ...all.slice(4)];
  const form = formView({
    key: 'idp-new',
    fields,
    value: { type: 'OPENID_CONNECT', enabled: true, scopes: ['openid', 'profile', 'email'], tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC', pkceMethod: 'S256',
      ssoBinding: 'HTTP_POST', authnRequestSigned: false },
    submitLabel: 'Create identity provider',
    onSubmit: async (data) => {
      const isSAML = data.type === 'SAML';
      const body = {};
      for (const f of fields) {
        if ((isSAML && f.oidc) || (!isSAML && f.saml)) continue;
        const top = f.name.split('.')[0];
        if (data[top] !== undefined) body[top] = data[top];
      }
      if (isSAML) samlBody(body);
      const p = await api.post(idpPath(ctx.envId), registrationOf(body));
      toast('Identity provider ' + p.name + ' created.');
      ctx.go(idpHash(ctx.envId, p.id));
    },
    onCancel: () => ctx.go(idpHash(ctx.envId)),
  });
  // Fields of the other type are hidden, and not required of it.
  const typeField = form.fields.find((f) => f.spec.name === 'type');
  const sync = () => {
    const isSAML = typeField.input.value === 'SAML';
    for (const f of form.fields) {
      if (f.spec.oidc || f.spec.saml) {
        const mine = isSAML ? !!f.spec.saml : !!f.spec.oidc;
        f.wrap.hidden = !mine;
        if (f.spec.req === undefined) f.spec.req = !!f.spec.required;
        f.spec.required = mine && f.spec.req;
      }
    }
  };
  typeField.input.addEventListener('change', sync);
  saml.resetAlgorithmOnKeyChange(form, 'spSigning');
  sync();
  page('New identity provider', { crumbs }, form);
}

async function detail(ctx) {
  const [p, pops] = await Promise.all([
    api.get(idpPath(ctx.envId, ctx.params.idpId)),
    api.all('/environments/' + ctx.envId + '/populations', null, 'populations').catch(() => []),
  ]);
  const isSAML = p.type === 'SAML';
  const refs = isSAML ? await saml.refs(ctx.envId) : null;
  const writable = canEnv(P.writeConfig, ctx.envId);
  const self = idpPath(ctx.envId, p.id);
  const main = () => document.getElementById('main');
  const toolbar = writable ? [
    button(p.enabled ? 'Disable' : 'Enable', async () => {
      try {
        await api.put(self, { ...withoutSecret(p), enabled: !p.enabled });
        toast(p.enabled ? 'Identity provider disabled.' : 'Identity provider enabled.');
        detail(ctx);
      } catch (err) {
        failIn(main(), err);
      }
    }),
    button('Delete identity provider', async () => {
      if (!(await confirmAction('Delete the identity provider "' + p.name + '"? Accounts linked to it are unlinked.'))) return;
      try {
        await api.del(self);
        toast('Identity provider deleted.');
        ctx.go(idpHash(ctx.envId));
      } catch (err) {
        failIn(main(), err);
      }
    }, { kind: 'danger' }),
  ] : [];
  // Where the provider sends users back (the federation package's
  // openid_connect callback): it must be registered at the provider. A
  // SAML provider is given Gatehouse's SP metadata (per provider) or its
  // ACS and entity id.
  const authBase = ctx.state.config.authPath + '/' + ctx.envId;
  const callback = authBase + '/rp/callback/openid_connect';
  const spMetadata = authBase + '/saml20/sp/metadata/' + p.id;
  const where = isSAML ? [
    ['SP metadata URL', h('a', { href: spMetadata, target: '_blank', rel: 'noopener noreferrer', id: 'sp-metadata' }, spMetadata)],
    ['ACS URL at the provider', h('code', null, authBase + '/saml20/sp/acs')],
    ['SP entity ID', h('code', null, p.spEntityId || '')],
  ] : [['Redirect URI at the provider', h('code', null, callback)]];
  const settings = () => {
    if (!isSAML) {
      return formView({
        key: 'idp-edit', readOnly: !writable, value: withoutSecret(p), fields: providerFields(pops, false),
        onSubmit: async (data) => {
          await api.put(self, registrationOf(data));
          toast('Saved.');
          detail(ctx);
        },
      });
    }
    const all = providerFields(pops, false, 'SAML');
    const form = formView({
      key: 'idp-saml-edit', readOnly: !writable,
      value: { ...withoutSecret(p), [saml.CERTS]: saml.certIds(p.idpVerification && p.idpVerification.certificates) },
      fields: [...all.slice(0, 4), ...samlFields(refs, p), ...all.slice(4)],
      onSubmit: async (data) => {
        await api.put(self, registrationOf(samlBody(data)));
        toast('Saved.');
        detail(ctx);
      },
    });
    saml.resetAlgorithmOnKeyChange(form, 'spSigning');
    return form;
  };
  page(p.name, { toolbar, crumbs: [['Identity providers', idpHash(ctx.envId)], [p.name]] },
    kv([['Id', h('code', null, p.id)], ['Type', typeLabel(p.type)], ['Enabled', p.enabled ? 'Yes' : 'No'],
      ...where, ['Created', fmtDate(p.createdAt)]]),
    tabs([
      { label: 'Settings', render: settings },
      { label: 'Attribute mappings', render: () => live((redraw) => attributesTab(ctx, p, writable, redraw)) },
    ]));
}

// ---- attribute mappings: which user attribute each provider claim fills

async function attributesTab(ctx, p, writable, redraw) {
  const base = idpPath(ctx.envId, p.id) + '/attributes';
  const attrs = await api.all(base, null, 'attributes');
  const box = h('div');
  const editor = h('div');
  const fields = (x) => {
    const core = x && x.mappingType === 'CORE';
    return [
      { name: 'name', label: 'User attribute', required: true, readOnly: core, placeholder: 'email', help: 'The Gatehouse user attribute, e.g. email or name.given.' },
      p.type === 'SAML'
        ? { name: 'value', label: 'Assertion value', required: true, placeholder: '${samlAssertion.email}', help: 'The NameID, ${samlAssertion.subject}, or an attribute of the assertion: ${samlAssertion.<name>}.' }
        : { name: 'value', label: 'Provider claim', required: true, placeholder: '${providerAttributes.email}', help: 'A claim of the provider: ${providerAttributes.<claim>}.' },
      { name: 'update', label: 'Update', type: 'select', required: true, options: UPDATES, readOnly: core },
    ];
  };
  const edit = (x) => {
    inlineEdit(editor, { key: 'idp-attr-' + x.id, value: x, fields: fields(x), href: base + '/' + x.id, saved: 'Mapping saved.', redraw });
  };
  box.append(attrs.length ? h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Attribute mappings'),
    h('thead', null, h('tr', null, ['User attribute', p.type === 'SAML' ? 'Assertion value' : 'Provider claim', 'Update', 'Type', writable ? 'Actions' : null]
      .filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, attrs.map((x) => h('tr', null,
      h('th', { scope: 'row' }, x.name),
      h('td', null, h('code', null, x.value)),
      h('td', null, (UPDATES.find((u) => u.value === x.update) || { label: x.update }).label),
      h('td', null, x.mappingType),
      writable ? h('td', null,
        button('Edit', () => edit(x), { class: 'btn btn-secondary btn-small', 'aria-label': 'Edit ' + x.name }),
        x.mappingType === 'CORE' ? null : button('Delete', async () => {
          if (!(await confirmAction('Delete the mapping of "' + x.name + '"?'))) return;
          try {
            await api.del(base + '/' + x.id);
            toast('Mapping deleted.');
            redraw();
          } catch (err) {
            failIn(box, err);
          }
        }, { class: 'btn btn-danger btn-small', 'aria-label': 'Delete ' + x.name })) : null))))) : h('p', { class: 'empty' }, 'No mapping.'));
  box.append(editor);
  if (writable) {
    box.append(h('h3', null, 'Add a mapping'), formView({
      key: 'idp-attr-new', value: { update: 'EMPTY_ONLY' }, fields: fields(null), submitLabel: 'Add mapping',
      onSubmit: async (data) => {
        await api.post(base, data);
        toast('Mapping added.');
        redraw();
      },
    }));
  }
  return box;
}

export default {
  nav: [{ group: 'Integrations', label: 'Identity providers', path: '/env/:envId/identityProviders', order: 0, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/identityProviders', render: list },
    { path: '/env/:envId/identityProviders/new', render: create },
    { path: '/env/:envId/identityProviders/:idpId', render: detail },
  ],
};
