package mgmt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// storedSession makes a signed-on session of userID as a flow would, last
// used at usedAt, with a refresh token in it; it answers the session and
// the refresh token's hash.
func storedSession(t *testing.T, s *apptest.Server, envID, userID string, usedAt time.Time) (*store.Session, string) {
	t.Helper()
	ctx := context.Background()
	at := usedAt.Add(-time.Minute).UTC().Truncate(time.Millisecond)
	sess := &store.Session{ID: uuid.NewString(), EnvironmentID: envID, UserID: userID, TokenHash: uuid.NewString(),
		AuthTime: at, AMR: []string{"pwd"}, Data: json.RawMessage(`{}`), CreatedAt: at,
		LastUsedAt: usedAt.UTC().Truncate(time.Millisecond), ExpiresAt: usedAt.Add(time.Hour).UTC().Truncate(time.Millisecond)}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	apps, err := s.Store.ListApplications(ctx, envID)
	if err != nil || len(apps) == 0 {
		t.Fatalf("an application of %s: %v", envID, err)
	}
	rt := &store.RefreshToken{TokenHash: uuid.NewString(), EnvironmentID: envID, ApplicationID: apps[0].ID, UserID: userID,
		SessionID: sess.ID, GrantID: uuid.NewString(), Data: json.RawMessage(`{}`), AccessJTI: uuid.NewString(),
		AccessExpiresAt: usedAt.Add(time.Hour), CreatedAt: at, ExpiresAt: usedAt.Add(24 * time.Hour), FamilyExpiresAt: usedAt.Add(48 * time.Hour)}
	if err := s.Store.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	return sess, rt.TokenHash
}

func TestUserSessionsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testUserSessions(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testUserSessions(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.AdminToken(t)
	x := newEnv(t, s, "Sessions X", "SANDBOX")
	y := newEnv(t, s, "Sessions Y", "SANDBOX")
	p1, p2 := newPop(t, s, x, "P1"), newPop(t, s, x, "P2")
	popY := newPop(t, s, y, "Theirs")
	s.CreateWorker(t, x, "CLIENT_SECRET_BASIC") // applications for the refresh tokens
	s.CreateWorker(t, y, "CLIENT_SECRET_BASIC")
	alice := s.CreateUser(t, x, p1, "alice", "alice@example.com", "Alice", "L", "Correct-H0rse-Battery!")
	bob := s.CreateUser(t, x, p2, "bob", "bob@example.com", "Bob", "B", "Correct-H0rse-Battery!")
	carol := s.CreateUser(t, y, popY, "carol", "carol@example.com", "Carol", "Y", "Correct-H0rse-Battery!")
	now := time.Now()
	older, olderRT := storedSession(t, s, x, alice, now.Add(-2*time.Hour))
	newer, newerRT := storedSession(t, s, x, alice, now)
	bobs, _ := storedSession(t, s, x, bob, now)
	carols, _ := storedSession(t, s, y, carol, now)

	users := "/environments/" + x + "/users/"
	aliceSessions := users + alice + "/sessions"
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}

	// The list, most recently active first, with every member.
	l := must(t, do(apptest.Request{Method: "GET", URL: aliceSessions}), http.StatusOK)
	wantFields(t, l, map[string]any{"count": 2, "size": 2, "_links.self.href": s.APIPath + aliceSessions})
	r := do(apptest.Request{Method: "GET", URL: aliceSessions})
	if _, _, got := listIDs(t, r, "sessions"); !slices.Equal(got, []string{newer.ID, older.ID}) {
		t.Errorf("listed %v, want [%s %s]", got, newer.ID, older.ID)
	}
	one := must(t, do(apptest.Request{Method: "GET", URL: aliceSessions + "/" + older.ID}), http.StatusOK)
	if got := keysOf(one); !slices.Equal(got, []string{"_links", "activeAt", "createdAt", "environment", "expiresAt", "id", "lastSignOn", "user"}) {
		t.Errorf("members = %v", got)
	}
	wantFields(t, one, map[string]any{"id": older.ID, "environment.id": x, "user.id": alice,
		"lastSignOn.authenticators": []any{"pwd"},
		"activeAt":                  older.LastUsedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"lastSignOn.at":             older.AuthTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		"expiresAt":                 older.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"_links.self.href":          s.APIPath + aliceSessions + "/" + older.ID,
		"_links.user.href":          s.APIPath + users + alice})

	notFound := wantErr{404, "NOT_FOUND", "", ""}
	forbidden := wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}
	worker := func(role roles.Role, scopeType, scopeID string) string {
		return s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{role.ID, scopeType, scopeID}))
	}
	popAdmin := worker(roles.IdentityDataAdmin, roles.ScopePopulation, p1)
	popReader := worker(roles.IdentityDataReadOnly, roles.ScopePopulation, p1)
	configAdmin := worker(roles.ClientApplicationDeveloper, roles.ScopeEnvironment, x)
	bobSessions := users + bob + "/sessions"
	unchanged := []string{aliceSessions, bobSessions, "/environments/" + y + "/users/" + carol + "/sessions"}
	runErrCases(t, s, []errCase{
		{name: "another user's session under this user", req: apptest.Request{Method: "GET", URL: aliceSessions + "/" + bobs.ID}, want: notFound},
		{name: "end another user's session under this user", req: apptest.Request{Method: "DELETE", URL: aliceSessions + "/" + bobs.ID},
			want: notFound, unchanged: unchanged},
		{name: "another environment's session", req: apptest.Request{Method: "GET", URL: aliceSessions + "/" + carols.ID}, want: notFound},
		{name: "another environment's user", req: apptest.Request{Method: "GET", URL: users + carol + "/sessions"}, want: notFound},
		{name: "end another environment's session", req: apptest.Request{Method: "DELETE", URL: users + carol + "/sessions/" + carols.ID},
			want: notFound, unchanged: unchanged},
		{name: "an unknown user", req: apptest.Request{Method: "GET", URL: users + uuid.NewString() + "/sessions"}, want: notFound},
		{name: "an unknown session", req: apptest.Request{Method: "GET", URL: aliceSessions + "/" + uuid.NewString()}, want: notFound},
		{name: "a session id that is no uuid", req: apptest.Request{Method: "GET", URL: aliceSessions + "/not-a-session"}, want: notFound},
		{name: "end an unknown session", req: apptest.Request{Method: "DELETE", URL: aliceSessions + "/" + uuid.NewString()}, want: notFound, unchanged: unchanged},
		{name: "population reader lists its user's sessions", req: apptest.Request{Method: "GET", URL: aliceSessions, Token: popReader},
			want: wantErr{status: http.StatusOK}},
		{name: "population reader ends a session", req: apptest.Request{Method: "DELETE", URL: aliceSessions + "/" + older.ID, Token: popReader},
			want: forbidden, unchanged: unchanged},
		{name: "population admin lists another population's user's sessions", req: apptest.Request{Method: "GET", URL: bobSessions, Token: popAdmin},
			want: notFound},
		{name: "population admin ends another population's user's session", req: apptest.Request{Method: "DELETE", URL: bobSessions + "/" + bobs.ID, Token: popAdmin},
			want: notFound, unchanged: unchanged},
		{name: "a configuration role lists sessions", req: apptest.Request{Method: "GET", URL: aliceSessions, Token: configAdmin}, want: forbidden},
		{name: "POST is not served", req: apptest.Request{Method: "POST", URL: aliceSessions, Body: map[string]any{}},
			want: wantErr{405, "METHOD_NOT_ALLOWED", "", ""}, unchanged: unchanged},
	})

	// Ending a session (a population admin of its user may) deletes it
	// and revokes what was granted in it; the user's other session lives.
	must(t, do(apptest.Request{Method: "DELETE", URL: aliceSessions + "/" + older.ID, Token: popAdmin}), http.StatusNoContent)
	checkAnswer(t, do(apptest.Request{Method: "GET", URL: aliceSessions + "/" + older.ID}), notFound)
	if rt, err := s.Store.GetRefreshToken(ctx, x, olderRT); err != nil || rt.RevokedAt.IsZero() {
		t.Errorf("the ended session's refresh token: %+v %v, want revoked", rt, err)
	}
	if rt, err := s.Store.GetRefreshToken(ctx, x, newerRT); err != nil || !rt.RevokedAt.IsZero() {
		t.Errorf("the other session's refresh token: %+v %v, want live", rt, err)
	}
	r = do(apptest.Request{Method: "GET", URL: aliceSessions})
	if count, _, got := listIDs(t, r, "sessions"); count != 1 || !slices.Equal(got, []string{newer.ID}) {
		t.Errorf("after the end: %d %v", count, got)
	}
}

func TestSessionSettingsAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testSessionSettings(t, apptest.Start(t, apptest.Options{DSN: b.DSN(t)}))
		})
	}
}

