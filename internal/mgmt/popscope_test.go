package mgmt_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// TestPopulationScopedUsers: Identity Data Admin and Read Only assigned
// over a population reach only that population's users.
func TestPopulationScopedUsers(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			x := newEnv(t, s, "Scoped X", "SANDBOX")
			y := newEnv(t, s, "Scoped Y", "SANDBOX")
			p1 := newPop(t, s, x, "P1")
			p2 := newPop(t, s, x, "P2")
			py := newPop(t, s, y, "PY")
			users := "/environments/" + x + "/users"
			mkUser := func(tok, name, pop string) *apptest.Response {
				return doNo5xx(t, s, apptest.Request{Method: "POST", URL: users, Token: tok,
					Body: map[string]any{"username": name, "population": map[string]any{"id": pop}}})
			}
			u1a := must(t, mkUser(admin, "one-a", p1), http.StatusCreated)["id"].(string)
			u1b := must(t, mkUser(admin, "one-b", p1), http.StatusCreated)["id"].(string)
			u2 := must(t, mkUser(admin, "two", p2), http.StatusCreated)["id"].(string)

			worker := func(role roles.Role, scopeType, scopeID string) string {
				return s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{role.ID, scopeType, scopeID}))
			}
			popAdmin := worker(roles.IdentityDataAdmin, roles.ScopePopulation, p1)
			popReader := worker(roles.IdentityDataReadOnly, roles.ScopePopulation, p1)
			envAdmin := worker(roles.IdentityDataAdmin, roles.ScopeEnvironment, x)
			elsewhere := worker(roles.IdentityDataAdmin, roles.ScopePopulation, py)

			listIDs := func(tok, query string) []string {
				t.Helper()
				l := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: users + query, Token: tok}), http.StatusOK)
				var ids []string
				for _, it := range get(l, "_embedded.users").([]any) {
					ids = append(ids, it.(map[string]any)["id"].(string))
				}
				if int(l["count"].(float64)) != len(ids) {
					t.Errorf("count = %v, items %d", l["count"], len(ids))
				}
				slices.Sort(ids)
				return ids
			}
			sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

			// Lists: only P1's users, also under a filter (whose arguments
			// come before the scope's).
			if got := listIDs(popAdmin, ""); !slices.Equal(got, sorted(u1a, u1b)) {
				t.Errorf("population admin lists %v, want %v", got, sorted(u1a, u1b))
			}
			if got := listIDs(popReader, "?filter="+url.QueryEscape(`population.id eq "`+p2+`"`)); len(got) != 0 {
				t.Errorf("filter on P2 lists %v", got)
			}
			if got := listIDs(popReader, "?filter="+url.QueryEscape(`username eq "one-b"`)); !slices.Equal(got, []string{u1b}) {
				t.Errorf("filter on username lists %v", got)
			}
			if got := listIDs(envAdmin, ""); !slices.Equal(got, sorted(u1a, u1b, u2)) {
				t.Errorf("environment admin lists %v", got)
			}

			// A user of P2 does not exist for the population admin.
			u2url := users + "/" + u2
			u2before := adminGet(t, s, u2url)
			for _, r := range []apptest.Request{
				{Method: "GET", URL: u2url},
				{Method: "GET", URL: u2url + "/password"},
				{Method: "GET", URL: u2url + "/enabled"},
				{Method: "PUT", URL: u2url, Body: map[string]any{"username": "taken-over"}},
				{Method: "PUT", URL: u2url + "/population", Body: map[string]any{"id": p1}},
				{Method: "PUT", URL: u2url + "/enabled", Body: map[string]any{"enabled": false}},
				{Method: "POST", URL: u2url, ContentType: "application/vnd.pingidentity.account.lock+json"},
				{Method: "DELETE", URL: u2url},
			} {
				r.Token = popAdmin
				checkAnswer(t, doNo5xx(t, s, r), wantErr{404, "NOT_FOUND", "", ""})
			}
			if after := adminGet(t, s, u2url); !bytes.Equal(after, u2before) {
				t.Errorf("P2 user changed:\n%s\n%s", u2before, after)
			}

			// Creating: in P1, not in P2.
			created := must(t, mkUser(popAdmin, "one-c", p1), http.StatusCreated)
			wantFields(t, created, map[string]any{"population.id": p1})
			checkAnswer(t, mkUser(popAdmin, "two-b", p2), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			if got := listIDs(envAdmin, ""); len(got) != 4 {
				t.Errorf("after creates, %d users, want 4", len(got))
			}

			// Moving a P1 user to P2: refused, the user unchanged.
			u1url := users + "/" + u1a
			u1before := adminGet(t, s, u1url)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u1url + "/population", Token: popAdmin,
				Body: map[string]any{"id": p2}}), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PATCH", URL: u1url, Token: popAdmin,
				Body: map[string]any{"population": map[string]any{"id": p2}}}), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u1url, Token: popAdmin,
				Body: map[string]any{"username": "one-a", "population": map[string]any{"id": p2}}}), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			if after := adminGet(t, s, u1url); !bytes.Equal(after, u1before) {
				t.Errorf("P1 user changed:\n%s\n%s", u1before, after)
			}
			// Within P1 the population admin writes.
			must(t, doNo5xx(t, s, apptest.Request{Method: "PATCH", URL: u1url, Token: popAdmin,
				Body: map[string]any{"email": "one-a@example.com"}}), http.StatusOK)
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u1url + "/password", Token: popAdmin,
				ContentType: "application/vnd.pingidentity.password.set+json",
				Body:        map[string]any{"value": "Correct-Horse-9-Battery", "forceChange": false}}), http.StatusOK)
			pw := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: u1url + "/password", Token: popReader}), http.StatusOK)
			wantFields(t, pw, map[string]any{"status": "OK"})

			// The population reader reads P1 and writes nothing.
			must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: u1url, Token: popReader}), http.StatusOK)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: u2url, Token: popReader}), wantErr{404, "NOT_FOUND", "", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u1url, Token: popReader,
				Body: map[string]any{"username": "renamed"}}), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, mkUser(popReader, "reader-made", p1), wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// The population reader reads its population, not another.
			must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations/" + p1, Token: popReader}), http.StatusOK)
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations/" + p2, Token: popReader}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + x + "/populations", Token: popReader}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})

			// A population of another environment reaches nothing here, and
			// a population scope reaches nothing in another environment.
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: users, Token: elsewhere}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + y + "/users", Token: popAdmin}),
				wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""})
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: "/environments/" + uuid.NewString() + "/users", Token: popAdmin}),
				wantErr{404, "NOT_FOUND", "", ""})

			// The environment-level admin is unaffected: it moves users.
			must(t, doNo5xx(t, s, apptest.Request{Method: "PUT", URL: u1url + "/population", Token: envAdmin,
				Body: map[string]any{"id": p2}}), http.StatusOK)
			// …after which the population admin no longer reaches that user.
			checkAnswer(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: u1url, Token: popAdmin}), wantErr{404, "NOT_FOUND", "", ""})
		})
	}
}
