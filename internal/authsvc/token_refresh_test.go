package authsvc_test

import (
	"context"
	"testing"
	"time"
)

// testRefresh: rotation, reuse after rotation, scope narrowing, and the
// refusals of the refresh_token grant.
func (fx *grantFixture) testRefresh(t *testing.T) {
	ctx := context.Background()
	refresh := func(c oauthClient, rt string, kv ...string) (int, map[string]any) {
		t.Helper()
		r := fx.tokenReq(t, fx.env, c, append([]string{"grant_type", "refresh_token", "refresh_token", rt}, kv...)...)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
		}
		return r.Status, r.JSON(t)
	}
	wantErr := func(c oauthClient, rt, code string, status int, kv ...string) {
		t.Helper()
		r := fx.tokenReq(t, fx.env, c, append([]string{"grant_type", "refresh_token", "refresh_token", rt}, kv...)...)
		wantOAuthError(t, r, status, code)
	}

	t.Run("rotation", func(t *testing.T) {
		first, sid, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		status, b := refresh(fx.web, first.Refresh)
		if status != 200 {
			t.Fatalf("refresh: %d %v", status, b)
		}
		if got := keysOf(b); !equalStrings(got, "access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type") {
			t.Errorf("members = %v", got)
		}
		second := b["refresh_token"].(string)
		if second == first.Refresh || b["access_token"] == first.Access || b["scope"] != "openid profile email address phone" || b["expires_in"] != float64(3600) {
			t.Errorf("refresh response = %v", b)
		}
		at := payload(t, b["access_token"].(string))
		if at["sid"] != sid || at["sub"] != fx.user || at["acr"] != "Single_Factor" {
			t.Errorf("refreshed access token = %v", at)
		}
		id := payload(t, b["id_token"].(string))
		if _, ok := id["nonce"]; ok {
			t.Errorf("refreshed ID token carries the nonce: %v", id)
		}
		if id["auth_time"] != at["auth_time"] || id["sid"] != sid || id["email"] != "ada@example.com" {
			t.Errorf("refreshed ID token = %v", id)
		}
		if fx.active(t, fx.web, first.Refresh) || !fx.active(t, fx.web, second) {
			t.Fatal("after rotation the old token must be inactive and the new one active")
		}
		// The first access token still works: rotation revokes nothing.
		if !fx.active(t, fx.web, first.Access) {
			t.Error("rotation revoked the first access token")
		}

		// Reuse of the rotated token: the whole grant goes.
		wantErr(fx.web, first.Refresh, "invalid_grant", 400)
		wantErr(fx.web, second, "invalid_grant", 400)
		for _, tok := range []string{first.Access, b["access_token"].(string), second} {
			if fx.active(t, fx.web, tok) {
				t.Error("a token of a replayed grant is still active")
			}
		}
	})

	t.Run("scope", func(t *testing.T) {
		first, _, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		wantErr(fx.web, first.Refresh, "invalid_scope", 400, "scope", "openid profile admin")
		status, b := refresh(fx.web, first.Refresh, "scope", "profile openid")
		if status != 200 || b["scope"] != "profile openid" {
			t.Fatalf("narrowed refresh: %d %v", status, b)
		}
		id := payload(t, b["id_token"].(string))
		if _, ok := id["email"]; ok {
			t.Errorf("narrowed ID token still has email: %v", id)
		}
		if payload(t, b["access_token"].(string))["scope"] != "profile openid" {
			t.Error("access token scope not narrowed")
		}
		// The next refresh token keeps the whole grant (RFC 6749 §6).
		status, b = refresh(fx.web, b["refresh_token"].(string))
		if status != 200 || b["scope"] != "openid profile email address phone" {
			t.Fatalf("refresh after narrowing: %d %v", status, b)
		}
		// Without openid, no ID token.
		status, b = refresh(fx.web, b["refresh_token"].(string), "scope", "email")
		if _, ok := b["id_token"]; status != 200 || ok {
			t.Errorf("refresh without openid: %d %v", status, b)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		first, sid, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
		wantErr(fx.web, "not-a-token", "invalid_grant", 400)
		wantErr(fx.web, "", "invalid_request", 400)
		wantErr(oauthClient{id: fx.web.id, secret: "nope"}, first.Refresh, "invalid_client", 401)
		wantErr(fx.web2, first.Refresh, "unauthorized_client", 400) // web2 has no REFRESH_TOKEN
		wantErr(fx.graceApp, first.Refresh, "invalid_grant", 400)   // another client's token…
		if !fx.active(t, fx.web, first.Refresh) {
			t.Fatal("another client's attempt revoked the token") // …revokes nothing
		}
		// Another environment does not know the token.
		r := fx.tokenReq(t, fx.other, fx.otherWeb, "grant_type", "refresh_token", "refresh_token", first.Refresh)
		wantOAuthError(t, r, 400, "invalid_grant")

		// The session ends without a sign-off (purged, deleted): PingOne
		// judges a refresh token by its session, so the token is refused.
		if err := fx.s.Store.DeleteSession(ctx, fx.env, sid); err != nil {
			t.Fatal(err)
		}
		wantErr(fx.web, first.Refresh, "invalid_grant", 400)
	})

	t.Run("family expired", func(t *testing.T) {
		// Signed on 181 days ago: past refreshTokenRollingDuration (180 days).
		g := fxGrant("")
		g.AuthTime = time.Now().Add(-181 * 24 * time.Hour).Unix()
		first, _, _ := fx.signedOn(t, fx.web, fx.user, g)
		if first.Refresh == "" {
			t.Fatal("no refresh token")
		}
		wantErr(fx.web, first.Refresh, "invalid_grant", 400)
	})

	t.Run("public client", func(t *testing.T) {
		first, _, _ := fx.signedOn(t, fx.native, fx.user, fxGrant(""))
		status, b := refresh(fx.native, first.Refresh)
		if status != 200 || b["refresh_token"] == "" {
			t.Fatalf("public refresh: %d %v", status, b)
		}
	})
}

// testRefreshGrace: within refreshTokenRollingGracePeriodDuration a rotated
// token may be used again (a client refreshing in parallel) without
// revoking the grant.
func (fx *grantFixture) testRefreshGrace(t *testing.T) {
	first, _, _ := fx.signedOn(t, fx.graceApp, fx.user, fxGrant(""))
	var next []string
	for range 2 {
		r := fx.tokenReq(t, fx.env, fx.graceApp, "grant_type", "refresh_token", "refresh_token", first.Refresh)
		if r.Status != 200 {
			t.Fatalf("refresh within the grace period: %d %s", r.Status, r.Body)
		}
		next = append(next, r.JSON(t)["refresh_token"].(string))
	}
	if next[0] == next[1] {
		t.Fatal("two refreshes got the same token")
	}
	for _, rt := range next {
		if !fx.active(t, fx.graceApp, rt) {
			t.Error("a successor of a token reused within the grace period is inactive")
		}
	}
}

func equalStrings(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
