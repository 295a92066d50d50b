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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// The browser tests drive the hosted sign-on page in headless Chromium, the
// way a person would, and save a screenshot of every step under
// test-output/signon/<TestName>/ so that the page can be reviewed by eye.

// waitTimeout bounds every wait for the page: a step that does not happen in
// this time has failed, and the failure says what the page showed instead.
const waitTimeout = 10 * time.Second

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
var chrome chromium.Shared

// TestMain stops the shared browser (and removes its profile) after the
// tests.
func TestMain(m *testing.M) {
	code := m.Run()
	chrome.Stop()
	os.Exit(code)
}

// sharedChromium starts the browser on first use.
func sharedChromium(t *testing.T) context.Context {
	t.Helper()
	return chrome.Browser(t, "the sign-on page", chromedp.WindowSize(desktop.Width, desktop.Height))
}

// browser is a browser context (its own cookies and storage) with one tab,
// driven for one test.
type browser struct {
	*chromium.Page
	width, height int
}

// viewport is a browser window size; Mobile makes the page lay out as on
// a phone (meta viewport honoured).
type viewport = chromium.Viewport

var (
	desktop = viewport{Width: 1280, Height: 900}
	phone   = viewport{Width: 360, Height: 740, Mobile: true}
)

// newBrowser opens a browser for t; the screenshot directory is emptied
// by the first browser of the test.
func newBrowser(t *testing.T, vp viewport) *browser {
	t.Helper()
	parent := sharedChromium(t)
	return openBrowser(t, parent, chromium.ShotDir(t, "signon"), "", new(int), vp)
}

// another opens a second, independent browser (no cookies of the first)
// whose screenshots continue the same numbering.
func (b *browser) another(vp viewport) *browser {
	return openBrowser(b.T, sharedChromium(b.T), b.Dir, "b2-", b.N, vp)
}

func openBrowser(t *testing.T, parent context.Context, dir, prefix string, n *int, vp viewport) *browser {
	t.Helper()
	b := &browser{width: vp.Width, height: vp.Height}
	b.Page = &chromium.Page{T: t, Ctx: chromium.NewTab(t, parent, vp), Timeout: waitTimeout, Poll: time.Second,
		Dir: dir, Prefix: prefix, N: n, Describe: b.describe}
	b.WatchConsole(true)
	return b
}

// describe is what the page shows now, for failure messages.
func (b *browser) describe() string {
	var st struct {
		URL, Status, H1, Error, Focus, Text string
	}
	raw := b.Read(`JSON.stringify({URL: location.href, Status: document.querySelector('main')?.dataset.status ?? '',
		H1: document.querySelector('h1')?.innerText ?? '', Error: document.querySelector('#error')?.innerText ?? '',
		Focus: document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : '',
		Text: (document.body?.innerText ?? '').slice(0, 600)})`)
	if raw == "" || json.Unmarshal([]byte(raw), &st) != nil {
		return "(the page could not be read)"
	}
	return fmt.Sprintf("page: %s\n  status=%q h1=%q error=%q focus=%q\n  text: %q", st.URL, st.Status, st.H1, st.Error, st.Focus, st.Text)
}

// eval runs a script and decodes its result into T; it fails the test on a
// script error.
func eval[T any](b *browser, js string) T {
	b.T.Helper()
	return chromium.Eval[T](b.Page, js)
}

// q quotes a string for a script.
func q(s string) string { return chromium.Quote(s) }

// waitStatus waits for the sign-on page of the flow status.
func (b *browser) waitStatus(status string) {
	b.T.Helper()
	b.WaitFor("the "+status+" page", `document.readyState === 'complete' && document.querySelector('main')?.dataset.status === `+q(status))
}

// waitURL waits until the browser is on a URL that starts with prefix.
func (b *browser) waitURL(prefix string) {
	b.T.Helper()
	b.WaitFor("a URL starting with "+prefix, `document.readyState === 'complete' && location.href.startsWith(`+q(prefix)+`)`)
}

// status is the flow status the page shows.
func (b *browser) status() string {
	return eval[string](b, `document.querySelector('main')?.dataset.status ?? ''`)
}

// text is the visible text of the first element matching sel, "" when none.
func (b *browser) text(sel string) string {
	b.T.Helper()
	return eval[string](b, `(document.querySelector(`+q(sel)+`)?.innerText ?? '').trim()`)
}

// focused is the id of the focused element ("" for none or no id, "body"
// for the body).
func (b *browser) focused() string {
	b.T.Helper()
	return eval[string](b, `(() => { const e = document.activeElement; if (!e || e === document.body) return 'body'; return e.id; })()`)
}

// url is the browser's location.
func (b *browser) url() string {
	b.T.Helper()
	return eval[string](b, `location.href`)
}

// visible says whether the element is rendered (not hidden, not zero-size).
func (b *browser) visible(sel string) bool {
	b.T.Helper()
	return eval[bool](b, `(() => { const e = document.querySelector(`+q(sel)+`); if (!e) return false;
		const r = e.getBoundingClientRect(); return e.checkVisibility({visibilityProperty: true, opacityProperty: true}) && r.width > 0 && r.height > 0; })()`)
}

// typeInto clicks the field and types text as key events, replacing what
// was there.
func (b *browser) typeInto(sel, text string) {
	b.T.Helper()
	if !b.visible(sel) {
		b.Fail("field %s is not visible", sel)
	}
	b.Do("type into "+sel,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+q(sel)+`).select()`),
		chromedp.KeyEvent(text),
	)
	if got := eval[string](b, `document.querySelector(`+q(sel)+`).value`); got != text {
		b.Fail("field %s holds %q after typing %q", sel, got, text)
	}
}

// form is the selector of the form of a flow action.
func form(action string) string { return `form[data-action="` + action + `"]` }

// submit clicks the submit button of the action's form.
func (b *browser) submit(action string) {
	b.T.Helper()
	btn := form(action) + ` button[type="submit"]`
	if !b.visible(btn) {
		b.Fail("the submit button of %s is not visible", action)
	}
	b.Do("submit "+action, chromedp.Click(chromedp.CSS(btn)))
}

// labelOf is the text of the label of the input with this id.
func (b *browser) labelOf(id string) string {
	b.T.Helper()
	return b.text(`label[for="` + id + `"]`)
}

// landed waits for the browser at the application's redirect URI and
// checks the code and state it carries; it returns the code.
func (b *browser) landed(app *clientApp, state string) string {
	b.T.Helper()
	b.waitURL(app.RedirectURI() + "?")
	b.WaitFor("the application's page", `document.querySelector('#app') !== null`)
	b.Shot("app")
	u, err := url.Parse(b.url())
	if err != nil {
		b.T.Fatal(err)
	}
	if u.Query().Get("error") != "" {
		b.T.Fatalf("the application got an error: %s", u.RawQuery)
	}
	code := u.Query().Get("code")
	if code == "" || u.Query().Get("state") != state {
		b.T.Fatalf("the application's URL lacks code or state %q: %s", state, u)
	}
	got := app.last()
	if got.Get("code") != code || got.Get("state") != state {
		b.T.Fatalf("the application received %v, the browser shows %s", got, u)
	}
	return code
}
