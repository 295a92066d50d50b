package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestApplicationAccessControlAsSDK: an application's accessControl is
// stored and answered as written, a PUT of what GET answered changes
// nothing, and a group it names must be one of the application's own
// environment (a group of another environment is as unknown as a made-up
// id), on create and on replace.
func TestApplicationAccessControlAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			x := newEnv(t, s, "Access X", "SANDBOX")
			y := newEnv(t, s, "Access Y", "SANDBOX")
			group := func(env, name string) string {
				return must(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + env + "/groups", Token: admin,
					Body: map[string]any{"name": name}}), http.StatusCreated)["id"].(string)
			}
			staff, ops, theirs := group(x, "Staff"), group(x, "Ops"), group(y, "Staff")
			ac := func(typ string, ids ...string) map[string]any {
				refs := []any{}
				for _, id := range ids {
					refs = append(refs, map[string]any{"id": id})
				}
				return map[string]any{"group": map[string]any{"type": typ, "groups": refs}, "role": map[string]any{"type": "ADMIN_USERS_ONLY"}}
			}

			created := appCreate(t, s, admin, x, with(appWebBody("Guarded"), "accessControl", ac("ALL_GROUPS", staff, ops)))
			id := created["id"].(string)
			wantFields(t, created, map[string]any{"accessControl": ac("ALL_GROUPS", staff, ops)})
			u := appsPath(x) + "/" + id
			got := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: u, Token: admin}), http.StatusOK)
			wantFields(t, got, map[string]any{"accessControl": ac("ALL_GROUPS", staff, ops)})
			// No drift: PUT what GET answered.
			for _, k := range []string{"_links", "id", "environment", "createdAt", "updatedAt"} {
				delete(got, k)
			}
			again := must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u, Token: admin, Body: got}), http.StatusOK)
			wantFields(t, again, map[string]any{"accessControl": ac("ALL_GROUPS", staff, ops)})

			unknown := uuid.NewString()
			invalid := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "INVALID_VALUE", target} }
			runErrCases(t, s, []errCase{
				{name: "create naming another environment's group", req: apptest.Request{Method: "POST", URL: appsPath(x), Token: admin,
					Body: with(appWebBody("Theirs"), "accessControl", ac("ANY_GROUP", theirs))}, want: invalid("accessControl.group.groups[0].id"),
					unchanged: []string{appsPath(x)}},
				{name: "create naming an unknown group after a known one", req: apptest.Request{Method: "POST", URL: appsPath(x), Token: admin,
					Body: with(appWebBody("Unknown"), "accessControl", ac("ANY_GROUP", staff, unknown))}, want: invalid("accessControl.group.groups[1].id"),
					unchanged: []string{appsPath(x)}},
				{name: "replace naming another environment's group", req: apptest.Request{Method: "PUT", URL: u, Token: admin,
					Body: with(appWebBody("Guarded"), "accessControl", ac("ANY_GROUP", theirs))}, want: invalid("accessControl.group.groups[0].id"),
					unchanged: []string{u}},
				{name: "an unknown group type", req: apptest.Request{Method: "PUT", URL: u, Token: admin,
					Body: with(appWebBody("Guarded"), "accessControl", ac("SOME_GROUPS", staff))}, want: invalid("accessControl.group.type"),
					unchanged: []string{u}},
				{name: "no groups", req: apptest.Request{Method: "PUT", URL: u, Token: admin,
					Body: with(appWebBody("Guarded"), "accessControl", ac("ANY_GROUP"))}, want: wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "accessControl.group.groups"},
					unchanged: []string{u}},
			})

			// A deleted group no longer passes on the next write.
			must(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: "/environments/" + x + "/groups/" + ops, Token: admin}), http.StatusNoContent)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u, Token: admin, Body: got}), invalid("accessControl.group.groups[1].id"))
		})
	}
}
