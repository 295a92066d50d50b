package authsvc_test

import (
	"context"
	"io"
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
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

const (
	deviceGrant          = "urn:ietf:params:oauth:grant-type:device_code"
	ctUserCodeVerify     = "application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json"
	ctDeviceConsent      = "application/vnd.pingidentity.deviceAuthGrant.consent+json"
	pendingDesc          = "The user has not yet approved the device."
	invalidDeviceCode    = "The device code is invalid."
	usedDeviceCode       = "The device code has already been used."
	deniedDeviceDesc     = "The user denied the device authorization."
	expiredDeviceCodeMsg = "The device code has expired: start the device authorization again."
)

// userCodeForm is PingOne's user code: XXXX-XXXX, of letters and digits
// that cannot be mistaken for one another.
var userCodeForm = regexp.MustCompile(`^[BCDFGHJKMNPQRSTVWXZ2-9]{4}-[BCDFGHJKMNPQRSTVWXZ2-9]{4}$`)

// newDeviceApp is a public NATIVE_APP with the device grant (and refresh
// tokens), as PingOne's device workflow creates it; app adds members.
func newDeviceApp(t *testing.T, s *apptest.Server, app map[string]any) *apptest.SignOn {
	t.Helper()
	body := map[string]any{"type": "NATIVE_APP", "tokenEndpointAuthMethod": "NONE", "grantTypes": []string{"DEVICE_CODE", "REFRESH_TOKEN"},
		"responseTypes": []string{}, "redirectUris": []string{}}
	for k, v := range app {
		body[k] = v
	}
	return s.NewSignOn(t, apptest.SignOnOptions{App: body})
}

func postForm(t *testing.T, u string, form url.Values) *hop {
	t.Helper()
	return call(t, http.DefaultClient, "POST", u, "application/x-www-form-urlencoded", form.Encode())
}

// wantDeviceError checks an RFC 6749 error body, exactly, and that it is
// not cached.
func wantDeviceError(t *testing.T, h *hop, status int, code, desc string) {
	t.Helper()
	wantStatus(t, h, status)
	if got, want := h.json(t), map[string]any{"error": code, "error_description": desc}; !reflect.DeepEqual(got, want) {
		t.Fatalf("body %v, want %v", got, want)
	}
	if h.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", h.header.Get("Cache-Control"))
	}
}

// authorizeDevice is POST /as/device_authorization with client_id (a
// public client).
func authorizeDevice(t *testing.T, s *apptest.Server, fx *apptest.SignOn, scope string) map[string]any {
	t.Helper()
	h := postForm(t, s.URL+"/"+fx.EnvID+"/as/device_authorization", url.Values{"client_id": {fx.AppID}, "scope": {scope}})
	wantStatus(t, h, http.StatusOK)
	return h.json(t)
}

func pollDevice(t *testing.T, s *apptest.Server, fx *apptest.SignOn, deviceCode string) *hop {
	t.Helper()
	return postForm(t, s.URL+"/"+fx.EnvID+"/as/token", url.Values{"grant_type": {deviceGrant}, "client_id": {fx.AppID}, "device_code": {deviceCode}})
}

// flowStep posts one flow action and checks the status it leads to.
func flowStep(t *testing.T, c *http.Client, s *apptest.Server, envID, flowID, ct, body, wantStatusName string) map[string]any {
	t.Helper()
	h := call(t, c, "POST", s.URL+"/"+envID+"/flows/"+flowID, ct, body)
	wantStatus(t, h, http.StatusOK)
	out := h.json(t)
	if out["status"] != wantStatusName {
		t.Fatalf("status %v, want %s: %s", out["status"], wantStatusName, h.body)
	}
	return out
}

