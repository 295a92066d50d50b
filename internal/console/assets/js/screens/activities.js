// Audit activities (…/activities): newest first, in a time range (the API
// requires one on recordedAt), narrowed by eq filters, paged through
// _links.next; each activity's detail.
import * as api from '../api.js';
import { h, page, listView, button, kv, fmtDate, uid } from '../ui.js';
import { canEnv, P } from '../perm.js';

const href = (envId, rest) => '#/env/' + envId + '/activities' + (rest ? '/' + rest : '');

const RANGES = [
  { value: '3600', label: 'Last hour' },
  { value: '86400', label: 'Last day' },
  { value: '604800', label: 'Last 7 days' },
];

const ACTION_TYPES = ['USER.CREATED', 'USER.UPDATED', 'USER.DELETED', 'USER.ACCESS_ALLOWED', 'USER.ACCESS_DENIED', 'USER.LOCKED', 'USER.UNLOCKED',
  'PASSWORD.CHECK_SUCCEEDED', 'PASSWORD.CHECK_FAILED', 'PASSWORD.SET', 'PASSWORD.RESET', 'PASSWORD.RECOVERY',
  'SESSION.CREATED', 'SESSION.DELETED', 'ACCESS_TOKEN.CREATED', 'TOKEN.REVOKED', 'OTP.CHECK_SUCCESS', 'OTP.CHECK_FAILED',
  'APPLICATION.CREATED', 'APPLICATION.UPDATED', 'APPLICATION.DELETED', 'SECRET.UPDATED', 'ENVIRONMENT.CREATED', 'ENVIRONMENT.UPDATED',
  'POPULATION.CREATED', 'GROUP.CREATED', 'POLICY.CREATED', 'POLICY.UPDATED', 'POLICY.DELETED', 'ACTION.CREATED', 'ACTION.UPDATED',
  'ACTION.DELETED', 'THEME.UPDATED', 'BRANDING.UPDATED', 'KEY.CREATED', 'KEY.UPDATED', 'KEY.DELETED', 'ROLE_ASSIGNMENT.CREATED',
  'ROLE_ASSIGNMENT.DELETED', 'DEVICE.CREATED', 'DEVICE.DELETED'];

// A SCIM string literal is a JSON string.
const lit = (s) => JSON.stringify(s);

function filterOf(v) {
  const since = new Date(Date.now() - Number(v.range) * 1000).toISOString();
  const parts = ['recordedAt gt ' + lit(since)];
  if (v.action) parts.push('action.type eq ' + lit(v.action));
  if (v.status) parts.push('result.status eq ' + lit(v.status));
  if (v.user) parts.push('actors.user.id eq ' + lit(v.user));
  return parts.join(' and ');
}

function actorOf(a) {
  const act = a.actors || {};
  if (act.user) return (act.user.name || act.user.id) + (act.client ? ' via ' + (act.client.name || act.client.id) : '');
  if (act.client) return act.client.name || act.client.id;
  return '';
}

async function list(ctx) {
  const ids = { range: uid('f'), action: uid('f'), status: uid('f'), user: uid('f'), types: uid('dl') };
  const range = h('select', { id: ids.range }, RANGES.map((r) => h('option', { value: r.value }, r.label)));
  range.value = '86400';
  const action = h('input', { id: ids.action, list: ids.types, spellcheck: 'false', autocomplete: 'off', placeholder: 'USER.CREATED' });
  const status = h('select', { id: ids.status }, h('option', { value: '' }, 'Any'), h('option', { value: 'SUCCESS' }, 'Success'), h('option', { value: 'FAILED' }, 'Failed'));
  const user = h('input', { id: ids.user, spellcheck: 'false', autocomplete: 'off', placeholder: 'user id' });
  const results = h('div');
  const field = (id, label, input) => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  const search = () => {
    const filter = filterOf({ range: range.value, action: action.value.trim(), status: status.value, user: user.value.trim() });
    results.replaceChildren(listView({
      path: '/environments/' + ctx.envId + '/activities', params: { filter }, name: 'activities', caption: 'Audit activities',
      columns: [
        { label: 'Time', value: (a) => fmtDate(a.recordedAt) },
        { label: 'Action', value: (a) => (a.action && a.action.type) || '' },
        { label: 'Result', value: (a) => (a.result && a.result.status) || '' },
        { label: 'Actor', value: actorOf },
        { label: 'Resources', value: (a) => (a.resources || []).map((r) => r.type + ' ' + (r.name || r.id)).join(', ') },
      ],
      rowLink: (a) => href(ctx.envId, a.id),
      empty: 'No activity in this range matches.',
    }));
  };
  const form = h('form', { class: 'activity-filter', role: 'search', 'aria-label': 'Filter activities', on: { submit: (e) => { e.preventDefault(); search(); } } },
    field(ids.range, 'Time range', range),
    field(ids.action, 'Action type', action),
    h('datalist', { id: ids.types }, ACTION_TYPES.map((t) => h('option', { value: t }))),
    field(ids.status, 'Result', status),
    field(ids.user, 'User id', user),
    h('div', { class: 'actions' }, button('Show activities', null, { type: 'submit', kind: 'primary' })));
  page('Audit activities', {}, form, results);
  search();
}

async function detail(ctx) {
  const at = location.hash;
  const a = await api.get('/environments/' + ctx.envId + '/activities/' + ctx.params.activityId);
  const actors = a.actors || {};
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page((a.action && a.action.type) || 'Activity', { crumbs: [['Audit activities', href(ctx.envId)], [a.id]] },
    kv([
      ['Id', h('code', null, a.id)], ['Recorded', fmtDate(a.recordedAt)],
      ['Action', (a.action && a.action.type) || ''], ['Description', (a.action && a.action.description) || ''],
      ['Result', a.result ? a.result.status + (a.result.description ? ': ' + a.result.description : '') : ''],
      ['User', actors.user ? (actors.user.name || '') + ' (' + actors.user.id + ')' : ''],
      ['Client', actors.client ? (actors.client.name || '') + ' (' + actors.client.id + ')' : ''],
      ['Correlation id', a.correlationId ? h('code', null, a.correlationId) : ''],
      ['Tags', (a.tags || []).join(', ')],
    ]),
    h('h2', null, 'Resources'),
    (a.resources || []).length ? h('ul', null, a.resources.map((r) => h('li', null, r.type + ': ' + (r.name || '') + ' ', h('code', null, r.id)))) : h('p', { class: 'muted' }, 'None.'),
    h('h2', null, 'As the API returns it'),
    h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Activity JSON' }, JSON.stringify(a, null, 2)));
}

export default {
  nav: [{ group: 'Monitoring', label: 'Audit activities', path: '/env/:envId/activities', order: 10, show: (envId) => canEnv(P.readActivity, envId) }],
  routes: [
    { path: '/env/:envId/activities', render: list },
    { path: '/env/:envId/activities/:activityId', render: detail },
  ],
};
