package authsvc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushRequest posts form to /as/par with Basic client authentication.
func pushRequest(t *testing.T, s *apptest.Server, envID, id, secret string, form url.Values) *hop {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+"/"+envID+"/as/par", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &hop{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantPARError checks an RFC 6749 error body, exactly.
func wantPARError(t *testing.T, h *hop, status int, code, desc string) {
	t.Helper()
	wantStatus(t, h, status)
	if got, want := h.json(t), map[string]any{"error": code, "error_description": desc}; !reflect.DeepEqual(got, want) {
		t.Fatalf("body %v, want %v", got, want)
	}
}

// wantBadRequestURI checks the error shown, never redirected, for a
// request_uri authorize cannot use.
func wantBadRequestURI(t *testing.T, h *hop) {
	t.Helper()
	if l := h.header.Get("Location"); l != "" {
		t.Fatalf("redirected to %s", l)
	}
	wantStatus(t, h, http.StatusBadRequest)
	body := h.json(t)
	if id, _ := body["id"].(string); id == "" {
		t.Fatalf("no id: %s", h.body)
	}
	delete(body, "id")
	want := map[string]any{"code": "INVALID_REQUEST", "message": "The request could not be completed. The request was malformed or invalid.",
		"details": []any{map[string]any{"code": "INVALID_VALUE", "target": "request_uri", "message": "The request_uri is unknown, expired or already used."}}}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("body %s", h.body)
	}
}

// TestPushedAuthorizationRequests: RFC 9126 as PingOne serves it. A
// pushed request is used once, by its own client, before it expires, and
// authorize reads nothing else from the browser; an application that
// requires PAR refuses any other request.
func TestPushedAuthorizationRequests(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			base := s.URL + "/" + fx.EnvID
			conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid"},
				Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}
			verifier := oauth2.GenerateVerifier()
			request := func() url.Values {
				return url.Values{"response_type": {"code"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI}, "scope": {"openid"},
					"state": {"pushed"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
			}
			push := func(t *testing.T, fx *apptest.SignOn, form url.Values) string {
				t.Helper()
				h := pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, form)
				wantStatus(t, h, http.StatusCreated)
				if cc := h.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				b := h.json(t)
				uri, _ := b["request_uri"].(string)
				if !strings.HasPrefix(uri, requestURIPrefix) || len(uri) < len(requestURIPrefix)+40 || len(b) != 2 {
					t.Fatalf("body %s", h.body)
				}
				return uri
			}
			authorizeURL := func(fx *apptest.SignOn, clientID, uri string) string {
				return s.URL + "/" + fx.EnvID + "/as/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {uri}}.Encode()
			}

			uri := push(t, fx, request())
			var replay string
			t.Run("pushed request through to tokens", func(t *testing.T) {
				h := pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, request())
				if b := h.json(t); b["expires_in"] != float64(60) {
					t.Fatalf("expires_in: %s", h.body)
				}
				c := browser(t)
				// Parameters beside client_id and request_uri are ignored (RFC 9126 §4).
				u := authorizeURL(fx, fx.AppID, uri) + "&state=browser&scope=nope&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb"
				id := signOnFlow(t, c, s, fx, u)
				h = call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
				wantStatus(t, h, http.StatusFound)
				loc, _ := url.Parse(h.header.Get("Location"))
				if !strings.HasPrefix(loc.String(), fx.RedirectURI+"?") || loc.Query().Get("state") != "pushed" || loc.Query().Get("code") == "" {
					t.Fatalf("Location %s", loc)
				}
				tok, err := conf.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken == "" || tok.Extra("id_token") == nil {
					t.Fatalf("token %+v", tok)
				}
				replay = u
			})
			t.Run("replayed request_uri", func(t *testing.T) {
				if replay == "" {
					t.Skip("no request_uri was used")
				}
				wantBadRequestURI(t, call(t, browser(t), "GET", replay, "", ""))
			})
			t.Run("another client's request_uri", func(t *testing.T) {
				admin := s.AdminToken(t)
				other := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications", Token: admin, Body: map[string]any{
					"enabled": true, "name": "Other", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
					"responseTypes": []string{"CODE"}, "redirectUris": []string{"https://other.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}})
				if other.Status != http.StatusCreated {
					t.Fatalf("app: %s", other.Body)
				}
				mine := push(t, fx, request())
				wantBadRequestURI(t, call(t, browser(t), "GET", authorizeURL(fx, other.JSON(t)["id"].(string), mine), "", ""))
				// The other client's attempt does not use it up.
				h := call(t, browser(t), "GET", authorizeURL(fx, fx.AppID, mine), "", "")
				wantStatus(t, h, http.StatusFound)
				if l := h.header.Get("Location"); !strings.HasPrefix(l, base+"/signon/?flowId=") {
					t.Fatalf("Location %s", l)
				}
			})
			t.Run("unknown request_uri", func(t *testing.T) {
				for _, u := range []string{requestURIPrefix + "nope", "https://app.example.com/request.jwt"} {
					wantBadRequestURI(t, call(t, browser(t), "GET", authorizeURL(fx, fx.AppID, u), "", ""))
				}
			})
			t.Run("expired request_uri", func(t *testing.T) {
				short := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"parTimeout": 1}})
				h := pushRequest(t, s, short.EnvID, short.AppID, short.AppSecret, url.Values{"response_type": {"code"}, "client_id": {short.AppID},
					"redirect_uri": {short.RedirectURI}, "scope": {"openid"}})
				wantStatus(t, h, http.StatusCreated)
				b := h.json(t)
				if b["expires_in"] != float64(1) {
					t.Fatalf("body %s", h.body)
				}
				// Past the expiry whatever the machine's load: no pass depends on speed.
				time.Sleep(1100 * time.Millisecond)
				wantBadRequestURI(t, call(t, browser(t), "GET", authorizeURL(short, short.AppID, b["request_uri"].(string)), "", ""))
			})
			t.Run("parRequirement REQUIRED", func(t *testing.T) {
				req := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"parRequirement": "REQUIRED"}})
				plain := s.URL + "/" + req.EnvID + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {req.AppID},
					"redirect_uri": {req.RedirectURI}, "scope": {"openid"}, "state": {"xyz"}}.Encode()
				h := call(t, browser(t), "GET", plain, "", "")
				wantStatus(t, h, http.StatusFound)
				loc, _ := url.Parse(h.header.Get("Location"))
				want := url.Values{"error": {"invalid_request"}, "state": {"xyz"},
					"error_description": {"The application requires pushed authorization requests: send a request_uri from /as/par."}}
				if !strings.HasPrefix(loc.String(), req.RedirectURI+"?") || !reflect.DeepEqual(loc.Query(), want) {
					t.Fatalf("Location %s", loc)
				}
				uri := push(t, req, url.Values{"response_type": {"code"}, "redirect_uri": {req.RedirectURI}, "scope": {"openid"}})
				h = call(t, browser(t), "GET", authorizeURL(req, req.AppID, uri), "", "")
				wantStatus(t, h, http.StatusFound)
				if l := h.header.Get("Location"); !strings.HasPrefix(l, s.URL+"/"+req.EnvID+"/signon/?flowId=") {
					t.Fatalf("Location %s", l)
				}
			})
			t.Run("refused pushes", func(t *testing.T) {
				with := func(kv ...string) url.Values {
					v := request()
					for i := 0; i < len(kv); i += 2 {
						if kv[i+1] == "" {
							v.Del(kv[i])
						} else {
							v.Set(kv[i], kv[i+1])
						}
					}
					return v
				}
				for _, tc := range []struct {
					name       string
					secret     string
					form       url.Values
					status     int
					code, desc string
				}{
					{"wrong secret", "wrong", request(), 401, "invalid_client", "Client authentication failed."},
					{"request_uri inside", fx.AppSecret, with("request_uri", uri), 400, "invalid_request", "request_uri is not allowed in a pushed authorization request."},
					{"another client_id", fx.AppSecret, with("client_id", fx.EnvID), 401, "invalid_client", "client_id does not match the client of the Authorization header."},
					{"unregistered redirect_uri", fx.AppSecret, with("redirect_uri", "https://evil.example.com/cb"), 400, "invalid_request", "The redirect_uri is not registered for the application."},
					{"no response_type", fx.AppSecret, with("response_type", ""), 400, "invalid_request", "response_type is required."},
					{"response type the app lacks", fx.AppSecret, with("response_type", "token"), 400, "unauthorized_client", "The application does not allow response_type token."},
					{"ungranted scope", fx.AppSecret, with("scope", "openid p1:read:user"), 400, "invalid_scope", "The scope p1:read:user is not granted to the application."},
					{"malformed request object", fx.AppSecret, with("request", "eyJ"), 400, "invalid_request_object", "The request object is not a valid JWT."},
					{"bad challenge", fx.AppSecret, with("code_challenge", "abc"), 400, "invalid_request", "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]."},
				} {
					t.Run(tc.name, func(t *testing.T) {
						h := pushRequest(t, s, fx.EnvID, fx.AppID, tc.secret, tc.form)
						wantPARError(t, h, tc.status, tc.code, tc.desc)
						if tc.name == "wrong secret" && h.header.Get("WWW-Authenticate") == "" {
							t.Error("no WWW-Authenticate")
						}
					})
				}
				// Nothing was kept: a purge a day from now finds only what
				// the earlier subtests left, which is gone after the first.
				ctx := context.Background()
				if _, err := s.Store.PurgeExpired(ctx, time.Now().Add(24*time.Hour), 100000); err != nil {
					t.Fatal(err)
				}
				for _, tc := range []url.Values{with("scope", "openid p1:read:user"), with("redirect_uri", "https://evil.example.com/cb")} {
					pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, tc)
				}
				if n, err := s.Store.PurgeExpired(ctx, time.Now().Add(24*time.Hour), 100000); err != nil || n != 0 {
					t.Fatalf("refused pushes stored %d rows (%v)", n, err)
				}
			})
		})
	}
}

