// Sign-on policies and their actions (…/signOnPolicies/{id}/actions).
// Actions run in priority order; priorities are unique within a policy
// (the API refuses a taken one), so a move swaps two actions through a
// free priority: three PUTs of the actions as GET returned them.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const TYPES = [
  { value: 'LOGIN', label: 'Username and password (LOGIN)' },
  { value: 'IDENTIFIER_FIRST', label: 'Identifier first (IDENTIFIER_FIRST)' },
  { value: 'MULTI_FACTOR_AUTHENTICATION', label: 'Multi-factor authentication (MULTI_FACTOR_AUTHENTICATION)' },
  { value: 'IDENTITY_PROVIDER', label: 'External identity provider (IDENTITY_PROVIDER)' },
  { value: 'PROGRESSIVE_PROFILING', label: 'Progressive profiling (PROGRESSIVE_PROFILING)' },
  { value: 'AGREEMENT', label: 'Agreement (AGREEMENT)' },
];
const typeLabel = (t) => (TYPES.find((x) => x.value === t) || { label: t }).label;
const MAX_PRIORITY = 2147483647;

const base = (envId) => '/environments/' + envId + '/signOnPolicies';
const href = (envId, rest) => '#/env/' + envId + '/signOnPolicies' + (rest ? '/' + rest : '');

async function list(ctx) {
  const writable = canEnv(P.writeConfig, ctx.envId);
  page('Sign-on policies', { toolbar: writable ? [linkButton('New sign-on policy', href(ctx.envId, 'new'), 'primary')] : [] },
    h('p', { class: 'muted' }, 'A sign-on policy is the steps of a sign-on: its actions, in priority order. Applications without a policy of their own use the default.'),
    listView({
      path: base(ctx.envId), name: 'signOnPolicies', caption: 'Sign-on policies',
      columns: [
        { label: 'Name', value: (p) => p.name },
        { label: 'Default', value: (p) => (p.default ? 'Default' : '') },
        { label: 'Description', value: (p) => p.description || '' },
        { label: 'Updated', value: (p) => fmtDate(p.updatedAt) },
      ],
      rowLink: (p) => href(ctx.envId, p.id),
      empty: 'No sign-on policy yet.',
    }));
}

const policyFields = [
  { name: 'name', label: 'Name', required: true, help: 'Letters, digits, underscores, periods and hyphens.' },
  { name: 'description', label: 'Description', type: 'textarea' },
];

async function create(ctx) {
  const form = formView({
    key: 'sop-new',
    fields: [...policyFields, { name: 'default', label: 'Make this the default policy', type: 'checkbox' }],
    value: { default: false },
    submitLabel: 'Create sign-on policy',
    onSubmit: async (data) => {
      const p = await api.post(base(ctx.envId), data);
      toast('Sign-on policy ' + p.name + ' created.');
      ctx.go(href(ctx.envId, p.id));
    },
    onCancel: () => ctx.go(href(ctx.envId)),
  });
  page('New sign-on policy', { crumbs: [['Sign-on policies', href(ctx.envId)], ['New']] }, form);
}

async function detail(ctx) {
  const at = location.hash;
  const path = base(ctx.envId) + '/' + ctx.params.policyId;
  const p = await api.get(path);
  const writable = canEnv(P.writeConfig, ctx.envId);
  const notices = h('div');
  const fail = (err) => notices.replaceChildren(errorNotice(err));
  const toolbar = [];
  if (writable && !p.default) {
    toolbar.push(button('Make default', async () => {
      try {
        await api.put(path, { name: p.name, description: p.description, default: true });
        toast(p.name + ' is now the default sign-on policy.');
        detail(ctx);
      } catch (err) { fail(err); }
    }));
    toolbar.push(button('Delete policy', async () => {
      if (!(await confirmAction('Delete the sign-on policy "' + p.name + '" and its actions?'))) return;
      try {
        await api.del(path);
        toast('Sign-on policy deleted.');
        ctx.go(href(ctx.envId));
      } catch (err) { fail(err); }
    }, { kind: 'danger' }));
  }
  const actionsBox = h('section', { 'aria-labelledby': 'actions-title' });
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(p.name, { toolbar, crumbs: [['Sign-on policies', href(ctx.envId)], [p.name]] },
    notices,
    kv([['Id', h('code', null, p.id)], ['Default', p.default ? 'Yes' : 'No'], ['Updated', fmtDate(p.updatedAt)]]),
    formView({
      key: 'sop-edit', readOnly: !writable, value: p, fields: policyFields,
      onSubmit: async (data) => {
        delete data.default; // only "Make default" moves the flag
        await api.put(path, data);
        toast('Saved.');
        detail(ctx);
      },
    }),
    actionsBox);
  await renderActions(ctx, path, actionsBox, writable);
}

