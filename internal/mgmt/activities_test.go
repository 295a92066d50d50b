package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestActivitiesAPI(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			// The test records its own activities: the emitters (the
			// management writes of its set-up) record nothing.
			testActivitiesAPI(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t), AuditRecorder: audit.Nop{}}))
		})
	}
}

func testActivitiesAPI(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.AdminToken(t)
	x := newEnv(t, s, "Activities X", "SANDBOX")
	y := newEnv(t, s, "Activities Y", "SANDBOX")
	p1 := newPop(t, s, x, "P1")
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}

	// Three activities of X and one of Y, through the audit log as the
	// emitters record them.
	client := &store.ActivityActor{ID: uuid.NewString(), Name: "Provisioner", Type: "CLIENT", EnvironmentID: x}
	alice := &store.ActivityActor{ID: uuid.NewString(), Name: "alice", Type: "USER", EnvironmentID: x, PopulationID: p1}
	userRes := store.ActivityResource{ID: alice.ID, Name: "alice", Type: "USER", EnvironmentID: x, PopulationID: p1}
	appRes := store.ActivityResource{ID: uuid.NewString(), Name: "Portal", Type: "APPLICATION", EnvironmentID: x}
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Minute)
	created := &store.Activity{EnvironmentID: x, RecordedAt: base, CorrelationID: "corr-1", ActionType: "USER.CREATED",
		ActionDescription: "User Created", Client: client, Resources: []store.ActivityResource{userRes}, ResultStatus: "SUCCESS",
		ResultDescription: "Created User", Tags: []string{"adminIdentityEvent"}}
	denied := &store.Activity{EnvironmentID: x, RecordedAt: base.Add(time.Second), ActionType: "USER.ACCESS_ALLOWED",
		Client: client, User: alice, Resources: []store.ActivityResource{userRes}, ResultStatus: "FAILED", ResultDescription: "Wrong password",
		Details: json.RawMessage(`{"reason":"INVALID_CREDENTIALS"}`)}
	appMade := &store.Activity{EnvironmentID: x, RecordedAt: base.Add(2 * time.Second), ActionType: "APPLICATION.CREATED",
		Client: client, Resources: []store.ActivityResource{appRes}, ResultStatus: "SUCCESS"}
	theirs := &store.Activity{EnvironmentID: y, RecordedAt: base, CorrelationID: "corr-1", ActionType: "USER.CREATED",
		Client:    &store.ActivityActor{ID: client.ID, Type: "CLIENT", EnvironmentID: y},
		Resources: []store.ActivityResource{{ID: alice.ID, Type: "USER", EnvironmentID: y}}, ResultStatus: "SUCCESS"}
	for _, a := range []*store.Activity{created, denied, appMade, theirs} {
		s.Audit.Record(ctx, a)
	}
	if err := s.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	acts := "/environments/" + x + "/activities"
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }
	rng := `recordedAt ge "` + ts(base.Add(-time.Hour)) + `" and recordedAt lt "` + ts(base.Add(time.Hour)) + `"`
	list := func(filter string, extra ...string) string {
		q := url.Values{"filter": {filter}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return acts + "?" + q.Encode()
	}

	// One activity, every member as PingOne shows it.
	one := must(t, do(apptest.Request{Method: "GET", URL: acts + "/" + created.ID}), http.StatusOK)
	if got := keysOf(one); !slices.Equal(got, []string{"_links", "action", "actors", "correlationId", "createdAt", "id", "recordedAt",
		"resources", "result", "tags"}) {
		t.Errorf("members = %v", got)
	}
	envHref := s.APIPath + "/environments/" + x
	wantFields(t, one, map[string]any{
		"id": created.ID, "recordedAt": ts(base), "createdAt": ts(base), "correlationId": "corr-1",
		"_links.self.href": envHref + "/activities/" + created.ID,
		"action":           map[string]any{"type": "USER.CREATED", "description": "User Created"},
		"actors": map[string]any{"client": map[string]any{"id": client.ID, "name": "Provisioner", "type": "CLIENT",
			"environment": map[string]any{"id": x}, "href": envHref + "/applications/" + client.ID}},
		"resources": []any{map[string]any{"type": "USER", "id": alice.ID, "name": "alice", "environment": map[string]any{"id": x},
			"population": map[string]any{"id": p1}, "href": envHref + "/users/" + alice.ID}},
		"result": map[string]any{"status": "SUCCESS", "description": "Created User"},
		"tags":   []any{"adminIdentityEvent"},
	})
	// A user actor, and what the emitter added.
	two := must(t, do(apptest.Request{Method: "GET", URL: acts + "/" + denied.ID}), http.StatusOK)
	wantFields(t, two, map[string]any{
		"actors.user": map[string]any{"id": alice.ID, "name": "alice", "type": "USER", "environment": map[string]any{"id": x},
			"population": map[string]any{"id": p1}, "href": envHref + "/users/" + alice.ID},
		"reason": "INVALID_CREDENTIALS", "result.status": "FAILED",
	})
	if _, ok := two["correlationId"]; ok {
		t.Errorf("correlationId = %v for an activity recorded outside a request, want none", two["correlationId"])
	}

	// The list: newest first, the page's count and size.
	l := must(t, do(apptest.Request{Method: "GET", URL: list(rng)}), http.StatusOK)
	wantFields(t, l, map[string]any{"count": 3, "size": 3, "_links.self.href": s.APIPath + list(rng)})
	if _, ok := get(l, "_links.next").(map[string]any); ok {
		t.Error("a last page with a next link")
	}
	ids := func(r *apptest.Response) []string {
		t.Helper()
		checkAnswer(t, r, wantErr{status: http.StatusOK})
		_, _, got := listIDs(t, r, "activities")
		if got == nil {
			got = []string{}
		}
		return got
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{rng, []string{appMade.ID, denied.ID, created.ID}},
		{`recordedat gt "` + ts(base) + `"`, []string{appMade.ID, denied.ID}},
		{`createdAt le "` + ts(base.Add(time.Second)) + `"`, []string{denied.ID, created.ID}},
		{rng + ` and action.type eq "USER.CREATED"`, []string{created.ID}},
		{rng + ` AND result.status eq "FAILED"`, []string{denied.ID}},
		{rng + ` and actors.user.id eq "` + alice.ID + `"`, []string{denied.ID}},
		{rng + ` and actors.user.name eq "alice"`, []string{denied.ID}},
		{rng + ` and actors.client.id eq "` + client.ID + `"`, []string{appMade.ID, denied.ID, created.ID}},
		{rng + ` and correlationId eq "corr-1"`, []string{created.ID}},
		{rng + ` and tags eq "adminIdentityEvent"`, []string{created.ID}},
		{rng + ` and resources.id eq "` + alice.ID + `"`, []string{denied.ID, created.ID}},
		{rng + ` and resources.type eq "APPLICATION"`, []string{appMade.ID}},
		{rng + ` and resources.population.id eq "` + p1 + `"`, []string{denied.ID, created.ID}},
		{rng + ` and resources.population.id eq "` + p1 + `" and action.type eq "USER.ACCESS_ALLOWED"`, []string{denied.ID}},
		{`recordedAt lt "` + ts(base.Add(-time.Hour)) + `"`, []string{}},
	} {
		if got := ids(do(apptest.Request{Method: "GET", URL: list(tc.filter)})); !slices.Equal(got, tc.want) {
			t.Errorf("GET filter %s: %v, want %v", tc.filter, got, tc.want)
		}
		if got := ids(do(apptest.Request{Method: "POST", URL: acts, Body: map[string]any{"filter": tc.filter}})); !slices.Equal(got, tc.want) {
			t.Errorf("POST filter %s: %v, want %v", tc.filter, got, tc.want)
		}
	}

	// Paging: limit, then _links.next as given.
	page := must(t, do(apptest.Request{Method: "GET", URL: list(rng, "limit", "2")}), http.StatusOK)
	wantFields(t, page, map[string]any{"count": 2, "size": 2})
	next, _ := get(page, "_links.next.href").(string)
	if next == "" {
		t.Fatalf("no next link on a full page: %v", page["_links"])
	}
	r := do(apptest.Request{Method: "GET", URL: next})
	if got := ids(r); !slices.Equal(got, []string{created.ID}) {
		t.Errorf("the next page: %v, want [%s]", got, created.ID)
	}
	if _, ok := get(r.JSON(t), "_links.next").(map[string]any); ok {
		t.Error("the last page has a next link")
	}
	postPage := must(t, do(apptest.Request{Method: "POST", URL: acts, Body: map[string]any{"filter": rng, "limit": 2}}), http.StatusOK)
	if got, _ := get(postPage, "_links.next.href").(string); got != next {
		t.Errorf("POST's next link = %s, want GET's %s", got, next)
	}

	// Filters and paging PingOne refuses; tenants and roles.
	invalidFilter := wantErr{400, "INVALID_REQUEST", "INVALID_FILTER", "filter"}
	forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	notFound := wantErr{404, "NOT_FOUND", "", ""}
	worker := func(env string, role roles.Role, scopeType, scopeID string) string {
		return s.Token(t, s.CreateWorker(t, env, "CLIENT_SECRET_BASIC", [3]string{role.ID, scopeType, scopeID}))
	}
	supported := func(t *testing.T, _ *apptest.Response, m map[string]any) {
		inner, _ := detailAt(t, m, 0)["innerError"].(map[string]any)
		attrs, _ := inner["supportedAttributes"].([]any)
		for _, want := range []string{"recordedAt", "action.type", "resources.population.id", "actors.user.id", "correlationId"} {
			if !slices.Contains(attrs, any(want)) {
				t.Errorf("supportedAttributes %v lack %s", attrs, want)
			}
		}
	}
	supportedOps := func(want ...any) func(*testing.T, *apptest.Response, map[string]any) {
		return func(t *testing.T, _ *apptest.Response, m map[string]any) {
			inner, _ := detailAt(t, m, 0)["innerError"].(map[string]any)
			if ops, _ := inner["supportedOperators"].([]any); !slices.Equal(ops, want) {
				t.Errorf("supportedOperators = %v, want %v", ops, want)
			}
		}
	}
	runErrCases(t, s, []errCase{
		{name: "no filter", req: apptest.Request{Method: "GET", URL: acts}, want: invalidFilter},
		{name: "no time range", req: apptest.Request{Method: "GET", URL: list(`action.type eq "USER.CREATED"`)}, want: invalidFilter},
		{name: "POST without a filter", req: apptest.Request{Method: "POST", URL: acts, Body: map[string]any{}}, want: invalidFilter},
		{name: "an unknown attribute", req: apptest.Request{Method: "GET", URL: list(rng + ` and name eq "x"`)}, want: invalidFilter, check: supported},
		{name: "an operator PingOne does not take", req: apptest.Request{Method: "GET", URL: list(rng + ` and action.type sw "USER"`)},
			want: invalidFilter, check: supportedOps("eq")},
		{name: "the time compared with eq", req: apptest.Request{Method: "GET", URL: list(`recordedAt eq "` + ts(base) + `"`)},
			want: invalidFilter, check: supportedOps("gt", "ge", "lt", "le")},
		{name: "or", req: apptest.Request{Method: "GET", URL: list(rng + ` or action.type eq "USER.CREATED"`)}, want: invalidFilter},
		{name: "a time that is no time", req: apptest.Request{Method: "GET", URL: list(`recordedAt gt "yesterday"`)}, want: invalidFilter},
		{name: "a filter that does not parse", req: apptest.Request{Method: "GET", URL: list(`recordedAt gt`)}, want: invalidFilter},
		{name: "a bad cursor", req: apptest.Request{Method: "GET", URL: list(rng, "cursor", "bm9wZQ")},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "cursor"}},
		{name: "limit 0", req: apptest.Request{Method: "GET", URL: list(rng, "limit", "0")}, want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "limit"}},
		{name: "POST limit 1001", req: apptest.Request{Method: "POST", URL: acts, Body: map[string]any{"filter": rng, "limit": 1001}},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "limit"}},
		{name: "POST a body that is no object", req: apptest.Request{Method: "POST", URL: acts, Body: `[]`},
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}},
		{name: "another environment's activity", req: apptest.Request{Method: "GET", URL: acts + "/" + theirs.ID}, want: notFound},
		{name: "an unknown activity", req: apptest.Request{Method: "GET", URL: acts + "/" + uuid.NewString()}, want: notFound},
		{name: "an unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + uuid.NewString() + "/activities?filter=" + url.QueryEscape(rng)},
			want: notFound},
		{name: "identity data read only reads", req: apptest.Request{Method: "GET", URL: list(rng), Token: worker(x, roles.IdentityDataReadOnly, roles.ScopeEnvironment, x)},
			want: wantErr{status: http.StatusOK}},
		{name: "configuration read only reads", req: apptest.Request{Method: "GET", URL: acts + "/" + created.ID, Token: worker(x, roles.ConfigurationReadOnly, roles.ScopeEnvironment, x)},
			want: wantErr{status: http.StatusOK}},
		{name: "identity data admin searches", req: apptest.Request{Method: "POST", URL: acts, Body: map[string]any{"filter": rng},
			Token: worker(x, roles.IdentityDataAdmin, roles.ScopeEnvironment, x)}, want: wantErr{status: http.StatusOK}},
		{name: "a client application developer", req: apptest.Request{Method: "GET", URL: list(rng), Token: worker(x, roles.ClientApplicationDeveloper, roles.ScopeEnvironment, x)},
			want: forbidden},
		{name: "a population's identity data admin", req: apptest.Request{Method: "GET", URL: acts + "/" + created.ID, Token: worker(x, roles.IdentityDataAdmin, roles.ScopePopulation, p1)},
			want: forbidden},
		{name: "another environment's admin", req: apptest.Request{Method: "POST", URL: acts, Body: map[string]any{"filter": rng},
			Token: worker(y, roles.EnvironmentAdmin, roles.ScopeEnvironment, y)}, want: forbidden},
	})

	// Y sees its own, never X's.
	ys := "/environments/" + y + "/activities?" + url.Values{"filter": {rng}}.Encode()
	if got := ids(do(apptest.Request{Method: "GET", URL: ys})); !slices.Equal(got, []string{theirs.ID}) {
		t.Errorf("Y's activities: %v, want only [%s]", got, theirs.ID)
	}
}
