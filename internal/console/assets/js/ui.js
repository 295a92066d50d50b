// Building blocks of every screen. No markup is parsed: every value reaches the
// page as text through the DOM, so nothing an API answer holds can run.
//
// Screens use: h, page, button, linkButton, formView, listView, tabs, kv,
// confirmAction, toast, errorNotice, fmtDate, field helpers. See
// screens/index.js for how a screen module is shaped.

import { ApiError } from './api.js';
import * as api from './api.js';

// h builds an element. props: class, text, on:{event: fn}, and any other
// attribute (aria-*, for, href, type…; true sets it empty, false/null skips).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fill replaces el's children; like h, it flattens arrays and skips
// null/false (replaceChildren would print them).
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
export function uid(prefix) { seq += 1; return (prefix || 'f') + '-' + seq; }

// page replaces the main area: a heading (focused, so a screen reader and
// the keyboard start at the new screen), an optional toolbar, the content.
export function page(title, { toolbar, crumbs } = {}, ...content) {
  const main = document.getElementById('main');
  main.replaceChildren();
  if (crumbs && crumbs.length) {
    main.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('ol', null, crumbs.map(([label, href]) => h('li', null, href ? h('a', { href }, label) : label)))));
  }
  const head = h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', id: 'page-title' }, title));
  if (toolbar && toolbar.length) head.append(h('div', { class: 'toolbar' }, toolbar));
  main.append(head);
  append(main, content);
  document.title = title + ' · Gatehouse console';
  document.getElementById('page-title').focus({ preventScroll: true });
  return main;
}

export function button(label, onClick, { kind = 'secondary', type = 'button', ...attrs } = {}) {
  return h('button', { type, class: 'btn btn-' + kind, on: onClick ? { click: onClick } : null, ...attrs }, label);
}

export function linkButton(label, href, kind = 'secondary') {
  return h('a', { class: 'btn btn-' + kind, href }, label);
}

export function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

export function errorNotice(err) {
  const box = h('div', { class: 'notice error', role: 'alert' });
  if (err instanceof ApiError) {
    box.append(h('p', null, h('strong', null, err.message)));
    if (err.details.length) {
      box.append(h('ul', null, err.details.map((d) => h('li', null, (d.target ? d.target + ': ' : '') + (d.message || d.code)))));
    }
  } else {
    box.append(h('p', null, String((err && err.message) || err)));
  }
  return box;
}

// download hands text to the browser as a file (a certificate's PEM):
// a Blob's object URL, revoked once the click has taken it.
export function download(filename, text, type = 'application/octet-stream') {
  const u = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: u, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 1000);
}

export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

// kv shows a record's fields as a description list; values may be nodes.
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v === '' || v == null ? '—' : v)]));
}

// confirmAction asks in a modal dialog (focus stays inside it, Escape
// cancels); resolves true when confirmed.
export function confirmAction(message, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-message' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.append(
      h('h2', { id: 'dlg-title' }, 'Are you sure?'),
      h('p', { id: 'dlg-message' }, message),
      h('div', { class: 'actions' },
        button('Cancel', () => done(false)),
        button(confirmLabel, () => done(true), { kind: 'danger' })),
    );
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    // A modal dialog lets Tab leave for the browser's own controls: Tab
    // and Shift+Tab go round its buttons instead.
    dlg.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const bs = [...dlg.querySelectorAll('button')];
      const i = bs.indexOf(document.activeElement);
      const j = e.shiftKey ? (i <= 0 ? bs.length - 1 : i - 1) : (i === bs.length - 1 ? 0 : i + 1);
      e.preventDefault();
      bs[j].focus();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// ---- forms

// Forms alive on this screen, so their values survive a sign-on that an
// expired token forces (see main.js): key → function returning values.
const liveForms = new Map();
let restoredDrafts = {};