// renderActions lists the policy's actions in priority order; focusId
// names a button to focus after a move ("<actionId>:up" or ":down"), so a
// keyboard user stays on the action they moved.
async function renderActions(ctx, path, box, writable, focusId) {
  const acts = await api.all(path + '/actions', null, 'actions');
  acts.sort((a, b) => a.priority - b.priority);
  const status = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  const err = h('div');
  const items = acts.map((a, i) => {
    const controls = [];
    if (writable) {
      const up = button('Move up', () => move(i, i - 1, a.id + ':up'), { class: 'btn btn-secondary btn-small', 'data-move': a.id + ':up', 'aria-label': 'Move up: ' + typeLabel(a.type) });
      const down = button('Move down', () => move(i, i + 1, a.id + ':down'), { class: 'btn btn-secondary btn-small', 'data-move': a.id + ':down', 'aria-label': 'Move down: ' + typeLabel(a.type) });
      up.disabled = i === 0;
      down.disabled = i === acts.length - 1;
      controls.push(up, down,
        h('a', { class: 'btn btn-secondary btn-small', href: href(ctx.envId, ctx.params.policyId + '/actions/' + a.id), 'aria-label': 'Edit: ' + typeLabel(a.type) }, 'Edit'),
        button('Delete', async () => {
          if (!(await confirmAction('Delete the ' + typeLabel(a.type) + ' action?'))) return;
          try {
            await api.del(path + '/actions/' + a.id);
            toast('Action deleted.');
            renderActions(ctx, path, box, writable);
          } catch (e) { err.replaceChildren(errorNotice(e)); }
        }, { kind: 'danger', class: 'btn btn-danger btn-small', 'aria-label': 'Delete: ' + typeLabel(a.type) }));
    } else {
      controls.push(h('a', { class: 'btn btn-secondary btn-small', href: href(ctx.envId, ctx.params.policyId + '/actions/' + a.id), 'aria-label': 'View: ' + typeLabel(a.type) }, 'View'));
    }
    return h('li', { 'data-action-id': a.id, 'data-priority': String(a.priority) },
      h('span', { class: 'grow' }, h('strong', null, (i + 1) + '. ' + typeLabel(a.type)),
        h('span', { class: 'muted' }, ' · priority ' + a.priority + (a.condition ? ' · has a condition' : ''))),
      controls);
  });
  async function move(from, to, keep) {
    if (to < 0 || to >= acts.length) return;
    const a = acts[from];
    const b = acts[to];
    const used = new Set(acts.map((x) => x.priority));
    let free = Math.max(...used) + 1;
    if (free > MAX_PRIORITY) { free = 1; while (used.has(free)) free += 1; }
    const pa = a.priority;
    const pb = b.priority;
    try {
      await api.put(path + '/actions/' + a.id, { ...a, priority: free });
      await api.put(path + '/actions/' + b.id, { ...b, priority: pa });
      await api.put(path + '/actions/' + a.id, { ...a, priority: pb });
    } catch (e) {
      err.replaceChildren(errorNotice(e));
      return;
    }
    await renderActions(ctx, path, box, writable, keep);
    const s = box.querySelector('[role="status"]');
    if (s) s.textContent = typeLabel(a.type) + ' moved to position ' + (to + 1) + ' of ' + acts.length + '.';
  }
  const add = [];
  if (writable) {
    const sel = h('select', { id: 'new-action-type' }, TYPES.map((t) => h('option', { value: t.value }, t.label)));
    add.push(h('form', { class: 'filter add-action', on: { submit: (e) => { e.preventDefault(); ctx.go(href(ctx.envId, ctx.params.policyId + '/actions/new/' + sel.value)); } } },
      h('label', { for: 'new-action-type' }, 'Action type'), sel, button('Add action', null, { type: 'submit', kind: 'primary' })));
  }
  box.replaceChildren(
    h('h2', { id: 'actions-title' }, 'Actions'),
    h('p', { class: 'muted' }, 'A sign-on runs these in order, from the top. An action with a condition is skipped when the condition says it need not run.'),
    err, status,
    acts.length ? h('ol', { class: 'order-list', 'aria-label': 'Actions in priority order' }, items) : h('p', { class: 'empty' }, 'No action yet: a sign-on with this policy cannot complete.'),
    ...add);
  if (focusId) {
    const btn = box.querySelector('[data-move="' + focusId + '"]');
    const other = box.querySelector('[data-move="' + focusId.replace(/:(up|down)$/, (m, d) => (d === 'up' ? ':down' : ':up')) + '"]');
    if (btn && !btn.disabled) btn.focus(); else if (other) other.focus();
  }
}

