package idp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/apptest/chromium"
)

// The hosted sign-on page's SAML path in headless Chromium: a service
// provider (crewjam's samlsp) sends the browser to Gatehouse, the user
// signs on on the hosted page, and the browser carries the auto-posted
// Response to the service provider, which shows the session. Screenshots
// of every step go to test-output/saml/<TestName>/, and, with
// GATEHOUSE_DOCS_SCREENSHOTS=1, the sign-on page and the service
// provider's page to docs/saml-*.png.

// newPage opens Chromium, a browser of the test's own, on a tab whose
// steps wait up to 10 seconds.
func newPage(t *testing.T) *chromium.Page {
	t.Helper()
	ctx := chromium.Launch(t, "the SAML sign-on page", chromedp.WindowSize(1280, 900))
	return &chromium.Page{T: t, Ctx: ctx, Timeout: 10 * time.Second, Poll: time.Second,
		Dir: chromium.ShotDir(t, "saml"), N: new(int)}
}

// TestBrowserSAMLSignOn: SP-initiated sign-on through the hosted page in
// Chromium, with each binding, ends at the service provider with a
// valid assertion, on SQLite and PostgreSQL.
func TestBrowserSAMLSignOn(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			x := newFixture(t, b)
			for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
				name := binding[len("urn:oasis:names:tc:SAML:2.0:bindings:"):]
				t.Run(name, func(t *testing.T) {
					sp := newServiceProvider(t)
					app := x.samlApp(t, sp, appOptions{responseSigned: ptr(true)})
					sp.configure(t, x, app.ID, binding, false)
					c := newPage(t)
					// One run's pages are the documentation's.
					shot := func(name, doc string) {
						c.Shot(name)
						if doc != "" && b.Name == "sqlite" && binding == saml.HTTPPostBinding {
							c.DocShot(doc)
						}
					}

					c.Do("open the service provider", chromedp.Navigate(sp.srv.URL+"/hello?from=browser"))
					c.WaitFor("the sign-on page", `document.readyState === 'complete' && document.querySelector('main')?.dataset.status === 'USERNAME_PASSWORD_REQUIRED'`)
					if u := c.Read(`location.href`); !strings.HasPrefix(u, x.base()+"/signon/?flowId=") {
						t.Fatalf("the browser is at %s, not Gatehouse's sign-on page", u)
					}
					c.WaitFor("the page at rest", `document.getAnimations().every(a => a.playState !== 'running')`)
					shot("sign-on-page", "saml-signon")
					for sel, v := range map[string]string{"#username": x.fx.Username, "#password": x.fx.Password} {
						c.Do("type into "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.KeyEvent(v))
					}
					shot("credentials-typed", "")
					c.Do("submit", chromedp.Click(chromedp.CSS(`form[data-action="usernamePassword.check"] button[type="submit"]`)))

					// Resume posts the Response to the ACS; the SP signs
					// the session on and sends the browser back.
					c.WaitFor("the service provider's page", `document.readyState === 'complete' && location.href.startsWith(`+chromium.Quote(sp.srv.URL+"/hello")+`) && document.querySelector('#session') !== null`)
					shot("service-provider", "saml-sp-signed-on")
					f := fields([]byte(c.Read(`document.querySelector('#session').innerText`)))
					if f["path"] != "/hello?from=browser" || f["subject"] != x.fx.Username || f["email"] != x.fx.Email || f["given"] != x.fx.Given {
						t.Fatalf("the SP's session: %v", f)
					}
					checkAssertion(t, x, sp, true, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
				})
			}
		})
	}
}
