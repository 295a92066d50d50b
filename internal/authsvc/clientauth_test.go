package authsvc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

const jwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionKeys are the clients' keys, made once: RSA generation is slow.
type assertionKeys struct {
	rsa, otherRSA *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
}

func newAssertionKeys(t *testing.T) assertionKeys {
	t.Helper()
	r1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return assertionKeys{rsa: r1, otherRSA: r2, ec: ec}
}

func jwksOf(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signJWT makes a compact JWS of claims.
func signJWT(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedJWT is an alg "none" JWT, which go-jose will not make.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(b) + "."
}

// assertionClaims are a valid assertion's for clientID, changed by kv (nil deletes).
func assertionClaims(aud, clientID string, kv ...any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": uuid.NewString()}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func assertionForm(raw string, kv ...string) string {
	return form(append([]string{"grant_type", "client_credentials", "client_assertion_type", jwtBearerType, "client_assertion", raw}, kv...)...)
}

// createClientApp creates an application through the management API and
// returns its id and secret ("" for NONE).
func createClientApp(t *testing.T, s *apptest.Server, envID string, body map[string]any) (id, secret string) {
	t.Helper()
	tok := s.AdminToken(t)
	r := do(t, s, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/applications", Token: tok, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application %v: %d %s", body["name"], r.Status, r.Body)
	}
	id = r.JSON(t)["id"].(string)
	if body["tokenEndpointAuthMethod"] == "NONE" {
		return id, ""
	}
	r = do(t, s, apptest.Request{Method: "GET", URL: "/environments/" + envID + "/applications/" + id + "/secret", Token: tok})
	if r.Status != http.StatusOK {
		t.Fatalf("read secret: %d %s", r.Status, r.Body)
	}
	return id, r.JSON(t)["secret"].(string)
}

