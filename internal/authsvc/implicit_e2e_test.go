package authsvc_test

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// implicitApp is a web application allowed every response type: the
// AUTHORIZATION_CODE and IMPLICIT grant types with CODE, TOKEN and
// ID_TOKEN, as PingOne pairs them.
var implicitApp = map[string]any{"grantTypes": []string{"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"},
	"responseTypes": []string{"CODE", "TOKEN", "ID_TOKEN"}}

// halfSHA256 is c_hash and at_hash for RS256 (OIDC Core §3.3.2.11),
// computed here rather than with the server's function.
func halfSHA256(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// implicitClient is one relying party's view of an environment: go-oidc
// against discovery, x/oauth2 for codes.
type implicitClient struct {
	s        *apptest.Server
	fx       *apptest.SignOn
	base     string
	provider *oidc.Provider
	conf     oauth2.Config
	// algs are the ID tokens' signing algorithms (RS256 when empty) and
	// half their c_hash (halfSHA256 when nil).
	algs []string
	half func(string) string
}

func (ic *implicitClient) verifier() *oidc.IDTokenVerifier {
	return ic.provider.Verifier(&oidc.Config{ClientID: ic.fx.AppID, SupportedSigningAlgs: ic.algs})
}

func newImplicitClient(t *testing.T, s *apptest.Server, fx *apptest.SignOn) *implicitClient {
	t.Helper()
	base := s.URL + "/" + fx.EnvID
	provider, err := oidc.NewProvider(context.Background(), base+"/as")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &implicitClient{s: s, fx: fx, base: base, provider: provider, conf: oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret,
		Endpoint: provider.Endpoint(), RedirectURL: fx.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}}
}

// authorizeURL asks for responseType with the nonce and state given;
// extra adds parameters ("" values are left out).
func (ic *implicitClient) authorizeURL(responseType, state, nonce string, extra ...string) string {
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", responseType)}
	if nonce != "" {
		opts = append(opts, oidc.Nonce(nonce))
	}
	for i := 0; i < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return ic.conf.AuthCodeURL(state, opts...)
}

// signOn takes browser c through the sign-on of the flow authorize
// started (its Location) and returns the resume answer.
func (ic *implicitClient) signOn(t *testing.T, c *http.Client, authorize *hop) *hop {
	t.Helper()
	wantStatus(t, authorize, http.StatusFound)
	loc, _ := url.Parse(authorize.header.Get("Location"))
	flowID := loc.Query().Get("flowId")
	if !strings.HasPrefix(loc.String(), ic.base+"/signon/?") || flowID == "" {
		t.Fatalf("authorize sent the browser to %s", loc)
	}
	h := call(t, c, "POST", ic.base+"/flows/"+flowID, ctUsernamePassword, `{"username":"`+ic.fx.Username+`","password":"`+ic.fx.Password+`"}`)
	wantStatus(t, h, http.StatusOK)
	if st := h.json(t)["status"]; st != "COMPLETED" {
		t.Fatalf("after the password: %s", h.body)
	}
	return call(t, c, "GET", ic.base+"/as/resume?flowId="+flowID, "", "")
}

// fragment is the authorization response a redirect carries in its
// fragment; the query must hold nothing of it.
func fragment(t *testing.T, h *hop, redirectURI string) url.Values {
	t.Helper()
	wantStatus(t, h, http.StatusFound)
	loc, err := url.Parse(h.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || loc.RawQuery != "" || loc.Fragment == "" {
		t.Fatalf("Location %s: want %s#…", loc, redirectURI)
	}
	// A browser decodes location.hash once: so does the client here.
	v, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.Fragment, err)
	}
	return v
}

// paramNames are a response's parameter names, sorted.
func paramNames(v url.Values) []string { return slices.Sorted(maps.Keys(v)) }

