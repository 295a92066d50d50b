package signon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// adminAPI calls the management API as the bootstrap administrator and
// fails the test on any status but want.
func adminAPI(t *testing.T, s *apptest.Server) func(method, path string, body any, want int) map[string]any {
	admin := s.AdminToken(t)
	return func(method, path string, body any, want int) map[string]any {
		t.Helper()
		r := s.Do(t, apptest.Request{Method: method, URL: path, Token: admin, Body: body})
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
		if len(r.Body) == 0 {
			return nil
		}
		return r.JSON(t)
	}
}

// assignPolicy gives the site's application its own sign-on policy with
// one action.
func assignPolicy(t *testing.T, x *site, action map[string]any) {
	t.Helper()
	api := adminAPI(t, x.s)
	env := "/environments/" + x.fx.EnvID
	pol := api("POST", env+"/signOnPolicies", map[string]any{"name": "Policy_" + randomString(4)}, http.StatusCreated)["id"].(string)
	api("POST", env+"/signOnPolicies/"+pol+"/actions", action, http.StatusCreated)
	api("POST", env+"/applications/"+x.fx.AppID+"/signOnPolicyAssignments",
		map[string]any{"priority": 1, "signOnPolicy": map[string]any{"id": pol}}, http.StatusCreated)
}

// click clicks the element and fails the test when it is not on the screen.
func (b *browser) click(what, sel string) {
	b.T.Helper()
	if !b.visible(sel) {
		b.Fail("%s (%s) is not visible", what, sel)
	}
	b.Do("click "+what, chromedp.Click(chromedp.CSS(sel)))
}

// waitError waits until #error shows text containing want, and returns
// the text.
func (b *browser) waitError(want string) string {
	b.T.Helper()
	b.WaitFor("#error saying "+q(want), `(() => { const e = document.querySelector('#error');
		return e && !e.hidden && e.checkVisibility() && e.innerText.includes(`+q(want)+`); })()`)
	return b.text("#error")
}

// waitHeading waits for the page whose h1 is heading.
func (b *browser) waitHeading(heading string) {
	b.T.Helper()
	b.WaitFor("the heading "+q(heading), `document.readyState === 'complete' && document.querySelector('h1')?.innerText.trim() === `+q(heading))
}