func testSessionSettings(t *testing.T, s *apptest.Server) {
	admin := s.AdminToken(t)
	x := newEnv(t, s, "Session settings X", "SANDBOX")
	y := newEnv(t, s, "Session settings Y", "SANDBOX")
	u := "/environments/" + x + "/sessionSettings"
	do := func(r apptest.Request) *apptest.Response {
		t.Helper()
		if r.Token == "" {
			r.Token = admin
		}
		return doNo5xx(t, s, r)
	}
	body := func(env string, idle, max int) string {
		href := s.APIPath + "/environments/" + env
		b, _ := json.Marshal(map[string]any{"_links": map[string]any{"self": map[string]any{"href": href + "/sessionSettings"},
			"environment": map[string]any{"href": href}}, "environment": map[string]any{"id": env},
			"idleTimeoutInMinutes": idle, "maxLifetimeInMinutes": max})
		return string(b)
	}

	// Defaults: 30 days each.
	r := do(apptest.Request{Method: "GET", URL: u})
	checkAnswer(t, r, wantErr{status: http.StatusOK})
	brandingSameJSON(t, "defaults", r.Body, body(x, 43200, 43200))

	r = do(apptest.Request{Method: "PUT", URL: u, Body: map[string]any{"idleTimeoutInMinutes": 15, "maxLifetimeInMinutes": 480}})
	checkAnswer(t, r, wantErr{status: http.StatusOK})
	brandingSameJSON(t, "PUT", r.Body, body(x, 15, 480))
	got := do(apptest.Request{Method: "GET", URL: u})
	brandingSameJSON(t, "GET after PUT", got.Body, body(x, 15, 480))

	// No drift: a PUT of what GET answered changes nothing.
	var back map[string]any
	got.Decode(t, &back)
	r = do(apptest.Request{Method: "PUT", URL: u, Body: back})
	checkAnswer(t, r, wantErr{status: http.StatusOK})
	brandingSameJSON(t, "PUT of GET", r.Body, body(x, 15, 480))

	// Another environment keeps its own; an environment update keeps them.
	brandingSameJSON(t, "the other environment", do(apptest.Request{Method: "GET", URL: "/environments/" + y + "/sessionSettings"}).Body, body(y, 43200, 43200))
	env := must(t, do(apptest.Request{Method: "GET", URL: "/environments/" + x}), http.StatusOK)
	must(t, do(apptest.Request{Method: "PUT", URL: "/environments/" + x, Body: map[string]any{"name": "Session settings X2", "type": "SANDBOX",
		"region": env["region"], "license": env["license"]}}), http.StatusOK)
	brandingSameJSON(t, "after an environment update", do(apptest.Request{Method: "GET", URL: u}).Body, body(x, 15, 480))

	invalid := func(target string) wantErr { return wantErr{400, "INVALID_DATA", "INVALID_VALUE", target} }
	put := func(b any) apptest.Request { return apptest.Request{Method: "PUT", URL: u, Body: b} }
	configRO := s.Token(t, s.CreateWorker(t, x, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, x}))
	unchanged := []string{u, "/environments/" + y + "/sessionSettings"}
	runErrCases(t, s, []errCase{
		{name: "idle of 0", req: put(map[string]any{"idleTimeoutInMinutes": 0}), want: invalid("idleTimeoutInMinutes"), unchanged: unchanged},
		{name: "max past a year", req: put(map[string]any{"maxLifetimeInMinutes": 525601}), want: invalid("maxLifetimeInMinutes"), unchanged: unchanged},
		{name: "max below idle", req: put(map[string]any{"idleTimeoutInMinutes": 60, "maxLifetimeInMinutes": 30}),
			want: invalid("maxLifetimeInMinutes"), unchanged: unchanged},
		{name: "idle is a string", req: put(`{"idleTimeoutInMinutes":"15"}`),
			want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "idleTimeoutInMinutes"}, unchanged: unchanged},
		{name: "malformed JSON", req: put(`{"idleTimeoutInMinutes":`), want: wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", ""}, unchanged: unchanged},
		{name: "text/plain", req: apptest.Request{Method: "PUT", URL: u, Body: `{"idleTimeoutInMinutes":5}`, ContentType: "text/plain"},
			want: wantErr{http.StatusUnsupportedMediaType, "INVALID_REQUEST", "INVALID_VALUE", "Content-Type"}, unchanged: unchanged},
		{name: "read-only role writes", req: apptest.Request{Method: "PUT", URL: u, Token: configRO, Body: map[string]any{"idleTimeoutInMinutes": 5}},
			want: wantErr{403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS", ""}, unchanged: unchanged},
		{name: "read-only role reads", req: apptest.Request{Method: "GET", URL: u, Token: configRO}, want: wantErr{status: http.StatusOK}},
		{name: "unknown environment", req: apptest.Request{Method: "GET", URL: "/environments/" + uuid.NewString() + "/sessionSettings"},
			want: wantErr{404, "NOT_FOUND", "", ""}},
	})

	// A PUT that leaves members out sets their defaults.
	r = do(apptest.Request{Method: "PUT", URL: u, Body: map[string]any{}})
	brandingSameJSON(t, "empty PUT", r.Body, body(x, 43200, 43200))
}
