package authsvc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
	typeIDToken        = "urn:ietf:params:oauth:token-type:id_token"
	ordersAudience     = "https://api.orders.example.com"
)

// txEnv is an environment for token exchange: the sign-on fixture's web
// application and user (whose tokens are the subject tokens), a custom
// resource, and a SERVICE application that exchanges them.
type txEnv struct {
	*ccEnv
	exchanger clientcredentials.Config // TOKEN_EXCHANGE and CLIENT_CREDENTIALS, granted orders:read
	user      *oauth2.Token            // the fixture user's tokens at the web application (openid)
	orders    string                   // the custom resource's id
}

func newTxEnv(t *testing.T, dsn string) *txEnv {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	e := &txEnv{ccEnv: &ccEnv{s: s, fx: fx, admin: s.AdminToken(t), envPath: "/environments/" + fx.EnvID}}
	orders, scopes := e.resource(t, "Orders", ordersAudience, 600, "orders:read", "orders:write")
	e.exchanger = e.app(t, "SERVICE", "TOKEN_EXCHANGE", "CLIENT_CREDENTIALS")
	e.grant(t, e.exchanger.ClientID, orders, scopes["orders:read"])
	e.orders = orders
	e.user = e.signOn(t, fx)
	return e
}

// signOn runs a headless sign-on of fx's user at fx's web application and
// redeems the code through x/oauth2.
func (e *txEnv) signOn(t *testing.T, fx *apptest.SignOn) *oauth2.Token {
	t.Helper()
	base := e.s.URL + "/" + fx.EnvID
	conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/as/authorize", TokenURL: base + "/as/token"}}
	c := browser(t)
	h := call(t, c, "GET", conf.AuthCodeURL("st", oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
	wantStatus(t, h, http.StatusOK)
	id := h.json(t)["id"].(string)
	wantStatus(t, call(t, c, "POST", base+"/flows/"+id, ctUsernamePassword,
		`{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`), http.StatusOK)
	h = call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
	wantStatus(t, h, http.StatusOK)
	code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
	tok, err := conf.Exchange(context.Background(), code)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok
}

func (e *txEnv) idToken() string { s, _ := e.user.Extra("id_token").(string); return s }

// exchangeConfig is c set up to exchange through x/oauth2: clientcredentials
// lets grant_type be replaced, and sends the rest as they are.
func exchangeConfig(c clientcredentials.Config, scope string, kv ...string) clientcredentials.Config {
	c.Scopes = []string{scope}
	c.EndpointParams = url.Values{"grant_type": {grantTokenExchange}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.EndpointParams.Set(kv[i], kv[i+1])
	}
	return c
}

// post sends a token request as c with the parameters kv.
func (e *txEnv) post(t *testing.T, c clientcredentials.Config, kv ...string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", URL: c.TokenURL, ContentType: formType, Body: form(kv...),
		Headers: basic(c.ClientID, c.ClientSecret)})
}

