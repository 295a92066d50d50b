package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testAuthSuite runs the auth state's conformance tests. Each works in
// environments of its own, so they share the suite's store; PurgeExpired
// sweeps every environment at once, so its tests are suite entries of their
// own (testAuthPurge, testAuthEnvironmentDelete).
func testAuthSuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"Flows", testFlows},
		{"FlowUpdates", testFlowUpdates},
		{"CountLiveFlows", testCountLiveFlows},
		{"Sessions", testSessions},
		{"SessionTokenUniqueness", testSessionTokenUniqueness},
		{"AuthIsolation", testAuthIsolation},
		{"AuthCodes", testAuthCodes},
		{"PushedRequests", testPushedRequests},
		{"DeviceAuthorizations", testDeviceAuthorizations},
		{"AuthRequestsCascade", testAuthRequestsCascade},
		{"RefreshTokens", testRefreshTokens},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshSibling", testRefreshSibling},
		{"Revocation", testRevocation},
		{"RevokeTokenID", testRevokeTokenID},
		{"AccessTokenState", testAccessTokenState},
		{"UseOnce", testUseOnce},
		{"UnknownUserFailures", testUnknownUserFailures},
		{"AuthUserDelete", testAuthUserDelete},
		{"AuthApplicationDelete", testAuthApplicationDelete},
		{"AuthRaces", testAuthRaces},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

// ---- builders

// authEnv is an environment with what auth state hangs off: a population,
// a user and an application.
type authEnv struct {
	env  *store.Environment
	pop  *store.Population
	user *store.User
	app  *store.Application
}

func newAuthEnv(t *testing.T, s store.Store) authEnv {
	t.Helper()
	e, pop := envWithPop(t, s)
	return authEnv{env: e, pop: pop, user: newUser(t, s, e.ID, pop.ID, "alice"), app: newApp(t, s, e.ID, "Portal")}
}

// newHash stands for the SHA-256 (hex) of a random token, as the store keeps them.
func newHash() string {
	sum := sha256.Sum256([]byte(newID()))
	return hex.EncodeToString(sum[:])
}

