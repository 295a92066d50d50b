package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// TestGroupJoinNeedsTheGroupsRoles: a member takes its groups' role
// assignments (and those of the groups they are nested in), and a user's
// token acts with them. So an actor that may write users and groups but
// could not assign a group's roles may neither add a user — itself — to
// that group nor nest a group in it: 403 and nothing written. A group
// whose roles it could assign it may still fill.
func TestGroupJoinNeedsTheGroupsRoles(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			f := newUserActorFixture(t, be.DSN(t))
			base := "/environments/" + f.adminEnv
			// The user may write the Administrators environment's users and
			// groups (Identity Data Admin over it), as may a worker.
			f.assign(t, "users", f.userID, roles.IdentityDataAdmin.ID, f.adminEnv)
			worker := f.s.Token(t, f.s.CreateWorker(t, f.adminEnv, "CLIENT_SECRET_BASIC",
				[3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, f.adminEnv}))
			group := func(name string) string {
				r := f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups", Token: f.admin, Body: map[string]any{"name": name}})
				wantStatus(t, r, http.StatusCreated)
				return r.JSON(t)["id"].(string)
			}
			admins, inner, helpers, plain := group("admins"), group("admins-inner"), group("helpers"), group("plain")
			f.assign(t, "groups", admins, roles.EnvironmentAdmin.ID, f.adminEnv)
			f.assign(t, "groups", helpers, roles.IdentityDataReadOnly.ID, f.adminEnv)
			// inner holds no role itself, but is nested in admins.
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups/" + inner + "/memberOfGroups", Token: f.admin,
				Body: map[string]any{"id": admins}}), http.StatusCreated)

			for _, actor := range []struct{ name, token string }{{"user", f.user}, {"worker", worker}} {
				for _, g := range []string{admins, inner} {
					r := f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/users/" + f.userID + "/memberOfGroups", Token: actor.token,
						Body: map[string]any{"id": g}})
					if r.Status != http.StatusForbidden || r.JSON(t)["code"] != "ACCESS_FAILED" {
						t.Errorf("%s adds the user to a group reaching Environment Admin: %d %s, want 403 ACCESS_FAILED", actor.name, r.Status, r.Body)
					}
				}
				r := f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups/" + plain + "/memberOfGroups", Token: actor.token,
					Body: map[string]any{"id": admins}})
				if r.Status != http.StatusForbidden || r.JSON(t)["code"] != "ACCESS_FAILED" {
					t.Errorf("%s nests a group in one holding Environment Admin: %d %s, want 403 ACCESS_FAILED", actor.name, r.Status, r.Body)
				}
			}
			// Nothing was written: the user is in no group, plain in none.
			for _, p := range []string{"/users/" + f.userID + "/memberOfGroups", "/groups/" + plain + "/memberOfGroups"} {
				r := f.s.Do(t, apptest.Request{Method: "GET", URL: base + p, Token: f.admin})
				wantStatus(t, r, http.StatusOK)
				if n := r.JSON(t)["count"]; n != float64(0) {
					t.Errorf("%s: count %v after refused writes, want 0: %s", p, n, r.Body)
				}
			}
			// Still no Environment Admin: the user cannot read applications.
			if r := f.s.Do(t, apptest.Request{Method: "GET", URL: base + "/applications", Token: f.user}); r.Status != http.StatusForbidden {
				t.Errorf("the user reads applications: %d, want 403", r.Status)
			}
			// Groups whose roles the actor could assign (or none) it fills.
			for _, g := range []string{helpers, plain} {
				wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/users/" + f.userID + "/memberOfGroups", Token: f.user,
					Body: map[string]any{"id": g}}), http.StatusCreated)
			}
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups/" + plain + "/memberOfGroups", Token: worker,
				Body: map[string]any{"id": helpers}}), http.StatusCreated)
			// The administrator (Environment Admin over the organization) may.
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/users/" + f.userID + "/memberOfGroups", Token: f.admin,
				Body: map[string]any{"id": inner}}), http.StatusCreated)
		})
	}
}
