package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// The console's browser tests drive the console in headless Chromium as
// an administrator would: controls are found by the text of their labels
// and buttons (the names contract.md fixes), never by ids or classes the
// screens are free to change, and clicked and typed into with real mouse
// and key events. Every step's screenshot goes under
// test-output/console/<TestName>/.

// waitTimeout bounds every wait: a step that does not happen in this
// time has failed, and the failure says what the page showed instead.
const waitTimeout = 15 * time.Second

// One Chromium serves the package; a browser context per browser isolates
// cookies and storage as a separate browser would.
var chrome chromium.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	chrome.Stop()
	os.Exit(code)
}

// viewport is a window size; mobile lays the page out as on a phone; dark
// emulates prefers-color-scheme: dark.
type viewport struct {
	width, height int
	mobile, dark  bool
}

var (
	desktop = viewport{width: 1280, height: 900}
	phone   = viewport{width: 360, height: 740, mobile: true}
)

// browser is one browser context with one tab.
type browser struct {
	*chromium.Page
}

func newBrowser(t *testing.T, vp viewport) *browser {
	t.Helper()
	return openBrowser(t, chromium.ShotDir(t, "console"), "", new(int), vp)
}

// another is a second browser (no cookies or storage of the first) whose
// screenshots continue the first's numbering under prefix.
func (b *browser) another(prefix string, vp viewport) *browser {
	return openBrowser(b.T, b.Dir, prefix, b.N, vp)
}

func openBrowser(t *testing.T, dir, prefix string, n *int, vp viewport) *browser {
	t.Helper()
	scheme := "light"
	if vp.dark {
		scheme = "dark"
	}
	parent := chrome.Browser(t, "the console", chromedp.WindowSize(desktop.width, desktop.height))
	ctx := chromium.NewTab(t, parent, chromium.Viewport{Width: vp.width, Height: vp.height, Mobile: vp.mobile}, chromium.EmulateColorScheme(scheme))
	b := &browser{}
	b.Page = &chromium.Page{T: t, Ctx: ctx, Timeout: waitTimeout, Poll: 2 * time.Second, Dir: dir, Prefix: prefix, N: n, Describe: b.describe}
	b.WatchConsole(false)
	return b
}