func mkFlow(x authEnv) *store.Flow {
	ts := now()
	return &store.Flow{
		ID: newID(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID, UserID: x.user.ID, SessionID: newID(),
		Status: "USERNAME_PASSWORD_REQUIRED", Binding: newHash(), Version: 1,
		Data:      json.RawMessage(`{"authorize":{"client_id":"c-1","scope":"openid profile","state":"s-1","prompt":["login"]},"step":2,"pending":null}`),
		CreatedAt: ts, UpdatedAt: ts, ExpiresAt: ts.Add(30 * time.Minute),
	}
}

func newFlow(t *testing.T, s store.Store, x authEnv) *store.Flow {
	t.Helper()
	f := mkFlow(x)
	must(t, s.CreateFlow(t.Context(), f), "CreateFlow")
	return f
}

func mkSession(envID, userID string) *store.Session {
	ts := now()
	return &store.Session{
		ID: newID(), EnvironmentID: envID, UserID: userID, TokenHash: newHash(),
		AuthTime: ts.Add(-time.Minute), AMR: []string{"pwd", "mfa"},
		Data:      json.RawMessage(`{"ip":"192.0.2.1","userAgent":"Mozilla/5.0","lastSignOn":{"pwd":{"at":"2026-01-02T03:04:05.678Z"}}}`),
		CreatedAt: ts, LastUsedAt: ts, ExpiresAt: ts.Add(8 * time.Hour),
	}
}

func newSession(t *testing.T, s store.Store, envID, userID string) *store.Session {
	t.Helper()
	x := mkSession(envID, userID)
	must(t, s.CreateSession(t.Context(), x), "CreateSession")
	return x
}

func mkCode(x authEnv, sessionID, grantID string) *store.AuthCode {
	ts := now()
	return &store.AuthCode{
		CodeHash: newHash(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID, UserID: x.user.ID,
		SessionID: sessionID, GrantID: grantID,
		Data:      json.RawMessage(`{"redirect_uri":"https://app.example.com/cb","scope":"openid profile","nonce":"n-1","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","amr":["pwd"]}`),
		CreatedAt: ts, ExpiresAt: ts.Add(time.Minute),
	}
}

func newCode(t *testing.T, s store.Store, x authEnv, sessionID, grantID string) *store.AuthCode {
	t.Helper()
	c := mkCode(x, sessionID, grantID)
	must(t, s.CreateAuthCode(t.Context(), c), "CreateAuthCode")
	return c
}

func mkRefresh(x authEnv, sessionID, grantID string) *store.RefreshToken {
	ts := now()
	return &store.RefreshToken{
		TokenHash: newHash(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID, UserID: x.user.ID,
		SessionID: sessionID, GrantID: grantID,
		Data:      json.RawMessage(`{"scope":"openid offline_access","auth_time":1767323045,"amr":["pwd"],"audience":["https://api.example.com"]}`),
		AccessJTI: newID(), AccessExpiresAt: ts.Add(time.Hour),
		CreatedAt: ts, ExpiresAt: ts.Add(30 * 24 * time.Hour), FamilyExpiresAt: ts.Add(90 * 24 * time.Hour),
	}
}

func newRefresh(t *testing.T, s store.Store, x authEnv, sessionID, grantID string) *store.RefreshToken {
	t.Helper()
	r := mkRefresh(x, sessionID, grantID)
	must(t, s.CreateRefreshToken(t.Context(), r), "CreateRefreshToken")
	return r
}

// wantRevoked checks IsTokenRevoked for each jti.
func wantRevoked(t *testing.T, s store.Store, envID string, want bool, what string, jtis ...string) {
	t.Helper()
	for _, jti := range jtis {
		got, err := s.IsTokenRevoked(t.Context(), envID, jti)
		if err != nil {
			t.Errorf("%s: IsTokenRevoked(%q): %v", what, jti, err)
		} else if got != want {
			t.Errorf("%s: IsTokenRevoked(%q) = %v, want %v", what, jti, got, want)
		}
	}
}

func checkRefresh(t *testing.T, s store.Store, want *store.RefreshToken, what string) {
	t.Helper()
	got, err := s.GetRefreshToken(t.Context(), want.EnvironmentID, want.TokenHash)
	if err != nil {
		t.Errorf("%s: GetRefreshToken: %v", what, err)
		return
	}
	checkRecord(t, what, got, want)
}

// ---- flows

func testFlows(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	full := newFlow(t, s, x)
	// Times written in another zone read back in UTC.
	zoned := mkFlow(x)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	zoned.CreatedAt, zoned.UpdatedAt, zoned.ExpiresAt = zoned.CreatedAt.In(zone), zoned.UpdatedAt.In(zone), zoned.ExpiresAt.In(zone)
	must(t, s.CreateFlow(ctx, zoned), "CreateFlow in another zone")
	ts := now()
	bare := &store.Flow{ID: newID(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID, Status: "INITIAL", CreatedAt: ts, UpdatedAt: ts, ExpiresAt: ts.Add(time.Minute)}
	must(t, s.CreateFlow(ctx, bare), "CreateFlow without user, session, binding or data")

	for _, want := range []*store.Flow{full, zoned, bare} {
		got, err := s.GetFlow(ctx, x.env.ID, want.ID)
		must(t, err, "GetFlow")
		checkRecord(t, "GetFlow", got, want)
	}

	_, err := s.GetFlow(ctx, x.env.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetFlow(unknown)")
	dup := mkFlow(x)
	dup.ID = full.ID
	wantUnique(t, s.CreateFlow(ctx, dup), "flow", "id", "CreateFlow with a taken id")
	orphan := mkFlow(x)
	orphan.ApplicationID = newID()
	wantErr(t, s.CreateFlow(ctx, orphan), store.ErrReferenced, "CreateFlow for an unknown application")
	orphan = mkFlow(x)
	orphan.EnvironmentID = newID()
	wantErr(t, s.CreateFlow(ctx, orphan), store.ErrReferenced, "CreateFlow in an unknown environment")

	must(t, s.DeleteFlow(ctx, x.env.ID, full.ID), "DeleteFlow")
	_, err = s.GetFlow(ctx, x.env.ID, full.ID)
	wantErr(t, err, store.ErrNotFound, "GetFlow after delete")
	wantErr(t, s.DeleteFlow(ctx, x.env.ID, full.ID), store.ErrNotFound, "DeleteFlow twice")
	got, err := s.GetFlow(ctx, x.env.ID, bare.ID)
	must(t, err, "GetFlow of another flow after delete")
	checkRecord(t, "another flow after delete", got, bare)
}

// testCountLiveFlows: only the environment's unexpired flows count, and
// the count stops at its limit.
func testCountLiveFlows(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	other := newAuthEnv(t, s)
	ts := now()
	count := func(env string, limit int) int {
		t.Helper()
		n, err := s.CountLiveFlows(ctx, env, ts, limit)
		must(t, err, "CountLiveFlows")
		return n
	}
	if n := count(x.env.ID, 100); n != 0 {
		t.Fatalf("empty environment: %d live flows, want 0", n)
	}
	var live []*store.Flow
	for range 7 {
		live = append(live, newFlow(t, s, x))
	}
	for _, exp := range []time.Time{ts, ts.Add(-time.Minute)} { // expiring now is expired
		f := mkFlow(x)
		f.ExpiresAt = exp
		must(t, s.CreateFlow(ctx, f), "CreateFlow (expired)")
	}
	for range 3 {
		newFlow(t, s, other)
	}
	for _, tc := range []struct {
		env   string
		limit int
		want  int
	}{
		{x.env.ID, 100, 7}, {x.env.ID, 7, 7}, {x.env.ID, 5, 5}, {x.env.ID, 1, 1}, {x.env.ID, 0, 0},
		{other.env.ID, 100, 3}, {newID(), 100, 0},
	} {
		if n := count(tc.env, tc.limit); n != tc.want {
			t.Errorf("CountLiveFlows(limit %d) = %d, want %d", tc.limit, n, tc.want)
		}
	}
	must(t, s.DeleteFlow(ctx, x.env.ID, live[0].ID), "DeleteFlow")
	if n := count(x.env.ID, 100); n != 6 {
		t.Errorf("after a delete: %d live flows, want 6", n)
	}
}

// testFlowUpdates runs steps in order over one stored flow: each case edits
// a copy of a version of it and says what UpdateFlow must answer.
func testFlowUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	f := newFlow(t, s, x)
	f.UserID, f.SessionID = "", ""
	stale := *f // version 1, kept to replay later
	must(t, s.UpdateFlow(ctx, f), "UpdateFlow to clear user and session")
	stored := *f // what the store holds now, at version 2

	for _, tc := range []struct {
		name    string
		edit    func(f *store.Flow)
		wantErr error
	}{
		{"every writable field", func(f *store.Flow) {
			f.UserID, f.SessionID, f.Status, f.Binding = x.user.ID, newID(), "COMPLETED", newHash()
			f.Data = json.RawMessage(`{"authorize":{"client_id":"c-1"},"resumeUrl":"https://as.example.com/resume?flowId=1","step":3}`)
			f.UpdatedAt, f.ExpiresAt = now().Add(time.Minute), now().Add(time.Hour)
		}, nil},
		{"empty data", func(f *store.Flow) { f.Data = nil }, nil},
		{"stale version", func(f *store.Flow) { *f = stale; f.Status = "FAILED" }, store.ErrConflict},
		{"version ahead", func(f *store.Flow) { f.Version += 5; f.Status = "FAILED" }, store.ErrConflict},
		{"another environment", func(f *store.Flow) { f.EnvironmentID = newEnv(t, s).ID; f.Status = "FAILED" }, store.ErrNotFound},
		{"missing flow", func(f *store.Flow) { f.ID = newID() }, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upd := stored
			tc.edit(&upd)
			sent := upd.Version
			err := s.UpdateFlow(ctx, &upd)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "UpdateFlow")
				if upd.Version != sent {
					t.Errorf("failed UpdateFlow changed Version %d to %d", sent, upd.Version)
				}
			} else {
				must(t, err, "UpdateFlow")
				if upd.Version != sent+1 {
					t.Errorf("UpdateFlow left Version = %d, want %d", upd.Version, sent+1)
				}
				stored = upd
			}
			got, err := s.GetFlow(ctx, x.env.ID, f.ID)
			must(t, err, "GetFlow after UpdateFlow")
			checkRecord(t, "GetFlow after UpdateFlow", got, stored)
		})
	}
}

// ---- sessions

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	sess := newSession(t, s, x.env.ID, x.user.ID)
	ts := now()
	bare := &store.Session{ID: newID(), EnvironmentID: x.env.ID, UserID: x.user.ID, TokenHash: newHash(), AuthTime: ts, AMR: []string{"pwd"},
		CreatedAt: ts, LastUsedAt: ts, ExpiresAt: ts.Add(time.Hour)}
	must(t, s.CreateSession(ctx, bare), "CreateSession without data")
	noAMR := mkSession(x.env.ID, x.user.ID)
	noAMR.AMR = nil
	must(t, s.CreateSession(ctx, noAMR), "CreateSession without AMR")
	if got, err := s.GetSession(ctx, x.env.ID, noAMR.ID); err != nil {
		t.Errorf("GetSession without AMR: %v", err)
	} else if got.AMR == nil || len(got.AMR) != 0 {
		t.Errorf("AMR = %#v, want an empty slice", got.AMR)
	}

	for _, want := range []*store.Session{sess, bare} {
		got, err := s.GetSession(ctx, x.env.ID, want.ID)
		must(t, err, "GetSession")
		checkRecord(t, "GetSession", got, want)
		got, err = s.GetSessionByToken(ctx, x.env.ID, want.TokenHash)
		must(t, err, "GetSessionByToken")
		checkRecord(t, "GetSessionByToken", got, want)
	}

	// A new sign-on rotates the cookie: the old token no longer finds it.
	upd := *sess
	upd.TokenHash, upd.AuthTime, upd.AMR = newHash(), now().Add(time.Minute), []string{"pwd", "otp", "mfa"}
	upd.Data = json.RawMessage(`{"ip":"198.51.100.7"}`)
	upd.LastUsedAt, upd.ExpiresAt = now().Add(time.Minute), now().Add(24*time.Hour)
	must(t, s.UpdateSession(ctx, &upd), "UpdateSession")
	got, err := s.GetSession(ctx, x.env.ID, sess.ID)
	must(t, err, "GetSession after update")
	checkRecord(t, "GetSession after update", got, upd)
	got, err = s.GetSessionByToken(ctx, x.env.ID, upd.TokenHash)
	must(t, err, "GetSessionByToken(new token)")
	checkRecord(t, "GetSessionByToken(new token)", got, upd)
	_, err = s.GetSessionByToken(ctx, x.env.ID, sess.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetSessionByToken(rotated-out token)")

	_, err = s.GetSession(ctx, x.env.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetSession(unknown)")
	_, err = s.GetSessionByToken(ctx, x.env.ID, newHash())
	wantErr(t, err, store.ErrNotFound, "GetSessionByToken(unknown)")
	wantErr(t, s.UpdateSession(ctx, mkSession(x.env.ID, x.user.ID)), store.ErrNotFound, "UpdateSession(unknown)")
	wantErr(t, s.DeleteSession(ctx, x.env.ID, newID()), store.ErrNotFound, "DeleteSession(unknown)")
	wantErr(t, s.CreateSession(ctx, mkSession(x.env.ID, newID())), store.ErrReferenced, "CreateSession for an unknown user")
	wantErr(t, s.CreateSession(ctx, mkSession(newID(), x.user.ID)), store.ErrReferenced, "CreateSession in an unknown environment")

	must(t, s.DeleteSession(ctx, x.env.ID, sess.ID), "DeleteSession")
	_, err = s.GetSession(ctx, x.env.ID, sess.ID)
	wantErr(t, err, store.ErrNotFound, "GetSession after delete")
	_, err = s.GetSessionByToken(ctx, x.env.ID, upd.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetSessionByToken after delete")
	wantErr(t, s.DeleteSession(ctx, x.env.ID, sess.ID), store.ErrNotFound, "DeleteSession twice")
	got, err = s.GetSession(ctx, x.env.ID, bare.ID)
	must(t, err, "GetSession of another session after delete")
	checkRecord(t, "another session after delete", got, bare)
}

func testSessionTokenUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newAuthEnv(t, s), newAuthEnv(t, s)
	first := newSession(t, s, a.env.ID, a.user.ID)
	second := newSession(t, s, a.env.ID, a.user.ID)

	dup := mkSession(a.env.ID, a.user.ID)
	dup.TokenHash = first.TokenHash
	wantUnique(t, s.CreateSession(ctx, dup), "session", "token", "CreateSession with a token hash taken in the environment")
	dup = mkSession(a.env.ID, a.user.ID)
	dup.ID = first.ID
	if err := s.CreateSession(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession with a taken id: err = %v, want ErrConflict", err)
	}
	taken := *second
	taken.TokenHash = first.TokenHash
	wantUnique(t, s.UpdateSession(ctx, &taken), "session", "token", "UpdateSession to a token hash taken in the environment")
	got, err := s.GetSession(ctx, a.env.ID, second.ID)
	must(t, err, "GetSession after the refused update")
	checkRecord(t, "session after the refused update", got, second)

	// The hash is unique per environment, not across them.
	other := mkSession(b.env.ID, b.user.ID)
	other.TokenHash = first.TokenHash
	must(t, s.CreateSession(ctx, other), "CreateSession in another environment with the same token hash")
	got, err = s.GetSessionByToken(ctx, a.env.ID, first.TokenHash)
	must(t, err, "GetSessionByToken A")
	checkRecord(t, "GetSessionByToken A", got, first)
	got, err = s.GetSessionByToken(ctx, b.env.ID, first.TokenHash)
	must(t, err, "GetSessionByToken B")
	checkRecord(t, "GetSessionByToken B", got, other)
}

// ---- isolation

// testAuthIsolation: environment B names A's flow, session, code and
// refresh token by their ids or hashes; each call must miss and change
// nothing of A's.
func testAuthIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newAuthEnv(t, s), newAuthEnv(t, s)
	flow := newFlow(t, s, a)
	sess := newSession(t, s, a.env.ID, a.user.ID)
	code := newCode(t, s, a, sess.ID, newID())
	rt := newRefresh(t, s, a, sess.ID, newID())
	bID := b.env.ID

	for _, tc := range []struct {
		name string
		call func(t *testing.T) error
	}{
		{"GetFlow", func(t *testing.T) error { _, err := s.GetFlow(ctx, bID, flow.ID); return err }},
		{"UpdateFlow", func(t *testing.T) error {
			f := *flow
			f.EnvironmentID, f.Status = bID, "HIJACKED"
			return s.UpdateFlow(ctx, &f)
		}},
		{"DeleteFlow", func(t *testing.T) error { return s.DeleteFlow(ctx, bID, flow.ID) }},
		{"GetSession", func(t *testing.T) error { _, err := s.GetSession(ctx, bID, sess.ID); return err }},
		{"GetSessionByToken", func(t *testing.T) error { _, err := s.GetSessionByToken(ctx, bID, sess.TokenHash); return err }},
		{"UpdateSession", func(t *testing.T) error {
			x := *sess
			x.EnvironmentID, x.TokenHash = bID, newHash()
			return s.UpdateSession(ctx, &x)
		}},
		{"DeleteSession", func(t *testing.T) error { return s.DeleteSession(ctx, bID, sess.ID) }},
		{"RedeemAuthCode", func(t *testing.T) error {
			c, err := s.RedeemAuthCode(ctx, bID, code.CodeHash, now(), newID(), now().Add(time.Hour))
			if c != nil {
				t.Errorf("RedeemAuthCode under B returned A's code")
			}
			return err
		}},
		{"GetRefreshToken", func(t *testing.T) error { _, err := s.GetRefreshToken(ctx, bID, rt.TokenHash); return err }},
		{"RotateRefreshToken", func(t *testing.T) error {
			next := mkRefresh(b, sess.ID, rt.GrantID)
			err := s.RotateRefreshToken(ctx, bID, rt.TokenHash, now(), next)
			if _, gerr := s.GetRefreshToken(ctx, bID, next.TokenHash); !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("a refused rotation stored its successor: GetRefreshToken = %v", gerr)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(t), store.ErrNotFound, tc.name+" under B")
		})
	}

	// Revocations are per environment too: B revoking A's grant, session or
	// jti touches nothing of A's.
	must(t, s.RevokeGrant(ctx, bID, rt.GrantID, now()), "RevokeGrant(B, A's grant)")
	must(t, s.RevokeSessionGrants(ctx, bID, sess.ID, now()), "RevokeSessionGrants(B, A's session)")
	must(t, s.RevokeTokenID(ctx, bID, rt.AccessJTI, now().Add(time.Hour)), "RevokeTokenID(B, A's jti)")
	wantRevoked(t, s, a.env.ID, false, "A's access token after B's revocations", rt.AccessJTI)
	jti := newID()
	must(t, s.RevokeTokenID(ctx, a.env.ID, jti, now().Add(time.Hour)), "RevokeTokenID(A)")
	wantRevoked(t, s, bID, false, "A's revoked jti under B", jti)
	key := "jti-" + newID()
	must(t, s.UseOnce(ctx, a.env.ID, key, now().Add(time.Hour)), "UseOnce(A)")
	must(t, s.UseOnce(ctx, bID, key, now().Add(time.Hour)), "UseOnce(B) with A's key")

	gotFlow, err := s.GetFlow(ctx, a.env.ID, flow.ID)
	must(t, err, "GetFlow(A) after B's attempts")
	checkRecord(t, "A's flow after B's attempts", gotFlow, flow)
	gotSess, err := s.GetSession(ctx, a.env.ID, sess.ID)
	must(t, err, "GetSession(A) after B's attempts")
	checkRecord(t, "A's session after B's attempts", gotSess, sess)
	checkRefresh(t, s, rt, "A's refresh token after B's attempts")
	// B's redemption attempt did not use A's code up.
	if _, err := s.RedeemAuthCode(ctx, a.env.ID, code.CodeHash, now(), newID(), now().Add(time.Hour)); err != nil {
		t.Errorf("RedeemAuthCode(A) after B's attempt: %v", err)
	}
}