// checkAuthorizeResponse holds one authorization response to what its
// response type lists and checks every token in it: the ID token with
// go-oidc (signature, issuer, audience, expiry), its nonce, at_hash and
// c_hash; the access token at userinfo; the code at the token endpoint,
// whose ID token keeps its own at_hash.
func (ic *implicitClient) checkAuthorizeResponse(t *testing.T, responseType string, v url.Values, state, nonce string) {
	t.Helper()
	ctx := context.Background()
	words := strings.Fields(responseType)
	has := func(w string) bool { return slices.Contains(words, w) }
	want := []string{"state"}
	if has("code") {
		want = append(want, "code")
	}
	if has("token") {
		want = append(want, "access_token", "expires_in", "scope", "token_type")
	}
	if has("id_token") {
		want = append(want, "id_token")
	}
	slices.Sort(want)
	if got := paramNames(v); !slices.Equal(got, want) {
		t.Fatalf("%s: parameters %v, want %v", responseType, got, want)
	}
	if v.Get("state") != state {
		t.Errorf("state = %q, want %q", v.Get("state"), state)
	}
	if has("token") {
		if v.Get("token_type") != "Bearer" || v.Get("expires_in") != "3600" || v.Get("scope") != "openid profile email" {
			t.Errorf("token_type %q expires_in %q scope %q", v.Get("token_type"), v.Get("expires_in"), v.Get("scope"))
		}
		ui, err := ic.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: v.Get("access_token"), TokenType: "Bearer"}))
		if err != nil {
			t.Fatalf("userinfo with the access token of the authorization endpoint: %v", err)
		}
		if ui.Subject != ic.fx.UserID || ui.Email != ic.fx.Email {
			t.Errorf("userinfo sub %s email %s", ui.Subject, ui.Email)
		}
	}
	if has("id_token") {
		idt, err := ic.verifier().Verify(ctx, v.Get("id_token"))
		if err != nil {
			t.Fatalf("id token: %v", err)
		}
		var c struct {
			Nonce  string `json:"nonce"`
			AtHash string `json:"at_hash"`
			CHash  string `json:"c_hash"`
			SID    string `json:"sid"`
			Given  string `json:"given_name"`
		}
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != ic.fx.UserID || c.Nonce != nonce || c.SID == "" || c.Given != ic.fx.Given {
			t.Errorf("id token sub %s nonce %q sid %q given_name %q", idt.Subject, c.Nonce, c.SID, c.Given)
		}
		switch {
		case has("token"):
			if err := idt.VerifyAccessToken(v.Get("access_token")); err != nil {
				t.Errorf("at_hash: %v", err)
			}
		case c.AtHash != "":
			t.Errorf("at_hash %q without an access token", c.AtHash)
		}
		want := ""
		if half := ic.half; has("code") {
			if half == nil {
				half = halfSHA256
			}
			want = half(v.Get("code"))
		}
		if c.CHash != want {
			t.Errorf("c_hash = %q, want %q", c.CHash, want)
		}
	}
	if has("code") {
		tok, err := ic.conf.Exchange(ctx, v.Get("code"))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if v.Get("access_token") == tok.AccessToken {
			t.Error("the token endpoint handed out the authorization endpoint's access token again")
		}
		idt, err := ic.verifier().Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatalf("token endpoint's id token: %v", err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("token endpoint's at_hash: %v", err)
		}
		if idt.Nonce != nonce || tok.RefreshToken == "" {
			t.Errorf("token endpoint: nonce %q refresh token %q", idt.Nonce, tok.RefreshToken)
		}
	}
}

