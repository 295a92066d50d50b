// Users: search (SCIM filter), create, and a user's page with its
// profile, password, MFA devices, groups, role assignments and linked
// accounts. Every call is the /v1 endpoint PingOne documents, with the
// media type Gatehouse's handlers take (internal/mgmt/users.go,
// passwords.go, mfadevices.go, groups.go, roles.go, linkedaccounts.go).
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, tabs, confirmAction, toast, fmtDate, errorNotice, live, act } from '../ui.js';
import { can, canEnv, canRead, P } from '../perm.js';

const CT_PASSWORD_SET = 'application/vnd.pingidentity.password.set+json';
const CT_PASSWORD_FORCE_CHANGE = 'application/vnd.pingidentity.password.forceChange+json';
const CT_ACCOUNT_UNLOCK = 'application/vnd.pingidentity.account.unlock+json';

const envPath = (ctx) => '/environments/' + ctx.envId;
const userPath = (ctx, id) => envPath(ctx) + '/users/' + id;
const usersHref = (ctx) => '#/env/' + ctx.envId + '/users';

function displayName(u) {
  const n = u.name || {};
  return [n.given, n.family].filter(Boolean).join(' ');
}

// populationOptions are the environment's populations for a select, the
// default one first so that a new user lands there unless told otherwise.
async function populationOptions(ctx) {
  // An administrator whose roles reach only some populations may not list
  // them: the field then takes a population's id.
  const pops = await api.all(envPath(ctx) + '/populations').catch(() => []);
  pops.sort((a, b) => (b.default ? 1 : 0) - (a.default ? 1 : 0));
  return { pops, options: pops.map((p) => ({ value: p.id, label: p.name + (p.default ? ' (default)' : '') })) };
}

function populationField(options) {
  return options.length
    ? { name: 'population.id', label: 'Population', type: 'select', required: true, options }
    : { name: 'population.id', label: 'Population', required: true, help: 'The id of the population.' };
}

// table is a small whole list (the API serves these in one page).
function table(caption, columns, items, empty) {
  if (!items.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
    h('tbody', null, items.map((it) => h('tr', null, columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : null, c.value(it))))))));
}

// ---- list

async function list(ctx) {
  const toolbar = canEnv(P.writeUser, ctx.envId) ? [linkButton('New user', usersHref(ctx) + '/new', 'primary')] : [];
  page('Users', { toolbar, crumbs: [[ctx.env ? ctx.env.name : 'Environment', '#/env/' + ctx.envId + '/overview'], ['Users']] },
    listView({
      path: envPath(ctx) + '/users', params: { expand: 'population' }, name: 'users', caption: 'Users',
      filter: { label: 'Filter', placeholder: 'username sw "a" or email ew "@example.com"' },
      columns: [
        { label: 'Username', value: (u) => u.username },
        { label: 'Name', value: (u) => displayName(u) },
        { label: 'Email', value: (u) => u.email || '' },
        { label: 'Population', value: (u) => (u._embedded && u._embedded.population ? u._embedded.population.name : u.population.id) },
        { label: 'Status', value: (u) => (u.enabled ? 'Enabled' : 'Disabled') + (u.account && u.account.status === 'LOCKED' ? ', locked' : '') },
      ],
      rowLink: (u) => usersHref(ctx) + '/' + u.id,
      empty: 'No users match.',
    }));
}

// ---- create