export function resetForms() { liveForms.clear(); }
export function collectDrafts() {
  const out = {};
  for (const [key, get] of liveForms) out[key] = get();
  return out;
}
export function setRestoredDrafts(d) { restoredDrafts = d || {}; }

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}
function setPath(obj, path, v) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] == null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  if (v === undefined) delete o[keys[keys.length - 1]];
  else o[keys[keys.length - 1]] = v;
}

function options(spec) {
  return (spec.options || []).map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
}

// Field types: text (default), email, url, number, password, color,
// textarea, select, checkbox, checkboxes (several values of options),
// lines (an array, one per line), json (any JSON value), file (a File).
function buildField(spec, value, readOnly) {
  const id = uid('f');
  const errId = id + '-err';
  const helpId = spec.help ? id + '-help' : null;
  const described = [helpId, errId].filter(Boolean).join(' ');
  const ro = readOnly || spec.readOnly;
  const wrap = h('div', { class: 'field field-' + (spec.type || 'text'), 'data-name': spec.name });
  let input;
  let read;
  let write;
  const t = spec.type || 'text';
  if (t === 'checkbox') {
    input = h('input', { type: 'checkbox', id, name: spec.name, 'aria-describedby': described, disabled: ro });
    read = () => input.checked;
    write = (v) => { input.checked = !!v; };
    wrap.append(h('div', { class: 'check' }, input, h('label', { for: id }, spec.label)));
  } else if (t === 'checkboxes') {
    const boxes = options(spec).map((o) => {
      const bid = uid('c');
      const cb = h('input', { type: 'checkbox', id: bid, value: o.value, disabled: ro });
      return { cb, node: h('div', { class: 'check' }, cb, h('label', { for: bid }, o.label)) };
    });
    input = boxes[0] ? boxes[0].cb : null;
    read = () => boxes.filter((b) => b.cb.checked).map((b) => b.cb.value);
    write = (v) => { for (const b of boxes) b.cb.checked = Array.isArray(v) && v.includes(b.cb.value); };
    wrap.append(h('fieldset', { 'aria-describedby': described }, h('legend', null, spec.label), boxes.map((b) => b.node)));
  } else if (t === 'file') {
    // A file to upload (a certificate): read as the File itself, never
    // written (a browser takes no value into a file input), never kept as
    // a draft.
    input = h('input', { type: 'file', id, name: spec.name, accept: spec.accept || null, 'aria-describedby': described, disabled: ro });
    if (spec.required) input.setAttribute('aria-required', 'true');
    read = () => (input.files && input.files[0]) || undefined;
    write = () => {};
    wrap.append(h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input);
  } else {
    if (t === 'textarea' || t === 'lines' || t === 'json') {
      input = h('textarea', { id, name: spec.name, rows: spec.rows || (t === 'json' ? 8 : 3), spellcheck: 'false' });
    } else if (t === 'select') {
      input = h('select', { id, name: spec.name },
        spec.required ? null : h('option', { value: '' }, spec.emptyLabel || '—'),
        options(spec).map((o) => h('option', { value: o.value }, o.label)));
    } else {
      input = h('input', { id, name: spec.name, type: t, autocomplete: spec.autocomplete || (t === 'password' ? 'new-password' : 'off') });
      if (t === 'number') { input.setAttribute('inputmode', 'numeric'); }
    }
    if (spec.placeholder) input.setAttribute('placeholder', spec.placeholder);
    if (spec.required) input.setAttribute('aria-required', 'true');
    input.setAttribute('aria-describedby', described);
    if (ro) { input.setAttribute(t === 'select' ? 'disabled' : 'readonly', ''); }
    read = () => {
      const s = input.value;
      if (t === 'number') return s.trim() === '' ? undefined : Number(s);
      if (t === 'lines') return s.split('\n').map((x) => x.trim()).filter(Boolean);
      if (t === 'json') {
        if (s.trim() === '') return undefined;
        try { return JSON.parse(s); } catch { throw new FieldError(spec.name, 'Not valid JSON.'); }
      }
      return s === '' ? undefined : s;
    };
    write = (v) => {
      if (t === 'lines') input.value = Array.isArray(v) ? v.join('\n') : '';
      else if (t === 'json') input.value = v === undefined ? '' : JSON.stringify(v, null, 2);
      else input.value = v == null ? '' : String(v);
    };
    wrap.append(h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input);
  }
  if (spec.help) wrap.append(h('p', { class: 'help', id: helpId }, spec.help));
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  wrap.append(err);
  write(value);
  return {
    spec, wrap, input, read, write,
    setError(msg) {
      err.textContent = msg || '';
      err.hidden = !msg;
      wrap.classList.toggle('invalid', !!msg);
      if (input) input.toggleAttribute('aria-invalid', !!msg);
    },
  };
}