// TestImplicitAndHybridSignOn signs a user on through the hosted flow
// for each implicit and hybrid response type and checks what resume
// delivers in the fragment, the default mode of every response type that
// carries a token. The application has no refresh token to give here:
// the authorization endpoint never issues one.
func TestImplicitAndHybridSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)
			for _, rt := range []string{"token", "id_token", "id_token token", "code id_token", "code token", "code id_token token", "token id_token code"} {
				t.Run(rt, func(t *testing.T) {
					c := browser(t)
					// A base64 state: a fragment encoded twice would not
					// give it back.
					state := "b64/st+" + rt + "=="
					h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL(rt, state, "n-"+rt), "", ""))
					if cc := h.header.Get("Cache-Control"); cc != "no-store" {
						t.Errorf("Cache-Control %q", cc)
					}
					ic.checkAuthorizeResponse(t, rt, fragment(t, h, fx.RedirectURI), state, "n-"+rt)

					// Single sign-on: authorize answers at once, the same way.
					h = call(t, c, "GET", ic.authorizeURL(rt, "sso", "n2"), "", "")
					ic.checkAuthorizeResponse(t, rt, fragment(t, h, fx.RedirectURI), "sso", "n2")
				})
			}
		})
	}
}

// TestImplicitECKey: with an EC P-384 key as the environment's default,
// the authorization endpoint's ID token is signed ES384 and its at_hash
// and c_hash are halves of SHA-384 hashes.
func TestImplicitECKey(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/keys", Token: s.AdminToken(t), Body: map[string]any{
		"name": "EC", "algorithm": "EC", "keyLength": 384, "signatureAlgorithm": "SHA384withECDSA",
		"subjectDN": "CN=EC, O=Example", "usageType": "SIGNING", "validityPeriod": 30, "default": true}})
	if r.Status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	ic := newImplicitClient(t, s, fx)
	ic.algs = []string{"ES384"}
	ic.half = func(v string) string {
		h := sha512.Sum384([]byte(v))
		return base64.RawURLEncoding.EncodeToString(h[:24])
	}
	c := browser(t)
	h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("code id_token token", "ec", "n-ec"), "", ""))
	ic.checkAuthorizeResponse(t, "code id_token token", fragment(t, h, fx.RedirectURI), "ec", "n-ec")
}

// TestImplicitResponseModes: pi.flow carries the tokens in the flow's
// authorizeResponse, form_post in an auto-submitting page whose one
// script the Content-Security-Policy allows by its hash, and fragment
// when asked for explicitly — for code as well.
func TestImplicitResponseModes(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)

			t.Run("pi.flow", func(t *testing.T) {
				c := browser(t)
				h := call(t, c, "GET", ic.authorizeURL("code id_token token", "st", "n", "response_mode", "pi.flow"), "", "")
				wantStatus(t, h, http.StatusOK)
				flowID := h.json(t)["id"].(string)
				wantStatus(t, call(t, c, "POST", ic.base+"/flows/"+flowID, ctUsernamePassword,
					`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`), http.StatusOK)
				h = call(t, c, "GET", ic.base+"/as/resume?flowId="+flowID, "", "")
				wantStatus(t, h, http.StatusOK)
				if cc := h.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				body := h.json(t)
				if body["status"] != "COMPLETED" {
					t.Fatalf("resume: %s", h.body)
				}
				ar := body["authorizeResponse"].(map[string]any)
				paths := map[string]string{}
				apptest.KeyPaths("", ar, paths)
				want := map[string]string{"code": "string", "access_token": "string", "token_type": "string", "expires_in": "float64",
					"scope": "string", "id_token": "string", "state": "string"}
				if !maps.Equal(paths, want) {
					t.Fatalf("authorizeResponse members %v, want %v", paths, want)
				}
				if ar["expires_in"] != float64(3600) {
					t.Errorf("expires_in = %v", ar["expires_in"])
				}
				v := url.Values{}
				for k, x := range ar {
					v.Set(k, fmt.Sprint(x))
				}
				ic.checkAuthorizeResponse(t, "code id_token token", v, "st", "n")
			})

			t.Run("form_post", func(t *testing.T) {
				c := browser(t)
				h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("id_token token", "st<&>", "n", "response_mode", "form_post"), "", ""))
				wantStatus(t, h, http.StatusOK)
				if ct := h.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := h.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				page := string(h.body)
				// The one script is allowed by its hash, nothing else runs.
				scripts := regexp.MustCompile(`<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
				if len(scripts) != 1 {
					t.Fatalf("scripts %q", scripts)
				}
				sum := sha256.Sum256([]byte(scripts[0][1]))
				csp := h.header.Get("Content-Security-Policy")
				if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
					strings.Contains(csp, "unsafe-inline") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
				action := regexp.MustCompile(`<form method="post" action="([^"]*)">`).FindStringSubmatch(page)
				if action == nil || html.UnescapeString(action[1]) != fx.RedirectURI {
					t.Fatalf("form action %q", action)
				}
				v := url.Values{}
				for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
					v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
				}
				ic.checkAuthorizeResponse(t, "id_token token", v, "st<&>", "n")
			})

			t.Run("fragment for code", func(t *testing.T) {
				c := browser(t)
				h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("code", "st", "", "response_mode", "fragment"), "", ""))
				ic.checkAuthorizeResponse(t, "code", fragment(t, h, fx.RedirectURI), "st", "")
			})

			t.Run("query for code by default", func(t *testing.T) {
				c := browser(t)
				h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("code", "st", ""), "", ""))
				wantStatus(t, h, http.StatusFound)
				loc, _ := url.Parse(h.header.Get("Location"))
				if loc.Fragment != "" || !slices.Equal(paramNames(loc.Query()), []string{"code", "state"}) {
					t.Fatalf("Location %s", loc)
				}
			})
		})
	}
}