async function create(ctx) {
  const { pops, options } = await populationOptions(ctx);
  const form = formView({
    key: 'user-new',
    fields: [
      { name: 'username', label: 'Username', required: true, autocomplete: 'off' },
      { name: 'email', label: 'Email', type: 'email' },
      populationField(options),
      { name: 'name.given', label: 'Given name' },
      { name: 'name.family', label: 'Family name' },
      { name: 'enabled', label: 'Enabled', type: 'checkbox' },
      { name: 'password.value', label: 'Initial password', type: 'password', help: 'Optional: the user can also be given a password later, on the Password tab.' },
      { name: 'password.forceChange', label: 'Require a password change at first sign-on', type: 'checkbox' },
    ],
    value: { enabled: true, population: { id: pops[0] ? pops[0].id : '' }, password: { forceChange: true } },
    submitLabel: 'Create user',
    onSubmit: async (data) => {
      // No value: no password at all (forceChange alone means nothing).
      if (!data.password || !data.password.value) delete data.password;
      const u = await api.post(envPath(ctx) + '/users', data);
      toast('User ' + u.username + ' created.');
      ctx.go(usersHref(ctx) + '/' + u.id);
    },
    onCancel: () => ctx.go(usersHref(ctx)),
  });
  page('New user', { crumbs: [['Users', usersHref(ctx)], ['New']] }, form);
}

// ---- one user

// shownTab is the tab chosen on the user's page: a page drawn again after
// a change (enabled, unlocked, profile saved) opens on it, not on Profile.
let shownTab = 0;

async function detail(ctx, keepTab = false) {
  const id = ctx.params.userId;
  if (!keepTab) shownTab = 0;
  const u = await api.get(userPath(ctx, id), { expand: 'population' });
  const target = { envId: ctx.envId, populationId: u.population.id };
  const writable = can(P.writeUser, target);
  const title = u.username + (displayName(u) ? ' (' + displayName(u) + ')' : '');
  const main = document.getElementById('main');
  const redraw = () => detail(ctx, true);
  const toolbar = writable ? [
    button(u.enabled ? 'Disable user' : 'Enable user', () => act(main, async () => {
      await api.put(userPath(ctx, id) + '/enabled', { enabled: !u.enabled });
      toast(u.enabled ? 'User disabled.' : 'User enabled.');
    }, redraw)),
    button('Unlock', () => act(main, async () => {
      // account.unlock also ends a password lockout (mgmt/users.go).
      await api.post(userPath(ctx, id), {}, CT_ACCOUNT_UNLOCK);
      toast('User unlocked.');
    }, redraw)),
    button('Delete user', async () => {
      if (!(await confirmAction('Delete the user "' + u.username + '"? This cannot be undone.', 'Delete user'))) return;
      await act(main, () => api.del(userPath(ctx, id)), () => { toast('User deleted.'); ctx.go(usersHref(ctx)); });
    }, { kind: 'danger' }),
  ] : [];
  const tabBox = tabs([
    { label: 'Profile', render: () => profileTab(ctx, u, writable) },
    { label: 'Password', render: () => passwordTab(ctx, u, writable) },
    { label: 'MFA devices', render: () => mfaTab(ctx, u, writable) },
    { label: 'Groups', render: () => groupsTab(ctx, u, writable) },
    { label: 'Roles', render: () => rolesTab(ctx, u) },
    { label: 'Linked accounts', render: () => linkedTab(ctx, u, writable) },
  ], shownTab);
  // The tabs' own handlers select first; this reads what they chose.
  const remember = () => {
    const i = [...tabBox.querySelectorAll('[role="tab"]')].findIndex((b) => b.getAttribute('aria-selected') === 'true');
    if (i >= 0) shownTab = i;
  };
  tabBox.firstChild.addEventListener('click', remember);
  tabBox.firstChild.addEventListener('keydown', remember);
  page(title, { toolbar, crumbs: [['Users', usersHref(ctx)], [u.username]] }, tabBox);
}

// Each tab draws at once and loads into its own box (ui.live): a
// tab's slow answer then never lands over the tab chosen after it.
async function profileTab(ctx, u, writable) {
  return live(() => profileBody(ctx, u, writable));
}

