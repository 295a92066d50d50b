package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// The applications screen in headless Chromium: a web application is
// created through the form (after the API refused a bad redirect URI at
// its field), its client id is shown, and its secret is revealed and
// rotated, each step checked against the API. The console's session is
// given tokens got without the browser — the bootstrap administrator's,
// signed on headlessly through the console application, or a test
// worker's client_credentials token for a given role — as auth.js stores
// them: what is tested is the screens and the requests they make, not the
// hosted sign-on (the end-to-end test does that).
//
// Helpers here are prefixed apps…: the console's other browser tests have
// their own, and one package holds both.

const appsWait = 15 * time.Second

type appsBrowser struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newAppsBrowser(t *testing.T) *appsBrowser {
	t.Helper()
	ctx := chromium.Launch(t, "the console's applications screen", chromedp.WindowSize(1280, 900))
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	if err != nil {
		t.Fatalf("emulate focus: %v", err)
	}
	wd, _ := os.Getwd()
	dir := filepath.Join(wd, "..", "..", "test-output", "console", regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &appsBrowser{t: t, ctx: ctx, dir: dir}
	var mu sync.Mutex
	var problems []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the console threw an uncaught exception: %s", p)
		}
	})
	return b
}

func (b *appsBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, appsWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

func appsEval[T any](b *appsBrowser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, appsWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("script %q: %v", js, err)
	}
	return v
}

func (b *appsBrowser) shot(name string) {
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, appsWait)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name)), png, 0o644)
	}
}