// TestImplicitPublicClient: a single-page application, a public client,
// gets tokens from the authorization endpoint without PKCE (there is no
// code for PKCE to bind), by single sign-on from the session another
// application's sign-on made; for a code it still needs PKCE.
func TestImplicitPublicClient(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			ic := newImplicitClient(t, s, fx)
			c := browser(t)
			h := ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL("code", "st", ""), "", ""))
			wantStatus(t, h, http.StatusFound)

			spa := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications", Token: s.AdminToken(t), Body: map[string]any{
				"enabled": true, "name": "SPA", "type": "SINGLE_PAGE_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"IMPLICIT", "AUTHORIZATION_CODE"},
				"responseTypes": []string{"TOKEN", "ID_TOKEN", "CODE"}, "redirectUris": []string{"https://spa.example.com/"}, "tokenEndpointAuthMethod": "NONE"}})
			if spa.Status != http.StatusCreated {
				t.Fatalf("spa: %d %s", spa.Status, spa.Body)
			}
			spaFx := *fx
			spaFx.AppID, spaFx.AppSecret, spaFx.RedirectURI = spa.JSON(t)["id"].(string), "", "https://spa.example.com/"
			sic := newImplicitClient(t, s, &spaFx)
			h = call(t, c, "GET", sic.authorizeURL("id_token token", "spa", "n-spa"), "", "")
			sic.checkAuthorizeResponse(t, "id_token token", fragment(t, h, "https://spa.example.com/"), "spa", "n-spa")

			h = call(t, c, "GET", sic.authorizeURL("code id_token", "spa", "n-spa"), "", "")
			v := fragment(t, h, "https://spa.example.com/")
			if v.Get("error") != "invalid_request" || v.Get("error_description") != "A public client (tokenEndpointAuthMethod NONE) must use PKCE." {
				t.Errorf("hybrid without PKCE: %v", v)
			}
		})
	}
}

