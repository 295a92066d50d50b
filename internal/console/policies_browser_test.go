package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// The policy screens in headless Chromium, against a real Gatehouse on
// SQLite and PostgreSQL: the console is signed on with the bootstrap
// worker's own token (put where auth.js keeps a token), so what is tested
// is the screens and the API's answers, not the sign-on.

const polWait = 10 * time.Second

// polChromium starts a browser for one test; without Chromium the test is
// a failure in CI and a loud skip elsewhere, as the sign-on page's are.
func polChromium(t *testing.T) context.Context {
	t.Helper()
	ctx := chromium.Launch(t, "the console's policy screens", chromedp.WindowSize(1280, 900))
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
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
	return ctx
}

type polPage struct {
	t   *testing.T
	ctx context.Context
}

func (p polPage) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, polWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage: %s", what, err, p.text())
	}
}

func (p polPage) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + ' | ' + (document.querySelector('main')?.innerText ?? '').slice(0, 800)`))
	return s
}

// polEval runs js and decodes its value (a promise's, once it settles).
func polEval[T any](p polPage, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, polWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("script %s: %v\npage: %s", js, err, p.text())
	}
	return v
}

// waitFor polls js until it is true.
func (p polPage) waitFor(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(polWait)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the console never showed %s (last error %v)\npage: %s", what, err, p.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// field is a script for the input of the form field named after the API
// attribute name.
func field(name string) string {
	return `document.querySelector('.field[data-name=` + jsq(name) + `] input, .field[data-name=` + jsq(name) + `] select, .field[data-name=` + jsq(name) + `] textarea')`
}

// setField sets a field's value as typing would (an input event).
func (p polPage) setField(name, value string) {
	p.t.Helper()
	ok := polEval[bool](p, `(() => { const e = `+field(name)+`; if (!e) return false; e.value = `+jsq(value)+`;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	if !ok {
		p.t.Fatalf("no field %s\npage: %s", name, p.text())
	}
}

// clickButton clicks the button with this text.
func (p polPage) clickButton(label string) {
	p.t.Helper()
	ok := polEval[bool](p, `(() => { const b = [...document.querySelectorAll('main button')].find((b) => b.textContent.trim() === `+jsq(label)+`);
		if (!b) return false; b.click(); return true; })()`)
	if !ok {
		p.t.Fatalf("no button %q\npage: %s", label, p.text())
	}
}

// openConsole signs the console on with token (as auth.js keeps a token
// in sessionStorage) and opens hash.
func openConsole(t *testing.T, s *apptest.Server, token, hash string) polPage {
	t.Helper()
	p := polPage{t: t, ctx: polChromium(t)}
	stored, _ := json.Marshal(map[string]any{"access": token, "refresh": "", "id": "", "expiresAt": time.Now().Add(time.Hour).UnixMilli()})
	p.run("open the console",
		chromedp.Navigate(s.URL+"/console/config.json"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('gatehouse.console.token', `+jsq(string(stored))+`)`),
		chromedp.Navigate(s.URL+"/console/"+hash))
	p.waitFor("the console", `document.getElementById('who') && !document.getElementById('who').hidden`)
	return p
}

func (p polPage) goTo(hash string) {
	p.t.Helper()
	p.run("go to "+hash, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsq(hash)))
}

func apiJSON(t *testing.T, s *apptest.Server, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := s.Do(t, apptest.Request{Method: method, URL: path, Token: token, Body: body})
	if r.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

func TestBrowserPolicyScreens(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			env := "/environments/" + fx.EnvID
			pol := apiJSON(t, s, token, "POST", env+"/signOnPolicies", map[string]any{"name": "Reorder_me"}, http.StatusCreated)
			polID := pol["id"].(string)
			login := apiJSON(t, s, token, "POST", env+"/signOnPolicies/"+polID+"/actions",
				map[string]any{"type": "LOGIN", "priority": 1}, http.StatusCreated)["id"].(string)
			mfa := apiJSON(t, s, token, "POST", env+"/signOnPolicies/"+polID+"/actions",
				map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 2, "noDevicesMode": "BYPASS"}, http.StatusCreated)["id"].(string)

			p := openConsole(t, s, token, "#/env/"+fx.EnvID+"/signOnPolicies/"+polID)

			// Reorder with the keyboard: focus LOGIN's "Move down", press
			// Enter; the MFA action comes first, and the focus stays on
			// the moved action's move button.
			p.waitFor("the two actions", `document.querySelectorAll('[data-action-id]').length === 2`)
			order := polEval[[]string](p, `[...document.querySelectorAll('[data-action-id]')].map((li) => li.dataset.actionId)`)
			if strings.Join(order, ",") != login+","+mfa {
				t.Fatalf("actions listed %v, want LOGIN then MFA", order)
			}
			p.run("move LOGIN down with the keyboard",
				chromedp.Focus(chromedp.CSS(`[data-move="`+login+`:down"]`)),
				chromedp.KeyEvent("\r"))
			p.waitFor("MFA first", `document.querySelector('[data-action-id]')?.dataset.actionId === `+jsq(mfa))
			focus := polEval[string](p, `document.activeElement?.dataset.move ?? ''`)
			if focus != login+":up" {
				t.Errorf("after the move the focus is on %q, want LOGIN's Move up", focus)
			}
			acts := apiJSON(t, s, token, "GET", env+"/signOnPolicies/"+polID+"/actions", nil, http.StatusOK)
			prio := map[string]float64{}
			for _, a := range acts["_embedded"].(map[string]any)["actions"].([]any) {
				m := a.(map[string]any)
				prio[m["id"].(string)] = m["priority"].(float64)
			}
			if prio[mfa] != 1 || prio[login] != 2 {
				t.Errorf("priorities after the move: MFA %v, LOGIN %v; want 1 and 2", prio[mfa], prio[login])
			}

			// A theme's button colour: the preview follows the form
			// before anything is saved.
			p.goTo("#/env/" + fx.EnvID + "/branding/themes/new")
			const button = `getComputedStyle(document.querySelector('iframe.preview').contentDocument.querySelector('.primary')).backgroundColor`
			p.waitFor("the preview in the template's colour", `document.querySelector('iframe.preview')?.contentDocument?.querySelector('.primary') && `+button+` === 'rgb(41, 150, 204)'`)
			p.setField("configuration.name", "Red_theme")
			p.setField("configuration.buttonColor", "#d01c1c")
			p.waitFor("the preview's button in the new colour", button+` === 'rgb(208, 28, 28)'`)
			themes := apiJSON(t, s, token, "GET", env+"/themes", nil, http.StatusOK)
			for _, th := range themes["_embedded"].(map[string]any)["themes"].([]any) {
				if th.(map[string]any)["configuration"].(map[string]any)["name"] == "Red_theme" {
					t.Fatal("the theme was saved before Create theme was pressed")
				}
			}
			p.clickButton("Create theme")
			// The saved theme's page, drawn in full before the next screen:
			// a screen still loading would draw over the next one.
			p.waitFor("the saved theme", `/\/branding\/themes\/[0-9a-f-]{36}$/.test(location.hash) && document.querySelector('h1')?.textContent === 'Red_theme'`)
			themeID := polEval[string](p, `location.hash.split('/').pop()`)
			th := apiJSON(t, s, token, "GET", env+"/themes/"+themeID, nil, http.StatusOK)
			if c := th["configuration"].(map[string]any); c["buttonColor"] != "#d01c1c" || c["name"] != "Red_theme" {
				t.Errorf("saved theme configuration %v", c)
			}

			// An out-of-range length: the API's detail shows at the
			// field, which gets the focus, and nothing is written.
			p.goTo("#/env/" + fx.EnvID + "/passwordPolicies/new")
			p.waitFor("the password policy form", `document.querySelector('h1')?.textContent === 'New password policy' && `+field("length.min"))
			p.setField("name", "Too_short")
			p.setField("length.min", "4")
			p.clickButton("Create password policy")
			errSel := `document.querySelector('.field[data-name="length.min"] .field-error')`
			p.waitFor("the error at Minimum length", errSel+` && !`+errSel+`.hidden`)
			type fieldState struct {
				Message string `json:"message"`
				Invalid bool   `json:"invalid"`
				Focused bool   `json:"focused"`
			}
			got := polEval[fieldState](p, `({message: `+errSel+`.textContent, invalid: `+field("length.min")+`.getAttribute('aria-invalid') !== null,
				focused: document.activeElement === `+field("length.min")+`})`)
			if got.Message == "" || !got.Invalid || !got.Focused {
				t.Errorf("error at length.min: %+v", got)
			}
			pps := apiJSON(t, s, token, "GET", env+"/passwordPolicies", nil, http.StatusOK)
			for _, pp := range pps["_embedded"].(map[string]any)["passwordPolicies"].([]any) {
				if pp.(map[string]any)["name"] == "Too_short" {
					t.Error("the refused password policy was written")
				}
			}

			// A reader of the configuration sees the same screens with no
			// control that writes; the audit entry is there for it.
			// Each worker also reads its own environment (Identity Data
			// Read Only there): that is what lets it read its own role
			// assignments, which tell the console what to show.
			selfRead := [3]string{roles.IdentityDataReadOnly.ID, "ENVIRONMENT", s.Admin.EnvironmentID}
			reader := s.CreateWorker(t, s.Admin.EnvironmentID, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, "ENVIRONMENT", fx.EnvID}, selfRead)
			r := openConsole(t, s, s.Token(t, reader), "#/env/"+fx.EnvID+"/signOnPolicies/"+polID)
			if !polEval[bool](r, `import('/console/assets/js/perm.js').then((m) => m.can('config:read:configuration', {envId: `+jsq(fx.EnvID)+`}))`) {
				t.Fatal("the console did not load the reader's roles: the checks below would prove nothing")
			}
			r.waitFor("the actions, read-only", `document.querySelectorAll('[data-action-id]').length === 2 && document.querySelector('h1')?.textContent === 'Reorder_me'`)
			writeControls := `[...document.querySelectorAll('main button, main a.btn')].map((b) => b.textContent.trim())
				.filter((l) => /^(Move up|Move down|Delete.*|Make default|Save.*|Create.*|Add action|New .*|Edit)$/.test(l))`
			if got := polEval[[]string](r, writeControls); len(got) != 0 {
				t.Errorf("a reader's sign-on policy page shows %v", got)
			}
			if n := polEval[int](r, `document.querySelectorAll('main form button[type=submit]').length`); n != 0 {
				t.Errorf("a reader's forms have %d submit buttons", n)
			}
			r.goTo("#/env/" + fx.EnvID + "/branding/themes/" + themeID)
			r.waitFor("the theme, read-only", `document.querySelector('h1')?.textContent === 'Red_theme' && document.querySelector('iframe.preview')`)
			if got := polEval[[]string](r, writeControls); len(got) != 0 {
				t.Errorf("a reader's theme page shows %v", got)
			}
			if !polEval[bool](r, field("configuration.buttonColor")+`.disabled`) {
				t.Error("a reader's colour field can be changed")
			}
			if !polEval[bool](r, `[...document.querySelectorAll('#nav a')].some((a) => a.textContent === 'Audit activities')`) {
				t.Error("a reader of activities is not offered Audit activities")
			}
			// An application developer (no audit permission) is not offered
			// the activities.
			dev := s.CreateWorker(t, s.Admin.EnvironmentID, "CLIENT_SECRET_BASIC", [3]string{roles.ClientApplicationDeveloper.ID, "ENVIRONMENT", fx.EnvID}, selfRead)
			d := openConsole(t, s, s.Token(t, dev), "#/env/"+fx.EnvID+"/passwordPolicies")
			if !polEval[bool](d, `import('/console/assets/js/perm.js').then((m) => m.can('applications:write:application', {envId: `+jsq(fx.EnvID)+`}))`) {
				t.Fatal("the console did not load the developer's roles")
			}
			d.waitFor("the password policies", `document.querySelector('h1')?.textContent === 'Password policies' && document.querySelector('tbody a')`)
			nav := polEval[[]string](d, `[...document.querySelectorAll('#nav a')].map((a) => a.textContent)`)
			if strings.Contains(strings.Join(nav, "|"), "Audit activities") || !strings.Contains(strings.Join(nav, "|"), "Password policies") {
				t.Errorf("an application developer's nav: %v", nav)
			}
		})
	}
}