func (b *appsBrowser) fail(format string, args ...any) {
	b.t.Helper()
	b.shot("FAILURE")
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + (document.body ? document.body.innerText : '').slice(0, 1500)`))
	b.t.Fatalf("%s\npage: %s", fmt.Sprintf(format, args...), page)
}

func (b *appsBrowser) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(appsWait)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("the console never showed %s (last error %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func appsQ(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// appsFieldJS finds the visible control a label names (its text without
// the required marker).
func appsFieldJS(label string) string {
	return `(() => { const norm = (s) => (s || '').replace(/\s+/g, ' ').replace(/\s*\*$/, '').trim();
		const l = [...document.querySelectorAll('main label')].find((l) => norm(l.textContent) === ` + appsQ(label) + ` && l.getClientRects().length);
		return l ? document.getElementById(l.htmlFor) : null; })()`
}

// fill types value into the field labelled label, as keys.
func (b *appsBrowser) fill(label, value string) {
	b.t.Helper()
	b.waitFor("the field "+label, appsFieldJS(label))
	appsEval[bool](b, `(() => { const e = `+appsFieldJS(label)+`; e.focus(); e.select(); return true; })()`)
	b.do("type into "+label, chromedp.KeyEvent(value))
	if got := appsEval[string](b, appsFieldJS(label)+`.value`); got != value {
		b.fail("the field %s holds %q after typing %q", label, got, value)
	}
}

// choose picks the option labelled option in the select labelled label.
func (b *appsBrowser) choose(label, option string) {
	b.t.Helper()
	b.waitFor("the field "+label, appsFieldJS(label))
	ok := appsEval[bool](b, `(() => { const s = `+appsFieldJS(label)+`; if (!s) return false;
		const o = [...s.options].find((o) => o.textContent.trim() === `+appsQ(option)+`); if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	if !ok {
		b.fail("no option %q in %s", option, label)
	}
}

// press clicks the visible button whose text is text (in an open dialog
// when there is one).
func (b *appsBrowser) press(text string) {
	b.t.Helper()
	js := `(() => { const root = document.querySelector('dialog[open]') || document;
		return [...root.querySelectorAll('button')].find((e) => e.textContent.trim() === ` + appsQ(text) + ` && e.getClientRects().length && !e.disabled); })()`
	b.waitFor("the button "+text, js)
	appsEval[bool](b, `(() => { const e = `+js+`; e.focus(); e.click(); return true; })()`)
}

// fieldError is the error the form shows at the field labelled label.
func (b *appsBrowser) fieldError(label string) string {
	return appsEval[string](b, `(() => { const e = `+appsFieldJS(label)+`; const p = e && e.closest('.field').querySelector('.field-error');
		return p && !p.hidden ? p.textContent : ''; })()`)
}

func TestBrowserApplications(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			api := func(method, path string, body any) *apptest.Response {
				return s.Do(t, apptest.Request{Method: method, URL: path, Body: body, Token: token})
			}
			env := api("POST", "/environments", map[string]any{"name": "Apps " + be.Name, "type": "SANDBOX", "region": "NA",
				"license": map[string]string{"id": s.LicenseID(t)}})
			if env.Status != http.StatusCreated {
				t.Fatalf("create environment: %d %s", env.Status, env.Body)
			}
			envID := env.JSON(t)["id"].(string)
			apps := func() []map[string]any {
				r := api("GET", "/environments/"+envID+"/applications", nil)
				var l struct {
					Embedded struct {
						Applications []map[string]any `json:"applications"`
					} `json:"_embedded"`
				}
				r.Decode(t, &l)
				return l.Embedded.Applications
			}

			// The bootstrap administrator, signed on to the console (its
			// one-time password changed): the screen acts with the user's
			// roles, as the console does after the hosted sign-on.
			// A fixed new password: random hex can repeat a character three
			// times, which the password policy refuses.
			user, _ := s.ConsoleSignOn(t, s.Admin.Username, s.Admin.Password, "Console-Apps-Harbor-7!")
			id, _ := user.Extra("id_token").(string)
			b := appsSignedOnAs(t, s, user.AccessToken, user.RefreshToken, id, "#/env/"+envID+"/applications")
			b.waitFor("the administrator's name", `document.getElementById('who-name')?.textContent === `+appsQ("Signed on as "+s.Admin.Username))
			b.waitFor("the applications list", `document.querySelector('h1')?.textContent === 'Applications' && document.querySelector('main .empty')`)
			b.waitFor("the Applications entry of the nav", `[...document.querySelectorAll('#nav a')].some((a) => a.textContent === 'Applications')`)
			b.shot("list")
			appsEval[bool](b, `[...document.querySelectorAll('main a')].find((a) => a.textContent === 'New application').click(), true`)
			b.waitFor("the new application form", `document.querySelector('h1')?.textContent === 'New application'`)

			// A redirect URI with a fragment: the API names redirectUris[0],
			// the form shows its message at "Redirect URIs", nothing is made.
			b.fill("Name", "Shop")
			b.choose("Type", "Web app")
			bad := "https://shop.example.com/callback#top"
			b.fill("Redirect URIs", bad)
			b.press("Create application")
			b.waitFor("the error at Redirect URIs", appsFieldJS("Redirect URIs")+`?.getAttribute('aria-invalid') !== null`)
			b.shot("redirect-error")
			if got := b.fieldError("Redirect URIs"); got != "A redirect URI must not contain a fragment." {
				t.Errorf("the error at Redirect URIs is %q", got)
			}
			if f := appsEval[bool](b, `document.activeElement === `+appsFieldJS("Redirect URIs")); !f {
				t.Errorf("the focus is not on the field in error")
			}
			if n := len(apps()); n != 0 {
				t.Fatalf("a refused create left %d applications", n)
			}

			good := "https://shop.example.com/callback"
			b.fill("Redirect URIs", good)
			b.press("Create application")
			b.waitFor("the application's page", `document.querySelector('h1')?.textContent === 'Shop'`)
			b.shot("app")
			list := apps()
			if len(list) != 1 {
				t.Fatalf("applications after create: %d", len(list))
			}
			app := list[0]
			appID := app["id"].(string)
			uris, _ := json.Marshal(app["redirectUris"])
			grants, _ := json.Marshal(app["grantTypes"])
			if app["type"] != "WEB_APP" || app["protocol"] != "OPENID_CONNECT" || app["enabled"] != true || string(uris) != `["`+good+`"]` ||
				string(grants) != `["AUTHORIZATION_CODE"]` || app["tokenEndpointAuthMethod"] != "CLIENT_SECRET_BASIC" {
				t.Errorf("the API holds %v", app)
			}

			// Client ID in the page's description list, in a <code>.
			shown := appsEval[string](b, `(() => { const dt = [...document.querySelectorAll('main dl dt')].find((d) => d.textContent === 'Client ID');
				return dt ? dt.nextElementSibling.querySelector('code')?.textContent ?? '' : ''; })()`)
			if shown != appID {
				t.Errorf("Client ID shows %q, want %q", shown, appID)
			}
			tryHref := appsEval[string](b, `document.querySelector('#try-sign-on')?.href ?? ''`)
			if !strings.HasPrefix(tryHref, s.URL+"/"+envID+"/as/authorize?") || !strings.Contains(tryHref, "client_id="+appID) ||
				!strings.Contains(tryHref, "redirect_uri=https%3A%2F%2Fshop.example.com%2Fcallback") || !strings.Contains(tryHref, "response_type=code") {
				t.Errorf("Try sign-on links to %q", tryHref)
			}

			// No secret on the page before the click.
			if appsEval[bool](b, `!!document.querySelector('.secret-value')`) {
				t.Fatal("the secret is shown before Reveal secret")
			}
			apiSecret := func() string {
				r := api("GET", "/environments/"+envID+"/applications/"+appID+"/secret", nil)
				if r.Status != http.StatusOK {
					t.Fatalf("GET secret: %d %s", r.Status, r.Body)
				}
				return r.JSON(t)["secret"].(string)
			}
			before := apiSecret()
			b.press("Reveal secret")
			b.waitFor("the secret", `document.querySelector('code.secret-value')`)
			if got := appsEval[string](b, `document.querySelector('code.secret-value').textContent`); got != before {
				t.Errorf("Reveal secret shows %q, the API holds %q", got, before)
			}
			// By keyboard: Enter on the button, then Tab from the dialog's
			// Cancel to its Rotate secret, and Enter.
			appsEval[bool](b, `[...document.querySelectorAll('main button')].find((e) => e.textContent === 'Rotate secret').focus(), true`)
			b.do("press Enter on Rotate secret", chromedp.KeyEvent("\r"))
			b.waitFor("the confirmation", `document.querySelector('dialog[open]')`)
			b.shot("rotate-confirm")
			b.waitFor("the focus in the dialog", `document.activeElement?.closest('dialog[open]') && document.activeElement.textContent === 'Cancel'`)
			b.do("Tab to Rotate secret", chromedp.KeyEvent("\t"))
			if f := appsEval[string](b, `document.activeElement?.textContent ?? ''`); f != "Rotate secret" {
				b.fail("Tab from Cancel went to %q", f)
			}
			b.do("press Enter on the dialog's Rotate secret", chromedp.KeyEvent("\r"))
			b.waitFor("the new secret", `document.querySelector('code.secret-value') && document.querySelector('code.secret-value').textContent !== `+appsQ(before))
			b.shot("rotated")
			after := apiSecret()
			if after == before {
				t.Fatal("the API's secret did not change")
			}
			if got := appsEval[string](b, `document.querySelector('code.secret-value').textContent`); got != after {
				t.Errorf("after rotation the page shows %q, the API holds %q", got, after)
			}
			for _, k := range []string{"gatehouse.console.token"} {
				if v := appsEval[string](b, `JSON.stringify(Object.entries(sessionStorage).filter(([k]) => k !== `+appsQ(k)+`))`); strings.Contains(v, after) {
					t.Errorf("the secret is in session storage: %s", v)
				}
			}
			if strings.Contains(appsEval[string](b, `location.href`), after) {
				t.Error("the secret is in the URL")
			}

			// Settings: a post-logout redirect URI is saved with a PUT of
			// what GET returned; the rest stays as it was.
			b.fill("Post-logout redirect URIs", "https://shop.example.com/bye")
			b.press("Save")
			b.waitFor("the saved page", `document.querySelector('#toast.show')?.textContent === 'Saved.'`)
			got := api("GET", "/environments/"+envID+"/applications/"+appID, nil).JSON(t)
			post, _ := json.Marshal(got["postLogoutRedirectUris"])
			uris, _ = json.Marshal(got["redirectUris"])
			if string(post) != `["https://shop.example.com/bye"]` || string(uris) != `["`+good+`"]` || got["name"] != "Shop" || got["enabled"] != true {
				t.Errorf("after saving, the API holds %v", got)
			}

			// Try sign-on's URL starts a sign-on at the application: the
			// hosted page asks for a username and password.
			b.do("follow Try sign-on", chromedp.Navigate(tryHref))
			b.waitFor("the hosted sign-on page", `document.querySelector('main')?.dataset.status === 'USERNAME_PASSWORD_REQUIRED'`)
			b.shot("try-sign-on")
		})
	}
}