// TestImplicitAuthorizeErrors: every refusal of an implicit or hybrid
// request goes back to the client with its exact error — in the
// fragment, the default mode of a token-bearing response type, unless
// the client named another — and starts no flow.
func TestImplicitAuthorizeErrors(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			full := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			codeOnly := s.NewSignOn(t, apptest.SignOnOptions{})
			noToken := s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"grantTypes": []string{"AUTHORIZATION_CODE", "IMPLICIT"},
				"responseTypes": []string{"CODE", "ID_TOKEN"}}})
			for _, tc := range []struct {
				name         string
				fx           *apptest.SignOn
				responseType string
				nonce        string
				extra        []string
				mode         string // where the error is: "query" or "fragment"
				err, desc    string
			}{
				{"token the app lacks", codeOnly, "token", "", nil, "fragment", "unauthorized_client", "The application does not allow response_type token."},
				{"id_token the app lacks", codeOnly, "id_token", "n", nil, "fragment", "unauthorized_client", "The application does not allow response_type id_token."},
				{"hybrid token the app lacks", noToken, "code token", "", nil, "fragment", "unauthorized_client", "The application does not allow response_type token."},
				{"full hybrid the app lacks a part of", noToken, "code id_token token", "n", nil, "fragment", "unauthorized_client", "The application does not allow response_type token."},
				{"id_token without nonce", full, "id_token", "", nil, "fragment", "invalid_request", "nonce is required when response_type includes id_token."},
				{"id_token token without nonce", full, "id_token token", "", nil, "fragment", "invalid_request", "nonce is required when response_type includes id_token."},
				{"code id_token without nonce", full, "code id_token", "", nil, "fragment", "invalid_request", "nonce is required when response_type includes id_token."},
				{"code token without nonce", full, "code token", "", nil, "fragment", "invalid_request", "nonce is required for the hybrid response_type code token with the openid scope."},
				{"id_token without openid", full, "id_token", "n", []string{"scope", "profile email"}, "fragment", "invalid_scope", "response_type id_token requires the openid scope."},
				{"query mode for token", full, "token", "", []string{"response_mode", "query"}, "query", "invalid_request", "response_mode query cannot carry tokens: use fragment, form_post or pi.flow."},
				{"query mode for code id_token", full, "code id_token", "n", []string{"response_mode", "query"}, "query", "invalid_request", "response_mode query cannot carry tokens: use fragment, form_post or pi.flow."},
				{"a word twice", full, "code code", "", nil, "query", "unsupported_response_type",
					"response_type must be one of code, id_token, token, id_token token, code id_token, code token, code id_token token."},
				{"none", full, "none", "", nil, "query", "unsupported_response_type",
					"response_type must be one of code, id_token, token, id_token token, code id_token, code token, code id_token token."},
				{"unknown word with a mode", full, "token device", "", []string{"response_mode", "fragment"}, "fragment", "unsupported_response_type",
					"response_type must be one of code, id_token, token, id_token token, code id_token, code token, code id_token token."},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ic := &implicitClient{fx: tc.fx, conf: oauth2.Config{ClientID: tc.fx.AppID, RedirectURL: tc.fx.RedirectURI,
						Scopes: []string{"openid", "profile", "email"}, Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/" + tc.fx.EnvID + "/as/authorize"}}}
					h := call(t, browser(t), "GET", ic.authorizeURL(tc.responseType, "xyz", tc.nonce, tc.extra...), "", "")
					wantStatus(t, h, http.StatusFound)
					loc, err := url.Parse(h.header.Get("Location"))
					if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != tc.fx.RedirectURI {
						t.Fatalf("Location %s", h.header.Get("Location"))
					}
					v := loc.Query()
					if tc.mode == "fragment" {
						if loc.RawQuery != "" {
							t.Fatalf("error in the query: %s", loc)
						}
						v, _ = url.ParseQuery(loc.EscapedFragment())
					} else if loc.Fragment != "" {
						t.Fatalf("error in the fragment: %s", loc)
					}
					if !slices.Equal(paramNames(v), []string{"error", "error_description", "state"}) || v.Get("error") != tc.err ||
						v.Get("error_description") != tc.desc || v.Get("state") != "xyz" {
						t.Fatalf("got %v, want %s %q", v, tc.err, tc.desc)
					}
				})
			}
			// Nothing was stored: no refused request started a flow.
			for _, fx := range []*apptest.SignOn{full, codeOnly, noToken} {
				if n, err := s.Store.CountLiveFlows(context.Background(), fx.EnvID, time.Now(), 100); err != nil || n != 0 {
					t.Errorf("environment %s: %d live flows (%v)", fx.EnvID, n, err)
				}
			}
			// pi.flow gets the same refusal as JSON.
			ic := &implicitClient{fx: full, conf: oauth2.Config{ClientID: full.AppID, RedirectURL: full.RedirectURI, Scopes: []string{"openid"},
				Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/" + full.EnvID + "/as/authorize"}}}
			h := call(t, browser(t), "GET", ic.authorizeURL("id_token", "xyz", "", "response_mode", "pi.flow"), "", "")
			wantStatus(t, h, http.StatusBadRequest)
			if b := h.json(t); len(b) != 2 || b["error"] != "invalid_request" || b["error_description"] != "nonce is required when response_type includes id_token." {
				t.Errorf("pi.flow: %s", h.body)
			}
		})
	}
}

