package authsvc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// ecEnv is a sign-on environment whose default signing key changes during
// a test, with a worker for client_credentials and the management API.
type ecEnv struct {
	s      *apptest.Server
	fx     *apptest.SignOn
	admin  string
	worker clientcredentials.Config
	conf   oauth2.Config
}

func newECEnv(t testing.TB, s *apptest.Server) *ecEnv {
	fx := s.NewSignOn(t, apptest.SignOnOptions{})
	w := s.CreateWorker(t, fx.EnvID, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, fx.EnvID})
	base := s.URL + "/" + fx.EnvID + "/as"
	return &ecEnv{s: s, fx: fx, admin: s.AdminToken(t),
		worker: clientcredentials.Config{ClientID: w.ClientID, ClientSecret: w.Secret, TokenURL: base + "/token"},
		conf: oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: fx.RedirectURI,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email"}, Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token"}}}
}

func (e *ecEnv) issuer() string { return e.s.URL + "/" + e.fx.EnvID + "/as" }

// makeDefault creates a signing key through the keys API as the new
// default and returns its id.
func (e *ecEnv) makeDefault(t *testing.T, algorithm string, length int, sigAlg string) string {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + e.fx.EnvID + "/keys", Token: e.admin, Body: map[string]any{
		"name": sigAlg, "algorithm": algorithm, "keyLength": length, "signatureAlgorithm": sigAlg,
		"subjectDN": "CN=" + sigAlg + ", O=Example", "usageType": "SIGNING", "validityPeriod": 30, "default": true}})
	if r.Status != http.StatusCreated {
		t.Fatalf("key %s: %d %s", sigAlg, r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// signOn runs a headless sign-on and redeems its code with PKCE through
// x/oauth2.
func (e *ecEnv) signOn(t testing.TB, nonce string) *oauth2.Token {
	t.Helper()
	base := e.s.URL + "/" + e.fx.EnvID
	c := browser(t)
	verifier := oauth2.GenerateVerifier()
	h := call(t, c, "GET", e.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
	wantStatus(t, h, http.StatusOK)
	id := h.json(t)["id"].(string)
	wantStatus(t, call(t, c, "POST", base+"/flows/"+id, ctUsernamePassword,
		`{"username":"`+e.fx.Username+`","password":"`+e.fx.Password+`"}`), http.StatusOK)
	h = call(t, c, "GET", base+"/as/resume?flowId="+id, "", "")
	wantStatus(t, h, http.StatusOK)
	code := h.json(t)["authorizeResponse"].(map[string]any)["code"].(string)
	tok, err := e.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// verifyID checks tok's ID token as a relying party would: go-oidc with
// the algorithms discovery lists (a fresh provider, so the document is
// read now), the nonce, and at_hash with the hash of the token's alg.
func (e *ecEnv) verifyID(t *testing.T, tok *oauth2.Token, nonce string) *oidc.IDToken {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), e.issuer())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: e.fx.AppID}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Subject != e.fx.UserID || idt.Nonce != nonce {
		t.Errorf("ID token sub %s nonce %q, want %s %q", idt.Subject, idt.Nonce, e.fx.UserID, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	return idt
}

// discoveryAlgs is the discovery document's id_token_signing_alg_values_supported.
func (e *ecEnv) discoveryAlgs(t *testing.T) []string {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "GET", URL: e.issuer() + "/.well-known/openid-configuration"})
	if r.Status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.Status, r.Body)
	}
	var d struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	r.Decode(t, &d)
	return d.Algs
}

// introspect asks, as client id, whether raw is active.
func (e *ecEnv) introspect(t *testing.T, id, secret, raw string) map[string]any {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "POST", URL: e.issuer() + "/introspect", ContentType: formType,
		Body: url.Values{"token": {raw}}.Encode(), Headers: basic(id, secret)})
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// joseHeader decodes a compact JWT's header.
func joseHeader(t *testing.T, raw string) (alg, kid, typ string) {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("header of %q: %v", raw, err)
	}
	var h struct{ Alg, Kid, Typ string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg, h.Kid, h.Typ
}

func wantSignedBy(t *testing.T, what, raw, alg, kid string) {
	t.Helper()
	if a, k, typ := joseHeader(t, raw); a != alg || k != kid || typ != "JWT" {
		t.Errorf("%s: alg %s kid %s typ %s, want %s %s JWT", what, a, k, typ, alg, kid)
	}
}