func assertionWorker(name, method string, kv ...any) map[string]any {
	b := map[string]any{"name": name, "enabled": true, "protocol": "OPENID_CONNECT", "type": "WORKER",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": method}
	for i := 0; i < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// TestClientAssertions drives client_credentials at POST /{envId}/as/token
// with CLIENT_SECRET_JWT and PRIVATE_KEY_JWT (inline jwks and a jwksUrl)
// through every outcome, on SQLite and PostgreSQL.
func TestClientAssertions(t *testing.T) {
	k := newAssertionKeys(t)
	rsaPub := jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "rsa-1", Use: "sig"}
	ecPub := jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "ec-1", Use: "sig", Algorithm: "ES256"}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// The jwksUrl must be https; the server trusts this one's
			// certificate for the test.
			keySrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(jwksOf(t, ecPub)))
			}))
			t.Cleanup(keySrv.Close)
			roots := x509.NewCertPool()
			roots.AddCert(keySrv.Certificate())
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), OutboundRootCAs: roots})
			env := s.Admin.EnvironmentID
			other := createEnv(t, s, "Assertions other")
			iss := s.URL + "/" + env + "/as"
			tokenURL := iss + "/token"

			hsID, hsSecret := createClientApp(t, s, env, assertionWorker("HS worker", "CLIENT_SECRET_JWT"))
			pkID, _ := createClientApp(t, s, env, assertionWorker("PK worker", "PRIVATE_KEY_JWT", "jwks", jwksOf(t, rsaPub)))
			urlID, _ := createClientApp(t, s, env, assertionWorker("PK URL worker", "PRIVATE_KEY_JWT", "jwksUrl", keySrv.URL+"/jwks"))
			basicID, basicSecret := createClientApp(t, s, env, assertionWorker("Basic worker", "CLIENT_SECRET_BASIC"))
			offID, offSecret := createClientApp(t, s, env, assertionWorker("Disabled HS worker", "CLIENT_SECRET_JWT", "enabled", false))
			otherID, otherSecret := createClientApp(t, s, other, assertionWorker("HS worker elsewhere", "CLIENT_SECRET_JWT"))
			publicID, _ := createClientApp(t, s, env, map[string]any{"name": "Native", "enabled": true, "protocol": "OPENID_CONNECT",
				"type": "NATIVE_APP", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
				"redirectUris": []string{"com.example.app:/callback"}, "tokenEndpointAuthMethod": "NONE"})

			hs := func(kv ...any) string {
				return signJWT(t, jose.HS256, []byte(hsSecret), "", assertionClaims(tokenURL, hsID, kv...))
			}
			rs := func(kv ...any) string {
				return signJWT(t, jose.RS256, k.rsa, "rsa-1", assertionClaims(tokenURL, pkID, kv...))
			}
			replayed := rs()
			now := time.Now()
			const generic = "Client authentication failed."

			cases := []struct {
				name   string
				body   string
				hdr    http.Header
				status int
				err    string
				desc   string
				// twice: the body is sent once more after a success, and
				// that second answer is the one checked.
				twice bool
			}{
				// Success.
				{name: "CLIENT_SECRET_JWT HS256", body: assertionForm(hs()), status: 200},
				{name: "CLIENT_SECRET_JWT HS512", body: assertionForm(signJWT(t, jose.HS512, []byte(hsSecret), "", assertionClaims(tokenURL, hsID))), status: 200},
				{name: "PRIVATE_KEY_JWT RS256 inline jwks", body: assertionForm(rs()), status: 200},
				{name: "PRIVATE_KEY_JWT PS384 inline jwks", body: assertionForm(signJWT(t, jose.PS384, k.rsa, "rsa-1", assertionClaims(tokenURL, pkID))), status: 200},
				{name: "PRIVATE_KEY_JWT without kid", body: assertionForm(signJWT(t, jose.RS512, k.rsa, "", assertionClaims(tokenURL, pkID))), status: 200},
				{name: "PRIVATE_KEY_JWT ES256 jwksUrl", body: assertionForm(signJWT(t, jose.ES256, k.ec, "ec-1", assertionClaims(tokenURL, urlID))), status: 200},
				{name: "aud is the issuer", body: assertionForm(hs("aud", iss)), status: 200},
				{name: "aud is an array holding the token endpoint", body: assertionForm(hs("aud", []string{"https://elsewhere.example", tokenURL})), status: 200},
				{name: "matching client_id", body: assertionForm(rs(), "client_id", pkID), status: 200},
				{name: "exp within the skew", body: assertionForm(hs("exp", now.Add(-30*time.Second).Unix())), status: 200},

				// The signature.
				{name: "wrong key", body: assertionForm(signJWT(t, jose.RS256, k.otherRSA, "rsa-1", assertionClaims(tokenURL, pkID))),
					status: 401, err: "invalid_client", desc: "The client assertion's signature is not valid."},
				{name: "wrong secret", body: assertionForm(signJWT(t, jose.HS256, []byte(basicSecret), "", assertionClaims(tokenURL, hsID))),
					status: 401, err: "invalid_client", desc: "The client assertion's signature is not valid."},
				{name: "unknown kid", body: assertionForm(signJWT(t, jose.RS256, k.rsa, "rsa-2", assertionClaims(tokenURL, pkID))),
					status: 401, err: "invalid_client", desc: "No key of the application's key set matches the client assertion's kid and alg."},
				{name: "jwksUrl holds no such key", body: assertionForm(signJWT(t, jose.ES384, newP384Key(t), "", assertionClaims(tokenURL, urlID))),
					status: 401, err: "invalid_client", desc: "No key of the application's key set matches the client assertion's kid and alg."},
				{name: "EC key for an RSA algorithm's kid", body: assertionForm(signJWT(t, jose.ES256, k.ec, "rsa-1", assertionClaims(tokenURL, pkID))),
					status: 401, err: "invalid_client", desc: "No key of the application's key set matches the client assertion's kid and alg."},
				{name: "HS256 keyed with the public key", body: assertionForm(signJWT(t, jose.HS256, pubPEM, "rsa-1", assertionClaims(tokenURL, pkID))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "alg none", body: assertionForm(unsignedJWT(t, assertionClaims(tokenURL, pkID))), status: 401, err: "invalid_client",
					desc: "The client assertion's signing algorithm none is not accepted; use one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512."},
				{name: "not a JWT", body: assertionForm("abc.def"), status: 401, err: "invalid_client", desc: "The client assertion is not a valid signed JWT."},

				// The claims.
				{name: "expired", body: assertionForm(hs("exp", now.Add(-2*time.Minute).Unix())),
					status: 401, err: "invalid_client", desc: "The client assertion has expired."},
				{name: "no exp", body: assertionForm(hs("exp", nil)), status: 401, err: "invalid_client", desc: "The client assertion has no exp claim."},
				{name: "exp two days ahead", body: assertionForm(hs("exp", now.Add(48*time.Hour).Unix())),
					status: 401, err: "invalid_client", desc: "The client assertion's exp is more than 24 hours ahead; mint short-lived assertions."},
				{name: "nbf ahead", body: assertionForm(hs("nbf", now.Add(3*time.Minute).Unix())),
					status: 401, err: "invalid_client", desc: "The client assertion is not valid yet (nbf)."},
				{name: "iat ahead", body: assertionForm(hs("iat", now.Add(3*time.Minute).Unix())),
					status: 401, err: "invalid_client", desc: "The client assertion was issued in the future (iat)."},
				{name: "no jti", body: assertionForm(hs("jti", nil)), status: 401, err: "invalid_client", desc: "The client assertion has no jti claim."},
				{name: "jti with a NUL", body: assertionForm(hs("jti", "a\x00b")),
					status: 401, err: "invalid_client", desc: "The client assertion's jti must be at most 256 printable characters."},
				{name: "replayed jti", body: assertionForm(replayed), twice: true,
					status: 401, err: "invalid_client", desc: "The client assertion was already used."},
				{name: "wrong aud", body: assertionForm(hs("aud", s.URL+"/"+other+"/as/token")), status: 401, err: "invalid_client",
					desc: "The client assertion's aud must contain the token endpoint " + tokenURL + " or the issuer " + iss + "."},
				{name: "no aud", body: assertionForm(hs("aud", nil)), status: 401, err: "invalid_client",
					desc: "The client assertion's aud must contain the token endpoint " + tokenURL + " or the issuer " + iss + "."},
				{name: "iss is not sub", body: assertionForm(hs("iss", pkID)), status: 401, err: "invalid_client",
					desc: "The client assertion's iss and sub must both be the client id."},
				{name: "client_id mismatch", body: assertionForm(hs(), "client_id", pkID), status: 401, err: "invalid_client",
					desc: "client_id does not match the client assertion's iss and sub."},

				// The client.
				{name: "client_secret_post for a CLIENT_SECRET_JWT app",
					body: form("grant_type", "client_credentials", "client_id", hsID, "client_secret", hsSecret), status: 401, err: "invalid_client", desc: generic},
				{name: "Basic for a CLIENT_SECRET_JWT app", body: form("grant_type", "client_credentials"), hdr: basic(hsID, hsSecret),
					status: 401, err: "invalid_client", desc: generic},
				{name: "assertion for a CLIENT_SECRET_BASIC app", body: assertionForm(signJWT(t, jose.HS256, []byte(basicSecret), "", assertionClaims(tokenURL, basicID))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "HS256 assertion for a PRIVATE_KEY_JWT app", body: assertionForm(signJWT(t, jose.HS256, []byte(hsSecret), "", assertionClaims(tokenURL, pkID))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "disabled application", body: assertionForm(signJWT(t, jose.HS256, []byte(offSecret), "", assertionClaims(tokenURL, offID))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "application of another environment", body: assertionForm(signJWT(t, jose.HS256, []byte(otherSecret), "", assertionClaims(tokenURL, otherID))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "unknown client", body: assertionForm(signJWT(t, jose.HS256, []byte(hsSecret), "", assertionClaims(tokenURL, uuid.NewString()))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "client id not a UUID", body: assertionForm(signJWT(t, jose.HS256, []byte(hsSecret), "", assertionClaims(tokenURL, "client\x00"))),
					status: 401, err: "invalid_client", desc: generic},
				{name: "public client on client_credentials", body: form("grant_type", "client_credentials", "client_id", publicID),
					status: 400, err: "unauthorized_client", desc: "The application does not have the client_credentials grant type."},

				// The request.
				{name: "assertion and client_secret", body: assertionForm(hs(), "client_secret", hsSecret),
					status: 400, err: "invalid_request", desc: "Use one client authentication method, not several."},
				{name: "assertion and Basic", body: assertionForm(hs()), hdr: basic(hsID, hsSecret),
					status: 400, err: "invalid_request", desc: "Use one client authentication method, not several."},
				{name: "unknown client_assertion_type", body: form("grant_type", "client_credentials", "client_assertion_type", "urn:example:saml", "client_assertion", hs()),
					status: 400, err: "invalid_request", desc: "Unsupported client_assertion_type; use " + jwtBearerType + "."},
				{name: "client_assertion without its type", body: form("grant_type", "client_credentials", "client_assertion", hs()),
					status: 400, err: "invalid_request", desc: "client_assertion_type is required with client_assertion."},
				{name: "client_assertion_type without an assertion", body: form("grant_type", "client_credentials", "client_assertion_type", jwtBearerType),
					status: 400, err: "invalid_request", desc: "client_assertion is required with client_assertion_type."},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					send := func() *apptest.Response {
						return do(t, s, apptest.Request{Method: "POST", URL: tokenURL, Body: c.body, ContentType: formType, Headers: c.hdr})
					}
					r := send()
					if c.twice {
						if r.Status != http.StatusOK {
							t.Fatalf("first use: %d %s", r.Status, r.Body)
						}
						r = send()
					}
					checkClientAuthAnswer(t, r, c.status, c.err, c.desc, c.hdr != nil && c.status == 401)
				})
			}

			// Rotation: the previous secret still signs assertions until it
			// expires or is dropped, like client_secret_basic's.
			rotID, first := createClientApp(t, s, env, assertionWorker("Rotating HS worker", "CLIENT_SECRET_JWT"))
			secretURL := "/environments/" + env + "/applications/" + rotID + "/secret"
			keep := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
			rot := do(t, s, apptest.Request{Method: "POST", URL: secretURL, Token: s.AdminToken(t),
				Body: map[string]any{"previous": map[string]any{"expiresAt": keep}}})
			if rot.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", rot.Status, rot.Body)
			}
			second := rot.JSON(t)["secret"].(string)
			withSecret := func(secret string) *apptest.Response {
				return do(t, s, apptest.Request{Method: "POST", URL: tokenURL, ContentType: formType,
					Body: assertionForm(signJWT(t, jose.HS256, []byte(secret), "", assertionClaims(tokenURL, rotID)))})
			}
			checkClientAuthAnswer(t, withSecret(first), 200, "", "", false)
			checkClientAuthAnswer(t, withSecret(second), 200, "", "", false)
			if r := do(t, s, apptest.Request{Method: "DELETE", URL: secretURL, Token: s.AdminToken(t)}); r.Status != http.StatusNoContent {
				t.Fatalf("drop previous secret: %d %s", r.Status, r.Body)
			}
			checkClientAuthAnswer(t, withSecret(first), 401, "invalid_client", "The client assertion's signature is not valid.", false)
			checkClientAuthAnswer(t, withSecret(second), 200, "", "", false)

			// The tokens are the client's, as with a secret.
			for _, c := range []struct{ id, raw string }{
				{hsID, hs()},
				{urlID, signJWT(t, jose.ES256, k.ec, "ec-1", assertionClaims(tokenURL, urlID))},
			} {
				r := do(t, s, apptest.Request{Method: "POST", URL: tokenURL, ContentType: formType, Body: assertionForm(c.raw)})
				checkClientAuthAnswer(t, r, 200, "", "", false)
				verifyAsRelyingParty(t, s, env, c.id, r.JSON(t)["access_token"].(string))
			}

			// Discovery advertises exactly what is accepted.
			d := do(t, s, apptest.Request{Method: "GET", URL: iss + "/.well-known/openid-configuration"}).JSON(t)
			wantStrings(t, d, "token_endpoint_auth_methods_supported",
				"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none")
			wantStrings(t, d, "token_endpoint_auth_signing_alg_values_supported",
				"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
		})
	}
}

func newP384Key(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// checkClientAuthAnswer checks a token response: a token on 200, else exactly
// RFC 6749's {error, error_description}.
func checkClientAuthAnswer(t *testing.T, r *apptest.Response, status int, code, desc string, wwwAuth bool) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	body := r.JSON(t)
	if status == http.StatusOK {
		if tok, _ := body["access_token"].(string); tok == "" || body["token_type"] != "Bearer" {
			t.Errorf("token response = %s", r.Body)
		}
		return
	}
	if len(body) != 2 || body["error"] != code || body["error_description"] != desc {
		t.Errorf("body = %s, want error %q and error_description %q", r.Body, code, desc)
	}
	if got := r.Header.Get("WWW-Authenticate"); wwwAuth != (got != "") {
		t.Errorf("WWW-Authenticate = %q, want present: %v", got, wwwAuth)
	}
}

func wantStrings(t *testing.T, doc map[string]any, key string, want ...string) {
	t.Helper()
	raw, _ := doc[key].([]any)
	got := make([]string, len(raw))
	for i, v := range raw {
		got[i], _ = v.(string)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", key, got, want)
	}
}