// appsSignedOn opens the console on hash with a worker's
// client_credentials token in the session (its roles are the worker's).
func appsSignedOn(t *testing.T, s *apptest.Server, token, hash string) *appsBrowser {
	t.Helper()
	return appsSignedOnAs(t, s, token, "", "", hash)
}

// appsSignedOnAs opens the console with these tokens in the session, as
// auth.js stores them after a sign-on.
func appsSignedOnAs(t *testing.T, s *apptest.Server, access, refresh, id, hash string) *appsBrowser {
	t.Helper()
	b := newAppsBrowser(t)
	b.do("open the console's origin", chromedp.Navigate(s.URL+"/console/config.json"))
	tok, _ := json.Marshal(map[string]any{"access": access, "refresh": refresh, "id": id, "expiresAt": time.Now().Add(time.Hour).UnixMilli()})
	appsEval[bool](b, `sessionStorage.setItem('gatehouse.console.token', `+appsQ(string(tok))+`), true`)
	b.do("open the console", chromedp.Navigate(s.URL+"/console/"+hash))
	return b
}

func (b *appsBrowser) go_(hash string) {
	b.t.Helper()
	appsEval[bool](b, `location.hash = `+appsQ(hash)+`, true`)
}

func (b *appsBrowser) h1(title string) {
	b.t.Helper()
	b.waitFor("the page "+title, `document.querySelector('main h1')?.textContent === `+appsQ(title))
}

