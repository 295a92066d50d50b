package signon_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// signOnPage opens the application's authorize URL and checks that the
// browser arrives at the hosted sign-on page of the environment.
func signOnPage(t *testing.T, b *browser, base, clientID, redirectURI, state, status string) {
	t.Helper()
	b.Navigate(authorizeURL(base, clientID, redirectURI, state))
	b.waitStatus(status)
	if u := b.url(); !strings.HasPrefix(u, base+"/signon/?flowId=") {
		t.Fatalf("authorize sent the browser to %s, not the environment's sign-on page", u)
	}
}

// noError checks that the error box is empty and hidden.
func noError(t *testing.T, b *browser) {
	t.Helper()
	if msg := b.text("#error"); msg != "" || b.visible("#error") {
		t.Errorf("the error box shows %q (visible=%v) on a page without an error", msg, b.visible("#error"))
	}
}

// showsError waits for the error box and returns its text.
func showsError(t *testing.T, b *browser) string {
	t.Helper()
	b.WaitFor("an error message in #error", `(() => { const e = document.querySelector('#error'); return e && e.innerText.trim() !== '' && e.checkVisibility(); })()`)
	if role := eval[string](b, `document.querySelector('#error').getAttribute('role') ?? ''`); role != "alert" {
		t.Errorf("#error has role %q, want alert (screen readers announce it)", role)
	}
	return b.text("#error")
}

// noRawCodes checks that a message meant for a person is not an API code
// or JSON.
func noRawCodes(t *testing.T, what, msg string) {
	t.Helper()
	for _, raw := range []string{"INVALID_", "_REQUIRED", "{", "undefined", "null", "[object"} {
		if strings.Contains(msg, raw) {
			t.Errorf("%s shows %q, which contains %q: not a message for a person", what, msg, raw)
		}
	}
}

// signOnWith types credentials into the username/password form and submits it.
func signOnWith(b *browser, username, password string) {
	b.T.Helper()
	b.typeInto("#username", username)
	b.typeInto("#password", password)
	b.submit("usernamePassword.check")
}

// TestBrowserSignOn: the application's authorize URL leads to the sign-on
// page; a username and password lead back to the application with a code
// that redeems for tokens.
func TestBrowserSignOn(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("sign-on-page")
	if h := b.text("h1"); h == "" {
		t.Errorf("the sign-on page has no heading")
	}
	if title := eval[string](b, `document.title`); strings.TrimSpace(title) == "" {
		t.Errorf("the sign-on page has no title")
	}
	for _, id := range []string{"username", "password"} {
		if l := b.labelOf(id); l == "" {
			t.Errorf("#%s has no label", id)
		}
	}
	if typ := eval[string](b, `document.querySelector('#password').type`); typ != "password" {
		t.Errorf("#password is of type %q: the password would show", typ)
	}
	noError(t, b)

	b.typeInto("#username", x.fx.Username)
	b.typeInto("#password", x.fx.Password)
	b.Shot("credentials-typed")
	b.submit("usernamePassword.check")

	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}

// TestBrowserWrongPasswordThenRight: a wrong password keeps the user on
// the page with a message that says how many attempts are left, and moves
// the focus where the user must act; the right password then signs on.
func TestBrowserWrongPasswordThenRight(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("sign-on-page")
	signOnWith(b, x.fx.Username, "Not-The-Password-1!")

	msg := showsError(t, b)
	b.Shot("wrong-password")
	// The default policy locks out after 5 failures: 4 are left.
	if !strings.Contains(msg, "4") {
		t.Errorf("the error %q does not say that 4 attempts are left", msg)
	}
	noRawCodes(t, "the wrong-password error", msg)
	if st := b.status(); st != "USERNAME_PASSWORD_REQUIRED" {
		t.Errorf("after a wrong password the page shows %s", st)
	}
	if f := b.focused(); f != "password" && f != "error" {
		t.Errorf("after the error the focus is on %q, want the password field or the error", f)
	}
	if u := eval[string](b, `document.querySelector('#username').value`); u != x.fx.Username {
		t.Errorf("the username field holds %q after the error; the user must not retype it", u)
	}

	b.typeInto("#username", x.fx.Username)
	b.typeInto("#password", x.fx.Password)
	b.Shot("right-password-typed")
	b.submit("usernamePassword.check")

	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}

