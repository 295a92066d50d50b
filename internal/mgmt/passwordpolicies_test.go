package mgmt_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func TestPasswordPolicyLifecycleAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testPasswordPolicyLifecycle(t, newCfgAPI(t, s, "Password policies"))
		})
	}
}

func testPasswordPolicyLifecycle(t *testing.T, c cfgAPI) {
	base := c.s.APIPath + "/environments/" + c.env + "/passwordPolicies"
	std := c.named(t, "/passwordPolicies", "passwordPolicies", "Standard")
	stdID := std["id"].(string)
	wantFields(t, std, map[string]any{"default": true, "populationCount": 1})

	// PingOne's own example: the body sent with minAgeDays 1.5 comes back
	// as the whole policy with minAgeDays 1.
	req := golden(t, "passwordPolicies.floatCoercion.request.json")
	want := golden(t, "passwordPolicies.floatCoercion.response.json")
	put := c.ok(t, "PUT", "/passwordPolicies/"+stdID, req, http.StatusOK)
	for _, k := range keysOf(want) {
		switch k {
		case "_links", "id", "environment":
			continue
		}
		if !cfgSameJSON(put[k], want[k]) {
			t.Errorf("%s = %v, PingOne answers %v", k, put[k], want[k])
		}
	}
	wantFields(t, put, map[string]any{"id": stdID, "environment.id": c.env, "_links.self.href": base + "/" + stdID,
		"_links.environment.href": c.s.APIPath + "/environments/" + c.env, "populationCount": 1, "createdAt": std["createdAt"]})

	// Create with PingOne's request, renamed, as the default: the flag moves.
	req["name"] = "Strict"
	req["length"] = map[string]any{"min": 12.9, "max": 64}
	created := c.ok(t, "POST", "/passwordPolicies", req, http.StatusCreated)
	strictID := checkID(t, created, "id")
	checkTime(t, created, "createdAt")
	wantFields(t, created, map[string]any{"name": "Strict", "default": true, "minAgeDays": 1, "length": map[string]any{"min": 12, "max": 64},
		"populationCount": 0, "bypassPolicy": nil})
	var defaults []string
	for _, p := range c.list(t, "/passwordPolicies", "passwordPolicies") {
		if p["default"] == true {
			defaults = append(defaults, p["name"].(string))
		}
	}
	if !slices.Equal(defaults, []string{"Strict"}) {
		t.Errorf("defaults = %v, want only Strict", defaults)
	}

	// PUT replaces: rules left out are gone; default:false on the default
	// does not leave the environment without one.
	got := c.ok(t, "GET", "/passwordPolicies/"+strictID, nil, http.StatusOK)
	put2 := c.ok(t, "PUT", "/passwordPolicies/"+strictID, cfgEcho(got, map[string]any{"history": nil, "minCharacters": nil, "default": false,
		"alphabetSequenceRule": map[string]any{"maxLength": 3}}), http.StatusOK)
	wantFields(t, put2, map[string]any{"history": nil, "minCharacters": nil, "default": true, "alphabetSequenceRule.maxLength": 3,
		"lockout.failureCount": 5, "createdAt": created["createdAt"]})

	// The default cannot be deleted (PingOne's Terraform provider matches
	// the detail's message), nor can a policy a population uses.
	m := c.fail(t, "DELETE", "/passwordPolicies/"+strictID, nil, wantErr{400, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	if msg := detailAt(t, m, 0)["message"]; msg != "Default Password Policy can not be deleted." {
		t.Errorf("detail message = %v", msg)
	}
	c.fail(t, "DELETE", "/passwordPolicies/"+stdID, nil, wantErr{400, "REQUEST_FAILED", "CONSTRAINT_VIOLATION", ""})
	basic := c.named(t, "/passwordPolicies", "passwordPolicies", "Basic")
	c.ok(t, "DELETE", "/passwordPolicies/"+basic["id"].(string), nil, http.StatusNoContent)
	c.fail(t, "GET", "/passwordPolicies/"+basic["id"].(string), nil, cfgNotFound)
	if got := cfgNames(c.list(t, "/passwordPolicies", "passwordPolicies")); !slices.Equal(got, []string{"Passphrase", "Standard", "Strict"}) {
		t.Errorf("policies = %v", got)
	}
	// Once no population uses it, the old default can go.
	pops := c.list(t, "/populations", "populations")
	c.ok(t, "PUT", "/populations/"+pops[0]["id"].(string), cfgEcho(pops[0], map[string]any{"passwordPolicy": map[string]any{"id": strictID}}), http.StatusOK)
	wantFields(t, c.ok(t, "GET", "/passwordPolicies/"+strictID, nil, http.StatusOK), map[string]any{"populationCount": 1})
	c.ok(t, "DELETE", "/passwordPolicies/"+stdID, nil, http.StatusNoContent)
}

func TestPasswordPolicyBadInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Bad password policies")
			other := newCfgAPI(t, s, "Other")
			foreign := other.named(t, "/passwordPolicies", "passwordPolicies", "Basic")["id"].(string)
			before := adminGet(t, s, c.url("/passwordPolicies"))
			body := func(changes map[string]any) map[string]any {
				return cfgEcho(map[string]any{"name": "P", "excludesCommonlyUsed": true, "excludesProfileData": true, "notSimilarToCurrent": false,
					"length": map[string]any{"min": 8, "max": 255}}, changes)
			}
			const i32 = 2147483647
			cases := []struct {
				name     string
				method   string
				path     string
				body     any
				want     wantErr
				min, max float64 // the innerError range, when set
			}{
				{"missing name", "POST", "/passwordPolicies", body(map[string]any{"name": nil}), cfgRequired("name"), 0, 0},
				{"duplicate name", "POST", "/passwordPolicies", body(map[string]any{"name": "standard"}), cfgNotUnique("name"), 0, 0},
				{"missing excludesCommonlyUsed", "POST", "/passwordPolicies", body(map[string]any{"excludesCommonlyUsed": nil}), cfgRequired("excludesCommonlyUsed"), 0, 0},
				{"missing notSimilarToCurrent", "POST", "/passwordPolicies", body(map[string]any{"notSimilarToCurrent": nil}), cfgRequired("notSimilarToCurrent"), 0, 0},
				{"length.min too small", "POST", "/passwordPolicies", body(map[string]any{"length": map[string]any{"min": 7}}), cfgBadValue("length.min"), 8, 32},
				{"length.min too large", "POST", "/passwordPolicies", body(map[string]any{"length": map[string]any{"min": 33}}), cfgBadValue("length.min"), 8, 32},
				{"length.max too large", "POST", "/passwordPolicies", body(map[string]any{"length": map[string]any{"min": 8, "max": 256}}), cfgBadValue("length.max"), 8, 255},
				{"length.max below min", "POST", "/passwordPolicies", body(map[string]any{"length": map[string]any{"min": 20, "max": 10}}), cfgBadValue("length.max"), 20, 255},
				{"length without min", "POST", "/passwordPolicies", body(map[string]any{"length": map[string]any{"max": 100}}), cfgRequired("length.min"), 0, 0},
				{"lockout.failureCount 0", "POST", "/passwordPolicies", body(map[string]any{"lockout": map[string]any{"failureCount": 0, "durationSeconds": 60}}), cfgBadValue("lockout.failureCount"), 1, i32},
				{"lockout.durationSeconds 0", "POST", "/passwordPolicies", body(map[string]any{"lockout": map[string]any{"failureCount": 3, "durationSeconds": 0.5}}), cfgBadValue("lockout.durationSeconds"), 1, i32},
				{"history.count 0", "POST", "/passwordPolicies", body(map[string]any{"history": map[string]any{"count": 0, "retentionDays": 1}}), cfgBadValue("history.count"), 1, i32},
				{"history without retention", "POST", "/passwordPolicies", body(map[string]any{"history": map[string]any{"count": 3}}), cfgRequired("history.retentionDays"), 0, 0},
				{"minAgeDays 0", "POST", "/passwordPolicies", body(map[string]any{"minAgeDays": 0}), cfgBadValue("minAgeDays"), 1, i32},
				{"maxAgeDays within the warning window", "POST", "/passwordPolicies", body(map[string]any{"minAgeDays": 1, "maxAgeDays": 22}), cfgBadValue("maxAgeDays"), 23, i32},
				{"maxRepeatedCharacters 3", "POST", "/passwordPolicies", body(map[string]any{"maxRepeatedCharacters": 3}), cfgBadValue("maxRepeatedCharacters"), 2, 2},
				{"minUniqueCharacters 4", "POST", "/passwordPolicies", body(map[string]any{"minUniqueCharacters": 4}), cfgBadValue("minUniqueCharacters"), 5, 5},
				{"minComplexity 8", "POST", "/passwordPolicies", body(map[string]any{"minComplexity": 8}), cfgBadValue("minComplexity"), 7, 7},
				{"alphabet rule 4", "POST", "/passwordPolicies", body(map[string]any{"alphabetSequenceRule": map[string]any{"maxLength": 4}}), cfgBadValue("alphabetSequenceRule.maxLength"), 2, 3},
				{"qwerty rule 2", "POST", "/passwordPolicies", body(map[string]any{"qwertySequenceRule": map[string]any{"maxLength": 2}}), cfgBadValue("qwertySequenceRule.maxLength"), 3, 3},
				{"minCharacters unknown set", "POST", "/passwordPolicies", body(map[string]any{"minCharacters": map[string]any{"xyz": 1}}), cfgBadValue("minCharacters"), 0, 0},
				{"minAgeDays a string", "POST", "/passwordPolicies", body(map[string]any{"minAgeDays": "1"}), wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "minAgeDays"}, 0, 0},
				{"history.count a boolean", "POST", "/passwordPolicies", body(map[string]any{"history": map[string]any{"count": true, "retentionDays": 1}}),
					wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "history.count"}, 0, 0},
				{"unknown policy", "GET", "/passwordPolicies/" + uuid.NewString(), nil, cfgNotFound, 0, 0},
				{"another environment's policy", "GET", "/passwordPolicies/" + foreign, nil, cfgNotFound, 0, 0},
				{"PUT another environment's policy", "PUT", "/passwordPolicies/" + foreign, body(nil), cfgNotFound, 0, 0},
				{"DELETE another environment's policy", "DELETE", "/passwordPolicies/" + foreign, nil, cfgNotFound, 0, 0},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.max != 0 {
						cfgWantRange(t, m, tc.min, tc.max)
					}
				})
			}
			m := c.fail(t, "POST", "/passwordPolicies", body(map[string]any{"minCharacters": map[string]any{"xyz": 1}}), cfgBadValue("minCharacters"))
			cfgWantAllowed(t, m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789", "~!@#$%^&*()-_=+[]{}|;:,.<>/?")
			// Several faults answer together.
			m = c.fail(t, "POST", "/passwordPolicies", map[string]any{"length": map[string]any{"min": 1}}, cfgRequired("name"))
			if ds := m["details"].([]any); len(ds) != 5 {
				t.Errorf("details = %v, want name, three flags and length.min", ds)
			}
			if after := adminGet(t, s, c.url("/passwordPolicies")); string(after) != string(before) {
				t.Errorf("refused requests changed the policies:\n%s\n%s", before, after)
			}
		})
	}
}
