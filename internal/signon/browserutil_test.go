package signon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The browser tests drive the hosted sign-on page in headless Chromium, the
// way a person would, and save a screenshot of every step under
// test-output/signon/<TestName>/ so that the page can be reviewed by eye.

// waitTimeout bounds every wait for the page: a step that does not happen in
// this time has failed, and the failure says what the page showed instead.
const waitTimeout = 10 * time.Second

// chromiumPath finds the browser. Without one the tests cannot run: that is a
// failure in CI (which installs it) and a loud skip on a developer's machine.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the browser tests of the sign-on page cannot run (.ci/run installs it)")
	}
	t.Skip("SKIPPING BROWSER TEST: chromium is not installed (apt-get install chromium); the sign-on page is NOT tested")
	return ""
}

// repoRoot is the directory that holds go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// clientApp is the relying party: its redirect URI is where the browser
// lands at the end of a sign-on, and it records what it received.
type clientApp struct {
	*httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func newClientApp(t *testing.T) *clientApp {
	a := &clientApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		a.mu.Lock()
		a.hits = append(a.hits, q)
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Example app</title></head>`+
			`<body><main id="app"><h1>Example app</h1><p id="result">Signed in: received an authorization code for state %s.</p></main></body></html>`,
			html.EscapeString(q.Get("state")))
	}))
	t.Cleanup(a.Close)
	return a
}

// RedirectURI is the application's registered redirect URI.
func (a *clientApp) RedirectURI() string { return a.URL + "/callback" }

// last is the query of the newest callback, nil before any.
func (a *clientApp) last() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.hits) == 0 {
		return nil
	}
	return a.hits[len(a.hits)-1]
}

// site is one environment with a web application whose redirect URI is a
// clientApp, and a user with a password.
type site struct {
	s   *apptest.Server
	fx  *apptest.SignOn
	app *clientApp
}

// base is authPath/envId.
func (x *site) base() string { return x.s.URL + "/" + x.fx.EnvID }

// newSite starts Gatehouse on SQLite (fast enough for a browser; the
// flow's storage is tested on both backends elsewhere) with one
// environment.
func newSite(t *testing.T) *site {
	t.Helper()
	s := apptest.Start(t, apptest.Options{})
	app := newClientApp(t)
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()}}})
	fx.RedirectURI = app.RedirectURI()
	return &site{s: s, fx: fx, app: app}
}

// authorizeURL is the URL an application sends the browser to (redirect
// mode: the server answers with the hosted sign-on page).
func authorizeURL(base, clientID, redirectURI, state string) string {
	return base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email"}, "state": {state}, "nonce": {randomString(8)}}.Encode()
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// exchange redeems code at the token endpoint as the application does and
// checks that tokens come back.
func exchange(t *testing.T, s *apptest.Server, envID, clientID, secret, redirectURI, code string) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, err := http.NewRequest("POST", s.URL+"/"+envID+"/as/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		TokenType   string `json:"token_type"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("token exchange: %d %s", resp.StatusCode, body)
	}
	if tok.AccessToken == "" || tok.IDToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token response lacks tokens: %s", body)
	}
}

// One Chromium serves the whole package: starting it takes seconds, and a
// browser context per test isolates cookies and storage as well as a
// separate browser would.
var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// TestMain stops the shared browser (and removes its profile) after the
// tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.cancel != nil {
		chrome.cancel()
	}
	os.Exit(code)
}

// sharedChromium starts the browser on first use.
func sharedChromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	chrome.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.WindowSize(desktop.width, desktop.height),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		chrome.ctx, chrome.cancel = ctx, func() { cancel(); cancelAlloc() }
		// The first Run starts the browser; it must not carry a timeout.
		chrome.err = chromedp.Do(ctx)
	})
	if chrome.err != nil {
		t.Fatalf("start chromium: %v", chrome.err)
	}
	return chrome.ctx
}

// browser is a browser context (its own cookies and storage) with one tab,
// driven for one test.
type browser struct {
	t      *testing.T
	ctx    context.Context
	dir    string // where the screenshots go
	prefix string // file name prefix of the screenshots ("" or "b2-")
	n      *int   // screenshot counter, shared by a test's browsers
	width  int
	height int

	mu       sync.Mutex
	problems []string // uncaught exceptions of the page's scripts
}

// viewport is a browser window size; mobile makes the page lay out as on a
// phone (meta viewport honoured).
type viewport struct {
	width, height int
	mobile        bool
}

var desktop = viewport{1280, 900, false}

// newBrowser opens a browser for t; the screenshot directory is emptied
// by the first browser of the test.
func newBrowser(t *testing.T, vp viewport) *browser {
	t.Helper()
	parent := sharedChromium(t)
	dir := filepath.Join(repoRoot(t), "test-output", "signon", regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	return openBrowser(t, parent, dir, "", &n, vp)
}

// another opens a second, independent browser (no cookies of the first)
// whose screenshots continue the same numbering.
func (b *browser) another(vp viewport) *browser {
	return openBrowser(b.t, sharedChromium(b.t), b.dir, "b2-", b.n, vp)
}

func openBrowser(t *testing.T, parent context.Context, dir, prefix string, n *int, vp viewport) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, dir: dir, prefix: prefix, n: n, width: vp.width, height: vp.height}
	emulate := []chromedp.EmulateViewportOption{}
	if vp.mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	// The first Run opens the tab; a timeout on it would close the tab.
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(int64(vp.width), int64(vp.height), emulate...),
		// Headless windows never have the OS focus; without this,
		// document.hasFocus() is false and :focus styles may not apply.
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	)
	if err != nil {
		t.Fatalf("open a browser tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				b.mu.Unlock()
			case m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico"):
				t.Logf("browser console: %s (%s)", m.Text, m.URL)
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page threw an uncaught exception: %s", p)
		}
	})
	return b
}

