package authsvc_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/keys"
)

// testCachedTokens: a token whose signature the server remembers (it was
// used before) is answered exactly as one it has never seen. Each case
// makes two like tokens, uses the first once, changes something, then
// asks about both: introspection, by the resource server the tokens are
// for, and userinfo must give the same answer to each.
func (fx *grantFixture) testCachedTokens(t *testing.T) {
	ctx := context.Background()
	admin := fx.s.AdminToken(t)
	rs := fx.createClient(t, fx.env, map[string]any{"name": "Cache RS", "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	mgmt := func(t *testing.T, method, path string, body any, want int) {
		t.Helper()
		r := do(t, fx.s, apptest.Request{Method: method, URL: path, Token: admin, Body: body})
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
	}
	envPath := "/environments/" + fx.env
	webApp := func(name string, enabled bool) map[string]any {
		return map[string]any{"name": name, "enabled": enabled, "protocol": "OPENID_CONNECT", "type": "WEB_APP",
			"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
			"redirectUris": []string{fxRedirect}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
	}
	// pair is two tokens of one sign-on of a new user at app, for rs.
	pair := func(t *testing.T, app oauthClient) (tokens [2]string) {
		t.Helper()
		user := fx.createUser(t, fx.env, map[string]any{"username": "cache-" + uuid.NewString()[:8]})["id"].(string)
		sid, _ := fx.session(t, fx.env, user)
		for i := range tokens {
			g := fxGrant("")
			g.Audience = []string{rs.id}
			tokens[i] = fx.exchange(t, fx.env, app, fx.code(t, codeSpec{app: app.id, user: user, session: sid, grant: g}), "").Access
		}
		return tokens
	}
	users := func(t *testing.T) [2]string { return pair(t, fx.web) }
	// signedPair is two tokens signed with the given key, which is not the
	// environment's default.
	signedPair := func(t *testing.T, key *jose.JSONWebKey, exp time.Time) (tokens [2]string) {
		t.Helper()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: *key}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range tokens {
			c := accesstoken.Claims{Issuer: fx.issuer(fx.env), Subject: fx.worker.id, Audience: []string{rs.id}, ClientID: fx.worker.id,
				IssuedAt: time.Now().Unix(), ExpiresAt: exp.Unix(), ID: uuid.NewString()}
			if tokens[i], err = jwt.Signed(signer).Claims(c).Serialize(); err != nil {
				t.Fatal(err)
			}
		}
		return tokens
	}
	var inactive = map[string]any{"active": false}

	cases := []struct {
		name string
		// make returns two like tokens; change alters what they depend on.
		make   func(t *testing.T) [2]string
		change func(t *testing.T, tokens [2]string)
		env    string // where they are presented afterwards; default fx.env
		// want is the introspection afterwards (nil: active, as before);
		// userinfo is userinfo's status (0: not asked, client tokens).
		want     map[string]any
		userinfo int
	}{
		{name: "nothing changed", make: users, change: func(*testing.T, [2]string) {}, userinfo: http.StatusOK},
		{name: "revoked", make: users, change: func(t *testing.T, tokens [2]string) {
			for _, tok := range tokens {
				if r := fx.clientPost(t, fx.env, "/as/revoke", fx.web, "token", tok); r.Status != http.StatusOK {
					t.Fatalf("revoke: %d %s", r.Status, r.Body)
				}
			}
		}, want: inactive, userinfo: http.StatusUnauthorized},
		{name: "session ended", make: users, change: func(t *testing.T, tokens [2]string) {
			sid, _ := payload(t, tokens[0])["sid"].(string)
			if err := fx.s.Store.DeleteSession(ctx, fx.env, sid); err != nil {
				t.Fatal(err)
			}
		}, want: inactive, userinfo: http.StatusUnauthorized},
		{name: "user disabled", make: users, change: func(t *testing.T, tokens [2]string) {
			mgmt(t, "PUT", envPath+"/users/"+payload(t, tokens[0])["sub"].(string)+"/enabled", map[string]any{"enabled": false}, http.StatusOK)
		}, want: inactive, userinfo: http.StatusUnauthorized},
		{name: "user deleted", make: users, change: func(t *testing.T, tokens [2]string) {
			mgmt(t, "DELETE", envPath+"/users/"+payload(t, tokens[0])["sub"].(string), nil, http.StatusNoContent)
		}, want: inactive, userinfo: http.StatusUnauthorized},
		{name: "application disabled", make: func(t *testing.T) [2]string {
			return pair(t, fx.createClient(t, fx.env, webApp("Cache app "+uuid.NewString()[:8], true)))
		}, change: func(t *testing.T, tokens [2]string) {
			app := payload(t, tokens[0])["client_id"].(string)
			mgmt(t, "PUT", envPath+"/applications/"+app, webApp("Cache app (off) "+app[:8], false), http.StatusOK)
		}, want: inactive, userinfo: http.StatusUnauthorized},
		{name: "key deleted", make: func(t *testing.T) [2]string {
			// A second signing key, not the default, whose private half
			// the test keeps to sign with.
			spec := keys.DefaultSigning()
			spec.Name, spec.Default = "Cache key", false
			k, err := keys.Generate(fx.env, spec, fx.s.Sealer, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := fx.s.Store.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			priv := openKey(t, fx, k.ID, k.PrivateKeySealed)
			return signedPair(t, &jose.JSONWebKey{Key: priv, KeyID: k.ID}, time.Now().Add(time.Hour))
		}, change: func(t *testing.T, tokens [2]string) {
			mgmt(t, "DELETE", envPath+"/keys/"+kidOfToken(t, tokens[0]), nil, http.StatusNoContent)
		}, want: inactive},
		{name: "expired between uses", make: func(t *testing.T) [2]string {
			// exp is in whole seconds: the tokens live until the next one.
			return [2]string{
				fx.signRaw(t, fx.env, expiring(fx, rs.id, time.Now().Add(time.Second))),
				fx.signRaw(t, fx.env, expiring(fx, rs.id, time.Now().Add(time.Second))),
			}
		}, change: func(t *testing.T, tokens [2]string) {
			exp := time.Unix(int64(payload(t, tokens[0])["exp"].(float64)), 0)
			time.Sleep(time.Until(exp) + 10*time.Millisecond)
		}, want: inactive},
		{name: "presented to another environment", make: users, change: func(*testing.T, [2]string) {},
			env: fx.other, want: inactive, userinfo: http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tokens := c.make(t)
			cached, fresh := tokens[0], tokens[1]
			before := fx.introspect(t, fx.env, rs, cached)
			if before["active"] != true {
				t.Fatalf("first use: %v", before)
			}
			c.change(t, tokens)
			env, client := c.env, rs
			if env == "" {
				env = fx.env
			} else {
				client = fx.otherWeb
			}
			for _, v := range []struct{ name, tok string }{{"cached", cached}, {"uncached", fresh}} {
				got := fx.introspect(t, env, client, v.tok)
				switch {
				case c.want == nil:
					if got["active"] != true || got["sub"] != before["sub"] || got["client_id"] != before["client_id"] ||
						got["sid"] != before["sid"] || !jsonEqual(got["aud"], before["aud"]) {
						t.Errorf("%s: introspection %v, want active like the first use %v", v.name, got, before)
					}
					if v.tok == cached && !jsonEqual(got, before) {
						t.Errorf("cached: introspection %v, want the first use's %v", got, before)
					}
				case !jsonEqual(got, c.want):
					t.Errorf("%s: introspection %v, want %v", v.name, got, c.want)
				}
				if c.userinfo != 0 {
					r := do(t, fx.s, apptest.Request{Method: "GET", URL: fx.issuer(env) + "/userinfo",
						Headers: http.Header{"Authorization": {"Bearer " + v.tok}}})
					if r.Status != c.userinfo {
						t.Errorf("%s: userinfo %d, want %d: %s", v.name, r.Status, c.userinfo, r.Body)
					}
				}
			}
		})
	}
}

// expiring is a client's own token for aud that expires at exp.
func expiring(fx *grantFixture, aud string, exp time.Time) accesstoken.Claims {
	return accesstoken.Claims{Issuer: fx.issuer(fx.env), Subject: fx.worker.id, Audience: []string{aud}, ClientID: fx.worker.id,
		IssuedAt: time.Now().Unix(), ExpiresAt: exp.Unix(), ID: uuid.NewString()}
}

// openKey is a stored key's private half.
func openKey(t *testing.T, fx *grantFixture, id string, sealed []byte) any {
	t.Helper()
	pkcs8, err := fx.s.Sealer.Open(sealed, "key:"+id)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func kidOfToken(t *testing.T, raw string) string {
	t.Helper()
	tok, err := keys.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// testIntrospectionQueries: introspecting a token already seen costs one
// store query, a user's token as an application's: the configuration
// (environment, application, secret, keys) comes from memory, and
// revocation, session and user from one statement. The configuration
// cache may compare its version with the store's once a second, which the
// bound allows for.
func (fx *grantFixture) testIntrospectionQueries(t *testing.T) {
	g := fxGrant("")
	user, _, _ := fx.signedOn(t, fx.web, fx.user, g)
	cc := fx.s.TokenFor(t, fx.env, fx.worker.id, fx.worker.secret)
	for _, c := range []struct {
		name   string
		client oauthClient
		token  string
	}{{"user's token", fx.web, user.Access}, {"client_credentials token", fx.worker, cc}} {
		t.Run(c.name, func(t *testing.T) {
			if !fx.active(t, c.client, c.token) {
				t.Fatal("inactive")
			}
			// Each introspection follows a write, which SQLite's memory of
			// liveness reads does not outlive (sqlstore readMemo): every
			// one runs the liveness statement, and nothing else.
			const n = 20
			var q int64
			start := time.Now()
			for range n {
				if err := fx.s.Store.UseOnce(t.Context(), fx.env, uuid.NewString(), time.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				q0 := fx.s.Queries()
				if !fx.active(t, c.client, c.token) {
					t.Fatal("inactive")
				}
				q += fx.s.Queries() - q0
			}
			if limit := int64(n + 2*(1+int(time.Since(start).Seconds()))); q < n || q > limit {
				t.Errorf("%d introspections made %d queries, want %d to %d", n, q, n, limit)
			}
			// Without writes in between, none runs more than that.
			q0 := fx.s.Queries()
			for range n {
				if !fx.active(t, c.client, c.token) {
					t.Fatal("inactive")
				}
			}
			if q, limit := fx.s.Queries()-q0, int64(n+2); q > limit {
				t.Errorf("%d introspections without writes made %d queries, want at most %d", n, q, limit)
			}
		})
	}
}