class FieldError extends Error {
  constructor(name, message) { super(message); this.target = name; }
}

// targetOf says which field an API detail's target names: the field
// itself, one of its members (name.given for name), or its array element.
function matchField(fields, target) {
  if (!target) return null;
  const t = target.replace(/\[\d+\]/g, '');
  return fields.find((f) => f.spec.name === target || f.spec.name === t)
    || fields.find((f) => t.startsWith(f.spec.name + '.') || f.spec.name.startsWith(t + '.'))
    || fields.find((f) => f.spec.apiTargets && f.spec.apiTargets.includes(t));
}

// formView builds a form over a record. value is the record as the API
// returned it: what the form does not show is sent back as it was (a PUT
// of what a GET returned changes nothing). onSubmit(data) writes through
// the API; an ApiError's details are shown at the fields they name, and
// the rest above the form. key names the form for drafts.
export function formView({ key, fields, value = {}, submitLabel = 'Save', onSubmit, readOnly = false, extra = [], onCancel, describe }) {
  const draftKey = location.hash + '|' + (key || 'form');
  const draft = restoredDrafts[draftKey];
  const start = structuredClone(value || {});
  const built = fields.filter(Boolean).map((spec) => buildField(spec, getPath(draft || start, spec.name), readOnly));
  const summary = h('div', { class: 'form-summary', tabindex: '-1' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-describedby': describe || null });
  form.append(summary);
  if (draft) {
    delete restoredDrafts[draftKey];
    summary.append(h('div', { class: 'notice', role: 'status' }, 'Your session had expired: you signed on again and what you entered is back. Review it and save.'));
  }
  for (const f of built) form.append(f.wrap);
  const collect = () => {
    const data = structuredClone(start);
    for (const f of built) {
      if (f.spec.readOnly) continue;
      setPath(data, f.spec.name, f.read());
    }
    return data;
  };
  liveForms.set(draftKey, () => {
    const d = {};
    for (const f of built) {
      if (f.spec.type === 'password' || f.spec.type === 'file') continue; // never kept, even for the session
      try { setPath(d, f.spec.name, f.read()); } catch { /* invalid JSON is dropped */ }
    }
    return d;
  });
  const submit = readOnly ? null : button(submitLabel, null, { kind: 'primary', type: 'submit' });
  form.append(h('div', { class: 'actions' }, submit, extra, onCancel ? button('Cancel', onCancel) : null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (readOnly) return;
    summary.replaceChildren();
    for (const f of built) f.setError('');
    let data;
    try {
      data = collect();
    } catch (err) {
      const f = matchField(built, err.target);
      if (f) { f.setError(err.message); f.input && f.input.focus(); }
      return;
    }
    const missing = built.filter((f) => f.spec.required && !f.spec.readOnly && (() => {
      const v = getPath(data, f.spec.name);
      return v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
    })());
    if (missing.length) {
      for (const f of missing) f.setError(f.spec.label + ' is required.');
      // The summary names them all (the focus reads only the first).
      summary.replaceChildren(h('div', { class: 'notice error', role: 'alert' },
        h('p', null, h('strong', null, 'Fill in the required fields:')),
        h('ul', null, missing.map((f) => h('li', null, f.spec.label)))));
      missing[0].input && missing[0].input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(data, form);
    } catch (err) {
      showFormError(err, built, summary);
    } finally {
      submit.disabled = false;
    }
  });
  form.fields = built;
  return form;
}

function showFormError(err, built, summary) {
  const unplaced = [];
  if (err instanceof ApiError && err.details.length) {
    let first = null;
    for (const d of err.details) {
      const f = matchField(built, d.target);
      if (f) { f.setError(d.message || d.code); first = first || f; }
      else unplaced.push(d);
    }
    summary.replaceChildren(errorNotice(new ApiError(err.status, { ...err.body, details: unplaced })));
    if (first && first.input) { first.input.focus(); return; }
  } else {
    summary.replaceChildren(errorNotice(err));
  }
  summary.focus();
}

// ---- lists

// listView shows a collection a page at a time, following the API's
// _links.next (and going back through the pages seen). columns:
// [{label, value: item → text|node}]; rowLink: item → hash route of the
// item (its first column becomes the link). filter: a SCIM filter box.
export function listView({ path, params = {}, name, columns, rowLink, filter, empty = 'Nothing here yet.', caption, limit = 25 }) {
  const box = h('section', { class: 'list', 'aria-label': caption || 'List' });
  const status = h('p', { class: 'muted', role: 'status' });
  const tableWrap = h('div', { class: 'table-wrap' });
  // A pager button hidden by the page it loaded (Next on the last page)
  // would drop the keyboard's focus to the body: it moves to the other.
  const keepFocus = (from, to) => { if (document.activeElement === from && from.hidden && !to.hidden) to.focus(); };
  const prev = button('Previous page', async () => { if (stack.length > 1) { stack.pop(); await load(stack[stack.length - 1]); keepFocus(prev, next); } });
  const next = button('Next page', async () => { if (nextURL) { stack.push(nextURL); await load(nextURL); keepFocus(next, prev); } });
  let stack = [];
  let nextURL = '';
  let filterValue = '';
  let filterInput;
  if (filter) {
    const fid = uid('filter');
    filterInput = h('input', { id: fid, type: 'search', placeholder: filter.placeholder || 'SCIM filter, e.g. username sw "a"', spellcheck: 'false' });
    const ferr = h('p', { class: 'field-error', hidden: true, id: fid + '-err' });
    filterInput.setAttribute('aria-describedby', fid + '-err');
    const fform = h('form', { class: 'filter', role: 'search', on: { submit: (e) => { e.preventDefault(); filterValue = filterInput.value.trim(); stack = []; first(); } } },
      h('label', { for: fid }, filter.label || 'Filter'), filterInput, button('Search', null, { type: 'submit' }), ferr);
    box.append(fform);
    box.filterError = ferr;
  }
  box.append(status, tableWrap, h('div', { class: 'pager' }, prev, next));
  async function first() {
    const p = { limit, ...params };
    if (filterValue) p.filter = filterValue;
    const u = api.url(path, p);
    stack = [u];
    await load(u);
  }
  async function load(u) {
    status.textContent = 'Loading…';
    if (box.filterError) { box.filterError.hidden = true; filterInput.removeAttribute('aria-invalid'); }
    let res;
    try {
      res = await api.list(u, null, name);
    } catch (err) {
      status.textContent = '';
      if (filterValue && err instanceof ApiError && err.status === 400 && box.filterError) {
        box.filterError.textContent = err.details.map((d) => d.message).join(' ') || err.message;
        box.filterError.hidden = false;
        filterInput.setAttribute('aria-invalid', 'true');
        filterInput.focus();
        tableWrap.replaceChildren();
        return;
      }
      tableWrap.replaceChildren(errorNotice(err));
      return;
    }
    nextURL = res.next;
    prev.hidden = stack.length <= 1;
    next.hidden = !nextURL;
    status.textContent = res.items.length ? ('Page ' + stack.length + (res.count ? ' · ' + res.count + ' in all' : '')) : '';
    if (!res.items.length) { tableWrap.replaceChildren(h('p', { class: 'empty' }, empty)); return; }
    tableWrap.replaceChildren(h('table', null,
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', null, res.items.map((it) => h('tr', null, columns.map((c, i) => {
        let v = c.value(it);
        if (i === 0 && rowLink) v = h('a', { href: rowLink(it) }, v === '' || v == null ? '(unnamed)' : v);
        return h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : null, v);
      }))))));
  }
  box.reload = first;
  first();
  return box;
}