// startDeviceFlow follows a verification URI to the sign-on page and
// returns the flow's id.
func startDeviceFlow(t *testing.T, c *http.Client, s *apptest.Server, envID, uri string) string {
	t.Helper()
	h := call(t, c, "GET", uri, "", "")
	wantStatus(t, h, http.StatusFound)
	loc, err := url.Parse(h.header.Get("Location"))
	if err != nil || loc.Path != "/"+envID+"/signon/" || loc.Query().Get("flowId") == "" {
		t.Fatalf("Location %q", h.header.Get("Location"))
	}
	return loc.Query().Get("flowId")
}

// approveDevice is the user's side: the verification URI, sign-on, the
// user code, consent (accept), then resume and the end screen.
func approveDevice(t *testing.T, s *apptest.Server, fx *apptest.SignOn, uri, userCode string, accept bool) {
	t.Helper()
	c := browser(t)
	id := startDeviceFlow(t, c, s, fx.EnvID, uri)
	out := flowStep(t, c, s, fx.EnvID, id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, "DAG_USER_CODE_REQUIRED")
	if _, ok := out["_links"].(map[string]any)["deviceAuthGrant.userCode.verify"]; !ok {
		t.Fatalf("no userCode.verify link: %v", out["_links"])
	}
	flowStep(t, c, s, fx.EnvID, id, ctUserCodeVerify, `{"userCode":"`+userCode+`"}`, "DAG_CONSENT_REQUIRED")
	want := "COMPLETED"
	if !accept {
		want = "FAILED"
	}
	out = flowStep(t, c, s, fx.EnvID, id, ctDeviceConsent, `{"accept":`+map[bool]string{true: "true", false: "false"}[accept]+`}`, want)
	h := call(t, c, "GET", out["resumeUrl"].(string), "", "")
	wantStatus(t, h, http.StatusFound)
	end := map[bool]string{true: "done", false: "denied"}[accept]
	if got, want := h.header.Get("Location"), s.URL+"/"+fx.EnvID+"/signon/?device="+end; got != want {
		t.Fatalf("resume sent the browser to %q, want %q", got, want)
	}
}

// TestDeviceAuthorizationGrant: RFC 8628 with x/oauth2's device flow
// against a public NATIVE_APP, the user signing on through the flow API;
// go-oidc verifies the ID token; the device code is used once.
func TestDeviceAuthorizationGrant(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := newDeviceApp(t, s, map[string]any{"devicePollingInterval": 1})
			ctx := context.Background()
			base := s.URL + "/" + fx.EnvID
			provider, err := oidc.NewProvider(ctx, base+"/as")
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				DeviceEndpoint string   `json:"device_authorization_endpoint"`
				Grants         []string `json:"grant_types_supported"`
			}
			if err := provider.Claims(&meta); err != nil {
				t.Fatal(err)
			}
			if meta.DeviceEndpoint != base+"/as/device_authorization" || !slices.Contains(meta.Grants, deviceGrant) {
				t.Fatalf("discovery: %+v", meta)
			}
			conf := oauth2.Config{ClientID: fx.AppID, Scopes: []string{"openid", "profile"}, Endpoint: provider.Endpoint()}
			conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !userCodeForm.MatchString(da.UserCode) || len(da.DeviceCode) != 36 || da.Interval != 1 ||
				da.VerificationURI != base+"/device/"+fx.AppID || da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode ||
				time.Until(da.Expiry) < 590*time.Second || time.Until(da.Expiry) > 600*time.Second {
				t.Fatalf("device authorization %+v", da)
			}
			// Before the user acts, the device hears authorization_pending.
			wantDeviceError(t, pollDevice(t, s, fx, da.DeviceCode), http.StatusBadRequest, "authorization_pending", pendingDesc)

			approveDevice(t, s, fx, da.VerificationURIComplete, da.UserCode, true)
			tok, err := conf.DeviceAccessToken(ctx, da)
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "openid profile" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			idt, err := provider.Verifier(&oidc.Config{ClientID: fx.AppID}).Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if idt.Subject != fx.UserID || claims["preferred_username"] != fx.Username || claims["sid"] == nil || claims["auth_time"] == nil {
				t.Fatalf("ID token claims %v", claims)
			}
			// Userinfo takes the access token.
			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != fx.UserID {
				t.Fatalf("userinfo %+v, %v", ui, err)
			}
			// The refresh token refreshes.
			if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			// Single use.
			wantDeviceError(t, pollDevice(t, s, fx, da.DeviceCode), http.StatusBadRequest, "invalid_grant", usedDeviceCode)
		})
	}
}

