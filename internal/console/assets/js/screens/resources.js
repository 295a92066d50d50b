// Resources: list, create, edit, delete; their scopes and attribute
// mappings. The openid and PingOne API resources come with every
// environment and are the API's own (internal/mgmt/resources.go): their
// settings are read-only, their predefined scopes cannot be deleted or
// renamed (openid's take a description and mapped claims, the PingOne
// API's user scopes take schema attributes), and the PingOne API has no
// attribute mappings.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice, tabs, live, failIn, inlineEdit } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const OPENID = 'OPENID_CONNECT';
const PINGONE = 'PINGONE_API';
const CUSTOM = 'CUSTOM';
const OPENID_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];
const SUB_SCOPE = /^p1:(read|update):user:[A-Za-z0-9_-]+$/;
const INTROSPECT = ['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST', 'NONE'];

const resPath = (envId, id) => '/environments/' + envId + '/resources' + (id ? '/' + id : '');
const resHash = (envId, id) => '#/env/' + envId + '/resources' + (id ? '/' + id : '');

// predefined says whether a scope came with a built-in resource: those
// cannot be deleted or renamed.
function predefined(res, name) {
  if (res.type === OPENID) return OPENID_SCOPES.includes(name);
  if (res.type === PINGONE) return !SUB_SCOPE.test(name);
  return false;
}
const userScope = (name) => name === 'p1:read:user' || name === 'p1:update:user' || SUB_SCOPE.test(name);

const small = (kind, label) => ({ class: 'btn btn-' + kind + ' btn-small', 'aria-label': label });

async function list(ctx) {
  const toolbar = canEnv(P.writeConfig, ctx.envId) ? [linkButton('New resource', resHash(ctx.envId) + '/new', 'primary')] : [];
  page('Resources', { toolbar },
    h('p', { class: 'muted' }, 'The APIs applications get access tokens for, and the scopes they may ask.'),
    listView({
      path: resPath(ctx.envId), name: 'resources', caption: 'Resources',
      columns: [
        { label: 'Name', value: (r) => r.name },
        { label: 'Type', value: (r) => r.type },
        { label: 'Audience', value: (r) => h('code', null, r.audience || '') },
        { label: 'Token lifetime', value: (r) => r.accessTokenValiditySeconds + ' s' },
      ],
      rowLink: (r) => resHash(ctx.envId, r.id),
      empty: 'No resource.',
    }));
}

const resourceFields = (readOnly) => [
  { name: 'name', label: 'Name', required: true, readOnly },
  { name: 'description', label: 'Description', type: 'textarea', readOnly },
  { name: 'audience', label: 'Audience', readOnly, help: 'The aud of its access tokens; the name when empty.' },
  { name: 'accessTokenValiditySeconds', label: 'Access token lifetime (seconds)', type: 'number', readOnly, help: 'From 300 to 2592000.' },
  { name: 'introspectEndpointAuthMethod', label: 'Introspection authentication', type: 'select', required: true, options: INTROSPECT, readOnly },
  { name: 'applicationPermissionsSettings.claimEnabled', label: 'Put the application\'s permissions in its tokens', type: 'checkbox', readOnly },
];

async function create(ctx) {
  const crumbs = [['Resources', resHash(ctx.envId)], ['New']];
  if (!canEnv(P.writeConfig, ctx.envId)) {
    page('New resource', { crumbs }, h('p', null, 'You may not create resources in this environment.'));
    return;
  }
  page('New resource', { crumbs }, formView({
    key: 'resource-new',
    fields: resourceFields(false),
    value: { accessTokenValiditySeconds: 3600, introspectEndpointAuthMethod: 'CLIENT_SECRET_BASIC' },
    submitLabel: 'Create resource',
    onSubmit: async (data) => {
      const res = await api.post(resPath(ctx.envId), { ...data, type: CUSTOM });
      toast('Resource ' + res.name + ' created.');
      ctx.go(resHash(ctx.envId, res.id));
    },
    onCancel: () => ctx.go(resHash(ctx.envId)),
  }));
}