// TestBrowserRegistration: "Create one" opens the registration form with
// the password rules, which follow what is typed; a taken username is
// refused in words; a new one leads to email verification, where "Send a
// new code" voids the first code, and the new code leads to the
// application.
func TestBrowserRegistration(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	pop := adminAPI(t, x.s)("POST", "/environments/"+x.fx.EnvID+"/populations", map[string]any{"name": "Customers_" + randomString(4)},
		http.StatusCreated)["id"].(string)
	assignPolicy(t, x, map[string]any{"type": "LOGIN", "priority": 1,
		"registration": map[string]any{"enabled": true, "population": map[string]any{"id": pop}}})
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("sign-on-page")
	if got := b.text("#register"); got != "Create one" {
		t.Errorf("the registration button reads %q, want %q", got, "Create one")
	}
	if b.visible("#register-form") {
		t.Errorf("the registration form shows before the user asks for it")
	}
	b.click("Create one", "#register")
	b.WaitFor("the registration form", `document.querySelector('#register-form')?.checkVisibility()`)
	b.Shot("registration-form")
	if got := eval[string](b, `document.querySelector('#register').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("#register has aria-expanded=%q once the form is open", got)
	}
	// One task at a time: the sign-on form and the other ways on make way.
	for _, sel := range []string{"#signon-form", "#forgot", "#register"} {
		if b.visible(sel) {
			t.Errorf("%s is still visible next to the registration form", sel)
		}
	}
	if got := b.text("#register-form h2"); got != "Create an account" {
		t.Errorf("the registration form's title is %q", got)
	}
	if f := b.focused(); f != "regUsername" {
		t.Errorf("the focus is on %q when the registration form opens, want regUsername", f)
	}
	for id, want := range map[string]string{"regUsername": "Username", "email": "Email address", "regPassword": "Password"} {
		if got := b.labelOf(id); got != want {
			t.Errorf("#%s is labelled %q, want %q", id, got, want)
		}
	}
	if typ := eval[string](b, `document.querySelector('#regPassword').type`); typ != "password" {
		t.Errorf("#regPassword is of type %q", typ)
	}
	rules := ruleStates(b)
	if !b.visible("#rules") || b.text(`#rules li[data-rule="length"]`) == "" {
		t.Fatalf("the registration form does not list the password rules: %v", rules)
	}
	for _, r := range []string{"history", "notSimilarToCurrent"} {
		if _, ok := rules[r]; ok {
			t.Errorf("the registration form lists the rule %s: a new account has no earlier password", r)
		}
	}
	noError(t, b)

	b.click("Back to sign on", `#register-form [data-closes]`)
	b.WaitFor("the sign-on form again", `document.querySelector('#signon-form')?.checkVisibility() && document.querySelector('#register-form').hidden`)
	b.Shot("back-to-sign-on")
	if f := b.focused(); f != "register" {
		t.Errorf("after Back to sign on the focus is on %q, want the Create one button", f)
	}
	b.click("Create one", "#register")
	b.WaitFor("the registration form", `document.querySelector('#register-form')?.checkVisibility()`)

	newUser, newEmail := "newcomer."+randomString(4), "newcomer."+randomString(4)+"@example.com"
	password := "Violet-Harbor-84?"
	b.typeInto("#regUsername", x.fx.Username) // taken
	b.typeInto("#email", newEmail)
	b.typeInto("#regPassword", "short")
	b.WaitFor("the length rule unmet", `document.querySelector('#rules li[data-rule="length"]')?.dataset.ok === 'false'`)
	b.Shot("weak-password")
	b.typeInto("#regPassword", password)
	b.WaitFor("every rule the page checks met", `document.querySelector('#rules li[data-rule="length"]')?.dataset.ok === 'true' &&
		[...document.querySelectorAll('#rules li[data-ok]')].every(li => li.dataset.ok === 'true')`)
	b.Shot("taken-username-typed")
	b.submit("user.register")

	msg := b.waitError("That username is already taken.")
	b.Shot("username-taken")
	noRawCodes(t, "the taken-username error", msg)
	if f := b.focused(); f != "regUsername" {
		t.Errorf("after the taken-username error the focus is on %q, want regUsername", f)
	}
	if got := eval[string](b, `document.querySelector('#regUsername').getAttribute('aria-invalid') ?? ''`); got != "true" {
		t.Errorf("#regUsername has aria-invalid=%q after the error", got)
	}
	if st := b.status(); st != "USERNAME_PASSWORD_REQUIRED" {
		t.Errorf("after the taken username the page shows %s", st)
	}
	if v := eval[string](b, `document.querySelector('#email').value`); v != newEmail {
		t.Errorf("the email field holds %q after the error; the user must not retype it", v)
	}

	b.typeInto("#regUsername", newUser)
	b.Shot("new-username-typed")
	b.submit("user.register")

	b.waitStatus("VERIFICATION_CODE_REQUIRED")
	b.Shot("verification-page")
	if h := b.text("h1"); h != "Verify your email address" {
		t.Errorf("the verification page's heading is %q", h)
	}
	if b.labelOf("verificationCode") == "" {
		t.Errorf("#verificationCode has no label")
	}
	if f := b.focused(); f != "verificationCode" {
		t.Errorf("the focus is on %q on the verification page, want verificationCode", f)
	}
	noError(t, b)
	first, ok := x.s.Mail.Last(newEmail)
	if !ok || first.Code == "" {
		t.Fatalf("no verification code was sent to %s", newEmail)
	}
	u, err := x.s.Store.GetUserByUsername(context.Background(), x.fx.EnvID, newUser)
	if err != nil {
		t.Fatalf("the registered user: %v", err)
	}
	if u.PopulationID != pop || u.Email != newEmail {
		t.Errorf("the registered user is in population %s with email %s, want %s and %s", u.PopulationID, u.Email, pop, newEmail)
	}

	b.submit("user.sendVerificationCode")
	notice := b.waitError("We sent a new code.")
	b.Shot("new-code-sent")
	if !eval[bool](b, `document.querySelector('#error').classList.contains('notice')`) {
		t.Errorf("the new-code message %q is styled as an error, not a notice", notice)
	}
	second, _ := x.s.Mail.Last(newEmail)
	if second.Code == "" || second.Code == first.Code {
		t.Fatalf("Send a new code sent no new code (first %q, now %q)", first.Code, second.Code)
	}
	if st := b.status(); st != "VERIFICATION_CODE_REQUIRED" {
		t.Errorf("after Send a new code the page shows %s", st)
	}

	b.typeInto("#verificationCode", first.Code)
	b.submit("user.verify")
	msg = b.waitError("not correct")
	b.Shot("old-code-refused")
	noRawCodes(t, "the old-code error", msg)
	if eval[bool](b, `document.querySelector('#error').classList.contains('notice')`) {
		t.Errorf("the old-code error %q is styled as a notice", msg)
	}
	if f := b.focused(); f != "verificationCode" && f != "error" {
		t.Errorf("after the old code the focus is on %q", f)
	}

	b.typeInto("#verificationCode", second.Code)
	b.Shot("new-code-typed")
	b.submit("user.verify")
	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}

