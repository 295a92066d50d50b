package authsvc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testCodeExchange drives the authorization_code grant through every
// outcome. Each case stores its own code.
func (fx *grantFixture) testCodeExchange(t *testing.T) {
	ctx := context.Background()
	endedSID, _ := fx.session(t, fx.env, fx.user)
	if err := fx.s.Store.DeleteSession(ctx, fx.env, endedSID); err != nil {
		t.Fatal(err)
	}
	type codeCase struct {
		name   string
		env    string      // where the code lives; default fx.env
		client oauthClient // who presents it; default fx.web
		owner  string      // the code's application; default client
		grant  func(g *authsvc.GrantData, verifier string)
		// request parameters beyond grant_type; "code" is filled in
		// unless set to "-" (omitted) or another value.
		params  []string
		session string // "" = a fresh live session
		created time.Time
		status  int
		err     string
		// then, the legitimate client redeems the same code: true when it
		// must still work (a refused request does not burn the code).
		thenOwner bool
		check     func(t *testing.T, body map[string]any)
	}
	// "$v" stands for the case's own verifier.
	std := func(v string) []string { return []string{"redirect_uri", fxRedirect, "code_verifier", v} }
	noVerifier := func(g *authsvc.GrantData, _ string) { g.CodeChallenge, g.CodeChallengeMethod = "", "" }
	cases := []codeCase{
		{name: "success with PKCE S256", status: 200, check: func(t *testing.T, b map[string]any) {
			if got := keysOf(b); !slices.Equal(got, []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}) {
				t.Errorf("members = %v", got)
			}
			if b["token_type"] != "Bearer" || b["expires_in"] != float64(3600) || b["scope"] != "openid profile email address phone" {
				t.Errorf("response = %v", b)
			}
			if rt, _ := b["refresh_token"].(string); len(rt) != 43 || strings.Contains(rt, ".") {
				t.Errorf("refresh_token = %q, want 43 opaque characters", rt)
			}
		}},
		{name: "PKCE plain", grant: func(g *authsvc.GrantData, v string) { g.CodeChallenge, g.CodeChallengeMethod = v, "plain" }, status: 200},
		{name: "no PKCE on a confidential client", grant: noVerifier, params: []string{"redirect_uri", fxRedirect}, status: 200},
		{name: "custom resource audience", grant: func(g *authsvc.GrantData, _ string) {
			g.Scope, g.Audience, g.AccessTokenTTL = "read:orders", []string{"https://api.example.com"}, 600
		}, status: 200, check: func(t *testing.T, b map[string]any) {
			if got := keysOf(b); !slices.Equal(got, []string{"access_token", "expires_in", "refresh_token", "scope", "token_type"}) {
				t.Errorf("members = %v (no id_token without openid)", got)
			}
			if b["expires_in"] != float64(600) {
				t.Errorf("expires_in = %v", b["expires_in"])
			}
			at := payload(t, b["access_token"].(string))
			if _, ok := at["env"]; ok {
				t.Errorf("env in a token for a custom resource: %v", at)
			}
			if _, ok := at["org"]; ok {
				t.Errorf("org in a token for a custom resource: %v", at)
			}
			if aud, _ := at["aud"].([]any); len(aud) != 1 || aud[0] != "https://api.example.com" {
				t.Errorf("aud = %v", at["aud"])
			}
		}},
		{name: "application without REFRESH_TOKEN", client: fx.web2, status: 200, check: func(t *testing.T, b map[string]any) {
			if _, ok := b["refresh_token"]; ok {
				t.Errorf("refresh_token issued without the REFRESH_TOKEN grant type: %v", b)
			}
		}},
		{name: "public client with PKCE", client: fx.native, status: 200},
		{name: "public client without PKCE", client: fx.native, grant: noVerifier, params: []string{"redirect_uri", fxRedirect}, status: 400, err: "invalid_grant"},
		{name: "wrong client secret", client: oauthClient{id: fx.web.id, secret: fx.web.secret + "x"}, owner: fx.web.id, status: 401, err: "invalid_client", thenOwner: true},
		{name: "code of another client", client: fx.web2, owner: fx.web.id, status: 400, err: "invalid_grant", thenOwner: true},
		{name: "code of another environment", env: fx.other, owner: fx.otherWeb.id, status: 400, err: "invalid_grant"},
		{name: "wrong redirect_uri", params: []string{"redirect_uri", fxRedirect + "/x"}, status: 400, err: "invalid_grant", thenOwner: true},
		{name: "missing redirect_uri", params: []string{"code_verifier", "$v"}, status: 400, err: "invalid_grant", thenOwner: true},
		{name: "missing code_verifier", params: []string{"redirect_uri", fxRedirect}, status: 400, err: "invalid_grant", thenOwner: true},
		{name: "wrong code_verifier", params: std(newVerifier()), status: 400, err: "invalid_grant", thenOwner: true},
		{name: "code_verifier too short", params: std("abc"), status: 400, err: "invalid_grant", thenOwner: true},
		{name: "code_verifier with a reserved character", params: std(strings.Repeat("a", 42) + "+"), status: 400, err: "invalid_grant", thenOwner: true},
		{name: "code_verifier without a challenge", grant: noVerifier, status: 400, err: "invalid_grant"},
		{name: "expired code", created: store.Now().Add(-11 * time.Minute), status: 400, err: "invalid_grant"},
		{name: "session ended", session: endedSID, status: 400, err: "invalid_grant"},
		{name: "unknown code", params: []string{"code", uuid.NewString(), "redirect_uri", fxRedirect}, status: 400, err: "invalid_grant"},
		{name: "missing code", params: []string{"code", "-", "redirect_uri", fxRedirect, "code_verifier", "$v"}, status: 400, err: "invalid_request"},
		{name: "client without AUTHORIZATION_CODE", client: fx.worker, owner: fx.web.id, status: 400, err: "unauthorized_client", thenOwner: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := c.env
			if env == "" {
				env = fx.env
			}
			client := c.client
			if client.id == "" {
				client = fx.web
			}
			owner := c.owner
			if owner == "" {
				owner = client.id
			}
			ownerClient := map[string]oauthClient{fx.web.id: fx.web, fx.web2.id: fx.web2, fx.native.id: fx.native, fx.otherWeb.id: fx.otherWeb}[owner]
			user := fx.user
			if env == fx.other {
				user = fx.otherUser
			}
			sid := c.session
			if sid == "" {
				sid, _ = fx.session(t, env, user)
			}
			v := newVerifier()
			g := fxGrant(v)
			if c.grant != nil {
				c.grant(&g, v)
			}
			code := fx.code(t, codeSpec{env: env, app: owner, user: user, session: sid, grant: g, createdAt: c.created})
			params := c.params
			if params == nil {
				params = std("$v")
			}
			kv := []string{"grant_type", "authorization_code"}
			if !slices.Contains(params, "code") {
				kv = append(kv, "code", code)
			}
			for i := 0; i < len(params); i += 2 {
				switch params[i+1] {
				case "-":
				case "$v":
					kv = append(kv, params[i], v)
				default:
					kv = append(kv, params[i], params[i+1])
				}
			}
			r := fx.tokenReq(t, fx.env, client, kv...)
			if c.err != "" {
				wantOAuthError(t, r, c.status, c.err)
			} else if r.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if c.err == "" && r.Header.Get("Pragma") != "no-cache" {
				t.Errorf("Pragma = %q", r.Header.Get("Pragma"))
			}
			if c.check != nil {
				c.check(t, r.JSON(t))
			}
			if c.thenOwner {
				fx.exchange(t, env, ownerClient, code, v)
			}
		})
	}
}