// ---- authorization codes

func mkPushed(x authEnv) *store.PushedRequest {
	return &store.PushedRequest{URIHash: newHash(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID,
		Data: json.RawMessage(`{"response_type":"code","scope":"openid"}`), CreatedAt: now(), ExpiresAt: now().Add(time.Minute)}
}

// testPushedRequests: a pushed request is taken once, only by its own
// application in its own environment, expired or not.
func testPushedRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	other := newApp(t, s, x.env.ID, "Other")
	y := newAuthEnv(t, s)
	p := mkPushed(x)
	must(t, s.CreatePushedRequest(ctx, p), "CreatePushedRequest")
	dup := mkPushed(x)
	dup.URIHash = p.URIHash
	wantUnique(t, s.CreatePushedRequest(ctx, dup), "pushed request", "request_uri", "CreatePushedRequest with a taken hash")
	for _, tc := range []struct {
		name string
		edit func(p *store.PushedRequest)
	}{
		{"unknown environment", func(p *store.PushedRequest) { p.EnvironmentID = newID() }},
		{"unknown application", func(p *store.PushedRequest) { p.ApplicationID = newID() }},
	} {
		q := mkPushed(x)
		tc.edit(q)
		wantErr(t, s.CreatePushedRequest(ctx, q), store.ErrReferenced, "CreatePushedRequest for an "+tc.name)
	}
	// Another application or environment neither gets it nor uses it up.
	_, err := s.TakePushedRequest(ctx, x.env.ID, other.ID, p.URIHash)
	wantErr(t, err, store.ErrNotFound, "TakePushedRequest by another application")
	_, err = s.TakePushedRequest(ctx, y.env.ID, x.app.ID, p.URIHash)
	wantErr(t, err, store.ErrNotFound, "TakePushedRequest in another environment")
	got, err := s.TakePushedRequest(ctx, x.env.ID, x.app.ID, p.URIHash)
	must(t, err, "TakePushedRequest")
	checkRecord(t, "TakePushedRequest", got, *p)
	_, err = s.TakePushedRequest(ctx, x.env.ID, x.app.ID, p.URIHash)
	wantErr(t, err, store.ErrNotFound, "TakePushedRequest again")

	// An expired request is still returned: the caller refuses it.
	old := mkPushed(x)
	old.ExpiresAt = now().Add(-time.Second)
	must(t, s.CreatePushedRequest(ctx, old), "CreatePushedRequest(expired)")
	got, err = s.TakePushedRequest(ctx, x.env.ID, x.app.ID, old.URIHash)
	must(t, err, "TakePushedRequest(expired)")
	checkRecord(t, "TakePushedRequest(expired)", got, *old)

	// Of concurrent takes exactly one wins.
	race := mkPushed(x)
	must(t, s.CreatePushedRequest(ctx, race), "CreatePushedRequest(race)")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakePushedRequest(ctx, x.env.ID, x.app.ID, race.URIHash)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("TakePushedRequest(race): %v", err)
			}
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("concurrent takes: %d won, want 1", wins)
	}
}

func testAuthCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	sess := newSession(t, s, x.env.ID, x.user.ID)
	code := newCode(t, s, x, sess.ID, newID())
	bare := mkCode(x, "", newID())
	bare.Data = nil
	must(t, s.CreateAuthCode(ctx, bare), "CreateAuthCode without session or data")

	dup := mkCode(x, sess.ID, newID())
	dup.CodeHash = code.CodeHash
	wantUnique(t, s.CreateAuthCode(ctx, dup), "code", "code", "CreateAuthCode with a taken hash")
	for _, tc := range []struct {
		name string
		edit func(c *store.AuthCode)
	}{
		{"unknown environment", func(c *store.AuthCode) { c.EnvironmentID = newID() }},
		{"unknown application", func(c *store.AuthCode) { c.ApplicationID = newID() }},
		{"unknown user", func(c *store.AuthCode) { c.UserID = newID() }},
	} {
		c := mkCode(x, sess.ID, newID())
		tc.edit(c)
		wantErr(t, s.CreateAuthCode(ctx, c), store.ErrReferenced, "CreateAuthCode for an "+tc.name)
	}

	at, jti, exp := now(), newID(), now().Add(time.Hour)
	want := *code
	want.UsedAt, want.AccessJTI, want.AccessExpiresAt = at, jti, exp
	got, err := s.RedeemAuthCode(ctx, x.env.ID, code.CodeHash, at, jti, exp)
	must(t, err, "RedeemAuthCode")
	checkRecord(t, "RedeemAuthCode", got, want)

	// A replay gets the code as the first redemption left it, so the caller
	// can deny the access token that one issued.
	for i := range 2 {
		got, err = s.RedeemAuthCode(ctx, x.env.ID, code.CodeHash, at.Add(time.Second), newID(), exp.Add(time.Hour))
		wantErr(t, err, store.ErrConflict, fmt.Sprintf("RedeemAuthCode replay %d", i+1))
		checkRecord(t, fmt.Sprintf("RedeemAuthCode replay %d", i+1), got, want)
	}

	got, err = s.RedeemAuthCode(ctx, x.env.ID, newHash(), at, newID(), exp)
	wantErr(t, err, store.ErrNotFound, "RedeemAuthCode(unknown)")
	if got != nil {
		t.Errorf("RedeemAuthCode(unknown) returned %+v, want nil", got)
	}

	wantBare := *bare
	wantBare.UsedAt, wantBare.AccessJTI, wantBare.AccessExpiresAt = at, jti+"-bare", exp
	got, err = s.RedeemAuthCode(ctx, x.env.ID, bare.CodeHash, at, jti+"-bare", exp)
	must(t, err, "RedeemAuthCode(bare)")
	checkRecord(t, "RedeemAuthCode(bare)", got, wantBare)

	// A hybrid code keeps the access token issued beside it through its
	// redemption and every replay.
	hybrid := mkCode(x, sess.ID, newID())
	hybrid.FrontAccessJTI, hybrid.FrontAccessExpiresAt = newID(), now().Add(30*time.Minute)
	must(t, s.CreateAuthCode(ctx, hybrid), "CreateAuthCode with a front-channel access token")
	wantHybrid := *hybrid
	wantHybrid.UsedAt, wantHybrid.AccessJTI, wantHybrid.AccessExpiresAt = at, jti+"-hybrid", exp
	got, err = s.RedeemAuthCode(ctx, x.env.ID, hybrid.CodeHash, at, jti+"-hybrid", exp)
	must(t, err, "RedeemAuthCode(hybrid)")
	checkRecord(t, "RedeemAuthCode(hybrid)", got, wantHybrid)
	got, err = s.RedeemAuthCode(ctx, x.env.ID, hybrid.CodeHash, at.Add(time.Second), newID(), exp)
	wantErr(t, err, store.ErrConflict, "RedeemAuthCode(hybrid) replay")
	checkRecord(t, "RedeemAuthCode(hybrid) replay", got, wantHybrid)
}

// ---- refresh tokens

func testRefreshTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	sess := newSession(t, s, x.env.ID, x.user.ID)
	rt := newRefresh(t, s, x, sess.ID, newID())
	checkRefresh(t, s, rt, "GetRefreshToken")
	// A token may be stored already rotated or revoked (an import, say).
	old := mkRefresh(x, "", newID())
	old.Data, old.RotatedAt, old.RevokedAt = nil, now().Add(-time.Hour), now().Add(-time.Minute)
	must(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken rotated and revoked")
	checkRefresh(t, s, old, "GetRefreshToken(rotated and revoked)")

	_, err := s.GetRefreshToken(ctx, x.env.ID, newHash())
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(unknown)")
	dup := mkRefresh(x, sess.ID, newID())
	dup.TokenHash = rt.TokenHash
	wantUnique(t, s.CreateRefreshToken(ctx, dup), "refresh token", "token", "CreateRefreshToken with a taken hash")
	for _, tc := range []struct {
		name string
		edit func(r *store.RefreshToken)
	}{
		{"unknown environment", func(r *store.RefreshToken) { r.EnvironmentID = newID() }},
		{"unknown application", func(r *store.RefreshToken) { r.ApplicationID = newID() }},
		{"unknown user", func(r *store.RefreshToken) { r.UserID = newID() }},
	} {
		r := mkRefresh(x, sess.ID, newID())
		tc.edit(r)
		wantErr(t, s.CreateRefreshToken(ctx, r), store.ErrReferenced, "CreateRefreshToken for an "+tc.name)
	}
}

// testRefreshRotation runs rotations in order along one grant's chain.
func testRefreshRotation(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	sess := newSession(t, s, x.env.ID, x.user.ID)
	grant := newID()
	first := newRefresh(t, s, x, sess.ID, grant)
	revoked := mkRefresh(x, sess.ID, newID())
	revoked.RevokedAt = now()
	must(t, s.CreateRefreshToken(ctx, revoked), "CreateRefreshToken revoked")
	bystander := newRefresh(t, s, x, sess.ID, newID())

	var second *store.RefreshToken // first's successor, once rotated
	for _, tc := range []struct {
		name string
		old  func() *store.RefreshToken
		// next returns the successor to store; nil means a fresh one
		next    func() *store.RefreshToken
		wantErr error
	}{
		{"current token", func() *store.RefreshToken { return first }, nil, nil},
		{"successor", func() *store.RefreshToken { return second }, nil, nil},
		{"already rotated", func() *store.RefreshToken { return first }, nil, store.ErrConflict},
		{"revoked", func() *store.RefreshToken { return revoked }, nil, store.ErrConflict},
		{"unknown", func() *store.RefreshToken { return mkRefresh(x, sess.ID, grant) }, nil, store.ErrNotFound},
		// The mark and the insert are one transaction: a successor that
		// cannot be stored leaves the old token current.
		{"successor with a taken hash", func() *store.RefreshToken { return bystander }, func() *store.RefreshToken {
			n := mkRefresh(x, sess.ID, bystander.GrantID)
			n.TokenHash = first.TokenHash
			return n
		}, store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old()
			if old == nil {
				t.Fatal("an earlier case failed to rotate")
			}
			before, _ := s.GetRefreshToken(ctx, x.env.ID, old.TokenHash)
			next := mkRefresh(x, sess.ID, old.GrantID)
			if tc.next != nil {
				next = tc.next()
			}
			at := now().Add(time.Second)
			err := s.RotateRefreshToken(ctx, x.env.ID, old.TokenHash, at, next)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "RotateRefreshToken")
				if before != nil {
					checkRefresh(t, s, before, "old token after a refused rotation")
				}
				if tc.next == nil {
					_, err := s.GetRefreshToken(ctx, x.env.ID, next.TokenHash)
					wantErr(t, err, store.ErrNotFound, "successor of a refused rotation")
				}
				return
			}
			must(t, err, "RotateRefreshToken")
			want := *before
			want.RotatedAt = at
			checkRefresh(t, s, &want, "old token after rotation")
			checkRefresh(t, s, next, "successor after rotation")
			if second == nil {
				second = next
			}
		})
	}
}

