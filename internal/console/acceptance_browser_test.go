package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestConsoleAcceptance is issue 19's acceptance, on SQLite and
// PostgreSQL: every step is driven through the console's screens in
// Chromium, and after every write the API's state is read back through
// /v1 with the bootstrap worker's token.
func TestConsoleAcceptance(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			x := &tour{s: s, tag: uuid.NewString()[:6], rp: newRelyingParty(t)}
			x.b = newBrowser(t, desktop)
			x.worker = s.AdminToken(t)
			steps := []struct {
				name string
				fn   func(t *testing.T)
			}{
				{"first sign-on with the forced password change", x.firstSignOn},
				{"environment population user application", x.setUp},
				{"the user signs on to the application", x.userSignsOn},
				{"bad input shows the API's error at the field", x.badInput},
				{"an expired token keeps the form", x.expiredToken},
				{"keyboard only", x.keyboardOnly},
				{"360 px and dark mode", x.layout},
				{"read-only administrator", x.readOnly},
			}
			for _, st := range steps {
				if !t.Run(st.name, func(t *testing.T) { x.use(t); st.fn(t) }) {
					t.Fatalf("%s failed: the steps after it need it", st.name)
				}
			}
		})
	}
}

// tour is what the acceptance's steps build, in order.
type tour struct {
	s      *apptest.Server
	worker string // the bootstrap worker's token: the API's state is read with it
	tag    string
	b      *browser // the bootstrap administrator's browser
	rp     *relyingParty

	adminUsername string
	adminPassword string // the administrator's password after the forced change

	envID, envName   string
	popID, popName   string
	userID, username string
	userPassword     string
	appID, appName   string
	secret           string
}

// use makes the browsers fail the running step.
func (x *tour) use(t *testing.T) { x.b.T = t }