// TestBrowserLockedOut: every wrong password says how many attempts are
// left; the fifth locks the password and the page says so and for how
// long; then even the right password is refused.
func TestBrowserLockedOut(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	for left := 4; left >= 1; left-- {
		signOnWith(b, x.fx.Username, fmt.Sprintf("Wrong-Password-%d!", left))
		want := fmt.Sprintf("%d attempt", left)
		if left > 1 {
			want += "s"
		}
		msg := b.waitError(want + " left")
		b.Shot(fmt.Sprintf("wrong-password-%d-left", left))
		noRawCodes(t, "the wrong-password error", msg)
	}

	signOnWith(b, x.fx.Username, "Wrong-Password-0!")
	msg := b.waitError("locked")
	b.Shot("locked-out")
	if !strings.Contains(msg, "15 minutes") {
		t.Errorf("the lockout message %q does not say for how long (15 minutes)", msg)
	}
	noRawCodes(t, "the lockout message", msg)
	if f := b.focused(); f != "password" && f != "error" {
		t.Errorf("after the lockout the focus is on %q, want the password field or the error", f)
	}
	if st := b.status(); st != "USERNAME_PASSWORD_REQUIRED" {
		t.Errorf("after the lockout the page shows %s", st)
	}
	if !b.visible("#forgot") {
		t.Errorf("the lockout message suggests a password reset, but #forgot is not visible")
	}

	// The right password does not open a locked password.
	b.typeInto("#password", x.fx.Password)
	b.submit("usernamePassword.check")
	b.WaitFor("the submit to finish", `document.querySelector('#signon-form')?.getAttribute('aria-busy') === 'false'`)
	msg = b.waitError("locked")
	b.Shot("right-password-while-locked")
	if !strings.Contains(msg, "minute") {
		t.Errorf("the lockout message %q no longer says for how long", msg)
	}
	if got := x.app.last(); got != nil {
		t.Fatalf("the application received %v during the lockout", got)
	}
}

