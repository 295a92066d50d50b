package mgmt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestIsolation proves that two environments holding populations of the
// same name never see, change or reveal each other's, on both backends.
func TestIsolation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testIsolation(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testIsolation(t *testing.T, s *apptest.Server) {
	admin := s.AdminToken(t)
	envA := newEnv(t, s, "Isolation A", "SANDBOX")
	envB := newEnv(t, s, "Isolation B", "SANDBOX")
	staffA := newPop(t, s, envA, "Staff")
	staffB := newPop(t, s, envB, "Staff") // the same name is fine in another environment
	popsA := "/environments/" + envA + "/populations"
	popsB := "/environments/" + envB + "/populations"
	get := func(t *testing.T, token, u string) *apptest.Response {
		t.Helper()
		return doNo5xx(t, s, apptest.Request{Method: "GET", URL: u, Token: token})
	}
	filtered := func(base, f string) string { return base + "?filter=" + url.QueryEscape(f) }

	t.Run("list shows only the environment's own", func(t *testing.T) {
		for _, c := range []struct{ env, pops, mine, theirs string }{{envA, popsA, staffA, staffB}, {envB, popsB, staffB, staffA}} {
			r := get(t, admin, c.pops)
			checkAnswer(t, r, wantErr{status: http.StatusOK})
			count, size, ids := listIDs(t, r, "populations")
			if count != 2 || size != 2 || !slices.Contains(ids, c.mine) || slices.Contains(ids, c.theirs) {
				t.Errorf("%s: count %d size %d ids %v; want Default and %s only", c.pops, count, size, ids, c.mine)
			}
			var l struct {
				Embedded struct {
					Populations []struct {
						Environment struct {
							ID string `json:"id"`
						} `json:"environment"`
					} `json:"populations"`
				} `json:"_embedded"`
			}
			r.Decode(t, &l)
			for _, p := range l.Embedded.Populations {
				if p.Environment.ID != c.env {
					t.Errorf("%s lists a population of environment %s", c.pops, p.Environment.ID)
				}
			}
		}
	})

	t.Run("filter by name finds only the environment's own", func(t *testing.T) {
		for _, c := range []struct{ pops, f, want string }{
			{popsA, `name eq "Staff"`, staffA},
			{popsB, `name eq "Staff"`, staffB},
			{popsA, `name eq "staff"`, staffA},
			{popsA, `name sw "St"`, staffA},
			{popsA, `(name eq "Staff") OR (id eq "` + staffB + `")`, staffA},
		} {
			r := get(t, admin, filtered(c.pops, c.f))
			checkAnswer(t, r, wantErr{status: http.StatusOK})
			if count, size, ids := listIDs(t, r, "populations"); count != 1 || size != 1 || !slices.Equal(ids, []string{c.want}) {
				t.Errorf("%s filter %s: count %d size %d ids %v, want exactly %s", c.pops, c.f, count, size, ids, c.want)
			}
		}
		r := get(t, admin, filtered(popsA, `id eq "`+staffB+`"`))
		if count, size, ids := listIDs(t, r, "populations"); count != 0 || size != 0 || len(ids) != 0 {
			t.Errorf("B's population by id in A: count %d size %d ids %v, want none", count, size, ids)
		}
	})

	t.Run("A's population cannot be reached under B", func(t *testing.T) {
		wrong := popsB + "/" + staffA
		beforeA := adminGet(t, s, popsA+"/"+staffA)
		beforeListA, beforeListB := adminGet(t, s, popsA), adminGet(t, s, popsB)
		for _, req := range []apptest.Request{
			{Method: "GET", URL: wrong},
			{Method: "PUT", URL: wrong, Body: map[string]any{"name": "Staff", "description": "hijacked"}},
			{Method: "PUT", URL: wrong, Body: map[string]any{"name": "Renamed"}},
			{Method: "DELETE", URL: wrong},
		} {
			req.Token = admin
			checkAnswer(t, doNo5xx(t, s, req), wantErr{http.StatusNotFound, "NOT_FOUND", "", ""})
		}
		if after := adminGet(t, s, popsA+"/"+staffA); !bytes.Equal(beforeA, after) {
			t.Errorf("A's population changed:\nbefore %s\nafter  %s", beforeA, after)
		}
		if after := adminGet(t, s, popsA); !bytes.Equal(beforeListA, after) {
			t.Errorf("A's populations changed:\nbefore %s\nafter  %s", trimBody(beforeListA), trimBody(after))
		}
		if after := adminGet(t, s, popsB); !bytes.Equal(beforeListB, after) {
			t.Errorf("B's populations changed:\nbefore %s\nafter  %s", trimBody(beforeListB), trimBody(after))
		}
	})

	t.Run("A's agreements cannot be reached under B", func(t *testing.T) {
		testAgreementIsolation(t, s, envA, envB, staffA)
	})

	t.Run("A's environment admin cannot read or reveal B", func(t *testing.T) {
		workerA := s.Token(t, s.CreateWorker(t, envA, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, envA}))
		forbidden := wantErr{http.StatusForbidden, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
		for _, u := range []string{"/environments/" + envB, popsB, popsB + "/" + staffB, filtered(popsB, `name eq "Staff"`), "/environments/" + envB + "/billOfMaterials",
			"/environments/" + envB + "/themes", "/environments/" + envB + "/agreements"} {
			checkAnswer(t, get(t, workerA, u), forbidden)
		}
		checkAnswer(t, get(t, workerA, popsA+"/"+staffA), wantErr{status: http.StatusOK})
		for _, c := range []struct {
			f    string
			want []string
		}{
			{`id eq "` + envB + `"`, nil},
			{`name eq "Isolation B"`, nil},
			{`name sw "Isolation"`, []string{envA}},
			{`(id eq "` + envA + `") OR (id eq "` + envB + `")`, []string{envA}},
			{`organization.id eq "` + s.OrganizationID(t) + `"`, []string{envA}},
			{`id ne "` + envA + `"`, nil},
		} {
			r := get(t, workerA, filtered("/environments", c.f))
			checkAnswer(t, r, wantErr{status: http.StatusOK})
			if count, size, ids := listIDs(t, r, "environments"); count != len(c.want) || size != len(c.want) || !slices.Equal(ids, c.want) {
				t.Errorf("filter %s as A's worker: count %d size %d ids %v, want %v", c.f, count, size, ids, c.want)
			}
		}
		// The admin, by contrast, sees B through the same filter.
		r := get(t, admin, filtered("/environments", `id eq "`+envB+`"`))
		if count, _, ids := listIDs(t, r, "environments"); count != 1 || !slices.Equal(ids, []string{envB}) {
			t.Errorf("admin filter id eq B: count %d ids %v", count, ids)
		}
	})
}

// testAgreementIsolation: A's agreement, its language, revision and text,
// and a user's consent to it, are 404 through B's paths (read, write,
// delete and revoke alike) and stay as they were; B's lists hold none of
// A's.
func testAgreementIsolation(t *testing.T, s *apptest.Server, envA, envB, popA string) {
	ctx := context.Background()
	a := newAgreementFixture(t, cfgAPI{s: s, tok: s.AdminToken(t), env: envA}, "Terms")
	b := newAgreementFixture(t, cfgAPI{s: s, tok: s.AdminToken(t), env: envB}, "Terms")
	alice := s.CreateUser(t, envA, popA, "agreeing", "agreeing@example.com", "Agreeing", "A", "Secret-Passw0rd!")
	p, err := agreement.Pending(ctx, s.Store, envA, a.id, alice, nil, time.Now())
	if err != nil || p == nil {
		t.Fatalf("Pending = %v, %v", p, err)
	}
	if err := agreement.Accept(ctx, s.Store, envA, alice, p, store.Now()); err != nil {
		t.Fatal(err)
	}
	inA, inB := "/environments/"+envA, "/environments/"+envB
	readable := []string{a.base, a.enPath, a.revisionsP + "/" + a.revision, a.revisionsP + "/" + a.revision + "/text", a.revisionsP,
		"/users/" + alice + "/agreementConsents/" + a.id, "/users/" + alice + "/agreementConsents"}
	before := map[string][]byte{}
	for _, path := range readable {
		before[path] = adminGet(t, s, inA+path)
	}
	admin := s.AdminToken(t)
	notFound := wantErr{http.StatusNotFound, "NOT_FOUND", "", ""}
	for _, req := range []apptest.Request{
		{Method: "GET", URL: inB + a.base},
		{Method: "PUT", URL: inB + a.base, Body: agreementBody("Hijacked")},
		{Method: "DELETE", URL: inB + a.base},
		{Method: "GET", URL: inB + a.base + "/languages"},
		{Method: "POST", URL: inB + a.base + "/languages", Body: agreementLanguageBody("de")},
		{Method: "GET", URL: inB + a.enPath},
		{Method: "PUT", URL: inB + a.enPath, Body: agreementLanguageBody("en")},
		{Method: "DELETE", URL: inB + a.base + "/languages/" + a.fr},
		{Method: "GET", URL: inB + a.revisionsP},
		{Method: "POST", URL: inB + a.revisionsP, Body: agreementRevisionBody(time.Now().Add(time.Hour), true, "Hijacked")},
		{Method: "GET", URL: inB + a.revisionsP + "/" + a.revision},
		{Method: "GET", URL: inB + a.revisionsP + "/" + a.revision + "/text"},
		{Method: "DELETE", URL: inB + a.revisionsP + "/" + a.revision},
		// B's agreement with A's language and revision ids.
		{Method: "GET", URL: inB + b.base + "/languages/" + a.en},
		{Method: "GET", URL: inB + b.enPath + "/revisions/" + a.revision},
		// A's user through B, and B's agreement for A's user.
		{Method: "GET", URL: inB + "/users/" + alice + "/agreementConsents"},
		{Method: "GET", URL: inB + "/users/" + alice + "/agreementConsents/" + a.id},
		{Method: "GET", URL: inA + "/users/" + alice + "/agreementConsents/" + b.id},
		{Method: "POST", URL: inB + "/users/" + alice + "/agreementConsents/" + a.id,
			Headers: http.Header{"Content-Type": {"application/vnd.pingidentity.consent.revoke+json"}}},
		{Method: "POST", URL: inA + "/users/" + alice + "/agreementConsents/" + b.id,
			Headers: http.Header{"Content-Type": {"application/vnd.pingidentity.consent.revoke+json"}}},
	} {
		req.Token = admin
		checkAnswer(t, doNo5xx(t, s, req), notFound)
	}
	for _, path := range readable {
		if after := adminGet(t, s, inA+path); !bytes.Equal(withoutAggregation(t, before[path]), withoutAggregation(t, after)) {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", path, trimBody(before[path]), trimBody(after))
		}
	}
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: inB + "/agreements", Token: admin})
	if count, _, ids := listIDs(t, r, "agreements"); count != 1 || !slices.Equal(ids, []string{b.id}) {
		t.Errorf("B's agreements: count %d ids %v, want only %s", count, ids, b.id)
	}
}

// withoutAggregation drops consentsAggregatedAt (the time of the read)
// from a body.
func withoutAggregation(t *testing.T, body []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "consentsAggregatedAt")
	out, _ := json.Marshal(m)
	return out
}