// api is a /v1 request with the worker's token (or tok) that must answer
// want; it returns the decoded body.
func (x *tour) api(t *testing.T, method, path, tok string, body any, want int) map[string]any {
	t.Helper()
	if tok == "" {
		tok = x.worker
	}
	r := x.s.Do(t, apptest.Request{Method: method, URL: path, Token: tok, Body: body})
	if r.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// items is a collection's members whose field equals value, read through
// every page.
func (x *tour) items(t *testing.T, path, member, field, value string) []map[string]any {
	t.Helper()
	var out []map[string]any
	u := path
	for u != "" {
		m := x.api(t, "GET", u, "", nil, http.StatusOK)
		emb, _ := m["_embedded"].(map[string]any)
		list, _ := emb[member].([]any)
		for _, it := range list {
			o := it.(map[string]any)
			if fmt.Sprint(o[field]) == value {
				out = append(out, o)
			}
		}
		u = ""
		if l, ok := m["_links"].(map[string]any)["next"].(map[string]any); ok {
			u = l["href"].(string)
		}
	}
	return out
}

// one is the single member whose field equals value.
func (x *tour) one(t *testing.T, path, member, field, value string) map[string]any {
	t.Helper()
	got := x.items(t, path, member, field, value)
	if len(got) != 1 {
		t.Fatalf("%s: %d %s with %s %q, want 1", path, len(got), member, field, value)
	}
	return got[0]
}

// consoleURL is the console's address.
func (x *tour) consoleURL() string { return x.s.URL + "/console/" }

// signOnConsole opens the console in b, which sends the browser to the
// Administrators environment's hosted sign-on page; username and
// password lead back to the console, signed on.
func (x *tour) signOnConsole(b *browser, username, password string) {
	b.T.Helper()
	b.Navigate(x.consoleURL())
	b.WaitFor("the hosted sign-on page", `location.href.startsWith(`+q(x.s.URL+"/"+x.s.Admin.EnvironmentID+"/signon/")+`)`)
	b.signOnAs(username, password)
	x.signedOn(b)
}

// signedOn waits for the console, signed on, on some screen.
func (x *tour) signedOn(b *browser) {
	b.T.Helper()
	b.WaitFor("the console, signed on", `location.href.startsWith(`+q(x.consoleURL())+`) && !document.getElementById('who')?.hidden && document.querySelector('main h1') !== null`)
	if u := b.url(); strings.Contains(u, "code=") || strings.Contains(u, "state=") {
		b.Fail("the authorization code stays in the address bar: %s", u)
	}
}

// consoleToken is the access token the console keeps for the tab.
func consoleToken(b *browser) (access, refresh string) {
	b.T.Helper()
	raw := eval[string](b, `sessionStorage.getItem('gatehouse.console.token') ?? ''`)
	var tok struct{ Access, Refresh string }
	if err := json.Unmarshal([]byte(raw), &tok); err != nil || tok.Access == "" {
		b.Fail("the console keeps no token: %q", raw)
	}
	return tok.Access, tok.Refresh
}

// (a) The bootstrap administrator's first sign-on: the one-time password
// of the bootstrap file, then the forced change.
func (x *tour) firstSignOn(t *testing.T) {
	b, s := x.b, x.s
	var file struct {
		Username, Password, ConsoleURL, ConsoleClientID string
	}
	x.readBootstrapFile(t, &file)
	if file.Username == "" || file.Password == "" || file.ConsoleURL != x.consoleURL() || file.ConsoleClientID == "" {
		t.Fatalf("the bootstrap file lacks the console's sign-on: %+v", file)
	}
	b.Navigate(x.consoleURL())
	b.WaitFor("the hosted sign-on page", `location.href.startsWith(`+q(s.URL+"/"+s.Admin.EnvironmentID+"/signon/")+`)`)
	b.signOnAs(file.Username, file.Password)
	b.waitStatus("MUST_CHANGE_PASSWORD")
	b.Shot("must-change-password")
	x.adminUsername = file.Username
	// Fixed, not random: a random part could repeat a character three
	// times and break the password policy (maxRepeatedCharacters).
	x.adminPassword = "Console-Tour-Harbor-9!"
	if eval[bool](b, byLabel("Current password")+` !== null`) {
		b.fill("Current password", file.Password)
	}
	b.fill("New password", x.adminPassword)
	if eval[bool](b, byLabel("Confirm new password")+` !== null`) {
		b.fill("Confirm new password", x.adminPassword)
	}
	b.click(`form[data-action="password.reset"] button[type="submit"]`, "")
	x.signedOn(b)
	b.heading("Environments")
	b.WaitFor("the administrator's name", `document.getElementById('who')?.textContent.includes(`+q(file.Username)+`)`)
	b.Shot("console-signed-on")

	// The API: the administrator's password no longer must change, and
	// the console's token reads /v1 as that user.
	admins := x.one(t, "/environments/"+s.Admin.EnvironmentID+"/users", "users", "username", file.Username)
	pw := x.api(t, "GET", "/environments/"+s.Admin.EnvironmentID+"/users/"+admins["id"].(string)+"/password", "", nil, http.StatusOK)
	if pw["status"] != "OK" {
		t.Errorf("after the forced change the password's status is %v, want OK", pw["status"])
	}
	tok, _ := consoleToken(b)
	x.api(t, "GET", "/environments", tok, nil, http.StatusOK)
}

func (x *tour) readBootstrapFile(t *testing.T, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(x.s.Dir, "gatehouse-admin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// (b) An environment, a population, a user with a password and a web
// application with a redirect URI, each through its screen.
func (x *tour) setUp(t *testing.T) {
	b := x.b
	// Environment.
	x.envName = "Console tour " + x.tag
	b.route("#/environments")
	b.heading("Environments")
	b.press("New environment")
	b.heading("New environment")
	b.fill("Name", x.envName)
	b.choose("Type", "SANDBOX")
	b.choose("Region", "NA")
	if b.value("License") == "" {
		b.Fail("the License select holds no license")
	}
	b.Shot("new-environment")
	b.press("Create environment")
	b.heading(x.envName)
	env := x.one(t, "/environments", "environments", "name", x.envName)
	x.envID = env["id"].(string)
	if env["type"] != "SANDBOX" || env["region"] != "NA" {
		t.Errorf("the environment is %v %v, want SANDBOX NA", env["type"], env["region"])
	}
	if !strings.Contains(b.url(), "#/env/"+x.envID+"/") {
		t.Errorf("after the create the console shows %s, not the environment", b.url())
	}
	b.Shot("environment")
	envPath := "/environments/" + x.envID

	// Population.
	x.popName = "Staff " + x.tag
	b.press("Populations")
	b.heading("Populations")
	b.press("New population")
	b.fill("Name", x.popName)
	b.press("Create population")
	b.WaitFor("the population created", `document.querySelector('main h1')?.textContent.trim() !== 'New population'`)
	x.popID = x.one(t, envPath+"/populations", "populations", "name", x.popName)["id"].(string)
	b.Shot("population")

	// User, with a password set on its Password tab.
	x.username = "pat." + x.tag
	b.press("Users")
	b.heading("Users")
	b.press("New user")
	b.fill("Username", x.username)
	b.fill("Email", x.username+"@example.com")
	b.choose("Population", x.popName)
	b.Shot("new-user")
	b.press("Create user")
	b.WaitFor("the user's page", byText("Password")+` !== null && `+byText("Profile")+` !== null`)
	u := x.one(t, envPath+"/users", "users", "username", x.username)
	x.userID = u["id"].(string)
	if pop, _ := u["population"].(map[string]any); pop == nil || pop["id"] != x.popID {
		t.Errorf("the user is in population %v, want %s", u["population"], x.popID)
	}
	if u["email"] != x.username+"@example.com" {
		t.Errorf("the user's email is %v", u["email"])
	}
	b.pressTab("Password")
	x.userPassword = "Pat-Signs-On-Quill!7"
	b.fill("New password", x.userPassword)
	b.setChecked("Require a change at next sign-on", false)
	b.Shot("set-password")
	b.press("Set password")
	pwPath := envPath + "/users/" + x.userID + "/password"
	deadline := time.Now().Add(waitTimeout)
	for {
		pw := x.api(t, "GET", pwPath, "", nil, http.StatusOK)
		if pw["status"] == "OK" {
			break
		}
		if time.Now().After(deadline) {
			b.Fail("the user's password status is %v after Set password, want OK", pw["status"])
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Web application with the relying party's redirect URI.
	x.appName = "Tour app " + x.tag
	b.press("Applications")
	b.heading("Applications")
	b.press("New application")
	b.fill("Name", x.appName)
	b.choose("Type", "Web app")
	b.fill("Redirect URIs", x.rp.RedirectURI())
	b.Shot("new-application")
	b.press("Create application")
	b.WaitFor("the application's page", byText("Reveal secret")+` !== null`)
	app := x.one(t, envPath+"/applications", "applications", "name", x.appName)
	x.appID = app["id"].(string)
	if app["type"] != "WEB_APP" || fmt.Sprint(app["redirectUris"]) != fmt.Sprint([]any{x.rp.RedirectURI()}) {
		t.Errorf("the application is %v with redirect URIs %v", app["type"], app["redirectUris"])
	}
	shown := eval[string](b, `(() => { const dt = [...document.querySelectorAll('main dt')].find((d) => d.textContent.trim() === 'Client ID');
		return dt ? (dt.nextElementSibling?.querySelector('code')?.textContent.trim() ?? '') : ''; })()`)
	if shown != x.appID {
		t.Errorf("the application's page shows Client ID %q, want %s", shown, x.appID)
	}
	if n := eval[int](b, `document.querySelectorAll('code.secret-value').length`); n != 0 {
		t.Errorf("the secret shows before Reveal secret")
	}
	b.press("Reveal secret")
	b.WaitFor("the secret", `document.querySelector('code.secret-value')?.textContent.trim().length > 0`)
	x.secret = eval[string](b, `document.querySelector('code.secret-value').textContent.trim()`)
	sec := x.api(t, "GET", envPath+"/applications/"+x.appID+"/secret", "", nil, http.StatusOK)
	if sec["secret"] != x.secret {
		t.Errorf("the console revealed %q, the API holds another secret", x.secret)
	}
	if strings.Contains(b.url(), x.secret) {
		t.Errorf("the secret is in the URL")
	}
	if eval[bool](b, `Object.values(sessionStorage).concat(Object.values(localStorage)).some((v) => v.includes(`+q(x.secret)+`))`) {
		t.Errorf("the secret is kept in the browser's storage")
	}
	try := eval[string](b, `(`+byText("Try sign-on")+`)?.href ?? ''`)
	if !contains(try, x.s.URL+"/"+x.envID+"/as/authorize?", "client_id="+x.appID) {
		t.Errorf("Try sign-on links to %q, not the application's authorize", try)
	}
	b.Shot("application")
}

// (c) The user signs on to the web application through the hosted page;
// the application redeems the code with the secret the console revealed
// and checks the ID token.
func (x *tour) userSignsOn(t *testing.T) {
	ctx := context.Background()
	issuer := x.s.URL + "/" + x.envID + "/as"
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: x.appID, ClientSecret: x.secret, Endpoint: provider.Endpoint(), RedirectURL: x.rp.RedirectURI(),
		Scopes: []string{oidc.ScopeOpenID, "profile"}}
	state, nonce, verifier := uuid.NewString(), uuid.NewString(), oauth2.GenerateVerifier()
	u := x.b.another("user-", desktop)
	u.T = t
	u.Navigate(conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if !strings.HasPrefix(u.url(), x.s.URL+"/"+x.envID+"/signon/") {
		t.Fatalf("the application's authorize sent the browser to %s, not the environment's sign-on page", u.url())
	}
	u.signOnAs(x.username, x.userPassword)
	u.WaitFor("the application's page", `location.href.startsWith(`+q(x.rp.RedirectURI()+"?")+`) && document.querySelector('#app') !== null`)
	u.Shot("application-signed-on")
	got := x.rp.last()
	if got.Get("state") != state || got.Get("code") == "" {
		t.Fatalf("the application received %v", got)
	}
	tok, err := conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := provider.Verifier(&oidc.Config{ClientID: x.appID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	if id.Subject != x.userID || id.Nonce != nonce {
		t.Errorf("the ID token is of %s with nonce %q, want %s and %q", id.Subject, id.Nonce, x.userID, nonce)
	}
}

// (e) Invalid values: the API's error shows at the field it names, and
// nothing is written.
func (x *tour) badInput(t *testing.T) {
	b := x.b
	envPath := "/environments/" + x.envID
	// A second population of the same name: refused by the API.
	b.route("#/env/" + x.envID + "/populations/new")
	b.fill("Name", x.popName)
	b.press("Create population")
	b.WaitFor("an error at Name", byLabel("Name")+`?.getAttribute('aria-invalid') !== null`)
	b.Shot("duplicate-population")
	shown := b.fieldError("Name")
	// The same request's answer, which writes nothing either.
	r := x.s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/populations", Token: x.worker, Body: map[string]any{"name": x.popName}})
	if r.Status != http.StatusBadRequest && r.Status != http.StatusConflict {
		t.Fatalf("the API took a duplicate population: %d %s", r.Status, r.Body)
	}
	if want := detailMessages(t, r.Body); shown == "" || !strings.Contains(want, shown) {
		t.Errorf("the Name field shows %q, the API says %q", shown, want)
	}
	if n := len(x.items(t, envPath+"/populations", "populations", "name", x.popName)); n != 1 {
		t.Errorf("%d populations named %q, want 1", n, x.popName)
	}
	if h := b.h1(); h != "New population" {
		t.Errorf("after the error the screen is %q, want the form still", h)
	}

	// An application whose redirect URI is no URI.
	bad := "Bad app " + x.tag
	b.route("#/env/" + x.envID + "/applications/new")
	b.heading("New application")
	b.fill("Name", bad)
	b.choose("Type", "Web app")
	b.fill("Redirect URIs", "not a uri")
	b.press("Create application")
	b.WaitFor("an error at Redirect URIs", byLabel("Redirect URIs")+`?.getAttribute('aria-invalid') !== null`)
	b.Shot("invalid-redirect-uri")
	shown = b.fieldError("Redirect URIs")
	r = x.s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/applications", Token: x.worker, Body: map[string]any{
		"name": bad, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
		"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"not a uri"}}})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("the API took the redirect URI \"not a uri\": %d %s", r.Status, r.Body)
	}
	if want := detailMessages(t, r.Body); shown == "" || !strings.Contains(want, shown) {
		t.Errorf("the Redirect URIs field shows %q, the API says %q", shown, want)
	}
	if b.fieldError("Name") != "" {
		t.Errorf("the Name field shows an error for the redirect URI's: %q", b.fieldError("Name"))
	}
	if n := len(x.items(t, envPath+"/applications", "applications", "name", bad)); n != 0 {
		t.Errorf("%d applications named %q were written", n, bad)
	}
}

// detailMessages is a PingOne error body's details' messages, one string.
func detailMessages(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		ID, Code, Message string
		Details           []struct{ Code, Target, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" || e.Code == "" {
		t.Fatalf("not PingOne's error shape: %s", body)
	}
	var out []string
	for _, d := range e.Details {
		out = append(out, d.Message)
	}
	return strings.Join(out, " | ")
}

// (f) The token stops working while a form is filled in: the submit
// signs on again and comes back to the form with its values; submitting
// then writes. Twice: with the session ended too (its refresh token
// revoked: the sign-on page asks for the password), and with the session
// alive (only the access token revoked, the refresh token no longer
// taken: single sign-on brings the administrator straight back).
func (x *tour) expiredToken(t *testing.T) {
	for _, c := range []struct {
		name      string
		sessionUp bool
	}{{"Contractors " + x.tag, false}, {"Interns " + x.tag, true}} {
		x.refill(t, c.name, c.sessionUp)
	}
}

func (x *tour) refill(t *testing.T, name string, sessionUp bool) {
	b := x.b
	envPath := "/environments/" + x.envID
	description := "Filled in before the token ended"
	b.route("#/env/" + x.envID + "/populations/new")
	b.heading("New population")
	b.fill("Name", name)
	b.fill("Description", description)
	access, refresh := consoleToken(b)
	revoke := []string{access, refresh}
	if sessionUp {
		// A refresh token revoked would end the session: this one is
		// only made unusable in the tab, as an expired one is.
		revoke = revoke[:1]
		eval[bool](b, `(() => { const k = 'gatehouse.console.token'; const v = JSON.parse(sessionStorage.getItem(k)); v.refresh = 'expired'; sessionStorage.setItem(k, JSON.stringify(v)); return true; })()`)
	}
	for _, tok := range revoke {
		if tok == "" {
			continue
		}
		r := x.s.Do(t, apptest.Request{Method: "POST", URL: x.s.URL + "/" + x.s.Admin.EnvironmentID + "/as/revoke",
			ContentType: "application/x-www-form-urlencoded", Body: url.Values{"token": {tok}, "client_id": {x.s.Admin.ConsoleClientID}}.Encode()})
		if r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
	}
	if r := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: access}); r.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked token still reads /v1: %d", r.Status)
	}
	// The page this submit leaves: the sign-on replaces it.
	eval[bool](b, `(window.beforeSignOn = true)`)
	b.press("Create population")
	if !sessionUp {
		b.WaitFor("the sign-on page", `!window.beforeSignOn && location.href.startsWith(`+q(x.s.URL+"/"+x.s.Admin.EnvironmentID+"/signon/")+`)`)
		b.signOnAs(x.adminUsername, x.adminPassword)
	}
	// Back from the sign-on, on the same form, with its values (with the
	// session alive, without a password typed).
	b.WaitFor("the form back after the sign-on", `!window.beforeSignOn && location.href.startsWith(`+q(x.consoleURL())+`) && document.querySelector('main h1')?.textContent.trim() === 'New population' && `+
		byLabel("Name")+`?.value === `+q(name))
	b.Shot("form-restored")
	if again, _ := consoleToken(b); again == access {
		t.Errorf("the console kept the revoked token")
	}
	if d := b.value("Description"); d != description {
		t.Errorf("the Description came back as %q", d)
	}
	if n := len(x.items(t, envPath+"/populations", "populations", "name", name)); n != 0 {
		t.Fatalf("the refused submit wrote %d populations", n)
	}
	b.press("Create population")
	b.WaitFor("the population created", `document.querySelector('main h1')?.textContent.trim() !== 'New population'`)
	p := x.one(t, envPath+"/populations", "populations", "name", name)
	if p["description"] != description {
		t.Errorf("the population's description is %v", p["description"])
	}
}

// focusState is the focused element: what it is, its accessible name and
// whether a focus ring shows.
type focusState struct {
	Tag, Role, Name, Text, Href string
	Ring                        bool
	Body                        bool
}

const jsFocus = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return JSON.stringify({Body: true});
  const text = (s) => (s || '').replace(/\s+/g, ' ').trim();
  // What a screen reader reads of a node: aria-hidden parts left out.
  const read = (n) => { if (!n) return ''; const c = n.cloneNode(true); c.querySelectorAll('[aria-hidden="true"]').forEach((h) => h.remove()); return c.textContent; };
  let name = '';
  if (e.getAttribute('aria-labelledby')) name = e.getAttribute('aria-labelledby').split(/\s+/).map((id) => text(read(document.getElementById(id)))).join(' ');
  if (!name) name = text(e.getAttribute('aria-label'));
  if (!name && e.labels && e.labels.length) name = text([...e.labels].map(read).join(' '));
  if (!name && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)) name = text(read(e));
  if (!name) name = text(e.getAttribute('title'));
  const cs = getComputedStyle(e);
  const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1) || (cs.boxShadow && cs.boxShadow !== 'none');
  return JSON.stringify({Tag: e.tagName, Role: e.getAttribute('role') || '', Name: name, Text: text(e.textContent).slice(0, 60), Href: e.getAttribute('href') || '', Ring: ring});
})()`

func (b *browser) focus() focusState {
	b.T.Helper()
	var f focusState
	if err := json.Unmarshal([]byte(eval[string](b, jsFocus)), &f); err != nil {
		b.Fail("focus: %v", err)
	}
	return f
}

// tabTo presses Tab (Shift+Tab when back) until the focused element
// satisfies match, checking every element it passes: a focus ring and an
// accessible name.
func (b *browser) tabTo(what string, back bool, match func(focusState) bool) {
	b.T.Helper()
	for i := 0; i < 80; i++ {
		b.key(kb.Tab, back)
		f := b.focus()
		if f.Body {
			continue
		}
		if !f.Ring {
			b.Shot("no-focus-ring")
			b.T.Errorf("the focused %s %q shows no focus ring", f.Tag, f.Name)
		}
		if f.Name == "" {
			b.T.Errorf("the focused %s (%s) has no accessible name", f.Tag, f.Text)
		}
		if match(f) {
			return
		}
	}
	b.Fail("Tab never reached %s", what)
}

// (g) Keyboard only: Tab, Shift+Tab, arrow keys, Enter and Space reach
// the navigation, the Users screen, a user's tabs, and create a
// population.
func (x *tour) keyboardOnly(t *testing.T) {
	b := x.b
	envPath := "/environments/" + x.envID
	b.route("#/env/" + x.envID + "/overview")
	b.heading(x.envName)
	isLink := func(label string) func(focusState) bool {
		return func(f focusState) bool { return f.Tag == "A" && f.Name == label }
	}
	b.tabTo("the Users link", false, isLink("Users"))
	b.key(kb.Enter, false)
	b.heading("Users")
	b.Shot("keyboard-users")
	// Into the list: the user's row link opens the user.
	b.tabTo("the user's link", false, func(f focusState) bool { return f.Tag == "A" && strings.Contains(f.Name, x.username) })
	b.key(kb.Enter, false)
	b.WaitFor("the user's page", byText("Password")+` !== null`)
	// The tabs: Tab reaches the selected one, arrows move between them.
	b.tabTo("the user's tabs", false, func(f focusState) bool { return f.Role == "tab" })
	start := b.focus().Name
	b.key(kb.ArrowRight, false)
	if f := b.focus(); f.Role != "tab" || f.Name == start {
		t.Errorf("ArrowRight from the tab %q focused %s %q, want the next tab", start, f.Tag, f.Name)
	}
	b.key(kb.ArrowLeft, false)
	if f := b.focus(); f.Name != start {
		t.Errorf("ArrowLeft came back to %q, want %q", f.Name, start)
	}
	// Back to the navigation with Shift+Tab, then Populations.
	b.tabTo("the Populations link", true, isLink("Populations"))
	b.key(kb.Enter, false)
	b.heading("Populations")
	b.tabTo("New population", false, isLink("New population"))
	b.key(kb.Enter, false)
	b.heading("New population")
	b.tabTo("the Name field", false, func(f focusState) bool { return f.Tag == "INPUT" && f.Name == "Name" })
	name := "Keyboard " + x.tag
	b.Do("type the name", chromedp.KeyEvent(name))
	b.tabTo("Create population", false, func(f focusState) bool { return f.Tag == "BUTTON" && f.Name == "Create population" })
	b.Shot("keyboard-create-population")
	b.key(" ", false)
	b.WaitFor("the population created", `document.querySelector('main h1')?.textContent.trim() !== 'New population'`)
	x.one(t, envPath+"/populations", "populations", "name", name)
}

// mainScreens are the routes the layout checks and screenshots visit.
func (x *tour) mainScreens() []struct{ name, hash string } {
	e := "#/env/" + x.envID
	return []struct{ name, hash string }{
		{"environments", "#/environments"},
		{"environment", e + "/overview"},
		{"users", e + "/users"},
		{"user", e + "/users/" + x.userID},
		{"populations", e + "/populations"},
		{"applications", e + "/applications"},
		{"application", e + "/applications/" + x.appID},
		{"sign-on policies", e + "/signOnPolicies"},
		{"branding", e + "/branding"},
		{"activities", e + "/activities"},
	}
}

// emulate changes the window and the colour scheme of an open browser.
func (b *browser) emulate(vp viewport) {
	b.T.Helper()
	var opts []chromedp.EmulateViewportOption
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	scheme := "light"
	if vp.dark {
		scheme = "dark"
	}
	b.Do("emulate", chromedp.EmulateViewport(int64(vp.width), int64(vp.height), opts...),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}))
}

// waitScreen waits until a screen has drawn: a heading and no "Loading…".
func (b *browser) waitScreen() {
	b.T.Helper()
	b.WaitFor("the screen drawn", `document.querySelector('main h1') !== null && ![...document.querySelectorAll('main p')].some((p) => p.textContent.trim() === 'Loading…')`)
}

// jsContrast is the contrast ratio of the body's text on its background
// (WCAG 2's relative luminance), the first opaque background up from body.
const jsContrast = `(() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let bg = null;
  for (let e = document.body; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) { bg = c; break; } }
  if (!bg) bg = [255, 255, 255];
  const fg = rgb(getComputedStyle(document.body).color);
  const a = lum(fg), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
})()`

// At 360 px the main screens fit without horizontal scrolling; in dark
// mode the page is dark and its text keeps a contrast of at least 4.5.
func (x *tour) layout(t *testing.T) {
	b := x.b
	b.emulate(phone)
	for _, sc := range x.mainScreens() {
		b.route(sc.hash)
		b.waitScreen()
		if w := eval[int](b, `document.scrollingElement.scrollWidth`); w > 360 {
			b.Shot("overflow-" + sc.name)
			t.Errorf("%s at 360 px: the page is %d px wide", sc.name, w)
		}
	}
	b.route("#/env/" + x.envID + "/users")
	b.waitScreen()
	b.Shot("phone-users")
	b.emulate(viewport{width: desktop.width, height: desktop.height, dark: true})
	for _, sc := range x.mainScreens() {
		b.route(sc.hash)
		b.waitScreen()
		if c := eval[float64](b, jsContrast); c < 4.5 {
			t.Errorf("%s in dark mode: body text contrast %.2f, want at least 4.5", sc.name, c)
		}
	}
	if dark := eval[bool](b, `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/[\d.]+/g).map(Number); return m[0] + m[1] + m[2] < 3 * 96; })()`); !dark {
		t.Errorf("in dark mode the body's background is %s", eval[string](b, `getComputedStyle(document.body).backgroundColor`))
	}
	b.Shot("dark-users")
	b.emulate(desktop)
}

// (d) An administrator holding only read-only roles over the environment
// sees no control that writes, and the API refuses its writes.
func (x *tour) readOnly(t *testing.T) {
	username, password := x.newReader(t)
	rb := x.b.another("reader-", desktop)
	rb.T = t
	x.signOnConsole(rb, username, password)
	e := "#/env/" + x.envID
	// Each screen must show its data (a screen that failed to load would
	// show no control either), and no control that writes.
	screens := []struct{ name, hash, shows string }{
		{"environments", "#/environments", x.envName},
		{"environment", e + "/overview", x.envName},
		{"populations", e + "/populations", x.popName},
		{"users", e + "/users", x.username},
		{"user", e + "/users/" + x.userID, x.username},
		{"applications", e + "/applications", x.appName},
		{"application", e + "/applications/" + x.appID, x.appID},
		{"sign-on policies", e + "/signOnPolicies", x.items(t, "/environments/"+x.envID+"/signOnPolicies", "signOnPolicies", "default", "true")[0]["name"].(string)},
		{"branding", e + "/branding", "Branding and themes"},
	}
	for _, sc := range screens {
		rb.route(sc.hash)
		rb.waitScreen()
		rb.WaitFor(sc.name+" showing "+q(sc.shows), `document.querySelector('main').innerText.includes(`+q(sc.shows)+`)`)
		if n := eval[int](rb, `document.querySelectorAll('main .notice.error, main [role="alert"]:not(:empty)').length`); n != 0 {
			rb.Shot("error-" + sc.name)
			t.Errorf("the read-only administrator gets an error on %s", sc.name)
		}
		// The user's page: its tabs hold forms too.
		tabs := eval[[]string](rb, `[...document.querySelectorAll('main [role="tab"]')].map((t) => t.textContent.trim())`)
		for i := -1; i < len(tabs); i++ {
			if i >= 0 {
				rb.pressTab(tabs[i])
				rb.waitScreen()
			}
			edits := eval[[]string](rb, `(() => { `+jsNorm+`
				const out = [];
				for (const e of document.querySelectorAll('main a[href], main button, main input[type="submit"]')) {
					if (!shown(e)) continue;
					const s = norm(e.textContent);
					if (/^New\b/.test(s) || /^(Delete|Remove|Rotate|Disable|Enable|Unlock|Add|Set|Save|Create)\b/.test(s)) out.push(s);
					else if (e.type === 'submit' && !e.closest('[role="search"]')) out.push(s);
				}
				return out; })()`)
			if len(edits) > 0 {
				where := sc.name
				if i >= 0 {
					where += " (" + tabs[i] + " tab)"
				}
				rb.Shot("edit-controls-" + sc.name)
				t.Errorf("the read-only administrator sees edit controls on %s: %q", where, edits)
			}
		}
		if sc.name == "users" {
			rb.Shot("read-only-users")
		}
	}
	// The API refuses the reader's write with PingOne's body.
	tok, _ := consoleToken(rb)
	res := x.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.envID + "/populations", Token: tok, Body: map[string]any{"name": "Not allowed " + x.tag}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("the reader's write: %d %s, want 403", res.Status, res.Body)
	}
	var e403 struct {
		ID, Code, Message string
		Details           []struct{ Code, Message string }
	}
	if err := json.Unmarshal(res.Body, &e403); err != nil || e403.ID == "" || e403.Code != "ACCESS_FAILED" || e403.Message == "" ||
		len(e403.Details) != 1 || e403.Details[0].Code != "INSUFFICIENT_PERMISSIONS" {
		t.Errorf("the 403's body is not PingOne's: %s", res.Body)
	}
	x.api(t, "GET", "/environments/"+x.envID+"/populations", tok, nil, http.StatusOK)
	if n := len(x.items(t, "/environments/"+x.envID+"/populations", "populations", "name", "Not allowed "+x.tag)); n != 0 {
		t.Errorf("the refused write made %d populations", n)
	}
}

// newReader makes, through the API, an administrator of the
// Administrators environment holding only Identity Data Read Only and
// Configuration Read Only over the tour's environment.
func (x *tour) newReader(t *testing.T) (username, password string) {
	t.Helper()
	adminEnv := "/environments/" + x.s.Admin.EnvironmentID
	roles := map[string]string{}
	for _, name := range []string{"Identity Data Read Only", "Configuration Read Only"} {
		roles[name] = x.one(t, "/roles", "roles", "name", name)["id"].(string)
	}
	pops := x.items(t, adminEnv+"/populations", "populations", "default", "true")
	if len(pops) != 1 {
		t.Fatalf("the Administrators environment has %d default populations", len(pops))
	}
	username, password = "reader."+x.tag, "Reads-Only-Lantern-4!"
	u := x.api(t, "POST", adminEnv+"/users", "", map[string]any{"username": username, "population": map[string]any{"id": pops[0]["id"]}}, http.StatusCreated)
	readerID := u["id"].(string)
	r := x.s.Do(t, apptest.Request{Method: "PUT", URL: adminEnv + "/users/" + readerID + "/password", Token: x.worker,
		ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": password, "forceChange": false}})
	if r.Status != http.StatusOK {
		t.Fatalf("set the reader's password: %d %s", r.Status, r.Body)
	}
	for _, id := range roles {
		x.api(t, "POST", adminEnv+"/users/"+readerID+"/roleAssignments", "", map[string]any{
			"role": map[string]string{"id": id}, "scope": map[string]string{"id": x.envID, "type": "ENVIRONMENT"}}, http.StatusCreated)
	}
	return username, password
}
