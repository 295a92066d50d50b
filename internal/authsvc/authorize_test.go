package authsvc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestAuthorizeErrors: until client_id and redirect_uri are known good,
// errors are shown, never redirected; after that they go back to the
// client with the state.
func TestAuthorizeErrors(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			pkce := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"pkceEnforcement": "S256_REQUIRED"}})
			base := s.URL + "/" + fx.EnvID + "/as/authorize"
			ok := url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI}, "scope": {"openid"}, "state": {"xyz"}}
			with := func(v url.Values, kv ...string) string {
				q := url.Values{}
				for k, vs := range v {
					q[k] = append([]string{}, vs...)
				}
				for i := 0; i < len(kv); i += 2 {
					if kv[i+1] == "" {
						q.Del(kv[i])
					} else {
						q.Set(kv[i], kv[i+1])
					}
				}
				return q.Encode()
			}
			challenge := strings.Repeat("a", 43)
			type shown struct{ code, detail, target string }
			cases := []struct {
				name  string
				url   string
				shown *shown // a PingOne error body, no redirect
				// or a redirect to the client with these:
				err, desc string
			}{
				{name: "unknown environment", url: s.URL + "/" + fx.AppID + "/as/authorize?" + with(ok), shown: &shown{"NOT_FOUND", "", ""}},
				{name: "no client_id", url: base + "?" + with(ok, "client_id", ""), shown: &shown{"INVALID_REQUEST", "REQUIRED_VALUE", "client_id"}},
				{name: "malformed client_id", url: base + "?" + with(ok, "client_id", "x\x00y"), shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "client_id"}},
				{name: "unknown client", url: base + "?" + with(ok, "client_id", pkce.EnvID), shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "client_id"}},
				{name: "client of another environment", url: base + "?" + with(ok, "client_id", pkce.AppID), shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "client_id"}},
				{name: "unregistered redirect_uri", url: base + "?" + with(ok, "redirect_uri", "https://evil.example.com/cb"), shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "redirect_uri"}},
				{name: "redirect_uri differing in case", url: base + "?" + with(ok, "redirect_uri", strings.ToUpper(fx.RedirectURI)), shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "redirect_uri"}},
				{name: "repeated parameter", url: base + "?" + with(ok) + "&scope=email", shown: &shown{"INVALID_REQUEST", "INVALID_VALUE", "scope"}},
				{name: "no response_type", url: base + "?" + with(ok, "response_type", ""), err: "invalid_request", desc: "response_type is required."},
				{name: "unknown response_type", url: base + "?" + with(ok, "response_type", "none"), err: "unsupported_response_type",
					desc: "response_type must be one of code, id_token, token, id_token token, code id_token, code token, code id_token token."},
				{name: "bad response_mode", url: base + "?" + with(ok, "response_mode", "web_message"), err: "invalid_request", desc: "response_mode must be query, fragment, form_post or pi.flow."},
				{name: "no scope", url: base + "?" + with(ok, "scope", ""), err: "invalid_scope", desc: "scope is required."},
				{name: "ungranted scope", url: base + "?" + with(ok, "scope", "openid p1:read:user"), err: "invalid_scope", desc: "The scope p1:read:user is not granted to the application."},
				{name: "unknown scope", url: base + "?" + with(ok, "scope", "openid nope"), err: "invalid_scope", desc: "The scope nope is not granted to the application."},
				{name: "bad prompt", url: base + "?" + with(ok, "prompt", "bogus"), err: "invalid_request", desc: `Unsupported prompt value "bogus".`},
				{name: "prompt none and login", url: base + "?" + with(ok, "prompt", "none login"), err: "invalid_request", desc: "prompt=none cannot be combined with prompt=login."},
				{name: "prompt none without session", url: base + "?" + with(ok, "prompt", "none"), err: "login_required", desc: "The user must sign on: there is no session that satisfies the sign-on policy."},
				{name: "bad max_age", url: base + "?" + with(ok, "max_age", "-1"), err: "invalid_request", desc: "max_age must be a non-negative integer."},
				{name: "short code_challenge", url: base + "?" + with(ok, "code_challenge", "abc"), err: "invalid_request", desc: "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]."},
				{name: "bad challenge method", url: base + "?" + with(ok, "code_challenge", challenge, "code_challenge_method", "S512"), err: "invalid_request", desc: "code_challenge_method must be S256 or plain."},
				{name: "malformed request object", url: base + "?" + with(ok, "request", "eyJ"), err: "invalid_request_object", desc: "The request object is not a valid JWT."},
				{name: "acr_values naming no policy", url: base + "?" + with(ok, "acr_values", "Nope"), err: "invalid_request", desc: "acr_values names no sign-on policy assigned to the application."},
			}
			pkceBase := s.URL + "/" + pkce.EnvID + "/as/authorize"
			pk := url.Values{"response_type": {"code"}, "client_id": {pkce.AppID}, "redirect_uri": {pkce.RedirectURI}, "scope": {"openid"}, "state": {"xyz"}}
			cases = append(cases,
				struct {
					name  string
					url   string
					shown *shown
					err   string
					desc  string
				}{name: "PKCE required", url: pkceBase + "?" + with(pk), err: "invalid_request", desc: "The application requires PKCE: send code_challenge."},
				struct {
					name  string
					url   string
					shown *shown
					err   string
					desc  string
				}{name: "S256 required", url: pkceBase + "?" + with(pk, "code_challenge", challenge), err: "invalid_request", desc: "The application requires code_challenge_method S256."},
			)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					h := call(t, browser(t), "GET", tc.url, "", "")
					if tc.shown != nil {
						if h.header.Get("Location") != "" {
							t.Fatalf("redirected to %s", h.header.Get("Location"))
						}
						want := http.StatusBadRequest
						if tc.shown.code == "NOT_FOUND" {
							want = http.StatusNotFound
						}
						wantStatus(t, h, want)
						body := h.json(t)
						if body["code"] != tc.shown.code || body["id"] == "" {
							t.Fatalf("body %s", h.body)
						}
						if tc.shown.detail != "" {
							d := body["details"].([]any)[0].(map[string]any)
							if d["code"] != tc.shown.detail || d["target"] != tc.shown.target {
								t.Fatalf("detail %v", d)
							}
						}
						return
					}
					wantStatus(t, h, http.StatusFound)
					loc, err := url.Parse(h.header.Get("Location"))
					if err != nil {
						t.Fatal(err)
					}
					q := loc.Query()
					if !strings.HasPrefix(loc.String(), "https://app.example.com/callback?") || q.Get("error") != tc.err ||
						q.Get("error_description") != tc.desc || q.Get("state") != "xyz" || q.Get("code") != "" {
						t.Fatalf("Location %s", loc)
					}
				})
			}

			t.Run("browser sees a page", func(t *testing.T) {
				req, _ := http.NewRequest("GET", base+"?"+with(ok, "redirect_uri", "https://evil.example.com/cb"), nil)
				req.Header.Set("Accept", "text/html,application/xhtml+xml")
				resp, err := browser(t).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Location") != "" ||
					!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
					t.Fatalf("%d %v", resp.StatusCode, resp.Header)
				}
			})
			t.Run("pi.flow errors are JSON", func(t *testing.T) {
				h := call(t, browser(t), "GET", base+"?"+with(ok, "response_mode", "pi.flow", "prompt", "none"), "", "")
				wantStatus(t, h, http.StatusBadRequest)
				if b := h.json(t); b["error"] != "login_required" || b["error_description"] == "" {
					t.Fatalf("%s", h.body)
				}
			})
		})
	}
}