// TestImplicitDiscovery: discovery lists exactly the response types and
// modes authorize serves, and implicit among the grant types.
func TestImplicitDiscovery(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	h := call(t, browser(t), "GET", s.URL+"/"+fx.EnvID+"/as/.well-known/openid-configuration", "", "")
	wantStatus(t, h, http.StatusOK)
	d := h.json(t)
	strs := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := strs("response_types_supported"); !slices.Equal(got, []string{"code", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"}) {
		t.Errorf("response_types_supported = %q", got)
	}
	if got := strs("response_modes_supported"); !slices.Equal(got, []string{"pi.flow", "query", "fragment", "form_post"}) {
		t.Errorf("response_modes_supported = %q", got)
	}
	if got := strs("grant_types_supported"); !slices.Contains(got, "implicit") {
		t.Errorf("grant_types_supported = %q", got)
	}
	if got := strs("claims_supported"); !slices.Contains(got, "c_hash") || !slices.Contains(got, "at_hash") {
		t.Errorf("claims_supported = %q", got)
	}
}

// TestImplicitUserDisabledDuringSignOn: a user disabled between the
// password and resume gets no tokens and no code: the client hears
// access_denied in the fragment, and nothing is stored for it.
func TestImplicitUserDisabledDuringSignOn(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)
			c := browser(t)
			h := call(t, c, "GET", ic.authorizeURL("code id_token", "st", "n"), "", "")
			wantStatus(t, h, http.StatusFound)
			loc, _ := url.Parse(h.header.Get("Location"))
			flowID := loc.Query().Get("flowId")
			wantStatus(t, call(t, c, "POST", ic.base+"/flows/"+flowID, ctUsernamePassword,
				`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`), http.StatusOK)
			r := s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + fx.EnvID + "/users/" + fx.UserID + "/enabled",
				Token: s.AdminToken(t), Body: map[string]any{"enabled": false}})
			if r.Status != http.StatusOK {
				t.Fatalf("disable: %d %s", r.Status, r.Body)
			}
			v := fragment(t, call(t, c, "GET", ic.base+"/as/resume?flowId="+flowID, "", ""), fx.RedirectURI)
			if !slices.Equal(paramNames(v), []string{"error", "error_description", "state"}) || v.Get("error") != "access_denied" ||
				v.Get("error_description") != "The user cannot sign on." || v.Get("state") != "st" {
				t.Fatalf("resume answered %v", v)
			}
			// No code was stored: nothing expires in the next 11 minutes.
			if n, err := s.Store.PurgeExpired(context.Background(), time.Now().Add(11*time.Minute), 1000); err != nil || n != 0 {
				t.Errorf("purged %d rows (%v): something was stored for the refused response", n, err)
			}
		})
	}
}

