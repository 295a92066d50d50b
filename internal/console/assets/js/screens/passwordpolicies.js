// Password policies: the rules a password must meet, its history and
// lockout. One policy is the environment's default; populations may name
// another.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

// The character sets minCharacters may name, as the API spells them.
const CHARSETS = [
  { value: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', label: 'An upper-case letter' },
  { value: 'abcdefghijklmnopqrstuvwxyz', label: 'A lower-case letter' },
  { value: '0123456789', label: 'A digit' },
  { value: '~!@#$%^&*()-_=+[]{}|;:,.<>/?', label: 'A special character (~!@#$%^&*()-_=+[]{}|;:,.<>/?)' },
];

const base = (envId) => '/environments/' + envId + '/passwordPolicies';
const href = (envId, rest) => '#/env/' + envId + '/passwordPolicies' + (rest ? '/' + rest : '');

async function list(ctx) {
  const writable = canEnv(P.writeConfig, ctx.envId);
  page('Password policies', { toolbar: writable ? [linkButton('New password policy', href(ctx.envId, 'new'), 'primary')] : [] },
    listView({
      path: base(ctx.envId), name: 'passwordPolicies', caption: 'Password policies',
      columns: [
        { label: 'Name', value: (p) => p.name },
        { label: 'Default', value: (p) => (p.default ? 'Default' : '') },
        { label: 'Length', value: (p) => (p.length ? p.length.min + '–' + p.length.max : '') },
        { label: 'Populations', value: (p) => String(p.populationCount || 0) },
        { label: 'Updated', value: (p) => fmtDate(p.updatedAt) },
      ],
      rowLink: (p) => href(ctx.envId, p.id),
      empty: 'No password policy yet.',
    }));
}

// Field names follow the API's attributes, so its details (length.min,
// lockout.failureCount…) land at their fields.
const fields = [
  { name: 'name', label: 'Name', required: true },
  { name: 'description', label: 'Description', type: 'textarea' },
  { name: 'length.min', label: 'Minimum length', type: 'number', help: '8 to 32.' },
  { name: 'length.max', label: 'Maximum length', type: 'number', help: 'Up to 255.' },
  { name: 'minCharacters', label: 'Must contain at least', type: 'checkboxes', options: CHARSETS },
  { name: 'excludesCommonlyUsed', label: 'Refuse commonly used passwords', type: 'checkbox' },
  { name: 'excludesProfileData', label: 'Refuse passwords holding the user\'s profile data', type: 'checkbox' },
  { name: 'notSimilarToCurrent', label: 'Refuse passwords similar to the current one', type: 'checkbox' },
  { name: 'history.count', label: 'Passwords remembered', type: 'number', help: 'A new password may not be one of these. Leave both history fields empty for no history.' },
  { name: 'history.retentionDays', label: 'Remembered for (days)', type: 'number' },
  { name: 'lockout.failureCount', label: 'Failed attempts before lockout', type: 'number', help: 'Leave both lockout fields empty for no lockout.' },
  { name: 'lockout.durationSeconds', label: 'Lockout duration (seconds)', type: 'number' },
  { name: 'minAgeDays', label: 'Minimum age (days)', type: 'number', help: 'How long before a password may be changed again.' },
  { name: 'maxAgeDays', label: 'Maximum age (days)', type: 'number', help: 'After this a password must be changed; at least the minimum age + 22.' },
  { name: 'maxRepeatedCharacters', label: 'Maximum repeated characters', type: 'number', help: 'PingOne takes 2 or nothing.' },
  { name: 'minUniqueCharacters', label: 'Minimum unique characters', type: 'number', help: 'PingOne takes 5 or nothing.' },
  { name: 'minComplexity', label: 'Minimum complexity', type: 'number', help: 'PingOne takes 7 or nothing.' },
];

// toForm and toRequest turn minCharacters between the API's map
// ({charset: 1}) and the form's list of sets.
function toForm(p) {
  const v = structuredClone(p);
  v.minCharacters = Object.entries(p.minCharacters || {}).filter(([, n]) => n > 0).map(([k]) => k);
  return v;
}

function toRequest(data) {
  if (Array.isArray(data.minCharacters)) {
    const m = {};
    for (const k of data.minCharacters) m[k] = 1;
    data.minCharacters = Object.keys(m).length ? m : undefined;
    if (!data.minCharacters) delete data.minCharacters;
  }
  // A group of fields all left empty is no rule at all, not an empty one.
  for (const k of ['history', 'lockout', 'length']) {
    if (data[k] && Object.values(data[k]).every((v) => v === undefined)) delete data[k];
  }
  for (const k of ['excludesCommonlyUsed', 'excludesProfileData', 'notSimilarToCurrent']) data[k] = !!data[k];
  delete data.populationCount;
  return data;
}

const DEFAULTS = {
  excludesCommonlyUsed: true, excludesProfileData: true, notSimilarToCurrent: true,
  length: { min: 8, max: 255 }, history: { count: 6, retentionDays: 365 }, lockout: { failureCount: 5, durationSeconds: 900 },
  minCharacters: CHARSETS.map((c) => c.value), maxRepeatedCharacters: 2, minUniqueCharacters: 5,
};

async function create(ctx) {
  const form = formView({
    key: 'pp-new',
    fields: [...fields, { name: 'default', label: 'Make this the default policy', type: 'checkbox' }],
    value: DEFAULTS,
    submitLabel: 'Create password policy',
    onSubmit: async (data) => {
      const p = await api.post(base(ctx.envId), toRequest(data));
      toast('Password policy ' + p.name + ' created.');
      ctx.go(href(ctx.envId, p.id));
    },
    onCancel: () => ctx.go(href(ctx.envId)),
  });
  page('New password policy', { crumbs: [['Password policies', href(ctx.envId)], ['New']] }, form);
}

async function detail(ctx) {
  const at = location.hash;
  const path = base(ctx.envId) + '/' + ctx.params.policyId;
  const p = await api.get(path);
  const writable = canEnv(P.writeConfig, ctx.envId);
  const notices = h('div');
  const toolbar = [];
  if (writable && !p.default) {
    toolbar.push(button('Make default', async () => {
      try {
        await api.put(path, toRequest({ ...structuredClone(p), default: true }));
        toast(p.name + ' is now the default password policy.');
        detail(ctx);
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }));
    toolbar.push(button('Delete policy', async () => {
      if (!(await confirmAction('Delete the password policy "' + p.name + '"?'))) return;
      try {
        await api.del(path);
        toast('Password policy deleted.');
        ctx.go(href(ctx.envId));
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }, { kind: 'danger' }));
  }
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(p.name, { toolbar, crumbs: [['Password policies', href(ctx.envId)], [p.name]] },
    notices,
    kv([['Id', h('code', null, p.id)], ['Default', p.default ? 'Yes' : 'No'], ['Populations using it', String(p.populationCount || 0)], ['Updated', fmtDate(p.updatedAt)]]),
    formView({
      key: 'pp-edit', readOnly: !writable, value: toForm(p), fields,
      onSubmit: async (data) => {
        delete data.default; // only "Make default" moves the flag
        await api.put(path, toRequest(data));
        toast('Saved.');
        detail(ctx);
      },
    }));
}

export default {
  nav: [{ group: 'Authentication', label: 'Password policies', path: '/env/:envId/passwordPolicies', order: 20, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/passwordPolicies', render: list },
    { path: '/env/:envId/passwordPolicies/new', render: create },
    { path: '/env/:envId/passwordPolicies/:policyId', render: detail },
  ],
};
