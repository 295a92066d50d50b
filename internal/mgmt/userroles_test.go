package mgmt_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// Users hold role assignments at the same paths applications do; a deleted
// user's assignments go with it.
func TestUserRoleAssignmentsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			x := newEnv(t, s, "User roles X", "SANDBOX")
			y := newEnv(t, s, "User roles Y", "SANDBOX")
			user := must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x + "/users", Token: admin,
				Body: map[string]any{"username": "helpdesk", "email": "helpdesk@example.com"}}), 201)
			uid := user["id"].(string)
			base := "/environments/" + x + "/users/" + uid + "/roleAssignments"

			ra := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: admin, Body: map[string]any{
				"role": map[string]any{"id": roles.IdentityDataReadOnly.ID}, "scope": map[string]any{"id": x, "type": "ENVIRONMENT"}}}), 201)
			raID := checkID(t, ra, "id")
			wantFields(t, ra, map[string]any{"role.id": roles.IdentityDataReadOnly.ID, "scope.id": x, "scope.type": "ENVIRONMENT",
				"environment.id": x, "user.id": uid, "readOnly": false,
				"_links.self.href": s.APIPath + base + "/" + raID, "_links.user.href": s.APIPath + "/environments/" + x + "/users/" + uid})
			l := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: admin}), 200)
			wantFields(t, l, map[string]any{"count": 1, "size": 1})
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + raID, Token: admin}), 200)

			// Not through another environment, nor for an unknown user.
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + y + "/users/" + uid + "/roleAssignments", Token: admin}), 404),
				map[string]any{"code": "NOT_FOUND"})
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + y + "/users/" + uid + "/roleAssignments", Token: admin,
				Body: map[string]any{"role": map[string]any{"id": roles.IdentityDataReadOnly.ID}, "scope": map[string]any{"id": y, "type": "ENVIRONMENT"}}}), 404),
				map[string]any{"code": "NOT_FOUND"})
			// A role that does not apply to the scope type.
			wantFields(t, must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: admin, Body: map[string]any{
				"role": map[string]any{"id": roles.ClientApplicationDeveloper.ID}, "scope": map[string]any{"id": s.OrganizationID(t), "type": "ORGANIZATION"}}}), 400),
				map[string]any{"code": "INVALID_DATA"})

			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + x + "/users/" + uid, Token: admin}), 204)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: admin}), 404)
			left, err := s.Store.ListRoleAssignments(context.Background(), x, uid)
			if err != nil || len(left) != 0 {
				t.Fatalf("role assignments of a deleted user: %v %v", left, err)
			}
		})
	}
}