// ---- revocation

// grantTokens is one grant's issued state: a redeemed code and a chain of
// two refresh tokens (the first rotated) whose access tokens are live, a
// hybrid code whose front-channel access token is live, and a refresh
// token and a hybrid code whose access tokens have already expired.
type grantTokens struct {
	id           string
	code         *store.AuthCode
	hybrid       *store.AuthCode       // its front-channel access token is live
	refresh      []*store.RefreshToken // live access tokens
	expired      *store.RefreshToken   // its access token expired before the revocation
	expiredFront *store.AuthCode       // its front-channel access token expired before the revocation
}

func (g *grantTokens) liveJTIs() []string {
	out := []string{g.code.AccessJTI, g.hybrid.FrontAccessJTI}
	for _, r := range g.refresh {
		out = append(out, r.AccessJTI)
	}
	return out
}

func (g *grantTokens) allRefresh() []*store.RefreshToken {
	return append(append([]*store.RefreshToken{}, g.refresh...), g.expired)
}

func newGrantTokens(t *testing.T, s store.Store, x authEnv, sessionID string) *grantTokens {
	t.Helper()
	ctx := t.Context()
	g := &grantTokens{id: newID()}
	c := newCode(t, s, x, sessionID, g.id)
	var err error
	g.code, err = s.RedeemAuthCode(ctx, x.env.ID, c.CodeHash, now(), newID(), now().Add(time.Hour))
	must(t, err, "RedeemAuthCode")
	newCode(t, s, x, sessionID, g.id) // never redeemed: it has no access token to deny
	// Hybrid codes: never redeemed, yet the authorization endpoint issued
	// an access token beside each.
	g.hybrid = mkCode(x, sessionID, g.id)
	g.hybrid.FrontAccessJTI, g.hybrid.FrontAccessExpiresAt = newID(), now().Add(time.Hour)
	must(t, s.CreateAuthCode(ctx, g.hybrid), "CreateAuthCode(hybrid)")
	g.expiredFront = mkCode(x, sessionID, g.id)
	g.expiredFront.FrontAccessJTI, g.expiredFront.FrontAccessExpiresAt = newID(), now().Add(-time.Minute)
	must(t, s.CreateAuthCode(ctx, g.expiredFront), "CreateAuthCode(hybrid, expired access token)")
	r1 := newRefresh(t, s, x, sessionID, g.id)
	r2 := mkRefresh(x, sessionID, g.id)
	at := now()
	must(t, s.RotateRefreshToken(ctx, x.env.ID, r1.TokenHash, at, r2), "RotateRefreshToken")
	r1.RotatedAt = at
	g.refresh = []*store.RefreshToken{r1, r2}
	g.expired = mkRefresh(x, sessionID, g.id)
	g.expired.AccessExpiresAt = now().Add(-time.Minute)
	must(t, s.CreateRefreshToken(ctx, g.expired), "CreateRefreshToken with an expired access token")
	return g
}

// testRevocation: sessions one and two hold grants; each case revokes some
// and the rest must be untouched.
func testRevocation(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		// revoke gets the grants g[0] and g[1] of session one and g[2] of
		// session two; it returns which of them it revoked.
		revoke func(t *testing.T, x authEnv, sessions []*store.Session, g []*grantTokens, at time.Time) []bool
	}{
		{"RevokeGrant", func(t *testing.T, x authEnv, _ []*store.Session, g []*grantTokens, at time.Time) []bool {
			must(t, s.RevokeGrant(t.Context(), x.env.ID, g[0].id, at), "RevokeGrant")
			return []bool{true, false, false}
		}},
		{"RevokeGrant twice", func(t *testing.T, x authEnv, _ []*store.Session, g []*grantTokens, at time.Time) []bool {
			must(t, s.RevokeGrant(t.Context(), x.env.ID, g[1].id, at), "RevokeGrant")
			// A second revocation keeps the first one's time.
			must(t, s.RevokeGrant(t.Context(), x.env.ID, g[1].id, at.Add(time.Minute)), "RevokeGrant again")
			return []bool{false, true, false}
		}},
		{"RevokeGrant unknown", func(t *testing.T, x authEnv, _ []*store.Session, _ []*grantTokens, at time.Time) []bool {
			must(t, s.RevokeGrant(t.Context(), x.env.ID, newID(), at), "RevokeGrant(unknown)")
			return []bool{false, false, false}
		}},
		{"RevokeSessionGrants", func(t *testing.T, x authEnv, sessions []*store.Session, _ []*grantTokens, at time.Time) []bool {
			must(t, s.RevokeSessionGrants(t.Context(), x.env.ID, sessions[0].ID, at), "RevokeSessionGrants")
			return []bool{true, true, false}
		}},
		{"RevokeSessionGrants other session", func(t *testing.T, x authEnv, sessions []*store.Session, _ []*grantTokens, at time.Time) []bool {
			must(t, s.RevokeSessionGrants(t.Context(), x.env.ID, sessions[1].ID, at), "RevokeSessionGrants")
			return []bool{false, false, true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			x := newAuthEnv(t, s)
			sessions := []*store.Session{newSession(t, s, x.env.ID, x.user.ID), newSession(t, s, x.env.ID, x.user.ID)}
			g := []*grantTokens{
				newGrantTokens(t, s, x, sessions[0].ID),
				newGrantTokens(t, s, x, sessions[0].ID),
				newGrantTokens(t, s, x, sessions[1].ID),
			}
			at := now().Add(time.Second)
			revoked := tc.revoke(t, x, sessions, g, at)

			for i, gt := range g {
				what := fmt.Sprintf("grant %d", i)
				for j, r := range gt.allRefresh() {
					want := *r
					if revoked[i] {
						want.RevokedAt = at
					}
					checkRefresh(t, s, &want, fmt.Sprintf("%s refresh token %d", what, j))
				}
				wantRevoked(t, s, x.env.ID, revoked[i], what+" live access tokens", gt.liveJTIs()...)
				// Nothing to deny for an access token that has already expired.
				wantRevoked(t, s, x.env.ID, false, what+" expired access token", gt.expired.AccessJTI)
				wantRevoked(t, s, x.env.ID, false, what+" expired front-channel access token", gt.expiredFront.FrontAccessJTI)
				if revoked[i] {
					err := s.RotateRefreshToken(ctx, x.env.ID, gt.refresh[1].TokenHash, now(), mkRefresh(x, gt.refresh[1].SessionID, gt.id))
					wantErr(t, err, store.ErrConflict, what+": RotateRefreshToken after revocation")
				}
			}
			wantRevoked(t, s, x.env.ID, false, "empty jti (unredeemed codes)", "")
		})
	}
}