async function profileBody(ctx, user, writable) {
  // Read again: another tab (MFA devices) may have changed the user since
  // the page was drawn.
  const [{ options }, u] = await Promise.all([populationOptions(ctx), api.get(userPath(ctx, user.id), { expand: 'population' })]);
  const acc = u.account || {};
  const state = [
    ['Id', h('code', null, u.id)],
    ['Status', u.enabled ? 'Enabled' : 'Disabled'],
    ['Account', acc.status === 'LOCKED' ? 'Locked' + (acc.unlockAt ? ' until ' + fmtDate(acc.unlockAt) : '') : 'OK'],
    ['Population', u._embedded && u._embedded.population ? u._embedded.population.name : u.population.id],
    ['MFA', u.mfaEnabled ? 'Enabled' : 'Disabled'],
    ['Created', fmtDate(u.createdAt)],
    ['Updated', fmtDate(u.updatedAt)],
  ];
  // The record as GET returned it: the form sends back what it does not
  // show as it was. enabled and mfaEnabled have their own endpoints (the
  // buttons); left out, a replace keeps them (identity.Apply), so a save
  // never undoes a change made since this read.
  const value = structuredClone(u);
  delete value._embedded;
  delete value.enabled;
  delete value.mfaEnabled;
  return h('div', null, kv(state), h('h2', null, 'Profile'), formView({
    key: 'user-profile', readOnly: !writable, value,
    fields: [
      { name: 'username', label: 'Username', required: true },
      { name: 'email', label: 'Email', type: 'email' },
      { name: 'name.given', label: 'Given name' },
      { name: 'name.family', label: 'Family name' },
      { name: 'nickname', label: 'Nickname' },
      { name: 'title', label: 'Title' },
      { name: 'mobilePhone', label: 'Mobile phone', type: 'tel' },
      { name: 'primaryPhone', label: 'Primary phone', type: 'tel' },
      populationField(options),
    ],
    onSubmit: async (data) => {
      await api.put(userPath(ctx, u.id), data);
      toast('Saved.');
      detail(ctx, true);
    },
  }));
}

const PASSWORD_STATUS = {
  OK: 'Set', NO_PASSWORD: 'No password', MUST_CHANGE_PASSWORD: 'Must be changed at next sign-on',
  PASSWORD_EXPIRED: 'Expired', PASSWORD_LOCKED_OUT: 'Locked after failed attempts',
};

async function passwordTab(ctx, u, writable) {
  return live(async (redraw) => {
    const pw = await api.get(userPath(ctx, u.id) + '/password');
    const box = h('div');
    box.append(kv([
      ['Status', PASSWORD_STATUS[pw.status] || pw.status],
      ['Last changed', fmtDate(pw.lastChangedAt)],
      pw.failedLoginCount ? ['Failed attempts', String(pw.failedLoginCount)] : null,
      pw.secondsUntilUnlock ? ['Unlocks in', pw.secondsUntilUnlock + ' s'] : null,
    ]));
    if (!writable) return box;
    box.append(h('h2', null, 'Set a password'), formView({
      key: 'user-password',
      fields: [
        { name: 'value', label: 'New password', type: 'password', required: true },
        { name: 'forceChange', label: 'Require a change at next sign-on', type: 'checkbox' },
        { name: 'bypassPolicy', label: 'Bypass the password policy', type: 'checkbox' },
      ],
      value: { forceChange: true, bypassPolicy: false },
      submitLabel: 'Set password',
      onSubmit: async (data) => {
        await api.put(userPath(ctx, u.id) + '/password', data, CT_PASSWORD_SET);
        toast('Password set.');
        redraw();
      },
    }));
    if (pw.status !== 'NO_PASSWORD') {
      box.append(h('h2', null, 'Expire the password'),
        h('p', { class: 'muted' }, 'The user keeps the password but must change it at the next sign-on.'),
        h('div', { class: 'actions' }, button('Expire password', () => act(box, async () => {
          await api.post(userPath(ctx, u.id) + '/password', {}, CT_PASSWORD_FORCE_CHANGE);
          toast('The user must change the password at the next sign-on.');
        }, redraw))));
    }
    return box;
  });
}

