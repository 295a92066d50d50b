package idp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The hosted sign-on page's SAML path in headless Chromium: a service
// provider (crewjam's samlsp) sends the browser to Gatehouse, the user
// signs on on the hosted page, and the browser carries the auto-posted
// Response to the service provider, which shows the session. Screenshots
// of every step go to test-output/saml/<TestName>/, and, with
// GATEHOUSE_DOCS_SCREENSHOTS=1, the sign-on page and the service
// provider's page to docs/saml-*.png.

const waitTimeout = 10 * time.Second

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the SAML browser test cannot run")
	}
	t.Skip("SKIPPING BROWSER TEST: chromium is not installed; the SAML sign-on page is NOT tested")
	return ""
}

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

// chromium is a headless browser for one test, with its own profile.
type chromium struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newChromium(t *testing.T) *chromium {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(t)), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := filepath.Join(repoRoot(t), "test-output", "saml", regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &chromium{t: t, ctx: ctx, dir: dir}
}

func (c *chromium) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.fail("%s: %v", what, err)
	}
}

func (c *chromium) eval(js string) string {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return ""
	}
	return s
}

func (c *chromium) fail(format string, args ...any) {
	c.t.Helper()
	c.shot("FAILURE", "")
	c.t.Fatalf("%s\npage: %s\ntext: %q", fmt.Sprintf(format, args...), c.eval(`location.href`), c.eval(`(document.body?.innerText ?? '').slice(0, 600)`))
}

// waitFor polls the script until it is true.
func (c *chromium) waitFor(what, js string) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(c.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			c.fail("the page never showed %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shot saves a screenshot under test-output, and as docs/<doc>.png when
// asked for.
func (c *chromium) shot(name, doc string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return
	}
	c.n++
	if err := os.WriteFile(filepath.Join(c.dir, fmt.Sprintf("%02d-%s.png", c.n, name)), png, 0o644); err != nil {
		c.t.Errorf("save screenshot: %v", err)
	}
	if doc != "" && os.Getenv("GATEHOUSE_DOCS_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join(repoRoot(c.t), "docs", doc+".png"), png, 0o644); err != nil {
			c.t.Errorf("save docs screenshot: %v", err)
		}
	}
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
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
					c := newChromium(t)
					doc := func(d string) string {
						if b.Name == "sqlite" && binding == saml.HTTPPostBinding {
							return d
						}
						return ""
					}

					c.do("open the service provider", chromedp.Navigate(sp.srv.URL+"/hello?from=browser"))
					c.waitFor("the sign-on page", `document.readyState === 'complete' && document.querySelector('main')?.dataset.status === 'USERNAME_PASSWORD_REQUIRED'`)
					if u := c.eval(`location.href`); !strings.HasPrefix(u, x.base()+"/signon/?flowId=") {
						t.Fatalf("the browser is at %s, not Gatehouse's sign-on page", u)
					}
					c.waitFor("the page at rest", `document.getAnimations().every(a => a.playState !== 'running')`)
					c.shot("sign-on-page", doc("saml-signon"))
					for sel, v := range map[string]string{"#username": x.fx.Username, "#password": x.fx.Password} {
						c.do("type into "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.KeyEvent(v))
					}
					c.shot("credentials-typed", "")
					c.do("submit", chromedp.Click(chromedp.CSS(`form[data-action="usernamePassword.check"] button[type="submit"]`)))

					// Resume posts the Response to the ACS; the SP signs
					// the session on and sends the browser back.
					c.waitFor("the service provider's page", `document.readyState === 'complete' && location.href.startsWith(`+js(sp.srv.URL+"/hello")+`) && document.querySelector('#session') !== null`)
					c.shot("service-provider", doc("saml-sp-signed-on"))
					f := fields([]byte(c.eval(`document.querySelector('#session').innerText`)))
					if f["path"] != "/hello?from=browser" || f["subject"] != x.fx.Username || f["email"] != x.fx.Email || f["given"] != x.fx.Given {
						t.Fatalf("the SP's session: %v", f)
					}
					checkAssertion(t, x, sp, true, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
				})
			}
		})
	}
}