// ---- one action

// Fields of each type, named after the API's attributes so its error
// details land at them.
function actionFields(type, refs) {
  const pops = refs.populations.map((p) => ({ value: p.id, label: p.name }));
  const idps = refs.idps.map((p) => ({ value: p.id, label: p.name + ' (' + p.type + ')' }));
  const registration = [
    { name: 'registration.enabled', label: 'Let new users register', type: 'checkbox' },
    { name: 'registration.population.id', label: 'Population of registered users', type: 'select', options: pops },
  ];
  switch (type) {
    case 'LOGIN':
    case 'IDENTIFIER_FIRST':
      return [
        { name: 'recovery.enabled', label: 'Offer account recovery (forgot password)', type: 'checkbox' },
        ...registration,
        idps.length ? { name: 'socialProviders', label: 'Identity providers offered', type: 'checkboxes', options: idps } : null,
        { name: 'enforceLockoutForIdentityProviders', label: 'Enforce the password lockout for users of identity providers', type: 'checkbox' },
        type === 'IDENTIFIER_FIRST' ? {
          name: 'discoveryRules', label: 'Discovery rules', type: 'json', rows: 6,
          help: 'JSON array: [{"condition": {"contains": "${user.email}", "value": "@example"}, "identityProvider": {"id": "…"}}]',
        } : null,
      ];
    case 'IDENTITY_PROVIDER':
      return [
        { name: 'identityProvider.id', label: 'Identity provider', type: 'select', required: true, options: idps },
        { name: 'acrValues', label: 'ACR values' },
        { name: 'passUserContext', label: 'Pass the user context to the provider', type: 'checkbox' },
        ...registration,
      ];
    case 'MULTI_FACTOR_AUTHENTICATION':
      return [
        { name: 'deviceAuthenticationPolicy.id', label: 'MFA policy', type: 'select', emptyLabel: 'The environment\'s default', options: refs.mfaPolicies.map((p) => ({ value: p.id, label: p.name })) },
        { name: 'noDevicesMode', label: 'When the user has no device', type: 'select', options: [{ value: 'BLOCK', label: 'Block the sign-on (BLOCK)' }, { value: 'BYPASS', label: 'Let the user through (BYPASS)' }] },
      ];
    case 'PROGRESSIVE_PROFILING':
      return [
        { name: 'attributes', label: 'Attributes to ask for', type: 'json', rows: 4, required: true, help: 'JSON array: [{"name": "name.given", "required": true}]' },
        { name: 'promptText', label: 'Prompt text', required: true },
        { name: 'promptIntervalSeconds', label: 'Ask again after (seconds)', type: 'number', required: true },
        { name: 'preventMultiplePromptsPerFlow', label: 'Ask at most once per sign-on', type: 'checkbox' },
      ];
    case 'AGREEMENT':
      return [
        { name: 'agreement.id', label: 'Agreement', type: 'select', required: true, options: refs.agreements.map((a) => ({ value: a.id, label: a.name })) },
        { name: 'disableDeclineOption', label: 'Hide the decline option', type: 'checkbox' },
      ];
    default:
      return [];
  }
}

const CONDITION_HELP = 'JSON object, or empty for none. E.g. {"secondsSince": "${session.lastSignOn.withAuthenticator.pwd.at}", "greater": 3600}: run only when the last password sign-on is older than an hour.';

// Shapes the form's data as the API takes it: references left empty are
// left out (an empty {id} is refused), social providers are {id}s.
function toRequest(data) {
  for (const k of ['deviceAuthenticationPolicy', 'identityProvider', 'agreement']) {
    if (data[k] && !data[k].id) delete data[k];
  }
  if (data.registration) {
    if (data.registration.population && !data.registration.population.id) delete data.registration.population;
    if (data.registration.enabled === undefined) data.registration.enabled = false;
  }
  if (Array.isArray(data.socialProviders)) {
    data.socialProviders = data.socialProviders.map((x) => (typeof x === 'string' ? { id: x } : x));
    if (!data.socialProviders.length) delete data.socialProviders;
  }
  return data;
}

