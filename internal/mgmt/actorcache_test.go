package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// The actor's application and role assignments and the path's environment
// come from the configuration cache; every write of them is seen by the
// very next request on the same node.
func TestActorFromCacheSeesWritesAtOnce(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			envID := newEnv(t, s, "Actor cache", "SANDBOX")
			env := "/environments/" + envID
			uid := must(t, s.Do(t, apptest.Request{Method: "POST", URL: env + "/users", Token: admin,
				Body: map[string]any{"username": "reader", "email": "reader@example.com"}}), http.StatusCreated)["id"].(string)
			w := s.CreateWorker(t, envID, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, "ENVIRONMENT", envID})
			tok := s.Token(t, w)
			appPath := env + "/applications/" + w.ClientID
			roleOf := func() string {
				l := must(t, s.Do(t, apptest.Request{Method: "GET", URL: appPath + "/roleAssignments", Token: admin}), http.StatusOK)
				items := get(l, "_embedded.roleAssignments").([]any)
				if len(items) != 1 {
					t.Fatalf("the worker holds %d role assignments, want 1", len(items))
				}
				return items[0].(map[string]any)["id"].(string)
			}
			putApp := func(enabled bool) {
				must(t, s.Do(t, apptest.Request{Method: "PUT", URL: appPath, Token: admin, Body: map[string]any{
					"enabled": enabled, "name": "worker-" + w.ClientID[:8], "type": "WORKER", "protocol": "OPENID_CONNECT",
					"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}}), http.StatusOK)
			}
			steps := []struct {
				name   string
				write  func()
				status int
				detail string // the error's detail code; "" for 200
			}{
				{"before any change", func() {}, http.StatusOK, ""},
				{"its role assignment removed", func() {
					must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: appPath + "/roleAssignments/" + roleOf(), Token: admin}), http.StatusNoContent)
				}, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS"},
				{"a role assigned again", func() {
					must(t, s.Do(t, apptest.Request{Method: "POST", URL: appPath + "/roleAssignments", Token: admin, Body: map[string]any{
						"role": map[string]any{"id": roles.IdentityDataReadOnly.ID}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}}}),
						http.StatusCreated)
				}, http.StatusOK, ""},
				{"the application disabled", func() { putApp(false) }, http.StatusUnauthorized, "INVALID_TOKEN"},
				{"the application enabled", func() { putApp(true) }, http.StatusOK, ""},
				{"the application deleted", func() {
					must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: appPath, Token: admin}), http.StatusNoContent)
				}, http.StatusUnauthorized, "INVALID_TOKEN"},
			}
			for _, st := range steps {
				st.write()
				r := s.Do(t, apptest.Request{Method: "GET", URL: env + "/users/" + uid, Token: tok})
				if r.Status != st.status {
					t.Fatalf("%s: GET user %d, want %d: %s", st.name, r.Status, st.status, r.Body)
				}
				if st.detail == "" {
					wantFields(t, r.JSON(t), map[string]any{"id": uid, "username": "reader"})
					continue
				}
				body := r.JSON(t)
				wantFields(t, body, map[string]any{"code": "ACCESS_FAILED"})
				if ds, _ := body["details"].([]any); len(ds) != 1 || ds[0].(map[string]any)["code"] != st.detail {
					t.Errorf("%s: details %v, want one %s", st.name, body["details"], st.detail)
				}
			}

			// The environment itself: a rename is read back at once.
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: env, Token: admin}), http.StatusOK)
			must(t, s.Do(t, apptest.Request{Method: "PUT", URL: env, Token: admin, Body: map[string]any{"name": "Actor cache renamed",
				"type": "SANDBOX", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}}), http.StatusOK)
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: env, Token: admin}), http.StatusOK),
				map[string]any{"name": "Actor cache renamed"})
		})
	}
}
