package mgmt_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// TestUserWritesNeedTheUsersRoles: an actor that may write users but could
// not assign the roles a user holds (its own or its groups') may not write
// that user — set its password, change its profile, link or enrol anything
// — or it could sign on as that user and act with them: an Identity Data
// Admin, by a user's token or an application's, taking over the Environment
// Admin. 403, nothing changed; users without such roles, and the actor
// itself, stay writable.
func TestUserWritesNeedTheUsersRoles(t *testing.T) {
	const bossPassword, newPassword = "Copper-Lantern-Orchard-19!", "Hollow-Bridge-Pepper-84!"
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			f := newUserActorFixture(t, be.DSN(t))
			s, base := f.s, "/environments/"+f.adminEnv
			f.assign(t, "users", f.userID, roles.IdentityDataAdmin.ID, f.adminEnv)
			worker := s.Token(t, s.CreateWorker(t, f.adminEnv, "CLIENT_SECRET_BASIC",
				[3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, f.adminEnv}))
			boss := s.CreateUser(t, f.adminEnv, f.popID, "boss", "boss@example.com", "Big", "Boss", bossPassword)
			f.assign(t, "users", boss, roles.EnvironmentAdmin.ID, f.adminEnv)
			member := s.CreateUser(t, f.adminEnv, f.popID, "member", "member@example.com", "Group", "Member", bossPassword)
			g := s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups", Token: f.admin, Body: map[string]any{"name": "admins"}})
			wantStatus(t, g, http.StatusCreated)
			gid := g.JSON(t)["id"].(string)
			f.assign(t, "groups", gid, roles.EnvironmentAdmin.ID, f.adminEnv)
			wantStatus(t, s.Do(t, apptest.Request{Method: "POST", URL: base + "/users/" + member + "/memberOfGroups", Token: f.admin,
				Body: map[string]any{"id": gid}}), http.StatusCreated)
			plain := s.CreateUser(t, f.adminEnv, f.popID, "plain", "plain@example.com", "Plain", "User", bossPassword)

			n := 0
			setPassword := func(token, user string) *apptest.Response {
				n++ // each a new one: the policy refuses a recent password
				return s.Do(t, apptest.Request{Method: "PUT", URL: base + "/users/" + user + "/password", Token: token,
					ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": newPassword + strconv.Itoa(n), "forceChange": false}})
			}
			for _, actor := range []struct{ name, token string }{{"user", f.user}, {"worker", worker}} {
				for _, target := range []struct{ name, id string }{{"boss", boss}, {"member", member}} {
					for what, r := range map[string]*apptest.Response{
						"password": setPassword(actor.token, target.id),
						"email": s.Do(t, apptest.Request{Method: "PATCH", URL: base + "/users/" + target.id, Token: actor.token,
							Body: map[string]any{"email": "attacker@example.com"}}),
						"enabled": s.Do(t, apptest.Request{Method: "PUT", URL: base + "/users/" + target.id + "/enabled", Token: actor.token,
							Body: map[string]any{"enabled": false}}),
					} {
						if r.Status != http.StatusForbidden || r.JSON(t)["code"] != "ACCESS_FAILED" {
							t.Errorf("%s writes %s's %s: %d %s, want 403 ACCESS_FAILED", actor.name, target.name, what, r.Status, r.Body)
						}
					}
				}
			}
			// Nothing changed: boss signs on with its password, its email kept.
			if _, st := s.ConsoleSignOn(t, "boss", bossPassword, ""); !slices.Equal(st, []string{"USERNAME_PASSWORD_REQUIRED", "COMPLETED"}) {
				t.Errorf("boss's sign-on: %v", st)
			}
			u := s.Do(t, apptest.Request{Method: "GET", URL: base + "/users/" + boss, Token: f.admin})
			wantStatus(t, u, http.StatusOK)
			if got := u.JSON(t)["email"]; got != "boss@example.com" {
				t.Errorf("boss's email = %v", got)
			}
			// A user without roles, and the actor itself, stay writable; the
			// administrator (Environment Admin over the organization) writes boss.
			wantStatus(t, setPassword(f.user, plain), http.StatusOK)
			wantStatus(t, setPassword(worker, plain), http.StatusOK)
			wantStatus(t, setPassword(f.user, f.userID), http.StatusOK)
			wantStatus(t, setPassword(f.admin, boss), http.StatusOK)
		})
	}
}
