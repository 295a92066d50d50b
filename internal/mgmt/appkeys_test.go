package mgmt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestApplicationRequestObjectKeys: the keys the auth service verifies
// client assertions and request objects with are checked when they are
// configured, on SQLite and PostgreSQL — jwks holds valid public keys
// only, jwksUrl is https, and an application that could not sign a
// request object cannot be made to require one. A refused write stores
// nothing.
func TestApplicationRequestObjectKeys(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := func(keys ...any) string {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pub := jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "ec-1", Use: "sig"}
	priv := jose.JSONWebKey{Key: ec, KeyID: "ec-1", Use: "sig"}
	oct := jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs"}
	native := func(kv ...any) map[string]any {
		return with(appWebBody("Native"), append([]any{"type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE"}, kv...)...)
	}

	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			admin := s.AdminToken(t)
			apps := appsPath(s.Admin.EnvironmentID)
			count := func() int {
				r := s.Do(t, apptest.Request{Method: "GET", URL: apps, Token: admin})
				if r.Status != http.StatusOK {
					t.Fatalf("list: %d %s", r.Status, r.Body)
				}
				return len(r.JSON(t)["_embedded"].(map[string]any)["applications"].([]any))
			}
			for _, tc := range []struct {
				name           string
				body           map[string]any
				target, detail string // "" for 201
			}{
				{"public jwks", with(appWebBody("W"), "jwks", set(pub)), "", ""},
				{"jwksUrl", with(appWebBody("W"), "jwksUrl", "https://app.example.com/jwks"), "", ""},
				{"jwks with a private key", with(appWebBody("W"), "jwks", set(pub, priv)), "jwks",
					"jwks keys[1] is not a public key: jwks holds public keys only."},
				{"jwks with a symmetric key", with(appWebBody("W"), "jwks", set(oct)), "jwks",
					"jwks keys[0] is not a public key: jwks holds public keys only."},
				{"jwks with a key that is not one", with(appWebBody("W"), "jwks", set(map[string]any{"kty": "EC", "crv": "P-256", "x": "AA"})), "jwks",
					"jwks keys[0] is not a valid JSON Web Key."},
				{"jwks that is not JSON", with(appWebBody("W"), "jwks", "keys"), "jwks", "jwks must be a JSON Web Key Set with at least one key."},
				{"jwksUrl over http", with(appWebBody("W"), "jwksUrl", "http://app.example.com/jwks"), "jwksUrl", "The value must be an absolute https URL."},
				{"signed request objects required of a client with a secret", with(appWebBody("W"), "requireSignedRequestObject", true), "", ""},
				{"signed request objects required of a public client with keys", native("requireSignedRequestObject", true, "jwks", set(pub)), "", ""},
				{"signed request objects required of a public client without keys", native("requireSignedRequestObject", true), "requireSignedRequestObject",
					"A public client (tokenEndpointAuthMethod NONE) can sign request objects only with its own keys: set jwks or jwksUrl."},
				{"unsigned request objects allowed of a public client", native("supportUnsignedRequestObject", true), "", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					before := count()
					r := s.Do(t, apptest.Request{Method: "POST", URL: apps, Token: admin, Body: tc.body})
					if tc.target == "" {
						if r.Status != http.StatusCreated {
							t.Fatalf("status %d: %s", r.Status, r.Body)
						}
						return
					}
					m := checkAnswer(t, r, wantErr{400, "INVALID_DATA", "INVALID_VALUE", tc.target})
					if got := detailAt(t, m, 0)["message"]; got != tc.detail {
						t.Errorf("message %q, want %q", got, tc.detail)
					}
					if n := count(); n != before {
						t.Errorf("%d applications after a refused create, want %d", n, before)
					}
				})
			}
		})
	}
}
