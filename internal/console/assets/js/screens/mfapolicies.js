// MFA: the environment's device authentication policies
// (…/deviceAuthenticationPolicies: which methods a user may pair and use)
// and its MFA settings (…/mfaSettings: pairing limits, lockout).
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const base = (envId) => '/environments/' + envId + '/deviceAuthenticationPolicies';
const href = (envId, rest) => '#/env/' + envId + '/mfaPolicies' + (rest ? '/' + rest : '');
const UNITS = ['MINUTES', 'SECONDS'];

async function list(ctx) {
  const writable = canEnv(P.writeConfig, ctx.envId);
  const settingsBox = h('section', { 'aria-labelledby': 'mfa-settings-title' }, h('h2', { id: 'mfa-settings-title' }, 'MFA settings'), h('p', { class: 'muted' }, 'Loading…'));
  page('MFA policies', { toolbar: writable ? [linkButton('New MFA policy', href(ctx.envId, 'new'), 'primary')] : [] },
    h('p', { class: 'muted' }, 'An MFA policy says which methods users may pair and sign on with. A sign-on policy\'s MFA action names one; without, the default applies.'),
    listView({
      path: base(ctx.envId), name: 'deviceAuthenticationPolicies', caption: 'MFA policies',
      columns: [
        { label: 'Name', value: (p) => p.name },
        { label: 'Default', value: (p) => (p.default ? 'Default' : '') },
        { label: 'Methods', value: (p) => methods(p) },
        { label: 'Updated', value: (p) => fmtDate(p.updatedAt) },
      ],
      rowLink: (p) => href(ctx.envId, p.id),
      empty: 'No MFA policy yet.',
    }),
    settingsBox);
  settings(ctx, settingsBox, writable);
}

function methods(p) {
  return [['sms', 'SMS'], ['voice', 'Voice'], ['email', 'Email'], ['totp', 'Authenticator app'], ['fido2', 'FIDO2']]
    .filter(([k]) => p[k] && p[k].enabled).map(([, l]) => l).join(', ');
}

async function settings(ctx, box, writable) {
  const path = '/environments/' + ctx.envId + '/mfaSettings';
  let s;
  try {
    s = await api.get(path);
  } catch (err) {
    box.replaceChildren(h('h2', { id: 'mfa-settings-title' }, 'MFA settings'), errorNotice(err));
    return;
  }
  box.replaceChildren(
    h('h2', { id: 'mfa-settings-title' }, 'MFA settings'),
    formView({
      key: 'mfa-settings', readOnly: !writable, value: s,
      fields: [
        { name: 'pairing.maxAllowedDevices', label: 'Devices a user may pair', type: 'number', help: '1 to 15.' },
        { name: 'pairing.pairingKeyFormat', label: 'Pairing key format', type: 'select', required: true, options: ['NUMERIC', 'ALPHANUMERIC'] },
        { name: 'authentication.deviceSelection', label: 'Device selection', type: 'select', required: true, options: [
          { value: 'DEFAULT_TO_FIRST', label: 'Use the first device (DEFAULT_TO_FIRST)' }, { value: 'PROMPT_TO_SELECT', label: 'Ask the user (PROMPT_TO_SELECT)' }] },
        { name: 'lockout.failureCount', label: 'Failed attempts before MFA lockout', type: 'number', help: 'Leave empty for no lockout.' },
        { name: 'lockout.durationSeconds', label: 'MFA lockout duration (seconds)', type: 'number' },
        { name: 'phoneExtensions.enabled', label: 'Allow phone numbers with extensions', type: 'checkbox' },
        { name: 'users.mfaEnabled', label: 'MFA enabled for new users', type: 'checkbox' },
      ],
      submitLabel: 'Save MFA settings',
      onSubmit: async (data) => {
        if (data.lockout && data.lockout.failureCount === undefined && data.lockout.durationSeconds === undefined) delete data.lockout;
        await api.put(path, data);
        toast('MFA settings saved.');
        settings(ctx, box, writable);
      },
    }));
}

// A method's fields: sms, voice and email share one shape.
function offline(key, label) {
  return [
    { name: key + '.enabled', label: label + ': enabled', type: 'checkbox' },
    { name: key + '.pairingDisabled', label: label + ': no new pairing', type: 'checkbox' },
    { name: key + '.otp.otpLength', label: label + ': passcode length', type: 'number', help: '6 to 10 digits.' },
    { name: key + '.otp.lifeTime.duration', label: label + ': passcode lifetime', type: 'number' },
    { name: key + '.otp.lifeTime.timeUnit', label: label + ': lifetime unit', type: 'select', required: true, options: UNITS },
    { name: key + '.otp.failure.count', label: label + ': failed passcodes before cool-down', type: 'number', help: '1 to 7.' },
    { name: key + '.otp.failure.coolDown.duration', label: label + ': cool-down', type: 'number' },
    { name: key + '.otp.failure.coolDown.timeUnit', label: label + ': cool-down unit', type: 'select', required: true, options: UNITS },
  ];
}

