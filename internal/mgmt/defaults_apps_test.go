package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The defaults PingOne fills into applications and sign-on policy actions:
// every boolean comes back false rather than absent, and true when set;
// rows stored before a default existed read back with it, and a PUT of
// what GET returned stores exactly that.

// appBooleans are an OIDC application's booleans with PingOne's default.
// falseOnly marks those whose true Gatehouse refuses, for it does not
// serve what they switch on (TestApplicationSettingsNotServed).
var appBooleans = []struct {
	name      string
	def       bool
	falseOnly bool
}{
	{"allowWildcardInRedirectUris", false, false},
	{"includeX5t", false, false},
	{"opSessionCheckEnabled", false, true},
	{"requireSignedRequestObject", false, false},
	{"supportUnsignedRequestObject", false, false},
	{"idpSignoff", false, true},
	{"hiddenFromAppPortal", false, false},
	{"requestScopesForMultipleResourcesEnabled", false, false},
	{"additionalRefreshTokenReplayProtectionEnabled", true, false},
}

// driftRoundTrip GETs url, PUTs the body back and GETs again: the three
// bodies but updatedAt must be the same.
func driftRoundTrip(t *testing.T, s *apptest.Server, tok, url string) map[string]any {
	t.Helper()
	first := driftGet(t, s, tok, url)
	r := doNo5xx(t, s, apptest.Request{Method: http.MethodPut, URL: url, Token: tok, Body: first})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT of what GET returned: %d %s", r.Status, trimBody(r.Body))
	}
	if d := driftDiff(t, first, r.Body, []string{"updatedAt"}); d != "" {
		t.Errorf("the PUT answered something else: %s", d)
	}
	again := driftGet(t, s, tok, url)
	if d := driftDiff(t, first, again, []string{"updatedAt"}); d != "" {
		t.Errorf("a PUT of what GET returned changed %s: %s", url, d)
	}
	var m map[string]any
	json.Unmarshal(again, &m)
	return m
}

func TestApplicationBooleansRoundTrip(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Booleans", "SANDBOX")
			body := with(appWebBody("Booleans"), "grantTypes", []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"})
			for _, f := range appBooleans {
				t.Run(f.name, func(t *testing.T) {
					// Absent: PingOne's default, written out.
					app := appCreate(t, s, tok, envID, with(body, "name", f.name+" absent"))
					url := appsPath(envID) + "/" + app["id"].(string)
					wantFields(t, app, map[string]any{f.name: f.def})
					wantFields(t, driftRoundTrip(t, s, tok, url), map[string]any{f.name: f.def})

					// Sent as each value: it comes back through POST, GET and PUT.
					for _, v := range []bool{false, true} {
						body := with(body, "name", f.name+" "+strconv.FormatBool(v))
						if f.falseOnly && v {
							continue
						}
						app := appCreate(t, s, tok, envID, with(body, f.name, v))
						url := appsPath(envID) + "/" + app["id"].(string)
						wantFields(t, app, map[string]any{f.name: v})
						wantFields(t, driftRoundTrip(t, s, tok, url), map[string]any{f.name: v})
						if f.falseOnly {
							continue
						}
						// PUT flips it, and a PUT without it restores the default.
						put := doNo5xx(t, s, apptest.Request{Method: http.MethodPut, URL: url, Token: tok, Body: with(body, f.name, !v)})
						if put.Status != http.StatusOK {
							t.Fatalf("PUT %s=%v: %d %s", f.name, !v, put.Status, trimBody(put.Body))
						}
						wantFields(t, put.JSON(t), map[string]any{f.name: !v})
						wantFields(t, driftRoundTrip(t, s, tok, url), map[string]any{f.name: !v})
						put = doNo5xx(t, s, apptest.Request{Method: http.MethodPut, URL: url, Token: tok, Body: body})
						if put.Status != http.StatusOK {
							t.Fatalf("PUT without %s: %d %s", f.name, put.Status, trimBody(put.Body))
						}
						wantFields(t, put.JSON(t), map[string]any{f.name: f.def})
					}
				})
			}
		})
	}
}

