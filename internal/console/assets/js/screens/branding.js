// Branding settings (…/brandingSettings) and themes (…/themes), with a
// live preview of the hosted sign-on page: an iframe of the console's
// preview page (assets/preview.html), which loads the environment's own
// sign-on stylesheet; as the theme form changes, its colours are set on
// the preview's root as the CSS custom properties the sign-on page's
// theme.css sets (internal/signon/signon.go, theme()).
import * as api from '../api.js';
import { h, page, formView, listView, button, linkButton, kv, confirmAction, toast, errorNotice } from '../ui.js';
import { canEnv, canRead, P } from '../perm.js';

const href = (envId, rest) => '#/env/' + envId + '/branding' + (rest ? '/' + rest : '');
const themesPath = (envId) => '/environments/' + envId + '/themes';

// PingOne's templates and their colours (internal/wire/themes.go).
const TEMPLATES = {
  default: { name: 'Ping Default', button: '#2996cc', buttonText: '#ffffff', bodyText: '#686f77', headingText: '#686f77', link: '#2996cc', card: '#ffffff', background: '#ededed' },
  focus: { name: 'Focus', button: '#cb0020', buttonText: '#ffffff', bodyText: '#4a4a4a', headingText: '#cb0020', link: '#2996cc', card: '#fcfcfc', background: '#ededed' },
  mural: { name: 'Mural', button: '#61b375', buttonText: '#ffffff', bodyText: '#000000', headingText: '#000000', link: '#2996cc', card: '#fcfcfc', background: '' },
  slate: { name: 'Slate', button: '#fcfcfc', buttonText: '#4a4a4a', bodyText: '#4a4a4a', headingText: '#4a4a4a', link: '#4a4a4a', card: '#fcfcfc', background: '' },
  split: { name: 'Split', button: '#263956', buttonText: '#ffffff', bodyText: '#263956', headingText: '#686f77', link: '#263956', card: '#fcfcfc', background: '#263956' },
};
const COLOURS = [
  ['buttonColor', 'Button colour', 'button'], ['buttonTextColor', 'Button text colour', 'buttonText'],
  ['bodyTextColor', 'Body text colour', 'bodyText'], ['headingTextColor', 'Heading colour', 'headingText'],
  ['linkTextColor', 'Link colour', 'link'], ['cardColor', 'Card colour', 'card'],
];

const HEX = /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
// Only https images (and nothing that could end a CSS url("…")) reach
// the preview, as the API and the sign-on page allow.
const SAFE_URL = /^https:\/\/[^\s"'\\<>()]+$/;

// norm is a colour as a colour input holds it: "#rrggbb", lower case.
function norm(c) {
  if (!c || !HEX.test(c)) return '';
  let x = c.slice(1).toLowerCase();
  if (x.length === 3) x = x.split('').map((d) => d + d).join('');
  return '#' + x;
}

function newUUID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
}

// ---- the overview: branding settings and the themes

async function overview(ctx) {
  const at = location.hash;
  const path = '/environments/' + ctx.envId + '/brandingSettings';
  const writable = canEnv(P.writeConfig, ctx.envId);
  const b = await api.get(path);
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page('Branding and themes', { toolbar: writable ? [linkButton('New theme', href(ctx.envId, 'themes/new'), 'primary')] : [] },
    h('h2', null, 'Themes'),
    h('p', { class: 'muted' }, 'The default theme is the look of the environment\'s hosted sign-on page.'),
    listView({
      path: themesPath(ctx.envId), name: 'themes', caption: 'Themes',
      columns: [
        { label: 'Name', value: (t) => t.configuration.name },
        { label: 'Template', value: (t) => (TEMPLATES[t.template] || { name: t.template }).name },
        { label: 'Default', value: (t) => (t.default ? 'Default' : '') },
        { label: 'Button', value: (t) => swatch(t.configuration.buttonColor) },
      ],
      rowLink: (t) => href(ctx.envId, 'themes/' + t.id),
      empty: 'No theme: the sign-on page uses its own colours.',
    }),
    h('h2', null, 'Branding settings'),
    formView({
      key: 'branding', readOnly: !writable, value: { ...b, primaryColor: b.primaryColor || '' },
      fields: [
        { name: 'companyName', label: 'Company name', help: 'Shown on the sign-on page beside the logo.' },
        { name: 'logo.href', label: 'Logo URL', type: 'url', placeholder: 'https://…/logo.png', help: 'An https URL.' },
        { name: 'primaryColor', label: 'Accent colour', placeholder: '#2f5bea', help: '#rgb or #rrggbb; used where the default theme sets no button colour.' },
      ],
      submitLabel: 'Save branding',
      onSubmit: async (data) => {
        if (data.logo && !data.logo.href) delete data.logo;
        await api.put(path, data);
        toast('Branding saved.');
        overview(ctx);
      },
    }));
}