// ruleStates maps each password rule of #rules to its data-ok.
func ruleStates(b *browser) map[string]string {
	return eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#rules li[data-rule]')].map(li => [li.dataset.rule, li.dataset.ok ?? '']))`)
}

// TestBrowserForcedPasswordChange: a user whose password must change gets
// the MUST_CHANGE_PASSWORD page with the policy's rules, which follow what
// is typed; a good new password leads to the application.
func TestBrowserForcedPasswordChange(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	// An administrator's temporary password (the history rule refuses the
	// current one).
	temporary := "Temporary-Pass-42!"
	r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/users/" + x.fx.UserID + "/password",
		Token: x.s.AdminToken(t), ContentType: "application/vnd.pingidentity.password.set+json",
		Body: map[string]any{"value": temporary, "forceChange": true}})
	if r.Status != http.StatusOK {
		t.Fatalf("set password: %d %s", r.Status, r.Body)
	}
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	signOnWith(b, x.fx.Username, temporary)
	b.waitStatus("MUST_CHANGE_PASSWORD")
	b.Shot("must-change-password")
	if h := b.text("h1"); h == "" {
		t.Errorf("the MUST_CHANGE_PASSWORD page has no heading")
	}
	noError(t, b)
	rules := ruleStates(b)
	if _, ok := rules["length"]; !ok || !b.visible("#rules") {
		t.Fatalf("the page does not list the password rules (length among them): %v", rules)
	}
	for rule := range rules {
		if b.text(`#rules li[data-rule="`+rule+`"]`) == "" {
			t.Errorf("rule %s has no text", rule)
		}
	}
	if !b.visible(form("password.reset")) {
		t.Fatalf("no password.reset form")
	}
	if b.visible("#currentPassword") {
		b.typeInto("#currentPassword", temporary)
	}

	b.typeInto("#newPassword", "abc")
	b.WaitFor("the length rule unmet", `document.querySelector('#rules li[data-rule="length"]')?.dataset.ok === 'false'`)
	b.Shot("weak-password")
	var unmet []string
	for rule, ok := range ruleStates(b) {
		if ok == "false" {
			unmet = append(unmet, rule)
		}
	}
	t.Logf("rules unmet by %q: %v", "abc", unmet)

	good := "Fresh-Horizon-73!q"
	b.typeInto("#newPassword", good)
	// Rules only the server can check (history, commonly used, ...) carry
	// no data-ok: every rule the page checks must be met.
	b.WaitFor("every rule met", `document.querySelector('#rules li[data-rule="length"]')?.dataset.ok === 'true' &&
		[...document.querySelectorAll('#rules li[data-ok]')].every(li => li.dataset.ok === 'true')`)
	var unchecked []string
	for rule, ok := range ruleStates(b) {
		if ok == "" {
			unchecked = append(unchecked, rule)
		}
	}
	t.Logf("rules the page does not check as one types: %v", unchecked)
	if b.visible("#confirmPassword") {
		b.typeInto("#confirmPassword", good)
	}
	b.Shot("good-password")
	b.submit("password.reset")

	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}