const fields = [
  { name: 'name', label: 'Name', required: true },
  { name: 'authentication.deviceSelection', label: 'Device selection', type: 'select', required: true, options: [
    { value: 'DEFAULT_TO_FIRST', label: 'Use the first device (DEFAULT_TO_FIRST)' }, { value: 'PROMPT_TO_SELECT', label: 'Ask the user (PROMPT_TO_SELECT)' },
    { value: 'ALWAYS_DISPLAY_DEVICES', label: 'Always list the devices (ALWAYS_DISPLAY_DEVICES)' }] },
  { name: 'newDeviceNotification', label: 'Tell the user of a new device', type: 'select', required: true, options: ['NONE', 'EMAIL_THEN_SMS', 'SMS_THEN_EMAIL'] },
  { name: 'ignoreUserLock', label: 'Allow MFA for a locked user', type: 'checkbox' },
  ...offline('sms', 'SMS'),
  ...offline('voice', 'Voice'),
  ...offline('email', 'Email'),
  { name: 'totp.enabled', label: 'Authenticator app: enabled', type: 'checkbox' },
  { name: 'totp.pairingDisabled', label: 'Authenticator app: no new pairing', type: 'checkbox' },
  { name: 'totp.passcodeGracePeriod', label: 'Authenticator app: grace period (30-second steps)', type: 'number', help: '1 to 10.' },
  { name: 'totp.otp.failure.count', label: 'Authenticator app: failed passcodes before cool-down', type: 'number' },
  { name: 'totp.otp.failure.coolDown.duration', label: 'Authenticator app: cool-down', type: 'number' },
  { name: 'totp.otp.failure.coolDown.timeUnit', label: 'Authenticator app: cool-down unit', type: 'select', required: true, options: UNITS },
  { name: 'fido2.enabled', label: 'FIDO2 (passkeys and security keys): enabled', type: 'checkbox' },
  { name: 'fido2.pairingDisabled', label: 'FIDO2: no new pairing', type: 'checkbox' },
];

// A new policy starts as a copy of the default one: the API needs every
// method's settings, including those the form does not show (mobile…).
function template(policies) {
  const d = policies.find((p) => p.default) || policies[0];
  if (!d) {
    const otp = { enabled: false, otp: { lifeTime: { duration: 30, timeUnit: 'MINUTES' }, failure: { count: 3, coolDown: { duration: 0, timeUnit: 'MINUTES' } }, otpLength: 6 } };
    return { sms: otp, voice: structuredClone(otp), email: structuredClone(otp),
      totp: { enabled: true, otp: { failure: { count: 3, coolDown: { duration: 2, timeUnit: 'MINUTES' } } } }, mobile: { enabled: false },
      fido2: { enabled: false }, authentication: { deviceSelection: 'DEFAULT_TO_FIRST' }, newDeviceNotification: 'NONE' };
  }
  const v = structuredClone(d);
  for (const k of ['_links', 'id', 'environment', 'default', 'createdAt', 'updatedAt', 'forSignOnPolicy']) delete v[k];
  v.name = '';
  return v;
}

async function create(ctx) {
  const at = location.hash;
  const policies = await api.all(base(ctx.envId), null, 'deviceAuthenticationPolicies');
  const form = formView({
    key: 'mfa-new', fields, value: template(policies),
    submitLabel: 'Create MFA policy',
    onSubmit: async (data) => {
      const p = await api.post(base(ctx.envId), data);
      toast('MFA policy ' + p.name + ' created.');
      ctx.go(href(ctx.envId, p.id));
    },
    onCancel: () => ctx.go(href(ctx.envId)),
  });
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page('New MFA policy', { crumbs: [['MFA policies', href(ctx.envId)], ['New']] },
    h('p', { class: 'muted' }, 'Starts as a copy of the default policy.'), form);
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
        await api.put(path, { ...p, default: true });
        toast(p.name + ' is now the default MFA policy.');
        detail(ctx);
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }));
    toolbar.push(button('Delete policy', async () => {
      if (!(await confirmAction('Delete the MFA policy "' + p.name + '"?'))) return;
      try {
        await api.del(path);
        toast('MFA policy deleted.');
        ctx.go(href(ctx.envId));
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }, { kind: 'danger' }));
  }
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(p.name, { toolbar, crumbs: [['MFA policies', href(ctx.envId)], [p.name]] },
    notices,
    kv([['Id', h('code', null, p.id)], ['Default', p.default ? 'Yes' : 'No'], ['Methods', methods(p)], ['Updated', fmtDate(p.updatedAt)]]),
    formView({
      key: 'mfa-edit', readOnly: !writable, value: p, fields,
      onSubmit: async (data) => {
        delete data.default;
        await api.put(path, data);
        toast('Saved.');
        detail(ctx);
      },
    }));
}

export default {
  nav: [{ group: 'Authentication', label: 'MFA policies', path: '/env/:envId/mfaPolicies', order: 30, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/mfaPolicies', render: list },
    { path: '/env/:envId/mfaPolicies/new', render: create },
    { path: '/env/:envId/mfaPolicies/:policyId', render: detail },
  ],
};