// TestPublicPushesBounded: a public client's push needs no secret, so
// each counts against the flows one address may start
// (--limit-flows-per-address); a confidential client's does not.
func TestPublicPushesBounded(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			limits := ratelimit.Defaults()
			limits.FlowsPerAddress = ratelimit.Rate{N: 2, Per: time.Hour}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: &limits})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			created := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications", Token: s.AdminToken(t), Body: map[string]any{
				"enabled": true, "name": "Public", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
				"responseTypes": []string{"CODE"}, "redirectUris": []string{"https://public.example.com/cb"}, "tokenEndpointAuthMethod": "NONE"}})
			if created.Status != http.StatusCreated {
				t.Fatalf("app: %s", created.Body)
			}
			public := created.JSON(t)["id"].(string)
			push := func(clientID string, basicSecret string) *hop {
				form := url.Values{"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid"}, "state": {"s"},
					"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
				if basicSecret == "" {
					form.Set("redirect_uri", "https://public.example.com/cb")
					h, err := http.PostForm(s.URL+"/"+fx.EnvID+"/as/par", form)
					if err != nil {
						t.Fatal(err)
					}
					defer h.Body.Close()
					b, _ := io.ReadAll(h.Body)
					return &hop{status: h.StatusCode, header: h.Header, body: b}
				}
				form.Set("redirect_uri", fx.RedirectURI)
				return pushRequest(t, s, fx.EnvID, clientID, basicSecret, form)
			}
			for i := range 2 {
				if h := push(public, ""); h.status != http.StatusCreated {
					t.Fatalf("public push %d: %d %s", i, h.status, h.body)
				}
			}
			h := push(public, "")
			if h.status != http.StatusTooManyRequests || h.json(t)["error"] != "temporarily_unavailable" || h.header.Get("Retry-After") == "" {
				t.Fatalf("third public push: %d %v %s", h.status, h.header, h.body)
			}
			for i := range 3 {
				if h := push(fx.AppID, fx.AppSecret); h.status != http.StatusCreated {
					t.Fatalf("confidential push %d: %d %s", i, h.status, h.body)
				}
			}
		})
	}
}
