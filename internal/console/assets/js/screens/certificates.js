// Certificates (…/certificates): partners' public certificates, uploaded
// so that Gatehouse trusts what they sign — a SAML application's signed
// AuthnRequests (spVerification), a SAML identity provider's responses
// (idpVerification). An upload is the multipart body PingOne's SDK sends
// (a file in PEM, DER or PKCS#7, and its usageType); a certificate is never
// changed after, only read, downloaded and deleted. The API refuses to
// delete one that an application or provider still trusts, and says which.
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, fmtDate, errorNotice, download } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const base = (envId) => '/environments/' + envId + '/certificates';
const href = (envId, rest) => '#/env/' + envId + '/certificates' + (rest ? '/' + rest : '');
const USAGES = [{ value: 'SIGNING', label: 'Signing (SIGNING)' }, { value: 'ENCRYPTION', label: 'Encryption (ENCRYPTION)' }];

async function list(ctx) {
  const writable = canEnv(P.writeConfig, ctx.envId);
  page('Certificates', { toolbar: writable ? [linkButton('Upload certificate', href(ctx.envId, 'new'), 'primary')] : [] },
    h('p', { class: 'muted' }, 'Certificates of partners: SAML applications whose signed requests Gatehouse verifies, SAML identity providers whose responses it trusts.'),
    listView({
      path: base(ctx.envId), name: 'certificates', caption: 'Certificates',
      columns: [
        { label: 'Name', value: (c) => c.name },
        { label: 'Usage', value: (c) => c.usageType },
        { label: 'Subject DN', value: (c) => c.subjectDN },
        { label: 'Status', value: (c) => c.status },
        { label: 'Expires', value: (c) => fmtDate(c.expiresAt) },
      ],
      rowLink: (c) => href(ctx.envId, c.id),
      empty: 'No certificate yet.',
    }));
}

async function create(ctx) {
  const crumbs = [['Certificates', href(ctx.envId)], ['Upload']];
  if (!canEnv(P.writeConfig, ctx.envId)) {
    page('Upload a certificate', { crumbs }, h('p', null, 'You may not upload certificates in this environment.'));
    return;
  }
  page('Upload a certificate', { crumbs }, formView({
    key: 'certificate-new',
    fields: [
      { name: 'file', label: 'Certificate file', type: 'file', required: true, accept: '.pem,.crt,.cer,.der,.p7b,.p7c',
        help: 'One certificate (or its chain) in PEM, DER or PKCS#7. Never a private key.' },
      { name: 'usageType', label: 'Usage', type: 'select', required: true, options: USAGES },
    ],
    value: { usageType: 'SIGNING' },
    submitLabel: 'Upload certificate',
    onSubmit: async (data) => {
      const form = new FormData();
      form.append('usageType', data.usageType);
      form.append('file', data.file, data.file.name);
      const c = await api.upload(base(ctx.envId), form);
      toast('Certificate ' + c.name + ' uploaded.');
      ctx.go(href(ctx.envId, c.id));
    },
    onCancel: () => ctx.go(href(ctx.envId)),
  }));
}

async function detail(ctx) {
  const at = location.hash;
  const path = base(ctx.envId) + '/' + ctx.params.certId;
  // Read as text: the serial number is a JSON number of any size, which
  // JSON.parse would round.
  const raw = await api.text(path, 'application/json');
  const c = JSON.parse(raw);
  const serial = (raw.match(/"serialNumber"\s*:\s*(\d+)/) || [])[1] || String(c.serialNumber);
  const writable = canEnv(P.writeConfig, ctx.envId);
  const notices = h('div');
  const toolbar = [button('Download certificate (PEM)', async () => {
    try {
      download(c.name.replace(/[^A-Za-z0-9._-]+/g, '_') + '.pem', await api.text(path, 'application/x-x509-ca-cert'), 'application/x-x509-ca-cert');
    } catch (err) { notices.replaceChildren(errorNotice(err)); }
  })];
  if (writable) {
    toolbar.push(button('Delete certificate', async () => {
      if (!(await confirmAction('Delete the certificate "' + c.name + '"? What it signs is no longer trusted.'))) return;
      try {
        await api.del(path);
        toast('Certificate deleted.');
        ctx.go(href(ctx.envId));
      } catch (err) {
        // In use: the API names the applications and providers.
        const n = errorNotice(err);
        n.setAttribute('tabindex', '-1');
        notices.replaceChildren(n);
        n.focus();
      }
    }, { kind: 'danger' }));
  }
  if (location.hash !== at) return;
  page(c.name, { toolbar, crumbs: [['Certificates', href(ctx.envId)], [c.name]] },
    notices,
    kv([
      ['Id', h('code', null, c.id)], ['Usage', c.usageType], ['Status', c.status],
      ['Algorithm', c.algorithm], ['Key length', String(c.keyLength)], ['Signature algorithm', c.signatureAlgorithm],
      ['Subject DN', c.subjectDN], ['Issuer DN', c.issuerDN], ['Serial number', serial],
      ['Valid from', fmtDate(c.startsAt)], ['Expires', fmtDate(c.expiresAt)], ['Validity (days)', String(c.validityPeriod)],
      ['Uploaded', fmtDate(c.createdAt)],
    ]));
}

export default {
  nav: [{ group: 'Authentication', label: 'Certificates', path: '/env/:envId/certificates', order: 41, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/certificates', render: list },
    { path: '/env/:envId/certificates/new', render: create },
    { path: '/env/:envId/certificates/:certId', render: detail },
  ],
};
