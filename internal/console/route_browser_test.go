package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestBrowserRouteParamsStayInTheirSegment: a link whose route parameter
// is not a plain id ('..', an encoded '/') shows "Not found" and sends no
// request: before, '#/env/E/populations/..%2F..%2F..%2Fenvironments%2FX'
// drew a population page for environment X whose "Delete population"
// button deleted X.
func TestBrowserRouteParamsStayInTheirSegment(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			token := s.AdminToken(t)
			victim := apiJSON(t, s, token, "POST", "/environments", map[string]any{"name": "Keep me", "type": "SANDBOX", "region": "NA",
				"license": map[string]string{"id": s.LicenseID(t)}}, http.StatusCreated)["id"].(string)
			admins := s.Admin.EnvironmentID
			p := openConsole(t, s, token, "#/environments")
			for _, hash := range []string{
				"#/env/" + admins + "/populations/..%2F..%2F..%2Fenvironments%2F" + victim,
				"#/env/" + admins + "/users/%2E%2E",
				"#/env/" + admins + "/groups/x%3Fy",
				"#/env/..%2Fenvironments%2F" + victim + "/users",
				"#/env/" + admins + "/users/%E0%A4%A",
			} {
				p.goTo(hash)
				p.waitFor("a screen for "+hash, `['Not found', 'Something went wrong'].includes(document.querySelector('main h1')?.textContent) ||
					[...document.querySelectorAll('main button')].some((b) => b.textContent.trim() === 'Delete population')`)
				if polEval[bool](p, `[...document.querySelectorAll('main button')].some((b) => b.textContent.trim() === 'Delete population')`) {
					// What an administrator following the link would do.
					p.clickButton("Delete population")
					p.waitFor("the confirmation", `document.querySelector('dialog[open]')`)
					polEval[bool](p, `(() => { const b = [...document.querySelectorAll('dialog[open] button')].find((b) => b.textContent.trim() === 'Delete population');
						b.click(); return true; })()`)
					p.waitFor("the deletion's answer", `!document.querySelector('dialog[open]') && !location.hash.includes('..')`)
					t.Errorf("%s drew a population page with a Delete population button", hash)
				}
				if got := polEval[string](p, `document.querySelector('main h1')?.textContent`); got != "Not found" {
					t.Errorf("%s: heading %q, want Not found", hash, got)
				}
			}
			if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + victim, Token: token}); r.Status != http.StatusOK {
				t.Errorf("the environment the link named: %d %s, want 200 (still there)", r.Status, r.Body)
			}
		})
	}
}

// TestBrowserSignOnErrorNeedsItsState: an authorize error that comes back
// without the state of a sign-on this tab started (a link someone sent,
// its error_description whatever they wrote) is not shown as the server's
// words; the console says the answer is not its own.
func TestBrowserSignOnErrorNeedsItsState(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	p := polPage{t: t, ctx: polChromium(t)}
	p.run("open the console with a forged error",
		chromedp.Navigate(s.URL+"/console/?error=access_denied&error_description=Your+account+is+locked%3A+call+support+at+555-0100&state=forged"))
	p.waitFor("the sign-on screen's notice", `document.querySelector('main')?.innerText.includes('Sign-on failed')`)
	text := polEval[string](p, `document.querySelector('main').innerText`)
	if strings.Contains(text, "555-0100") || !strings.Contains(text, "does not belong to a sign-on this tab started") {
		t.Errorf("the console shows %q", text)
	}
	if got := polEval[string](p, `location.search`); got != "" {
		t.Errorf("the address keeps %q", got)
	}
}