async function loadRefs(envId, type) {
  const env = '/environments/' + envId;
  const none = () => [];
  const needIdps = ['LOGIN', 'IDENTIFIER_FIRST', 'IDENTITY_PROVIDER'].includes(type);
  const needPops = needIdps;
  const [idps, populations, mfaPolicies, agreements] = await Promise.all([
    needIdps ? api.all(env + '/identityProviders', null, 'identityProviders').catch(none) : [],
    needPops ? api.all(env + '/populations', null, 'populations').catch(none) : [],
    type === 'MULTI_FACTOR_AUTHENTICATION' ? api.all(env + '/deviceAuthenticationPolicies', null, 'deviceAuthenticationPolicies').catch(none) : [],
    type === 'AGREEMENT' ? api.all(env + '/agreements', null, 'agreements').catch(none) : [],
  ]);
  return { idps, populations, mfaPolicies, agreements };
}

async function action(ctx) {
  const at = location.hash;
  const { envId } = ctx;
  const { policyId, actionId, type: newType } = ctx.params;
  const path = base(envId) + '/' + policyId;
  const writable = canEnv(P.writeConfig, envId);
  const [policy, acts] = await Promise.all([api.get(path), api.all(path + '/actions', null, 'actions')]);
  let value;
  if (actionId) {
    value = await api.get(path + '/actions/' + actionId);
  } else {
    if (!TYPES.some((t) => t.value === newType)) throw new Error('There is no action type ' + newType + '.');
    const next = acts.reduce((m, a) => Math.max(m, a.priority), 0) + 1;
    value = { type: newType, priority: next };
    if (newType === 'LOGIN' || newType === 'IDENTIFIER_FIRST') value.recovery = { enabled: true };
    if (newType === 'MULTI_FACTOR_AUTHENTICATION') value.noDevicesMode = 'BLOCK';
    if (newType === 'PROGRESSIVE_PROFILING') Object.assign(value, { preventMultiplePromptsPerFlow: true, promptIntervalSeconds: 7776000, promptText: 'Tell us a little more about you.' });
  }
  const type = value.type;
  const refs = await loadRefs(envId, type);
  const start = structuredClone(value);
  if (Array.isArray(start.socialProviders)) start.socialProviders = start.socialProviders.map((s) => s.id);
  const form = formView({
    key: 'sop-action', readOnly: !writable, value: start,
    fields: [
      { name: 'priority', label: 'Priority', type: 'number', required: true, help: 'Lower runs first; unique within the policy.' },
      ...actionFields(type, refs),
      { name: 'condition', label: 'Condition', type: 'json', rows: 6, help: CONDITION_HELP },
    ],
    submitLabel: actionId ? 'Save action' : 'Add action',
    onSubmit: async (data) => {
      data.type = type;
      const body = toRequest(data);
      if (actionId) await api.put(path + '/actions/' + actionId, body);
      else await api.post(path + '/actions', body);
      toast(actionId ? 'Action saved.' : 'Action added.');
      ctx.go(href(envId, policyId));
    },
    onCancel: () => ctx.go(href(envId, policyId)),
  });
  const title = (actionId ? '' : 'New action: ') + typeLabel(type);
  const toolbar = actionId && writable ? [button('Delete action', async () => {
    if (!(await confirmAction('Delete this action?'))) return;
    try {
      await api.del(path + '/actions/' + actionId);
      toast('Action deleted.');
      ctx.go(href(envId, policyId));
    } catch (err) { document.getElementById('main').append(errorNotice(err)); }
  }, { kind: 'danger' })] : [];
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(title, { toolbar, crumbs: [['Sign-on policies', href(envId)], [policy.name, href(envId, policyId)], [actionId ? 'Action' : 'New action']] },
    actionId ? kv([['Id', h('code', null, actionId)], ['Type', type]]) : null,
    form);
}

export default {
  nav: [{ group: 'Authentication', label: 'Sign-on policies', path: '/env/:envId/signOnPolicies', order: 10, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/signOnPolicies', render: list },
    { path: '/env/:envId/signOnPolicies/new', render: create },
    { path: '/env/:envId/signOnPolicies/:policyId', render: detail },
    { path: '/env/:envId/signOnPolicies/:policyId/actions/new/:type', render: action },
    { path: '/env/:envId/signOnPolicies/:policyId/actions/:actionId', render: action },
  ],
};