// do runs actions with the wait bound; on failure the test stops with a
// screenshot and what the page showed.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// fail stops the test, after a screenshot and a summary of the page.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	b.shot("FAILURE")
	b.t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), b.describe())
}

// describe is what the page shows now, for failure messages.
func (b *browser) describe() string {
	var st struct {
		URL, Status, H1, Error, Focus, Text string
	}
	raw := b.evalRaw(`JSON.stringify({URL: location.href, Status: document.querySelector('main')?.dataset.status ?? '',
		H1: document.querySelector('h1')?.innerText ?? '', Error: document.querySelector('#error')?.innerText ?? '',
		Focus: document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : '',
		Text: (document.body?.innerText ?? '').slice(0, 600)})`)
	if raw == "" || json.Unmarshal([]byte(raw), &st) != nil {
		return "(the page could not be read)"
	}
	return fmt.Sprintf("page: %s\n  status=%q h1=%q error=%q focus=%q\n  text: %q", st.URL, st.Status, st.H1, st.Error, st.Focus, st.Text)
}

// evalRaw runs a script that returns a string, "" on error.
func (b *browser) evalRaw(js string) string {
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return ""
	}
	return s
}

// eval runs a script and decodes its result into T; it fails the test on a
// script error.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("script %q: %v", js, err)
	}
	return v
}

// q quotes a string for a script.
func q(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// shot saves a full-page PNG as <NN>-<name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	*b.n++
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(b.dir, fmt.Sprintf("%s%02d-%s.png", b.prefix, *b.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// navigate loads u and waits for the page.
func (b *browser) navigate(u string) {
	b.t.Helper()
	b.do("navigate to "+u, chromedp.Navigate(u))
}

// waitFor polls the script until it is true. Errors while a page is
// replaced by the next are expected and ignored.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			b.fail("the page never showed %s (last script error: %v)", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStatus waits for the sign-on page of the flow status.
func (b *browser) waitStatus(status string) {
	b.t.Helper()
	b.waitFor("the "+status+" page", `document.readyState === 'complete' && document.querySelector('main')?.dataset.status === `+q(status))
}

// waitURL waits until the browser is on a URL that starts with prefix.
func (b *browser) waitURL(prefix string) {
	b.t.Helper()
	b.waitFor("a URL starting with "+prefix, `document.readyState === 'complete' && location.href.startsWith(`+q(prefix)+`)`)
}

// status is the flow status the page shows.
func (b *browser) status() string {
	return eval[string](b, `document.querySelector('main')?.dataset.status ?? ''`)
}

// text is the visible text of the first element matching sel, "" when none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+q(sel)+`)?.innerText ?? '').trim()`)
}

// focused is the id of the focused element ("" for none or no id, "body"
// for the body).
func (b *browser) focused() string {
	b.t.Helper()
	return eval[string](b, `(() => { const e = document.activeElement; if (!e || e === document.body) return 'body'; return e.id; })()`)
}

// url is the browser's location.
func (b *browser) url() string {
	b.t.Helper()
	return eval[string](b, `location.href`)
}

// visible says whether the element is rendered (not hidden, not zero-size).
func (b *browser) visible(sel string) bool {
	b.t.Helper()
	return eval[bool](b, `(() => { const e = document.querySelector(`+q(sel)+`); if (!e) return false;
		const r = e.getBoundingClientRect(); return e.checkVisibility({visibilityProperty: true, opacityProperty: true}) && r.width > 0 && r.height > 0; })()`)
}

// typeInto clicks the field and types text as key events, replacing what
// was there.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	if !b.visible(sel) {
		b.fail("field %s is not visible", sel)
	}
	b.do("type into "+sel,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+q(sel)+`).select()`),
		chromedp.KeyEvent(text),
	)
	if got := eval[string](b, `document.querySelector(`+q(sel)+`).value`); got != text {
		b.fail("field %s holds %q after typing %q", sel, got, text)
	}
}

// form is the selector of the form of a flow action.
func form(action string) string { return `form[data-action="` + action + `"]` }

// submit clicks the submit button of the action's form.
func (b *browser) submit(action string) {
	b.t.Helper()
	btn := form(action) + ` button[type="submit"]`
	if !b.visible(btn) {
		b.fail("the submit button of %s is not visible", action)
	}
	b.do("submit "+action, chromedp.Click(chromedp.CSS(btn)))
}

// labelOf is the text of the label of the input with this id.
func (b *browser) labelOf(id string) string {
	b.t.Helper()
	return b.text(`label[for="` + id + `"]`)
}

// landed waits for the browser at the application's redirect URI and
// checks the code and state it carries; it returns the code.
func (b *browser) landed(app *clientApp, state string) string {
	b.t.Helper()
	b.waitURL(app.RedirectURI() + "?")
	b.waitFor("the application's page", `document.querySelector('#app') !== null`)
	b.shot("app")
	u, err := url.Parse(b.url())
	if err != nil {
		b.t.Fatal(err)
	}
	if u.Query().Get("error") != "" {
		b.t.Fatalf("the application got an error: %s", u.RawQuery)
	}
	code := u.Query().Get("code")
	if code == "" || u.Query().Get("state") != state {
		b.t.Fatalf("the application's URL lacks code or state %q: %s", state, u)
	}
	got := app.last()
	if got.Get("code") != code || got.Get("state") != state {
		b.t.Fatalf("the application received %v, the browser shows %s", got, u)
	}
	return code
}
