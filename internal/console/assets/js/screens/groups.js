// Groups: list (SCIM filter), create, edit, delete; a group's members
// (users?filter=memberOfGroups[id eq "…"]: direct and through nested
// groups), adding and removing direct members, and the groups it is
// nested in. Calls as internal/mgmt/groups.go serves them.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, errorNotice, act } from '../ui.js';
import { can, canEnv, canRead, P } from '../perm.js';

const envPath = (ctx) => '/environments/' + ctx.envId;
const groupsPath = (ctx) => envPath(ctx) + '/groups';
const groupsHref = (ctx) => '#/env/' + ctx.envId + '/groups';

// A SCIM string literal: quotes and backslashes escaped.
const scimString = (s) => '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';

async function popNames(ctx) {
  const pops = await api.all(envPath(ctx) + '/populations', null, 'populations').catch(() => []);
  return { pops, name: new Map(pops.map((p) => [p.id, p.name])) };
}

async function list(ctx) {
  const { name } = await popNames(ctx);
  const toolbar = canEnv(P.writeGroup, ctx.envId) ? [linkButton('New group', groupsHref(ctx) + '/new', 'primary')] : [];
  page('Groups', { toolbar, crumbs: [[ctx.env ? ctx.env.name : 'Environment', '#/env/' + ctx.envId + '/overview'], ['Groups']] },
    listView({
      path: groupsPath(ctx), name: 'groups', caption: 'Groups',
      filter: { placeholder: 'name sw "Sales"' },
      columns: [
        { label: 'Name', value: (g) => g.name },
        { label: 'Population', value: (g) => (g.population ? name.get(g.population.id) || g.population.id : 'Environment-wide') },
        { label: 'Direct members', value: (g) => String(g.directMemberCounts ? g.directMemberCounts.users : '') },
        { label: 'Description', value: (g) => g.description || '' },
      ],
      rowLink: (g) => groupsHref(ctx) + '/' + g.id,
      empty: 'No groups.',
    }));
}

async function create(ctx) {
  const { pops } = await popNames(ctx);
  page('New group', { crumbs: [['Groups', groupsHref(ctx)], ['New']] }, formView({
    key: 'group-new',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'description', label: 'Description', type: 'textarea' },
      { name: 'population.id', label: 'Population', type: 'select', emptyLabel: 'None: environment-wide',
        options: pops.map((p) => ({ value: p.id, label: p.name })),
        help: 'A population\'s group holds only users of that population. It cannot be moved later.' },
    ],
    submitLabel: 'Create group',
    onSubmit: async (data) => {
      // No population: an environment-wide group ({"population": {}}
      // would be refused: population.id required).
      if (data.population && !data.population.id) delete data.population;
      const g = await api.post(groupsPath(ctx), data);
      toast('Group ' + g.name + ' created.');
      ctx.go(groupsHref(ctx) + '/' + g.id);
    },
    onCancel: () => ctx.go(groupsHref(ctx)),
  }));
}

async function detail(ctx) {
  const id = ctx.params.groupId;
  const [g, { name: popName }] = await Promise.all([api.get(groupsPath(ctx) + '/' + id, { include: 'totalMemberCounts' }), popNames(ctx)]);
  const target = g.population ? { envId: ctx.envId, populationId: g.population.id } : { envId: ctx.envId };
  const writable = can(P.writeGroup, target);
  const userWritable = g.population ? can(P.writeUser, target) : canEnv(P.writeUser, ctx.envId);
  const main = document.getElementById('main');
  const toolbar = writable ? [button('Delete group', async () => {
    if (!(await confirmAction('Delete the group "' + g.name + '"? Its members stay; they leave the group.', 'Delete group'))) return;
    await act(main, () => api.del(groupsPath(ctx) + '/' + id), () => { toast('Group deleted.'); ctx.go(groupsHref(ctx)); });
  }, { kind: 'danger' })] : [];
  const value = structuredClone(g);
  // Counts are read-only; PUT ignores them, but they are no form data.
  delete value.directMemberCounts;
  delete value.totalMemberCounts;
  const members = listView({
    path: envPath(ctx) + '/users', name: 'users', caption: 'Members',
    params: { filter: 'memberOfGroups[id eq ' + scimString(g.id) + ']' },
    columns: [
      { label: 'Username', value: (u) => u.username },
      { label: 'Name', value: (u) => [u.name && u.name.given, u.name && u.name.family].filter(Boolean).join(' ') },
      { label: 'Email', value: (u) => u.email || '' },
      userWritable ? {
        label: 'Actions', value: (u) => button('Remove', async () => {
          if (!(await confirmAction('Remove ' + u.username + ' from "' + g.name + '"? A member through a nested group stays one.', 'Remove'))) return;
          await act(memberBox, () => api.del(envPath(ctx) + '/users/' + u.id + '/memberOfGroups/' + g.id), () => { toast('Member removed.'); detail(ctx); });
        }, { class: 'btn btn-secondary btn-small', 'aria-label': 'Remove ' + u.username }),
      } : null,
    ].filter(Boolean),
    rowLink: (u) => '#/env/' + ctx.envId + '/users/' + u.id,
    empty: 'No members.',
  });
  const memberBox = h('section', { 'aria-labelledby': 'members-h' }, h('h2', { id: 'members-h' }, 'Members'), members);
  // The counts above change with the members: the page is drawn again.
  if (userWritable) memberBox.append(addMemberForm(ctx, g, () => detail(ctx)));
  page(g.name, { toolbar, crumbs: [['Groups', groupsHref(ctx)], [g.name]] },
    kv([['Id', h('code', null, g.id)], ['Population', g.population ? popName.get(g.population.id) || g.population.id : 'Environment-wide'],
      ['Direct members', String(g.directMemberCounts ? g.directMemberCounts.users : 0)],
      ['All members', String(g.totalMemberCounts ? g.totalMemberCounts.users : 0)]]),
    h('h2', null, 'Settings'),
    formView({
      key: 'group-edit', readOnly: !writable, value,
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'description', label: 'Description', type: 'textarea' },
      ],
      onSubmit: async (data) => {
        await api.put(groupsPath(ctx) + '/' + id, data);
        toast('Saved.');
        detail(ctx);
      },
    }),
    memberBox,
    nesting(ctx, g, writable));
}

