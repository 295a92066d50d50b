package authsvc_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// testUserinfo: claims per scope, every way of sending the token, and
// every refusal with its challenge.
func (fx *grantFixture) testUserinfo(t *testing.T) {
	ctx := context.Background()
	withScope := func(scope string, aud ...string) string {
		g := fxGrant("")
		g.Scope = scope
		if len(aud) > 0 {
			g.Audience = aud
		}
		tok, _, _ := fx.signedOn(t, fx.web, fx.user, g)
		return tok.Access
	}
	all := withScope("openid profile email address phone")
	email := withScope("openid email")
	bare := withScope("openid")
	noOpenID := withScope("profile email")
	revoked := withScope("openid")
	if r := fx.clientPost(t, fx.env, "/as/revoke", fx.web, "token", revoked); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	ended, endedSID, _ := fx.signedOn(t, fx.web, fx.user, fxGrant(""))
	if err := fx.s.Store.DeleteSession(ctx, fx.env, endedSID); err != nil {
		t.Fatal(err)
	}
	otherCode := fx.code(t, codeSpec{env: fx.other, app: fx.otherWeb.id, user: fx.otherUser, grant: fxGrant("")})
	foreign := fx.exchange(t, fx.other, fx.otherWeb, otherCode, "")
	cc := fx.s.TokenFor(t, fx.env, fx.worker.id, fx.worker.secret)
	now := time.Now()
	expired := fx.signRaw(t, fx.env, accesstoken.Claims{Issuer: fx.issuer(fx.env), Subject: fx.user, Audience: []string{pingOneAud},
		ClientID: fx.web.id, Scope: "openid", IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Hour).Unix(), ID: uuid.NewString()})
	wrongIss := fx.signRaw(t, fx.env, accesstoken.Claims{Issuer: fx.issuer(fx.other), Subject: fx.user, Audience: []string{pingOneAud},
		ClientID: fx.web.id, Scope: "openid", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(), ID: uuid.NewString()})

	profile := map[string]any{
		"sub": fx.user, "name": "Ada King Lovelace", "given_name": "Ada", "family_name": "Lovelace", "middle_name": "King", "nickname": "Countess",
		"preferred_username": "ada", "picture": "https://img.example.com/ada.png", "zoneinfo": "Europe/London", "locale": "en-GB",
		"updated_at": float64(fx.userUpdAt.Unix()), "email": "ada@example.com", "phone_number": "+44 20 7946 0000",
		"address": map[string]any{"street_address": "12 St James's Square", "locality": "London", "region": "LDN", "postal_code": "SW1Y 4JH", "country": "GB"},
	}
	type uiCase struct {
		name    string
		method  string
		env     string
		header  string // Authorization
		body    string // form body (POST)
		status  int
		err     string // "" on success; "-" for a bare challenge
		want    map[string]any
		challng string // exact WWW-Authenticate when set
	}
	cases := []uiCase{
		{name: "GET, every scope", header: "Bearer " + all, status: 200, want: profile},
		{name: "POST with the header", method: "POST", header: "Bearer " + all, status: 200, want: profile},
		{name: "POST with access_token in the body", method: "POST", body: form("access_token", all), status: 200, want: profile},
		{name: "lower-case scheme", header: "bearer " + email, status: 200, want: map[string]any{"sub": fx.user, "email": "ada@example.com"}},
		{name: "openid email", header: "Bearer " + email, status: 200, want: map[string]any{"sub": fx.user, "email": "ada@example.com"}},
		{name: "openid alone", header: "Bearer " + bare, status: 200, want: map[string]any{"sub": fx.user}},
		{name: "no token", status: 401, err: "-", challng: "Bearer"},
		{name: "Basic credentials", header: "Basic " + "Zm9vOmJhcg==", status: 401, err: "-", challng: "Bearer"},
		{name: "header and body", method: "POST", header: "Bearer " + all, body: form("access_token", all), status: 400, err: "invalid_request"},
		{name: "garbage", header: "Bearer not.a.jwt", status: 401, err: "invalid_token",
			challng: `Bearer error="invalid_token", error_description="The access token is malformed."`},
		{name: "token of another environment", header: "Bearer " + foreign.Access, status: 401, err: "invalid_token",
			challng: `Bearer error="invalid_token", error_description="The access token was not issued by this environment."`},
		{name: "own token at another environment", env: fx.other, header: "Bearer " + all, status: 401, err: "invalid_token"},
		{name: "another environment's issuer", header: "Bearer " + wrongIss, status: 401, err: "invalid_token"},
		{name: "revoked", header: "Bearer " + revoked, status: 401, err: "invalid_token",
			challng: `Bearer error="invalid_token", error_description="The access token has been revoked."`},
		{name: "expired", header: "Bearer " + expired, status: 401, err: "invalid_token",
			challng: `Bearer error="invalid_token", error_description="The access token has expired."`},
		{name: "session ended", header: "Bearer " + ended.Access, status: 401, err: "invalid_token"},
		{name: "ID token as an access token", header: "Bearer " + ended.ID, status: 401, err: "invalid_token"},
		{name: "client_credentials token", header: "Bearer " + cc, status: 401, err: "invalid_token"},
		{name: "without openid", header: "Bearer " + noOpenID, status: 403, err: "insufficient_scope"},
		{name: "unknown environment", env: uuid.NewString(), header: "Bearer " + all, status: 401, err: "invalid_token"},
		{name: "malformed environment", env: "not-an-env", header: "Bearer " + all, status: 401, err: "invalid_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := c.env
			if env == "" {
				env = fx.env
			}
			m := c.method
			if m == "" {
				m = "GET"
			}
			req := apptest.Request{Method: m, URL: fx.s.URL + "/" + env + "/as/userinfo", Headers: http.Header{}}
			if c.header != "" {
				req.Headers.Set("Authorization", c.header)
			}
			if c.body != "" {
				req.Body, req.ContentType = c.body, formType
			}
			r := do(t, fx.s, req)
			switch c.err {
			case "":
				if r.Status != c.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
				}
				got := r.JSON(t)
				if !slices.Equal(keysOf(got), keysOf(c.want)) {
					t.Errorf("claims = %v, want %v", keysOf(got), keysOf(c.want))
				}
				for k, v := range c.want {
					if !jsonEqual(got[k], v) {
						t.Errorf("%s = %#v, want %#v", k, got[k], v)
					}
				}
				if r.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("WWW-Authenticate on success: %q", r.Header.Get("WWW-Authenticate"))
				}
			case "-":
				if r.Status != c.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
				}
			default:
				wantOAuthError(t, r, c.status, c.err)
				if ch := r.Header.Get("WWW-Authenticate"); c.status != 400 && !strings.HasPrefix(ch, `Bearer error="`+c.err+`", error_description="`) {
					t.Errorf("WWW-Authenticate = %q, want error %s", ch, c.err)
				}
			}
			if c.challng != "" && r.Header.Get("WWW-Authenticate") != c.challng {
				t.Errorf("WWW-Authenticate = %q, want %q", r.Header.Get("WWW-Authenticate"), c.challng)
			}
		})
	}
}
