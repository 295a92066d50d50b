package mgmt_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func TestSignOnPolicyLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSignOnPolicyLifecycle(t, newCfgAPI(t, s, "Sign-on policies"))
		})
	}
}

func testSignOnPolicyLifecycle(t *testing.T, c cfgAPI) {
	base := c.s.APIPath + "/environments/" + c.env + "/signOnPolicies"
	single := c.named(t, "/signOnPolicies", "signOnPolicies", "Single_Factor")

	// PingOne's example sends "default": "false" as a string; PingOne's
	// API coerces it, so does Gatehouse.
	created := c.ok(t, "POST", "/signOnPolicies", golden(t, "signOnPolicies.create.request.json"), http.StatusCreated)
	id := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	wantFields(t, created, map[string]any{"name": "Simple_Login", "description": "A new basic sign-on policy.", "default": false,
		"environment.id": c.env, "_links.self.href": base + "/" + id, "_links.actions.href": base + "/" + id + "/actions"})
	if got := c.ok(t, "GET", "/signOnPolicies/"+id, nil, http.StatusOK); !cfgSameJSON(got, created) {
		t.Errorf("GET differs from POST: %v", got)
	}
	c.fail(t, "POST", "/signOnPolicies", map[string]any{"name": "simple_login"}, cfgNotUnique("name"))
	c.ok(t, "POST", "/signOnPolicies", map[string]any{"name": "urn:example:policy"}, http.StatusCreated)

	// A new policy has no actions; actions list by priority.
	if acts := c.list(t, "/signOnPolicies/"+id+"/actions", "actions"); len(acts) != 0 {
		t.Errorf("actions of a new policy: %v", acts)
	}
	acts := "/signOnPolicies/" + id + "/actions"
	pop := c.list(t, "/populations", "populations")[0]["id"].(string)
	idp := newIDP(t, c.s, c.env, "Upstream")

	// The IDENTITY_PROVIDER example, placeholders filled; its condition
	// comes back exactly as sent.
	raw, err := os.ReadFile("testdata/signOnPolicies.actions.identityProvider.create.request.json")
	if err != nil {
		t.Fatal(err)
	}
	exampleBody := strings.NewReplacer("{{idpID}}", idp, "{{popID}}", pop).Replace(string(raw))
	var example map[string]any
	json.Unmarshal([]byte(exampleBody), &example)
	idpAction := c.ok(t, "POST", acts, exampleBody, http.StatusCreated)
	idpActionID := checkID(t, idpAction, "id")
	wantFields(t, idpAction, map[string]any{"type": "IDENTITY_PROVIDER", "priority": 10, "identityProvider.id": idp, "passUserContext": true,
		"registration":    map[string]any{"enabled": true, "confirmIdentityProviderAttributes": true, "population": map[string]any{"id": pop}},
		"signOnPolicy.id": id, "environment.id": c.env, "_links.self.href": base + "/" + id + "/actions/" + idpActionID,
		"recovery": nil, "socialProviders": nil})
	if !cfgSameJSON(idpAction["condition"], example["condition"]) {
		t.Errorf("condition = %v, sent %v", idpAction["condition"], example["condition"])
	}

	login := c.ok(t, "POST", acts, map[string]any{"type": "LOGIN", "priority": 1, "socialProviders": []map[string]any{{"id": idp}}}, http.StatusCreated)
	wantFields(t, login, map[string]any{"type": "LOGIN", "priority": 1, "recovery.enabled": true, "registration.enabled": false,
		"socialProviders": []map[string]any{{"id": idp}}, "condition": nil})
	mfaBody := map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 5, "noDevicesMode": "BYPASS",
		"deviceAuthenticationPolicy": map[string]any{"id": c.named(t, "/deviceAuthenticationPolicies", "deviceAuthenticationPolicies", "Default MFA Policy")["id"]},
		"condition":                  map[string]any{"or": []any{map[string]any{"ipRange": []string{"10.0.0.0/8"}, "contains": "${flow.request.http.remoteIp}"}}},
		"applications":               []any{map[string]any{"id": uuid.NewString(), "autoEnrollment": map[string]any{"enabled": true}}}}
	// The policy an MFA action names must be one of the environment's.
	unknown := map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 5, "deviceAuthenticationPolicy": map[string]any{"id": uuid.NewString()}}
	c.fail(t, "POST", acts, unknown, wantErr{http.StatusBadRequest, "INVALID_DATA", "INVALID_VALUE", "deviceAuthenticationPolicy.id"})
	unknown["deviceAuthenticationPolicy"] = map[string]any{}
	c.fail(t, "POST", acts, unknown, wantErr{http.StatusBadRequest, "INVALID_DATA", "REQUIRED_VALUE", "deviceAuthenticationPolicy.id"})
	mfa := c.ok(t, "POST", acts, mfaBody, http.StatusCreated)
	for _, k := range []string{"noDevicesMode", "deviceAuthenticationPolicy", "condition", "applications"} {
		if !cfgSameJSON(mfa[k], mfaBody[k]) {
			t.Errorf("MFA %s = %v, sent %v", k, mfa[k], mfaBody[k])
		}
	}
	var prios []float64
	for _, a := range c.list(t, acts, "actions") {
		prios = append(prios, a["priority"].(float64))
	}
	if !slices.Equal(prios, []float64{1, 5, 10}) {
		t.Errorf("priorities = %v, want 1 5 10 in order", prios)
	}

	// Priorities are unique within a policy; another policy may reuse them.
	c.fail(t, "POST", acts, map[string]any{"type": "LOGIN", "priority": 5}, cfgNotUnique("priority"))
	c.ok(t, "POST", "/signOnPolicies/"+single["id"].(string)+"/actions", map[string]any{"type": "AGREEMENT", "priority": 5,
		"agreement": map[string]any{"id": actionAgreement(t, c.s, c.env)}}, http.StatusCreated)
	// PingOne's example of a fractional priority.
	r := c.do(t, "POST", acts, `{"type":"LOGIN","priority":1.5}`)
	m := checkAnswer(t, r, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "priority"})
	g := golden(t, "error.400.invalid_value.json")
	wantFields(t, m, map[string]any{"code": g["code"], "message": g["message"]})

	// PUT replaces the action, read-only fields echoed back; it may change
	// the type, and the old type's fields go.
	put := c.ok(t, "PUT", acts+"/"+login["id"].(string), cfgEcho(login, map[string]any{"type": "IDENTIFIER_FIRST", "priority": 2,
		"socialProviders": nil, "recovery": map[string]any{"enabled": false},
		"discoveryRules": []any{map[string]any{"condition": map[string]any{"contains": "${user.username}", "value": "@example.com"},
			"identityProvider": map[string]any{"id": idp}}}}), http.StatusOK)
	wantFields(t, put, map[string]any{"id": login["id"], "type": "IDENTIFIER_FIRST", "priority": 2, "recovery.enabled": false,
		"socialProviders": nil, "discoveryRules": []any{map[string]any{"condition": map[string]any{"contains": "${user.username}", "value": "@example.com"},
			"identityProvider": map[string]any{"id": idp}}}})
	// Keeping its own priority is not a clash.
	c.ok(t, "PUT", acts+"/"+login["id"].(string), cfgEcho(put, nil), http.StatusOK)
	c.fail(t, "PUT", acts+"/"+login["id"].(string), cfgEcho(put, map[string]any{"priority": 10}), cfgNotUnique("priority"))

	c.ok(t, "DELETE", acts+"/"+mfa["id"].(string), nil, http.StatusNoContent)
	c.fail(t, "GET", acts+"/"+mfa["id"].(string), nil, cfgNotFound)
	if got := c.list(t, acts, "actions"); len(got) != 2 {
		t.Errorf("actions after delete: %d", len(got))
	}

	// The default moves; the default cannot be deleted.
	pput := c.ok(t, "PUT", "/signOnPolicies/"+id, cfgEcho(created, map[string]any{"default": true, "description": nil}), http.StatusOK)
	wantFields(t, pput, map[string]any{"default": true, "description": nil, "createdAt": created["createdAt"]})
	wantFields(t, c.ok(t, "GET", "/signOnPolicies/"+single["id"].(string), nil, http.StatusOK), map[string]any{"default": false})
	c.fail(t, "DELETE", "/signOnPolicies/"+id, nil, cfgRequestFailed)
	c.ok(t, "DELETE", "/signOnPolicies/"+single["id"].(string), nil, http.StatusNoContent)
	c.fail(t, "GET", "/signOnPolicies/"+single["id"].(string)+"/actions", nil, cfgNotFound)
	if got := cfgNames(c.list(t, "/signOnPolicies", "signOnPolicies")); !slices.Equal(got, []string{"Multi_Factor", "Simple_Login", "urn:example:policy"}) {
		t.Errorf("policies = %v", got)
	}
}

func TestSignOnPolicyBadInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Bad sign-on policies")
			other := newCfgAPI(t, s, "Other")
			pol := c.named(t, "/signOnPolicies", "signOnPolicies", "Multi_Factor")["id"].(string)
			acts := "/signOnPolicies/" + pol + "/actions"
			foreignPol := other.named(t, "/signOnPolicies", "signOnPolicies", "Single_Factor")["id"].(string)
			foreignAct := other.list(t, "/signOnPolicies/"+foreignPol+"/actions", "actions")[0]["id"].(string)
			foreignPop := other.list(t, "/populations", "populations")[0]["id"].(string)
			defineAttributes(t, s, c.env, wire.AttrString, false, "shoeColour")
			defineAttributes(t, s, c.env, wire.AttrJSON, false, "preferences")
			defineAttributes(t, s, c.env, wire.AttrString, true, "tags")
			defineAttributes(t, s, other.env, wire.AttrString, false, "otherColour")
			before := adminGet(t, s, c.url(acts))
			cases := []struct {
				name   string
				method string
				path   string
				body   any
				want   wantErr
				check  func(t *testing.T, m map[string]any)
			}{
				{"policy without name", "POST", "/signOnPolicies", map[string]any{"description": "x"}, cfgRequired("name"), nil},
				{"policy name with a space", "POST", "/signOnPolicies", map[string]any{"name": "My Policy"}, cfgBadValue("name"),
					func(t *testing.T, m map[string]any) {
						if innerOf(t, detailAt(t, m, 0))["allowedPattern"] == nil {
							t.Error("no allowedPattern")
						}
					}},
				{"policy name a relative URI", "POST", "/signOnPolicies", map[string]any{"name": "a:b c"}, cfgBadValue("name"), nil},
				{"default not a boolean", "POST", "/signOnPolicies", map[string]any{"name": "x", "default": "maybe"},
					wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "default"}, nil},
				{"action without type", "POST", acts, map[string]any{"priority": 3}, cfgRequired("type"), nil},
				{"action of an unknown type", "POST", acts, map[string]any{"type": "MAGIC", "priority": 3}, cfgBadValue("type"),
					func(t *testing.T, m map[string]any) {
						cfgWantAllowed(t, m, "LOGIN", "IDENTIFIER_FIRST", "IDENTITY_PROVIDER", "MULTI_FACTOR_AUTHENTICATION", "PROGRESSIVE_PROFILING", "AGREEMENT")
					}},
				{"action without priority", "POST", acts, map[string]any{"type": "LOGIN"}, cfgRequired("priority"), nil},
				{"priority 0", "POST", acts, map[string]any{"type": "LOGIN", "priority": 0}, cfgBadValue("priority"),
					func(t *testing.T, m map[string]any) { cfgWantRange(t, m, 1, 2147483647) }},
				{"priority a string", "POST", acts, map[string]any{"type": "LOGIN", "priority": "3"}, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "priority"}, nil},
				{"priority taken", "POST", acts, map[string]any{"type": "LOGIN", "priority": 1}, cfgNotUnique("priority"), nil},
				{"condition not an object", "POST", acts, map[string]any{"type": "LOGIN", "priority": 3, "condition": []int{1}}, cfgBadValue("condition"), nil},
				{"recovery without enabled", "POST", acts, map[string]any{"type": "LOGIN", "priority": 3, "recovery": map[string]any{}}, cfgRequired("recovery.enabled"), nil},
				{"registration without population", "POST", acts, map[string]any{"type": "LOGIN", "priority": 3, "registration": map[string]any{"enabled": true}},
					cfgRequired("registration.population.id"), nil},
				{"registration into another environment's population", "POST", acts, map[string]any{"type": "LOGIN", "priority": 3,
					"registration": map[string]any{"enabled": true, "population": map[string]any{"id": foreignPop}}}, cfgBadValue("registration.population.id"), nil},
				{"social provider without id", "POST", acts, map[string]any{"type": "LOGIN", "priority": 3, "socialProviders": []any{map[string]any{}}},
					cfgRequired("socialProviders[0].id"), nil},
				{"identity provider action without provider", "POST", acts, map[string]any{"type": "IDENTITY_PROVIDER", "priority": 3}, cfgRequired("identityProvider.id"), nil},
				{"discovery rule without value", "POST", acts, map[string]any{"type": "IDENTIFIER_FIRST", "priority": 3,
					"discoveryRules": []any{map[string]any{"condition": map[string]any{"contains": "${user.username}"}, "identityProvider": map[string]any{"id": "x"}}}},
					cfgRequired("discoveryRules[0].condition.value"), nil},
				{"MFA with an unknown no-devices mode", "POST", acts, map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 3, "noDevicesMode": "ALLOW"},
					cfgBadValue("noDevicesMode"), func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "BYPASS", "BLOCK") }},
				{"progressive profiling without its fields", "POST", acts, map[string]any{"type": "PROGRESSIVE_PROFILING", "priority": 3}, cfgRequired("attributes"),
					func(t *testing.T, m map[string]any) {
						var targets []string
						for _, d := range m["details"].([]any) {
							targets = append(targets, d.(map[string]any)["target"].(string))
						}
						if !slices.Equal(targets, []string{"attributes", "preventMultiplePromptsPerFlow", "promptIntervalSeconds", "promptText"}) {
							t.Errorf("targets = %v", targets)
						}
					}},
				{"progressive profiling of a core attribute", "POST", acts, profilingBody(map[string]any{"name": "username", "required": true}),
					cfgBadValue("attributes[0].name"), func(t *testing.T, m map[string]any) {
						got := strList(innerOf(t, detailAt(t, m, 0))["allowedValues"])
						for _, want := range []string{"email", "name.given", "mobilePhone", "nickname", "shoeColour"} {
							if !slices.Contains(got, want) {
								t.Errorf("allowedValues %v lack %s", got, want)
							}
						}
						for _, not := range []string{"username", "id", "preferences", "tags"} {
							if slices.Contains(got, not) {
								t.Errorf("allowedValues %v hold %s", got, not)
							}
						}
					}},
				{"progressive profiling of a JSON attribute", "POST", acts, profilingBody(map[string]any{"name": "preferences", "required": false}),
					cfgBadValue("attributes[0].name"), nil},
				{"progressive profiling of a multi-valued attribute", "POST", acts, profilingBody(map[string]any{"name": "tags", "required": false}),
					cfgBadValue("attributes[0].name"), nil},
				{"progressive profiling of an unknown attribute", "POST", acts, profilingBody(map[string]any{"name": "shoeSize", "required": false}),
					cfgBadValue("attributes[0].name"), nil},
				{"progressive profiling of an attribute twice", "POST", acts, profilingBody(map[string]any{"name": "nickname", "required": false},
					map[string]any{"name": "nickname", "required": true}), cfgBadValue("attributes[1].name"), nil},
				{"progressive profiling of another environment's attribute", "POST", acts, profilingBody(map[string]any{"name": "otherColour", "required": false}),
					cfgBadValue("attributes[0].name"), nil},
				{"agreement without agreement", "POST", acts, map[string]any{"type": "AGREEMENT", "priority": 3}, cfgRequired("agreement.id"), nil},
				{"agreement unknown", "POST", acts, map[string]any{"type": "AGREEMENT", "priority": 3, "agreement": map[string]any{"id": uuid.NewString()}},
					cfgBadValue("agreement.id"), nil},
				{"another environment's agreement", "POST", acts, map[string]any{"type": "AGREEMENT", "priority": 3,
					"agreement": map[string]any{"id": actionAgreement(t, s, other.env)}}, cfgBadValue("agreement.id"), nil},
				{"unknown policy", "GET", "/signOnPolicies/" + uuid.NewString(), nil, cfgNotFound, nil},
				{"another environment's policy", "GET", "/signOnPolicies/" + foreignPol, nil, cfgNotFound, nil},
				{"actions of another environment's policy", "GET", "/signOnPolicies/" + foreignPol + "/actions", nil, cfgNotFound, nil},
				{"another environment's action under this policy", "GET", acts + "/" + foreignAct, nil, cfgNotFound, nil},
				{"PUT another environment's action", "PUT", acts + "/" + foreignAct, map[string]any{"type": "LOGIN", "priority": 9}, cfgNotFound, nil},
				{"DELETE another environment's action", "DELETE", "/signOnPolicies/" + foreignPol + "/actions/" + foreignAct, nil, cfgNotFound, nil},
				{"DELETE another environment's policy", "DELETE", "/signOnPolicies/" + foreignPol, nil, cfgNotFound, nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.check != nil {
						tc.check(t, m)
					}
				})
			}
			if after := adminGet(t, s, c.url(acts)); string(after) != string(before) {
				t.Errorf("refused requests changed the actions:\n%s\n%s", before, after)
			}
			if n := len(other.list(t, "/signOnPolicies/"+foreignPol+"/actions", "actions")); n != 1 {
				t.Errorf("the other environment's policy has %d actions", n)
			}
			// At most 20 actions per policy.
			ag := actionAgreement(t, s, c.env)
			for p := 3; p <= 20; p++ {
				c.ok(t, "POST", acts, map[string]any{"type": "AGREEMENT", "priority": p, "agreement": map[string]any{"id": ag}}, http.StatusCreated)
			}
			c.fail(t, "POST", acts, map[string]any{"type": "LOGIN", "priority": 21}, wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "priority"})
		})
	}
}

// profilingBody is a PROGRESSIVE_PROFILING action asking for attrs.
func profilingBody(attrs ...map[string]any) map[string]any {
	return map[string]any{"type": "PROGRESSIVE_PROFILING", "priority": 3, "attributes": attrs,
		"preventMultiplePromptsPerFlow": true, "promptIntervalSeconds": 60, "promptText": "More, please."}
}