// signOn completes a pi.flow-less flow in c and returns the flow id.
func signOnFlow(t *testing.T, c *http.Client, s *apptest.Server, fx *apptest.SignOn, authURL string) string {
	t.Helper()
	h := call(t, c, "GET", authURL, "", "")
	wantStatus(t, h, http.StatusFound)
	loc, _ := url.Parse(h.header.Get("Location"))
	id := loc.Query().Get("flowId")
	h = call(t, c, "POST", s.URL+"/"+fx.EnvID+"/flows/"+id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`)
	wantStatus(t, h, http.StatusOK)
	return id
}

// TestResponseModes: the code reaches the client by query, fragment or
// form_post, and authorize by POST works like GET.
func TestResponseModes(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	base := s.URL + "/" + fx.EnvID
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}

	t.Run("fragment", func(t *testing.T) {
		c := browser(t)
		id := signOnFlow(t, c, s, fx, conf.AuthCodeURL("f1", oauth2.SetAuthURLParam("response_mode", "fragment")))
		h := call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
		wantStatus(t, h, http.StatusFound)
		loc, _ := url.Parse(h.header.Get("Location"))
		frag, _ := url.ParseQuery(loc.EscapedFragment())
		if loc.RawQuery != "" || frag.Get("code") == "" || frag.Get("state") != "f1" {
			t.Fatalf("Location %s", loc)
		}
		if _, err := conf.Exchange(context.Background(), frag.Get("code")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("form_post", func(t *testing.T) {
		c := browser(t)
		id := signOnFlow(t, c, s, fx, conf.AuthCodeURL("f2", oauth2.SetAuthURLParam("response_mode", "form_post")))
		h := call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
		wantStatus(t, h, http.StatusOK)
		body := string(h.body)
		if !strings.Contains(body, `action="`+fx.RedirectURI+`"`) || !strings.Contains(body, `name="state" value="f2"`) || !strings.Contains(body, `name="code" value="`) {
			t.Fatalf("form: %s", body)
		}
		if csp := h.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("POST authorize", func(t *testing.T) {
		c := browser(t)
		form := url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI}, "scope": {"openid"}, "state": {"p"}}
		h := call(t, c, "POST", base+"/as/authorize", "application/x-www-form-urlencoded", form.Encode())
		wantStatus(t, h, http.StatusFound)
		if l := h.header.Get("Location"); !strings.HasPrefix(l, base+"/signon/?flowId=") {
			t.Fatalf("Location %s", l)
		}
	})
	t.Run("resume before completion", func(t *testing.T) {
		c := browser(t)
		h := call(t, c, "GET", conf.AuthCodeURL("r"), "", "")
		loc, _ := url.Parse(h.header.Get("Location"))
		id := loc.Query().Get("flowId")
		h = call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
		wantStatus(t, h, http.StatusFound)
		if l := h.header.Get("Location"); l != base+"/signon/?flowId="+id {
			t.Fatalf("Location %s", l)
		}
		// Another browser cannot resume (or read) the flow.
		h = call(t, browser(t), "GET", base+"/as/resume?flowId="+id, "", "")
		wantStatus(t, h, http.StatusUnauthorized)
		if b := h.json(t); b["code"] != "ACCESS_FAILED" {
			t.Fatalf("%s", h.body)
		}
	})
	t.Run("loginPageUrl", func(t *testing.T) {
		own := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"loginPageUrl": "https://login.example.com/signin"}})
		u := s.URL + "/" + own.EnvID + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {own.AppID},
			"redirect_uri": {own.RedirectURI}, "scope": {"openid"}}.Encode()
		h := call(t, browser(t), "GET", u, "", "")
		wantStatus(t, h, http.StatusFound)
		loc, _ := url.Parse(h.header.Get("Location"))
		if loc.Host != "login.example.com" || loc.Query().Get("environmentId") != own.EnvID || loc.Query().Get("flowId") == "" {
			t.Fatalf("Location %s", loc)
		}
	})
}

