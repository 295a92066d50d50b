package authsvc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testRevoke: RFC 7009 for refresh and access tokens, and the 200 that
// hides everything a client must not learn.
func (fx *grantFixture) testRevoke(t *testing.T) {
	ctx := context.Background()
	revoke := func(c oauthClient, kv ...string) {
		t.Helper()
		r := fx.clientPost(t, fx.env, "/as/revoke", c, kv...)
		if r.Status != 200 || len(r.Body) != 0 {
			t.Fatalf("revoke: %d %q", r.Status, r.Body)
		}
	}
	sessionGone := func(sid string) bool {
		_, err := fx.s.Store.GetSession(ctx, fx.env, sid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err != nil
	}

	t.Run("refresh token ends its grant and its session", func(t *testing.T) {
		a, sid, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		// A second grant in the same session (another application).
		v := newVerifier()
		code := fx.code(t, codeSpec{app: fx.graceApp.id, user: fx.user, session: sid, grant: fxGrant(v)})
		b := fx.exchange(t, fx.env, fx.graceApp, code, v)
		revoke(fx.web, "token", a.Refresh, "token_type_hint", "refresh_token")
		if !sessionGone(sid) {
			t.Error("the session survived")
		}
		for _, tok := range []string{a.Access, a.Refresh} {
			if fx.active(t, fx.web, tok) {
				t.Error("a token of the revoked grant is active")
			}
		}
		if fx.active(t, fx.graceApp, b.Refresh) || fx.active(t, fx.graceApp, b.Access) {
			t.Error("a token of another grant of the ended session is active")
		}
		r := fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", a.Refresh)
		wantOAuthError(t, r, 400, "invalid_grant")
	})

	t.Run("access token", func(t *testing.T) {
		a, sid, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		revoke(fx.web, "token", a.Access, "token_type_hint", "access_token")
		if fx.active(t, fx.web, a.Access) {
			t.Error("revoked access token is active")
		}
		// Only that token: the grant and session go on.
		if sessionGone(sid) || !fx.active(t, fx.web, a.Refresh) {
			t.Error("revoking an access token ended more than it")
		}
		if r := fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", a.Refresh); r.Status != 200 {
			t.Errorf("refresh after revoking the access token: %d %s", r.Status, r.Body)
		}
	})

	t.Run("another client's tokens are left alone", func(t *testing.T) {
		a, sid, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		revoke(fx.graceApp, "token", a.Refresh)
		revoke(fx.graceApp, "token", a.Access)
		if !fx.active(t, fx.web, a.Refresh) || !fx.active(t, fx.web, a.Access) || sessionGone(sid) {
			t.Error("another client revoked the tokens")
		}
	})

	t.Run("unknown tokens", func(t *testing.T) {
		revoke(fx.web, "token", "no-such-token")
		revoke(fx.web, "token", "a.b.c")
		revoke(fx.web, "token", uuid.NewString(), "token_type_hint", "refresh_token")
	})

	t.Run("public client", func(t *testing.T) {
		a, _, _ := fx.signedOn(t, fx.native, fx.user, fxGrant(""))
		revoke(fx.native, "token", a.Refresh)
		if fx.active(t, fx.native, a.Refresh) {
			t.Error("public client could not revoke its refresh token")
		}
	})

	t.Run("management API", func(t *testing.T) {
		// A worker made by the admin gets the admin's roles over the
		// environment: a good token reads, a refused one is 401.
		mgmt := func(tok string) int {
			return do(t, fx.s, apptest.Request{Method: "GET", URL: "/environments/" + fx.env + "/populations", Token: tok}).Status
		}
		cc := fx.s.TokenFor(t, fx.env, fx.worker.id, fx.worker.secret)
		if got := mgmt(cc); got != 200 {
			t.Fatalf("worker token before revocation: %d", got)
		}
		revoke(fx.worker, "token", cc)
		if got := mgmt(cc); got != 401 {
			t.Errorf("revoked worker token: %d, want 401", got)
		}
		// A user's token acts for the user, never with the roles of the
		// application it was issued to.
		a, _, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		if got := mgmt(a.Access); got != 401 {
			t.Errorf("user token on the management API: %d, want 401", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/revoke", fx.web, "token", "x", "token_type_hint", "id_token"), 400, "unsupported_token_type")
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/revoke", fx.web), 400, "invalid_request")
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/revoke", oauthClient{id: fx.web.id, secret: "wrong"}, "token", "x"), 401, "invalid_client")
		wantOAuthError(t, fx.clientPost(t, fx.other, "/as/revoke", fx.web, "token", "x"), 401, "invalid_client")
	})
}
