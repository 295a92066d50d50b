package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// userActorFixture is the Administrators environment with a user whose
// token comes from the console (a WORKER) and a worker holding the same
// role, so that every answer to the user can be compared with the one to
// an application.
type userActorFixture struct {
	s                *apptest.Server
	admin            string // the bootstrap worker's token
	adminEnv, popID  string
	envA, envB       string
	userID, username string
	user             string // the user's token, from the console
	worker           string // a worker's token with the user's direct roles
	workerID         string
}

const userActorPassword = "Quiet-Meadow-Stone-73!"

func newUserActorFixture(t *testing.T, dsn string) *userActorFixture {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	f := &userActorFixture{s: s, admin: s.AdminToken(t), adminEnv: s.Admin.EnvironmentID}
	for _, p := range []*string{&f.envA, &f.envB} {
		r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: f.admin, Body: map[string]any{
			"name": "Env " + uuid.NewString()[:8], "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)}}})
		wantStatus(t, r, http.StatusCreated)
		*p = r.JSON(t)["id"].(string)
	}
	pops := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + f.adminEnv + "/populations", Token: f.admin})
	wantStatus(t, pops, http.StatusOK)
	f.popID = pops.JSON(t)["_embedded"].(map[string]any)["populations"].([]any)[0].(map[string]any)["id"].(string)
	f.username = "reader." + uuid.NewString()[:8]
	f.userID = s.CreateUser(t, f.adminEnv, f.popID, f.username, f.username+"@example.com", "Rea", "Der", userActorPassword)
	f.assign(t, "users", f.userID, roles.IdentityDataReadOnly.ID, f.envA)
	w := s.CreateWorker(t, f.adminEnv, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataReadOnly.ID, roles.ScopeEnvironment, f.envA})
	f.worker, f.workerID = s.Token(t, w), w.ClientID
	tok, _ := s.ConsoleSignOn(t, f.username, userActorPassword, "")
	f.user = tok.AccessToken
	return f
}

// assign gives the actor (users, groups) role over environment scope.
func (f *userActorFixture) assign(t *testing.T, segment, id, role, scope string) {
	t.Helper()
	r := f.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + f.adminEnv + "/" + segment + "/" + id + "/roleAssignments",
		Token: f.admin, Body: map[string]any{"role": map[string]string{"id": role}, "scope": map[string]string{"id": scope, "type": "ENVIRONMENT"}}})
	wantStatus(t, r, http.StatusCreated)
}

func wantStatus(t *testing.T, r *apptest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}

// TestUserActorAsAnApplication: a user's token from a WORKER acts with
// the user's role assignments exactly as an application's token acts with
// the application's: the same status and error code for reads, writes, the
// environment it may not reach and one that does not exist.
func TestUserActorAsAnApplication(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			f := newUserActorFixture(t, be.DSN(t))
			missing := uuid.NewString()
			cases := []struct {
				name, method, path string
				body               any
				status             int
				code               string
			}{
				{"read its environment", "GET", "/environments/" + f.envA + "/populations", nil, 200, ""},
				{"read its environment's users", "GET", "/environments/" + f.envA + "/users", nil, 200, ""},
				{"write with a read-only role", "POST", "/environments/" + f.envA + "/populations", map[string]any{"name": "nope"}, 403, "ACCESS_FAILED"},
				{"read another environment", "GET", "/environments/" + f.envB + "/populations", nil, 403, "ACCESS_FAILED"},
				{"write another environment", "POST", "/environments/" + f.envB + "/populations", map[string]any{"name": "nope"}, 403, "ACCESS_FAILED"},
				{"an environment that does not exist", "GET", "/environments/" + missing + "/populations", nil, 404, "NOT_FOUND"},
				{"create an environment", "POST", "/environments", map[string]any{"name": "nope", "type": "SANDBOX", "region": "NA",
					"license": map[string]string{"id": f.s.LicenseID(t)}}, 403, "ACCESS_FAILED"},
				{"the built-in roles", "GET", "/roles", nil, 200, ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					for who, tok := range map[string]string{"user": f.user, "worker": f.worker} {
						r := f.s.Do(t, apptest.Request{Method: c.method, URL: c.path, Token: tok, Body: c.body})
						if r.Status != c.status {
							t.Fatalf("%s: status %d, want %d: %s", who, r.Status, c.status, r.Body)
						}
						if c.code != "" && r.JSON(t)["code"] != c.code {
							t.Errorf("%s: code %v, want %s", who, r.JSON(t)["code"], c.code)
						}
					}
				})
			}
			// Both see exactly the environment their role reaches.
			for who, tok := range map[string]string{"user": f.user, "worker": f.worker} {
				r := f.s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: tok})
				wantStatus(t, r, 200)
				envs := r.JSON(t)["_embedded"].(map[string]any)["environments"].([]any)
				if len(envs) != 1 || envs[0].(map[string]any)["id"] != f.envA {
					t.Errorf("%s sees environments %v, want only %s", who, envs, f.envA)
				}
			}
		})
	}
}

