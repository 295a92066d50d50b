package mgmt_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// Bodies as PingOne's SDK mfa module marshals a FIDO2Policy: its required
// members always (attestationRequirements, authenticatorAttachment,
// backupEligibility, deviceDisplayName, discoverableCredentials,
// mdsAuthenticatorsRequirements, name, relyingPartyId,
// userDisplayNameAttributes, userVerification), the optional ones when set.

func fido2Body(name string) map[string]any {
	return map[string]any{
		"name":                    name,
		"description":             "Roaming keys only",
		"default":                 false,
		"attestationRequirements": "DIRECT",
		"authenticatorAttachment": "CROSS_PLATFORM",
		"backupEligibility":       map[string]any{"allow": false, "enforceDuringAuthentication": true},
		"deviceDisplayName":       "Security key",
		"discoverableCredentials": "DISCOURAGED",
		"mdsAuthenticatorsRequirements": map[string]any{"option": "SPECIFIC", "enforceDuringAuthentication": true,
			"allowedAuthenticators": []any{map[string]any{"id": "ee882879-721c-4913-9775-3dfcce97072a"}, map[string]any{"id": "cb69481e-8ff7-4039-93ec-0a2729a154a8"}}},
		"relyingPartyId": "example.com",
		"userDisplayNameAttributes": map[string]any{"attributes": []any{
			map[string]any{"name": "email"},
			map[string]any{"name": "name", "subAttributes": []any{map[string]any{"name": "given"}, map[string]any{"name": "family"}}},
			map[string]any{"name": "username"}}},
		"userVerification":         map[string]any{"option": "PREFERRED", "enforceDuringAuthentication": false},
		"userPresenceTimeout":      map[string]any{"duration": 90, "timeUnit": "SECONDS"},
		"publicKeyCredentialHints": []any{"SECURITY_KEY", "HYBRID"},
	}
}

// fido2Minimal is what the SDK sends for a policy made with
// NewFIDO2Policy and nothing set beside the required members.
func fido2Minimal(name string) map[string]any {
	return map[string]any{
		"name":                          name,
		"attestationRequirements":       "NONE",
		"authenticatorAttachment":       "PLATFORM",
		"backupEligibility":             map[string]any{"allow": true, "enforceDuringAuthentication": false},
		"deviceDisplayName":             "fidoPolicy.deviceDisplayName01",
		"discoverableCredentials":       "REQUIRED",
		"mdsAuthenticatorsRequirements": map[string]any{"option": "NONE", "enforceDuringAuthentication": false},
		"relyingPartyId":                "login.example.com",
		"userDisplayNameAttributes":     map[string]any{"attributes": []any{map[string]any{"name": "username"}}},
		"userVerification":              map[string]any{"option": "REQUIRED", "enforceDuringAuthentication": true},
	}
}

// dapWithFIDO2 is a device authentication policy whose fido2 member is
// fido2.
func dapWithFIDO2(name string, fido2 map[string]any) map[string]any {
	return withPath(policyBody(name), "fido2", fido2)
}

func TestFIDO2PoliciesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testFIDO2Policies(t, newCfgAPI(t, s, "FIDO2 policies"), newCfgAPI(t, s, "Other FIDO2 policies"))
		})
	}
}