// check ticks the checkbox labelled label inside the element sel.
func (b *appsBrowser) check(sel, label string) {
	b.t.Helper()
	ok := appsEval[bool](b, `(() => { const root = document.querySelector(`+appsQ(sel)+`); if (!root) return false;
		const l = [...root.querySelectorAll('label')].find((l) => l.textContent.trim() === `+appsQ(label)+`); if (!l) return false;
		document.getElementById(l.htmlFor).click(); return true; })()`)
	if !ok {
		b.fail("no checkbox %q in %s", label, sel)
	}
}

// toast waits for the confirmation message.
func (b *appsBrowser) toast(msg string) {
	b.t.Helper()
	b.waitFor("the message "+msg, `document.querySelector('#toast.show')?.textContent === `+appsQ(msg))
	appsEval[bool](b, `document.querySelector('#toast').classList.remove('show'), true`)
}

// embedded reads the items of a list answer.
func appsEmbedded(t *testing.T, r *apptest.Response, name string) []map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", name, r.Status, r.Body)
	}
	var l struct {
		Embedded map[string][]map[string]any `json:"_embedded"`
	}
	r.Decode(t, &l)
	return l.Embedded[name]
}

// The rest of the application page, resources and identity providers,
// each write checked in the API.
func TestBrowserApplicationPartsResourcesProviders(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			api := func(method, path string, body any) *apptest.Response {
				return s.Do(t, apptest.Request{Method: method, URL: path, Body: body, Token: token})
			}
			env := api("POST", "/environments", map[string]any{"name": "Parts " + be.Name, "type": "SANDBOX", "region": "NA",
				"license": map[string]string{"id": s.LicenseID(t)}})
			if env.Status != http.StatusCreated {
				t.Fatalf("create environment: %d %s", env.Status, env.Body)
			}
			envID := env.JSON(t)["id"].(string)
			ep := "/environments/" + envID
			app := api("POST", ep+"/applications", map[string]any{"name": "Shop", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "enabled": true,
				"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
				"redirectUris": []string{"https://shop.example.com/callback"}})
			if app.Status != http.StatusCreated {
				t.Fatalf("create application: %d %s", app.Status, app.Body)
			}
			appID := app.JSON(t)["id"].(string)

			// A resource, its scope and a mapping.
			b := appsSignedOn(t, s, token, "#/env/"+envID+"/resources/new")
			b.h1("New resource")
			b.fill("Name", "Orders API")
			b.fill("Audience", "https://orders.example.com")
			b.press("Create resource")
			b.h1("Orders API")
			var res map[string]any
			for _, r := range appsEmbedded(t, api("GET", ep+"/resources", nil), "resources") {
				if r["name"] == "Orders API" {
					res = r
				}
			}
			if res == nil || res["type"] != "CUSTOM" || res["audience"] != "https://orders.example.com" {
				t.Fatalf("the API holds the resource %v", res)
			}
			resID := res["id"].(string)
			b.press("Scopes")
			b.fill("Scope name", "orders read")
			b.press("Add scope")
			b.waitFor("the error at Scope name", appsFieldJS("Scope name")+`?.getAttribute('aria-invalid') !== null`)
			if got := b.fieldError("Scope name"); !strings.Contains(got, "without spaces") {
				t.Errorf("the error at Scope name is %q", got)
			}
			b.fill("Scope name", "orders:read")
			b.press("Add scope")
			b.toast("Scope added.")
			scopes := appsEmbedded(t, api("GET", ep+"/resources/"+resID+"/scopes", nil), "scopes")
			if len(scopes) != 1 || scopes[0]["name"] != "orders:read" {
				t.Fatalf("the API holds the scopes %v", scopes)
			}
			b.press("Attribute mappings")
			b.fill("Claim name", "mail")
			b.fill("Value", "${user.email}")
			b.press("Add mapping")
			b.toast("Mapping added.")
			attrs := appsEmbedded(t, api("GET", ep+"/resources/"+resID+"/attributes", nil), "attributes")
			if len(attrs) != 2 || !strings.Contains(string(api("GET", ep+"/resources/"+resID+"/attributes", nil).Body), `"name":"mail","value":"${user.email}"`) {
				t.Errorf("the API holds the resource mappings %v", attrs)
			}
			b.shot("resource")

			// The application: a grant of the scope, a sign-on policy, a
			// claim.
			b.go_("#/env/" + envID + "/applications/" + appID)
			b.h1("Shop")
			b.press("Resources")
			b.waitFor("the grants", `document.querySelector('section.grant[aria-label="Orders API"]')`)
			b.check(`section.grant[aria-label="Orders API"]`, "orders:read")
			appsEval[bool](b, `document.querySelector('section.grant[aria-label="Orders API"] button[type=submit]').click(), true`)
			b.toast("Grant saved.")
			grants := appsEmbedded(t, api("GET", ep+"/applications/"+appID+"/grants", nil), "grants")
			if len(grants) != 1 || grants[0]["resource"].(map[string]any)["id"] != resID ||
				grants[0]["scopes"].([]any)[0].(map[string]any)["id"] != scopes[0]["id"] {
				t.Errorf("the API holds the grants %v", grants)
			}
			b.press("Sign-on policies")
			b.press("Assign policy")
			b.toast("Policy assigned.")
			sopas := appsEmbedded(t, api("GET", ep+"/applications/"+appID+"/signOnPolicyAssignments", nil), "signOnPolicyAssignments")
			if len(sopas) != 1 || sopas[0]["priority"] != float64(1) {
				t.Errorf("the API holds the policy assignments %v", sopas)
			}
			b.press("Attribute mappings")
			b.fill("Claim name", "department")
			b.fill("Value", "${user.email}")
			b.press("Add mapping")
			b.toast("Mapping added.")
			if body := string(api("GET", ep+"/applications/"+appID+"/attributes", nil).Body); !strings.Contains(body, `"name":"department"`) {
				t.Errorf("the API holds the application's mappings %s", body)
			}
			b.shot("app-mappings")

			// A worker, given a role.
			b.go_("#/env/" + envID + "/applications/new")
			b.h1("New application")
			b.fill("Name", "Robot")
			b.choose("Type", "Worker")
			b.press("Create application")
			b.h1("Robot")
			b.press("Roles")
			b.choose("Role", "Identity Data Read Only")
			b.press("Assign role")
			b.toast("Role assigned.")
			var robot string
			for _, a := range appsEmbedded(t, api("GET", ep+"/applications", nil), "applications") {
				if a["name"] == "Robot" {
					robot = a["id"].(string)
				}
			}
			ras := appsEmbedded(t, api("GET", ep+"/applications/"+robot+"/roleAssignments", nil), "roleAssignments")
			if len(ras) != 1 || ras[0]["role"].(map[string]any)["id"] != "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e04" ||
				ras[0]["scope"].(map[string]any)["id"] != envID {
				t.Errorf("the worker's role assignments are %v", ras)
			}
			b.shot("worker-roles")

			// An identity provider, a mapping, disabled.
			b.go_("#/env/" + envID + "/identityProviders/new")
			b.h1("New identity provider")
			b.fill("Name", "Corp")
			b.fill("Client ID", "gatehouse")
			b.fill("Client secret", "s3cret-value")
			b.fill("Issuer", "https://idp.example.com")
			b.fill("Authorization endpoint", "https://idp.example.com/authorize")
			b.fill("Token endpoint", "https://idp.example.com/token")
			b.fill("JWKS endpoint", "https://idp.example.com/jwks")
			b.press("Create identity provider")
			b.h1("Corp")
			idps := appsEmbedded(t, api("GET", ep+"/identityProviders", nil), "identityProviders")
			if len(idps) != 1 || idps[0]["type"] != "OPENID_CONNECT" || idps[0]["enabled"] != true || idps[0]["clientSecret"] != "s3cret-value" {
				t.Fatalf("the API holds the providers %v", idps)
			}
			idpID := idps[0]["id"].(string)
			if appsEval[bool](b, `document.body.innerText.includes('s3cret-value') || [...document.querySelectorAll('input')].some((i) => i.value === 's3cret-value')`) {
				t.Error("the provider's page shows its client secret")
			}
			b.press("Attribute mappings")
			b.fill("User attribute", "email")
			b.fill("Provider claim", "${providerAttributes.email}")
			b.press("Add mapping")
			b.toast("Mapping added.")
			if body := string(api("GET", ep+"/identityProviders/"+idpID+"/attributes", nil).Body); !strings.Contains(body, `"name":"email","value":"${providerAttributes.email}"`) {
				t.Errorf("the API holds the provider's mappings %s", body)
			}
			b.press("Disable")
			b.toast("Identity provider disabled.")
			got := api("GET", ep+"/identityProviders/"+idpID, nil).JSON(t)
			if got["enabled"] != false || got["clientSecret"] != "s3cret-value" || got["issuer"] != "https://idp.example.com" {
				t.Errorf("after Disable the API holds %v", got)
			}
			b.shot("provider")

			// A single-page app: a public client with PKCE required, so Try
			// sign-on carries an S256 challenge and the authorize takes it.
			b.go_("#/env/" + envID + "/applications/new")
			b.h1("New application")
			b.fill("Name", "Board")
			b.choose("Type", "Single-page app")
			b.fill("Redirect URIs", "https://board.example.com/")
			b.press("Create application")
			b.h1("Board")
			var spa map[string]any
			for _, a := range appsEmbedded(t, api("GET", ep+"/applications", nil), "applications") {
				if a["name"] == "Board" {
					spa = a
				}
			}
			if spa == nil || spa["type"] != "SINGLE_PAGE_APP" || spa["tokenEndpointAuthMethod"] != "NONE" || spa["pkceEnforcement"] != "S256_REQUIRED" {
				t.Fatalf("the API holds the single-page app %v", spa)
			}
			if b.hasControl("Reveal secret") {
				t.Error("a public client is offered Reveal secret")
			}
			href := appsEval[string](b, `document.querySelector('#try-sign-on')?.href ?? ''`)
			if !strings.Contains(href, "code_challenge_method=S256") || !strings.Contains(href, "code_challenge=") {
				t.Fatalf("Try sign-on of a PKCE app links to %q", href)
			}
			b.do("follow Try sign-on", chromedp.Navigate(href))
			b.waitFor("the hosted sign-on page", `document.querySelector('main')?.dataset.status === 'USERNAME_PASSWORD_REQUIRED'`)
		})
	}
}

