package authsvc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
)

// testIntrospect: what RFC 7662 says of every kind of token, to whom.
func (fx *grantFixture) testIntrospect(t *testing.T) {
	ctx := context.Background()
	g := fxGrant("")
	user, sid, _ := fx.signedOn(t, fx.web, fx.user, g)
	at := payload(t, user.Access)
	cc := fx.s.TokenFor(t, fx.env, fx.worker.id, fx.worker.secret)
	ccClaims := payload(t, cc)
	native, _, _ := fx.signedOn(t, fx.native, fx.user, fxGrant(""))
	otherCode := fx.code(t, codeSpec{env: fx.other, app: fx.otherWeb.id, user: fx.otherUser, grant: fxGrant("")})
	foreign := fx.exchange(t, fx.other, fx.otherWeb, otherCode, "")
	now := time.Now()
	expired := fx.signRaw(t, fx.env, accesstoken.Claims{Issuer: fx.issuer(fx.env), Subject: fx.user, Audience: []string{pingOneAud},
		ClientID: fx.web.id, Scope: "openid", IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Second).Unix(), ID: uuid.NewString()})
	ended, endedSID, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
	if err := fx.s.Store.DeleteSession(ctx, fx.env, endedSID); err != nil {
		t.Fatal(err)
	}
	rotated, _, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
	if r := fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", rotated.Refresh); r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	rt, err := fx.s.Store.GetRefreshToken(ctx, fx.env, sha256Hex(user.Refresh))
	if err != nil {
		t.Fatal(err)
	}
	// A resource server introspects the tokens meant for it: a resource
	// whose audience is its client id.
	rs := fx.createClient(t, fx.env, map[string]any{"name": "Introspecting RS", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	forRS := fxGrant("")
	forRS.Audience = []string{"https://rs.example.com", rs.id, fx.native.id}
	rsTok, rsSID, _ := fx.signedOn(t, fx.web, fx.user, forRS)
	rsAt := payload(t, rsTok.Access)

	inactive := map[string]any{"active": false}
	cases := []struct {
		name   string
		env    string
		client oauthClient
		token  string
		hint   string
		want   map[string]any
	}{
		{name: "user access token", token: user.Access, want: map[string]any{
			"active": true, "token_type": "Bearer", "scope": g.Scope, "client_id": fx.web.id, "sub": fx.user, "aud": []any{pingOneAud},
			"iss": fx.issuer(fx.env), "jti": at["jti"], "iat": at["iat"], "exp": at["exp"], "sid": sid, "auth_time": float64(g.AuthTime),
			"acr": "Single_Factor", "amr": []any{"pwd"}, "env": fx.env, "org": fx.org}},
		{name: "introspected by the resource server it is for", client: rs, token: rsTok.Access, hint: "access_token", want: map[string]any{
			"active": true, "token_type": "Bearer", "scope": forRS.Scope, "client_id": fx.web.id, "sub": fx.user,
			"aud": []any{"https://rs.example.com", rs.id, fx.native.id}, "iss": fx.issuer(fx.env), "jti": rsAt["jti"], "iat": rsAt["iat"],
			"exp": rsAt["exp"], "sid": rsSID, "auth_time": float64(forRS.AuthTime), "acr": "Single_Factor", "amr": []any{"pwd"}}},
		{name: "introspected by the client it was issued to, beside the resource server", token: rsTok.Access, want: map[string]any{"active": true}},
		// Another client of the environment learns nothing of a token that
		// is neither its own nor meant for it: no claims, no hint that it
		// is live.
		{name: "another client's token", client: fx.worker, token: user.Access, hint: "access_token", want: inactive},
		{name: "another client's token, by a resource server it is not for", client: rs, token: user.Access, want: inactive},
		{name: "public client named in the audience", client: fx.native, token: rsTok.Access, want: inactive},
		{name: "client_credentials token", client: fx.worker, token: cc, want: map[string]any{
			"active": true, "token_type": "Bearer", "client_id": fx.worker.id, "sub": fx.worker.id, "aud": []any{pingOneAud},
			"iss": fx.issuer(fx.env), "jti": ccClaims["jti"], "iat": ccClaims["iat"], "exp": ccClaims["exp"], "env": fx.env, "org": fx.org}},
		{name: "another client's client_credentials token", token: cc, want: inactive},
		{name: "refresh token", token: user.Refresh, hint: "refresh_token", want: map[string]any{
			"active": true, "token_type": "refresh_token", "scope": g.Scope, "client_id": fx.web.id, "sub": fx.user, "iss": fx.issuer(fx.env),
			"iat": float64(rt.CreatedAt.Unix()), "exp": float64(rt.ExpiresAt.Unix()), "sid": sid, "auth_time": float64(g.AuthTime)}},
		{name: "refresh token with the wrong hint", token: user.Refresh, hint: "access_token", want: map[string]any{
			"active": true, "token_type": "refresh_token", "scope": g.Scope, "client_id": fx.web.id, "sub": fx.user, "iss": fx.issuer(fx.env),
			"iat": float64(rt.CreatedAt.Unix()), "exp": float64(rt.ExpiresAt.Unix()), "sid": sid, "auth_time": float64(g.AuthTime)}},
		{name: "refresh token of another client", client: fx.web2, token: user.Refresh, want: inactive},
		{name: "rotated refresh token", token: rotated.Refresh, want: inactive},
		{name: "public client, another client's token", client: fx.native, token: user.Access, want: inactive},
		{name: "public client, its own token", client: fx.native, token: native.Access, want: map[string]any{"active": true}},
		{name: "token of another environment", token: foreign.Access, want: inactive},
		{name: "refresh token of another environment", token: foreign.Refresh, want: inactive},
		{name: "expired", token: expired, want: inactive},
		{name: "session ended", token: ended.Access, want: inactive},
		{name: "ID token", token: user.ID, want: inactive},
		{name: "garbage", token: "garbage", want: inactive},
		{name: "garbage JWT", token: "a.b.c", want: inactive},
		{name: "unknown hint is ignored", token: user.Access, hint: "id_token", want: map[string]any{"active": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := c.client
			if client.id == "" {
				client = fx.web
			}
			kv := []string{"token", c.token}
			if c.hint != "" {
				kv = append(kv, "token_type_hint", c.hint)
			}
			r := fx.clientPost(t, fx.env, "/as/introspect", client, kv...)
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
			}
			got := r.JSON(t)
			if len(c.want) == 1 && c.want["active"] == true {
				if got["active"] != true {
					t.Errorf("inactive: %v", got)
				}
				return
			}
			if !slices.Equal(keysOf(got), keysOf(c.want)) {
				t.Errorf("members = %v, want %v", keysOf(got), keysOf(c.want))
			}
			for k, v := range c.want {
				if !jsonEqual(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/introspect", fx.web), 400, "invalid_request")
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/introspect", oauthClient{id: fx.web.id, secret: "wrong"}, "token", user.Access), 401, "invalid_client")
		wantOAuthError(t, fx.clientPost(t, uuid.NewString(), "/as/introspect", fx.web, "token", user.Access), 401, "invalid_client")
		// A client of another environment cannot introspect here.
		wantOAuthError(t, fx.clientPost(t, fx.env, "/as/introspect", fx.otherWeb, "token", user.Access), 401, "invalid_client")
	})
}
