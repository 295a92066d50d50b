package authsvc_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
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