// TestUserActorOwnRoleAssignments: an actor reads its own role
// assignments (how the console chooses its controls) even with no role to
// read roles where it lives; not another's, and it may not write its own.
func TestUserActorOwnRoleAssignments(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			f := newUserActorFixture(t, be.DSN(t))
			base := "/environments/" + f.adminEnv
			own := f.s.Do(t, apptest.Request{Method: "GET", URL: base + "/users/" + f.userID + "/roleAssignments", Token: f.user})
			wantStatus(t, own, 200)
			ras := own.JSON(t)["_embedded"].(map[string]any)["roleAssignments"].([]any)
			if len(ras) != 1 {
				t.Fatalf("own role assignments: %s", own.Body)
			}
			ra := ras[0].(map[string]any)
			if ra["role"].(map[string]any)["id"] != roles.IdentityDataReadOnly.ID || ra["scope"].(map[string]any)["id"] != f.envA ||
				ra["user"].(map[string]any)["id"] != f.userID || ra["readOnly"] != true {
				t.Errorf("own role assignment = %v", ra)
			}
			one := f.s.Do(t, apptest.Request{Method: "GET", URL: base + "/users/" + f.userID + "/roleAssignments/" + ra["id"].(string), Token: f.user})
			wantStatus(t, one, 200)
			if one.JSON(t)["id"] != ra["id"] {
				t.Errorf("own role assignment by id: %s", one.Body)
			}
			// The worker reads its own likewise.
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "GET", URL: base + "/applications/" + f.workerID + "/roleAssignments", Token: f.worker}), 200)

			adminID := ""
			users := f.s.Do(t, apptest.Request{Method: "GET", URL: base + "/users?filter=username%20eq%20%22admin%22", Token: f.admin})
			wantStatus(t, users, 200)
			adminID = users.JSON(t)["_embedded"].(map[string]any)["users"].([]any)[0].(map[string]any)["id"].(string)
			for _, c := range []struct {
				name, method, path, token string
				body                      any
				status                    int
			}{
				{"another user's", "GET", base + "/users/" + adminID + "/roleAssignments", f.user, nil, 403},
				{"the worker's, as the user", "GET", base + "/applications/" + f.workerID + "/roleAssignments", f.user, nil, 403},
				{"the user's, as the worker", "GET", base + "/users/" + f.userID + "/roleAssignments", f.worker, nil, 403},
				{"the console's, as the user of its token", "GET", base + "/applications/" + f.s.Admin.ConsoleClientID + "/roleAssignments", f.user, nil, 403},
				{"assign itself a role", "POST", base + "/users/" + f.userID + "/roleAssignments", f.user,
					map[string]any{"role": map[string]string{"id": roles.EnvironmentAdmin.ID}, "scope": map[string]string{"id": f.envA, "type": "ENVIRONMENT"}}, 403},
				{"drop its own", "DELETE", base + "/users/" + f.userID + "/roleAssignments/" + ra["id"].(string), f.user, nil, 403},
			} {
				r := f.s.Do(t, apptest.Request{Method: c.method, URL: c.path, Token: c.token, Body: c.body})
				if r.Status != c.status {
					t.Errorf("%s: %d, want %d: %s", c.name, r.Status, c.status, r.Body)
				}
			}
		})
	}
}