func testRevokeTokenID(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	jti, exp := newID(), now().Add(time.Hour)
	wantRevoked(t, s, x.env.ID, false, "before RevokeTokenID", jti)
	for i := range 3 {
		// Later calls may name another expiry: still one revocation, no error.
		must(t, s.RevokeTokenID(ctx, x.env.ID, jti, exp.Add(time.Duration(i)*time.Minute)), fmt.Sprintf("RevokeTokenID call %d", i+1))
		wantRevoked(t, s, x.env.ID, true, fmt.Sprintf("after RevokeTokenID call %d", i+1), jti)
	}
	wantRevoked(t, s, x.env.ID, false, "another jti", newID())
	wantErr(t, s.RevokeTokenID(ctx, newID(), newID(), exp), store.ErrReferenced, "RevokeTokenID in an unknown environment")
}

// testAccessTokenState: the one read that says whether an access token
// still holds answers each of its questions as the separate reads would,
// in the environment asked about only.
func testAccessTokenState(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s)
	live := newSession(t, s, x.env.ID, x.user.ID)
	ended := mkSession(x.env.ID, x.user.ID)
	ended.ExpiresAt = now().Add(-time.Minute)
	must(t, s.CreateSession(ctx, ended), "CreateSession (ended)")
	disabled := newUser(t, s, x.env.ID, x.pop.ID, "bob")
	disabled.Enabled = false
	must(t, s.UpdateUser(ctx, disabled), "UpdateUser (disable)")
	revoked, exp := newID(), now().Add(time.Hour)
	must(t, s.RevokeTokenID(ctx, x.env.ID, revoked, exp), "RevokeTokenID")

	for _, c := range []struct {
		name                 string
		env, jti, sess, user string
		want                 store.TokenState
	}{
		{"nothing asked but the jti", x.env.ID, newID(), "", "", store.TokenState{}},
		{"live session, enabled user", x.env.ID, newID(), live.ID, x.user.ID, store.TokenState{SessionExpiresAt: live.ExpiresAt,
			SessionUsedAt: live.LastUsedAt, SessionAuthTime: live.AuthTime, UserEnabled: true}},
		{"revoked", x.env.ID, revoked, live.ID, x.user.ID, store.TokenState{Revoked: true, SessionExpiresAt: live.ExpiresAt,
			SessionUsedAt: live.LastUsedAt, SessionAuthTime: live.AuthTime, UserEnabled: true}},
		{"ended session (its expiry, the caller judges it)", x.env.ID, newID(), ended.ID, "", store.TokenState{SessionExpiresAt: ended.ExpiresAt,
			SessionUsedAt: ended.LastUsedAt, SessionAuthTime: ended.AuthTime}},
		{"unknown session", x.env.ID, newID(), newID(), "", store.TokenState{}},
		{"disabled user", x.env.ID, newID(), "", disabled.ID, store.TokenState{}},
		{"unknown user", x.env.ID, newID(), "", newID(), store.TokenState{}},
		{"another environment's view of it all", y.env.ID, revoked, live.ID, x.user.ID, store.TokenState{}},
		{"an unknown environment", newID(), revoked, live.ID, x.user.ID, store.TokenState{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.AccessTokenState(ctx, c.env, c.jti, c.sess, c.user)
			must(t, err, "AccessTokenState")
			if got.Revoked != c.want.Revoked || !got.SessionExpiresAt.Equal(c.want.SessionExpiresAt) || got.UserEnabled != c.want.UserEnabled ||
				!got.SessionUsedAt.Equal(c.want.SessionUsedAt) || !got.SessionAuthTime.Equal(c.want.SessionAuthTime) {
				t.Errorf("AccessTokenState = %+v, want %+v", *got, c.want)
			}
		})
	}
	must(t, s.DeleteSession(ctx, x.env.ID, live.ID), "DeleteSession")
	got, err := s.AccessTokenState(ctx, x.env.ID, newID(), live.ID, x.user.ID)
	must(t, err, "AccessTokenState after DeleteSession")
	if !got.SessionExpiresAt.IsZero() || !got.UserEnabled {
		t.Errorf("after DeleteSession: %+v, want no session, the user enabled", *got)
	}
}

func testUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	x, y := newAuthEnv(t, s), newAuthEnv(t, s)
	key, other, lapsed := "jti-"+newID(), "jti-"+newID(), "jti-"+newID()
	hour, past := now().Add(time.Hour), now().Add(-time.Second)
	for _, tc := range []struct {
		name    string
		envID   string
		key     string
		expires time.Time
		wantErr error
	}{
		{"first use", x.env.ID, key, hour, nil},
		{"second use", x.env.ID, key, hour, store.ErrConflict},
		{"second use with a later expiry", x.env.ID, key, hour.Add(time.Hour), store.ErrConflict},
		{"another key", x.env.ID, other, hour, nil},
		{"same key in another environment", y.env.ID, key, hour, nil},
		{"record that expires at once", x.env.ID, lapsed, past, nil},
		{"use after the record expired", x.env.ID, lapsed, hour, nil},
		{"use again before the new record expires", x.env.ID, lapsed, hour, store.ErrConflict},
		{"unknown environment", newID(), key, hour, store.ErrReferenced},
	} {
		err := s.UseOnce(ctx, tc.envID, tc.key, tc.expires)
		if tc.wantErr == nil {
			if err != nil {
				t.Errorf("UseOnce %s: %v", tc.name, err)
			}
		} else {
			wantErr(t, err, tc.wantErr, "UseOnce "+tc.name)
		}
	}
}

// ---- cascades

func testAuthUserDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	keep := x
	keep.user = newUser(t, s, x.env.ID, x.pop.ID, "bob")

	type state struct {
		sess *store.Session
		code *store.AuthCode
		rt   *store.RefreshToken
	}
	mk := func(x authEnv) state {
		sess := newSession(t, s, x.env.ID, x.user.ID)
		return state{sess, newCode(t, s, x, sess.ID, newID()), newRefresh(t, s, x, sess.ID, newID())}
	}
	gone, kept := mk(x), mk(keep)

	must(t, s.DeleteUser(ctx, x.env.ID, x.user.ID), "DeleteUser")
	_, err := s.GetSession(ctx, x.env.ID, gone.sess.ID)
	wantErr(t, err, store.ErrNotFound, "GetSession of a deleted user")
	_, err = s.GetSessionByToken(ctx, x.env.ID, gone.sess.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetSessionByToken of a deleted user")
	_, err = s.RedeemAuthCode(ctx, x.env.ID, gone.code.CodeHash, now(), newID(), now().Add(time.Hour))
	wantErr(t, err, store.ErrNotFound, "RedeemAuthCode of a deleted user")
	_, err = s.GetRefreshToken(ctx, x.env.ID, gone.rt.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken of a deleted user")

	got, err := s.GetSession(ctx, x.env.ID, kept.sess.ID)
	must(t, err, "GetSession of another user")
	checkRecord(t, "another user's session", got, kept.sess)
	checkRefresh(t, s, kept.rt, "another user's refresh token")
	if _, err := s.RedeemAuthCode(ctx, x.env.ID, kept.code.CodeHash, now(), newID(), now().Add(time.Hour)); err != nil {
		t.Errorf("RedeemAuthCode of another user: %v", err)
	}
}

func testAuthApplicationDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	keep := x
	keep.app = newApp(t, s, x.env.ID, "Kept")
	sess := newSession(t, s, x.env.ID, x.user.ID)
	flow, code, rt := newFlow(t, s, x), newCode(t, s, x, sess.ID, newID()), newRefresh(t, s, x, sess.ID, newID())
	kflow, kcode, krt := newFlow(t, s, keep), newCode(t, s, keep, sess.ID, newID()), newRefresh(t, s, keep, sess.ID, newID())

	must(t, s.DeleteApplication(ctx, x.env.ID, x.app.ID), "DeleteApplication")
	_, err := s.GetFlow(ctx, x.env.ID, flow.ID)
	wantErr(t, err, store.ErrNotFound, "GetFlow of a deleted application")
	_, err = s.RedeemAuthCode(ctx, x.env.ID, code.CodeHash, now(), newID(), now().Add(time.Hour))
	wantErr(t, err, store.ErrNotFound, "RedeemAuthCode of a deleted application")
	_, err = s.GetRefreshToken(ctx, x.env.ID, rt.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken of a deleted application")

	// The user's session is not the application's.
	got, err := s.GetSession(ctx, x.env.ID, sess.ID)
	must(t, err, "GetSession after DeleteApplication")
	checkRecord(t, "session after DeleteApplication", got, sess)
	gotFlow, err := s.GetFlow(ctx, x.env.ID, kflow.ID)
	must(t, err, "GetFlow of another application")
	checkRecord(t, "another application's flow", gotFlow, kflow)
	checkRefresh(t, s, krt, "another application's refresh token")
	if _, err := s.RedeemAuthCode(ctx, x.env.ID, kcode.CodeHash, now(), newID(), now().Add(time.Hour)); err != nil {
		t.Errorf("RedeemAuthCode of another application: %v", err)
	}
}

// ---- races

// testAuthRaces: many callers contend for one single-use thing at once;
// exactly one wins and every other gets ErrConflict.
func testAuthRaces(t *testing.T, s store.Store) {
	const n = 20
	for _, tc := range []struct {
		name string
		// setup stores what the racers contend for; it returns racer i's
		// move and a check of the end state once winner has won.
		setup func(t *testing.T, x authEnv) (race func(i int) error, check func(t *testing.T, winner int))
	}{
		{"RedeemAuthCode", func(t *testing.T, x authEnv) (func(int) error, func(*testing.T, int)) {
			code := newCode(t, s, x, "", newID())
			at, exp := now(), now().Add(time.Hour)
			jtis, got := make([]string, n), make([]*store.AuthCode, n)
			for i := range jtis {
				jtis[i] = newID()
			}
			return func(i int) error {
					var err error
					got[i], err = s.RedeemAuthCode(t.Context(), x.env.ID, code.CodeHash, at, jtis[i], exp)
					return err
				}, func(t *testing.T, winner int) {
					want := *code
					want.UsedAt, want.AccessJTI, want.AccessExpiresAt = at, jtis[winner], exp
					for i := range got {
						// Winner and losers alike see the winner's access token.
						checkRecord(t, fmt.Sprintf("racer %d's code", i), got[i], want)
					}
				}
		}},
		{"RotateRefreshToken", func(t *testing.T, x authEnv) (func(int) error, func(*testing.T, int)) {
			old := newRefresh(t, s, x, "", newID())
			at := now()
			next := make([]*store.RefreshToken, n)
			for i := range next {
				next[i] = mkRefresh(x, "", old.GrantID)
			}
			return func(i int) error {
					return s.RotateRefreshToken(t.Context(), x.env.ID, old.TokenHash, at, next[i])
				}, func(t *testing.T, winner int) {
					want := *old
					want.RotatedAt = at
					checkRefresh(t, s, &want, "the rotated token")
					for i, r := range next {
						if i == winner {
							checkRefresh(t, s, r, "the winner's successor")
							continue
						}
						_, err := s.GetRefreshToken(t.Context(), x.env.ID, r.TokenHash)
						wantErr(t, err, store.ErrNotFound, fmt.Sprintf("racer %d's successor", i))
					}
				}
		}},
		{"UpdateFlow", func(t *testing.T, x authEnv) (func(int) error, func(*testing.T, int)) {
			f := newFlow(t, s, x)
			steps := make([]store.Flow, n)
			for i := range steps {
				steps[i] = *f
				steps[i].Status = fmt.Sprintf("STEP_%d", i)
			}
			return func(i int) error {
					return s.UpdateFlow(t.Context(), &steps[i])
				}, func(t *testing.T, winner int) {
					got, err := s.GetFlow(t.Context(), x.env.ID, f.ID)
					must(t, err, "GetFlow")
					checkRecord(t, "the flow after the race", got, steps[winner])
				}
		}},
		{"UseOnce", func(t *testing.T, x authEnv) (func(int) error, func(*testing.T, int)) {
			key, exp := "jti-"+newID(), now().Add(time.Hour)
			return func(int) error {
					return s.UseOnce(t.Context(), x.env.ID, key, exp)
				}, func(t *testing.T, _ int) {
					wantErr(t, s.UseOnce(t.Context(), x.env.ID, key, exp), store.ErrConflict, "UseOnce after the race")
				}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			race, check := tc.setup(t, newAuthEnv(t, s))
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					errs[i] = race(i)
				})
			}
			close(start)
			wg.Wait()
			winner, won := -1, 0
			for i, err := range errs {
				switch {
				case err == nil:
					winner, won = i, won+1
				case errors.Is(err, store.ErrConflict):
				default:
					t.Errorf("racer %d: %v, want nil or ErrConflict", i, err)
				}
			}
			if won != 1 {
				t.Fatalf("%d racers won, want exactly 1", won)
			}
			check(t, winner)
		})
	}
}

// ---- sweeps (suite entries of their own: they see every environment)

// testAuthPurge stores expired and live rows of every kind and purges in
// batches of limit.
func testAuthPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s) // expiry is global: a sweep reaches every environment
	clock := now()
	past, future := clock.Add(-time.Hour), clock.Add(time.Hour)
	const expiredPerKind = 3

	type row struct {
		kind   string
		exists func() bool
	}
	var expired, live []row
	found := func(err error) bool {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("lookup: %v", err)
		}
		return err == nil
	}
	add := func(expires time.Time, x authEnv) {
		sess := mkSession(x.env.ID, x.user.ID)
		sess.ExpiresAt = expires
		must(t, s.CreateSession(ctx, sess), "CreateSession")
		f := mkFlow(x)
		f.ExpiresAt = expires
		must(t, s.CreateFlow(ctx, f), "CreateFlow")
		c := mkCode(x, sess.ID, newID())
		c.ExpiresAt = expires
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		r := mkRefresh(x, sess.ID, newID())
		r.AccessExpiresAt, r.ExpiresAt, r.FamilyExpiresAt = expires, expires, expires
		must(t, s.CreateRefreshToken(ctx, r), "CreateRefreshToken")
		jti := newID()
		must(t, s.RevokeTokenID(ctx, x.env.ID, jti, expires), "RevokeTokenID")
		par := mkPushed(x)
		par.ExpiresAt = expires
		must(t, s.CreatePushedRequest(ctx, par), "CreatePushedRequest")
		dev := mkDevice(x)
		dev.ExpiresAt = expires
		must(t, s.CreateDeviceAuthorization(ctx, dev), "CreateDeviceAuthorization")
		key := "jti-" + newID()
		must(t, s.UseOnce(ctx, x.env.ID, key, expires), "UseOnce")
		// An unknown username's count expires a window after its failure.
		unknown := newHash()
		_, err := s.RecordUnknownUserFailure(ctx, x.env.ID, unknown, 5, time.Minute, time.Hour, expires.Add(-time.Hour))
		must(t, err, "RecordUnknownUserFailure")

		rows := []row{
			{"session", func() bool { _, err := s.GetSession(ctx, x.env.ID, sess.ID); return found(err) }},
			{"flow", func() bool { _, err := s.GetFlow(ctx, x.env.ID, f.ID); return found(err) }},
			{"code", func() bool {
				// A redemption tells whether the code is there; it is
				// harmless, each code being checked once.
				_, err := s.RedeemAuthCode(ctx, x.env.ID, c.CodeHash, clock, newID(), future)
				return found(err)
			}},
			{"refresh token", func() bool { _, err := s.GetRefreshToken(ctx, x.env.ID, r.TokenHash); return found(err) }},
			{"pushed request", func() bool {
				// Taking it tells whether it is there; each is checked once.
				_, err := s.TakePushedRequest(ctx, x.env.ID, x.app.ID, par.URIHash)
				return found(err)
			}},
			{"device authorization", func() bool {
				_, err := s.GetDeviceAuthorization(ctx, x.env.ID, dev.DeviceCodeHash)
				return found(err)
			}},
			{"revocation", func() bool {
				ok, err := s.IsTokenRevoked(ctx, x.env.ID, jti)
				must(t, err, "IsTokenRevoked")
				return ok
			}},
			{"once-key", func() bool {
				// Only a live record makes a second use conflict; a purged
				// or expired one lets it through (and records it anew).
				err := s.UseOnce(ctx, x.env.ID, key, future)
				if err != nil && !errors.Is(err, store.ErrConflict) {
					t.Errorf("UseOnce: %v", err)
				}
				return err != nil
			}},
			{"unknown username's failures", func() bool {
				// Read at the row's failure time: only the purge removes it then.
				_, err := s.GetUnknownUserFailures(ctx, x.env.ID, unknown, expires.Add(-time.Hour))
				return found(err)
			}},
		}
		if expires.Before(clock) {
			expired = append(expired, rows...)
		} else {
			live = append(live, rows...)
		}
	}
	for i := range expiredPerKind {
		add(past, []authEnv{x, y}[i%2])
	}
	add(future, x)
	add(future, y)
	kinds := len(live) / 2

	// Each call takes at most limit rows of each kind.
	for _, tc := range []struct {
		limit int
		want  int
	}{
		{2, 2 * kinds},
		{2, (expiredPerKind - 2) * kinds},
		{2, 0},
		{100, 0},
	} {
		n, err := s.PurgeExpired(ctx, clock, tc.limit)
		must(t, err, "PurgeExpired")
		if n != tc.want {
			t.Errorf("PurgeExpired(limit %d) = %d, want %d", tc.limit, n, tc.want)
		}
	}
	for _, r := range live {
		if !r.exists() {
			t.Errorf("a live %s was purged", r.kind)
		}
	}
	for _, r := range expired {
		if r.kind == "once-key" {
			continue // absent or expired answer alike; the counts above tell
		}
		if r.exists() {
			t.Errorf("an expired %s was not purged", r.kind)
		}
	}
}

