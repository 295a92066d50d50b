// Signing keys (…/keys): key pairs with self-signed certificates. The
// default SIGNING key signs the environment's tokens; making another key
// the default rotates. The API never gives a private key: what is shown is
// the certificate's description, and the certificate itself on request.
import * as api from '../api.js';
import * as auth from '../auth.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice, download } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const base = (envId) => '/environments/' + envId + '/keys';
const href = (envId, rest) => '#/env/' + envId + '/keys' + (rest ? '/' + rest : '');

const LENGTHS = { RSA: [2048, 3072, 4096], EC: [256, 384, 521] };
const EC_SIG = { 256: 'SHA256withECDSA', 384: 'SHA384withECDSA', 521: 'SHA512withECDSA' };

async function list(ctx) {
  const writable = canEnv(P.writeConfig, ctx.envId);
  page('Signing keys', { toolbar: writable ? [linkButton('New key', href(ctx.envId, 'new'), 'primary')] : [] },
    h('p', { class: 'muted' }, 'The default signing key signs tokens; every valid signing key is published in the JWKS, so tokens signed before a rotation stay valid.'),
    listView({
      path: base(ctx.envId), name: 'keys', caption: 'Keys',
      columns: [
        { label: 'Name', value: (k) => k.name },
        { label: 'Usage', value: (k) => k.usageType },
        { label: 'Default', value: (k) => (k.default ? 'Default' : '') },
        { label: 'Algorithm', value: (k) => k.algorithm + ' ' + k.keyLength },
        { label: 'Status', value: (k) => k.status },
        { label: 'Expires', value: (k) => fmtDate(k.expiresAt) },
      ],
      rowLink: (k) => href(ctx.envId, k.id),
      empty: 'No key.',
    }));
}

