package mgmt_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestApplicationSettingsNotServed: a setting the auth service would not
// serve is refused when it is configured — on create and on replace —
// with PingOne's INVALID_DATA, one INVALID_VALUE detail naming it and
// saying why, and nothing stored. The values PingOne's SDK and Terraform
// provider send by default (false, unset, OPAQUE_TOKEN, DISABLED) are accepted.
func TestApplicationSettingsNotServed(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runSettingsNotServed(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func runSettingsNotServed(t *testing.T, s *apptest.Server) {
	admin := s.AdminToken(t)
	envID := newEnv(t, s, "Unserved settings", "SANDBOX")
	apps := appsPath(envID)
	web := appWebBody("Web")
	native := with(web, "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE")
	webURL := apps + "/" + appCreate(t, s, admin, envID, web)["id"].(string)
	nativeURL := apps + "/" + appCreate(t, s, admin, envID, with(native, "name", "Native"))["id"].(string)

	type refused struct {
		name    string
		body    map[string]any
		put     string // the application a PUT of body replaces
		target  string
		message string
		allowed []string // innerError.allowedValues, when there are any
	}
	unknownGroup := uuid.NewString()
	cases := []refused{
		{name: "CIBA grant", body: with(web, "grantTypes", []string{"AUTHORIZATION_CODE", "CIBA"}), put: webURL,
			target: "grantTypes", message: "Gatehouse does not serve the CIBA grant."},
		{name: "CIBA grant of a native app", body: with(native, "grantTypes", []string{"AUTHORIZATION_CODE", "CIBA"}), put: nativeURL,
			target: "grantTypes", message: "Gatehouse does not serve the CIBA grant."},
		{name: "idpSignoff", body: with(web, "idpSignoff", true), put: webURL,
			target: "idpSignoff", message: "Gatehouse does not serve IdP sign-off (/as/idpSignoff): idpSignoff must be false."},
		{name: "opSessionCheckEnabled", body: with(web, "opSessionCheckEnabled", true), put: webURL, target: "opSessionCheckEnabled",
			message: "Gatehouse does not serve OpenID Connect session management (session_state): opSessionCheckEnabled must be false."},
		{name: "access control by a group the environment does not have", body: with(web, "accessControl", map[string]any{"group": map[string]any{"type": "ANY_GROUP",
			"groups": []any{map[string]any{"id": unknownGroup}}}}), put: webURL,
			target: "accessControl.group.groups[0].id", message: "The group " + unknownGroup + " does not exist in this environment."},
		{name: "mobile integrity detection", body: with(native, "mobile", map[string]any{"integrityDetection": map[string]any{"mode": "ENABLED",
			"cacheDuration": map[string]any{"amount": 24, "units": "HOURS"}}}), put: nativeURL, target: "mobile.integrityDetection.mode",
			message: "Gatehouse does not serve mobile integrity detection: mobile.integrityDetection.mode must be DISABLED."},
		{name: "JWT refresh tokens", body: with(web, "refreshTokenType", "JSON_WEB_TOKEN"), put: webURL, target: "refreshTokenType",
			message: "Gatehouse issues opaque refresh tokens only: refreshTokenType must be OPAQUE_TOKEN.", allowed: []string{"OPAQUE_TOKEN"}},
		{name: "unknown refresh token type", body: with(web, "refreshTokenType", "JWT"), put: webURL, target: "refreshTokenType",
			message: "Invalid value for attribute.", allowed: []string{"JSON_WEB_TOKEN", "OPAQUE_TOKEN"}},
		{name: "key rotation policy", body: with(web, "signing", map[string]any{"keyRotationPolicy": map[string]any{"id": uuid.NewString()}}), put: webURL,
			target:  "signing",
			message: "Gatehouse signs an application's tokens with the environment's default key: signing (a key rotation policy) cannot be set."},
		{name: "certificate-based authentication", body: with(native, "kerberos", map[string]any{"key": map[string]any{"id": uuid.NewString()}}), put: nativeURL,
			target: "kerberos", message: "Gatehouse does not serve certificate-based authentication: kerberos cannot be set."},
		{name: "wildcard in the host", body: with(web, "allowWildcardInRedirectUris", true, "redirectUris", []string{"https://*.example.com/cb"}), put: webURL,
			target: "redirectUris[0]", message: "A wildcard is allowed only in the path and query of a redirect URI, not in its scheme, host or port."},
		{name: "wildcard in the port", body: with(web, "allowWildcardInRedirectUris", true, "redirectUris", []string{"https://app.example.com:*"}), put: webURL,
			target: "redirectUris[0]", message: "A wildcard is allowed only in the path and query of a redirect URI, not in its scheme, host or port."},
		{name: "wildcard in a post-logout host", body: with(web, "allowWildcardInRedirectUris", true, "postLogoutRedirectUris", []string{"https://*.example.com/bye"}), put: webURL,
			target: "postLogoutRedirectUris[0]", message: "A wildcard is allowed only in the path and query of a redirect URI, not in its scheme, host or port."},
		{name: "two wildcards", body: with(web, "allowWildcardInRedirectUris", true, "redirectUris", []string{"https://app.example.com/*/cb/*"}), put: webURL,
			target: "redirectUris[0]", message: "Only one wildcard is allowed in a redirect URI."},
	}
	for _, c := range cases {
		for _, method := range []string{"POST", "PUT"} {
			t.Run(c.name+" "+method, func(t *testing.T) {
				u, unchanged := apps, apps
				if method == "PUT" {
					u, unchanged = c.put, c.put
				}
				before := adminGet(t, s, unchanged)
				r := doNo5xx(t, s, apptest.Request{Method: method, URL: u, Token: admin, Body: c.body})
				m := checkAnswer(t, r, wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", c.target})
				if ds := m["details"].([]any); len(ds) != 1 {
					t.Errorf("details = %v, want exactly one", ds)
				}
				if got := detailAt(t, m, 0)["message"]; got != c.message {
					t.Errorf("message = %q, want %q", got, c.message)
				}
				ie, hasInner := detailAt(t, m, 0)["innerError"].(map[string]any)
				switch {
				case c.allowed == nil && hasInner:
					t.Errorf("innerError = %v, want none", ie)
				case c.allowed != nil && (!hasInner || !slices.Equal(strList(ie["allowedValues"]), c.allowed)):
					t.Errorf("innerError = %v, want allowedValues %v", ie, c.allowed)
				}
				if after := adminGet(t, s, unchanged); string(after) != string(before) {
					t.Errorf("%s changed:\nbefore %s\nafter  %s", unchanged, trimBody(before), trimBody(after))
				}
			})
		}
	}

	// What PingOne's SDK and Terraform provider send by default, and the
	// served or stored values of the same settings, are accepted and read
	// back as sent.
	accepted := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{"defaults spelled out", with(web, "idpSignoff", false, "opSessionCheckEnabled", false, "includeX5t", false,
			"signing", nil, "kerberos", nil, "accessControl", nil),
			map[string]any{"idpSignoff": false, "opSessionCheckEnabled": false, "includeX5t": false, "signing": nil, "kerberos": nil, "accessControl": nil}},
		{"JSON nulls", with(web, "signing", rawNull{}, "kerberos", rawNull{}, "mobile", rawNull{}),
			map[string]any{"signing": nil, "kerberos": nil}},
		{"x5t and opaque refresh tokens", with(web, "includeX5t", true, "refreshTokenType", "OPAQUE_TOKEN"),
			map[string]any{"includeX5t": true, "refreshTokenType": "OPAQUE_TOKEN"}},
		{"integrity detection disabled", with(native, "mobile", map[string]any{"integrityDetection": map[string]any{"mode": "DISABLED"}, "bundleId": "com.example.app"}),
			map[string]any{"mobile.integrityDetection.mode": "DISABLED", "mobile.bundleId": "com.example.app"}},
		{"wildcard in the path and query", with(web, "allowWildcardInRedirectUris", true,
			"redirectUris", []string{"https://app.example.com/th*/callback", "https://app.example.com/cb?tenant=*"},
			"postLogoutRedirectUris", []string{"https://app.example.com/bye/*"}),
			map[string]any{"allowWildcardInRedirectUris": true, "redirectUris": []string{"https://app.example.com/th*/callback", "https://app.example.com/cb?tenant=*"},
				"postLogoutRedirectUris": []string{"https://app.example.com/bye/*"}}},
		{"wildcard after a native private scheme", with(native, "allowWildcardInRedirectUris", true, "redirectUris", []string{"com.example.app:/cb/*"}),
			map[string]any{"redirectUris": []string{"com.example.app:/cb/*"}}},
	}
	for _, c := range accepted {
		t.Run("accepts "+c.name, func(t *testing.T) {
			created := appCreate(t, s, admin, envID, with(c.body, "name", "Accepted "+c.name))
			wantFields(t, created, c.want)
			id := created["id"].(string)
			wantFields(t, must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: apps + "/" + id, Token: admin}), http.StatusOK), c.want)
			put := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: apps + "/" + id, Token: admin, Body: with(c.body, "name", "Replaced "+c.name)}), http.StatusOK)
			wantFields(t, put, c.want)
		})
	}
}

// rawNull is a member sent as JSON null.
type rawNull struct{}

func (rawNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }
