package mgmt_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// Bodies as PingOne's SDK mfa module marshals them: application/json, the
// policy model's required members (name, sms, voice, email, mobile, totp,
// default, forSignOnPolicy) always present.

func offlineBody(enabled bool) map[string]any {
	return map[string]any{"enabled": enabled, "pairingDisabled": false, "promptForNicknameOnPairing": false,
		"otp": map[string]any{"lifeTime": map[string]any{"duration": 5, "timeUnit": "MINUTES"},
			"failure": map[string]any{"count": 3, "coolDown": map[string]any{"duration": 0, "timeUnit": "MINUTES"}}, "otpLength": 6}}
}

func policyBody(name string) map[string]any {
	return map[string]any{"name": name, "default": false, "forSignOnPolicy": false,
		"authentication":        map[string]any{"deviceSelection": "PROMPT_TO_SELECT"},
		"newDeviceNotification": "NONE", "ignoreUserLock": false,
		"sms": offlineBody(true), "voice": offlineBody(false), "email": offlineBody(true),
		"totp": map[string]any{"enabled": true, "pairingDisabled": false, "promptForNicknameOnPairing": true, "passcodeGracePeriod": 3,
			"otp": map[string]any{"failure": map[string]any{"count": 2, "coolDown": map[string]any{"duration": 90, "timeUnit": "SECONDS"}}}},
		"mobile": map[string]any{"enabled": false, "otp": map[string]any{"failure": map[string]any{"count": 3, "coolDown": map[string]any{"duration": 2, "timeUnit": "MINUTES"}}}},
		"fido2":  map[string]any{"enabled": false},
	}
}

// withPath returns a deep copy of body with the member at path (a.b.c)
// set to v, or removed when v is nil.
func withPath(body map[string]any, path string, v any) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(body)
	json.Unmarshal(b, &out)
	m := out
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return out
}

// stripIdentity leaves what a policy holds besides its identity.
func stripIdentity(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "_links", "id", "environment", "createdAt", "updatedAt":
		default:
			out[k] = v
		}
	}
	return out
}

func TestMFASettingsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testMFASettings(t, newCfgAPI(t, s, "MFA settings"))
		})
	}
}

func testMFASettings(t *testing.T, c cfgAPI) {
	self := c.s.APIPath + "/environments/" + c.env + "/mfaSettings"
	defaults := map[string]any{"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
		"phoneExtensions": map[string]any{"enabled": false}, "users": map[string]any{"mfaEnabled": true},
		"authentication": map[string]any{"deviceSelection": "DEFAULT_TO_FIRST"}, "lockout": nil,
		"environment.id": c.env, "_links.self.href": self, "_links.environment.href": c.s.APIPath + "/environments/" + c.env}
	got := c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK)
	wantFields(t, got, defaults)

	// PingOne's example of an update.
	upd := c.ok(t, "PUT", "/mfaSettings", golden(t, "mfaSettings.update.request.json"), http.StatusOK)
	wantFields(t, upd, map[string]any{"pairing": map[string]any{"maxAllowedDevices": 10, "pairingKeyFormat": "ALPHANUMERIC"},
		"lockout": map[string]any{"failureCount": 6, "durationSeconds": 1200}, "phoneExtensions.enabled": true, "users.mfaEnabled": true,
		"environment.id": c.env, "_links.self.href": self})
	checkTime(t, upd, "updatedAt")
	if got := c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK); !cfgSameJSON(got, upd) {
		t.Errorf("GET after PUT = %v, PUT answered %v", got, upd)
	}
	// A PUT of what GET returned changes nothing but the update time.
	again := c.ok(t, "PUT", "/mfaSettings", upd, http.StatusOK)
	delete(again, "updatedAt")
	delete(upd, "updatedAt")
	if !cfgSameJSON(again, upd) {
		t.Errorf("PUT of GET = %v, want %v", again, upd)
	}
	// The lockout without a duration returns none (the Terraform provider
	// checks it is absent).
	m := c.ok(t, "PUT", "/mfaSettings", map[string]any{"pairing": map[string]any{"pairingKeyFormat": "NUMERIC"}, "lockout": map[string]any{"failureCount": 13}}, http.StatusOK)
	wantFields(t, m, map[string]any{"lockout": map[string]any{"failureCount": 13}, "pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "NUMERIC"},
		"phoneExtensions.enabled": false})

	before := c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK)
	bad := []struct {
		name string
		body any
		w    wantErr
	}{
		{"too many devices", map[string]any{"pairing": map[string]any{"maxAllowedDevices": 16}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "pairing.maxAllowedDevices"}},
		{"no devices", map[string]any{"pairing": map[string]any{"maxAllowedDevices": 0}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "pairing.maxAllowedDevices"}},
		{"key format", map[string]any{"pairing": map[string]any{"pairingKeyFormat": "HEX"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "pairing.pairingKeyFormat"}},
		{"lockout without count", map[string]any{"lockout": map[string]any{"durationSeconds": 5}}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "lockout.failureCount"}},
		{"negative lockout", map[string]any{"lockout": map[string]any{"failureCount": -1}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "lockout.failureCount"}},
		{"device selection", map[string]any{"authentication": map[string]any{"deviceSelection": "ANY"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "authentication.deviceSelection"}},
		// A policy's value, not the settings' (SDK EnumMFASettingsDeviceSelection).
		{"always display devices", map[string]any{"authentication": map[string]any{"deviceSelection": "ALWAYS_DISPLAY_DEVICES"}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "authentication.deviceSelection"}},
		{"wrong type", `{"pairing":{"maxAllowedDevices":"five"}}`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "pairing.maxAllowedDevices"}},
		{"malformed", `{"pairing":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) { c.fail(t, "PUT", "/mfaSettings", tc.body, tc.w) })
	}
	r := doNo5xx(t, c.s, apptest.Request{Method: "PUT", URL: c.url("/mfaSettings"), Token: c.tok, Body: `{}`, ContentType: "text/plain"})
	checkAnswer(t, r, wantErr{http.StatusUnsupportedMediaType, "", "", ""})
	if after := c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK); !cfgSameJSON(after, before) {
		t.Errorf("a refused PUT wrote: %v, was %v", after, before)
	}

	// Reset answers 204 as PingOne does, and the defaults are back.
	checkAnswer(t, c.do(t, "DELETE", "/mfaSettings", nil), wantErr{http.StatusNoContent, "", "", ""})
	wantFields(t, c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK), defaults)
	checkAnswer(t, c.do(t, "DELETE", "/mfaSettings", nil), wantErr{http.StatusNoContent, "", "", ""})

	unknown := "/environments/" + uuid.NewString() + "/mfaSettings"
	c.fail(t, "GET", c.s.APIPath+unknown, nil, cfgNotFound)
	c.fail(t, "PUT", c.s.APIPath+unknown, map[string]any{}, cfgNotFound)
}

func TestDeviceAuthenticationPoliciesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testDeviceAuthPolicies(t, newCfgAPI(t, s, "MFA policies"), newCfgAPI(t, s, "Other MFA policies"))
		})
	}
}

func testDeviceAuthPolicies(t *testing.T, c, other cfgAPI) {
	base := c.s.APIPath + "/environments/" + c.env + "/deviceAuthenticationPolicies"
	all := c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")
	if len(all) != 1 {
		t.Fatalf("a new environment has %d policies, want the default one", len(all))
	}
	def := all[0]
	defID := checkID(t, def, "id")
	checkTime(t, def, "createdAt")
	checkTime(t, def, "updatedAt")
	wantFields(t, def, map[string]any{"environment.id": c.env, "_links.self.href": base + "/" + defID})
	// Field by field as PingOne's default policy.
	want := golden(t, "deviceAuthenticationPolicies.default.response.json")
	gotData := stripIdentity(def)
	for k, v := range want {
		if !cfgSameJSON(gotData[k], v) {
			t.Errorf("default policy %s = %v, want %v", k, gotData[k], v)
		}
	}
	for k := range gotData {
		if _, ok := want[k]; !ok {
			t.Errorf("default policy has %s, PingOne's has not", k)
		}
	}

	// PingOne's example of a create: unknown members are ignored, the
	// absent ones take PingOne's defaults.
	raw, err := os.ReadFile("testdata/deviceAuthenticationPolicies.create.request.json")
	if err != nil {
		t.Fatal(err)
	}
	exBody := strings.ReplaceAll(string(raw), "{{appID}}", uuid.NewString())
	var exSent map[string]any
	json.Unmarshal([]byte(exBody), &exSent)
	ex := c.ok(t, "POST", "/deviceAuthenticationPolicies", exBody, http.StatusCreated)
	exID := checkID(t, ex, "id")
	wantFields(t, ex, map[string]any{"name": "useCaseDeviceAuthPolicy", "default": false, "forSignOnPolicy": false,
		"sms.enabled": true, "sms.pairingDisabled": false, "sms.otp.lifeTime": map[string]any{"duration": 30, "timeUnit": "MINUTES"},
		"sms.otp.otpLength": 6, "voice.enabled": false, "totp.passcodeGracePeriod": 5, "totp.otp.failure.count": 3,
		"authentication.deviceSelection": "DEFAULT_TO_FIRST", "newDeviceNotification": "NONE", "ignoreUserLock": false,
		"securityKey": nil, "platform": nil, "_links.self.href": base + "/" + exID,
		// Optional and not Computed in Terraform's pingone_mfa_device_policy:
		// absent when not sent, as its acceptance tests check.
		"sms.promptForNicknameOnPairing": nil, "voice.promptForNicknameOnPairing": nil,
		"email.promptForNicknameOnPairing": nil, "totp.promptForNicknameOnPairing": nil, "totp.uriParameters": nil})
	if _, ok := ex["sms"].(map[string]any)["promptForNicknameOnPairing"]; ok {
		t.Errorf("sms.promptForNicknameOnPairing returned though not sent")
	}
	// Mobile is stored and returned as sent (Gatehouse does not serve it).
	if !cfgSameJSON(ex["mobile"], exSent["mobile"]) {
		t.Errorf("mobile = %v, sent %v", ex["mobile"], exSent["mobile"])
	}

	// Create, read, PUT of GET, names unique whatever their case.
	body := policyBody("Strict")
	p := c.ok(t, "POST", "/deviceAuthenticationPolicies", body, http.StatusCreated)
	id := checkID(t, p, "id")
	wantFields(t, p, map[string]any{"name": "Strict", "default": false, "totp.otp.failure.coolDown": map[string]any{"duration": 90, "timeUnit": "SECONDS"},
		"authentication.deviceSelection": "PROMPT_TO_SELECT", "environment.id": c.env,
		// fido2 sent as {"enabled": false}: PingOne's defaults fill the rest.
		"fido2": map[string]any{"enabled": false, "pairingDisabled": false, "fido2PolicyId": nil,
			"failure": map[string]any{"count": 3, "coolDown": map[string]any{"duration": 2, "timeUnit": "MINUTES"}}}})
	for _, k := range []string{"sms", "voice", "email", "totp", "mobile"} {
		if !cfgSameJSON(p[k], body[k]) {
			t.Errorf("%s = %v, sent %v", k, p[k], body[k])
		}
	}
	got := c.ok(t, "GET", "/deviceAuthenticationPolicies/"+id, nil, http.StatusOK)
	if !cfgSameJSON(got, p) {
		t.Errorf("GET = %v, POST answered %v", got, p)
	}
	put := c.ok(t, "PUT", "/deviceAuthenticationPolicies/"+id, got, http.StatusOK)
	if !cfgSameJSON(stripIdentity(put), stripIdentity(got)) || put["createdAt"] != got["createdAt"] {
		t.Errorf("PUT of GET changed the policy: %v, was %v", put, got)
	}
	c.fail(t, "POST", "/deviceAuthenticationPolicies", policyBody("STRICT"), cfgNotUnique("name"))
	c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+exID, policyBody("strict"), cfgNotUnique("name"))

	// The error matrix: each refused, naming the member, nothing written.
	bad := []struct {
		path string
		v    any
		w    wantErr
	}{
		{"name", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}},
		{"sms", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "sms"}},
		{"mobile", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "mobile"}},
		{"totp", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "totp"}},
		{"email.enabled", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "email.enabled"}},
		{"voice.otp.lifeTime", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "voice.otp.lifeTime"}},
		{"sms.otp.failure.count", 8, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "sms.otp.failure.count"}},
		{"sms.otp.failure.count", 0, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "sms.otp.failure.count"}},
		{"sms.otp.lifeTime.duration", 31, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "sms.otp.lifeTime.duration"}},
		{"sms.otp.lifeTime", map[string]any{"duration": 59, "timeUnit": "SECONDS"}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "sms.otp.lifeTime.duration"}},
		{"email.otp.lifeTime.timeUnit", "HOURS", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "email.otp.lifeTime.timeUnit"}},
		{"email.otp.failure.coolDown.duration", 31, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "email.otp.failure.coolDown.duration"}},
		{"email.otp.otpLength", 5, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "email.otp.otpLength"}},
		{"totp.passcodeGracePeriod", 11, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "totp.passcodeGracePeriod"}},
		{"totp.otp.failure.count", nil, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "totp.otp.failure.count"}},
		{"authentication.deviceSelection", "FIRST", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "authentication.deviceSelection"}},
		{"newDeviceNotification", "PIGEON", wantErr{400, "INVALID_DATA", "INVALID_VALUE", "newDeviceNotification"}},
		{"mobile", []any{}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "mobile"}},
		{"sms.otp.failure.count", "three", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "sms.otp.failure.count"}},
	}
	for _, tc := range bad {
		t.Run("POST "+tc.path, func(t *testing.T) {
			c.fail(t, "POST", "/deviceAuthenticationPolicies", withPath(policyBody("Refused"), tc.path, tc.v), tc.w)
		})
		t.Run("PUT "+tc.path, func(t *testing.T) {
			c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+id, withPath(policyBody("Refused"), tc.path, tc.v), tc.w)
		})
	}
	c.fail(t, "POST", "/deviceAuthenticationPolicies", `{"name":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""})
	// An oversized body (a stored-as-sent member stuffed past the limit).
	huge := withPath(policyBody("Huge"), "mobile", map[string]any{"enabled": false, "pad": strings.Repeat("x", mgmt.MaxBodyBytes)})
	c.fail(t, "POST", "/deviceAuthenticationPolicies", huge, wantErr{http.StatusRequestEntityTooLarge, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""})
	c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+id, huge, wantErr{http.StatusRequestEntityTooLarge, "INVALID_REQUEST", "SIZE_LIMIT_EXCEEDED", ""})
	r := doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url("/deviceAuthenticationPolicies"), Token: c.tok, Body: policyBody("Typed"), ContentType: "text/plain"})
	checkAnswer(t, r, wantErr{http.StatusUnsupportedMediaType, "", "", ""})
	if n := len(c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")); n != 3 {
		t.Errorf("%d policies after refused requests, want 3", n)
	}
	if got := c.ok(t, "GET", "/deviceAuthenticationPolicies/"+id, nil, http.StatusOK); !cfgSameJSON(stripIdentity(got), stripIdentity(put)) {
		t.Errorf("a refused PUT wrote: %v", got)
	}

	// One default at a time: making Strict the default moves it; false
	// never leaves the environment without one.
	c.ok(t, "PUT", "/deviceAuthenticationPolicies/"+id, withPath(policyBody("Strict"), "default", true), http.StatusOK)
	wantFields(t, c.ok(t, "GET", "/deviceAuthenticationPolicies/"+defID, nil, http.StatusOK), map[string]any{"default": false})
	wantFields(t, c.ok(t, "PUT", "/deviceAuthenticationPolicies/"+id, policyBody("Strict"), http.StatusOK), map[string]any{"default": true})
	// The default cannot be deleted.
	c.fail(t, "DELETE", "/deviceAuthenticationPolicies/"+id, nil, cfgRequestFailed)

	// A policy a sign-on policy's MFA action names cannot be deleted
	// (the Multi_Factor policy's action names the original default).
	c.fail(t, "DELETE", "/deviceAuthenticationPolicies/"+defID, nil, cfgRequestFailed)
	wantFields(t, c.ok(t, "GET", "/deviceAuthenticationPolicies/"+defID, nil, http.StatusOK), map[string]any{"name": "Default MFA Policy"})

	// Isolation: another environment's policy is not found here.
	otherDef := other.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")[0]["id"].(string)
	c.fail(t, "GET", "/deviceAuthenticationPolicies/"+otherDef, nil, cfgNotFound)
	c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+otherDef, policyBody("Hijack"), cfgNotFound)
	c.fail(t, "DELETE", "/deviceAuthenticationPolicies/"+otherDef, nil, cfgNotFound)
	wantFields(t, other.ok(t, "GET", "/deviceAuthenticationPolicies/"+otherDef, nil, http.StatusOK), map[string]any{"name": "Default MFA Policy", "default": true})
	mfaPolicy := c.named(t, "/signOnPolicies", "signOnPolicies", "Multi_Factor")["id"].(string)
	c.fail(t, "POST", "/signOnPolicies/"+mfaPolicy+"/actions", map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 3,
		"deviceAuthenticationPolicy": map[string]any{"id": otherDef}}, wantErr{400, "INVALID_DATA", "INVALID_VALUE", "deviceAuthenticationPolicy.id"})

	// Delete: 204, then gone.
	checkAnswer(t, c.do(t, "DELETE", "/deviceAuthenticationPolicies/"+exID, nil), wantErr{http.StatusNoContent, "", "", ""})
	c.fail(t, "GET", "/deviceAuthenticationPolicies/"+exID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/deviceAuthenticationPolicies/"+exID, nil, cfgNotFound)
	c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+uuid.NewString(), policyBody("Ghost"), cfgNotFound)
}