async function mfaTab(ctx, u, writable) {
  return live(async (redraw) => {
    const [flag, devices] = await Promise.all([
      api.get(userPath(ctx, u.id) + '/mfaEnabled'),
      api.all(userPath(ctx, u.id) + '/devices', null, 'devices'),
    ]);
    const box = h('div');
    box.append(h('p', null, flag.mfaEnabled ? 'MFA is enabled for this user.' : 'MFA is disabled for this user.'));
    if (writable) {
      box.append(h('div', { class: 'actions' }, button(flag.mfaEnabled ? 'Disable MFA' : 'Enable MFA', () => act(box, async () => {
        await api.put(userPath(ctx, u.id) + '/mfaEnabled', { mfaEnabled: !flag.mfaEnabled });
        toast(flag.mfaEnabled ? 'MFA disabled.' : 'MFA enabled.');
      }, redraw))));
    }
    const cols = [
      { label: 'Type', value: (d) => d.type },
      { label: 'Nickname', value: (d) => d.nickname || '' },
      { label: 'Sent to', value: (d) => d.email || d.phone || '' },
      { label: 'Status', value: (d) => d.status },
      { label: 'Created', value: (d) => fmtDate(d.createdAt) },
    ];
    if (writable) {
      cols.push({
        label: 'Actions', value: (d) => button('Delete device', async () => {
          if (!(await confirmAction('Delete the ' + d.type + ' device' + (d.nickname ? ' "' + d.nickname + '"' : '') + '?', 'Delete device'))) return;
          await act(box, () => api.del(userPath(ctx, u.id) + '/devices/' + d.id), () => { toast('Device deleted.'); redraw(); });
        }, { kind: 'danger', class: 'btn btn-danger btn-small', 'aria-label': 'Delete device ' + d.type + ' ' + (d.nickname || d.email || d.phone || d.id) }),
      });
    }
    box.append(h('h2', null, 'Devices'), table('MFA devices', cols, devices, 'No MFA devices.'));
    if (writable) {
      // An administrator's email or phone device, made ACTIVE as the API
      // makes them: with MFA enabled, the next sign-on asks for its code.
      box.append(h('h2', null, 'Add a device'), formView({
        key: 'mfa-device', submitLabel: 'Add device',
        fields: [
          { name: 'type', label: 'Device type', type: 'select', required: true,
            options: [{ value: 'EMAIL', label: 'Email' }, { value: 'SMS', label: 'SMS' }, { value: 'VOICE', label: 'Voice' }] },
          { name: 'email', label: 'Email address', type: 'email', help: 'For an email device.' },
          { name: 'phone', label: 'Phone number', type: 'tel', help: 'For an SMS or voice device, such as +14155550100.' },
          { name: 'nickname', label: 'Nickname' },
        ],
        value: { type: 'EMAIL' },
        onSubmit: async (data) => {
          const body = { type: data.type };
          if (data.type === 'EMAIL') body.email = data.email; else body.phone = data.phone;
          if (data.nickname) body.nickname = data.nickname;
          await api.post(userPath(ctx, u.id) + '/devices', body);
          toast('Device added.');
          redraw();
        },
      }));
    }
    return box;
  });
}

async function groupsTab(ctx, u, writable) {
  return live(async (redraw) => {
    const box = h('div');
    const base = userPath(ctx, u.id) + '/memberOfGroups';
    const members = await api.all(base, null, 'groupMemberships');
    const cols = [
      { label: 'Group', value: (m) => h('a', { href: '#/env/' + ctx.envId + '/groups/' + m.id }, m.name) },
      { label: 'Membership', value: (m) => (m.type === 'DIRECT' ? 'Direct' : 'Through a nested group') },
    ];
    if (writable) {
      cols.push({
        label: 'Actions', value: (m) => (m.type !== 'DIRECT' ? '' : button('Remove', async () => {
          if (!(await confirmAction('Remove ' + u.username + ' from the group "' + m.name + '"?', 'Remove'))) return;
          await act(box, () => api.del(base + '/' + m.id), () => { toast('Removed from ' + m.name + '.'); redraw(); });
        }, { class: 'btn btn-secondary btn-small', 'aria-label': 'Remove from ' + m.name })),
      });
    }
    box.append(table('Groups', cols, members, 'Not a member of any group.'));
    if (writable) {
      const groups = await api.all(envPath(ctx) + '/groups', null, 'groups');
      const direct = new Set(members.filter((m) => m.type === 'DIRECT').map((m) => m.id));
      const options = groups.filter((g) => !direct.has(g.id)).map((g) => ({ value: g.id, label: g.name }));
      if (options.length) {
        box.append(h('h2', null, 'Add to a group'), formView({
          key: 'user-group-add',
          fields: [{ name: 'id', label: 'Group', type: 'select', required: true, options }],
          submitLabel: 'Add to group',
          onSubmit: async (data) => {
            await api.post(base, { id: data.id });
            toast('Added to the group.');
            redraw();
          },
        }));
      }
    }
    return box;
  });
}