// introspect is c's introspection of raw.
func (e *txEnv) introspect(t *testing.T, c clientcredentials.Config, raw string) map[string]any {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "POST", URL: e.s.URL + "/" + e.fx.EnvID + "/as/introspect", ContentType: formType,
		Body: form("token", raw), Headers: basic(c.ClientID, c.ClientSecret)})
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// TestTokenExchange: an application with the TOKEN_EXCHANGE grant
// exchanges, through x/oauth2, a user's access token or ID token obtained
// with x/oauth2 for an access token of the custom resource whose scope it
// requested: the user's subject, its own client id, the resource's
// audience and lifetime, the session of the subject token, no refresh
// token; with an actor token, an act claim naming the actor, nested when
// a delegated token is exchanged again; another application's own token
// (machine to machine) gives a token about that application, which dies
// with it; introspection says the same.
func TestTokenExchange(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newTxEnv(t, be.DSN(t))
			ctx := context.Background()
			userID, issuer := e.fx.UserID, e.s.URL+"/"+e.fx.EnvID+"/as"
			userClaims := e.verified(t, e.user.AccessToken)

			// The answer, exactly (RFC 8693 §2.2.1).
			r := e.post(t, e.exchanger, "grant_type", grantTokenExchange, "subject_token", e.user.AccessToken,
				"subject_token_type", typeAccessToken, "requested_token_type", typeAccessToken, "scope", "orders:read")
			if r.Status != http.StatusOK {
				t.Fatalf("exchange: %d %s", r.Status, r.Body)
			}
			body := r.JSON(t)
			access, _ := body["access_token"].(string)
			delete(body, "access_token")
			want := map[string]any{"issued_token_type": typeAccessToken, "token_type": "Bearer", "expires_in": float64(600), "scope": "orders:read"}
			if !jsonEqual(body, want) || access == "" {
				t.Errorf("answer %v, want %v and an access token", body, want)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			claims := e.verified(t, access)
			if claims["sub"] != userID || claims["client_id"] != e.exchanger.ClientID || !jsonEqual(claims["aud"], []any{ordersAudience}) ||
				claims["scope"] != "orders:read" || claims["iss"] != issuer || claims["sid"] != userClaims["sid"] || claims["sid"] == nil ||
				claims["exp"].(float64)-claims["iat"].(float64) != 600 || claims["act"] != nil {
				t.Errorf("exchanged token claims %v", claims)
			}
			in := e.introspect(t, e.exchanger, access)
			if in["active"] != true || in["sub"] != userID || in["client_id"] != e.exchanger.ClientID ||
				!jsonEqual(in["aud"], []any{ordersAudience}) || in["scope"] != "orders:read" || in["act"] != nil {
				t.Errorf("introspection %v", in)
			}

			// The same through x/oauth2, with an ID token as the subject.
			c := exchangeConfig(e.exchanger, "orders:read", "subject_token", e.idToken(), "subject_token_type", typeIDToken)
			tok, err := c.Token(ctx)
			if err != nil {
				t.Fatalf("x/oauth2 exchange of an ID token: %v", err)
			}
			if tok.RefreshToken != "" || tok.Extra("id_token") != nil || tok.Extra("issued_token_type") != typeAccessToken {
				t.Errorf("ID token exchange: refresh %q id_token %v issued_token_type %v", tok.RefreshToken, tok.Extra("id_token"), tok.Extra("issued_token_type"))
			}
			if cl := e.verified(t, tok.AccessToken); cl["sub"] != userID || cl["sid"] != userClaims["sid"] || cl["client_id"] != e.exchanger.ClientID {
				t.Errorf("ID token exchange claims %v", cl)
			}

			// Delegation: the exchanger acts for the user with its own
			// client_credentials token as the actor token.
			ccConf := e.exchanger
			ccConf.Scopes = []string{"orders:read"}
			own, err := ccConf.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", e.user.AccessToken, "subject_token_type", typeAccessToken,
				"actor_token", own.AccessToken, "actor_token_type", typeAccessToken)
			delegated, err := c.Token(ctx)
			if err != nil {
				t.Fatalf("delegation: %v", err)
			}
			wantAct := map[string]any{"sub": e.exchanger.ClientID}
			if cl := e.verified(t, delegated.AccessToken); cl["sub"] != userID || !jsonEqual(cl["act"], wantAct) {
				t.Errorf("delegated claims %v, want act %v", cl, wantAct)
			}
			if in := e.introspect(t, e.exchanger, delegated.AccessToken); in["active"] != true || in["sub"] != userID || !jsonEqual(in["act"], wantAct) {
				t.Errorf("delegated introspection %v", in)
			}

			// Exchanged again with another actor (the user's ID token, say):
			// the new actor is outermost, the earlier one inside it.
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", delegated.AccessToken, "subject_token_type", typeAccessToken,
				"actor_token", e.idToken(), "actor_token_type", typeIDToken)
			chained, err := c.Token(ctx)
			if err != nil {
				t.Fatalf("chained delegation: %v", err)
			}
			wantChain := map[string]any{"sub": userID, "act": wantAct}
			if in := e.introspect(t, e.exchanger, chained.AccessToken); in["active"] != true || !jsonEqual(in["act"], wantChain) {
				t.Errorf("chained introspection %v, want act %v", in, wantChain)
			}
			// Without a new actor, a delegated token stays delegated.
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", delegated.AccessToken, "subject_token_type", typeAccessToken)
			again, err := c.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cl := e.verified(t, again.AccessToken); !jsonEqual(cl["act"], wantAct) {
				t.Errorf("re-exchanged delegated token act %v, want %v", cl["act"], wantAct)
			}

			// The client's own token exchanged for itself: the subject is the client.
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", own.AccessToken, "subject_token_type", typeAccessToken)
			self, err := c.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if in := e.introspect(t, e.exchanger, self.AccessToken); in["active"] != true || in["sub"] != e.exchanger.ClientID {
				t.Errorf("own token exchanged: %v", in)
			}

			// Machine to machine: another application's own token, exchanged
			// by the exchanger, is about that application; the new token
			// lives while that application does.
			other := e.app(t, "WORKER", "CLIENT_CREDENTIALS")
			upstream, err := other.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", upstream.AccessToken, "subject_token_type", typeAccessToken)
			downstream, err := c.Token(ctx)
			if err != nil {
				t.Fatalf("machine to machine: %v", err)
			}
			if in := e.introspect(t, e.exchanger, downstream.AccessToken); in["active"] != true || in["sub"] != other.ClientID ||
				in["client_id"] != e.exchanger.ClientID || !jsonEqual(in["aud"], []any{ordersAudience}) {
				t.Errorf("machine to machine introspection %v", in)
			}
			if r := e.s.Do(t, apptest.Request{Method: "DELETE", URL: e.envPath + "/applications/" + other.ClientID, Token: e.admin}); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			if in := e.introspect(t, e.exchanger, downstream.AccessToken); in["active"] != false {
				t.Errorf("exchanged token of a deleted application: %v", in)
			}
			r = e.post(t, e.exchanger, "grant_type", grantTokenExchange, "subject_token", upstream.AccessToken, "subject_token_type", typeAccessToken, "scope", "orders:read")
			if want := map[string]any{"error": "invalid_request", "error_description": "subject_token: The application of the access token is disabled or no longer exists."}; r.Status != 400 || !jsonEqual(r.JSON(t), want) {
				t.Errorf("deleted application's token: %d %s, want %v", r.Status, r.Body, want)
			}

			// audience and resource naming the resource are accepted.
			r = e.post(t, e.exchanger, "grant_type", grantTokenExchange, "subject_token", e.user.AccessToken, "subject_token_type", typeAccessToken,
				"scope", "orders:read", "audience", ordersAudience, "resource", ordersAudience)
			if r.Status != http.StatusOK {
				t.Errorf("audience and resource of the resource: %d %s", r.Status, r.Body)
			}

			// Signing off ends the session: the exchanged token, which
			// carries it, is no longer active.
			if err := e.s.Store.DeleteSession(ctx, e.fx.EnvID, userClaims["sid"].(string)); err != nil {
				t.Fatal(err)
			}
			if in := e.introspect(t, e.exchanger, access); in["active"] != false {
				t.Errorf("exchanged token after its session ended: %v", in)
			}
		})
	}
}

