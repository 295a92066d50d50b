// Populations: list, create, edit (name, description, default, password
// policy), delete. The API's rules (internal/mgmt/populations.go): the
// default flag moves to the population that takes it and is never unset
// by itself; the default population, and one holding users, cannot be
// deleted.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const popsPath = (ctx) => '/environments/' + ctx.envId + '/populations';
const popsHref = (ctx) => '#/env/' + ctx.envId + '/populations';

// policyOptions lists the password policies; an administrator who may
// not read them (identity roles only) is not asked for them, and the
// population's own policy stays an option, so a save keeps it.
async function policyOptions(ctx, current) {
  const pols = canRead(P.readConfig, ctx.envId)
    ? await api.all('/environments/' + ctx.envId + '/passwordPolicies', null, 'passwordPolicies').catch(() => []) : [];
  const opts = pols.map((p) => ({ value: p.id, label: p.name + (p.default ? ' (default)' : '') }));
  if (current && !opts.some((o) => o.value === current)) opts.push({ value: current, label: 'Policy ' + current });
  return opts;
}

function fields(policies, isDefault) {
  return [
    { name: 'name', label: 'Name', required: true },
    { name: 'description', label: 'Description', type: 'textarea' },
    // A default population stays the default until another takes it.
    { name: 'default', label: 'Default population', type: 'checkbox', readOnly: isDefault,
      help: isDefault ? 'To change the default, make another population the default.' : 'New users without a population join the default one.' },
    { name: 'passwordPolicy.id', label: 'Password policy', type: 'select', options: policies, emptyLabel: 'The environment\'s default policy' },
  ];
}

// body drops an empty password policy: {"passwordPolicy": {}} would be
// refused (passwordPolicy.id required) where no member means the default.
function body(data) {
  if (data.passwordPolicy && !data.passwordPolicy.id) delete data.passwordPolicy;
  return data;
}

async function list(ctx) {
  const toolbar = canEnv(P.writePopulation, ctx.envId) ? [linkButton('New population', popsHref(ctx) + '/new', 'primary')] : [];
  page('Populations', { toolbar, crumbs: [[ctx.env ? ctx.env.name : 'Environment', '#/env/' + ctx.envId + '/overview'], ['Populations']] },
    listView({
      path: popsPath(ctx), name: 'populations', caption: 'Populations',
      filter: { placeholder: 'name sw "Emp"' },
      columns: [
        { label: 'Name', value: (p) => p.name },
        { label: 'Description', value: (p) => p.description || '' },
        { label: 'Users', value: (p) => String(p.userCount) },
        { label: 'Default', value: (p) => (p.default ? 'Default' : '') },
      ],
      rowLink: (p) => popsHref(ctx) + '/' + p.id,
      empty: 'No populations.',
    }));
}

async function create(ctx) {
  const policies = await policyOptions(ctx);
  page('New population', { crumbs: [['Populations', popsHref(ctx)], ['New']] }, formView({
    key: 'population-new',
    fields: fields(policies, false),
    value: { default: false },
    submitLabel: 'Create population',
    onSubmit: async (data) => {
      const p = await api.post(popsPath(ctx), body(data));
      toast('Population ' + p.name + ' created.');
      ctx.go(popsHref(ctx) + '/' + p.id);
    },
    onCancel: () => ctx.go(popsHref(ctx)),
  }));
}

async function detail(ctx) {
  const id = ctx.params.popId;
  const p = await api.get(popsPath(ctx) + '/' + id);
  const policies = await policyOptions(ctx, p.passwordPolicy && p.passwordPolicy.id);
  const writable = canEnv(P.writePopulation, ctx.envId);
  const main = document.getElementById('main');
  const toolbar = writable && !p.default ? [button('Delete population', async () => {
    if (!(await confirmAction('Delete the population "' + p.name + '"? This cannot be undone.', 'Delete population'))) return;
    try {
      await api.del(popsPath(ctx) + '/' + id);
    } catch (err) {
      main.append(errorNotice(err));
      return;
    }
    toast('Population deleted.');
    ctx.go(popsHref(ctx));
  }, { kind: 'danger' })] : [];
  // A PUT replaces: what the form does not show (theme, preferred
  // language, alternative identifiers) goes back as GET returned it.
  const value = structuredClone(p);
  page(p.name, { toolbar, crumbs: [['Populations', popsHref(ctx)], [p.name]] },
    kv([['Id', h('code', null, p.id)], ['Users', h('a', { href: '#/env/' + ctx.envId + '/users' }, String(p.userCount))],
      ['Default', p.default ? 'Yes' : 'No'], ['Created', fmtDate(p.createdAt)], ['Updated', fmtDate(p.updatedAt)]]),
    h('h2', null, 'Settings'),
    formView({
      key: 'population-edit', readOnly: !writable, value,
      fields: fields(policies, p.default),
      onSubmit: async (data) => {
        await api.put(popsPath(ctx) + '/' + id, body(data));
        toast('Saved.');
        detail(ctx);
      },
    }));
}

export default {
  nav: [{ group: 'Directory', label: 'Populations', path: '/env/:envId/populations', order: 3, show: (envId) => canRead(P.readPopulation, envId) }],
  routes: [
    { path: '/env/:envId/populations', render: list },
    { path: '/env/:envId/populations/new', render: create },
    { path: '/env/:envId/populations/:popId', render: detail },
  ],
};