// testAuthEnvironmentDelete: deleting an environment takes every row of its
// auth state with it and leaves another environment's alone.
func testAuthEnvironmentDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	type state struct {
		x    authEnv
		flow *store.Flow
		sess *store.Session
		code *store.AuthCode
		rt   *store.RefreshToken
		jti  string
		key  string
	}
	mk := func() state {
		x := newAuthEnv(t, s)
		st := state{x: x, flow: newFlow(t, s, x), sess: newSession(t, s, x.env.ID, x.user.ID), jti: newID(), key: "jti-" + newID()}
		st.code = newCode(t, s, x, st.sess.ID, newID())
		st.rt = newRefresh(t, s, x, st.sess.ID, st.code.GrantID)
		must(t, s.RevokeTokenID(ctx, x.env.ID, st.jti, now().Add(time.Hour)), "RevokeTokenID")
		must(t, s.UseOnce(ctx, x.env.ID, st.key, now().Add(time.Hour)), "UseOnce")
		_, err := s.RecordUnknownUserFailure(ctx, x.env.ID, st.key, 5, time.Minute, time.Hour, now())
		must(t, err, "RecordUnknownUserFailure")
		return st
	}
	gone, kept := mk(), mk()
	// One flow, session, code, refresh token, revocation, once-key and
	// unknown username's failure count.
	const rowsPerEnv = 7

	must(t, s.DeleteEnvironment(ctx, gone.x.env.ID), "DeleteEnvironment")
	envID := gone.x.env.ID
	_, err := s.GetFlow(ctx, envID, gone.flow.ID)
	wantErr(t, err, store.ErrNotFound, "GetFlow after DeleteEnvironment")
	_, err = s.GetSession(ctx, envID, gone.sess.ID)
	wantErr(t, err, store.ErrNotFound, "GetSession after DeleteEnvironment")
	_, err = s.RedeemAuthCode(ctx, envID, gone.code.CodeHash, now(), newID(), now().Add(time.Hour))
	wantErr(t, err, store.ErrNotFound, "RedeemAuthCode after DeleteEnvironment")
	_, err = s.GetRefreshToken(ctx, envID, gone.rt.TokenHash)
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken after DeleteEnvironment")
	wantRevoked(t, s, envID, false, "revocation after DeleteEnvironment", gone.jti)
	_, err = s.GetUnknownUserFailures(ctx, envID, gone.key, now())
	wantErr(t, err, store.ErrNotFound, "GetUnknownUserFailures after DeleteEnvironment")

	gotFlow, err := s.GetFlow(ctx, kept.x.env.ID, kept.flow.ID)
	must(t, err, "GetFlow of the other environment")
	checkRecord(t, "the other environment's flow", gotFlow, kept.flow)
	gotSess, err := s.GetSession(ctx, kept.x.env.ID, kept.sess.ID)
	must(t, err, "GetSession of the other environment")
	checkRecord(t, "the other environment's session", gotSess, kept.sess)
	checkRefresh(t, s, kept.rt, "the other environment's refresh token")
	wantRevoked(t, s, kept.x.env.ID, true, "the other environment's revocation", kept.jti)
	wantErr(t, s.UseOnce(ctx, kept.x.env.ID, kept.key, now().Add(time.Hour)), store.ErrConflict, "the other environment's once-key")

	// The store is this test's alone: sweeping everything that will ever
	// expire counts what is left, which must be the other environment's
	// rows only (the revocations and once-keys have no getter).
	n, err := s.PurgeExpired(ctx, now().AddDate(1000, 0, 0), 1000)
	must(t, err, "PurgeExpired of everything")
	if n != rowsPerEnv {
		t.Errorf("rows left after DeleteEnvironment = %d, want the other environment's %d", n, rowsPerEnv)
	}
}

// testRefreshSibling: a token rotated within its grace period may get a
// sibling while its grant is live, never after the grant was revoked, and
// a revocation racing the sibling always ends with both revoked.
func testRefreshSibling(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	old := newRefresh(t, s, x, "sess-1", "grant-1")
	next := mkRefresh(x, "sess-1", "grant-1")
	must(t, s.RotateRefreshToken(ctx, x.env.ID, old.TokenHash, store.Now(), next), "RotateRefreshToken")
	sib := mkRefresh(x, "sess-1", "grant-1")
	must(t, s.AddRefreshSibling(ctx, x.env.ID, old.TokenHash, sib), "AddRefreshSibling")
	if _, err := s.GetRefreshToken(ctx, x.env.ID, sib.TokenHash); err != nil {
		t.Fatalf("sibling not stored: %v", err)
	}
	wantErr(t, s.AddRefreshSibling(ctx, x.env.ID, "no-such-token", mkRefresh(x, "sess-1", "grant-1")), store.ErrNotFound, "unknown token")
	must(t, s.RevokeGrant(ctx, x.env.ID, "grant-1", store.Now()), "RevokeGrant")
	late := mkRefresh(x, "sess-1", "grant-1")
	wantErr(t, s.AddRefreshSibling(ctx, x.env.ID, old.TokenHash, late), store.ErrConflict, "sibling of a revoked token")
	if _, err := s.GetRefreshToken(ctx, x.env.ID, late.TokenHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused sibling was stored: %v", err)
	}

	// Races: whichever wins, no live token of the grant survives.
	for i := range 10 {
		grant := fmt.Sprintf("race-%d", i)
		base := newRefresh(t, s, x, "sess-2", grant)
		n := mkRefresh(x, "sess-2", grant)
		must(t, s.RotateRefreshToken(ctx, x.env.ID, base.TokenHash, store.Now(), n), "RotateRefreshToken")
		sib := mkRefresh(x, "sess-2", grant)
		var wg sync.WaitGroup
		var sibErr, revErr error
		wg.Add(2)
		go func() { defer wg.Done(); sibErr = s.AddRefreshSibling(ctx, x.env.ID, base.TokenHash, sib) }()
		go func() { defer wg.Done(); revErr = s.RevokeGrant(ctx, x.env.ID, grant, store.Now()) }()
		wg.Wait()
		must(t, revErr, "RevokeGrant")
		if sibErr != nil && !errors.Is(sibErr, store.ErrConflict) {
			t.Fatalf("AddRefreshSibling: %v", sibErr)
		}
		if got, err := s.GetRefreshToken(ctx, x.env.ID, sib.TokenHash); err == nil && got.RevokedAt.IsZero() {
			t.Fatalf("race %d: a sibling outlived the revocation of its grant", i)
		}
	}
}