// TestTokenExchangeErrors: every refusal of a token exchange, with its
// exact RFC 6749 / RFC 8693 answer: parameters missing or of types
// PingOne does not accept, subject and actor tokens of another
// environment, revoked, expired, of the wrong kind or of a disabled
// user, scopes not granted or not a custom resource's, a target that is
// not the resource, and applications without the grant.
func TestTokenExchangeErrors(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newTxEnv(t, be.DSN(t))
			ctx := context.Background()
			env, issuer := e.fx.EnvID, e.s.URL+"/"+e.fx.EnvID+"/as"
			at, idt := e.user.AccessToken, e.idToken()

			// Another environment's user's token, obtained the same way.
			fx2 := e.s.NewSignOn(t, apptest.SignOnOptions{})
			foreign := e.signOn(t, fx2)
			foreignID, _ := foreign.Extra("id_token").(string)

			// A revoked token: the web application revokes its user's token.
			revoked := e.signOn(t, e.fx)
			rv := e.s.Do(t, apptest.Request{Method: "POST", URL: issuer + "/revoke", ContentType: formType,
				Body: form("token", revoked.AccessToken), Headers: basic(e.fx.AppID, e.fx.AppSecret)})
			if rv.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
			}
			// Expired tokens, signed with the environment's key.
			now := time.Now()
			sign := func(claims any) string {
				tok, err := e.s.Keys.Sign(ctx, env, claims)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			expiredAT := sign(accesstoken.Claims{Issuer: issuer, Subject: e.fx.UserID, Audience: []string{"https://api.pingone.com"},
				ClientID: e.fx.AppID, Scope: "openid", IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Hour).Unix(), ID: uuid.NewString()})
			expiredID := sign(map[string]any{"iss": issuer, "sub": e.fx.UserID, "aud": e.fx.AppID,
				"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})
			// Applications without the grant, and one a public client
			// cannot hold (the management API refuses it at configuration).
			ccOnly := e.app(t, "WEB_APP", "CLIENT_CREDENTIALS")

			type txCase struct {
				name       string
				client     clientcredentials.Config // the exchanger when empty
				kv         []string                 // after grant_type
				status     int
				code, desc string
			}
			const notServed = " is not supported: use " + typeAccessToken + " or " + typeIDToken + "."
			ok := []string{"subject_token", at, "subject_token_type", typeAccessToken, "scope", "orders:read"}
			with := func(kv ...string) []string { return append(append([]string{}, ok...), kv...) }
			subject := func(tok, typ string) []string {
				return []string{"subject_token", tok, "subject_token_type", typ, "scope", "orders:read"}
			}
			cases := []txCase{
				{name: "no subject_token", kv: []string{"subject_token_type", typeAccessToken, "scope", "orders:read"},
					status: 400, code: "invalid_request", desc: "subject_token is required."},
				{name: "no subject_token_type", kv: []string{"subject_token", at, "scope", "orders:read"},
					status: 400, code: "invalid_request", desc: "subject_token_type is required."},
				{name: "no scope", kv: []string{"subject_token", at, "subject_token_type", typeAccessToken},
					status: 400, code: "invalid_request", desc: "scope is required."},
				{name: "JWT of a trusted issuer", kv: subject(at, "urn:ietf:params:oauth:token-type:jwt"),
					status: 400, code: "invalid_request", desc: "subject_token_type urn:ietf:params:oauth:token-type:jwt" + notServed},
				{name: "refresh token type", kv: subject(at, "urn:ietf:params:oauth:token-type:refresh_token"),
					status: 400, code: "invalid_request", desc: "subject_token_type urn:ietf:params:oauth:token-type:refresh_token" + notServed},
				{name: "actor_token without its type", kv: with("actor_token", at),
					status: 400, code: "invalid_request", desc: "actor_token_type is required with actor_token."},
				{name: "actor_token_type alone", kv: with("actor_token_type", typeAccessToken),
					status: 400, code: "invalid_request", desc: "actor_token_type is allowed only with actor_token."},
				{name: "actor_token_type not accepted", kv: with("actor_token", at, "actor_token_type", "urn:ietf:params:oauth:token-type:saml2"),
					status: 400, code: "invalid_request", desc: "actor_token_type urn:ietf:params:oauth:token-type:saml2" + notServed},
				{name: "requested_token_type not issued", kv: with("requested_token_type", typeIDToken),
					status: 400, code: "invalid_request", desc: "requested_token_type " + typeIDToken + " is not supported: only " + typeAccessToken + " is issued."},
				{name: "garbage", kv: subject("not.a.jwt", typeAccessToken),
					status: 400, code: "invalid_request", desc: "subject_token: The access token is malformed."},
				{name: "access token of another environment", kv: subject(foreign.AccessToken, typeAccessToken),
					status: 400, code: "invalid_request", desc: "subject_token: The access token was not issued by this environment."},
				{name: "ID token of another environment", kv: subject(foreignID, typeIDToken),
					status: 400, code: "invalid_request", desc: "subject_token: The ID token was not issued by this environment."},
				{name: "actor token of another environment", kv: with("actor_token", foreign.AccessToken, "actor_token_type", typeAccessToken),
					status: 400, code: "invalid_request", desc: "actor_token: The access token was not issued by this environment."},
				{name: "revoked", kv: subject(revoked.AccessToken, typeAccessToken),
					status: 400, code: "invalid_request", desc: "subject_token: The access token has been revoked."},
				{name: "revoked actor", kv: with("actor_token", revoked.AccessToken, "actor_token_type", typeAccessToken),
					status: 400, code: "invalid_request", desc: "actor_token: The access token has been revoked."},
				{name: "expired access token", kv: subject(expiredAT, typeAccessToken),
					status: 400, code: "invalid_request", desc: "subject_token: The access token has expired."},
				{name: "expired ID token", kv: subject(expiredID, typeIDToken),
					status: 400, code: "invalid_request", desc: "subject_token: The ID token has expired."},
				{name: "ID token said to be an access token", kv: subject(idt, typeAccessToken),
					status: 400, code: "invalid_request", desc: "subject_token: The token is not an access token."},
				{name: "access token said to be an ID token", kv: subject(at, typeIDToken),
					status: 400, code: "invalid_request", desc: "subject_token: The token is not an ID token."},
				{name: "scope of the resource not granted", kv: []string{"subject_token", at, "subject_token_type", typeAccessToken, "scope", "orders:write"},
					status: 400, code: "invalid_scope", desc: "The scope orders:write is not granted to the application."},
				{name: "unknown scope", kv: []string{"subject_token", at, "subject_token_type", typeAccessToken, "scope", "orders:read nope"},
					status: 400, code: "invalid_scope", desc: "The scope nope is not granted to the application."},
				{name: "openid scope", kv: []string{"subject_token", at, "subject_token_type", typeAccessToken, "scope", "openid orders:read"},
					status: 400, code: "invalid_scope", desc: "The scope openid is the openid resource's: token exchange issues access tokens for custom resources."},
				{name: "audience of another resource", kv: with("audience", "https://billing.example.com"),
					status: 400, code: "invalid_target", desc: "The audience https://billing.example.com is not the audience of the requested scopes' resource."},
				{name: "resource of another resource", kv: with("resource", "https://billing.example.com"),
					status: 400, code: "invalid_target", desc: "The resource https://billing.example.com is not the audience of the requested scopes' resource."},
				{name: "application without the grant", client: ccOnly, kv: ok,
					status: 400, code: "unauthorized_client", desc: "The application does not have the " + grantTokenExchange + " grant type."},
				{name: "wrong secret", client: clientcredentials.Config{ClientID: e.exchanger.ClientID, ClientSecret: "wrong", TokenURL: e.exchanger.TokenURL}, kv: ok,
					status: 401, code: "invalid_client", desc: "Client authentication failed."},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					client := c.client
					if client.ClientID == "" {
						client = e.exchanger
					}
					r := e.post(t, client, append([]string{"grant_type", grantTokenExchange}, c.kv...)...)
					want := map[string]any{"error": c.code, "error_description": c.desc}
					if r.Status != c.status || !jsonEqual(r.JSON(t), want) {
						t.Errorf("%d %s, want %d %v", r.Status, r.Body, c.status, want)
					}
				})
			}

			// Tokens of an ended session cannot be exchanged.
			ended := e.signOn(t, e.fx)
			if err := e.s.Store.DeleteSession(ctx, env, e.verified(t, ended.AccessToken)["sid"].(string)); err != nil {
				t.Fatal(err)
			}
			endedID, _ := ended.Extra("id_token").(string)
			for _, c := range []struct{ tok, typ, desc string }{
				{ended.AccessToken, typeAccessToken, "subject_token: The session of the access token has ended."},
				{endedID, typeIDToken, "subject_token: The session of the ID token has ended."},
			} {
				r := e.post(t, e.exchanger, append([]string{"grant_type", grantTokenExchange}, subject(c.tok, c.typ)...)...)
				want := map[string]any{"error": "invalid_request", "error_description": c.desc}
				if r.Status != 400 || !jsonEqual(r.JSON(t), want) {
					t.Errorf("ended session: %d %s, want %v", r.Status, r.Body, want)
				}
			}

			// A disabled user's tokens cannot be exchanged.
			dis := e.s.Do(t, apptest.Request{Method: "PUT", URL: e.envPath + "/users/" + e.fx.UserID + "/enabled", Token: e.admin,
				Body: map[string]any{"enabled": false}})
			if dis.Status != http.StatusOK {
				t.Fatalf("disable user: %d %s", dis.Status, dis.Body)
			}
			for typ, tok := range map[string]string{typeAccessToken: at, typeIDToken: idt} {
				r := e.post(t, e.exchanger, append([]string{"grant_type", grantTokenExchange}, subject(tok, typ)...)...)
				kind := "access token"
				if typ == typeIDToken {
					kind = "ID token"
				}
				want := map[string]any{"error": "invalid_request", "error_description": "subject_token: The user of the " + kind + " cannot sign on."}
				if r.Status != 400 || !jsonEqual(r.JSON(t), want) {
					t.Errorf("disabled user's %s: %d %s, want %v", kind, r.Status, r.Body, want)
				}
			}
		})
	}
}