const SCOPE_TYPES = [
  { value: 'ENVIRONMENT', label: 'Environment' }, { value: 'ORGANIZATION', label: 'Organization' },
  { value: 'POPULATION', label: 'Population' }, { value: 'APPLICATION', label: 'Application' },
];

async function rolesTab(ctx, u) {
  const writable = canEnv(P.writeRoleAssignment, ctx.envId);
  return live(async (redraw) => {
    const box = h('div');
    const base = userPath(ctx, u.id) + '/roleAssignments';
    const [ras, roles, pops, apps] = await Promise.all([
      api.all(base, null, 'roleAssignments'),
      api.all('/roles', null, 'roles'),
      api.all(envPath(ctx) + '/populations', null, 'populations').catch(() => []),
      canRead(P.readApplication, ctx.envId) ? api.all(envPath(ctx) + '/applications', null, 'applications').catch(() => []) : [],
    ]);
    const roleName = new Map(roles.map((r) => [r.id, r.name]));
    const scopes = {
      ORGANIZATION: [{ value: ctx.orgId, label: 'This organization' }],
      ENVIRONMENT: ctx.state.environments.map((e) => ({ value: e.id, label: e.name })),
      POPULATION: pops.map((p) => ({ value: p.id, label: p.name })),
      APPLICATION: apps.map((a) => ({ value: a.id, label: a.name })),
    };
    const scopeName = (s) => {
      const o = (scopes[s.type] || []).find((x) => x.value === s.id);
      return (SCOPE_TYPES.find((t) => t.value === s.type) || { label: s.type }).label + ': ' + (o ? o.label : s.id);
    };
    const cols = [
      { label: 'Role', value: (ra) => roleName.get(ra.role.id) || ra.role.id },
      { label: 'Scope', value: (ra) => scopeName(ra.scope) },
    ];
    if (writable) {
      cols.push({
        label: 'Actions', value: (ra) => (ra.readOnly ? 'Read-only' : button('Remove', async () => {
          if (!(await confirmAction('Remove the ' + (roleName.get(ra.role.id) || 'role') + ' role from ' + u.username + '?', 'Remove'))) return;
          await act(box, () => api.del(base + '/' + ra.id), () => { toast('Role assignment removed.'); redraw(); });
        }, { class: 'btn btn-secondary btn-small', 'aria-label': 'Remove ' + (roleName.get(ra.role.id) || ra.role.id) + ' over ' + scopeName(ra.scope) })),
      });
    }
    box.append(table('Role assignments', cols, ras, 'No role assignments.'));
    if (!writable) return box;
    const form = formView({
      key: 'user-role-add',
      fields: [
        { name: 'role.id', label: 'Role', type: 'select', required: true, options: roles.map((r) => ({ value: r.id, label: r.name })) },
        { name: 'scope.type', label: 'Scope type', type: 'select', required: true, options: SCOPE_TYPES },
        { name: 'scope.id', label: 'Scope', type: 'select', required: true, options: scopes.ENVIRONMENT },
      ],
      value: { role: { id: roles[0] ? roles[0].id : '' }, scope: { type: 'ENVIRONMENT', id: ctx.envId } },
      submitLabel: 'Assign role',
      onSubmit: async (data) => {
        await api.post(base, { role: data.role, scope: data.scope });
        toast('Role assigned.');
        redraw();
      },
    });
    const field = (n) => form.fields.find((f) => f.spec.name === n);
    const roleSel = field('role.id').input;
    const typeSel = field('scope.type').input;
    const idSel = field('scope.id').input;
    // The scope select lists the scopes of the type chosen; the type
    // select the types the role applies to.
    const fillIds = () => {
      const keep = idSel.value;
      idSel.replaceChildren(...(scopes[typeSel.value] || []).map((o) => h('option', { value: o.value }, o.label)));
      if ([...idSel.options].some((o) => o.value === keep)) idSel.value = keep;
      else if (typeSel.value === 'ENVIRONMENT') idSel.value = ctx.envId;
    };
    const fillTypes = () => {
      const role = roles.find((r) => r.id === roleSel.value);
      const allowed = role && role.applicableTo && role.applicableTo.length ? role.applicableTo : SCOPE_TYPES.map((t) => t.value);
      const keep = typeSel.value;
      typeSel.replaceChildren(...SCOPE_TYPES.filter((t) => allowed.includes(t.value)).map((t) => h('option', { value: t.value }, t.label)));
      if (allowed.includes(keep)) typeSel.value = keep;
      fillIds();
    };
    roleSel.addEventListener('change', fillTypes);
    typeSel.addEventListener('change', fillIds);
    fillTypes();
    box.append(h('h2', null, 'Assign a role'), form);
    return box;
  });
}