// TestApplicationStoredBeforeDefaults: a row written with only what the
// oldest Gatehouse stored (no booleans, no PKCE, PAR or device settings, a
// native app's partial mobile settings) reads with PingOne's defaults, and
// a PUT of that stores it as read.
func TestApplicationStoredBeforeDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Old rows", "SANDBOX")
			ctx := context.Background()
			cases := []struct {
				name string
				body map[string]any
				data string
				want map[string]any
			}{
				{"web", with(appWebBody("Old web"), "grantTypes", []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}),
					`{"grantTypes":["AUTHORIZATION_CODE","REFRESH_TOKEN"],"responseTypes":["CODE"],"redirectUris":["https://app.example.com/callback"],"refreshTokenDuration":2592000,"refreshTokenRollingDuration":15552000}`,
					map[string]any{"pkceEnforcement": "OPTIONAL", "parRequirement": "OPTIONAL", "parTimeout": 60, "deviceTimeout": 600,
						"devicePollingInterval": 5, "additionalRefreshTokenReplayProtectionEnabled": true, "allowWildcardInRedirectUris": false,
						"includeX5t": false, "opSessionCheckEnabled": false, "requireSignedRequestObject": false, "supportUnsignedRequestObject": false,
						"idpSignoff": false, "hiddenFromAppPortal": false, "requestScopesForMultipleResourcesEnabled": false, "assignActorRoles": false,
						"refreshTokenDuration": 2592000, "refreshTokenRollingDuration": 15552000}},
				{"web with refresh tokens but no lifetimes", with(appWebBody("Old refresh"), "grantTypes", []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}),
					`{"grantTypes":["AUTHORIZATION_CODE","REFRESH_TOKEN"],"responseTypes":["CODE"],"redirectUris":["https://app.example.com/callback"]}`,
					map[string]any{"refreshTokenDuration": 2592000, "refreshTokenRollingDuration": 15552000, "refreshTokenRollingGracePeriodDuration": nil}},
				// What the admin bootstrap writes.
				{"worker as bootstrapped", with(appWorkerBody("Old worker"), "assignActorRoles", false),
					`{"description":"Bootstrap administrator.","grantTypes":["CLIENT_CREDENTIALS"]}`,
					map[string]any{"grantTypes": []string{"CLIENT_CREDENTIALS"}, "pkceEnforcement": "OPTIONAL", "includeX5t": false,
						"assignActorRoles": false, "refreshTokenDuration": nil, "mobile": nil}},
				{"native with partial mobile settings",
					with(appWebBody("Old native"), "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE"),
					`{"grantTypes":["AUTHORIZATION_CODE"],"responseTypes":["CODE"],"redirectUris":["https://app.example.com/callback"],"mobile":{"bundleId":"com.example.app","passcodeGracePeriod":10}}`,
					map[string]any{"mobile": map[string]any{"bundleId": "com.example.app", "passcodeGracePeriod": 10,
						"integrityDetection": map[string]any{"mode": "DISABLED"}, "passcodeRefreshDuration": map[string]any{"duration": 30, "timeUnit": "SECONDS"}}}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					id := appCreate(t, s, tok, envID, c.body)["id"].(string)
					rec, err := s.Store.GetApplication(ctx, envID, id)
					if err != nil {
						t.Fatal(err)
					}
					rec.Data = json.RawMessage(c.data)
					if err := s.Store.UpdateApplication(ctx, rec); err != nil {
						t.Fatal(err)
					}
					url := appsPath(envID) + "/" + id
					var read map[string]any
					json.Unmarshal(driftGet(t, s, tok, url), &read)
					wantFields(t, read, c.want)
					wantFields(t, driftRoundTrip(t, s, tok, url), c.want)
				})
			}
		})
	}
}

// TestNativeAppMobileDefaults: mobile settings sent in part get PingOne's
// values for the members left out; those sent are kept.
func TestNativeAppMobileDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Mobile", "SANDBOX")
			native := with(appWebBody("Native"), "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE")
			defaults := map[string]any{"integrityDetection": map[string]any{"mode": "DISABLED"},
				"passcodeRefreshDuration": map[string]any{"duration": 30, "timeUnit": "SECONDS"}, "passcodeGracePeriod": 5}
			cases := []struct {
				name   string
				mobile any
				want   map[string]any
			}{
				{"none", nil, defaults},
				{"bundle only", map[string]any{"bundleId": "com.example.app"},
					with(defaults, "bundleId", "com.example.app")},
				{"all their own", map[string]any{"integrityDetection": map[string]any{"mode": "DISABLED", "cacheDuration": map[string]any{"amount": 24, "units": "HOURS"}},
					"passcodeRefreshDuration": map[string]any{"duration": 45, "timeUnit": "SECONDS"}, "passcodeGracePeriod": 3},
					map[string]any{"integrityDetection": map[string]any{"mode": "DISABLED", "cacheDuration": map[string]any{"amount": 24, "units": "HOURS"}},
						"passcodeRefreshDuration": map[string]any{"duration": 45, "timeUnit": "SECONDS"}, "passcodeGracePeriod": 3}},
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					app := appCreate(t, s, tok, envID, with(native, "name", "Native "+strconv.Itoa(i), "mobile", c.mobile))
					wantFields(t, app, map[string]any{"mobile": c.want})
					wantFields(t, driftRoundTrip(t, s, tok, appsPath(envID)+"/"+app["id"].(string)), map[string]any{"mobile": c.want})
				})
			}
			// A web application has no mobile settings.
			web := appCreate(t, s, tok, envID, appWebBody("Web"))
			wantFields(t, web, map[string]any{"mobile": nil})
		})
	}
}