// TestBrowserPasswordRecovery: "Forgot password?" sends a code; the code
// and a new password lead to the application, and the new password works
// in a new browser.
func TestBrowserPasswordRecovery(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.typeInto("#username", x.fx.Username)
	if !b.visible("#forgot") {
		b.Fail("no visible #forgot button")
	}
	if tag := eval[string](b, `document.querySelector('#forgot').tagName`); tag != "BUTTON" {
		t.Errorf("#forgot is a %s, want a BUTTON", tag)
	}
	b.Do("click Forgot password", chromedp.Click(chromedp.CSS("#forgot")))
	forgot := form("password.forgot")
	b.WaitFor("the password.forgot form", `document.querySelector(`+q(forgot)+`)?.checkVisibility()`)
	b.Shot("forgot-form")
	field := forgot + ` input:not([type="hidden"])`
	if v := eval[string](b, `document.querySelector(`+q(field)+`)?.value ?? ''`); v != x.fx.Username {
		t.Errorf("the forgot form holds %q, want the username typed before (%s)", v, x.fx.Username)
		b.typeInto(field, x.fx.Username)
	}
	b.submit("password.forgot")

	b.waitStatus("RECOVERY_CODE_REQUIRED")
	b.Shot("recovery-code-page")
	noError(t, b)
	for _, id := range []string{"recoveryCode", "newPassword"} {
		if b.labelOf(id) == "" {
			t.Errorf("#%s has no label", id)
		}
	}
	m, ok := x.s.Mail.Last(x.fx.Email)
	if !ok || m.Code == "" {
		t.Fatalf("no recovery code was sent to %s", x.fx.Email)
	}
	newPassword := "Recovered-Lantern-58?"
	b.typeInto("#recoveryCode", m.Code)
	b.typeInto("#newPassword", newPassword)
	if b.visible("#confirmPassword") {
		b.typeInto("#confirmPassword", newPassword)
	}
	b.Shot("recovery-filled")
	b.submit("password.recover")

	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)

	// A new browser: no session, so the new password is asked for and works.
	b2 := b.another(desktop)
	state2 := "st-" + randomString(4)
	signOnPage(t, b2, x.base(), x.fx.AppID, x.app.RedirectURI(), state2, "USERNAME_PASSWORD_REQUIRED")
	b2.Shot("new-browser-sign-on")
	signOnWith(b2, x.fx.Username, newPassword)
	code2 := b2.landed(x.app, state2)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code2)
}

// federation is two environments: the source is an OpenID provider of the
// destination, whose sign-on policy offers it on the LOGIN action.
type federation struct {
	s                        *apptest.Server
	app                      *clientApp
	source, dest             string
	destApp, destSecret      string
	idpName                  string
	sourceUsername, destName string
	password                 string
}

