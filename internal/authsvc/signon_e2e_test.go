package authsvc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func browser(t testing.TB) *http.Client { return apptest.Browser(t) }

type hop struct {
	status int
	header http.Header
	body   []byte
}

func (h *hop) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", h.status, h.body)
	}
	return m
}

func call(t testing.TB, c *http.Client, method, u, contentType, body string) *hop {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// PingOne's samples send */*: a strict Accept gets 406 there.
	req.Header.Set("Accept", "*/*")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &hop{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantStatus(t testing.TB, h *hop, want int) {
	t.Helper()
	if h.status != want {
		t.Fatalf("status %d, want %d: %s", h.status, want, h.body)
	}
}

const ctUsernamePassword = "application/vnd.pingidentity.usernamePassword.check+json"

var msTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestHeadlessSignOn is a PingOne customer's headless sign-on: authorize
// with pi.flow, usernamePassword.check, resume, then the code exchanged
// with PKCE through x/oauth2, the ID token verified with go-oidc against
// discovery, and userinfo. The resume body must have exactly the shape of
// PingOne's documented example.
func TestHeadlessSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			ctx := context.Background()
			issuer := s.URL + "/" + fx.EnvID + "/as"
			provider, err := oidc.NewProvider(ctx, issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, Endpoint: provider.Endpoint(),
				RedirectURL: fx.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
			verifier := oauth2.GenerateVerifier()
			c := browser(t)

			// 1. authorize, pi.flow: the flow as JSON.
			authURL := conf.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-456"),
				oauth2.SetAuthURLParam("response_mode", "pi.flow"))
			h := call(t, c, "GET", authURL, "", "")
			wantStatus(t, h, http.StatusOK)
			fl := h.json(t)
			if fl["status"] != "USERNAME_PASSWORD_REQUIRED" {
				t.Fatalf("status %v", fl["status"])
			}
			flowID := fl["id"].(string)
			links := fl["_links"].(map[string]any)
			for _, k := range []string{"self", "signOnPage", "usernamePassword.check", "password.forgot", "session.reset"} {
				if _, ok := links[k]; !ok {
					t.Errorf("_links lacks %s: %v", k, links)
				}
			}
			if _, ok := links["user.register"]; ok {
				t.Errorf("_links offers user.register, which the default policy does not enable")
			}
			if sc := h.header.Values("Set-Cookie"); len(sc) != 2 || !strings.HasPrefix(sc[0], "ST=") || !strings.HasPrefix(sc[1], "ST-NO-SS=") ||
				!strings.Contains(sc[0], "Path=/"+fx.EnvID) || !strings.Contains(sc[0], "HttpOnly") {
				t.Errorf("Set-Cookie = %q", sc)
			}

			// 2. usernamePassword.check → COMPLETED with a session.
			flowURL := links["usernamePassword.check"].(map[string]any)["href"].(string)
			h = call(t, c, "POST", flowURL, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`)
			wantStatus(t, h, http.StatusOK)
			done := h.json(t)
			if done["status"] != "COMPLETED" {
				t.Fatalf("after check: %s", h.body)
			}
			sessionID := done["session"].(map[string]any)["id"].(string)

			// 3. resume: PingOne's documented body, key for key.
			h = call(t, c, "GET", done["resumeUrl"].(string), "", "")
			wantStatus(t, h, http.StatusOK)
			if ct := h.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := h.json(t)
			// We sent state; PingOne's example did not.
			apptest.CheckResumeShape(t, h.body, "authorizeResponse.state")
			base := s.URL + "/" + fx.EnvID
			emb := got["_embedded"].(map[string]any)
			checks := map[string][2]any{
				"id":                         {got["id"], flowID},
				"environment.id":             {got["environment"].(map[string]any)["id"], fx.EnvID},
				"session.id":                 {got["session"].(map[string]any)["id"], sessionID},
				"status":                     {got["status"], "COMPLETED"},
				"resumeUrl":                  {got["resumeUrl"], base + "/as/resume?flowId=" + flowID},
				"_links.self":                {got["_links"].(map[string]any)["self"].(map[string]any)["href"], base + "/flows/" + flowID},
				"_links.signOnPage":          {got["_links"].(map[string]any)["signOnPage"].(map[string]any)["href"], base + "/signon/?flowId=" + flowID},
				"_embedded.user.id":          {emb["user"].(map[string]any)["id"], fx.UserID},
				"_embedded.user.username":    {emb["user"].(map[string]any)["username"], fx.Username},
				"_embedded.user.name.given":  {emb["user"].(map[string]any)["name"].(map[string]any)["given"], fx.Given},
				"_embedded.user.name.family": {emb["user"].(map[string]any)["name"].(map[string]any)["family"], fx.Family},
				"_embedded.application.name": {emb["application"].(map[string]any)["name"], fx.AppName},
				"authorizeResponse.state":    {got["authorizeResponse"].(map[string]any)["state"], "st-123"},
			}
			for k, v := range checks {
				if v[0] != v[1] {
					t.Errorf("%s = %v, want %v", k, v[0], v[1])
				}
			}
			for _, k := range []string{"createdAt", "expiresAt"} {
				if !msTime.MatchString(got[k].(string)) {
					t.Errorf("%s = %v", k, got[k])
				}
			}
			// The session id resolves: it is a stored session of this user.
			sess, err := s.Store.GetSession(ctx, fx.EnvID, sessionID)
			if err != nil || sess.UserID != fx.UserID {
				t.Fatalf("session %s: %v %+v", sessionID, err, sess)
			}
			code := got["authorizeResponse"].(map[string]any)["code"].(string)

			// The flow answered once: resuming again finds nothing.
			wantStatus(t, call(t, c, "GET", done["resumeUrl"].(string), "", ""), http.StatusNotFound)

			// 4. token exchange with PKCE through x/oauth2.
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
				t.Errorf("token: %+v", tok)
			}
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: fx.AppID}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("id token: %v", err)
			}
			if idt.Nonce != "n-456" || idt.Subject != fx.UserID || idt.Issuer != issuer {
				t.Errorf("id token nonce %q sub %q iss %q", idt.Nonce, idt.Subject, idt.Issuer)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var idc struct {
				SID, ACR string
				AMR      []string
				AuthTime int64  `json:"auth_time"`
				Email    string `json:"email"`
				Given    string `json:"given_name"`
			}
			idt.Claims(&idc)
			if idc.SID != sessionID || idc.ACR != "Single_Factor" || !reflect.DeepEqual(idc.AMR, []string{"pwd"}) || idc.AuthTime == 0 {
				t.Errorf("id token sid/acr/amr/auth_time = %q %q %v %d", idc.SID, idc.ACR, idc.AMR, idc.AuthTime)
			}

			// 5. userinfo.
			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uic map[string]any
			ui.Claims(&uic)
			if ui.Subject != fx.UserID || ui.Email != fx.Email || uic["given_name"] != fx.Given || uic["family_name"] != fx.Family {
				t.Errorf("userinfo = %v", uic)
			}
		})
	}
}

// TestRedirectSignOnAndSSO is a browser's sign-on by redirects with a
// cookie jar, then single sign-on into a second application of the same
// environment without a password, and prompt=login forcing a new one.
func TestRedirectSignOnAndSSO(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			ctx := context.Background()
			base := s.URL + "/" + fx.EnvID
			c := browser(t)
			conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid", "profile"},
				Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}

			h := call(t, c, "GET", conf.AuthCodeURL("s1"), "", "")
			wantStatus(t, h, http.StatusFound)
			loc, _ := url.Parse(h.header.Get("Location"))
			flowID := loc.Query().Get("flowId")
			if loc.Scheme+"://"+loc.Host+loc.Path != base+"/signon/" || flowID == "" {
				t.Fatalf("Location %s", loc)
			}
			h = call(t, c, "GET", base+"/flows/"+flowID, "", "")
			wantStatus(t, h, http.StatusOK)
			if st := h.json(t)["status"]; st != "USERNAME_PASSWORD_REQUIRED" {
				t.Fatalf("status %v", st)
			}
			h = call(t, c, "POST", base+"/flows/"+flowID, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`)
			wantStatus(t, h, http.StatusOK)
			sid := h.json(t)["session"].(map[string]any)["id"].(string)
			h = call(t, c, "GET", base+"/as/resume?flowId="+flowID, "", "")
			wantStatus(t, h, http.StatusFound)
			cb, _ := url.Parse(h.header.Get("Location"))
			if cb.Scheme+"://"+cb.Host+cb.Path != fx.RedirectURI || cb.Query().Get("state") != "s1" || cb.Query().Get("code") == "" {
				t.Fatalf("callback %s", cb)
			}
			if _, err := conf.Exchange(ctx, cb.Query().Get("code")); err != nil {
				t.Fatalf("exchange: %v", err)
			}

			// A second application: the session signs the user on at once.
			admin := s.AdminToken(t)
			app2 := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications", Token: admin, Body: map[string]any{
				"enabled": true, "name": "Second", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
				"responseTypes": []string{"CODE"}, "redirectUris": []string{"https://two.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_POST"}})
			if app2.Status != http.StatusCreated {
				t.Fatalf("app2: %s", app2.Body)
			}
			id2 := app2.JSON(t)["id"].(string)
			sec2 := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + fx.EnvID + "/applications/" + id2 + "/secret", Token: admin}).JSON(t)["secret"].(string)
			conf2 := oauth2.Config{ClientID: id2, ClientSecret: sec2, RedirectURL: "https://two.example.com/cb", Scopes: []string{"openid"},
				Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token", AuthStyle: oauth2.AuthStyleInParams}}
			h = call(t, c, "GET", conf2.AuthCodeURL("s2"), "", "")
			wantStatus(t, h, http.StatusFound)
			cb2, _ := url.Parse(h.header.Get("Location"))
			if cb2.Host != "two.example.com" || cb2.Query().Get("state") != "s2" || cb2.Query().Get("code") == "" {
				t.Fatalf("SSO did not answer at once: %s", cb2)
			}
			tok2, err := conf2.Exchange(ctx, cb2.Query().Get("code"))
			if err != nil {
				t.Fatalf("exchange 2: %v", err)
			}
			provider, err := oidc.NewProvider(ctx, base+"/as")
			if err != nil {
				t.Fatal(err)
			}
			idt, err := provider.Verifier(&oidc.Config{ClientID: id2}).Verify(ctx, tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var claims struct{ SID string }
			idt.Claims(&claims)
			if idt.Subject != fx.UserID || claims.SID != sid {
				t.Errorf("SSO token sub %s sid %s, want %s %s", idt.Subject, claims.SID, fx.UserID, sid)
			}

			// prompt=login: the session does not count.
			h = call(t, c, "GET", conf2.AuthCodeURL("s3", oauth2.SetAuthURLParam("prompt", "login")), "", "")
			wantStatus(t, h, http.StatusFound)
			if l := h.header.Get("Location"); !strings.HasPrefix(l, base+"/signon/?flowId=") {
				t.Errorf("prompt=login went to %s", l)
			}
			// max_age=0 likewise.
			h = call(t, c, "GET", conf2.AuthCodeURL("s4", oauth2.SetAuthURLParam("max_age", "0")), "", "")
			if l := h.header.Get("Location"); h.status != http.StatusFound || !strings.HasPrefix(l, base+"/signon/?flowId=") {
				t.Errorf("max_age=0: %d %s", h.status, l)
			}
			// A browser without the cookie gets a sign-on page, not SSO.
			h = call(t, browser(t), "GET", conf2.AuthCodeURL("s5"), "", "")
			if l := h.header.Get("Location"); !strings.HasPrefix(l, base+"/signon/?flowId=") {
				t.Errorf("new browser went to %s", l)
			}
		})
	}
}

// TestECSigningKey: with an EC P-384 key as the environment's default,
// the ID token is signed ES384, discovery says so, and at_hash uses
// SHA-384 — go-oidc checks all three.
func TestECSigningKey(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/keys", Token: s.AdminToken(t), Body: map[string]any{
		"name": "EC", "algorithm": "EC", "keyLength": 384, "signatureAlgorithm": "SHA384withECDSA",
		"subjectDN": "CN=EC, O=Example", "usageType": "SIGNING", "validityPeriod": 30, "default": true}})
	if r.Status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	base := s.URL + "/" + fx.EnvID
	provider, err := oidc.NewProvider(ctx, base+"/as")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid"}, Endpoint: provider.Endpoint()}
	c := browser(t)
	h := call(t, c, "GET", conf.AuthCodeURL("ec", oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
	wantStatus(t, h, http.StatusOK)
	id := h.json(t)["id"].(string)
	wantStatus(t, call(t, c, "POST", base+"/flows/"+id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`), http.StatusOK)
	h = call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
	wantStatus(t, h, http.StatusOK)
	tok, err := conf.Exchange(ctx, h.json(t)["authorizeResponse"].(map[string]any)["code"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: fx.AppID, SupportedSigningAlgs: []string{"ES384"}}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
}