// The Multi_Factor sign-on policy of a new environment: its MFA action as
// PingOne's, naming the environment's default device authentication
// policy.
func TestMultiFactorPolicyDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Multi factor")
			dap := c.named(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", "Default MFA Policy")["id"].(string)
			pol := c.named(t, "/signOnPolicies", "signOnPolicies", "Multi_Factor")["id"].(string)
			var mfa map[string]any
			for _, a := range c.list(t, "/signOnPolicies/"+pol+"/actions", "actions") {
				if a["type"] == "MULTI_FACTOR_AUTHENTICATION" {
					mfa = a
				}
			}
			if mfa == nil {
				t.Fatal("the Multi_Factor policy has no MFA action")
			}
			raw, err := os.ReadFile("testdata/signOnPolicies.multiFactor.mfaAction.response.json")
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "{{defaultDeviceAuthenticationPolicyID}}", dap)), &want)
			for k, v := range want {
				if !cfgSameJSON(mfa[k], v) {
					t.Errorf("MFA action %s = %v, want %v", k, mfa[k], v)
				}
			}
		})
	}
}

// Who may read and write the MFA configuration: the configuration
// permissions, as PingOne's Environment Admin (mfa create/read/update/
// delete) and Configuration Read Only (mfa read) hold them; Identity Data
// Admin has neither. Nothing a refused actor sends is written.
func TestMFAConfigurationRoles(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	c := newCfgAPI(t, s, "MFA roles")
	ro := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, c.env}))
	ida := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, c.env}))
	admin := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, c.env}))
	def := c.named(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", "Default MFA Policy")["id"].(string)
	settings := c.url("/mfaSettings")
	pols := c.url("/deviceAuthenticationPolicies")
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	cases := []struct {
		name string
		req  apptest.Request
		want wantErr
	}{
		{"read only reads settings", apptest.Request{Method: "GET", URL: settings, Token: ro}, wantErr{status: 200}},
		{"read only lists policies", apptest.Request{Method: "GET", URL: pols, Token: ro}, wantErr{status: 200}},
		{"read only reads a policy", apptest.Request{Method: "GET", URL: pols + "/" + def, Token: ro}, wantErr{status: 200}},
		{"read only updates settings", apptest.Request{Method: "PUT", URL: settings, Token: ro, Body: map[string]any{"pairing": map[string]any{"maxAllowedDevices": 2}}}, forbidden},
		{"read only resets settings", apptest.Request{Method: "DELETE", URL: settings, Token: ro}, forbidden},
		{"read only creates a policy", apptest.Request{Method: "POST", URL: pols, Token: ro, Body: policyBody("RO")}, forbidden},
		{"read only updates a policy", apptest.Request{Method: "PUT", URL: pols + "/" + def, Token: ro, Body: policyBody("RO")}, forbidden},
		{"read only deletes a policy", apptest.Request{Method: "DELETE", URL: pols + "/" + def, Token: ro}, forbidden},
		{"identity data admin reads settings", apptest.Request{Method: "GET", URL: settings, Token: ida}, forbidden},
		{"identity data admin lists policies", apptest.Request{Method: "GET", URL: pols, Token: ida}, forbidden},
		{"environment admin updates settings", apptest.Request{Method: "PUT", URL: settings, Token: admin, Body: map[string]any{"pairing": map[string]any{"maxAllowedDevices": 3}}}, wantErr{status: 200}},
		{"environment admin creates a policy", apptest.Request{Method: "POST", URL: pols, Token: admin, Body: policyBody("Admin's")}, wantErr{status: 201}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkAnswer(t, doNo5xx(t, s, tc.req), tc.want) })
	}
	wantFields(t, c.ok(t, "GET", "/mfaSettings", nil, http.StatusOK), map[string]any{"pairing.maxAllowedDevices": 3})
	if n := len(c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")); n != 2 {
		t.Errorf("%d policies, want the default and the admin's", n)
	}
}

// Concurrent "make this the default" writes: each is answered 201 (none a
// false uniqueness error from the one-default index) and one default
// remains.
func TestDeviceAuthPolicyConcurrentDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Concurrent defaults")
			const n = 6
			codes := make([]int, n)
			bodies := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					r := c.do(t, "POST", "/deviceAuthenticationPolicies", withPath(policyBody(fmt.Sprintf("Default %d", i)), "default", true))
					codes[i], bodies[i] = r.Status, string(r.Body)
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if codes[i] != http.StatusCreated {
					t.Errorf("create %d: %d %s", i, codes[i], bodies[i])
				}
			}
			defaults := 0
			for _, p := range c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies") {
				if p["default"] == true {
					defaults++
				}
			}
			if defaults != 1 {
				t.Errorf("%d default policies, want 1", defaults)
			}
		})
	}
}