// TestCustomResourceAudience: scopes of a custom resource granted to the
// application give tokens for that resource's audience, with its
// lifetime.
func TestCustomResourceAudience(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	admin := s.AdminToken(t)
	envPath := "/environments/" + fx.EnvID
	res := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/resources", Token: admin, Body: map[string]any{
		"name": "Orders", "audience": "https://api.orders.example.com", "accessTokenValiditySeconds": 600}})
	if res.Status != http.StatusCreated {
		t.Fatalf("resource: %s", res.Body)
	}
	resID := res.JSON(t)["id"].(string)
	sc := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/resources/" + resID + "/scopes", Token: admin, Body: map[string]any{"name": "orders:read"}})
	if sc.Status != http.StatusCreated {
		t.Fatalf("scope: %s", sc.Body)
	}
	g := s.Do(t, apptest.Request{Method: "POST", URL: envPath + "/applications/" + fx.AppID + "/grants", Token: admin, Body: map[string]any{
		"resource": map[string]string{"id": resID}, "scopes": []map[string]string{{"id": sc.JSON(t)["id"].(string)}}}})
	if g.Status != http.StatusCreated {
		t.Fatalf("grant: %s", g.Body)
	}
	base := s.URL + "/" + fx.EnvID
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid", "orders:read"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}
	c := browser(t)
	id := signOnFlow(t, c, s, fx, conf.AuthCodeURL("a"))
	h := call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
	loc, _ := url.Parse(h.header.Get("Location"))
	tok, err := conf.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Aud   []string `json:"aud"`
		Scope string   `json:"scope"`
		Iat   int64    `json:"iat"`
		Exp   int64    `json:"exp"`
		Env   string   `json:"env"`
	}
	json.Unmarshal(payload, &claims)
	if len(claims.Aud) != 1 || claims.Aud[0] != "https://api.orders.example.com" || claims.Scope != "openid orders:read" || claims.Exp-claims.Iat != 600 {
		t.Fatalf("claims %s", payload)
	}
	if claims.Env != "" {
		t.Errorf("env claim on a token not for the PingOne API: %s", payload)
	}
}