// newErrorApp is a relying party whose page says what it received: the
// code, or the error the authorization server sent.
func newErrorApp(t *testing.T) *clientApp {
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
		result := "Signed in: received an authorization code for state " + q.Get("state") + "."
		if e := q.Get("error"); e != "" {
			result = "Sign-on failed: " + e + " (" + q.Get("error_description") + ") for state " + q.Get("state") + "."
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head>`+
			`<body><main id="app"><h1>Example app</h1><p id="result">%s</p></main></body></html>`, html.EscapeString(result))
	}))
	t.Cleanup(a.Close)
	return a
}

// TestBrowserProviderFailure: an external OpenID provider that answers
// error=access_denied ends the sign-on: the page says so with the
// provider's words, and its button returns the error and the state to the
// application.
func TestBrowserProviderFailure(t *testing.T) {
	b := newBrowser(t, desktop)
	s := apptest.Start(t, apptest.Options{})
	app := newErrorApp(t)
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()}}})
	fx.RedirectURI = app.RedirectURI()
	x := &site{s: s, fx: fx, app: app}
	callback := x.base() + "/rp/callback/openid_connect"

	// The provider refuses at once, as one does when the user cancels.
	var mu sync.Mutex
	var asked url.Values
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/authorize" {
			http.Error(w, "this provider only refuses", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		asked = r.URL.Query()
		mu.Unlock()
		back := url.Values{"error": {"access_denied"}, "error_description": {"The user declined to sign on"}, "state": {r.URL.Query().Get("state")}}
		http.Redirect(w, r, r.URL.Query().Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
	}))
	t.Cleanup(op.Close)
	idpName := "Acme Workforce"
	idp := adminAPI(t, s)("POST", "/environments/"+fx.EnvID+"/identityProviders", map[string]any{"enabled": true, "name": idpName,
		"type": "OPENID_CONNECT", "clientId": "gatehouse-rp", "clientSecret": "rp-secret-" + randomString(8),
		"authorizationEndpoint": op.URL + "/authorize", "tokenEndpoint": op.URL + "/token", "jwksEndpoint": op.URL + "/jwks",
		"issuer": op.URL, "scopes": []string{"openid"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusCreated)["id"].(string)
	assignPolicy(t, x, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []map[string]string{{"id": idp}}})
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), fx.AppID, app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("sign-on-page")
	if got := b.text("a.provider"); got != "Sign on with "+idpName {
		t.Errorf("the provider button reads %q", got)
	}
	b.click("the provider button", "a.provider")

	b.waitStatus("FAILED")
	b.Shot("sign-on-failed")
	mu.Lock()
	got := asked
	mu.Unlock()
	if got.Get("redirect_uri") != callback || got.Get("state") == "" {
		t.Errorf("the provider was asked with redirect_uri %q and state %q, want %s and a state", got.Get("redirect_uri"), got.Get("state"), callback)
	}
	if u := b.url(); !strings.HasPrefix(u, x.base()+"/signon/?flowId=") {
		t.Errorf("after the provider's refusal the browser is at %s, not the sign-on page", u)
	}
	if h := b.text("h1"); h != "Sign-on failed" {
		t.Errorf("the heading is %q, want %q", h, "Sign-on failed")
	}
	msg := b.text("#error")
	if !b.visible("#error") || !strings.Contains(msg, idpName) || !strings.Contains(msg, "The user declined to sign on") {
		t.Errorf("the error box shows %q (visible=%v), want the provider's name and its message", msg, b.visible("#error"))
	}
	if f := b.focused(); f != "error" {
		t.Errorf("the focus is on %q, want the error (screen readers read it first)", f)
	}
	if b.visible("form") {
		t.Errorf("a failed sign-on still shows a form: %q", b.text("form"))
	}
	want := "Return to " + fx.AppName
	if got := b.text("#return"); got != want {
		t.Errorf("the return button reads %q, want %q", got, want)
	}
	b.click("the return button", "#return")

	b.waitURL(app.RedirectURI() + "?")
	b.WaitFor("the application's page", `document.querySelector('#app') !== null`)
	b.Shot("app-got-error")
	back, err := url.Parse(b.url())
	if err != nil {
		t.Fatal(err)
	}
	bq := back.Query()
	if bq.Get("error") != "access_denied" || bq.Get("state") != state || bq.Get("code") != "" {
		t.Errorf("the application got %s, want error=access_denied and state %s without a code", back.RawQuery, state)
	}
	if !strings.Contains(bq.Get("error_description"), "The user declined to sign on") {
		t.Errorf("the application's error_description is %q", bq.Get("error_description"))
	}
}

// tab opens another tab in b's browser context: it shares b's cookies, as
// a second tab of one browser does.
func (b *browser) tab(name string) (*browser, func()) {
	b.T.Helper()
	ctx, cancel := chromedp.NewContext(b.Ctx)
	b.T.Cleanup(cancel)
	t2 := &browser{width: b.width, height: b.height}
	t2.Page = &chromium.Page{T: b.T, Ctx: ctx, Timeout: waitTimeout, Poll: time.Second,
		Dir: b.Dir, Prefix: name + "-", N: b.N, Describe: t2.describe}
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(int64(b.width), int64(b.height)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	)
	if err != nil {
		b.T.Fatalf("open a second tab: %v", err)
	}
	return t2, cancel
}

// TestBrowserExpiredFlow: a sign-on left too long expires. Opening its
// page says so and offers the application's home page to start again;
// submitting the form of a page loaded before the expiry says so too.
func TestBrowserExpiredFlow(t *testing.T) {
	b := newBrowser(t, desktop)
	s := apptest.Start(t, apptest.Options{})
	app := newClientApp(t)
	home := app.URL + "/home"
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{app.RedirectURI()}, "homePageUrl": home}})
	fx.RedirectURI = app.RedirectURI()
	x := &site{s: s, fx: fx, app: app}
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), fx.AppID, app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	page := b.url()
	pu, _ := url.Parse(page)
	flowID := pu.Query().Get("flowId")
	b.typeInto("#username", fx.Username)
	b.typeInto("#password", fx.Password)
	b.Shot("form-filled")

	ctx := context.Background()
	f, err := s.Store.GetFlow(ctx, fx.EnvID, flowID)
	if err != nil {
		t.Fatal(err)
	}
	f.ExpiresAt = time.Now().Add(-time.Minute)
	if err := s.Store.UpdateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}

	expired := func(b *browser) {
		t.Helper()
		b.waitHeading("Your sign-on expired")
		if msg := b.text(".message"); !strings.Contains(msg, "15 minutes") {
			t.Errorf("the expiry page says %q: not why the sign-on ended", msg)
		}
		if !b.visible("#start-again") {
			b.Fail("no visible Start again link, though the application has a home page")
		}
		if href := eval[string](b, `document.querySelector('#start-again').href`); href != home {
			t.Errorf("Start again goes to %q, want the application's home page %q", href, home)
		}
		if got := b.text("#start-again"); got != "Start again" {
			t.Errorf("the Start again link reads %q", got)
		}
		if b.visible("form") || b.visible("#username") {
			t.Errorf("the expiry page still shows a form")
		}
		if b.visible("#error") {
			t.Errorf("the expiry page shows an error box: %q", b.text("#error"))
		}
	}

	// The page again, in a second tab.
	b2, closeTab := b.tab("tab2")
	b2.Navigate(page)
	expired(b2)
	b2.Shot("reopened-after-expiry")
	closeTab()

	// The first tab still shows the form from before the expiry.
	if st := b.status(); st != "USERNAME_PASSWORD_REQUIRED" {
		t.Fatalf("the first tab shows %s", st)
	}
	b.submit("usernamePassword.check")
	expired(b)
	b.Shot("old-form-submitted")
	if got := app.last(); got != nil {
		t.Fatalf("the application received %v from an expired sign-on", got)
	}
}

// colorPair is a text colour, the background behind it and their
// contrast ratio.
type colorPair struct {
	Name  string  `json:"name"`
	FG    string  `json:"fg"`
	BG    string  `json:"bg"`
	Ratio float64 `json:"ratio"`
	FGLum float64 `json:"fgLum"`
	BGLum float64 `json:"bgLum"`
}

// contrastJS measures text colour against the background that shows
// behind it (the nearest ancestor with one) for each named selector.
const contrastJS = `(() => {
	// Computed colours are rgb()/rgba(), or color(srgb …) where color-mix is used.
	const rgb = c => { let m = c.match(/rgba?\(([^)]+)\)/), k = 1; if (!m) { m = c.match(/color\(srgb ([^)]+)\)/); k = 255; } if (!m) return null;
		const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
		return {r: p[0] * k, g: p[1] * k, b: p[2] * k, a: p.length > 3 ? p[3] : 1}; };
	const lum = c => { const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const bgOf = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return getComputedStyle(e).backgroundColor; }
		return 'rgb(255, 255, 255)'; };
	const out = [];
	for (const [name, sel] of Object.entries(SELECTORS)) {
		const e = document.querySelector(sel);
		if (!e || !e.checkVisibility()) continue;
		const fg = getComputedStyle(e).color, bg = bgOf(e);
		const lf = lum(rgb(fg)), lb = lum(rgb(bg));
		out.push({name, fg, bg, fgLum: lf, bgLum: lb, ratio: (Math.max(lf, lb) + 0.05) / (Math.min(lf, lb) + 0.05)});
	}
	return out;
})()`

func (b *browser) contrast(selectors map[string]string) []colorPair {
	b.T.Helper()
	j, _ := json.Marshal(selectors)
	return eval[[]colorPair](b, strings.Replace(contrastJS, "SELECTORS", string(j), 1))
}

// TestBrowserDarkMode: with the system's dark mode the page is dark with
// light text, and its text, buttons, links and errors stay readable
// (WCAG AA contrast, 4.5:1).
func TestBrowserDarkMode(t *testing.T) {
	b := newBrowser(t, desktop)
	b.Do("emulate dark mode", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	if !eval[bool](b, `matchMedia('(prefers-color-scheme: dark)').matches`) {
		b.Fail("the dark colour scheme is not emulated")
	}
	b.Shot("dark-sign-on")
	check := func(pairs []colorPair) {
		t.Helper()
		for _, p := range pairs {
			t.Logf("%-14s %s on %s: %.1f:1", p.Name, p.FG, p.BG, p.Ratio)
			if p.Ratio < 4.5 {
				t.Errorf("%s: %s on %s has contrast %.2f:1, below 4.5:1", p.Name, p.FG, p.BG, p.Ratio)
			}
		}
	}
	pairs := b.contrast(map[string]string{"body": "body", "card": "main", "heading": "h1", "label": `label[for="username"]`,
		"subtitle": ".subtitle", "input": "#username", "button": form("usernamePassword.check") + ` button[type="submit"]`,
		"link": "#forgot", "footer": ".footer"})
	for _, p := range pairs {
		switch p.Name {
		case "body", "card":
			if p.BGLum > 0.05 {
				t.Errorf("the %s background %s is not dark (luminance %.3f)", p.Name, p.BG, p.BGLum)
			}
			if p.FGLum < 0.6 {
				t.Errorf("the %s text %s is not light (luminance %.3f)", p.Name, p.FG, p.FGLum)
			}
		case "input":
			if p.BGLum > 0.05 {
				t.Errorf("the username field is %s in dark mode: a bright box", p.BG)
			}
		}
	}
	if len(pairs) < 8 {
		t.Errorf("only %d of the page's parts were measured: %+v", len(pairs), pairs)
	}
	check(pairs)

	signOnWith(b, x.fx.Username, "Not-The-Password-1!")
	showsError(t, b)
	b.Shot("dark-wrong-password")
	check(b.contrast(map[string]string{"error": "#error"}))

	// A brand colour made for light pages (a theme's) must stay readable
	// on dark ones.
	setDefaultTheme(t, x, map[string]any{"buttonColor": "#C0392B", "linkTextColor": "#C0392B"})
	b.Do("reload", chromedp.Reload())
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	b.Shot("dark-branded")
	branded := b.contrast(map[string]string{"button": form("usernamePassword.check") + ` button[type="submit"]`, "link": "#forgot"})
	if len(branded) != 2 {
		t.Fatalf("measured %+v", branded)
	}
	for _, p := range branded {
		if p.Name == "button" && !strings.Contains(p.BG, "192, 57, 43") {
			t.Errorf("the sign-on button is %s, not the brand colour", p.BG)
		}
	}
	check(branded)
}
