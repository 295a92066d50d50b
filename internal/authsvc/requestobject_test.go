package authsvc_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// webAppBody is NewSignOn's application, named name, changed by kv.
func webAppBody(name, redirect string, kv ...any) map[string]any {
	b := map[string]any{"enabled": true, "name": name, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{redirect}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}
	for i := 0; i < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// rawJWT assembles a compact JWS from a header and claims as given, for
// headers go-jose will not make.
func rawJWT(t *testing.T, header string, claims map[string]any, sig string) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc(b) + "." + sig
}

// TestRequestObjects drives the request parameter (RFC 9101) at
// authorize and /as/par, on SQLite and PostgreSQL: every signing family,
// an unsigned object where the application allows one, the object's
// parameters in place of the query's, requireSignedRequestObject, and
// every refusal with its exact error and nothing stored.
func TestRequestObjects(t *testing.T) {
	k := newAssertionKeys(t)
	rsaPub := jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "rsa-1", Use: "sig"}
	ecPub := jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "ec-1", Use: "sig", Algorithm: "ES256"}

	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			// The jwksUrl must be https; the server trusts this one's
			// certificate (and, as in every test, private addresses).
			keySrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(jwksOf(t, ecPub)))
			}))
			t.Cleanup(keySrv.Close)
			roots := x509.NewCertPool()
			roots.AddCert(keySrv.Certificate())
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), OutboundRootCAs: roots})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			env, cb := fx.EnvID, fx.RedirectURI
			iss := s.URL + "/" + env + "/as"
			keysID, keysSecret := createClientApp(t, s, env, webAppBody("Keys", cb, "jwks", jwksOf(t, rsaPub, ecPub)))
			urlID, _ := createClientApp(t, s, env, webAppBody("Key URL", cb, "jwksUrl", keySrv.URL+"/jwks"))
			unsignedID, _ := createClientApp(t, s, env, webAppBody("Unsigned allowed", cb, "supportUnsignedRequestObject", true))
			requiredID, requiredSecret := createClientApp(t, s, env, webAppBody("Signed required", cb, "requireSignedRequestObject", true))
			publicID, _ := createClientApp(t, s, env, webAppBody("Public", cb, "type", "NATIVE_APP", "tokenEndpointAuthMethod", "NONE"))

			// claims are a valid object's for client id, changed by kv (nil deletes).
			claims := func(id string, kv ...any) map[string]any {
				c := map[string]any{"iss": id, "aud": iss, "client_id": id, "response_type": "code", "redirect_uri": cb,
					"scope": "openid", "state": "from-object", "exp": time.Now().Add(5 * time.Minute).Unix()}
				for i := 0; i < len(kv); i += 2 {
					if kv[i+1] == nil {
						delete(c, kv[i].(string))
					} else {
						c[kv[i].(string)] = kv[i+1]
					}
				}
				return c
			}
			hs := func(kv ...any) string {
				return signJWT(t, jose.HS256, []byte(fx.AppSecret), "", claims(fx.AppID, kv...))
			}
			authorize := func(clientID, request string, kv ...string) string {
				q := url.Values{"client_id": {clientID}, "request": {request}}
				for i := 0; i < len(kv); i += 2 {
					q.Set(kv[i], kv[i+1])
				}
				return iss + "/authorize?" + q.Encode()
			}
			// wantFlow checks that authorize started a flow: a redirect to
			// the sign-on page.
			wantFlow := func(t *testing.T, h *hop) {
				t.Helper()
				wantStatus(t, h, http.StatusFound)
				loc, _ := url.Parse(h.header.Get("Location"))
				if loc.Query().Get("flowId") == "" || loc.Query().Get("error") != "" {
					t.Fatalf("Location %s", loc)
				}
			}
			// wantRedirectError checks an error sent back to the client with
			// the query's state.
			wantRedirectError := func(t *testing.T, h *hop, code, desc string) {
				t.Helper()
				wantStatus(t, h, http.StatusFound)
				loc, err := url.Parse(h.header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				want := url.Values{"error": {code}, "error_description": {desc}, "state": {"from-query"}}
				if !strings.HasPrefix(loc.String(), cb+"?") || !reflect.DeepEqual(loc.Query(), want) {
					t.Fatalf("Location %s, want %v", loc, want)
				}
			}

			t.Run("accepted", func(t *testing.T) {
				for _, tc := range []struct {
					name, clientID, request string
				}{
					{"HS256 with the client secret", fx.AppID, hs()},
					{"HS512 with the client secret", fx.AppID, signJWT(t, jose.HS512, []byte(fx.AppSecret), "", claims(fx.AppID))},
					{"RS256 inline jwks", keysID, signJWT(t, jose.RS256, k.rsa, "rsa-1", claims(keysID))},
					{"PS256 inline jwks", keysID, signJWT(t, jose.PS256, k.rsa, "rsa-1", claims(keysID))},
					{"ES256 inline jwks", keysID, signJWT(t, jose.ES256, k.ec, "ec-1", claims(keysID))},
					{"RS256 without kid", keysID, signJWT(t, jose.RS256, k.rsa, "", claims(keysID))},
					{"HS256 beside keys", keysID, signJWT(t, jose.HS256, []byte(keysSecret), "", claims(keysID))},
					{"ES256 from the jwksUrl", urlID, signJWT(t, jose.ES256, k.ec, "ec-1", claims(urlID))},
					{"aud an array holding the authorize endpoint", fx.AppID, hs("aud", []string{"https://elsewhere.example", iss + "/authorize"})},
					{"no client_id inside", fx.AppID, hs("client_id", nil)},
					{"no exp", fx.AppID, hs("exp", nil)},
					{"exp within the skew", fx.AppID, hs("exp", time.Now().Add(-30*time.Second).Unix())},
					{"max_age as a number", fx.AppID, hs("max_age", 300)},
					{"alg none where allowed", unsignedID, unsignedJWT(t, claims(unsignedID))},
					{"alg none without iss and aud", unsignedID, unsignedJWT(t, claims(unsignedID, "iss", nil, "aud", nil))},
					{"signed, where signed is required", requiredID, signJWT(t, jose.HS256, []byte(requiredSecret), "", claims(requiredID))},
				} {
					t.Run(tc.name, func(t *testing.T) {
						wantFlow(t, call(t, browser(t), "GET", authorize(tc.clientID, tc.request, "state", "from-query"), "", ""))
					})
				}
				t.Run("by POST", func(t *testing.T) {
					body := url.Values{"client_id": {fx.AppID}, "request": {hs()}}.Encode()
					wantFlow(t, call(t, browser(t), "POST", iss+"/authorize", "application/x-www-form-urlencoded", body))
				})
			})

			conf := oauth2.Config{ClientID: fx.AppID, ClientSecret: fx.AppSecret, RedirectURL: cb, Scopes: []string{"openid"},
				Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token"}}
			// signOnThrough signs on at authURL and returns where resume sends the browser.
			signOnThrough := func(t *testing.T, authURL string) url.Values {
				t.Helper()
				c := browser(t)
				id := signOnFlow(t, c, s, fx, authURL)
				h := call(t, c, "GET", iss+"/resume?flowId="+id, "", "")
				wantStatus(t, h, http.StatusFound)
				loc, _ := url.Parse(h.header.Get("Location"))
				if !strings.HasPrefix(loc.String(), cb+"?") {
					t.Fatalf("Location %s", loc)
				}
				return loc.Query()
			}

			t.Run("the object's parameters are the request's", func(t *testing.T) {
				// RFC 9101 §6.3: only the object counts, whatever the query says.
				u := authorize(fx.AppID, hs(), "state", "from-query", "scope", "nope", "response_type", "token",
					"redirect_uri", "https://evil.example.com/cb", "prompt", "none")
				q := signOnThrough(t, u)
				if q.Get("state") != "from-object" || q.Get("code") == "" {
					t.Fatalf("resume answered %v", q)
				}
				tok, err := conf.Exchange(context.Background(), q.Get("code"))
				if err != nil {
					t.Fatal(err)
				}
				if tok.Extra("id_token") == nil {
					t.Fatal("no id_token")
				}
			})

			t.Run("refused", func(t *testing.T) {
				otherKey := newP384Key(t)
				for _, tc := range []struct {
					name, clientID, request, desc string
				}{
					{"wrong RSA key", keysID, signJWT(t, jose.RS256, k.otherRSA, "rsa-1", claims(keysID)), "The request object's signature is not valid."},
					{"wrong secret", fx.AppID, signJWT(t, jose.HS256, []byte(keysSecret), "", claims(fx.AppID)), "The request object's signature is not valid."},
					{"unknown kid", keysID, signJWT(t, jose.RS256, k.rsa, "rsa-9", claims(keysID)),
						"No key of the application's key set matches the request object's kid and alg."},
					{"jwksUrl holds no such key", urlID, signJWT(t, jose.ES384, otherKey, "", claims(urlID)),
						"No key of the application's key set matches the request object's kid and alg."},
					{"RS256 for an application without keys", fx.AppID, signJWT(t, jose.RS256, k.rsa, "rsa-1", claims(fx.AppID)),
						"The application has neither jwks nor jwksUrl to verify the request object with."},
					{"HS256 for a public client", publicID, signJWT(t, jose.HS256, []byte(fx.AppSecret), "", claims(publicID)),
						"The application has no client secret to verify an HS256 request object with."},
					{"alg none by default", fx.AppID, unsignedJWT(t, claims(fx.AppID)),
						"The request object must be signed: the application does not accept unsigned request objects."},
					{"alg none where signed is required", requiredID, unsignedJWT(t, claims(requiredID)),
						"The request object must be signed: the application does not accept unsigned request objects."},
					{"alg none with a signature", unsignedID, rawJWT(t, `{"alg":"none"}`, claims(unsignedID), "c2ln"),
						"An unsigned request object (alg none) must have an empty signature."},
					{"unknown alg", fx.AppID, rawJWT(t, `{"alg":"HS1"}`, claims(fx.AppID), "c2ln"),
						"The request object's signing algorithm HS1 is not accepted; use one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, none."},
					{"not a JWT", fx.AppID, "eyJ", "The request object is not a valid JWT."},
					{"encrypted", fx.AppID, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "Encrypted request objects are not supported: sign the request object."},
					{"expired", fx.AppID, hs("exp", time.Now().Add(-2*time.Minute).Unix()), "The request object has expired."},
					{"nbf ahead", fx.AppID, hs("nbf", time.Now().Add(3*time.Minute).Unix()), "The request object is not valid yet (nbf)."},
					{"iat ahead", fx.AppID, hs("iat", time.Now().Add(3*time.Minute).Unix()), "The request object was issued in the future (iat)."},
					{"exp not a number", fx.AppID, hs("exp", "soon"), "The request object's exp must be a number of seconds since the epoch."},
					{"client_id mismatch", fx.AppID, hs("client_id", keysID), "The request object's client_id does not match the client_id of the request."},
					{"iss another client", fx.AppID, hs("iss", keysID), "The request object's iss must be the client id."},
					{"no iss", fx.AppID, hs("iss", nil), "The request object has no iss claim: it must be the client id."},
					{"no aud", fx.AppID, hs("aud", nil), "The request object has no aud claim: it must contain the issuer " + iss + "."},
					{"aud elsewhere", fx.AppID, hs("aud", "https://elsewhere.example"), "The request object's aud must contain the issuer " + iss + "."},
					{"request_uri inside", fx.AppID, hs("request_uri", requestURIPrefix+"x"), "A request object must not contain a request_uri parameter."},
					{"request inside", fx.AppID, hs("request", "x"), "A request object must not contain a request parameter."},
				} {
					t.Run(tc.name, func(t *testing.T) {
						h := call(t, browser(t), "GET", authorize(tc.clientID, tc.request, "state", "from-query", "redirect_uri", cb), "", "")
						wantRedirectError(t, h, "invalid_request_object", tc.desc)
					})
				}
				t.Run("by POST", func(t *testing.T) {
					body := url.Values{"client_id": {fx.AppID}, "request": {hs("exp", time.Now().Add(-time.Hour).Unix())}, "state": {"from-query"}}.Encode()
					h := call(t, browser(t), "POST", iss+"/authorize", "application/x-www-form-urlencoded", body)
					wantRedirectError(t, h, "invalid_request_object", "The request object has expired.")
				})
				t.Run("object's redirect_uri is not trusted", func(t *testing.T) {
					// A refused object's redirect_uri is never used: the error
					// goes where the query says, else it is shown.
					h := call(t, browser(t), "GET", authorize(fx.AppID, hs("exp", 1, "redirect_uri", "https://evil.example.com/cb"), "state", "from-query"), "", "")
					wantRedirectError(t, h, "invalid_request_object", "The request object has expired.")
				})
				t.Run("shown when the query's redirect_uri is not registered", func(t *testing.T) {
					h := call(t, browser(t), "GET", authorize(fx.AppID, hs("exp", 1), "redirect_uri", "https://evil.example.com/cb"), "", "")
					if l := h.header.Get("Location"); l != "" {
						t.Fatalf("redirected to %s", l)
					}
					wantStatus(t, h, http.StatusBadRequest)
					body := h.json(t)
					delete(body, "id")
					want := map[string]any{"code": "INVALID_REQUEST", "message": "The request could not be completed. The request was malformed or invalid.",
						"details": []any{map[string]any{"code": "INVALID_VALUE", "target": "request", "message": "The request object has expired."}}}
					if !reflect.DeepEqual(body, want) {
						t.Fatalf("body %s", h.body)
					}
				})
				t.Run("shown for an unknown client", func(t *testing.T) {
					h := call(t, browser(t), "GET", authorize(env, hs()), "", "")
					wantStatus(t, h, http.StatusBadRequest)
					d := h.json(t)["details"].([]any)[0].(map[string]any)
					if h.header.Get("Location") != "" || d["code"] != "INVALID_VALUE" || d["target"] != "client_id" {
						t.Fatalf("%s", h.body)
					}
				})
				t.Run("pi.flow errors are JSON", func(t *testing.T) {
					h := call(t, browser(t), "GET", authorize(fx.AppID, hs("exp", 1), "response_mode", "pi.flow"), "", "")
					wantPARError(t, h, http.StatusBadRequest, "invalid_request_object", "The request object has expired.")
				})
			})

			t.Run("requireSignedRequestObject", func(t *testing.T) {
				plain := iss + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {requiredID}, "redirect_uri": {cb},
					"scope": {"openid"}, "state": {"from-query"}}.Encode()
				h := call(t, browser(t), "GET", plain, "", "")
				wantRedirectError(t, h, "invalid_request",
					"The application requires a signed request object: send the authorization request's parameters in the request parameter.")
				form := url.Values{"response_type": {"code"}, "redirect_uri": {cb}, "scope": {"openid"}}
				wantPARError(t, pushRequest(t, s, env, requiredID, requiredSecret, form), http.StatusBadRequest, "invalid_request",
					"The application requires a signed request object: send the authorization request's parameters in the request parameter.")
				// Pushed with a signed object, the request_uri serves.
				h = pushRequest(t, s, env, requiredID, requiredSecret,
					url.Values{"request": {signJWT(t, jose.HS256, []byte(requiredSecret), "", claims(requiredID))}})
				wantStatus(t, h, http.StatusCreated)
				uri := h.json(t)["request_uri"].(string)
				wantFlow(t, call(t, browser(t), "GET", iss+"/authorize?"+url.Values{"client_id": {requiredID}, "request_uri": {uri}}.Encode(), "", ""))
			})

			t.Run("pushed", func(t *testing.T) {
				// The object is verified when pushed; its parameters are the
				// pushed request's.
				h := pushRequest(t, s, env, fx.AppID, fx.AppSecret, url.Values{"request": {hs("state", "pushed-object")}, "state": {"from-form"}})
				wantStatus(t, h, http.StatusCreated)
				uri := h.json(t)["request_uri"].(string)
				q := signOnThrough(t, iss+"/authorize?"+url.Values{"client_id": {fx.AppID}, "request_uri": {uri}}.Encode())
				if q.Get("state") != "pushed-object" || q.Get("code") == "" {
					t.Fatalf("resume answered %v", q)
				}
				if _, err := conf.Exchange(context.Background(), q.Get("code")); err != nil {
					t.Fatal(err)
				}
				// Signed with the keys, at /as/par as audience.
				h = pushRequest(t, s, env, keysID, keysSecret, url.Values{"request": {signJWT(t, jose.ES256, k.ec, "ec-1", claims(keysID, "aud", iss+"/par"))}})
				wantStatus(t, h, http.StatusCreated)

				for _, tc := range []struct {
					name, id, secret, request, desc string
				}{
					{"wrong key", keysID, keysSecret, signJWT(t, jose.RS256, k.otherRSA, "rsa-1", claims(keysID)), "The request object's signature is not valid."},
					{"alg none", fx.AppID, fx.AppSecret, unsignedJWT(t, claims(fx.AppID)), "The request object must be signed: the application does not accept unsigned request objects."},
					{"expired", fx.AppID, fx.AppSecret, hs("exp", time.Now().Add(-time.Hour).Unix()), "The request object has expired."},
					{"client_id of another client", fx.AppID, fx.AppSecret, signJWT(t, jose.HS256, []byte(keysSecret), "", claims(keysID)),
						"The request object's signature is not valid."},
					{"client_id mismatch", fx.AppID, fx.AppSecret, hs("client_id", keysID), "The request object's client_id does not match the client_id of the request."},
				} {
					t.Run(tc.name, func(t *testing.T) {
						wantPARError(t, pushRequest(t, s, env, tc.id, tc.secret, url.Values{"request": {tc.request}}), http.StatusBadRequest, "invalid_request_object", tc.desc)
					})
				}
				// The object's parameters are checked as any pushed request's.
				wantPARError(t, pushRequest(t, s, env, fx.AppID, fx.AppSecret, url.Values{"request": {hs("scope", "openid p1:read:user")}}),
					http.StatusBadRequest, "invalid_scope", "The scope p1:read:user is not granted to the application.")
			})

			t.Run("nothing stored on refusal", func(t *testing.T) {
				ctx := context.Background()
				later := time.Now().Add(24 * time.Hour)
				if _, err := s.Store.PurgeExpired(ctx, later, 100000); err != nil {
					t.Fatal(err)
				}
				bad := hs("exp", 1)
				call(t, browser(t), "GET", authorize(fx.AppID, bad, "state", "from-query"), "", "")
				call(t, browser(t), "GET", authorize(keysID, signJWT(t, jose.RS256, k.otherRSA, "rsa-1", claims(keysID))), "", "")
				call(t, browser(t), "GET", authorize(fx.AppID, unsignedJWT(t, claims(fx.AppID))), "", "")
				pushRequest(t, s, env, fx.AppID, fx.AppSecret, url.Values{"request": {bad}})
				pushRequest(t, s, env, requiredID, requiredSecret, url.Values{"response_type": {"code"}, "scope": {"openid"}})
				if n, err := s.Store.PurgeExpired(ctx, later, 100000); err != nil || n != 0 {
					t.Fatalf("refused request objects stored %d rows (%v)", n, err)
				}
			})
		})
	}
}

