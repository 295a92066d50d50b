package mgmt_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// policyID is the id of envID's password policy of that name.
func policyID(t *testing.T, s *apptest.Server, envID, name string) string {
	t.Helper()
	items, _ := listAll(t, s, s.AdminToken(t), s.APIPath+"/environments/"+envID+"/passwordPolicies", "passwordPolicies")
	for _, it := range items {
		if it["name"] == name {
			return it["id"].(string)
		}
	}
	t.Fatalf("no password policy %s", name)
	return ""
}

// A population as PingOne's Terraform provider writes it (every optional
// member set, then PUTs that leave them out): what a PUT leaves out is
// reset, the default moves only to a population made the default, and
// the response always carries what PingOne always returns.
func TestPopulationPutAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env := newEnv(t, s, "Population PUT", "SANDBOX")
			tok := s.AdminToken(t)
			pops := "/environments/" + env + "/populations"
			envHref := s.APIPath + "/environments/" + env
			basic := policyID(t, s, env, "Basic")
			defTheme := defaultThemeID(t, s, env)
			focus := themeCreate(t, s, env, tfTheme("focus", "Focus"))["id"].(string)

			full := map[string]any{"name": "Contractors", "description": "People on contract", "passwordPolicy": map[string]any{"id": basic},
				"preferredLanguage": "fr", "theme": map[string]any{"id": focus}, "alternativeIdentifiers": []string{"contract", "temps"}}
			created := must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pops, Token: tok, Body: full}), http.StatusCreated)
			id := checkID(t, created, "id")
			checkTime(t, created, "createdAt")
			checkTime(t, created, "updatedAt")
			wantFields(t, created, map[string]any{"name": "Contractors", "description": "People on contract", "passwordPolicy.id": basic,
				"preferredLanguage": "fr", "theme.id": focus, "alternativeIdentifiers": []string{"contract", "temps"}, "default": false,
				"userCount": 0, "environment.id": env, "_links.self.href": envHref + "/populations/" + id,
				"_links.environment.href": envHref, "_links.passwordPolicy.href": envHref + "/passwordPolicies/" + basic,
				"_links.theme.href": envHref + "/themes/" + focus})
			self := pops + "/" + id

			// PUT replaces: left out, the optional members reset to PingOne's
			// defaults (no description, password policy or identifiers; "en";
			// the environment's default theme).
			put := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: self, Token: tok, Body: map[string]any{"name": "Contractors"}}), http.StatusOK)
			for _, gone := range []string{"description", "passwordPolicy", "alternativeIdentifiers"} {
				if _, ok := put[gone]; ok {
					t.Errorf("a PUT without %s answered %s = %v", gone, gone, put[gone])
				}
			}
			if _, ok := get(put, "_links").(map[string]any)["passwordPolicy"]; ok {
				t.Errorf("a PUT without a password policy kept its link")
			}
			wantFields(t, put, map[string]any{"preferredLanguage": "en", "theme.id": defTheme, "_links.theme.href": envHref + "/themes/" + defTheme,
				"default": false, "createdAt": created["createdAt"]})
			putJSON, _ := json.Marshal(put)
			brandingSameJSON(t, "GET after PUT", adminGet(t, s, self), string(putJSON))

			// default:true makes it the default, the old one loses the flag;
			// default:false on the default changes nothing (an environment
			// always has one).
			oldDefault := ""
			items, _ := listAll(t, s, tok, s.APIPath+pops, "populations")
			for _, it := range items {
				if it["default"] == true {
					oldDefault = it["id"].(string)
				}
			}
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: self, Token: tok, Body: map[string]any{"name": "Contractors", "default": true}}), http.StatusOK)
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: self, Token: tok, Body: map[string]any{"name": "Contractors", "default": false}}), http.StatusOK)
			for popID, want := range map[string]bool{id: true, oldDefault: false} {
				if got := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: pops + "/" + popID, Token: tok}), http.StatusOK)["default"]; got != want {
					t.Errorf("population %s default = %v, want %v", popID, got, want)
				}
			}
		})
	}
}

func TestPopulationFieldErrors(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			env, other := newEnv(t, s, "Population errors", "SANDBOX"), newEnv(t, s, "Population errors elsewhere", "SANDBOX")
			tok := s.AdminToken(t)
			pops := "/environments/" + env + "/populations"
			id := newPop(t, s, env, "Target")
			newPop(t, s, env, "Taken")
			foreignPolicy := policyID(t, s, other, "Standard")
			cases := []struct {
				name string
				body any
				want wantErr
			}{
				{"a blank name", map[string]any{"name": "  "}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "name"}},
				{"a name of 257 characters", map[string]any{"name": strings.Repeat("n", 257)}, wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "name"}},
				{"a description of 1025 characters", map[string]any{"name": "Target", "description": strings.Repeat("d", 1025)},
					wantErr{400, "INVALID_DATA", "SIZE_LIMIT_EXCEEDED", "description"}},
				{"a taken name, in another case", map[string]any{"name": "TAKEN"}, wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "name"}},
				{"a password policy without id", map[string]any{"name": "Target", "passwordPolicy": map[string]any{}},
					wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "passwordPolicy.id"}},
				{"an unknown password policy", map[string]any{"name": "Target", "passwordPolicy": map[string]any{"id": uuid.NewString()}},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "passwordPolicy.id"}},
				{"another environment's password policy", map[string]any{"name": "Target", "passwordPolicy": map[string]any{"id": foreignPolicy}},
					wantErr{400, "INVALID_DATA", "INVALID_VALUE", "passwordPolicy.id"}},
				{"alternative identifiers that are not a list", map[string]any{"name": "Target", "alternativeIdentifiers": "staff"},
					wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "alternativeIdentifiers"}},
				{"default that is not a boolean", map[string]any{"name": "Target", "default": "true"},
					wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "default"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before, list := adminGet(t, s, pops+"/"+id), adminGet(t, s, pops)
					checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: pops + "/" + id, Token: tok, Body: tc.body}), tc.want)
					if tc.want.detail != "UNIQUENESS_VIOLATION" {
						checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: pops, Token: tok, Body: tc.body}), tc.want)
					}
					if !bytesEqual(before, adminGet(t, s, pops+"/"+id)) || !bytesEqual(list, adminGet(t, s, pops)) {
						t.Errorf("a refused write changed the populations")
					}
				})
			}
		})
	}
}