async function create(ctx) {
  const env = ctx.env || {};
  const form = formView({
    key: 'key-new',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'usageType', label: 'Usage', type: 'select', required: true, options: [{ value: 'SIGNING', label: 'Signing (SIGNING)' }, { value: 'ENCRYPTION', label: 'Encryption (ENCRYPTION)' }] },
      { name: 'algorithm', label: 'Algorithm', type: 'select', required: true, options: ['RSA', 'EC'] },
      { name: 'keyLength', label: 'Key length', type: 'select', required: true, options: [...LENGTHS.RSA.map((n) => ({ value: String(n), label: n + ' (RSA)' })), ...LENGTHS.EC.map((n) => ({ value: String(n), label: 'P-' + n + ' (EC)' }))] },
      { name: 'signatureAlgorithm', label: 'Signature algorithm', type: 'select', required: true,
        options: ['SHA256withRSA', 'SHA384withRSA', 'SHA512withRSA', 'SHA256withECDSA', 'SHA384withECDSA', 'SHA512withECDSA'],
        help: 'An EC key signs with its curve\'s hash: P-256 SHA256withECDSA, P-384 SHA384withECDSA, P-521 SHA512withECDSA.' },
      { name: 'subjectDN', label: 'Subject DN', required: true, help: 'E.g. CN=Gatehouse, O=Example, C=US' },
      { name: 'validityPeriod', label: 'Valid for (days)', type: 'number', required: true },
      { name: 'default', label: 'Make it the default of its usage (rotate now)', type: 'checkbox' },
    ],
    value: { usageType: 'SIGNING', algorithm: 'RSA', keyLength: '2048', signatureAlgorithm: 'SHA256withRSA', validityPeriod: 365,
      subjectDN: 'CN=' + (env.name || 'Gatehouse').replace(/[,=+<>#;"\\]/g, ' ').trim() },
    submitLabel: 'Create key',
    onSubmit: async (data) => {
      data.keyLength = data.keyLength === undefined ? undefined : Number(data.keyLength);
      const k = await api.post(base(ctx.envId), data);
      toast('Key ' + k.name + ' created.');
      ctx.go(href(ctx.envId, k.id));
    },
    onCancel: () => ctx.go(href(ctx.envId)),
  });
  // The signature algorithm follows an EC curve: it has only one.
  const byName = (n) => form.fields.find((f) => f.spec.name === n);
  const sync = () => {
    const alg = byName('algorithm').read();
    const len = byName('keyLength');
    if (alg && !LENGTHS[alg].includes(Number(len.read()))) len.write(String(LENGTHS[alg][0]));
    if (alg === 'EC') byName('signatureAlgorithm').write(EC_SIG[Number(len.read())]);
    else if (!/RSA$/.test(byName('signatureAlgorithm').read() || '')) byName('signatureAlgorithm').write('SHA256withRSA');
  };
  byName('algorithm').input.addEventListener('change', sync);
  byName('keyLength').input.addEventListener('change', sync);
  page('New key', { crumbs: [['Signing keys', href(ctx.envId)], ['New']] }, form);
}

async function detail(ctx) {
  const at = location.hash;
  const path = base(ctx.envId) + '/' + ctx.params.keyId;
  const k = await api.get(path);
  const writable = canEnv(P.writeConfig, ctx.envId);
  const notices = h('div');
  const pem = h('div');
  const toolbar = [];
  if (writable) {
    if (!k.default) {
      toolbar.push(button(k.usageType === 'SIGNING' ? 'Make default (rotate)' : 'Make default', async () => {
        try {
          await api.put(path, { usageType: k.usageType, default: true });
          toast(k.name + ' is now the default ' + k.usageType.toLowerCase() + ' key.');
          detail(ctx);
        } catch (err) { notices.replaceChildren(errorNotice(err)); }
      }));
    }
    toolbar.push(button('Delete key', async () => {
      if (!(await confirmAction('Delete the key "' + k.name + '"? Tokens it signed stop being valid.'))) return;
      try {
        await api.del(path);
        toast('Key deleted.');
        ctx.go(href(ctx.envId));
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }, { kind: 'danger' }));
  }
  const show = button('Show certificate (PEM)', async () => {
    // The certificate is public (it is in the JWKS too); it comes from
    // the same API resource, asked for as application/x-x509-ca-cert.
    try {
      const res = await fetch(api.url(path), { headers: { Authorization: 'Bearer ' + auth.accessToken(), Accept: 'application/x-x509-ca-cert' } });
      if (!res.ok) throw new api.ApiError(res.status, await res.json().catch(() => null));
      pem.replaceChildren(h('pre', { class: 'pem', tabindex: '0', 'aria-label': 'Certificate (PEM)' }, await res.text()));
    } catch (err) { pem.replaceChildren(errorNotice(err)); }
  });
  // The same certificate as a .pem file, for a partner: a SAML service
  // provider verifies what this key signs with it.
  const save = button('Download certificate (PEM)', async () => {
    try {
      download(k.name.replace(/[^A-Za-z0-9._-]+/g, '_') + '.pem', await api.text(path, 'application/x-x509-ca-cert'), 'application/x-x509-ca-cert');
    } catch (err) { pem.replaceChildren(errorNotice(err)); }
  });
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(k.name, { toolbar, crumbs: [['Signing keys', href(ctx.envId)], [k.name]] },
    notices,
    kv([
      ['Id (kid)', h('code', null, k.id)], ['Usage', k.usageType], ['Default', k.default ? 'Yes' : 'No'], ['Status', k.status],
      ['Algorithm', k.algorithm], ['Key length', String(k.keyLength)], ['Signature algorithm', k.signatureAlgorithm],
      ['Subject DN', k.subjectDN], ['Issuer DN', k.issuerDN], ['Serial number', String(k.serialNumber)],
      ['Valid from', fmtDate(k.startsAt)], ['Expires', fmtDate(k.expiresAt)], ['Validity (days)', String(k.validityPeriod)],
      ['Created', fmtDate(k.createdAt)],
    ]),
    h('p', { class: 'muted' }, 'The private key never leaves the server.'),
    h('div', { class: 'actions' }, show, save), pem);
}

export default {
  nav: [{ group: 'Authentication', label: 'Signing keys', path: '/env/:envId/keys', order: 40, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/keys', render: list },
    { path: '/env/:envId/keys/new', render: create },
    { path: '/env/:envId/keys/:keyId', render: detail },
  ],
};
