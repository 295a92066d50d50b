// Environments: list, create, open (overview and settings), delete.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice } from '../ui.js';
import { can, canRead, P } from '../perm.js';

const REGIONS = ['NA', 'EU', 'AP', 'CA', 'AU', 'SG'];

async function list(ctx) {
  const toolbar = can(P.createEnvironment, { orgId: ctx.me.orgId }) ? [linkButton('New environment', '#/environments/new', 'primary')] : [];
  page('Environments', { toolbar },
    listView({
      path: '/environments', name: 'environments', caption: 'Environments',
      filter: { placeholder: 'name sw "Dev"' },
      columns: [
        { label: 'Name', value: (e) => e.name },
        { label: 'Type', value: (e) => e.type },
        { label: 'Region', value: (e) => e.region },
        { label: 'Created', value: (e) => fmtDate(e.createdAt) },
      ],
      rowLink: (e) => '#/env/' + e.id + '/overview',
      empty: 'No environment you can see.',
    }));
}

async function create(ctx) {
  const orgs = await api.all('/organizations');
  const org = orgs[0];
  const licenses = org ? await api.all('/organizations/' + org.id + '/licenses') : [];
  const form = formView({
    key: 'environment-new',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'description', label: 'Description', type: 'textarea' },
      { name: 'type', label: 'Type', type: 'select', required: true, options: ['SANDBOX', 'PRODUCTION'] },
      { name: 'region', label: 'Region', type: 'select', required: true, options: REGIONS },
      { name: 'license.id', label: 'License', type: 'select', required: true, options: licenses.map((l) => ({ value: l.id, label: l.name + ' (' + l.package + ')' })) },
    ],
    value: { type: 'SANDBOX', region: 'NA', license: { id: licenses[0] ? licenses[0].id : '' } },
    submitLabel: 'Create environment',
    onSubmit: async (data) => {
      const env = await api.post('/environments', data);
      toast('Environment ' + env.name + ' created.');
      await ctx.refreshEnvironments();
      ctx.go('#/env/' + env.id + '/overview');
    },
    onCancel: () => ctx.go('#/environments'),
  });
  page('New environment', { crumbs: [['Environments', '#/environments'], ['New']] }, form);
}

async function overview(ctx) {
  const env = await api.get('/environments/' + ctx.envId);
  const writable = can(P.updateEnvironment, { envId: env.id, orgId: env.organization.id });
  const deletable = can(P.deleteEnvironment, { envId: env.id, orgId: env.organization.id }) && env.id !== ctx.me.envId;
  const toolbar = deletable ? [button('Delete environment', async () => {
    if (!(await confirmAction('Delete the environment "' + env.name + '" and everything in it? This cannot be undone.'))) return;
    try {
      await api.del('/environments/' + env.id);
      toast('Environment deleted.');
      await ctx.refreshEnvironments();
      ctx.go('#/environments');
    } catch (err) {
      document.getElementById('main').append(errorNotice(err));
    }
  }, { kind: 'danger' })] : [];
  const counts = h('div', { class: 'cards' });
  page(env.name, { toolbar, crumbs: [['Environments', '#/environments'], [env.name]] },
    kv([['Id', h('code', null, env.id)], ['Type', env.type], ['Region', env.region], ['Created', fmtDate(env.createdAt)],
      ['Issuer', h('code', null, ctx.state.config.authPath + '/' + env.id + '/as')]]),
    counts,
    h('h2', null, 'Settings'),
    formView({
      key: 'environment-edit', readOnly: !writable, value: env,
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'description', label: 'Description', type: 'textarea' },
        { name: 'region', label: 'Region', type: 'select', required: true, options: REGIONS, readOnly: true },
      ],
      onSubmit: async (data) => {
        const saved = await api.put('/environments/' + env.id, data);
        toast('Saved.');
        await ctx.refreshEnvironments();
        ctx.env.name = saved.name;
        overview(ctx);
      },
    }));
  // What the environment holds, a request each, shown as they answer.
  // Only what the administrator's roles let it read: a 403 is no count.
  for (const [label, path, href, perm] of [
    ['Users', '/users', 'users', P.readUser], ['Populations', '/populations', 'populations', P.readPopulation],
    ['Applications', '/applications', 'applications', P.readApplication],
  ]) {
    if (!canRead(perm, env.id)) continue;
    const card = h('a', { class: 'card', href: '#/env/' + env.id + '/' + href }, h('span', { class: 'card-label' }, label), h('span', { class: 'card-value' }, '…'));
    counts.append(card);
    api.list('/environments/' + env.id + path, { limit: 1 }).then((r) => {
      card.lastChild.textContent = String(r.count != null ? r.count : r.items.length);
    }).catch(() => { card.lastChild.textContent = '—'; });
  }
}

export default {
  nav: [{ group: 'Overview', label: 'Overview', path: '/env/:envId/overview', order: 0 }],
  routes: [
    { path: '/environments', render: list },
    { path: '/environments/new', render: create },
    { path: '/env/:envId/overview', render: overview },
    { path: '/env/:envId', render: (ctx) => ctx.go('#/env/' + ctx.envId + '/overview') },
  ],
};