// TestImplicitPushed: an implicit request pushed to /as/par is checked
// there as authorize checks it, and its request_uri then signs on and
// delivers the tokens.
func TestImplicitPushed(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)
			form := func(kv ...string) url.Values {
				v := url.Values{"response_type": {"id_token token"}, "client_id": {fx.AppID}, "redirect_uri": {fx.RedirectURI},
					"scope": {"openid profile email"}, "state": {"par"}, "nonce": {"n-par"}}
				for i := 0; i < len(kv); i += 2 {
					if kv[i+1] == "" {
						v.Del(kv[i])
					} else {
						v.Set(kv[i], kv[i+1])
					}
				}
				return v
			}
			wantPARError(t, pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, form("nonce", "")), http.StatusBadRequest,
				"invalid_request", "nonce is required when response_type includes id_token.")
			wantPARError(t, pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, form("response_mode", "query")), http.StatusBadRequest,
				"invalid_request", "response_mode query cannot carry tokens: use fragment, form_post or pi.flow.")
			h := pushRequest(t, s, fx.EnvID, fx.AppID, fx.AppSecret, form())
			wantStatus(t, h, http.StatusCreated)
			uri := h.json(t)["request_uri"].(string)
			c := browser(t)
			h = ic.signOn(t, c, call(t, c, "GET", ic.base+"/as/authorize?"+url.Values{"client_id": {fx.AppID}, "request_uri": {uri}}.Encode(), "", ""))
			ic.checkAuthorizeResponse(t, "id_token token", fragment(t, h, fx.RedirectURI), "par", "n-par")
		})
	}
}

// TestHybridCodeReplay: in a hybrid response the authorization endpoint
// issues an access token beside the code. RFC 6749 §4.1.2 asks that a
// replayed code revoke the tokens issued from its authorization: the
// replay denies that front-channel token as well as what the first
// redemption issued, at introspection and at userinfo alike. The
// redemption itself leaves it alone, another client's replay revokes
// nothing, and another authorization of the same session keeps its
// tokens.
func TestHybridCodeReplay(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{App: implicitApp})
			ic := newImplicitClient(t, s, fx)
			otherID, otherSecret := createWebApp(t, s, fx.EnvID, implicitApp)

			redeem := func(id, secret, code string) *apptest.Response {
				t.Helper()
				return do(t, s, apptest.Request{Method: "POST", URL: ic.base + "/as/token", ContentType: formType, Headers: basic(id, secret),
					Body: form("grant_type", "authorization_code", "code", code, "redirect_uri", fx.RedirectURI)})
			}
			introspect := func(tok string) map[string]any {
				t.Helper()
				r := do(t, s, apptest.Request{Method: "POST", URL: ic.base + "/as/introspect", ContentType: formType,
					Headers: basic(fx.AppID, fx.AppSecret), Body: form("token", tok)})
				if r.Status != http.StatusOK {
					t.Fatalf("introspect: %d %s", r.Status, r.Body)
				}
				return r.JSON(t)
			}
			userinfo := func(tok string) *apptest.Response {
				t.Helper()
				return do(t, s, apptest.Request{Method: "GET", URL: ic.base + "/as/userinfo", Headers: http.Header{"Authorization": {"Bearer " + tok}}})
			}
			wantActive := func(what, tok string) {
				t.Helper()
				if got := introspect(tok); got["active"] != true || got["sub"] != fx.UserID {
					t.Errorf("%s: introspection %v, want active for %s", what, got, fx.UserID)
				}
			}
			wantInactive := func(what, tok string) {
				t.Helper()
				if got := introspect(tok); len(got) != 1 || got["active"] != false {
					t.Errorf("%s: introspection %v, want exactly {active:false}", what, got)
				}
			}
			wantReplayRefused := func(r *apptest.Response) {
				t.Helper()
				wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
				if d := r.JSON(t)["error_description"]; d != "The authorization code has already been used." {
					t.Errorf("error_description = %q", d)
				}
			}

			for _, rt := range []string{"code token", "code id_token token"} {
				t.Run(rt, func(t *testing.T) {
					c := browser(t)
					v := fragment(t, ic.signOn(t, c, call(t, c, "GET", ic.authorizeURL(rt, "st", "n"), "", "")), fx.RedirectURI)
					front, code := v.Get("access_token"), v.Get("code")
					if front == "" || code == "" {
						t.Fatalf("%s response: %v", rt, v)
					}
					// Another authorization in the same session (single
					// sign-on): a grant of its own.
					v2 := fragment(t, call(t, c, "GET", ic.authorizeURL(rt, "st2", "n2"), "", ""), fx.RedirectURI)
					front2 := v2.Get("access_token")

					r := redeem(fx.AppID, fx.AppSecret, code)
					if r.Status != http.StatusOK {
						t.Fatalf("redemption: %d %s", r.Status, r.Body)
					}
					tok := r.JSON(t)
					back, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
					wantActive("front-channel token after the redemption", front)
					if ui := userinfo(front); ui.Status != http.StatusOK {
						t.Errorf("userinfo with the front-channel token after the redemption: %d %s", ui.Status, ui.Body)
					}

					// Another client's replay is refused and revokes nothing.
					wantReplayRefused(redeem(otherID, otherSecret, code))
					wantActive("front-channel token after another client's replay", front)
					wantActive("token endpoint's token after another client's replay", back)

					wantReplayRefused(redeem(fx.AppID, fx.AppSecret, code))
					wantInactive("front-channel token after the replay", front)
					wantInactive("token endpoint's access token after the replay", back)
					wantInactive("refresh token after the replay", refresh)
					ui := userinfo(front)
					const desc = "The access token has been revoked."
					if ui.Status != http.StatusUnauthorized ||
						ui.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token", error_description="`+desc+`"` {
						t.Errorf("userinfo with the front-channel token after the replay: %d %q %s", ui.Status, ui.Header.Get("WWW-Authenticate"), ui.Body)
					} else if body := ui.JSON(t); len(body) != 2 || body["error"] != "invalid_token" || body["error_description"] != desc {
						t.Errorf("userinfo error body: %s", ui.Body)
					}

					// The other authorization's tokens live on, and its
					// code still redeems once.
					wantActive("the other authorization's front-channel token", front2)
					if r := redeem(fx.AppID, fx.AppSecret, v2.Get("code")); r.Status != http.StatusOK {
						t.Errorf("the other authorization's code: %d %s", r.Status, r.Body)
					}
					wantActive("the other authorization's front-channel token after its redemption", front2)
				})
			}
		})
	}
}