// ---- tabs

// tabs: [{label, render: () => node | Promise<node>}]; the WAI-ARIA tabs
// pattern (arrow keys move between tabs, Tab goes into the panel).
export function tabs(items, selected = 0) {
  const list = h('div', { class: 'tabs', role: 'tablist' });
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', tabindex: '0' });
  const btns = items.map((it, i) => {
    const id = uid('tab');
    return h('button', {
      type: 'button', role: 'tab', id, 'aria-selected': 'false', tabindex: '-1',
      on: {
        click: () => select(i),
        keydown: (e) => {
          const n = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
          if (n) { e.preventDefault(); const j = (i + n + items.length) % items.length; select(j); btns[j].focus(); }
        },
      },
    }, it.label);
  });
  list.append(...btns);
  let shown = 0;
  async function select(i) {
    // A slow tab must not draw over the one chosen after it.
    const mine = ++shown;
    btns.forEach((b, j) => { b.setAttribute('aria-selected', String(i === j)); b.tabIndex = i === j ? 0 : -1; });
    panel.setAttribute('aria-labelledby', btns[i].id);
    panel.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const node = await items[i].render();
      if (mine === shown) fill(panel, node);
    } catch (err) {
      if (mine === shown) panel.replaceChildren(errorNotice(err));
    }
  }
  select(selected);
  return h('div', null, list, panel);
}

