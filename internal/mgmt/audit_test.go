package mgmt_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// TestAuditManagementWrites: each successful write records one activity
// (the worker as the client, the resource written with its name and, for
// a user, population); a write refused as invalid records FAILED with the
// error's code; writes refused before they are judged (403, 404) and
// reads record nothing.
func TestAuditManagementWrites(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), AuditRecorder: cap})
			admin := s.AdminToken(t)
			envID := newEnv(t, s, "Audited", "SANDBOX")
			popID := newPop(t, s, envID, "Audited people")
			do := func(method, path string, body any, ct string, want int) map[string]any {
				t.Helper()
				r := doNo5xx(t, s, apptest.Request{Method: method, URL: "/environments/" + envID + path, Token: admin, Body: body, ContentType: ct})
				if r.Status != want {
					t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, trimBody(r.Body))
				}
				if len(r.Body) == 0 {
					return nil
				}
				return r.JSON(t)
			}
			userID := do("POST", "/users", map[string]any{"username": "audited.user", "population": map[string]any{"id": popID}}, "", http.StatusCreated)["id"].(string)
			do("POST", "/users", map[string]any{"username": "audited.user"}, "", http.StatusBadRequest) // taken
			do("PATCH", "/users/"+userID, map[string]any{"nickname": "Audie"}, "", http.StatusOK)
			do("GET", "/users/"+userID, nil, "", http.StatusOK)
			do("PUT", "/users/"+userID+"/password", map[string]any{"value": "Gatehouse-Test-Pass-9!", "forceChange": false},
				"application/vnd.pingidentity.password.set+json", http.StatusOK)
			do("POST", "/users/"+userID+"/password", map[string]any{"password": "Not-It-At-All-77?"},
				"application/vnd.pingidentity.password.check+json", http.StatusBadRequest)
			do("POST", "/users/"+userID+"/roleAssignments", map[string]any{"role": map[string]any{"id": roles.IdentityDataReadOnly.ID},
				"scope": map[string]any{"id": envID, "type": roles.ScopeEnvironment}}, "", http.StatusCreated)
			do("DELETE", "/users/00000000-0000-0000-0000-000000000000", nil, "", http.StatusNotFound)
			do("DELETE", "/users/"+userID, nil, "", http.StatusNoContent)
			// A worker without roles is refused.
			w := s.CreateWorker(t, envID, "CLIENT_SECRET_BASIC")
			r := doNo5xx(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/populations", Token: s.Token(t, w),
				Body: map[string]any{"name": "Not allowed"}})
			if r.Status != http.StatusForbidden {
				t.Fatalf("worker without roles: %d %s", r.Status, r.Body)
			}

			got := cap.Of(envID)
			c, u, p := s.Admin.ClientID, audit.ResUser+":"+userID, audit.ResPopulation+":"+popID
			want := []audittest.Brief{
				{Type: audit.EnvironmentCreated, Result: "SUCCESS", Client: c, Resources: audit.ResEnvironment + ":" + envID},
				{Type: audit.PopulationCreated, Result: "SUCCESS", Client: c, Resources: p},
				{Type: audit.UserCreated, Result: "SUCCESS", Client: c, Resources: u},
				{Type: audit.UserCreated, Result: "FAILED", Client: c, Resources: ""},
				{Type: audit.UserUpdated, Result: "SUCCESS", Client: c, Resources: u},
				{Type: audit.PasswordSet, Result: "SUCCESS", Client: c, Resources: u},
				{Type: audit.PasswordCheckFailed, Result: "FAILED", Client: c, Resources: u},
				{Type: audit.RoleAssignmentCreated, Result: "SUCCESS", Client: c, Resources: u},
				{Type: audit.UserDeleted, Result: "SUCCESS", Client: c, Resources: u},
				// The worker's token; its refused write records nothing.
				{Type: audit.AccessTokenCreated, Result: "SUCCESS", Client: w.ClientID, Resources: audit.ResApplication + ":" + w.ClientID},
			}
			if b := audittest.Briefs(got); !slices.Equal(b, want) {
				t.Fatalf("activities:\n got %+v\nwant %+v", b, want)
			}
			env, pop, user, taken, ra := got[0], got[1], got[2], got[3], got[7]
			if env.Resources[0].Name != "Audited" || env.EnvironmentID != envID || env.Client.EnvironmentID != s.Admin.EnvironmentID ||
				env.Client.Type != "CLIENT" || env.Client.Name == "" || env.ActionDescription != "Environment Created" {
				t.Errorf("environment created: %+v client %+v resources %+v", env, env.Client, env.Resources)
			}
			if pop.Resources[0].Name != "Audited people" {
				t.Errorf("population created: %+v", pop.Resources)
			}
			if r := user.Resources[0]; r.Name != "audited.user" || r.PopulationID != popID || r.EnvironmentID != envID {
				t.Errorf("user created: %+v", r)
			}
			if taken.ResultDescription == "" || taken.ResultDescription[:len("INVALID_DATA: ")] != "INVALID_DATA: " {
				t.Errorf("refused create: %q", taken.ResultDescription)
			}
			if !slices.Equal(ra.Tags, []string{"adminIdentityEvent"}) || len(user.Tags) != 0 {
				t.Errorf("tags: role assignment %v, user %v", ra.Tags, user.Tags)
			}
			for _, a := range got {
				if a.User != nil {
					t.Errorf("%s has a user actor %+v: the worker acts", a.ActionType, a.User)
				}
			}
		})
	}
}