// createWebApp adds, as an administrator, another web application with
// the sign-on fixture's redirect URI and the members of extra, and
// returns its client id and secret.
func createWebApp(t *testing.T, s *apptest.Server, envID string, extra map[string]any) (id, secret string) {
	t.Helper()
	admin := s.AdminToken(t)
	body := map[string]any{"enabled": true, "name": "Other_" + envID[:8], "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"redirectUris": []string{"https://app.example.com/callback"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
	maps.Copy(body, extra)
	r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/applications", Token: admin, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	id = r.JSON(t)["id"].(string)
	r = s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/applications/" + id + "/secret", Token: admin})
	if r.Status != http.StatusOK {
		t.Fatalf("application secret: %d %s", r.Status, r.Body)
	}
	return id, r.JSON(t)["secret"].(string)
}

// TestImplicitParRequiredInFragment: a refusal made before the request's
// parameters are checked (parRequirement REQUIRED) still goes where the
// response type sends its answers: the fragment for a token.
func TestImplicitParRequiredInFragment(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	app := map[string]any{"parRequirement": "REQUIRED"}
	for k, v := range implicitApp {
		app[k] = v
	}
	fx := s.NewSignOn(t, apptest.SignOnOptions{App: app})
	ic := newImplicitClient(t, s, fx)
	v := fragment(t, call(t, browser(t), "GET", ic.authorizeURL("id_token token", "st", "n"), "", ""), fx.RedirectURI)
	want := url.Values{"error": {"invalid_request"}, "state": {"st"},
		"error_description": {"The application requires pushed authorization requests: send a request_uri from /as/par."}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("fragment %v, want %v", v, want)
	}
}
