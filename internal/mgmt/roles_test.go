package mgmt_test

import (
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

func TestRoles(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	tok := s.AdminToken(t)
	list := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/roles", Token: tok}), 200)
	wantFields(t, list, map[string]any{"count": len(roles.All), "size": len(roles.All), "_links.self.href": s.APIPath + "/roles"})
	items := get(list, "_embedded.roles").([]any)
	var names []string
	for _, it := range items {
		r := it.(map[string]any)
		id := checkID(t, r, "id")
		names = append(names, r["name"].(string))
		wantFields(t, r, map[string]any{"_links.self.href": s.APIPath + "/roles/" + id})
		if _, ok := r["type"]; ok {
			t.Errorf("built-in role %s has a type (CUSTOM would make the SDK decode it as a custom role)", r["name"])
		}
		if d, _ := r["description"].(string); d == "" {
			t.Errorf("role %s has no description", r["name"])
		}
		if at, ok := r["applicableTo"].([]any); !ok || len(at) == 0 {
			t.Errorf("role %s applicableTo = %v", r["name"], r["applicableTo"])
		}
		perms, ok := r["permissions"].([]any)
		if !ok || len(perms) == 0 {
			t.Fatalf("role %s permissions = %v, want a non-empty array", r["name"], r["permissions"])
		}
		for _, p := range perms {
			p := p.(map[string]any)
			if p["id"] == "" || p["classifier"] != p["id"] || p["description"] == "" {
				t.Errorf("permission %v", p)
			}
		}
		one := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/roles/" + id, Token: tok}), 200)
		if !sameJSONValue(one, r) {
			t.Errorf("GET /roles/%s differs from the list item", id)
		}
	}
	for _, want := range []string{"Environment Admin", "Organization Admin", "Identity Data Admin", "Identity Data Read Only",
		"Client Application Developer", "Configuration Read Only"} {
		if !slices.Contains(names, want) {
			t.Errorf("roles lack %q: %v", want, names)
		}
	}
	env := must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/roles/" + roles.EnvironmentAdmin.ID, Token: tok}), 200)
	wantFields(t, env, map[string]any{"name": "Environment Admin", "applicableTo": []string{"ORGANIZATION", "ENVIRONMENT"}})

	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/roles/" + uuid.NewString(), Token: tok}), wantErr{404, "NOT_FOUND", "", ""})
	checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/roles"}), wantErr{401, "ACCESS_FAILED", "INVALID_TOKEN", ""})
	// The catalogue is the same for everyone: a worker without roles reads it.
	noRoles := s.Token(t, s.CreateWorker(t, s.Admin.EnvironmentID, "CLIENT_SECRET_BASIC"))
	must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/roles", Token: noRoles}), 200)
}

// sdkRetryRE is the message PingOne's SDK retries ten times.
var sdkRetryRE = regexp.MustCompile(`^Role assignment [a-z0-9-]* cannot be deleted as it is read only`)

func TestApplicationRoleAssignmentsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			org := s.OrganizationID(t)
			x := newEnv(t, s, "Roles X", "SANDBOX")
			y := newEnv(t, s, "Roles Y", "SANDBOX")
			popX := newPop(t, s, x, "Staff")
			popY := newPop(t, s, y, "Staff")
			w := appCreate(t, s, admin, x, with(appWorkerBody("Assignee"), "assignActorRoles", false))
			wID := w["id"].(string)
			base := appsPath(x) + "/" + wID + "/roleAssignments"
			wtok := s.TokenFor(t, x, wID, appSecret(t, s, admin, x, wID)["secret"].(string))

			// The worker can do nothing yet.
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations", Token: wtok}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// Assign Identity Data Admin over X with PingOne's example body.
			body := goldenWith(t, "applications.roleAssignments.create.request.json", "{{roleID}}", roles.IdentityDataAdmin.ID, "{{envID}}", x)
			ra := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: admin, Body: body}), 201)
			raID := checkID(t, ra, "id")
			wantFields(t, ra, map[string]any{"role.id": roles.IdentityDataAdmin.ID, "scope.id": x, "scope.type": "ENVIRONMENT",
				"environment.id": x, "application.id": wID, "readOnly": false,
				"_links.self.href": s.APIPath + base + "/" + raID, "_links.role.href": s.APIPath + "/roles/" + roles.IdentityDataAdmin.ID})
			got := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + raID, Token: admin}), 200)
			if !sameJSONValue(got, ra) {
				t.Errorf("GET differs from POST:\n%v\n%v", got, ra)
			}
			// It takes effect on the worker's next request.
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations", Token: wtok}), 200)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: appsPath(x), Token: wtok, Body: appWorkerBody("Nope")}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + y + "/populations", Token: wtok}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// More: over a population, and Environment Admin over Y.
			popRA := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: admin, Body: map[string]any{
				"role": map[string]any{"id": roles.IdentityDataReadOnly.ID}, "scope": map[string]any{"id": popY, "type": "POPULATION"}}}), 201)
			yRA := must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: admin, Body: map[string]any{
				"role": map[string]any{"id": roles.EnvironmentAdmin.ID}, "scope": map[string]any{"id": y, "type": "ENVIRONMENT"}}}), 201)
			l := must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: admin}), 200)
			wantFields(t, l, map[string]any{"count": 3, "size": 3, "_links.self.href": s.APIPath + base})
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + y, Token: wtok}), 200)

			// The same grant twice.
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: base, Token: admin, Body: body}),
				wantErr{400, "INVALID_DATA", "UNIQUENESS_VIOLATION", "role"})

			// As an admin of X alone sees them: the one over Y is read-only
			// to it (it could not have made it), the others are not.
			adminX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, x}))
			seen := map[string]bool{}
			for _, it := range get(must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: adminX}), 200), "_embedded.roleAssignments").([]any) {
				it := it.(map[string]any)
				seen[it["id"].(string)] = it["readOnly"].(bool)
			}
			if seen[raID] || !seen[yRA["id"].(string)] || !seen[popRA["id"].(string)] {
				t.Errorf("readOnly as X's admin sees it: %v (want false for %s, true for %s and %s)", seen, raID, yRA["id"], popRA["id"])
			}
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: base + "/" + yRA["id"].(string), Token: adminX}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// Delete: 204, then 404; the permission goes with it.
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + raID, Token: adminX}), 204)
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: base + "/" + raID, Token: admin}), 404)
			must(t, s.Do(t, apptest.Request{Method: "DELETE", URL: base + "/" + raID, Token: admin}), 404)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations", Token: wtok}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// The bootstrap admin's own assignment is read-only: refused with
			// a message PingOne's SDK does not retry.
			adminRAs := appsPath(s.Admin.EnvironmentID) + "/" + s.Admin.ClientID + "/roleAssignments"
			items := get(must(t, s.Do(t, apptest.Request{Method: "GET", URL: adminRAs, Token: admin}), 200), "_embedded.roleAssignments").([]any)
			if len(items) != 1 {
				t.Fatalf("admin's role assignments: %v", items)
			}
			adminRA := items[0].(map[string]any)
			wantFields(t, adminRA, map[string]any{"readOnly": true, "role.id": roles.EnvironmentAdmin.ID, "scope.type": "ORGANIZATION", "scope.id": org})
			m := checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "DELETE", URL: adminRAs + "/" + adminRA["id"].(string), Token: admin}),
				wantErr{400, "REQUEST_FAILED", "", ""})
			if msg := m["message"].(string); sdkRetryRE.MatchString(msg) {
				t.Errorf("message %q is one PingOne's SDK retries ten times", msg)
			}
			must(t, s.Do(t, apptest.Request{Method: "GET", URL: adminRAs + "/" + adminRA["id"].(string), Token: admin}), 200)

			// Bad input and rules, each refused without a trace.
			scope := func(id, typ string) map[string]any { return map[string]any{"id": id, "type": typ} }
			raBody := func(role string, sc map[string]any) map[string]any {
				return map[string]any{"role": map[string]any{"id": role}, "scope": sc}
			}
			envAdminOnlyX := adminX
			devX := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ClientApplicationDeveloper.ID, roles.ScopeEnvironment, x}))
			otherApp := appCreate(t, s, admin, y, with(appWorkerBody("Elsewhere"), "assignActorRoles", false))["id"].(string)
			for _, c := range []struct {
				name string
				tok  string
				url  string
				body any
				want wantErr
			}{
				{"empty body", admin, base, map[string]any{}, wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "role.id"}},
				{"no scope type", admin, base, raBody(roles.IdentityDataAdmin.ID, map[string]any{"id": x}), wantErr{400, "INVALID_DATA", "REQUIRED_VALUE", "scope.type"}},
				{"bad scope type", admin, base, raBody(roles.IdentityDataAdmin.ID, scope(x, "GROUP")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.type"}},
				{"unknown role", admin, base, raBody(uuid.NewString(), scope(x, "ENVIRONMENT")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "role.id"}},
				{"role not applicable to the scope", admin, base, raBody(roles.ConfigurationReadOnly.ID, scope(popX, "POPULATION")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.type"}},
				{"unknown environment", admin, base, raBody(roles.IdentityDataAdmin.ID, scope(uuid.NewString(), "ENVIRONMENT")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.id"}},
				{"a population named as an environment", admin, base, raBody(roles.IdentityDataAdmin.ID, scope(popX, "ENVIRONMENT")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.id"}},
				{"another organization", admin, base, raBody(roles.EnvironmentAdmin.ID, scope(uuid.NewString(), "ORGANIZATION")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.id"}},
				{"malformed scope id", admin, base, raBody(roles.IdentityDataAdmin.ID, scope("not-a-uuid", "POPULATION")), wantErr{400, "INVALID_DATA", "INVALID_VALUE", "scope.id"}},
				{"Organization Admin by an Environment Admin", admin, base, raBody(roles.OrganizationAdmin.ID, scope(org, "ORGANIZATION")), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}},
				{"X's admin grants over Y", envAdminOnlyX, base, raBody(roles.EnvironmentAdmin.ID, scope(y, "ENVIRONMENT")), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}},
				{"X's admin grants over the organization", envAdminOnlyX, base, raBody(roles.EnvironmentAdmin.ID, scope(org, "ORGANIZATION")), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}},
				{"X's admin grants over Y's population", envAdminOnlyX, base, raBody(roles.IdentityDataAdmin.ID, scope(popY, "POPULATION")), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}},
				{"a developer grants", devX, base, raBody(roles.ClientApplicationDeveloper.ID, scope(x, "ENVIRONMENT")), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}},
				{"application of Y under X", admin, appsPath(x) + "/" + otherApp + "/roleAssignments", raBody(roles.IdentityDataAdmin.ID, scope(x, "ENVIRONMENT")), wantErr{404, "NOT_FOUND", "", ""}},
				{"unknown application", admin, appsPath(x) + "/" + uuid.NewString() + "/roleAssignments", raBody(roles.IdentityDataAdmin.ID, scope(x, "ENVIRONMENT")), wantErr{404, "NOT_FOUND", "", ""}},
				{"unknown environment in the path", admin, appsPath(uuid.NewString()) + "/" + wID + "/roleAssignments", raBody(roles.IdentityDataAdmin.ID, scope(x, "ENVIRONMENT")), wantErr{404, "NOT_FOUND", "", ""}},
				{"malformed JSON", admin, base, `{"role":`, wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := adminGet(t, s, base)
					checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "POST", URL: c.url, Token: c.tok, Body: c.body}), c.want)
					if after := adminGet(t, s, base); string(after) != string(before) {
						t.Errorf("role assignments changed:\n%s\n%s", before, after)
					}
				})
			}
			// X's admin may grant within X, a population of X included.
			must(t, s.Do(t, apptest.Request{Method: "POST", URL: base, Token: envAdminOnlyX, Body: raBody(roles.IdentityDataAdmin.ID, scope(popX, "POPULATION"))}), 201)
			// The developer reads them (it holds ReadRole) but cannot delete.
			l = must(t, s.Do(t, apptest.Request{Method: "GET", URL: base, Token: devX}), 200)
			for _, it := range get(l, "_embedded.roleAssignments").([]any) {
				if it.(map[string]any)["readOnly"] != true {
					t.Errorf("a developer sees %v as deletable", it)
				}
			}
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: base + "/" + uuid.NewString(), Token: admin}), wantErr{404, "NOT_FOUND", "", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: base + "/" + popRA["id"].(string), Token: admin, Body: body}),
				wantErr{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "", ""})
		})
	}
}