// loading wraps an async screen body: errors (404, 403) show in place.
export async function guard(fn) {
  try {
    await fn();
  } catch (err) {
    document.getElementById('main').append(errorNotice(err));
  }
}

// ---- parts of a page that redraw themselves, and actions within them

// live is a part of a page that draws itself again after a change (a
// device deleted, a scope added): draw(redraw) returns its content; an
// error replaces it.
export function live(draw) {
  const box = h('div');
  const redraw = async () => {
    try {
      box.replaceChildren(await draw(redraw));
    } catch (err) {
      box.replaceChildren(errorNotice(err));
    }
  };
  box.append(h('p', { class: 'muted' }, 'Loading…'));
  redraw();
  return box;
}

// failIn shows an action's error at the top of box, in place of the
// last one, and moves the focus to it.
export function failIn(box, err) {
  const old = box.querySelector(':scope > .notice.error');
  if (old) old.remove();
  const n = errorNotice(err);
  n.setAttribute('tabindex', '-1');
  box.prepend(n);
  n.focus();
}

// act runs a write; its error is shown at the top of where (failIn),
// else done runs.
export async function act(where, fn, done) {
  const old = where.querySelector(':scope > .notice.error');
  if (old) old.remove();
  try {
    await fn();
  } catch (err) {
    failIn(where, err);
    return;
  }
  if (done) await done();
}

// inlineEdit fills editor with a form over the record value (a mapping,
// a scope) that PUTs it to href, says saved and redraws the list; Cancel
// empties the editor. The first editable field takes the focus.
export function inlineEdit(editor, { key, value, fields, href, saved, redraw }) {
  editor.replaceChildren(h('h3', null, 'Edit ' + value.name), formView({
    key, value, fields,
    onSubmit: async (data) => {
      await api.put(href, data);
      toast(saved);
      redraw();
    },
    onCancel: () => editor.replaceChildren(),
  }));
  const first = editor.querySelector('input:not([readonly]), textarea:not([readonly])');
  if (first) first.focus();
}