// hasControl says whether a visible button, or a link, has this text.
func (b *appsBrowser) hasControl(text string) bool {
	b.t.Helper()
	return appsEval[bool](b, `[...document.querySelectorAll('main button, main a')].some((e) => e.textContent.trim() === `+appsQ(text)+` && e.getClientRects().length)`)
}

// A read-only administrator (Configuration Read Only) sees the
// applications, resources and providers with no edit control, and the API
// refuses the edits; a Client Application Developer may edit applications
// but not resources (config:write:configuration).
func TestBrowserApplicationsReadOnly(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			admin := s.AdminToken(t)
			api := func(token, method, path string, body any) *apptest.Response {
				return s.Do(t, apptest.Request{Method: method, URL: path, Body: body, Token: token})
			}
			env := api(admin, "POST", "/environments", map[string]any{"name": "RO " + be.Name, "type": "SANDBOX", "region": "NA",
				"license": map[string]string{"id": s.LicenseID(t)}})
			if env.Status != http.StatusCreated {
				t.Fatalf("create environment: %d %s", env.Status, env.Body)
			}
			envID := env.JSON(t)["id"].(string)
			ep := "/environments/" + envID
			app := api(admin, "POST", ep+"/applications", map[string]any{"name": "Shop", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "enabled": true,
				"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
				"redirectUris": []string{"https://shop.example.com/callback"}})
			res := api(admin, "POST", ep+"/resources", map[string]any{"name": "Orders API"})
			idp := api(admin, "POST", ep+"/identityProviders", map[string]any{"name": "Corp", "type": "OPENID_CONNECT", "enabled": true,
				"clientId": "gatehouse", "clientSecret": "s3cret", "issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/a",
				"tokenEndpoint": "https://idp.example.com/t", "jwksEndpoint": "https://idp.example.com/k", "scopes": []string{"openid"},
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
			for _, r := range []*apptest.Response{app, res, idp} {
				if r.Status != http.StatusCreated {
					t.Fatalf("setup: %d %s", r.Status, r.Body)
				}
			}
			appID, resID, idpID := app.JSON(t)["id"].(string), res.JSON(t)["id"].(string), idp.JSON(t)["id"].(string)

			ro := s.Token(t, s.CreateWorker(t, envID, "CLIENT_SECRET_BASIC", [3]string{"5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e06", "ENVIRONMENT", envID}))
			b := appsSignedOn(t, s, ro, "#/env/"+envID+"/applications")
			b.waitFor("the application in the list", `[...document.querySelectorAll('main tbody a')].some((a) => a.textContent === 'Shop')`)
			if b.hasControl("New application") {
				t.Error("a read-only administrator is offered New application")
			}
			b.go_("#/env/" + envID + "/applications/" + appID)
			b.h1("Shop")
			b.waitFor("the settings", appsFieldJS("Name"))
			b.shot("read-only-app")
			for _, c := range []string{"Delete application", "Reveal secret", "Rotate secret", "Save"} {
				if b.hasControl(c) {
					t.Errorf("a read-only administrator is offered %s", c)
				}
			}
			if !appsEval[bool](b, appsFieldJS("Name")+`.readOnly`) {
				t.Error("the Name field of a read-only administrator is editable")
			}
			b.press("Resources")
			b.waitFor("the grants", `document.querySelector('section.grant[aria-label="Orders API"]')`)
			if b.hasControl("Save grant") {
				t.Error("a read-only administrator is offered Save grant")
			}
			b.go_("#/env/" + envID + "/resources/" + resID)
			b.h1("Orders API")
			b.press("Scopes")
			b.waitFor("the scopes", `document.querySelector('main .tab-panel .empty, main .tab-panel table')`)
			for _, c := range []string{"Delete resource", "Add scope", "Save"} {
				if b.hasControl(c) {
					t.Errorf("a read-only administrator is offered %s on a resource", c)
				}
			}
			b.go_("#/env/" + envID + "/identityProviders/" + idpID)
			b.h1("Corp")
			for _, c := range []string{"Disable", "Delete identity provider", "Save"} {
				if b.hasControl(c) {
					t.Errorf("a read-only administrator is offered %s on a provider", c)
				}
			}
			if r := api(ro, "PUT", ep+"/applications/"+appID, map[string]any{"name": "Changed"}); r.Status != http.StatusForbidden {
				t.Errorf("the API answers a read-only PUT with %d %s", r.Status, r.Body)
			}

			dev := s.Token(t, s.CreateWorker(t, envID, "CLIENT_SECRET_BASIC", [3]string{"5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e05", "ENVIRONMENT", envID}))
			d := appsSignedOn(t, s, dev, "#/env/"+envID+"/applications/"+appID)
			d.h1("Shop")
			d.waitFor("the settings", appsFieldJS("Name"))
			for _, c := range []string{"Delete application", "Reveal secret", "Rotate secret", "Save"} {
				if !d.hasControl(c) {
					t.Errorf("a Client Application Developer is not offered %s", c)
				}
			}
			d.go_("#/env/" + envID + "/resources")
			d.h1("Resources")
			d.waitFor("the resources", `[...document.querySelectorAll('main tbody a')].some((a) => a.textContent === 'Orders API')`)
			if d.hasControl("New resource") {
				t.Error("a Client Application Developer is offered New resource")
			}
		})
	}
}