func testFIDO2Policies(t *testing.T, c, other cfgAPI) {
	base := c.s.APIPath + "/environments/" + c.env + "/fido2Policies"
	u, err := url.Parse(c.s.APIPath)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Hostname()

	// A new environment has PingOne's two policies, Passkeys the default;
	// both leave the relying party to Gatehouse: the base URL's host.
	all := c.list(t, "/fido2Policies", "fido2Policies")
	if got := cfgNames(all); strings.Join(got, ",") != "Passkeys,Security Keys" {
		t.Fatalf("a new environment's FIDO2 policies: %v", got)
	}
	passkeys := c.named(t, "/fido2Policies", "fido2Policies", "Passkeys")
	passkeysID := checkID(t, passkeys, "id")
	checkTime(t, passkeys, "createdAt")
	checkTime(t, passkeys, "updatedAt")
	wantFields(t, passkeys, map[string]any{"environment.id": c.env, "_links.self.href": base + "/" + passkeysID,
		"_links.environment.href": c.s.APIPath + "/environments/" + c.env, "default": true, "description": "Passkeys FIDO Policy",
		"attestationRequirements": "NONE", "authenticatorAttachment": "BOTH",
		"backupEligibility": map[string]any{"allow": true, "enforceDuringAuthentication": false},
		"deviceDisplayName": "fidoPolicy.deviceDisplayName01", "discoverableCredentials": "REQUIRED",
		"mdsAuthenticatorsRequirements": map[string]any{"option": "NONE", "enforceDuringAuthentication": false},
		"relyingPartyId":                host,
		"userDisplayNameAttributes": map[string]any{"attributes": []any{
			map[string]any{"name": "name", "subAttributes": []any{map[string]any{"name": "given"}, map[string]any{"name": "family"}}},
			map[string]any{"name": "username"}}},
		"userVerification":         map[string]any{"option": "REQUIRED", "enforceDuringAuthentication": true},
		"userPresenceTimeout":      map[string]any{"duration": 2, "timeUnit": "MINUTES"},
		"publicKeyCredentialHints": nil, "_embedded": nil})
	keys := c.named(t, "/fido2Policies", "fido2Policies", "Security Keys")
	keysID := checkID(t, keys, "id")
	wantFields(t, keys, map[string]any{"default": false, "attestationRequirements": "DIRECT", "authenticatorAttachment": "CROSS_PLATFORM",
		"discoverableCredentials": "DISCOURAGED", "mdsAuthenticatorsRequirements.option": "AUDIT_ONLY", "relyingPartyId": host,
		"backupEligibility.allow": false, "userVerification.option": "DISCOURAGED"})

	// A PUT of what GET returned changes nothing, the default's relying
	// party included: it stays left to Gatehouse.
	put := c.ok(t, "PUT", "/fido2Policies/"+passkeysID, passkeys, http.StatusOK)
	if !cfgSameJSON(stripIdentity(put), stripIdentity(passkeys)) || put["createdAt"] != passkeys["createdAt"] {
		t.Errorf("PUT of GET changed the default: %v, was %v", put, passkeys)
	}

	// Create as the SDK sends it; read; PUT of GET.
	body := fido2Body("Roaming")
	p := c.ok(t, "POST", "/fido2Policies", body, http.StatusCreated)
	id := checkID(t, p, "id")
	checkTime(t, p, "createdAt")
	wantFields(t, p, map[string]any{"environment.id": c.env, "_links.self.href": base + "/" + id})
	for k, v := range body {
		if !cfgSameJSON(p[k], v) {
			t.Errorf("%s = %v, sent %v", k, p[k], v)
		}
	}
	got := c.ok(t, "GET", "/fido2Policies/"+id, nil, http.StatusOK)
	if !cfgSameJSON(got, p) {
		t.Errorf("GET = %v, POST answered %v", got, p)
	}
	put = c.ok(t, "PUT", "/fido2Policies/"+id, got, http.StatusOK)
	if !cfgSameJSON(stripIdentity(put), stripIdentity(got)) || put["createdAt"] != got["createdAt"] {
		t.Errorf("PUT of GET changed the policy: %v, was %v", put, got)
	}

	// The required members alone: the optional ones take PingOne's
	// defaults (a 2-minute timeout), or stay absent.
	minimal := c.ok(t, "POST", "/fido2Policies", fido2Minimal("Minimal"), http.StatusCreated)
	minimalID := checkID(t, minimal, "id")
	wantFields(t, minimal, map[string]any{"default": false, "userPresenceTimeout": map[string]any{"duration": 2, "timeUnit": "MINUTES"},
		"description": nil, "publicKeyCredentialHints": nil, "mdsAuthenticatorsRequirements.allowedAuthenticators": nil,
		"relyingPartyId": "login.example.com"})
	for _, k := range []string{"description", "publicKeyCredentialHints"} {
		if _, ok := minimal[k]; ok {
			t.Errorf("%s returned though not sent", k)
		}
	}

	// Names are unique whatever their case.
	c.fail(t, "POST", "/fido2Policies", fido2Body("ROAMING"), cfgNotUnique("name"))
	c.fail(t, "PUT", "/fido2Policies/"+minimalID, fido2Body("passkeys"), cfgNotUnique("name"))

	// The error matrix: each refused naming the member, nothing written.
	bad := []struct {
		path string
		v    any
		w    wantErr
	}{
		{"name", nil, cfgRequired("name")},
		{"name", "  ", cfgRequired("name")},
		{"name", strings.Repeat("n", 257), wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "name"}},
		{"description", strings.Repeat("d", 1025), wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "description"}},
		{"attestationRequirements", nil, cfgRequired("attestationRequirements")},
		{"attestationRequirements", "INDIRECT", cfgBadValue("attestationRequirements")},
		{"authenticatorAttachment", nil, cfgRequired("authenticatorAttachment")},
		{"authenticatorAttachment", "ROAMING", cfgBadValue("authenticatorAttachment")},
		{"backupEligibility", nil, cfgRequired("backupEligibility")},
		{"backupEligibility.allow", nil, cfgRequired("backupEligibility.allow")},
		{"backupEligibility.enforceDuringAuthentication", nil, cfgRequired("backupEligibility.enforceDuringAuthentication")},
		{"deviceDisplayName", nil, cfgRequired("deviceDisplayName")},
		{"deviceDisplayName", strings.Repeat("k", 101), wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "deviceDisplayName"}},
		{"discoverableCredentials", nil, cfgRequired("discoverableCredentials")},
		{"discoverableCredentials", "ALWAYS", cfgBadValue("discoverableCredentials")},
		{"mdsAuthenticatorsRequirements", nil, cfgRequired("mdsAuthenticatorsRequirements")},
		{"mdsAuthenticatorsRequirements.option", nil, cfgRequired("mdsAuthenticatorsRequirements.option")},
		{"mdsAuthenticatorsRequirements.option", "EVERYTHING", cfgBadValue("mdsAuthenticatorsRequirements.option")},
		{"mdsAuthenticatorsRequirements.enforceDuringAuthentication", nil, cfgRequired("mdsAuthenticatorsRequirements.enforceDuringAuthentication")},
		{"mdsAuthenticatorsRequirements.allowedAuthenticators", nil, cfgRequired("mdsAuthenticatorsRequirements.allowedAuthenticators")},
		{"mdsAuthenticatorsRequirements.allowedAuthenticators", []any{map[string]any{}}, cfgRequired("mdsAuthenticatorsRequirements.allowedAuthenticators[0].id")},
		{"mdsAuthenticatorsRequirements.allowedAuthenticators", []any{map[string]any{"id": "a"}, map[string]any{"id": "A"}},
			cfgBadValue("mdsAuthenticatorsRequirements.allowedAuthenticators[1].id")},
		{"relyingPartyId", nil, cfgRequired("relyingPartyId")},
		{"relyingPartyId", "Example.com", cfgBadValue("relyingPartyId")},
		{"relyingPartyId", "https://example.com", cfgBadValue("relyingPartyId")},
		{"relyingPartyId", "example..com", cfgBadValue("relyingPartyId")},
		{"relyingPartyId", "-example.com", cfgBadValue("relyingPartyId")},
		{"userDisplayNameAttributes", nil, cfgRequired("userDisplayNameAttributes")},
		{"userDisplayNameAttributes.attributes", nil, cfgRequired("userDisplayNameAttributes.attributes")},
		{"userDisplayNameAttributes.attributes", []any{}, cfgBadValue("userDisplayNameAttributes.attributes")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "email"}}, cfgBadValue("userDisplayNameAttributes.attributes")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "username"}, map[string]any{"name": "name"}},
			cfgRequired("userDisplayNameAttributes.attributes[1].subAttributes")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "username"},
			map[string]any{"name": "name", "subAttributes": []any{map[string]any{"name": "nickname"}}}},
			cfgBadValue("userDisplayNameAttributes.attributes[1].subAttributes[0].name")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "username", "subAttributes": []any{map[string]any{"name": "given"}}}},
			cfgBadValue("userDisplayNameAttributes.attributes[0].subAttributes")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "username"}, map[string]any{"name": "username"}},
			cfgBadValue("userDisplayNameAttributes.attributes[1].name")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{}, map[string]any{"name": "username"}},
			cfgRequired("userDisplayNameAttributes.attributes[0].name")},
		{"userDisplayNameAttributes.attributes", []any{map[string]any{"name": "username"}, map[string]any{"name": "email"}, map[string]any{"name": "nickName"},
			map[string]any{"name": "title"}, map[string]any{"name": "locale"}, map[string]any{"name": "timezone"}, map[string]any{"name": "externalId"}},
			cfgBadValue("userDisplayNameAttributes.attributes")},
		{"userVerification", nil, cfgRequired("userVerification")},
		{"userVerification.option", nil, cfgRequired("userVerification.option")},
		{"userVerification.option", "SOMETIMES", cfgBadValue("userVerification.option")},
		{"userVerification.enforceDuringAuthentication", nil, cfgRequired("userVerification.enforceDuringAuthentication")},
		{"userPresenceTimeout", map[string]any{"duration": 11, "timeUnit": "MINUTES"}, cfgBadValue("userPresenceTimeout.duration")},
		{"userPresenceTimeout", map[string]any{"duration": 0, "timeUnit": "MINUTES"}, cfgBadValue("userPresenceTimeout.duration")},
		{"userPresenceTimeout", map[string]any{"duration": 59, "timeUnit": "SECONDS"}, cfgBadValue("userPresenceTimeout.duration")},
		{"userPresenceTimeout", map[string]any{"duration": 601, "timeUnit": "SECONDS"}, cfgBadValue("userPresenceTimeout.duration")},
		{"userPresenceTimeout", map[string]any{"duration": 2, "timeUnit": "HOURS"}, cfgBadValue("userPresenceTimeout.timeUnit")},
		{"userPresenceTimeout", map[string]any{"timeUnit": "MINUTES"}, cfgRequired("userPresenceTimeout.duration")},
		{"publicKeyCredentialHints", []any{"USB"}, cfgBadValue("publicKeyCredentialHints[0]")},
		{"publicKeyCredentialHints", []any{"HYBRID", "HYBRID"}, cfgBadValue("publicKeyCredentialHints[1]")},
		{"backupEligibility.allow", "sometimes", wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "backupEligibility.allow"}},
		{"userPresenceTimeout", map[string]any{"duration": "two", "timeUnit": "MINUTES"}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "userPresenceTimeout.duration"}},
		{"name", 7, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "name"}},
	}
	for _, tc := range bad {
		t.Run(fmt.Sprintf("POST %s=%v", tc.path, tc.v), func(t *testing.T) {
			c.fail(t, "POST", "/fido2Policies", withPath(fido2Body("Refused"), tc.path, tc.v), tc.w)
		})
		t.Run(fmt.Sprintf("PUT %s=%v", tc.path, tc.v), func(t *testing.T) {
			c.fail(t, "PUT", "/fido2Policies/"+id, withPath(fido2Body("Refused"), tc.path, tc.v), tc.w)
		})
	}
	// Without attestation there is no metadata to check.
	noAttest := withPath(fido2Minimal("Refused"), "mdsAuthenticatorsRequirements.option", "GLOBAL")
	c.fail(t, "POST", "/fido2Policies", noAttest, cfgBadValue("mdsAuthenticatorsRequirements.option"))
	// Every problem is reported at once.
	m := c.fail(t, "POST", "/fido2Policies", map[string]any{"name": "Empty"}, cfgRequired("attestationRequirements"))
	if ds, _ := m["details"].([]any); len(ds) != 9 {
		t.Errorf("%d details for a body of a name alone, want 9: %v", len(ds), m["details"])
	}
	c.fail(t, "POST", "/fido2Policies", `{"name":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""})
	c.fail(t, "POST", "/fido2Policies", `[]`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""})
	r := doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url("/fido2Policies"), Token: c.tok, Body: fido2Body("Typed"), ContentType: "text/plain"})
	checkAnswer(t, r, wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	r = doNo5xx(t, c.s, apptest.Request{Method: "PUT", URL: c.url("/fido2Policies/" + id), Token: c.tok, Body: fido2Body("Typed"), ContentType: "text/plain"})
	checkAnswer(t, r, wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"})
	if n := len(c.list(t, "/fido2Policies", "fido2Policies")); n != 4 {
		t.Errorf("%d policies after refused requests, want 4", n)
	}
	if got := c.ok(t, "GET", "/fido2Policies/"+id, nil, http.StatusOK); !cfgSameJSON(stripIdentity(got), stripIdentity(put)) {
		t.Errorf("a refused PUT wrote: %v", got)
	}

	// One default at a time: making Roaming the default moves it; false
	// never leaves the environment without one.
	c.ok(t, "PUT", "/fido2Policies/"+id, withPath(fido2Body("Roaming"), "default", true), http.StatusOK)
	wantFields(t, c.ok(t, "GET", "/fido2Policies/"+passkeysID, nil, http.StatusOK), map[string]any{"default": false})
	wantFields(t, c.ok(t, "PUT", "/fido2Policies/"+id, fido2Body("Roaming"), http.StatusOK), map[string]any{"default": true})
	// The default cannot be deleted, with the message PingOne's Terraform
	// provider matches.
	m = c.fail(t, "DELETE", "/fido2Policies/"+id, nil, wantErr{400, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	if msg, _ := detailAt(t, m, 0)["message"].(string); !strings.Contains(msg, "cannot delete the default policy") {
		t.Errorf("details[0].message = %q, want PingOne's", msg)
	}
	// A new default by POST.
	c.ok(t, "POST", "/fido2Policies", withPath(fido2Minimal("Newest"), "default", true), http.StatusCreated)
	wantFields(t, c.ok(t, "GET", "/fido2Policies/"+id, nil, http.StatusOK), map[string]any{"default": false})
	c.ok(t, "PUT", "/fido2Policies/"+passkeysID, withPath(passkeys, "default", true), http.StatusOK)

	// A device authentication policy names a FIDO2 policy: one of the
	// environment's, or null for the default.
	dap := c.ok(t, "POST", "/deviceAuthenticationPolicies", dapWithFIDO2("With keys", map[string]any{"enabled": true, "fido2PolicyId": keysID}), http.StatusCreated)
	dapID := checkID(t, dap, "id")
	wantFields(t, dap, map[string]any{"fido2": map[string]any{"enabled": true, "pairingDisabled": false, "fido2PolicyId": keysID,
		"failure": map[string]any{"count": 3, "coolDown": map[string]any{"duration": 2, "timeUnit": "MINUTES"}}}})
	otherKeys := other.named(t, "/fido2Policies", "fido2Policies", "Security Keys")["id"].(string)
	for name, ref := range map[string]string{"unknown": uuid.NewString(), "another environment's": otherKeys, "not an id": "keys"} {
		t.Run("fido2PolicyId "+name, func(t *testing.T) {
			c.fail(t, "POST", "/deviceAuthenticationPolicies", dapWithFIDO2("Refused", map[string]any{"enabled": true, "fido2PolicyId": ref}),
				cfgBadValue("fido2.fido2PolicyId"))
			c.fail(t, "PUT", "/deviceAuthenticationPolicies/"+dapID, dapWithFIDO2("With keys", map[string]any{"enabled": true, "fido2PolicyId": ref}),
				cfgBadValue("fido2.fido2PolicyId"))
		})
	}
	if got := c.ok(t, "GET", "/deviceAuthenticationPolicies/"+dapID, nil, http.StatusOK); !cfgSameJSON(got["fido2"], dap["fido2"]) {
		t.Errorf("a refused PUT wrote fido2 = %v", got["fido2"])
	}

	// ?expand=deviceAuthenticationPolicies: who uses each policy; the
	// default is used by the policies that name none.
	defDAP := c.named(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", "Default MFA Policy")["id"].(string)
	expanded := c.list(t, "/fido2Policies?expand=deviceAuthenticationPolicies", "fido2Policies")
	uses := map[string]any{}
	for _, x := range expanded {
		uses[x["name"].(string)] = get(x, "_embedded.deviceAuthenticationPolicies")
	}
	wantFields(t, uses, map[string]any{
		"Security Keys": []any{map[string]any{"id": dapID, "name": "With keys"}},
		"Passkeys":      []any{map[string]any{"id": defDAP, "name": "Default MFA Policy"}},
		"Roaming":       []any{}, "Minimal": []any{}, "Newest": []any{}})
	one := c.ok(t, "GET", "/fido2Policies/"+keysID+"?expand=deviceAuthenticationPolicies", nil, http.StatusOK)
	wantFields(t, one, map[string]any{"_embedded.deviceAuthenticationPolicies": []any{map[string]any{"id": dapID, "name": "With keys"}}})
	if _, ok := c.ok(t, "GET", "/fido2Policies/"+keysID, nil, http.StatusOK)["_embedded"]; ok {
		t.Error("_embedded without expand")
	}
	// What an expanded GET returned PUTs back unchanged too.
	if again := c.ok(t, "PUT", "/fido2Policies/"+keysID, one, http.StatusOK); !cfgSameJSON(again["name"], "Security Keys") || again["_embedded"] != nil {
		t.Errorf("PUT of an expanded GET = %v", again)
	}

	// A policy a device authentication policy names cannot be deleted;
	// once the name is gone, it can.
	c.fail(t, "DELETE", "/fido2Policies/"+keysID, nil, wantErr{400, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	c.ok(t, "PUT", "/deviceAuthenticationPolicies/"+dapID, dapWithFIDO2("With keys", map[string]any{"enabled": true, "fido2PolicyId": nil}), http.StatusOK)
	checkAnswer(t, c.do(t, "DELETE", "/fido2Policies/"+keysID, nil), wantErr{http.StatusNoContent, "", "", ""})
	c.fail(t, "GET", "/fido2Policies/"+keysID, nil, cfgNotFound)
	c.fail(t, "DELETE", "/fido2Policies/"+keysID, nil, cfgNotFound)
	c.fail(t, "PUT", "/fido2Policies/"+keysID, fido2Body("Ghost"), cfgNotFound)
	c.fail(t, "POST", "/deviceAuthenticationPolicies", dapWithFIDO2("Refused", map[string]any{"enabled": true, "fido2PolicyId": keysID}),
		cfgBadValue("fido2.fido2PolicyId"))

	// Isolation: another environment's policy is not found here.
	c.fail(t, "GET", "/fido2Policies/"+otherKeys, nil, cfgNotFound)
	c.fail(t, "PUT", "/fido2Policies/"+otherKeys, fido2Body("Hijack"), cfgNotFound)
	c.fail(t, "DELETE", "/fido2Policies/"+otherKeys, nil, cfgNotFound)
	wantFields(t, other.ok(t, "GET", "/fido2Policies/"+otherKeys, nil, http.StatusOK), map[string]any{"name": "Security Keys", "default": false})
	unknown := c.s.APIPath + "/environments/" + uuid.NewString() + "/fido2Policies"
	c.fail(t, "GET", unknown, nil, cfgNotFound)
	c.fail(t, "POST", unknown, fido2Body("Nowhere"), cfgNotFound)
	c.fail(t, "GET", unknown+"/"+passkeysID, nil, cfgNotFound)
	c.fail(t, "GET", "/fido2Policies/"+uuid.NewString(), nil, cfgNotFound)

	// Deleting an unused policy: 204, then gone.
	checkAnswer(t, c.do(t, "DELETE", "/fido2Policies/"+minimalID, nil), wantErr{http.StatusNoContent, "", "", ""})
	c.fail(t, "GET", "/fido2Policies/"+minimalID, nil, cfgNotFound)
}

// The fido2 member of a device authentication policy as the SDK's
// DeviceAuthenticationPolicyCommonFido2 sends it: enabled required, the
// rest optional with PingOne's defaults, validated.
func TestDeviceAuthPolicyFIDO2Member(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "FIDO2 member")
			passkeys := c.named(t, "/fido2Policies", "fido2Policies", "Passkeys")["id"].(string)
			defaults := map[string]any{"count": 3, "coolDown": map[string]any{"duration": 2, "timeUnit": "MINUTES"}}
			good := []struct {
				name string
				sent any
				want map[string]any
			}{
				{"absent", nil, map[string]any{"enabled": false, "pairingDisabled": false, "fido2PolicyId": nil, "failure": defaults}},
				{"enabled alone", map[string]any{"enabled": true}, map[string]any{"enabled": true, "pairingDisabled": false, "fido2PolicyId": nil, "failure": defaults}},
				{"everything", map[string]any{"enabled": true, "pairingDisabled": true, "promptForNicknameOnPairing": true, "fido2PolicyId": passkeys,
					"failure": map[string]any{"count": 7, "coolDown": map[string]any{"duration": 1800, "timeUnit": "SECONDS"}}},
					map[string]any{"enabled": true, "pairingDisabled": true, "promptForNicknameOnPairing": true, "fido2PolicyId": passkeys,
						"failure": map[string]any{"count": 7, "coolDown": map[string]any{"duration": 1800, "timeUnit": "SECONDS"}}}},
				{"null policy", map[string]any{"enabled": true, "fido2PolicyId": nil, "promptForNicknameOnPairing": false},
					map[string]any{"enabled": true, "pairingDisabled": false, "promptForNicknameOnPairing": false, "fido2PolicyId": nil, "failure": defaults}},
				{"count alone", map[string]any{"enabled": false, "failure": map[string]any{"count": 1}},
					map[string]any{"enabled": false, "pairingDisabled": false, "fido2PolicyId": nil, "failure": map[string]any{"count": 1, "coolDown": defaults["coolDown"]}}},
			}
			for i, tc := range good {
				t.Run(tc.name, func(t *testing.T) {
					body := policyBody(fmt.Sprintf("Good %d", i))
					delete(body, "fido2")
					if tc.sent != nil {
						body["fido2"] = tc.sent
					}
					p := c.ok(t, "POST", "/deviceAuthenticationPolicies", body, http.StatusCreated)
					if !cfgSameJSON(p["fido2"], tc.want) {
						t.Errorf("fido2 = %v, want %v", p["fido2"], tc.want)
					}
					// A PUT of what GET returned keeps it.
					id := p["id"].(string)
					got := c.ok(t, "GET", "/deviceAuthenticationPolicies/"+id, nil, http.StatusOK)
					if again := c.ok(t, "PUT", "/deviceAuthenticationPolicies/"+id, got, http.StatusOK); !cfgSameJSON(again["fido2"], tc.want) {
						t.Errorf("fido2 after a PUT of GET = %v, want %v", again["fido2"], tc.want)
					}
				})
			}
			bad := []struct {
				v any
				w wantErr
			}{
				{map[string]any{"pairingDisabled": false}, cfgRequired("fido2.enabled")},
				{map[string]any{"enabled": true, "failure": map[string]any{"count": 8}}, cfgBadValue("fido2.failure.count")},
				{map[string]any{"enabled": true, "failure": map[string]any{"count": 0}}, cfgBadValue("fido2.failure.count")},
				{map[string]any{"enabled": true, "failure": map[string]any{"coolDown": map[string]any{"duration": 1, "timeUnit": "MINUTES"}}}, cfgBadValue("fido2.failure.coolDown.duration")},
				{map[string]any{"enabled": true, "failure": map[string]any{"coolDown": map[string]any{"duration": 31, "timeUnit": "MINUTES"}}}, cfgBadValue("fido2.failure.coolDown.duration")},
				{map[string]any{"enabled": true, "failure": map[string]any{"coolDown": map[string]any{"duration": 119, "timeUnit": "SECONDS"}}}, cfgBadValue("fido2.failure.coolDown.duration")},
				{map[string]any{"enabled": true, "failure": map[string]any{"coolDown": map[string]any{"duration": 2, "timeUnit": "DAYS"}}}, cfgBadValue("fido2.failure.coolDown.timeUnit")},
				{map[string]any{"enabled": true, "failure": map[string]any{"coolDown": map[string]any{"duration": 2}}}, cfgRequired("fido2.failure.coolDown.timeUnit")},
				{map[string]any{"enabled": true, "fido2PolicyId": ""}, cfgBadValue("fido2.fido2PolicyId")},
				{map[string]any{"enabled": true, "fido2PolicyId": 12}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "fido2.fido2PolicyId"}},
				{map[string]any{"enabled": "yes"}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "fido2.enabled"}},
				{[]any{}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "fido2"}},
			}
			before := len(c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies"))
			for _, tc := range bad {
				t.Run(fmt.Sprintf("%v", tc.v), func(t *testing.T) {
					body := policyBody("Refused")
					body["fido2"] = tc.v
					c.fail(t, "POST", "/deviceAuthenticationPolicies", body, tc.w)
				})
			}
			if after := len(c.list(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies")); after != before {
				t.Errorf("%d policies after refused requests, want %d", after, before)
			}
		})
	}
}

// Who may read and write FIDO2 policies: the configuration permissions,
// as for device authentication policies. Nothing a refused actor sends is
// written.
func TestFIDO2PolicyRoles(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	c := newCfgAPI(t, s, "FIDO2 roles")
	ro := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, c.env}))
	ida := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, c.env}))
	admin := s.Token(t, s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, c.env}))
	keys := c.named(t, "/fido2Policies", "fido2Policies", "Security Keys")["id"].(string)
	pols := c.url("/fido2Policies")
	forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	cases := []struct {
		name string
		req  apptest.Request
		want wantErr
	}{
		{"read only lists", apptest.Request{Method: "GET", URL: pols, Token: ro}, wantErr{status: 200}},
		{"read only reads", apptest.Request{Method: "GET", URL: pols + "/" + keys, Token: ro}, wantErr{status: 200}},
		{"read only creates", apptest.Request{Method: "POST", URL: pols, Token: ro, Body: fido2Body("RO")}, forbidden},
		{"read only updates", apptest.Request{Method: "PUT", URL: pols + "/" + keys, Token: ro, Body: fido2Body("RO")}, forbidden},
		{"read only deletes", apptest.Request{Method: "DELETE", URL: pols + "/" + keys, Token: ro}, forbidden},
		{"identity data admin lists", apptest.Request{Method: "GET", URL: pols, Token: ida}, forbidden},
		{"identity data admin reads", apptest.Request{Method: "GET", URL: pols + "/" + keys, Token: ida}, forbidden},
		{"no token", apptest.Request{Method: "GET", URL: pols}, wantErr{http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN", ""}},
		{"environment admin creates", apptest.Request{Method: "POST", URL: pols, Token: admin, Body: fido2Body("Admin's")}, wantErr{status: 201}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkAnswer(t, doNo5xx(t, s, tc.req), tc.want) })
	}
	if got := cfgNames(c.list(t, "/fido2Policies", "fido2Policies")); strings.Join(got, ",") != "Admin's,Passkeys,Security Keys" {
		t.Errorf("policies = %v, want the two defaults and the admin's", got)
	}
}

// Concurrent "make this the default" writes: each is answered 201 and one
// default remains.
func TestFIDO2PolicyConcurrentDefaults(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Concurrent FIDO2 defaults")
			const n = 6
			codes := make([]int, n)
			bodies := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					r := c.do(t, "POST", "/fido2Policies", withPath(fido2Minimal(fmt.Sprintf("Default %d", i)), "default", true))
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
			for _, p := range c.list(t, "/fido2Policies", "fido2Policies") {
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