func (b *browser) describe() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href, h1: document.querySelector('h1')?.innerText ?? '',
		focus: document.activeElement ? document.activeElement.outerHTML.slice(0, 160) : '', text: (document.body?.innerText ?? '').slice(0, 800)})`))
	if err != nil {
		return "(the page could not be read)"
	}
	return "page: " + s
}

func eval[T any](b *browser, js string) T {
	b.T.Helper()
	return chromium.Eval[T](b.Page, js)
}

// q quotes a string for a script.
func q(s string) string { return chromium.Quote(s) }

func (b *browser) url() string { return eval[string](b, `location.href`) }

// ---- the hosted sign-on page

// waitStatus waits for the sign-on page at a flow status.
func (b *browser) waitStatus(status string) {
	b.T.Helper()
	b.WaitFor("the "+status+" sign-on page", `document.readyState === 'complete' && document.querySelector('main')?.dataset.status === `+q(status))
}

// signOnAs fills the hosted page's username and password form (found by
// its labels, as on the console) and submits it.
func (b *browser) signOnAs(username, password string) {
	b.T.Helper()
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	b.fill("Username", username)
	b.fill("Password", password)
	b.Shot("sign-on")
	b.click(`form[data-action="usernamePassword.check"] button[type="submit"]`, "")
}

// ---- finding controls as a person does: by what they say

// jsNorm normalises an element's text: collapsed spaces, no required-field
// asterisk.
const jsNorm = `const norm = (s) => (s || '').replace(/\s+/g, ' ').replace(/\s*\*$/, '').trim();
const shown = (e) => e && e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length > 0;`

// byLabel is a script expression for the visible form control whose
// label says label (its <label>, aria-label or legend).
func byLabel(label string) string {
	return `(() => { ` + jsNorm + ` const want = ` + q(label) + `;
  for (const l of document.querySelectorAll('label')) {
    const c = l.control; if (c && norm(l.textContent) === want && shown(l)) return c;
  }
  for (const e of document.querySelectorAll('[aria-label]')) if (e.getAttribute('aria-label') === want && shown(e)) return e;
  return null; })()`
}

// byText is a script expression for the visible button, link or tab whose
// text is text.
func byText(text string) string {
	return `(() => { ` + jsNorm + ` const want = ` + q(text) + `;
  return [...document.querySelectorAll('button, a[href], [role="tab"], input[type="submit"]')].find((e) => shown(e) && (norm(e.textContent) === want || e.getAttribute('aria-label') === want)) || null; })()`
}

// has says whether the page shows a control with this text.
func (b *browser) has(text string) bool {
	b.T.Helper()
	return eval[bool](b, byText(text)+` !== null`)
}

// click clicks, with the mouse, the centre of the element a CSS selector
// (css) or a script expression (js) finds, after scrolling it into view.
func (b *browser) click(css, js string) {
	b.T.Helper()
	expr := js
	what := js
	if css != "" {
		expr = `document.querySelector(` + q(css) + `)`
		what = css
	}
	b.WaitFor("a control to click ("+what+")", expr+` !== null`)
	var pt struct{ X, Y float64 }
	raw := eval[string](b, `(() => { const e = `+expr+`; e.scrollIntoView({block: 'center', inline: 'center'});
		const r = e.getBoundingClientRect(); return JSON.stringify({X: r.left + r.width / 2, Y: r.top + r.height / 2}); })()`)
	if err := json.Unmarshal([]byte(raw), &pt); err != nil {
		b.Fail("locate %s: %v", what, err)
	}
	b.Do("click "+what, chromedp.MouseClickXY(pt.X, pt.Y))
}

// press clicks the button, link or tab that says text.
func (b *browser) press(text string) {
	b.T.Helper()
	b.click("", byText(text))
}

// pressTab selects the screen's tab (role tab) that says label.
func (b *browser) pressTab(label string) {
	b.T.Helper()
	b.click("", `[...document.querySelectorAll('main [role="tab"]')].find((e) => e.textContent.trim() === `+q(label)+`) ?? null`)
	b.WaitFor("the tab "+label+" selected", `[...document.querySelectorAll('main [role="tab"]')].some((e) => e.textContent.trim() === `+q(label)+` && e.getAttribute('aria-selected') === 'true')`)
}

// fill types value into the field labelled label, replacing what it held.
func (b *browser) fill(label, value string) {
	b.T.Helper()
	b.click("", byLabel(label))
	eval[bool](b, `(() => { const e = `+byLabel(label)+`; e.focus(); e.select(); return true; })()`)
	if value == "" {
		b.Do("clear "+label, chromedp.KeyEvent(kb.Delete))
	} else {
		b.Do("type into "+label, chromedp.KeyEvent(value))
	}
	if got := eval[string](b, byLabel(label)+`.value`); got != value {
		b.Fail("the field %q holds %q after typing %q", label, got, value)
	}
}

// choose picks the option whose text is option in the select labelled
// label (as a person's pick would, the select fires input and change).
func (b *browser) choose(label, option string) {
	b.T.Helper()
	b.WaitFor("the select "+label, byLabel(label)+` !== null`)
	ok := eval[bool](b, `(() => { const s = `+byLabel(label)+`; const o = [...s.options].find((o) => o.textContent.trim() === `+q(option)+`);
		if (!o) return false; s.focus(); s.value = o.value; s.dispatchEvent(new Event('input', {bubbles: true})); s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	if !ok {
		b.Fail("the select %q has no option %q", label, option)
	}
}

// setChecked clicks the checkbox labelled label until it is checked (or
// not).
func (b *browser) setChecked(label string, checked bool) {
	b.T.Helper()
	if eval[bool](b, byLabel(label)+`.checked`) != checked {
		b.click("", byLabel(label))
	}
	if eval[bool](b, byLabel(label)+`.checked`) != checked {
		b.Fail("the checkbox %q did not become %v", label, checked)
	}
}

// value is what the field labelled label holds.
func (b *browser) value(label string) string {
	b.T.Helper()
	return eval[string](b, `(`+byLabel(label)+`)?.value ?? ''`)
}

// fieldError is the error the form shows at the field labelled label:
// the field's description that is an error (not its help).
func (b *browser) fieldError(label string) string {
	b.T.Helper()
	return eval[string](b, `(() => { const e = `+byLabel(label)+`; if (!e) return '';
		const ids = (e.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
		return ids.map((id) => document.getElementById(id)).filter((n) => n && !n.hidden && n.classList.contains('field-error')).map((n) => n.textContent.trim()).join(' ').trim(); })()`)
}

// heading waits for the screen whose h1 says title.
func (b *browser) heading(title string) {
	b.T.Helper()
	b.WaitFor("the screen "+q(title), `document.querySelector('main h1')?.textContent.trim() === `+q(title))
}

// h1 is the screen's heading.
func (b *browser) h1() string {
	return eval[string](b, `document.querySelector('main h1')?.textContent.trim() ?? ''`)
}

// route opens a console route (a hash) as a link would, and waits until
// the screen before it is replaced.
func (b *browser) route(hash string) {
	b.T.Helper()
	if eval[bool](b, `location.hash === `+q(hash)) {
		return
	}
	b.Do("open "+hash, chromedp.Evaluate[chromedp.Void](`window.screenBefore = document.querySelector('main h1'); location.hash = `+q(hash)))
	b.WaitFor("the screen of "+hash, `document.querySelector('main h1') !== null && document.querySelector('main h1') !== window.screenBefore`)
}

// key sends one key (kb.Tab, kb.Enter...), with Shift when shift.
func (b *browser) key(k string, shift bool) {
	b.T.Helper()
	var opts []chromedp.KeyOption
	if shift {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	b.Do("press "+fmt.Sprintf("%q", k), chromedp.KeyEvent(k, opts...))
}

// ---- an application to sign on to

// relyingParty is the web application's redirect URI: it records what it
// received and shows a page the test waits for.
type relyingParty struct {
	*httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func newRelyingParty(t *testing.T) *relyingParty {
	a := &relyingParty{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		a.mu.Lock()
		a.hits = append(a.hits, r.URL.Query())
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head>`+
			`<body><main id="app"><h1>Example app</h1><p>state %s</p></main></body></html>`, html.EscapeString(r.URL.Query().Get("state")))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *relyingParty) RedirectURI() string { return a.URL + "/callback" }

func (a *relyingParty) last() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.hits) == 0 {
		return nil
	}
	return a.hits[len(a.hits)-1]
}

// contains reports whether s holds every part.
func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
