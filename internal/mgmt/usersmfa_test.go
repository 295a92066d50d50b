package mgmt_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestNewUsersMFAEnabled: a user created without mfaEnabled gets the MFA
// settings' users.mfaEnabled; one that says gets what it says.
func TestNewUsersMFAEnabled(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "New users' MFA", "SANDBOX")
			pop := newPop(t, s, env, "Members")
			users := "/environments/" + env + "/users"
			create := func(name string, mfa *bool) map[string]any {
				t.Helper()
				body := map[string]any{"username": name, "email": name + "@example.com", "population": map[string]any{"id": pop}}
				if mfa != nil {
					body["mfaEnabled"] = *mfa
				}
				return must(t, s.Do(t, apptest.Request{Method: "POST", URL: users, Token: tok, Body: body}), 201)
			}
			yes, no := true, false
			cases := []struct {
				settings bool
				request  *bool
				want     bool
			}{
				{true, nil, true},
				{true, &no, false},
				{false, nil, false},
				{false, &yes, true},
			}
			for i, c := range cases {
				must(t, s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + env + "/mfaSettings", Token: tok, Body: map[string]any{
					"pairing": map[string]any{"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"},
					"users":   map[string]any{"mfaEnabled": c.settings}}}), 200)
				u := create("user"+string(rune('a'+i)), c.request)
				if u["mfaEnabled"] != c.want {
					t.Errorf("settings %v, request %v: mfaEnabled = %v, want %v", c.settings, c.request, u["mfaEnabled"], c.want)
				}
			}
		})
	}
}