// TestUserActorGroupRoles: a user acts with the roles of the groups it
// belongs to, through nested groups too, from the moment it joins until the
// moment it leaves.
func TestUserActorGroupRoles(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			f := newUserActorFixture(t, be.DSN(t))
			base := "/environments/" + f.adminEnv
			group := func(name string) string {
				r := f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups", Token: f.admin, Body: map[string]any{"name": name}})
				wantStatus(t, r, http.StatusCreated)
				return r.JSON(t)["id"].(string)
			}
			parent, child := group("editors"), group("editors-nested")
			f.assign(t, "groups", parent, roles.IdentityDataAdmin.ID, f.envA)
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/groups/" + child + "/memberOfGroups", Token: f.admin,
				Body: map[string]any{"id": parent}}), http.StatusCreated)
			write := func() int {
				return f.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + f.envA + "/populations", Token: f.user,
					Body: map[string]any{"name": "pop-" + uuid.NewString()[:8]}}).Status
			}
			if got := write(); got != 403 {
				t.Fatalf("before joining: %d, want 403", got)
			}
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "POST", URL: base + "/users/" + f.userID + "/memberOfGroups", Token: f.admin,
				Body: map[string]any{"id": child}}), http.StatusCreated)
			if got := write(); got != 201 {
				t.Errorf("a member of a group nested in one holding Identity Data Admin: %d, want 201", got)
			}
			wantStatus(t, f.s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/users/" + f.userID + "/memberOfGroups/" + child, Token: f.admin}),
				http.StatusNoContent)
			if got := write(); got != 403 {
				t.Errorf("after leaving: %d, want 403", got)
			}
		})
	}
}

// TestUserTokenOfOtherApplications: a user's token for the PingOne API
// acts only when its application is a WORKER: the same administrator
// signed on to a web application is refused, as is its console token once
// the console is gone.
func TestUserTokenOfOtherApplications(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			admin := s.AdminToken(t)
			env := s.Admin.EnvironmentID
			const pw = "Amber-Valley-Kite-58!"
			tok, _ := s.ConsoleSignOn(t, s.Admin.Username, s.Admin.Password, pw)
			wantStatus(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env, Token: tok.AccessToken}), 200)

			web := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + env + "/applications", Token: admin, Body: map[string]any{
				"name": "a web app", "type": "WEB_APP", "protocol": "OPENID_CONNECT", "enabled": true,
				"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
				"redirectUris": []string{"https://app.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_POST"}})
			wantStatus(t, web, http.StatusCreated)
			webID := web.JSON(t)["id"].(string)
			sec := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env + "/applications/" + webID + "/secret", Token: admin})
			wantStatus(t, sec, 200)
			as := s.URL + "/" + env + "/as"
			conf := &oauth2.Config{ClientID: webID, ClientSecret: sec.JSON(t)["secret"].(string), RedirectURL: "https://app.example.com/cb",
				Scopes: []string{"openid"}, Endpoint: oauth2.Endpoint{AuthURL: as + "/authorize", TokenURL: as + "/token", AuthStyle: oauth2.AuthStyleInParams}}
			webTok, _ := s.HeadlessSignOn(t, env, conf, s.Admin.Username, pw, "")
			r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env, Token: webTok.AccessToken})
			if r.Status != http.StatusUnauthorized || r.JSON(t)["code"] != "ACCESS_FAILED" {
				t.Errorf("a web application's user token: %d %s, want 401", r.Status, r.Body)
			}

			// The console is a WORKER with no secret, which the API's
			// validation does not make (PingOne's own console is a platform
			// application): it is deleted, not edited, here.
			wantStatus(t, s.Do(t, apptest.Request{Method: "DELETE", URL: "/environments/" + env + "/applications/" + s.Admin.ConsoleClientID,
				Token: admin}), http.StatusNoContent)
			if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + env, Token: tok.AccessToken}); r.Status != http.StatusUnauthorized {
				t.Errorf("the console deleted: %d %s, want 401", r.Status, r.Body)
			}
		})
	}
}