// TestDeviceRevokeKeepsApprovingSession: a device that revokes its
// refresh token at /as/revoke (what a TV does to sign out) revokes its own
// grant, refresh and access token, and nothing else (RFC 7009 §2.1). The
// grant's session is the one of the phone's browser that approved it,
// another user agent: it stays signed on, and the other device it
// approved keeps its tokens.
func TestDeviceRevokeKeepsApprovingSession(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := newDeviceApp(t, s, map[string]any{"devicePollingInterval": 1})
			ctx := context.Background()
			base := s.URL + "/" + fx.EnvID
			conf := oauth2.Config{ClientID: fx.AppID, Scopes: []string{"openid"},
				Endpoint: oauth2.Endpoint{DeviceAuthURL: base + "/as/device_authorization", TokenURL: base + "/as/token", AuthStyle: oauth2.AuthStyleInParams}}
			phone := browser(t)
			// approve has the phone approve a new device: it signs on the
			// first time; afterwards its session must be enough, so that the
			// flow asks only for the code.
			approve := func(signOn bool) *oauth2.Token {
				t.Helper()
				da, err := conf.DeviceAuth(ctx)
				if err != nil {
					t.Fatal(err)
				}
				id := startDeviceFlow(t, phone, s, fx.EnvID, da.VerificationURIComplete)
				if signOn {
					flowStep(t, phone, s, fx.EnvID, id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				} else {
					h := call(t, phone, "GET", base+"/flows/"+id, "", "")
					wantStatus(t, h, http.StatusOK)
					if st := h.json(t)["status"]; st != "DAG_USER_CODE_REQUIRED" {
						t.Fatalf("the phone's device flow starts at %v: its session was ended", st)
					}
				}
				flowStep(t, phone, s, fx.EnvID, id, ctUserCodeVerify, `{"userCode":"`+da.UserCode+`"}`, "DAG_CONSENT_REQUIRED")
				out := flowStep(t, phone, s, fx.EnvID, id, ctDeviceConsent, `{"accept":true}`, "COMPLETED")
				wantStatus(t, call(t, phone, "GET", out["resumeUrl"].(string), "", ""), http.StatusFound)
				tok, err := conf.DeviceAccessToken(ctx, da)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			userinfo := func(access string) *hop {
				req, _ := http.NewRequest("GET", base+"/as/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+access)
				return send(t, req)
			}
			refresh := func(rt string) *hop {
				return postForm(t, base+"/as/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {fx.AppID}, "refresh_token": {rt}})
			}
			tv, other := approve(true), approve(false)

			// The TV signs out.
			h := postForm(t, base+"/as/revoke", url.Values{"client_id": {fx.AppID}, "token": {tv.RefreshToken}, "token_type_hint": {"refresh_token"}})
			wantStatus(t, h, http.StatusOK)
			if len(h.body) != 0 {
				t.Fatalf("revoke answered %q", h.body)
			}

			// Its grant is gone: the refresh token and the access token.
			wantDeviceError(t, refresh(tv.RefreshToken), http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or has expired.")
			h = userinfo(tv.AccessToken)
			wantStatus(t, h, http.StatusUnauthorized)
			if got, want := h.header.Get("WWW-Authenticate"), `Bearer error="invalid_token", error_description="The access token has been revoked."`; got != want {
				t.Fatalf("userinfo with the revoked access token: WWW-Authenticate %q, want %q", got, want)
			}

			// The other device the phone approved keeps its grant.
			wantStatus(t, userinfo(other.AccessToken), http.StatusOK)
			h = refresh(other.RefreshToken)
			wantStatus(t, h, http.StatusOK)
			// Its rotated refresh token is still a device grant's: revoked,
			// it too ends only its own grant.
			rotated, _ := h.json(t)["refresh_token"].(string)
			wantStatus(t, postForm(t, base+"/as/revoke", url.Values{"client_id": {fx.AppID}, "token": {rotated}}), http.StatusOK)
			wantDeviceError(t, refresh(rotated), http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or has expired.")

			// The phone is still signed on: a third device asks it only for
			// the code and consent, and gets its tokens.
			approve(false)
		})
	}
}

// wantFlowError checks a PingOne error body of the flow API, exactly (but
// its id).
func wantFlowError(t *testing.T, h *hop, status int, code, message string, details ...map[string]any) {
	t.Helper()
	wantStatus(t, h, status)
	body := h.json(t)
	if id, _ := body["id"].(string); len(id) != 36 {
		t.Fatalf("id: %s", h.body)
	}
	delete(body, "id")
	want := map[string]any{"code": code, "message": message}
	if len(details) > 0 {
		var ds []any
		for _, d := range details {
			ds = append(ds, d)
		}
		want["details"] = ds
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("body %s, want %v", h.body, want)
	}
}

// purgeLater counts, by purging a day ahead, the auth rows the server
// holds: what a refused request must leave at zero.
func purgeLater(t *testing.T, s *apptest.Server) int {
	t.Helper()
	n, err := s.Store.PurgeExpired(context.Background(), time.Now().Add(24*time.Hour), 100000)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeviceAuthorizationErrors: every refusal of the device
// authorization endpoint, the device's poll and the user's steps, each
// with its exact body; refused requests store nothing.
func TestDeviceAuthorizationErrors(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := newDeviceApp(t, s, nil)
			base := s.URL + "/" + fx.EnvID

			t.Run("device authorization refused, nothing stored", func(t *testing.T) {
				web := s.NewSignOn(t, apptest.SignOnOptions{}) // a WEB_APP without DEVICE_CODE
				purgeLater(t, s)
				endpoint := base + "/as/device_authorization"
				for _, tc := range []struct {
					name         string
					h            *hop
					status       int
					code, detail string
				}{
					{"scope not granted", postForm(t, endpoint, url.Values{"client_id": {fx.AppID}, "scope": {"openid nope"}}),
						400, "invalid_scope", "The scope nope is not granted to the application."},
					{"unknown client", postForm(t, endpoint, url.Values{"client_id": {"6a4cf5ab-0f1c-4b8e-9a67-2b3f4cbd1a9e"}, "scope": {"openid"}}),
						401, "invalid_client", "Client authentication failed."},
					{"no client", postForm(t, endpoint, url.Values{"scope": {"openid"}}),
						401, "invalid_client", "Client authentication failed."},
					{"application without DEVICE_CODE", func() *hop {
						req, _ := http.NewRequest("POST", s.URL+"/"+web.EnvID+"/as/device_authorization", strings.NewReader("scope=openid"))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.SetBasicAuth(web.AppID, web.AppSecret)
						return send(t, req)
					}(), 400, "unauthorized_client", "The application does not have the DEVICE_CODE grant type."},
					{"repeated parameter", postForm(t, endpoint, url.Values{"client_id": {fx.AppID}, "scope": {"openid", "profile"}}),
						400, "invalid_request", "Parameter scope is repeated."},
				} {
					t.Run(tc.name, func(t *testing.T) { wantDeviceError(t, tc.h, tc.status, tc.code, tc.detail) })
				}
				if n := purgeLater(t, s); n != 0 {
					t.Fatalf("refused device authorizations stored %d rows", n)
				}
			})

			t.Run("poll refusals", func(t *testing.T) {
				da := authorizeDevice(t, s, fx, "openid")
				other := newDeviceApp(t, s, nil)
				for _, tc := range []struct {
					name         string
					form         url.Values
					code, detail string
				}{
					{"wrong device_code", url.Values{"grant_type": {deviceGrant}, "client_id": {fx.AppID}, "device_code": {"2f0c7a9e-4b1d-4e55-8c3a-1d2e3f4a5b6c"}},
						"invalid_grant", invalidDeviceCode},
					{"another client's device_code", url.Values{"grant_type": {deviceGrant}, "client_id": {other.AppID}, "device_code": {da["device_code"].(string)}},
						"invalid_grant", invalidDeviceCode},
					{"no device_code", url.Values{"grant_type": {deviceGrant}, "client_id": {fx.AppID}},
						"invalid_request", "device_code is required."},
				} {
					t.Run(tc.name, func(t *testing.T) {
						h := postForm(t, base+"/as/token", tc.form)
						if tc.name == "another client's device_code" {
							h = postForm(t, s.URL+"/"+other.EnvID+"/as/token", tc.form)
						}
						wantDeviceError(t, h, http.StatusBadRequest, tc.code, tc.detail)
					})
				}
				// A client without the grant polls in vain.
				web := s.NewSignOn(t, apptest.SignOnOptions{})
				req, _ := http.NewRequest("POST", s.URL+"/"+web.EnvID+"/as/token", strings.NewReader(url.Values{"grant_type": {deviceGrant}, "device_code": {"x"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(web.AppID, web.AppSecret)
				wantDeviceError(t, send(t, req), http.StatusBadRequest, "unauthorized_client", "The application does not have the "+deviceGrant+" grant type.")
				// The refusals did not use the code up.
				wantDeviceError(t, pollDevice(t, s, fx, da["device_code"].(string)), http.StatusBadRequest, "authorization_pending", pendingDesc)
			})

			t.Run("polling too fast slows the device down", func(t *testing.T) {
				da := authorizeDevice(t, s, fx, "openid")
				if da["interval"] != float64(5) || da["expires_in"] != float64(600) {
					t.Fatalf("PingOne's defaults: %v", da)
				}
				code := da["device_code"].(string)
				wantDeviceError(t, pollDevice(t, s, fx, code), http.StatusBadRequest, "authorization_pending", pendingDesc)
				wantDeviceError(t, pollDevice(t, s, fx, code), http.StatusBadRequest, "slow_down",
					"The device polls too often: wait the interval, now 10 seconds, between requests.")
				// Each further early poll adds 5 seconds more, for good.
				wantDeviceError(t, pollDevice(t, s, fx, code), http.StatusBadRequest, "slow_down",
					"The device polls too often: wait the interval, now 15 seconds, between requests.")
			})

			t.Run("expired", func(t *testing.T) {
				quick := newDeviceApp(t, s, map[string]any{"deviceTimeout": 1})
				da := authorizeDevice(t, s, quick, "openid")
				if da["expires_in"] != float64(1) {
					t.Fatalf("expires_in: %v", da)
				}
				time.Sleep(1100 * time.Millisecond)
				wantDeviceError(t, pollDevice(t, s, quick, da["device_code"].(string)), http.StatusBadRequest, "expired_token", expiredDeviceCodeMsg)
				// Nor can the user still approve it.
				c := browser(t)
				id := startDeviceFlow(t, c, s, quick.EnvID, da["verification_uri_complete"].(string))
				flowStep(t, c, s, quick.EnvID, id, ctUsernamePassword, `{"username":"`+quick.Username+`","password":"`+quick.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				h := call(t, c, "POST", s.URL+"/"+quick.EnvID+"/flows/"+id, ctUserCodeVerify, `{"userCode":"`+da["user_code"].(string)+`"}`)
				wantFlowError(t, h, 400, "INVALID_DATA", "The request could not be completed. One or more validation errors were in the request.",
					map[string]any{"code": "INVALID_VALUE", "target": "userCode", "message": "The user code is invalid or has expired."})
			})

			t.Run("denied", func(t *testing.T) {
				da := authorizeDevice(t, s, fx, "openid")
				approveDevice(t, s, fx, da["verification_uri"].(string), da["user_code"].(string), false)
				wantDeviceError(t, pollDevice(t, s, fx, da["device_code"].(string)), http.StatusBadRequest, "access_denied", deniedDeviceDesc)
			})

			t.Run("user codes", func(t *testing.T) {
				da := authorizeDevice(t, s, fx, "openid")
				other := newDeviceApp(t, s, nil)
				elsewhere := authorizeDevice(t, s, other, "openid")
				c := browser(t)
				id := startDeviceFlow(t, c, s, fx.EnvID, da["verification_uri"].(string))
				out := flowStep(t, c, s, fx.EnvID, id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				if e, _ := out["_embedded"].(map[string]any); e != nil && e["userCode"] != nil {
					t.Fatalf("a flow started without user_code pre-fills %v", e["userCode"])
				}
				wrong := map[string]any{"code": "INVALID_VALUE", "target": "userCode", "message": "The user code is invalid or has expired."}
				msg := "The request could not be completed. One or more validation errors were in the request."
				for _, code := range []string{"BBBB-BBBB", elsewhere["user_code"].(string), "", "x"} {
					h := call(t, c, "POST", s.URL+"/"+fx.EnvID+"/flows/"+id, ctUserCodeVerify, `{"userCode":"`+code+`"}`)
					if code == "" {
						wantFlowError(t, h, 400, "INVALID_DATA", msg, map[string]any{"code": "REQUIRED_VALUE", "target": "userCode", "message": "A value is required for userCode."})
						continue
					}
					wantFlowError(t, h, 400, "INVALID_DATA", msg, wrong)
				}
				// Typed in lower case, without the dash: still the code.
				flowStep(t, c, s, fx.EnvID, id, ctUserCodeVerify, `{"userCode":"`+strings.ToLower(strings.ReplaceAll(da["user_code"].(string), "-", ""))+`"}`, "DAG_CONSENT_REQUIRED")

				// Five wrong codes fail the flow.
				c = browser(t)
				id = startDeviceFlow(t, c, s, other.EnvID, elsewhere["verification_uri"].(string))
				flowStep(t, c, s, other.EnvID, id, ctUsernamePassword, `{"username":"`+other.Username+`","password":"`+other.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				for range 5 {
					h := call(t, c, "POST", s.URL+"/"+other.EnvID+"/flows/"+id, ctUserCodeVerify, `{"userCode":"BBBB-BBBB"}`)
					wantFlowError(t, h, 400, "INVALID_DATA", msg, wrong)
				}
				h := call(t, c, "GET", s.URL+"/"+other.EnvID+"/flows/"+id, "", "")
				if st := h.json(t)["status"]; st != "FAILED" {
					t.Fatalf("after five wrong codes: %v", st)
				}
			})

			t.Run("single sign-on asks only for the code and consent", func(t *testing.T) {
				c := browser(t)
				first := authorizeDevice(t, s, fx, "openid")
				id := startDeviceFlow(t, c, s, fx.EnvID, first["verification_uri_complete"].(string))
				flowStep(t, c, s, fx.EnvID, id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				// The same browser's session satisfies the policy for a second device.
				second := authorizeDevice(t, s, fx, "openid")
				id = startDeviceFlow(t, c, s, fx.EnvID, second["verification_uri"].(string))
				h := call(t, c, "GET", base+"/flows/"+id, "", "")
				wantStatus(t, h, http.StatusOK)
				if st := h.json(t)["status"]; st != "DAG_USER_CODE_REQUIRED" {
					t.Fatalf("a signed-on browser's device flow starts at %v", st)
				}
				flowStep(t, c, s, fx.EnvID, id, ctUserCodeVerify, `{"userCode":"`+second["user_code"].(string)+`"}`, "DAG_CONSENT_REQUIRED")
				out := flowStep(t, c, s, fx.EnvID, id, ctDeviceConsent, `{"accept":true}`, "COMPLETED")
				wantStatus(t, call(t, c, "GET", out["resumeUrl"].(string), "", ""), http.StatusFound)
				wantStatus(t, pollDevice(t, s, fx, second["device_code"].(string)), http.StatusOK)
				// The first device was never confirmed: still pending.
				wantDeviceError(t, pollDevice(t, s, fx, first["device_code"].(string)), http.StatusBadRequest, "authorization_pending", pendingDesc)
			})

			t.Run("verification page", func(t *testing.T) {
				c := browser(t)
				// Without an application or a code: the code-entry screen.
				h := call(t, c, "GET", base+"/device", "", "")
				wantStatus(t, h, http.StatusFound)
				if got := h.header.Get("Location"); got != base+"/signon/?device=enter" {
					t.Fatalf("Location %q", got)
				}
				// A wrong code goes back to it, saying so.
				h = call(t, c, "GET", base+"/device?user_code=BBBB-BBBB", "", "")
				if got := h.header.Get("Location"); got != base+"/signon/?device=enter&error=invalid" {
					t.Fatalf("Location %q", got)
				}
				// A right one starts the application's flow, the code pre-filled.
				da := authorizeDevice(t, s, fx, "openid")
				id := startDeviceFlow(t, c, s, fx.EnvID, base+"/device?user_code="+url.QueryEscape(da["user_code"].(string)))
				out := flowStep(t, c, s, fx.EnvID, id, ctUsernamePassword, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`, "DAG_USER_CODE_REQUIRED")
				if e := out["_embedded"].(map[string]any); e["userCode"] != da["user_code"] {
					t.Fatalf("_embedded %v", e)
				}
				// An application without the grant, or unknown, has no page.
				web := s.NewSignOn(t, apptest.SignOnOptions{})
				for _, u := range []string{s.URL + "/" + web.EnvID + "/device/" + web.AppID, base + "/device/no-such-path"} {
					h := call(t, c, "GET", u, "", "")
					wantStatus(t, h, http.StatusNotFound)
				}
			})
		})
	}
}

// send sends a request built by hand (Basic client authentication).
func send(t *testing.T, req *http.Request) *hop {
	t.Helper()
	req.Header.Set("Accept", "*/*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &hop{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestDeviceLimits: a public client's device authorizations count as
// flows its address starts, and wrong user codes as failed secret
// checks of the address, at the verification page and in the flow alike.
func TestDeviceLimits(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			limits := ratelimit.Defaults()
			limits.FlowsPerAddress = ratelimit.Rate{N: 2, Per: time.Hour}
			limits.CheckFailuresPerAddress = ratelimit.Rate{N: 2, Per: time.Hour}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: &limits})
			fx := newDeviceApp(t, s, nil)
			base := s.URL + "/" + fx.EnvID
			da := authorizeDevice(t, s, fx, "openid")
			authorizeDevice(t, s, fx, "openid")
			h := postForm(t, base+"/as/device_authorization", url.Values{"client_id": {fx.AppID}, "scope": {"openid"}})
			if h.status != http.StatusTooManyRequests || h.header.Get("Retry-After") == "" {
				t.Fatalf("third device authorization: %d %s", h.status, h.body)
			}
			wantDeviceError(t, h, http.StatusTooManyRequests, "temporarily_unavailable",
				"Too many device authorizations from this address. Retry after the delay Retry-After gives.")

			// Two wrong codes at the verification page spend the address's
			// failures; the third attempt, even a right code, waits.
			c := browser(t)
			for range 2 {
				h := call(t, c, "GET", base+"/device?user_code=BBBB-BBBB", "", "")
				if got := h.header.Get("Location"); got != base+"/signon/?device=enter&error=invalid" {
					t.Fatalf("Location %q", got)
				}
			}
			h = call(t, c, "GET", base+"/device?user_code="+url.QueryEscape(da["user_code"].(string)), "", "")
			wantDeviceError(t, h, http.StatusTooManyRequests, "temporarily_unavailable", "Too many wrong codes from this address. Retry after the delay Retry-After gives.")
		})
	}
}
