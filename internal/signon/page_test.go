package signon_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The page's HTTP contract, without a browser: what each situation
// renders, its status, and the security headers.

func jarClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type got struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, c *http.Client, method, u, ct, body string) got {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return got{resp.StatusCode, resp.Header, string(b)}
}

func TestPage(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"homePageUrl": "https://app.example.com/home"}})
	base := s.URL + "/" + fx.EnvID
	authURL := base + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
		"scope": {"openid"}, "state": {"st"}}.Encode()
	start := func(t *testing.T) (*http.Client, string) {
		c := jarClient(t)
		r := fetch(t, c, "GET", authURL, "", "")
		loc, _ := url.Parse(r.header.Get("Location"))
		return c, loc.Query().Get("flowId")
	}

	c, flowID := start(t)
	page := base + "/signon/?flowId=" + flowID
	t.Run("sign-on form", func(t *testing.T) {
		r := fetch(t, c, "GET", page, "", "")
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		for _, want := range []string{`data-status="USERNAME_PASSWORD_REQUIRED"`, `<form data-action="usernamePassword.check"`,
			`<label for="username">Username</label>`, `autocomplete="username"`, `autocomplete="current-password"`,
			`to continue to <strong>` + fx.AppName + `</strong>`, `id="forgot"`, `data-flow="` + base + `/flows/` + flowID + `"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "onclick") {
			t.Error("inline script or style in the page")
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
			if r.header.Get(k) != v {
				t.Errorf("%s = %q", k, r.header.Get(k))
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
			if !strings.Contains(csp, want) || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q lacks %s", csp, want)
			}
		}
	})
	t.Run("another browser", func(t *testing.T) {
		r := fetch(t, jarClient(t), "GET", page, "", "")
		if r.status != 401 || !strings.Contains(r.body, "This sign-on belongs to another browser") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("no flow id", func(t *testing.T) {
		r := fetch(t, c, "GET", base+"/signon/", "", "")
		if r.status != 400 || !strings.Contains(r.body, "No sign-on in progress") {
			t.Fatalf("%d", r.status)
		}
	})
	t.Run("unknown environment", func(t *testing.T) {
		r := fetch(t, c, "GET", s.URL+"/"+fx.AppID+"/signon/?flowId="+flowID, "", "")
		if r.status != 404 || !strings.Contains(r.body, "This sign-on page does not exist.") {
			t.Fatalf("%d", r.status)
		}
	})
	t.Run("without the slash", func(t *testing.T) {
		r := fetch(t, c, "GET", base+"/signon?flowId="+flowID, "", "")
		if r.status != 301 || r.header.Get("Location") != "/"+fx.EnvID+"/signon/?flowId="+flowID {
			t.Fatalf("%d %s", r.status, r.header.Get("Location"))
		}
	})
	t.Run("an encoded slash does not redirect off site", func(t *testing.T) {
		r := fetch(t, c, "GET", s.URL+"/%2Fevil.example/signon?flowId=x", "", "")
		if r.status != 301 || r.header.Get("Location") != "/%2Fevil.example/signon/?flowId=x" {
			t.Fatalf("%d %s", r.status, r.header.Get("Location"))
		}
	})
	t.Run("expired flow offers a new start", func(t *testing.T) {
		c2, id2 := start(t)
		f, err := s.Store.GetFlow(context.Background(), fx.EnvID, id2)
		if err != nil {
			t.Fatal(err)
		}
		f.ExpiresAt = f.CreatedAt
		if err := s.Store.UpdateFlow(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		r := fetch(t, c2, "GET", base+"/signon/?flowId="+id2, "", "")
		if r.status != 404 || !strings.Contains(r.body, "Your sign-on expired") || !strings.Contains(r.body, `id="start-again" class="button primary" href="https://app.example.com/home"`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("a flow of an older shape reads as expired", func(t *testing.T) {
		c2, id2 := start(t)
		f, err := s.Store.GetFlow(context.Background(), fx.EnvID, id2)
		if err != nil {
			t.Fatal(err)
		}
		f.Data = []byte(strings.Replace(string(f.Data), `"v":2,`, ``, 1))
		if err := s.Store.UpdateFlow(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		r := fetch(t, c2, "GET", base+"/signon/?flowId="+id2, "", "")
		if r.status != 404 || !strings.Contains(r.body, "Your sign-on expired") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("completed flow goes to resume", func(t *testing.T) {
		r := fetch(t, c, "POST", base+"/flows/"+flowID, "application/vnd.pingidentity.usernamePassword.check+json",
			`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`)
		if r.status != 200 {
			t.Fatalf("check %d %s", r.status, r.body)
		}
		r = fetch(t, c, "GET", page, "", "")
		if r.status != 302 || r.header.Get("Location") != base+"/as/resume?flowId="+flowID {
			t.Fatalf("%d %s", r.status, r.header.Get("Location"))
		}
	})
	t.Run("assets", func(t *testing.T) {
		for name, ct := range map[string]string{"signon.js": "text/javascript; charset=utf-8", "signon.css": "text/css; charset=utf-8"} {
			r := fetch(t, c, "GET", base+"/signon/assets/"+name, "", "")
			if r.status != 200 || r.header.Get("Content-Type") != ct || len(r.body) < 100 {
				t.Errorf("%s: %d %s", name, r.status, r.header.Get("Content-Type"))
			}
		}
		if r := fetch(t, c, "GET", base+"/signon/assets/nope.js", "", ""); r.status != 404 {
			t.Errorf("unknown asset: %d", r.status)
		}
	})
}

func TestPasswordRulesAndBranding(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	admin := s.AdminToken(t)
	// A forced change shows the Standard policy's rules.
	r := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/users/" + fx.UserID + "/password", Token: admin,
		ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": "Temporary-Pass-77!", "forceChange": true}})
	if r.Status != 200 {
		t.Fatalf("force change: %s", r.Body)
	}
	b := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/brandingSettings", Token: admin,
		Body: map[string]any{"companyName": "Acme Travel", "logo": map[string]string{"href": "https://cdn.example.com/acme.png"}, "primaryColor": "#C0392B"}})
	if b.Status != 200 {
		t.Fatalf("branding: %d %s", b.Status, b.Body)
	}
	base := s.URL + "/" + fx.EnvID
	c := jarClient(t)
	a := fetch(t, c, "GET", base+"/as/authorize?"+url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
		"scope": {"openid"}}.Encode(), "", "")
	loc, _ := url.Parse(a.header.Get("Location"))
	id := loc.Query().Get("flowId")
	if r := fetch(t, c, "POST", base+"/flows/"+id, "application/vnd.pingidentity.usernamePassword.check+json",
		`{"username":"`+fx.Username+`","password":"Temporary-Pass-77!"}`); r.status != 200 || !strings.Contains(r.body, "MUST_CHANGE_PASSWORD") {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	p := fetch(t, c, "GET", base+"/signon/?flowId="+id, "", "")
	for _, want := range []string{
		`data-status="MUST_CHANGE_PASSWORD"`, `<h1 id="heading">Change your password</h1>`,
		`<li data-rule="length" data-min="8" data-max="255">8 to 255 characters</li>`,
		`<li data-rule="minCharacters" data-set="ABCDEFGHIJKLMNOPQRSTUVWXYZ" data-count="1">At least 1 uppercase letter</li>`,
		`<li data-rule="minCharacters" data-set="abcdefghijklmnopqrstuvwxyz" data-count="1">At least 1 lowercase letter</li>`,
		`<li data-rule="minCharacters" data-set="0123456789" data-count="1">At least 1 number</li>`,
		`<li data-rule="maxRepeatedCharacters" data-max="2">No character more than 2 times in a row</li>`,
		`<li data-rule="minUniqueCharacters" data-min="5">At least 5 different characters</li>`,
		`<li data-rule="history">Not one of your last 6 passwords</li>`,
		`autocomplete="new-password"`, `class="brand-name">Acme Travel</span>`, `<img class="logo" src="https://cdn.example.com/acme.png" alt="Acme Travel">`,
		`href="/` + fx.EnvID + `/signon/theme.css"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The environment's default theme sets the button colour: the
	// branding settings' colour stands in only where a theme sets none.
	th := fetch(t, c, "GET", base+"/signon/theme.css", "", "")
	if th.status != 200 || !strings.Contains(th.body, "--primary:#007cba;") || strings.Contains(th.body, "c0392b") {
		t.Errorf("theme: %d %s", th.status, th.body)
	}
	if !strings.Contains(p.body, `<footer class="footer">Secured by Gatehouse</footer>`) {
		t.Errorf("a theme without a footer: the page lacks Gatehouse's")
	}
}