// TestAuditSubscriptionWrites: a subscription's create, update and delete
// record PingOne's SUBSCRIPTION.* types with the subscription as the
// resource; a refused create records FAILED; searching activities by POST
// is a read and records nothing, answered or refused.
func TestAuditSubscriptionWrites(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), AuditRecorder: cap})
			admin := s.AdminToken(t)
			envID := newEnv(t, s, "Hooked", "SANDBOX")
			do := func(method, path string, body any, want int) map[string]any {
				t.Helper()
				r := doNo5xx(t, s, apptest.Request{Method: method, URL: "/environments/" + envID + path, Token: admin, Body: body})
				if r.Status != want {
					t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, trimBody(r.Body))
				}
				if len(r.Body) == 0 {
					return nil
				}
				return r.JSON(t)
			}
			subID := do("POST", "/subscriptions", subscriptionBody("SIEM"), http.StatusCreated)["id"].(string)
			bad := subscriptionBody("No actions")
			bad["filterOptions"] = map[string]any{"includedActionTypes": []any{}}
			do("POST", "/subscriptions", bad, http.StatusBadRequest)
			do("PUT", "/subscriptions/"+subID, subscriptionBody("SIEM 2"), http.StatusOK)
			do("GET", "/subscriptions/"+subID, nil, http.StatusOK)
			since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
			do("POST", "/activities", map[string]any{"filter": `recordedAt gt "` + since + `"`}, http.StatusOK)
			do("POST", "/activities", map[string]any{"filter": `action.type eq "USER.CREATED"`}, http.StatusBadRequest) // no time range
			do("DELETE", "/subscriptions/"+subID, nil, http.StatusNoContent)

			got := cap.Of(envID)
			c, sub := s.Admin.ClientID, audit.ResSubscription+":"+subID
			want := []audittest.Brief{
				{Type: audit.EnvironmentCreated, Result: "SUCCESS", Client: c, Resources: audit.ResEnvironment + ":" + envID},
				{Type: audit.SubscriptionCreated, Result: "SUCCESS", Client: c, Resources: sub},
				{Type: audit.SubscriptionCreated, Result: "FAILED", Client: c, Resources: ""},
				{Type: audit.SubscriptionUpdated, Result: "SUCCESS", Client: c, Resources: sub},
				{Type: audit.SubscriptionDeleted, Result: "SUCCESS", Client: c, Resources: sub},
			}
			if b := audittest.Briefs(got); !slices.Equal(b, want) {
				t.Fatalf("activities:\n got %+v\nwant %+v", b, want)
			}
			created, refused, updated := got[1], got[2], got[3]
			if r := created.Resources[0]; r.Name != "SIEM" || r.EnvironmentID != envID {
				t.Errorf("subscription created: resource %+v", r)
			}
			if created.ActionDescription != "Subscription Created" || created.Client.EnvironmentID != s.Admin.EnvironmentID {
				t.Errorf("subscription created: %+v client %+v", created, created.Client)
			}
			if !strings.HasPrefix(refused.ResultDescription, "INVALID_DATA: ") {
				t.Errorf("refused create: %q", refused.ResultDescription)
			}
			if r := updated.Resources[0]; r.Name != "SIEM 2" {
				t.Errorf("subscription updated: resource %+v", r)
			}
		})
	}
}