// addMemberForm adds a user by username: the API takes the user's id
// (POST /users/{id}/memberOfGroups {"id": group}), found by a filter.
function addMemberForm(ctx, g, done) {
  return formView({
    key: 'group-member-add',
    fields: [{ name: 'username', label: 'Username of the user to add', required: true, autocomplete: 'off' }],
    submitLabel: 'Add member',
    onSubmit: async (data, form) => {
      const found = await api.list(envPath(ctx) + '/users', { filter: 'username eq ' + scimString(data.username), limit: 1 }, 'users');
      if (!found.items.length) {
        const f = form.fields[0];
        f.setError('No user has this username.');
        f.input.focus();
        return;
      }
      await api.post(envPath(ctx) + '/users/' + found.items[0].id + '/memberOfGroups', { id: g.id });
      toast(data.username + ' added.');
      form.fields[0].write('');
      done();
    },
  });
}

// nesting lists the groups this group is a member of, and adds and
// removes such nestings.
function nesting(ctx, g, writable) {
  const box = h('section', { 'aria-labelledby': 'nest-h' });
  const base = groupsPath(ctx) + '/' + g.id + '/memberOfGroups';
  const draw = async () => {
    let items;
    let all;
    try {
      [items, all] = await Promise.all([api.all(base, { expand: 'group' }, 'groupMemberships'), writable ? api.all(groupsPath(ctx), null, 'groups') : []]);
    } catch (err) {
      box.replaceChildren(h('h2', { id: 'nest-h' }, 'Member of groups'), errorNotice(err));
      return;
    }
    const nameOf = (n) => (n._embedded && n._embedded.group ? n._embedded.group.name : n.id);
    const rows = items.map((n) => h('li', null,
      h('a', { href: groupsHref(ctx) + '/' + n.id }, nameOf(n)), ' ',
      writable ? button('Remove', async () => {
        if (!(await confirmAction('Take "' + g.name + '" out of "' + nameOf(n) + '"?', 'Remove'))) return;
        await act(box, () => api.del(base + '/' + n.id), () => { toast('Nesting removed.'); draw(); });
      }, { class: 'btn btn-secondary btn-small', 'aria-label': 'Remove from ' + nameOf(n) }) : null));
    box.replaceChildren(h('h2', { id: 'nest-h' }, 'Member of groups'),
      items.length ? h('ul', null, rows) : h('p', { class: 'empty' }, 'Not nested in any group.'));
    const taken = new Set(items.map((n) => n.id));
    const options = all.filter((x) => x.id !== g.id && !taken.has(x.id)).map((x) => ({ value: x.id, label: x.name }));
    if (writable && options.length) {
      box.append(formView({
        key: 'group-nest-add',
        fields: [{ name: 'id', label: 'Nest in group', type: 'select', required: true, options }],
        submitLabel: 'Nest group',
        onSubmit: async (data) => {
          await api.post(base, { id: data.id });
          toast('Group nested.');
          draw();
        },
      }));
    }
  };
  box.append(h('h2', { id: 'nest-h' }, 'Member of groups'), h('p', { class: 'muted' }, 'Loading…'));
  draw();
  return box;
}

export default {
  nav: [{ group: 'Directory', label: 'Groups', path: '/env/:envId/groups', order: 2, show: (envId) => canRead(P.readGroup, envId) }],
  routes: [
    { path: '/env/:envId/groups', render: list },
    { path: '/env/:envId/groups/new', render: create },
    { path: '/env/:envId/groups/:groupId', render: detail },
  ],
};