// newFederation sets up the external identity provider workflow of
// PingOne's workflow library (see internal/federation/workflow_test.go),
// with a LOGIN action and the destination application's redirect URI in
// the test.
func newFederation(t *testing.T) *federation {
	t.Helper()
	s := apptest.Start(t, apptest.Options{})
	f := &federation{s: s, app: newClientApp(t), idpName: "Acme Workforce", password: "Workflow-Pass-2026!"}
	admin := s.AdminToken(t)
	api := func(method, path string, body any, want int) map[string]any {
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
	tag := randomString(4)
	env := func(name string) string {
		return api("POST", "/environments", map[string]any{"name": name + "_" + tag, "type": "SANDBOX", "region": "NA",
			"license":         map[string]string{"id": s.LicenseID(t)},
			"billOfMaterials": map[string]any{"products": []map[string]string{{"type": "PING_ONE_BASE"}}}}, 201)["id"].(string)
	}
	f.source, f.dest = env("Source_Environment"), env("Destination_Environment")
	sourceApp := api("POST", "/environments/"+f.source+"/applications", map[string]any{"enabled": true, "name": "SourceApp_" + tag,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris":            []string{s.URL + "/" + f.dest + "/rp/callback/openid_connect"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}, 201)["id"].(string)
	sourceSecret := api("GET", "/environments/"+f.source+"/applications/"+sourceApp+"/secret", nil, 200)["secret"].(string)
	src := s.URL + "/" + f.source + "/as"
	idp := api("POST", "/environments/"+f.dest+"/identityProviders", map[string]any{"enabled": true, "name": f.idpName,
		"type": "OPENID_CONNECT", "clientId": sourceApp, "clientSecret": sourceSecret, "authorizationEndpoint": src + "/authorize",
		"tokenEndpoint": src + "/token", "userInfoEndpoint": src + "/userinfo", "jwksEndpoint": src + "/jwks", "issuer": src,
		"discoveryEndpoint": src + "/.well-known/openid-configuration", "scopes": []string{"openid", "profile", "email"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, 201)["id"].(string)
	policy := api("POST", "/environments/"+f.dest+"/signOnPolicies", map[string]any{"name": "Federated_" + tag}, 201)["id"].(string)
	api("POST", "/environments/"+f.dest+"/signOnPolicies/"+policy+"/actions", map[string]any{"type": "LOGIN", "priority": 1,
		"socialProviders": []map[string]string{{"id": idp}}}, 201)
	api("PUT", "/environments/"+f.dest+"/signOnPolicies/"+policy, map[string]any{"name": "Federated_" + tag, "default": true}, 200)
	f.destApp = api("POST", "/environments/"+f.dest+"/applications", map[string]any{"enabled": true, "name": "DestinationApp_" + tag,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{f.app.RedirectURI()}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, 201)["id"].(string)
	f.destSecret = api("GET", "/environments/"+f.dest+"/applications/"+f.destApp+"/secret", nil, 200)["secret"].(string)
	user := func(envID, name, given, family string) {
		pop := api("POST", "/environments/"+envID+"/populations", map[string]any{"name": "Population_" + name}, 201)["id"].(string)
		s.CreateUser(t, envID, pop, name, name+"@example.com", given, family, f.password)
	}
	f.sourceUsername, f.destName = "source_user_"+tag, "destination_user_"+tag
	user(f.source, f.sourceUsername, "Sally", "Source")
	user(f.dest, f.destName, "Joey", "SimpleLoginUser")
	return f
}

// TestBrowserExternalIdPLinking: the provider button of the destination's
// sign-on page leads to the source's sign-on page; after the source
// credentials the destination page asks to link the account, and the
// destination credentials lead to the application.
func TestBrowserExternalIdPLinking(t *testing.T) {
	b := newBrowser(t, desktop)
	f := newFederation(t)
	state := "st-" + randomString(4)
	destBase, sourceBase := f.s.URL+"/"+f.dest, f.s.URL+"/"+f.source

	signOnPage(t, b, destBase, f.destApp, f.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("destination-sign-on")
	provider := `a.provider`
	if got := b.text(provider); got != "Sign on with "+f.idpName {
		t.Errorf("the provider button reads %q, want %q", got, "Sign on with "+f.idpName)
	}
	if href := eval[string](b, `document.querySelector('a.provider')?.href ?? ''`); !strings.HasPrefix(href, destBase+"/rp/authenticate?") {
		t.Fatalf("the provider button goes to %q", href)
	}
	b.Do("click the provider button", chromedp.Click(chromedp.CSS(provider)))

	b.waitURL(sourceBase + "/signon/?flowId=")
	b.waitStatus("USERNAME_PASSWORD_REQUIRED")
	b.Shot("source-sign-on")
	signOnWith(b, f.sourceUsername, f.password)

	b.waitURL(destBase + "/signon/?flowId=")
	b.waitStatus("ACCOUNT_LINKING_REQUIRED")
	b.Shot("account-linking")
	if h := b.text("h1"); h == "" {
		t.Errorf("the account-linking page has no heading")
	}
	if txt := b.text("main"); !strings.Contains(txt, f.idpName) {
		t.Errorf("the account-linking page does not name the provider %q: %q", f.idpName, txt)
	}
	noError(t, b)
	signOnWith(b, f.destName, f.password)

	code := b.landed(f.app, state)
	exchange(t, f.s, f.dest, f.destApp, f.destSecret, f.app.RedirectURI(), code)
}

// focusStyle describes the focused element's focus indicator.
type focusStyle struct {
	ID           string `json:"id"`
	OutlineStyle string `json:"outlineStyle"`
	OutlineWidth string `json:"outlineWidth"`
	OutlineColor string `json:"outlineColor"`
	BoxShadow    string `json:"boxShadow"`
}

func (s focusStyle) visible() bool {
	return (s.OutlineStyle != "none" && s.OutlineWidth != "0px") || (s.BoxShadow != "" && s.BoxShadow != "none")
}

func (b *browser) focusStyle() focusStyle {
	return eval[focusStyle](b, `(() => { const e = document.activeElement; const s = getComputedStyle(e);
		return {id: e.id, outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, outlineColor: s.outlineColor, boxShadow: s.boxShadow}; })()`)
}

// describeFocus names the focused element for a log of the tab order.
func (b *browser) describeFocus() string {
	return eval[string](b, `(() => { const e = document.activeElement; if (!e || e === document.body) return 'body';
		return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.innerText ? ' "' + e.innerText.trim().slice(0, 30) + '"' : ''); })()`)
}

// TestBrowserKeyboardOnly: with only the keyboard, from the page load: the
// username field has the focus, Tab reaches the password, Enter signs on.
// Each focused field shows a focus indicator.
func TestBrowserKeyboardOnly(t *testing.T) {
	b := newBrowser(t, desktop)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.WaitFor("the focus on #username", `document.activeElement?.id === 'username'`)
	b.Shot("initial-focus")
	order := []string{b.focused()}
	if st := b.focusStyle(); !st.visible() {
		t.Errorf("the focused username field shows no focus indicator: %+v", st)
	}

	b.Do("type the username", chromedp.KeyEvent(x.fx.Username))
	b.Do("Tab", chromedp.KeyEvent(kb.Tab))
	order = append(order, b.focused())
	if order[1] != "password" {
		b.Fail("Tab from the username went to %q, want password", order[1])
	}
	if st := b.focusStyle(); !st.visible() {
		t.Errorf("the focused password field shows no focus indicator: %+v", st)
	}
	b.Do("type the password", chromedp.KeyEvent(x.fx.Password))
	b.Shot("password-focused")
	if v := eval[string](b, `document.querySelector('#username').value`); v != x.fx.Username {
		t.Fatalf("the username field holds %q", v)
	}

	// The rest of the tab order, for the report, then back to the password.
	var rest []string
	for range 6 {
		b.Do("Tab", chromedp.KeyEvent(kb.Tab))
		d := b.describeFocus()
		rest = append(rest, d)
		if st := b.focusStyle(); !st.visible() && d != "body" {
			t.Errorf("the focused %s shows no focus indicator: %+v", d, st)
		}
		if d == "body" {
			break
		}
	}
	t.Logf("tab order: #%s, #%s, then %s", order[0], order[1], strings.Join(rest, ", "))
	for range rest {
		b.Do("Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	if f := b.focused(); f != "password" {
		b.Fail("Shift+Tab did not come back to the password field, but to %q", f)
	}

	b.Do("Enter", chromedp.KeyEvent(kb.Enter))
	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}

// TestBrowserNarrowScreen: on a 360 px wide phone the page does not scroll
// sideways and the sign-on button is on the screen.
func TestBrowserNarrowScreen(t *testing.T) {
	vp := phone
	b := newBrowser(t, vp)
	x := newSite(t)
	state := "st-" + randomString(4)

	signOnPage(t, b, x.base(), x.fx.AppID, x.app.RedirectURI(), state, "USERNAME_PASSWORD_REQUIRED")
	b.Shot("narrow-sign-on")
	if w := eval[int](b, `window.innerWidth`); w != vp.Width {
		t.Errorf("the layout viewport is %d px wide, not %d: is <meta name=viewport> missing?", w, vp.Width)
	}
	if sw := eval[int](b, `document.documentElement.scrollWidth`); sw > vp.Width {
		t.Errorf("the page is %d px wide at %d px: it scrolls sideways", sw, vp.Width)
	}
	type rect struct{ Left, Right, Top, Bottom, Width, Height float64 }
	btn := form("usernamePassword.check") + ` button[type="submit"]`
	if !b.visible(btn) {
		b.Fail("the sign-on button is not visible")
	}
	for _, sel := range []string{"#username", "#password", btn} {
		r := eval[rect](b, `(() => { const r = document.querySelector(`+q(sel)+`).getBoundingClientRect();
			return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom, Width: r.width, Height: r.height}; })()`)
		if r.Left < 0 || r.Right > float64(vp.Width) || r.Top < 0 || r.Bottom > float64(vp.Height) || r.Width == 0 {
			t.Errorf("%s is not fully on the %dx%d screen: %+v", sel, vp.Width, vp.Height, r)
		}
		if r.Height < 24 {
			t.Errorf("%s is %.0f px tall: too small a touch target", sel, r.Height)
		}
	}
	signOnWith(b, x.fx.Username, x.fx.Password)
	code := b.landed(x.app, state)
	exchange(t, x.s, x.fx.EnvID, x.fx.AppID, x.fx.AppSecret, x.app.RedirectURI(), code)
}