// TestRequestObjectSecretGuessesLimited: an HS256 request object at
// authorize is a check of the client secret by a caller who proved
// nothing, so a wrong one counts as a failed client authentication: once
// the client's budget is spent, authorize answers 429 whatever the
// object (the right secret too, so the answer tells no guess apart), and
// the token endpoint, which guards the same secret, is closed as well.
func TestRequestObjectSecretGuessesLimited(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			lim := ratelimit.Defaults()
			lim.ClientAuthFailuresPerAddress = ratelimit.Rate{N: 100, Per: time.Hour}
			lim.ClientAuthFailuresPerClient = ratelimit.Rate{N: 3, Per: time.Hour}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), Limits: &lim})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			iss := s.URL + "/" + fx.EnvID + "/as"
			authorize := func(secret string) *hop {
				obj := signJWT(t, jose.HS256, []byte(secret), "", map[string]any{"iss": fx.AppID, "aud": iss, "client_id": fx.AppID,
					"response_type": "code", "redirect_uri": fx.RedirectURI, "scope": "openid", "exp": time.Now().Add(time.Minute).Unix()})
				q := url.Values{"client_id": {fx.AppID}, "request": {obj}, "redirect_uri": {fx.RedirectURI}, "state": {"s1"}}
				return call(t, browser(t), "GET", iss+"/authorize?"+q.Encode(), "", "")
			}
			for i := range 3 {
				h := authorize(fmt.Sprintf("a-wrong-guess-of-the-secret-%02d-xxxxxxxxxx", i))
				wantStatus(t, h, http.StatusFound)
				if loc := h.header.Get("Location"); !strings.Contains(loc, "error=invalid_request_object") ||
					!strings.Contains(loc, url.QueryEscape("The request object's signature is not valid.")) {
					t.Fatalf("guess %d: %s", i, loc)
				}
			}
			if h := authorize(fx.AppSecret); h.status != http.StatusTooManyRequests || h.header.Get("Retry-After") == "" {
				t.Fatalf("right secret after the budget is spent: %d %s, want 429 with Retry-After", h.status, h.header.Get("Location"))
			}
			r := s.Do(t, apptest.Request{Method: "POST", URL: iss + "/token", ContentType: formType,
				Body: form("grant_type", "authorization_code", "code", "x", "redirect_uri", fx.RedirectURI), Headers: basic(fx.AppID, fx.AppSecret)})
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("token endpoint after the guesses: %d %s, want 429", r.Status, r.Body)
			}
		})
	}
}