async function detail(ctx) {
  const res = await api.get(resPath(ctx.envId, ctx.params.resourceId));
  const writable = canEnv(P.writeConfig, ctx.envId);
  const builtIn = res.type !== CUSTOM;
  const toolbar = writable && !builtIn ? [button('Delete resource', async () => {
    if (!(await confirmAction('Delete the resource "' + res.name + '" with its scopes? Applications lose their grants to it.'))) return;
    try {
      await api.del(resPath(ctx.envId, res.id));
      toast('Resource deleted.');
      ctx.go(resHash(ctx.envId));
    } catch (err) {
      failIn(document.getElementById('main'), err);
    }
  }, { kind: 'danger' })] : [];
  const items = [
    { label: 'Settings', render: () => settings(ctx, res, writable && !builtIn) },
    { label: 'Scopes', render: () => live((redraw) => scopesTab(ctx, res, writable, redraw)) },
  ];
  if (res.type !== PINGONE) items.push({ label: 'Attribute mappings', render: () => live((redraw) => attributesTab(ctx, res, writable, redraw)) });
  page(res.name, { toolbar, crumbs: [['Resources', resHash(ctx.envId)], [res.name]] },
    kv([['Id', h('code', null, res.id)], ['Type', res.type], ['Audience', h('code', null, res.audience || '')], ['Created', fmtDate(res.createdAt)]]),
    builtIn ? h('p', { class: 'muted' }, 'This resource comes with the environment: its settings cannot be changed.') : null,
    tabs(items));
}

function settings(ctx, res, writable) {
  return formView({
    key: 'resource-edit', readOnly: !writable, value: res, fields: resourceFields(false),
    onSubmit: async (data) => {
      await api.put(resPath(ctx.envId, res.id), data);
      toast('Saved.');
      detail(ctx);
    },
  });
}

// ---- scopes

async function scopesTab(ctx, res, writable, redraw) {
  const base = resPath(ctx.envId, res.id) + '/scopes';
  const [scopes, attrs] = await Promise.all([
    api.all(base, null, 'scopes'),
    res.type === OPENID ? api.all(resPath(ctx.envId, res.id) + '/attributes', null, 'attributes') : Promise.resolve([]),
  ]);
  const box = h('div');
  const editor = h('div');
  const attrName = (id) => (attrs.find((a) => a.id === id) || { name: id }).name;
  // The fields a scope takes: by resource type and by whether it is one
  // the resource came with.
  const fields = (x) => {
    const pre = x ? predefined(res, x.name) : false;
    const fixed = res.type === PINGONE && pre && !userScope(x.name);
    const out = [
      { name: 'name', label: 'Scope name', required: true, readOnly: pre,
        help: res.type === PINGONE ? 'p1:read:user:{suffix} or p1:update:user:{suffix}.' : 'One word: no spaces, quotes or backslashes.' },
      { name: 'description', label: 'Description', type: 'textarea', readOnly: fixed || (res.type === PINGONE && pre) },
    ];
    if (res.type === PINGONE && (!x || userScope(x.name))) {
      out.push({ name: 'schemaAttributes', label: 'User attributes', type: 'lines', help: 'One attribute path per line, or * for all.' });
    }
    if (res.type === OPENID && attrs.length) {
      out.push({ name: 'mappedClaims', label: 'Claims', type: 'checkboxes', options: attrs.map((a) => ({ value: a.id, label: a.name })) });
    }
    return out;
  };
  const edit = (x) => {
    inlineEdit(editor, { key: 'scope-' + x.id, value: x, fields: fields(x), href: base + '/' + x.id, saved: 'Scope saved.', redraw });
  };
  const editable = (x) => writable && !(res.type === PINGONE && predefined(res, x.name) && !userScope(x.name));
  box.append(scopes.length ? h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Scopes'),
    h('thead', null, h('tr', null, ['Scope', 'Description', res.type === OPENID ? 'Claims' : null, res.type === PINGONE ? 'User attributes' : null, writable ? 'Actions' : null]
      .filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, scopes.map((x) => h('tr', null,
      h('th', { scope: 'row' }, h('code', null, x.name)),
      h('td', null, x.description || ''),
      res.type === OPENID ? h('td', null, (x.mappedClaims || []).map(attrName).join(', ')) : null,
      res.type === PINGONE ? h('td', null, (x.schemaAttributes || []).join(', ')) : null,
      writable ? h('td', null,
        editable(x) ? button('Edit', () => edit(x), small('secondary', 'Edit ' + x.name)) : null,
        predefined(res, x.name) ? null : button('Delete', async () => {
          if (!(await confirmAction('Delete the scope "' + x.name + '"? Applications can no longer ask for it.'))) return;
          try {
            await api.del(base + '/' + x.id);
            toast('Scope deleted.');
            redraw();
          } catch (err) {
            failIn(box, err);
          }
        }, small('danger', 'Delete ' + x.name))) : null))))) : h('p', { class: 'empty' }, 'No scope yet.'));
  box.append(editor);
  if (writable) {
    box.append(h('h3', null, 'Add a scope'), formView({
      key: 'scope-new', fields: fields(null), submitLabel: 'Add scope',
      onSubmit: async (data) => {
        await api.post(base, data);
        toast('Scope added.');
        redraw();
      },
    }));
  }
  return box;
}