// testCodeClaims checks every claim of the tokens a code exchange issues,
// and verifies the ID token as a relying party does, with go-oidc.
func (fx *grantFixture) testCodeClaims(t *testing.T) {
	ctx := context.Background()
	g := fxGrant("")
	tok, sid, _ := fx.signedOn(t, fx.web, fx.user, g)
	iss := fx.issuer(fx.env)
	now := float64(time.Now().Unix())

	at := payload(t, tok.Access)
	if got := keysOf(at); !slices.Equal(got, []string{"acr", "amr", "aud", "auth_time", "client_id", "env", "exp", "iat", "iss", "jti", "org", "scope", "sid", "sub"}) {
		t.Errorf("access token claims = %v", got)
	}
	iat, _ := at["iat"].(float64)
	want := map[string]any{"iss": iss, "sub": fx.user, "client_id": fx.web.id, "scope": g.Scope, "sid": sid, "auth_time": float64(g.AuthTime),
		"acr": "Single_Factor", "env": fx.env, "org": fx.org, "exp": iat + 3600}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if iat < now-60 || iat > now+5 {
		t.Errorf("iat = %v, now %v", iat, now)
	}
	if aud, _ := at["aud"].([]any); len(aud) != 1 || aud[0] != pingOneAud {
		t.Errorf("aud = %v, want [%s]", at["aud"], pingOneAud)
	}
	if amr, _ := at["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("amr = %v", at["amr"])
	}
	if jti, _ := at["jti"].(string); uuid.Validate(jti) != nil {
		t.Errorf("jti = %v", at["jti"])
	}

	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: fx.web.id}).Verify(ctx, tok.ID)
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	if idt.Nonce != g.Nonce {
		t.Errorf("nonce = %q", idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.Access); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	// Another client's verifier refuses it.
	if _, err := provider.Verifier(&oidc.Config{ClientID: fx.web2.id}).Verify(ctx, tok.ID); err == nil {
		t.Error("the ID token verifies for another client")
	}

	id := payload(t, tok.ID)
	idIat := id["iat"].(float64)
	wantID := map[string]any{
		"iss": iss, "sub": fx.user, "aud": fx.web.id, "exp": idIat + 3600, "auth_time": float64(g.AuthTime), "nonce": g.Nonce,
		"acr": "Single_Factor", "amr": []any{"pwd"}, "sid": sid, "at_hash": idt.AccessTokenHash, "env": fx.env, "org": fx.org, "iat": idIat,
		"name": "Ada King Lovelace", "given_name": "Ada", "family_name": "Lovelace", "middle_name": "King", "nickname": "Countess",
		"preferred_username": "ada", "picture": "https://img.example.com/ada.png", "zoneinfo": "Europe/London", "locale": "en-GB",
		"updated_at": float64(fx.userUpdAt.Unix()), "email": "ada@example.com", "phone_number": "+44 20 7946 0000",
		"address": map[string]any{"street_address": "12 St James's Square", "locality": "London", "region": "LDN",
			"postal_code": "SW1Y 4JH", "country": "GB"},
	}
	if got, w := keysOf(id), keysOf(wantID); !slices.Equal(got, w) {
		t.Errorf("ID token claims = %v\nwant %v", got, w)
	}
	for k, v := range wantID {
		if !jsonEqual(id[k], v) {
			t.Errorf("ID token %s = %#v, want %#v", k, id[k], v)
		}
	}

	// Scopes release their claims only.
	g.Scope = "openid email"
	tok, _, _ = fx.signedOn(t, fx.web, fx.user, g)
	if got := keysOf(payload(t, tok.ID)); !slices.Equal(got, []string{"acr", "amr", "at_hash", "aud", "auth_time", "email", "env", "exp", "iat",
		"iss", "nonce", "org", "sid", "sub"}) {
		t.Errorf("openid email ID token claims = %v", got)
	}
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, jsonEqual)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !jsonEqual(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// testCodeReplay: a code redeemed twice revokes what the first redemption
// issued (RFC 6749 §4.1.2).
func (fx *grantFixture) testCodeReplay(t *testing.T) {
	sid, _ := fx.session(t, fx.env, fx.user)
	v := newVerifier()
	code := fx.code(t, codeSpec{app: fx.web.id, user: fx.user, session: sid, grant: fxGrant(v)})
	first := fx.exchange(t, fx.env, fx.web, code, v)
	if !fx.active(t, fx.web, first.Access) || !fx.active(t, fx.web, first.Refresh) {
		t.Fatal("first tokens inactive before the replay")
	}
	// Another client replaying it revokes nothing.
	r := fx.tokenReq(t, fx.env, fx.web2, "grant_type", "authorization_code", "code", code, "redirect_uri", fxRedirect, "code_verifier", v)
	wantOAuthError(t, r, 400, "invalid_grant")
	if !fx.active(t, fx.web, first.Access) {
		t.Fatal("another client's replay revoked the grant")
	}
	r = fx.tokenReq(t, fx.env, fx.web, "grant_type", "authorization_code", "code", code, "redirect_uri", fxRedirect, "code_verifier", v)
	wantOAuthError(t, r, 400, "invalid_grant")
	if got := fx.introspect(t, fx.env, fx.web, first.Access); len(got) != 1 || got["active"] != false {
		t.Errorf("first access token after replay: %v", got)
	}
	if got := fx.introspect(t, fx.env, fx.web, first.Refresh); len(got) != 1 || got["active"] != false {
		t.Errorf("first refresh token after replay: %v", got)
	}
	r = fx.tokenReq(t, fx.env, fx.web, "grant_type", "refresh_token", "refresh_token", first.Refresh)
	wantOAuthError(t, r, 400, "invalid_grant")
}

// testConcurrentRedemption: of N simultaneous redemptions of one code,
// exactly one succeeds. The others are replays: they revoke the grant,
// refresh token included, whichever order the store serialised them in.
func (fx *grantFixture) testConcurrentRedemption(t *testing.T) {
	const n = 8
	sid, _ := fx.session(t, fx.env, fx.user)
	v := newVerifier()
	code := fx.code(t, codeSpec{app: fx.web.id, user: fx.user, session: sid, grant: fxGrant(v)})
	body := form("grant_type", "authorization_code", "code", code, "redirect_uri", fxRedirect, "code_verifier", v)
	type result struct {
		status int
		body   string
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest("POST", fx.issuer(fx.env)+"/token", strings.NewReader(body))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", formType)
			req.Header["Authorization"] = basic(fx.web.id, fx.web.secret)["Authorization"]
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			results[i] = result{status: resp.StatusCode, body: string(b)}
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	var refresh string
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		switch r.status {
		case 200:
			ok++
			refresh = payloadField(r.body, "refresh_token")
		case 400:
			if !strings.Contains(r.body, `"invalid_grant"`) {
				t.Errorf("400 body = %s", r.body)
			}
		default:
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", ok)
	}
	if fx.active(t, fx.web, refresh) {
		t.Error("the winner's refresh token survived the replays")
	}
	var rt *store.RefreshToken
	rt, err := fx.s.Store.GetRefreshToken(context.Background(), fx.env, sha256Hex(refresh))
	if err != nil || rt.RevokedAt.IsZero() {
		t.Errorf("refresh token row: %v %v", err, rt)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Error("refresh token not stored")
	}
}

func payloadField(body, k string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	s, _ := m[k].(string)
	return s
}