async function linkedTab(ctx, u, writable) {
  return live(async (redraw) => {
    const box = h('div');
    const base = userPath(ctx, u.id) + '/linkedAccounts';
    const [links, idps] = await Promise.all([
      api.all(base, null, 'linkedAccounts'),
      canRead(P.readConfig, ctx.envId) ? api.all(envPath(ctx) + '/identityProviders', null, 'identityProviders').catch(() => []) : [],
    ]);
    const idpName = new Map(idps.map((p) => [p.id, p.name]));
    const cols = [
      { label: 'Identity provider', value: (l) => idpName.get(l.identityProvider.id) || l.identityProvider.id },
      { label: 'External id', value: (l) => h('code', null, l.externalId) },
      { label: 'Linked', value: (l) => fmtDate(l.createdAt) },
    ];
    if (writable) {
      cols.push({
        label: 'Actions', value: (l) => button('Unlink', async () => {
          const name = idpName.get(l.identityProvider.id) || 'the identity provider';
          if (!(await confirmAction('Unlink the account ' + l.externalId + ' of ' + name + ' from ' + u.username + '?', 'Unlink'))) return;
          await act(box, () => api.del(base + '/' + l.id), () => { toast('Account unlinked.'); redraw(); });
        }, { class: 'btn btn-secondary btn-small', 'aria-label': 'Unlink ' + l.externalId }),
      });
    }
    box.append(table('Linked accounts', cols, links, 'No linked accounts.'));
    if (writable && idps.length) {
      // PingOne's account link: the user's account at a provider, by the
      // provider's subject, so the next federated sign-on finds this user.
      box.append(h('h2', null, 'Link an account'), formView({
        key: 'link-account', submitLabel: 'Link account',
        fields: [
          { name: 'identityProvider.id', label: 'Identity provider', type: 'select', required: true,
            options: idps.map((p) => ({ value: p.id, label: p.name })) },
          { name: 'externalId', label: 'External id', required: true, help: "The user's subject (sub) at the identity provider." },
        ],
        value: { identityProvider: { id: idps[0].id } },
        onSubmit: async (data) => {
          await api.post(base, { identityProvider: { id: data.identityProvider.id }, externalId: data.externalId },
            'application/vnd.pingidentity.account.link+json');
          toast('Account linked.');
          redraw();
        },
      }));
    }
    return box;
  });
}

export default {
  nav: [{ group: 'Directory', label: 'Users', path: '/env/:envId/users', order: 1, show: (envId) => canRead(P.readUser, envId) }],
  routes: [
    { path: '/env/:envId/users', render: list },
    { path: '/env/:envId/users/new', render: create },
    { path: '/env/:envId/users/:userId', render: detail },
  ],
};
