package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	suite = append(suite,
		struct {
			name string
			run  func(*testing.T, store.Store)
		}{"UserSessions", testUserSessions},
		struct {
			name string
			run  func(*testing.T, store.Store)
		}{"EndUserSession", testEndUserSession},
	)
}

// testUserSessions: a user's sessions list most recently active first, in
// their environment and for their user only; a touch moves only the last
// use and the expiry.
func testUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s)
	bob := newUser(t, s, x.env.ID, x.pop.ID, "bob")
	older := mkSession(x.env.ID, x.user.ID)
	older.LastUsedAt = now().Add(-time.Hour)
	must(t, s.CreateSession(ctx, older), "CreateSession (older)")
	newer := newSession(t, s, x.env.ID, x.user.ID)
	newSession(t, s, x.env.ID, bob.ID)
	newSession(t, s, y.env.ID, y.user.ID)

	got, err := s.ListUserSessions(ctx, x.env.ID, x.user.ID)
	must(t, err, "ListUserSessions")
	if len(got) != 2 || got[0].ID != newer.ID || got[1].ID != older.ID {
		t.Fatalf("ListUserSessions = %v, want [%s %s]", ids(got), newer.ID, older.ID)
	}
	if g := got[1]; g.UserID != x.user.ID || !g.LastUsedAt.Equal(older.LastUsedAt) || !g.AuthTime.Equal(older.AuthTime) ||
		!g.ExpiresAt.Equal(older.ExpiresAt) || len(g.AMR) != 2 {
		t.Errorf("listed session = %+v, want %+v", g, *older)
	}
	for _, c := range []struct{ name, env, user string }{
		{"another environment's user asked in this one", x.env.ID, y.user.ID},
		{"this environment's user asked in another", y.env.ID, x.user.ID},
		{"an unknown user", x.env.ID, newID()},
	} {
		got, err := s.ListUserSessions(ctx, c.env, c.user)
		must(t, err, c.name)
		if len(got) != 0 {
			t.Errorf("%s: %v, want none", c.name, ids(got))
		}
	}

	used, exp := now().Add(time.Minute), now().Add(2*time.Hour)
	must(t, s.TouchSession(ctx, x.env.ID, older.ID, used, exp), "TouchSession")
	g, err := s.GetSession(ctx, x.env.ID, older.ID)
	must(t, err, "GetSession after TouchSession")
	if !g.LastUsedAt.Equal(used) || !g.ExpiresAt.Equal(exp) || !g.AuthTime.Equal(older.AuthTime) || g.TokenHash != older.TokenHash {
		t.Errorf("after TouchSession: %+v", g)
	}
	got, _ = s.ListUserSessions(ctx, x.env.ID, x.user.ID)
	if len(got) != 2 || got[0].ID != older.ID {
		t.Errorf("after the touch the touched session lists first: %v", ids(got))
	}
	wantErr(t, s.TouchSession(ctx, y.env.ID, older.ID, used, exp), store.ErrNotFound, "TouchSession from another environment")
	wantErr(t, s.TouchSession(ctx, x.env.ID, newID(), used, exp), store.ErrNotFound, "TouchSession of an unknown session")

	// A session whose expiry has passed stays ended: a use checked while it
	// was live but written after it expired (or any late writer) must not
	// move its expiry on.
	dead := mkSession(x.env.ID, x.user.ID)
	dead.LastUsedAt, dead.ExpiresAt = now().Add(-2*time.Hour), now().Add(-time.Minute)
	must(t, s.CreateSession(ctx, dead), "CreateSession (expired)")
	wantErr(t, s.TouchSession(ctx, x.env.ID, dead.ID, now(), now().Add(time.Hour)), store.ErrNotFound, "TouchSession of an expired session")
	if g, err := s.GetSession(ctx, x.env.ID, dead.ID); err != nil || !g.ExpiresAt.Equal(dead.ExpiresAt) || !g.LastUsedAt.Equal(dead.LastUsedAt) {
		t.Errorf("an expired session after a touch: %+v, %v; want its expiry %v kept", g, err, dead.ExpiresAt)
	}
}

// testEndUserSession: ending a session deletes it and revokes its grants,
// for its own user and environment only.
func testEndUserSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s)
	sess := newSession(t, s, x.env.ID, x.user.ID)
	other := newSession(t, s, x.env.ID, x.user.ID)
	rt := newRefresh(t, s, x, sess.ID, newID())
	kept := newRefresh(t, s, x, other.ID, newID())

	bob := newUser(t, s, x.env.ID, x.pop.ID, "bob")
	wantErr(t, s.EndUserSession(ctx, x.env.ID, bob.ID, sess.ID, now()), store.ErrNotFound, "EndUserSession of another user's session")
	wantErr(t, s.EndUserSession(ctx, y.env.ID, x.user.ID, sess.ID, now()), store.ErrNotFound, "EndUserSession from another environment")
	wantErr(t, s.EndUserSession(ctx, x.env.ID, x.user.ID, newID(), now()), store.ErrNotFound, "EndUserSession of an unknown session")
	if _, err := s.GetSession(ctx, x.env.ID, sess.ID); err != nil {
		t.Fatalf("a refused EndUserSession touched the session: %v", err)
	}

	must(t, s.EndUserSession(ctx, x.env.ID, x.user.ID, sess.ID, now()), "EndUserSession")
	_, err := s.GetSession(ctx, x.env.ID, sess.ID)
	wantErr(t, err, store.ErrNotFound, "GetSession after EndUserSession")
	got, err := s.GetRefreshToken(ctx, x.env.ID, rt.TokenHash)
	must(t, err, "GetRefreshToken of the ended session")
	if got.RevokedAt.IsZero() {
		t.Error("the ended session's refresh token is not revoked")
	}
	got, err = s.GetRefreshToken(ctx, x.env.ID, kept.TokenHash)
	must(t, err, "GetRefreshToken of the other session")
	if !got.RevokedAt.IsZero() {
		t.Error("another session's refresh token was revoked")
	}
	wantErr(t, s.EndUserSession(ctx, x.env.ID, x.user.ID, sess.ID, now()), store.ErrNotFound, "EndUserSession again")
}
