// What the SAML application and SAML identity provider screens share: the
// environment's signing keys and certificates offered as the references
// the API checks (idpSigning / spSigning keys, spVerification /
// idpVerification certificates), and the form fields over them.
import * as api from './api.js';

// PingOne's NameID formats (a Subject's) and attribute NameFormats, as the
// API takes them.
export const NAMEID_FORMATS = [
  { value: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', label: 'Unspecified' },
  { value: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', label: 'Email address' },
  { value: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', label: 'Persistent' },
  { value: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', label: 'Transient' },
];
export const ATTR_NAME_FORMATS = [
  { value: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic', label: 'Basic' },
  { value: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri', label: 'URI' },
  { value: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified', label: 'Unspecified' },
];
export const BINDINGS = [{ value: 'HTTP_POST', label: 'HTTP POST' }, { value: 'HTTP_REDIRECT', label: 'HTTP Redirect' }];
// Signature algorithms the API takes: any SHA-2 one for an RSA key, the
// curve's own for an EC key. None chosen: the key's own.
const SIG_ALGS = ['SHA256withRSA', 'SHA384withRSA', 'SHA512withRSA', 'SHA256withECDSA', 'SHA384withECDSA', 'SHA512withECDSA'];

// refs reads the environment's SIGNING keys and certificates.
export async function refs(envId) {
  const [keys, certs] = await Promise.all([
    api.all('/environments/' + envId + '/keys', null, 'keys').catch(() => []),
    api.all('/environments/' + envId + '/certificates', null, 'certificates').catch(() => []),
  ]);
  return { keys: keys.filter((k) => k.usageType === 'SIGNING'), certs: certs.filter((c) => c.usageType === 'SIGNING') };
}

// CERTS is the form's name for the certificate ids: a checkboxes field
// holds strings, the API a list of {id}.
export const CERTS = '_certificateIds';

// signingFields are a key select and its algorithm, at prefix (idpSigning,
// spSigning). The record's key and algorithm are always offered, so a save
// sends them back as they were. required: no "none" choice (an existing
// application always has a key).
export function signingFields(prefix, r, current, { required, emptyLabel, label = 'Signing key' }) {
  const cur = current && current.key ? current.key.id : '';
  const keys = r.keys.map((k) => ({ value: k.id, label: k.name + ' (' + k.algorithm + ' ' + k.keyLength + (k.default ? ', default' : '') + ')' }));
  if (cur && !keys.some((k) => k.value === cur)) keys.push({ value: cur, label: cur });
  const algs = [...SIG_ALGS];
  if (current && current.algorithm && !algs.includes(current.algorithm)) algs.push(current.algorithm);
  return [
    { name: prefix + '.key.id', label, type: 'select', required, emptyLabel, options: keys, apiTargets: [prefix, prefix + '.key'] },
    { name: prefix + '.algorithm', label: 'Signature algorithm', type: 'select', emptyLabel: 'The key\'s own', options: algs },
  ];
}

// certificateField is a checkbox per certificate, at target (the API's
// name of the list).
export function certificateField(r, ids, { label, target, required, help }) {
  const opts = r.certs.map((c) => ({ value: c.id, label: c.name + ' (expires ' + new Date(c.expiresAt).toLocaleDateString() + ')' }));
  for (const id of ids) if (!opts.some((o) => o.value === id)) opts.push({ value: id, label: id });
  return { name: CERTS, label, type: 'checkboxes', required, options: opts, apiTargets: [target, target.split('.')[0]],
    help: opts.length ? help : 'No certificate yet: upload one under Certificates first.' };
}

export const certIds = (list) => (list || []).map((c) => c.id);

// signing turns the form's signing fields at prefix into the API's
// member: none without a key, the key's own algorithm when none is chosen.
export function signing(data, prefix) {
  const s = data[prefix];
  if (!s || !s.key || !s.key.id) delete data[prefix];
  else if (!s.algorithm) delete s.algorithm;
}

// resetAlgorithmOnKeyChange: another key may not take the algorithm
// chosen for the last one (RSA and EC), so it goes back to the key's own.
export function resetAlgorithmOnKeyChange(form, prefix) {
  const f = (n) => form.fields.find((x) => x.spec.name === n);
  const key = f(prefix + '.key.id');
  const alg = f(prefix + '.algorithm');
  if (key && alg) key.input.addEventListener('change', () => alg.write(''));
}