// TestECDefaultKey: an environment whose default signing key becomes EC
// P-256 signs every token with it, and relying parties using go-oidc and
// x/oauth2 accept them: client_credentials (then the management API's
// bearer), the authorization code's access and ID tokens (at_hash),
// refresh, userinfo and introspection; the JWKS publishes the curve point
// and certificate, and discovery names ES256 first. Tokens issued under
// the RSA key before the rotation stay valid everywhere. Then P-384 and
// P-521 keys take over in turn, with at_hash by SHA-384 and SHA-512.
func TestECDefaultKey(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			e := newECEnv(t, s)
			ctx := context.Background()

			// Under PingOne's default RSA key.
			if got := e.discoveryAlgs(t); !slices.Equal(got, []string{"RS256"}) {
				t.Errorf("discovery algorithms under the RSA key: %v", got)
			}
			rsaCC, err := e.worker.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, rsaKid, _ := joseHeader(t, rsaCC.AccessToken)
			rsaUser := e.signOn(t, "n-rsa")
			wantSignedBy(t, "RSA access token", rsaUser.AccessToken, "RS256", rsaKid)

			ecKid := e.makeDefault(t, "EC", 256, "SHA256withECDSA")
			if got := e.discoveryAlgs(t); !slices.Equal(got, []string{"ES256", "RS256"}) {
				t.Errorf("discovery algorithms after the rotation: %v, want [ES256 RS256]", got)
			}
			wantJWKS(t, e, map[string]jwkWant{ecKid: {kty: "EC", crv: "P-256", alg: "ES256", size: 32}, rsaKid: {kty: "RSA", alg: "RS256"}})

			ecCC, err := e.worker.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantSignedBy(t, "client_credentials", ecCC.AccessToken, "ES256", ecKid)
			ecUser := e.signOn(t, "n-ec")
			wantSignedBy(t, "access token", ecUser.AccessToken, "ES256", ecKid)
			wantSignedBy(t, "ID token", ecUser.Extra("id_token").(string), "ES256", ecKid)
			e.verifyID(t, ecUser, "n-ec")
			if ecUser.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			refreshed, err := e.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: ecUser.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			wantSignedBy(t, "refreshed access token", refreshed.AccessToken, "ES256", ecKid)
			e.verifyID(t, refreshed, "") // OIDC Core §12.2: no nonce after a refresh

			// The RSA ID token issued before still verifies: its key is
			// still published.
			e.verifyID(t, rsaUser, "n-rsa")

			provider, err := oidc.NewProvider(ctx, e.issuer())
			if err != nil {
				t.Fatal(err)
			}
			for name, tok := range map[string]*oauth2.Token{"RSA": rsaUser, "EC": ecUser, "refreshed": refreshed} {
				info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil || info.Subject != e.fx.UserID || info.Email != e.fx.Email {
					t.Errorf("userinfo with the %s token: %v %+v", name, err, info)
				}
				if got := e.introspect(t, e.fx.AppID, e.fx.AppSecret, tok.AccessToken); got["active"] != true || got["sub"] != e.fx.UserID {
					t.Errorf("introspection of the %s access token: %v", name, got)
				}
			}
			if got := e.introspect(t, e.fx.AppID, e.fx.AppSecret, refreshed.RefreshToken); got["active"] != true {
				t.Errorf("introspection of the refresh token: %v", got)
			}
			for name, tok := range map[string]*oauth2.Token{"RSA": rsaCC, "EC": ecCC} {
				if got := e.introspect(t, e.worker.ClientID, e.worker.ClientSecret, tok.AccessToken); got["active"] != true {
					t.Errorf("introspection of the %s client_credentials token: %v", name, got)
				}
				r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + e.fx.EnvID + "/users/" + e.fx.UserID, Token: tok.AccessToken})
				if r.Status != http.StatusOK || r.JSON(t)["id"] != e.fx.UserID {
					t.Errorf("management API with the %s token: %d %s", name, r.Status, r.Body)
				}
			}

			// Larger curves: the ID token's at_hash follows the algorithm.
			published := []string{"RS256", "ES256"}
			for _, c := range []struct {
				length      int
				sigAlg, alg string
				crv         string
				size        int
			}{
				{384, "SHA384withECDSA", "ES384", "P-384", 48},
				{521, "SHA512withECDSA", "ES512", "P-521", 66},
			} {
				kid := e.makeDefault(t, "EC", c.length, c.sigAlg)
				published = append(published, c.alg)
				if got := e.discoveryAlgs(t); len(got) == 0 || got[0] != c.alg ||
					!slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(published))) {
					t.Errorf("discovery algorithms with %s the default: %v, want %s first of %v", c.alg, got, c.alg, published)
				}
				wantJWKS(t, e, map[string]jwkWant{kid: {kty: "EC", crv: c.crv, alg: c.alg, size: c.size}})
				tok := e.signOn(t, "n-"+c.alg)
				wantSignedBy(t, c.alg+" ID token", tok.Extra("id_token").(string), c.alg, kid)
				e.verifyID(t, tok, "n-"+c.alg)
				cc, err := e.worker.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantSignedBy(t, c.alg+" client_credentials", cc.AccessToken, c.alg, kid)
				if r := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + e.fx.EnvID + "/users/" + e.fx.UserID, Token: cc.AccessToken}); r.Status != http.StatusOK {
					t.Errorf("management API with the %s token: %d %s", c.alg, r.Status, r.Body)
				}
			}
		})
	}
}

// jwkWant is what a JWKS entry must hold; size is an EC coordinate's
// length in bytes.
type jwkWant struct {
	kty, crv, alg string
	size          int
}

func wantJWKS(t *testing.T, e *ecEnv, want map[string]jwkWant) {
	t.Helper()
	r := e.s.Do(t, apptest.Request{Method: "GET", URL: e.issuer() + "/jwks"})
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	r.Decode(t, &set)
	seen := 0
	for _, k := range set.Keys {
		w, ok := want[k["kid"].(string)]
		if !ok {
			continue
		}
		seen++
		x5c, _ := k["x5c"].([]any)
		if k["kty"] != w.kty || k["alg"] != w.alg || k["use"] != "sig" || len(x5c) != 1 || k["x5t"] == nil {
			t.Errorf("JWKS key %v: want kty %s alg %s use sig, one x5c, x5t", k, w.kty, w.alg)
		}
		if w.kty != "EC" {
			continue
		}
		for _, c := range []string{"x", "y"} {
			s, _ := k[c].(string)
			if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) != w.size {
				t.Errorf("JWKS key %s: %s is %d bytes, want %d", k["kid"], c, len(b), w.size)
			}
		}
		if k["crv"] != w.crv || k["n"] != nil || k["d"] != nil {
			t.Errorf("JWKS key %v: want crv %s, no n, no private part", k, w.crv)
		}
	}
	if seen != len(want) {
		t.Errorf("JWKS holds %d of the keys %v: %s", seen, want, r.Body)
	}
}