// TestActionsStoredBeforeDefaults: actions stored without the members
// PingOne always returns read with PingOne's defaults, which are what the
// flow engine assumes of an absent member (recovery offered, no
// registration); a PUT of what GET returned stores them.
func TestActionsStoredBeforeDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "Old actions", "SANDBOX")
			ctx := context.Background()
			idp := newIDP(t, s, envID, "Upstream")
			ag := actionAgreement(t, s, envID)
			cases := []struct {
				name string
				body map[string]any
				data string
				want map[string]any
			}{
				{"LOGIN", map[string]any{"type": "LOGIN", "priority": 1}, `{}`,
					map[string]any{"recovery": map[string]any{"enabled": true}, "enforceLockoutForIdentityProviders": false,
						"registration": map[string]any{"enabled": false, "confirmIdentityProviderAttributes": false}}},
				{"IDENTIFIER_FIRST with registration", map[string]any{"type": "IDENTIFIER_FIRST", "priority": 1},
					`{"recovery":{"enabled":false},"registration":{"enabled":false,"external":{"href":"https://register.example.com"}}}`,
					map[string]any{"recovery": map[string]any{"enabled": false}, "enforceLockoutForIdentityProviders": false,
						"registration": map[string]any{"enabled": false, "external": map[string]any{"href": "https://register.example.com"},
							"confirmIdentityProviderAttributes": false}}},
				{"IDENTITY_PROVIDER", map[string]any{"type": "IDENTITY_PROVIDER", "priority": 1, "identityProvider": map[string]any{"id": idp}},
					`{"identityProvider":{"id":"` + idp + `"}}`,
					map[string]any{"identityProvider": map[string]any{"id": idp}, "passUserContext": false, "recovery": nil,
						"registration": map[string]any{"enabled": false, "confirmIdentityProviderAttributes": false}}},
				{"MULTI_FACTOR_AUTHENTICATION", map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 1}, `{}`,
					map[string]any{"noDevicesMode": "BLOCK", "registration": nil}},
				{"AGREEMENT", map[string]any{"type": "AGREEMENT", "priority": 1, "agreement": map[string]any{"id": ag}},
					`{"agreement":{"id":"` + ag + `"}}`, map[string]any{"disableDeclineOption": false}},
				{"PROGRESSIVE_PROFILING", map[string]any{"type": "PROGRESSIVE_PROFILING", "priority": 1, "attributes": []any{map[string]any{"name": "email", "required": true}},
					"preventMultiplePromptsPerFlow": false, "promptIntervalSeconds": 0, "promptText": "More"},
					`{"attributes":[{"name":"email","required":true}],"preventMultiplePromptsPerFlow":false,"promptIntervalSeconds":0,"promptText":"More"}`,
					map[string]any{"preventMultiplePromptsPerFlow": false, "promptIntervalSeconds": 0, "registration": nil, "passUserContext": nil}},
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					acts := driftPolicy(t, s, tok, envID, "Old_"+strconv.Itoa(i))
					id := driftCreate(t, s, tok, acts, c.body)["id"].(string)
					rec, err := s.Store.GetSignOnPolicyAction(ctx, envID, policyOf(acts), id)
					if err != nil {
						t.Fatal(err)
					}
					rec.Data = json.RawMessage(c.data)
					if err := s.Store.UpdateSignOnPolicyAction(ctx, rec); err != nil {
						t.Fatal(err)
					}
					var read map[string]any
					json.Unmarshal(driftGet(t, s, tok, acts+"/"+id), &read)
					wantFields(t, read, c.want)
					wantFields(t, driftRoundTrip(t, s, tok, acts+"/"+id), c.want)
					// The row now holds what GET showed.
					rec, err = s.Store.GetSignOnPolicyAction(ctx, envID, policyOf(acts), id)
					if err != nil {
						t.Fatal(err)
					}
					var stored map[string]any
					json.Unmarshal(rec.Data, &stored)
					wantFields(t, stored, c.want)
				})
			}
		})
	}
}

// policyOf is the policy id of an actions URL
// (/environments/{env}/signOnPolicies/{id}/actions).
func policyOf(actionsURL string) string {
	const suffix = "/actions"
	u := actionsURL[:len(actionsURL)-len(suffix)]
	id := u[len(u)-36:]
	if uuid.Validate(id) != nil {
		panic("not an actions URL: " + actionsURL)
	}
	return id
}