// ---- attribute mappings: the claims of the resource's access tokens
// (and, for openid, of ID tokens and userinfo)

async function attributesTab(ctx, res, writable, redraw) {
  const base = resPath(ctx.envId, res.id) + '/attributes';
  const attrs = await api.all(base, null, 'attributes');
  const box = h('div');
  const editor = h('div');
  const oidc = res.type === OPENID;
  const fields = (x) => {
    const builtIn = x && x.type !== CUSTOM;
    return [
      { name: 'name', label: 'Claim name', required: true, readOnly: builtIn },
      { name: 'value', label: 'Value', required: !(x && x.type === 'PREDEFINED'), placeholder: '${user.email}',
        help: 'A user attribute expression, e.g. ${user.name.given}, or a literal.' },
      oidc ? { name: 'idToken', label: 'In the ID token', type: 'checkbox' } : null,
      oidc ? { name: 'userInfo', label: 'In userinfo', type: 'checkbox' } : null,
    ];
  };
  const edit = (x) => {
    inlineEdit(editor, { key: 'res-attr-' + x.id, value: x, fields: fields(x), href: base + '/' + x.id, saved: 'Mapping saved.', redraw });
  };
  box.append(attrs.length ? h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Attribute mappings'),
    h('thead', null, h('tr', null, ['Claim', 'Value', 'Type', oidc ? 'ID token' : null, oidc ? 'Userinfo' : null, writable ? 'Actions' : null]
      .filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, attrs.map((x) => h('tr', null,
      h('th', { scope: 'row' }, x.name),
      h('td', null, x.value ? h('code', null, x.value) : h('span', { class: 'muted' }, 'none')),
      h('td', null, x.type),
      oidc ? h('td', null, x.idToken ? 'Yes' : 'No') : null,
      oidc ? h('td', null, x.userInfo ? 'Yes' : 'No') : null,
      writable ? h('td', null,
        button('Edit', () => edit(x), small('secondary', 'Edit ' + x.name)),
        x.type === CUSTOM ? button('Delete', async () => {
          if (!(await confirmAction('Delete the mapping "' + x.name + '"?'))) return;
          try {
            await api.del(base + '/' + x.id);
            toast('Mapping deleted.');
            redraw();
          } catch (err) {
            failIn(box, err);
          }
        }, small('danger', 'Delete ' + x.name)) : null) : null))))) : h('p', { class: 'empty' }, 'No mapping.'));
  box.append(editor);
  if (writable) {
    box.append(h('h3', null, 'Add a mapping'), formView({
      key: 'res-attr-new', value: oidc ? { idToken: true, userInfo: true } : {}, fields: fields(null), submitLabel: 'Add mapping',
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
  nav: [{ group: 'Applications', label: 'Resources', path: '/env/:envId/resources', order: 1, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/resources', render: list },
    { path: '/env/:envId/resources/new', render: create },
    { path: '/env/:envId/resources/:resourceId', render: detail },
  ],
};