function swatch(c) {
  const s = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  if (norm(c)) s.style.setProperty('background-color', norm(c));
  return h('span', null, s, ' ', c || '');
}

// ---- one theme, with the preview

function themeFields(isNew) {
  return [
    { name: 'template', label: 'Template', type: 'select', required: true, options: Object.entries(TEMPLATES).map(([v, t]) => ({ value: v, label: t.name })) },
    { name: 'configuration.name', label: 'Name', required: true },
    ...COLOURS.map(([k, label]) => ({ name: 'configuration.' + k, label, type: 'color' })),
    { name: 'configuration.backgroundType', label: 'Background', type: 'select', required: true, options: [
      { value: 'DEFAULT', label: 'The template\'s' }, { value: 'COLOR', label: 'A colour' }, { value: 'IMAGE', label: 'An image' }, { value: 'NONE', label: 'None' }] },
    { name: 'configuration.backgroundColor', label: 'Background colour', type: 'color' },
    { name: 'configuration.backgroundImage.href', label: 'Background image URL', type: 'url', placeholder: 'https://…/background.jpg', help: 'An https URL.' },
    { name: 'configuration.logoType', label: 'Logo', type: 'select', required: true, options: [{ value: 'NONE', label: 'None' }, { value: 'IMAGE', label: 'An image' }] },
    { name: 'configuration.logo.href', label: 'Logo URL', type: 'url', placeholder: 'https://…/logo.png', help: 'An https URL.' },
    { name: 'configuration.footer', label: 'Footer', type: 'textarea' },
    isNew ? { name: 'default', label: 'Make this the default theme', type: 'checkbox' } : null,
  ];
}

function formValue(t) {
  const v = structuredClone(t);
  const c = v.configuration;
  const tpl = TEMPLATES[v.template] || TEMPLATES.default;
  for (const [k, , tk] of COLOURS) c[k] = norm(c[k]) || tpl[tk] || '#000000';
  c.backgroundColor = norm(c.backgroundColor) || tpl.background || '#ffffff';
  return v;
}

// toRequest shapes the form's data as the API takes it. Images need an
// id of PingOne's Images service, which Gatehouse keeps as given: a new
// one gets a fresh UUID.
function toRequest(data, original) {
  const c = data.configuration;
  const oc = (original && original.configuration) || {};
  for (const k of ['logo', 'backgroundImage']) {
    if (!c[k] || !c[k].href) delete c[k];
    else if (!c[k].id) c[k].id = (oc[k] && oc[k].id) || newUUID();
  }
  if (c.backgroundType !== 'COLOR') {
    if (oc.backgroundColor) c.backgroundColor = oc.backgroundColor; else delete c.backgroundColor;
  }
  // A colour input holds lower case: a colour not changed goes back as
  // the API had it (#007CBA stays #007CBA), so a save changes nothing.
  for (const k of [...COLOURS.map(([n]) => n), 'backgroundColor']) {
    if (c[k] && oc[k] && norm(c[k]) === norm(oc[k])) c[k] = oc[k];
  }
  return data;
}

// look reads the theme form as the sign-on page's theme.css would show it.
function lookOf(form, branding) {
  const get = (n) => {
    const f = form.fields.find((x) => x.spec.name === n);
    try { return f ? f.read() : undefined; } catch { return undefined; }
  };
  const template = TEMPLATES[get('template')] || TEMPLATES.default;
  const colour = (n) => norm(get('configuration.' + n));
  const bgType = get('configuration.backgroundType');
  const look = {
    button: colour('buttonColor') || norm(branding.primaryColor), buttonText: colour('buttonTextColor'), text: colour('bodyTextColor'),
    heading: colour('headingTextColor'), link: colour('linkTextColor'), card: colour('cardColor'), bg: '', image: '',
    logo: '', footer: (get('configuration.footer') || '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim(),
    name: branding.companyName || '',
  };
  if (bgType === 'COLOR') look.bg = colour('backgroundColor');
  if (bgType === 'DEFAULT') look.bg = norm(template.background);
  if (bgType === 'IMAGE' && SAFE_URL.test(get('configuration.backgroundImage.href') || '')) look.image = get('configuration.backgroundImage.href');
  if (get('configuration.logoType') === 'IMAGE' && SAFE_URL.test(get('configuration.logo.href') || '')) look.logo = get('configuration.logo.href');
  else if (branding.logo && SAFE_URL.test(branding.logo.href || '')) look.logo = branding.logo.href;
  return look;
}

// applyLook sets the look on the preview's document (same origin; CSSOM,
// which the CSP allows, never a style attribute), as the sign-on page's
// theme.css does: a theme is a light look, so in the dark colour scheme
// only the button and (a lighter tint of) the links take its colours.
function applyLook(frame, look, fallbackName) {
  const doc = frame.contentDocument;
  if (!doc || !doc.getElementById('card')) return;
  const dark = frame.contentWindow.matchMedia('(prefers-color-scheme: dark)').matches;
  const root = doc.documentElement.style;
  const set = (name, v) => (v ? root.setProperty(name, v) : root.removeProperty(name));
  const link = look.link || look.button;
  set('--primary', look.button);
  set('--primary-hover', look.button ? 'color-mix(in srgb, ' + look.button + ' 85%, #000)' : '');
  set('--on-primary', look.button ? look.buttonText : '');
  set('--link', dark ? (link ? 'color-mix(in srgb, ' + link + ' 50%, #fff)' : '') : link);
  set('--text', dark ? '' : look.text);
  set('--heading', dark ? '' : look.heading);
  set('--card', dark ? '' : look.card);
  set('--bg', dark ? '' : look.bg);
  const body = doc.body.style;
  if (look.image && !dark) {
    body.setProperty('background-image', 'url("' + look.image + '")');
    body.setProperty('background-size', 'cover');
    body.setProperty('background-position', 'center');
  } else {
    body.removeProperty('background-image');
  }
  const name = look.name || fallbackName || 'Gatehouse';
  doc.getElementById('brand-name').textContent = name;
  doc.getElementById('mark').textContent = name.slice(0, 1).toUpperCase();
  const logo = doc.getElementById('logo');
  logo.hidden = !look.logo;
  doc.getElementById('mark').hidden = !!look.logo;
  if (look.logo) { logo.setAttribute('src', look.logo); logo.setAttribute('alt', name); } else logo.removeAttribute('src');
  doc.getElementById('footer').textContent = look.footer || 'Secured by Gatehouse';
}

async function theme(ctx) {
  const at = location.hash;
  const { envId } = ctx;
  const id = ctx.params.themeId;
  const isNew = !id;
  const writable = canEnv(P.writeConfig, envId);
  const [t, branding] = await Promise.all([
    isNew ? null : api.get(themesPath(envId) + '/' + id),
    api.get('/environments/' + envId + '/brandingSettings').catch(() => ({})),
  ]);
  const start = t || { template: 'default', default: false, configuration: { name: '', logoType: 'NONE', backgroundType: 'DEFAULT' } };
  const frame = h('iframe', { class: 'preview', title: 'Preview of the hosted sign-on page', src: '/console/assets/preview.html?env=' + encodeURIComponent(envId) });
  const form = formView({
    key: isNew ? 'theme-new' : 'theme-edit', readOnly: !writable, value: formValue(start), fields: themeFields(isNew),
    submitLabel: isNew ? 'Create theme' : 'Save theme',
    onSubmit: async (data) => {
      const body = toRequest(data, t);
      if (!isNew) delete body.default; // only "Make default" moves the flag
      const saved = isNew ? await api.post(themesPath(envId), body) : await api.put(themesPath(envId) + '/' + id, body);
      toast(isNew ? 'Theme created.' : 'Theme saved.');
      if (isNew) ctx.go(href(envId, 'themes/' + saved.id)); else theme(ctx);
    },
    onCancel: () => ctx.go(href(envId)),
  });
  // A colour input ignores readonly: a reader's are disabled instead.
  if (!writable) for (const f of form.fields) if (f.spec.type === 'color') f.input.disabled = true;
  const refresh = () => applyLook(frame, lookOf(form, branding), ctx.env && ctx.env.name);
  const schemeNote = h('p', { class: 'muted', hidden: true },
    'Shown in your browser\'s dark colour scheme: there, as on the sign-on page, only the button and the links take the theme\'s colours. Switch to the light scheme to see the whole theme.');
  frame.addEventListener('load', () => {
    const mq = frame.contentWindow.matchMedia('(prefers-color-scheme: dark)');
    const note = () => { schemeNote.hidden = !mq.matches; refresh(); };
    mq.addEventListener('change', note);
    note();
  });
  form.addEventListener('input', refresh);
  form.addEventListener('change', refresh);
  if (isNew) {
    // A template brings its colours: choosing one fills them in.
    const tplField = form.fields.find((f) => f.spec.name === 'template');
    tplField.input.addEventListener('change', () => {
      const tpl = TEMPLATES[tplField.read()];
      if (!tpl) return;
      for (const [k, , tk] of COLOURS) form.fields.find((f) => f.spec.name === 'configuration.' + k).write(tpl[tk]);
      refresh();
    });
  }
  const notices = h('div');
  const toolbar = [];
  if (!isNew && writable && !t.default) {
    toolbar.push(button('Make default', async () => {
      try {
        await api.put(themesPath(envId) + '/' + id + '/default', { default: true });
        toast('This theme is now the default.');
        theme(ctx);
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }));
    toolbar.push(button('Delete theme', async () => {
      if (!(await confirmAction('Delete the theme "' + t.configuration.name + '"?'))) return;
      try {
        await api.del(themesPath(envId) + '/' + id);
        toast('Theme deleted.');
        ctx.go(href(envId));
      } catch (err) { notices.replaceChildren(errorNotice(err)); }
    }, { kind: 'danger' }));
  }
  const title = isNew ? 'New theme' : t.configuration.name;
  if (location.hash !== at) return; // moved on while this loaded: the next screen is drawn
  page(title, { toolbar, crumbs: [['Branding and themes', href(envId)], [isNew ? 'New theme' : title]] },
    notices,
    isNew ? null : kv([['Id', h('code', null, t.id)], ['Default', t.default ? 'Yes' : 'No']]),
    h('div', { class: 'theme-editor' },
      form,
      h('section', { class: 'preview-pane', 'aria-label': 'Live preview' },
        h('h2', null, 'Preview'),
        h('p', { class: 'muted' }, 'The hosted sign-on page as this theme would show it, before you save.'),
        frame, schemeNote)));
}

export default {
  nav: [{ group: 'Experience', label: 'Branding and themes', path: '/env/:envId/branding', order: 10, show: (envId) => canRead(P.readConfig, envId) }],
  routes: [
    { path: '/env/:envId/branding', render: overview },
    { path: '/env/:envId/branding/themes/new', render: theme },
    { path: '/env/:envId/branding/themes/:themeId', render: theme },
  ],
};