// TestTokenExchangeConfiguration: the management API gives the
// TOKEN_EXCHANGE grant only to the application types that can use it,
// and, as PingOne requires, only with a token endpoint authentication
// method that authenticates the client; discovery lists the grant.
func TestTokenExchangeConfiguration(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	admin := s.AdminToken(t)
	create := func(typ, method string) *apptest.Response {
		return s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications", Token: admin, Body: map[string]any{
			"enabled": true, "name": typ + method, "type": typ, "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"TOKEN_EXCHANGE"}, "tokenEndpointAuthMethod": method}})
	}
	for _, typ := range []string{"WEB_APP", "NATIVE_APP", "SERVICE", "CUSTOM_APP"} {
		if r := create(typ, "CLIENT_SECRET_POST"); r.Status != http.StatusCreated {
			t.Errorf("%s with TOKEN_EXCHANGE: %d %s", typ, r.Status, r.Body)
		}
	}
	for _, c := range []struct{ typ, method, message string }{
		{"NATIVE_APP", "NONE", "The TOKEN_EXCHANGE grant type needs a client that authenticates: tokenEndpointAuthMethod cannot be NONE."},
		{"CUSTOM_APP", "NONE", "The TOKEN_EXCHANGE grant type needs a client that authenticates: tokenEndpointAuthMethod cannot be NONE."},
		{"WORKER", "CLIENT_SECRET_BASIC", "WORKER applications cannot use the TOKEN_EXCHANGE grant type."},
		{"SINGLE_PAGE_APP", "NONE", "SINGLE_PAGE_APP applications cannot use the TOKEN_EXCHANGE grant type."},
	} {
		r := create(c.typ, c.method)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s", c.typ, c.method, r.Status, r.Body)
			continue
		}
		body := r.JSON(t)
		details, _ := body["details"].([]any)
		found := false
		for _, d := range details {
			if d.(map[string]any)["message"] == c.message && d.(map[string]any)["code"] == "INVALID_VALUE" {
				found = true
			}
		}
		if body["code"] != "INVALID_DATA" || !found {
			t.Errorf("%s %s: %s, want INVALID_DATA with %q", c.typ, c.method, r.Body, c.message)
		}
	}

	p, err := oidc.NewProvider(context.Background(), s.URL+"/"+fx.EnvID+"/as")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Grants []string `json:"grant_types_supported"`
	}
	if err := p.Claims(&d); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range d.Grants {
		found = found || g == grantTokenExchange
	}
	if !found {
		t.Errorf("grant_types_supported %v lacks %s", d.Grants, grantTokenExchange)
	}
}

// BenchmarkTokenExchange is an exchange of the client's own token through
// the handler: its signature remembered, one liveness statement, one
// signature. Compare it with BenchmarkClientCredentials and BenchmarkRS256:
//
//	go test -run '^$' -bench 'TokenExchange|ClientCredentials|RS256' ./internal/authsvc/
func BenchmarkTokenExchange(b *testing.B) {
	s := apptest.Start(b, apptest.Options{})
	admin, env := s.AdminToken(b), s.Admin.EnvironmentID
	create := func(path string, body map[string]any) string {
		r := s.Do(b, apptest.Request{Method: "POST", URL: "/environments/" + env + path, Token: admin, Body: body})
		if r.Status != http.StatusCreated {
			b.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		return r.JSON(b)["id"].(string)
	}
	res := create("/resources", map[string]any{"name": "Orders", "audience": ordersAudience, "accessTokenValiditySeconds": 600})
	scope := create("/resources/"+res+"/scopes", map[string]any{"name": "orders:read"})
	app := create("/applications", map[string]any{"enabled": true, "name": "Exchanger", "type": "SERVICE", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"TOKEN_EXCHANGE", "CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	create("/applications/"+app+"/grants", map[string]any{"resource": map[string]string{"id": res}, "scopes": []map[string]string{{"id": scope}}})
	sec := s.Do(b, apptest.Request{Method: "GET", URL: "/environments/" + env + "/applications/" + app + "/secret", Token: admin})
	secret := sec.JSON(b)["secret"].(string)
	c := clientcredentials.Config{ClientID: app, ClientSecret: secret, TokenURL: s.URL + "/" + env + "/as/token", Scopes: []string{"orders:read"}}
	own, err := c.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {own.AccessToken},
		"subject_token_type": {typeAccessToken}, "scope": {"orders:read"}}.Encode()
	path := "/" + env + "/as/token"
	b.ReportAllocs()
	reportCPU(b)
	q0 := s.Queries()
	defer func() { b.ReportMetric(float64(s.Queries()-q0)/float64(b.N), "queries/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", formType)
			req.SetBasicAuth(app, secret)
			rec := httptest.NewRecorder()
			s.Handler.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// TestTokenExchangeCustomClaims: an exchanged token carries its resource's
// attribute mappings, evaluated for the subject token's user; when the
// subject is an application, the mappings that read a user are left out
// and the client's still apply.
func TestTokenExchangeCustomClaims(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newTxEnv(t, be.DSN(t))
			ctx := context.Background()
			for name, value := range map[string]string{"who": "${user.username}", "via": "${client.id}", "tier": "gold"} {
				e.create(t, "/resources/"+e.orders+"/attributes", map[string]any{"name": name, "value": value})
			}
			c := exchangeConfig(e.exchanger, "orders:read", "subject_token", e.user.AccessToken, "subject_token_type", typeAccessToken)
			tok, err := c.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cl := e.verified(t, tok.AccessToken); cl["who"] != e.fx.Username || cl["via"] != e.exchanger.ClientID || cl["tier"] != "gold" {
				t.Errorf("user's exchanged token: who %v, via %v, tier %v; want %s, %s, gold", cl["who"], cl["via"], cl["tier"], e.fx.Username, e.exchanger.ClientID)
			}

			other := e.app(t, "WORKER", "CLIENT_CREDENTIALS")
			upstream, err := other.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c = exchangeConfig(e.exchanger, "orders:read", "subject_token", upstream.AccessToken, "subject_token_type", typeAccessToken)
			tok, err = c.Token(ctx)
			if err != nil {
				t.Fatalf("machine to machine: %v", err)
			}
			if cl := e.verified(t, tok.AccessToken); cl["who"] != nil || cl["via"] != e.exchanger.ClientID || cl["tier"] != "gold" || cl["sub"] != other.ClientID {
				t.Errorf("application's exchanged token: sub %v, who %v, via %v, tier %v", cl["sub"], cl["who"], cl["via"], cl["tier"])
			}
		})
	}
}
