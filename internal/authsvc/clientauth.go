package authsvc

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PingOne's tokenEndpointAuthMethod values.
const (
	methodBasic         = "CLIENT_SECRET_BASIC"
	methodPost          = "CLIENT_SECRET_POST"
	methodSecretJWT     = "CLIENT_SECRET_JWT"
	methodPrivateKeyJWT = "PRIVATE_KEY_JWT"
	methodNone          = "NONE"
)

// clientAuthMethods are the methods authenticateClient serves, as
// PingOne's tokenEndpointAuthMethod names them and as discovery's
// token_endpoint_auth_methods_supported (RFC 8414) does. A method is
// served by a case of authenticateClient and a line here.
var clientAuthMethods = []struct{ pingOne, oauth string }{
	{methodBasic, "client_secret_basic"},
	{methodPost, "client_secret_post"},
	{methodSecretJWT, "client_secret_jwt"},
	{methodPrivateKeyJWT, "private_key_jwt"},
	{methodNone, "none"},
}

// authMethodsSupported is discovery's token_endpoint_auth_methods_supported.
func authMethodsSupported() []string {
	out := make([]string, len(clientAuthMethods))
	for i, m := range clientAuthMethods {
		out[i] = m.oauth
	}
	return out
}

// jwtBearer is the only client_assertion_type (RFC 7523 §2.2).
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	// assertionSkew is the clock difference tolerated between the client
	// and us on exp, nbf and iat.
	assertionSkew = 60 * time.Second
	// maxAssertionLifetime bounds how far ahead exp may be. RFC 7523 sets
	// no limit and clients commonly mint assertions for minutes to an
	// hour; refusing only beyond a day keeps them working while bounding
	// how long a jti has to be remembered.
	maxAssertionLifetime = 24 * time.Hour
	// maxJTILength bounds the once-key a jti becomes in the store.
	maxJTILength = 256
	// minRSABits is RFC 7518 §3.3's minimum for RS* and PS*.
	minRSABits = 2048
)

// The signing algorithms a client assertion may use. "none" is never
// among them: an unsigned assertion authenticates nobody. The HMAC and
// asymmetric families stay apart so that a public key can never be used
// as an HMAC secret.
var (
	secretJWTAlgs     = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	privateKeyJWTAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512}
	assertionAlgs     = slices.Concat(secretJWTAlgs, privateKeyJWTAlgs)
)

// assertionSigningAlgs is the discovery document's
// token_endpoint_auth_signing_alg_values_supported.
func assertionSigningAlgs() []string {
	out := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		out[i] = string(a)
	}
	return out
}

// client is an authenticated OAuth client: its application with the
// settings client authentication reads (its keys), and the grants (grant
// types, PKCE, refresh tokens), decoded once when the cache loaded it.
type client struct {
	app *config.Application
	// method is the tokenEndpointAuthMethod the request used; NONE for a
	// public client, which the grant must decide whether to serve.
	method string
}

// clientRequest is a request to an endpoint its client authenticates to
// (token, introspect, revoke), read once: the form and the environment,
// then the client once authenticate has run.
type clientRequest struct {
	r      *http.Request
	env    *store.Environment
	form   url.Values
	client *client
	limits limitKeys
}

// readClientRequest reads what every client-authenticated endpoint reads
// first: the form (content type, size, no repeated parameter), then the
// environment. No client can authenticate in an unknown environment, so
// that answers as a failed authentication.
func (s *Service) readClientRequest(w http.ResponseWriter, r *http.Request) (*clientRequest, *oauthError) {
	form, oe := parseForm(w, r)
	if oe != nil {
		return nil, oe
	}
	keys := s.limitKeysOf(r, form)
	if oe := s.Limits.gate(keys, s.now()); oe != nil {
		return nil, oe
	}
	env, err := s.Config.Environment(r.Context(), r.PathValue("envID"))
	if errors.Is(err, store.ErrNotFound) {
		s.Limits.failed(keys, s.now())
		return nil, authFailed(triedBasic(r))
	} else if err != nil {
		return nil, serverError()
	}
	return &clientRequest{r: r, env: &env.Environment, form: form, limits: keys}, nil
}

// authenticate authenticates the request's client with whichever method
// the request uses, and keeps it. A failure counts against the limits of
// its address and client; a success, against the client's request limit
// when there is one.
func (s *Service) authenticate(req *clientRequest) *oauthError {
	c, oe := s.authenticateClient(req.r, req.env.ID, req.form)
	if oe != nil {
		if oe.status == http.StatusUnauthorized {
			s.Limits.failed(req.limits, s.now())
		}
		return oe
	}
	if oe := s.Limits.request(req.env.ID, c.app.ID, s.now()); oe != nil {
		return oe
	}
	req.client = c
	return nil
}

// allowClientOrigin lets a browser application read the answer of an
// endpoint its client authenticated to (a single-page app redeeming its
// code, refreshing, revoking) when its corsSettings allow the request's
// Origin. The request is a CORS simple request (a form POST), so there is
// no preflight, and the client is known only now. Nothing is added
// without an Origin, so server-side clients pay nothing.
func allowClientOrigin(w http.ResponseWriter, req *clientRequest) {
	origin := req.r.Header.Get("Origin")
	if origin == "" || req.client == nil {
		return
	}
	w.Header().Add("Vary", "Origin")
	if flow.OriginAllowed(req.client.app.Settings.CorsSettings, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
}

// authFailed answers every failure that could tell whether a client id
// exists: unknown, malformed, disabled, in another environment, or
// registered for another method all read the same.
func authFailed(basic bool) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "Client authentication failed.", basicAuth: basic}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: desc}
}

// authenticateClient finds which one method the request authenticates
// with (Basic header, client_secret, client_assertion, or client_id
// alone for a public client) and checks it against the application,
// whose tokenEndpointAuthMethod must be that method. Secret comparisons
// are constant time over the unsealed secret: client secrets are
// high-entropy, so a slow hash would add cost and no safety.
func (s *Service) authenticateClient(r *http.Request, envID string, form url.Values) (*client, *oauthError) {
	basic := triedBasic(r)
	withSecret := form.Get("client_secret") != ""
	withAssertion := form.Get("client_assertion") != "" || form.Get("client_assertion_type") != ""
	used := 0
	for _, b := range []bool{basic, withSecret, withAssertion} {
		if b {
			used++
		}
	}
	if used > 1 {
		return nil, invalidRequest("Use one client authentication method, not several.")
	}
	ctx := r.Context()
	switch {
	case basic:
		id, secret, ok := r.BasicAuth()
		if !ok {
			// An Authorization: Basic header that does not parse is a
			// failed Basic authentication, not a fall-back to the body.
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "Malformed client credentials.", basicAuth: true}
		}
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "Malformed client credentials.", basicAuth: true}
		}
		if cid := form.Get("client_id"); cid != "" && cid != id {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "client_id does not match the client of the Authorization header.", basicAuth: true}
		}
		return s.authenticateSecret(ctx, envID, id, secret, methodBasic)
	case withSecret:
		return s.authenticateSecret(ctx, envID, form.Get("client_id"), form.Get("client_secret"), methodPost)
	case withAssertion:
		return s.authenticateAssertion(ctx, envID, form)
	default:
		return s.authenticatePublic(ctx, envID, form.Get("client_id"))
	}
}

// lookupClient returns the enabled application id of envID registered for
// method, or the one failure that says nothing about which of those it
// is not.
func (s *Service) lookupClient(ctx context.Context, envID, id, method string) (*config.Application, *oauthError) {
	basic := method == methodBasic
	// Ids are UUIDs in their 36-character form; anything else must not
	// reach the store, where PostgreSQL would refuse a NUL with a 500.
	if len(id) != 36 || uuid.Validate(id) != nil || len(envID) != 36 || uuid.Validate(envID) != nil {
		return nil, authFailed(basic)
	}
	app, err := s.Config.Application(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, authFailed(basic)
	}
	if errors.Is(err, config.ErrDamaged) {
		// A row no write of Gatehouse's makes: the operator must see it,
		// the client gets the answer of any client that cannot sign on
		// (a 500 would only make it retry).
		slog.ErrorContext(ctx, "client authentication: the application's stored settings do not decode", "err", err)
		return nil, authFailed(basic)
	}
	if err != nil {
		return nil, serverError()
	}
	if !app.Enabled || app.TokenEndpointAuthMethod != method {
		return nil, authFailed(basic)
	}
	if method != methodNone && len(app.SecretSealed) == 0 {
		return nil, authFailed(basic)
	}
	return app, nil
}

// authenticateSecret serves CLIENT_SECRET_BASIC and CLIENT_SECRET_POST.
func (s *Service) authenticateSecret(ctx context.Context, envID, id, secret, method string) (*client, *oauthError) {
	if id == "" || secret == "" {
		return nil, authFailed(method == methodBasic)
	}
	app, oe := s.lookupClient(ctx, envID, id, method)
	if oe != nil {
		return nil, oe
	}
	if !s.secretMatches(ctx, app, secret) {
		return nil, authFailed(method == methodBasic)
	}
	return &client{app: app, method: method}, nil
}

// authenticatePublic identifies a public client by its client_id alone.
// It proves nothing about the caller; the grant decides what a public
// client may do (PKCE for codes, say, and never client_credentials).
func (s *Service) authenticatePublic(ctx context.Context, envID, id string) (*client, *oauthError) {
	if id == "" {
		return nil, authFailed(false)
	}
	app, oe := s.lookupClient(ctx, envID, id, methodNone)
	if oe != nil {
		return nil, oe
	}
	return &client{app: app, method: methodNone}, nil
}

// assertionClaims are the claims RFC 7523 §3 requires of a client
// assertion, read before the signature is checked to find the client.
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
}

// authenticateAssertion serves CLIENT_SECRET_JWT and PRIVATE_KEY_JWT
// (RFC 7523 §2.2, OIDC Core §9). The method used follows from the
// assertion's algorithm: HMAC is CLIENT_SECRET_JWT, a signature is
// PRIVATE_KEY_JWT. Everything that can be checked without the client is
// checked first, so those answers say nothing about whether it exists.
func (s *Service) authenticateAssertion(ctx context.Context, envID string, form url.Values) (*client, *oauthError) {
	typ, raw := form.Get("client_assertion_type"), form.Get("client_assertion")
	switch {
	case typ == "":
		return nil, invalidRequest("client_assertion_type is required with client_assertion.")
	case typ != jwtBearer:
		return nil, invalidRequest("Unsupported client_assertion_type; use " + jwtBearer + ".")
	case raw == "":
		return nil, invalidRequest("client_assertion is required with client_assertion_type.")
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil {
		if alg := unverifiedAlg(raw); alg != "" && !slices.Contains(assertionAlgs, jose.SignatureAlgorithm(alg)) {
			return nil, invalidClient("The client assertion's signing algorithm " + alg + " is not accepted; use one of " +
				strings.Join(assertionSigningAlgs(), ", ") + ".")
		}
		return nil, invalidClient("The client assertion is not a valid signed JWT.")
	}
	alg := jose.SignatureAlgorithm(tok.Headers[0].Algorithm)
	method := methodPrivateKeyJWT
	if slices.Contains(secretJWTAlgs, alg) {
		method = methodSecretJWT
	}
	var c assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil, invalidClient("The client assertion's claims are not valid.")
	}
	now := s.now()
	if oe := s.checkAssertionClaims(envID, form.Get("client_id"), &c, now); oe != nil {
		return nil, oe
	}
	app, oe := s.lookupClient(ctx, envID, c.Subject, method)
	if oe != nil {
		return nil, oe
	}
	if method == methodSecretJWT {
		// OIDC Core §9: the key is the octets of the client secret.
		ok := s.withSecrets(ctx, app, func(secret []byte) bool { return tok.Claims(secret) == nil })
		if !ok {
			return nil, invalidClient("The client assertion's signature is not valid.")
		}
	} else if why := verifyWithClientKeys(ctx, s.clientJWKS(), app, tok, now, "client assertion"); why != "" {
		return nil, invalidClient(why)
	}
	// Only now that the client has proven itself may its jti be spent:
	// an unverified assertion must not burn a jti its client will use.
	err = s.Store.UseOnce(ctx, envID, "client_assertion:"+app.ID+":"+c.ID, c.Expiry.Time().Add(assertionSkew))
	if errors.Is(err, store.ErrConflict) {
		return nil, invalidClient("The client assertion was already used.")
	}
	if err != nil {
		return nil, serverError()
	}
	return &client{app: app, method: method}, nil
}

// checkAssertionClaims checks what RFC 7523 §3 asks of the claims.
func (s *Service) checkAssertionClaims(envID, clientID string, c *assertionClaims, now time.Time) *oauthError {
	switch {
	case c.Issuer == "" || c.Issuer != c.Subject:
		return invalidClient("The client assertion's iss and sub must both be the client id.")
	case clientID != "" && clientID != c.Subject:
		return invalidClient("client_id does not match the client assertion's iss and sub.")
	}
	// RFC 7523 §3 asks for the token endpoint's URL and OIDC Core §9 says
	// the token endpoint SHOULD be used; both allow the issuer, which
	// clients sharing one assertion across endpoints (introspection,
	// revocation) send, so either is accepted.
	issuer := s.Issuer(envID)
	if !slices.Contains(c.Audience, issuer+"/token") && !slices.Contains(c.Audience, issuer) {
		return invalidClient("The client assertion's aud must contain the token endpoint " + issuer + "/token or the issuer " + issuer + ".")
	}
	if c.Expiry == nil {
		return invalidClient("The client assertion has no exp claim.")
	}
	exp := c.Expiry.Time()
	switch {
	case now.After(exp.Add(assertionSkew)):
		return invalidClient("The client assertion has expired.")
	case exp.After(now.Add(maxAssertionLifetime + assertionSkew)):
		return invalidClient("The client assertion's exp is more than 24 hours ahead; mint short-lived assertions.")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(assertionSkew)):
		return invalidClient("The client assertion is not valid yet (nbf).")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(assertionSkew)):
		return invalidClient("The client assertion was issued in the future (iat).")
	case c.ID == "":
		return invalidClient("The client assertion has no jti claim.")
	case len(c.ID) > maxJTILength || strings.ContainsFunc(c.ID, unicode.IsControl):
		return invalidClient(fmt.Sprintf("The client assertion's jti must be at most %d printable characters.", maxJTILength))
	}
	return nil
}

// unverifiedAlg reads a compact JWS's alg without trusting it, to name
// it in an error.
func unverifiedAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || len(h.Alg) > 20 || strings.ContainsFunc(h.Alg, unicode.IsControl) {
		return ""
	}
	return h.Alg
}

// secretMatches compares the presented secret with the application's
// current one and, failing that, with the one it had before its last
// rotation while that is still accepted.
func (s *Service) secretMatches(ctx context.Context, app *config.Application, secret string) bool {
	return s.withSecrets(ctx, app, func(want []byte) bool { return secrets.Equal(secret, string(want)) })
}

// withSecrets reports whether check accepts the application's current
// secret or, failing that, the previous one while its rotation grace
// period lasts. The previous secret costs a query only when the current
// one fails.
func (s *Service) withSecrets(ctx context.Context, app *config.Application, check func(secret []byte) bool) bool {
	aad := "app:" + app.ID
	if cur, err := s.Sealer.Open(app.SecretSealed, aad); err == nil && check(cur) {
		return true
	}
	prev, err := s.Config.ApplicationPreviousSecret(ctx, app.EnvironmentID, app.ID)
	now := s.now()
	if err != nil || prev == nil || !now.Before(prev.ExpiresAt) {
		return false
	}
	old, err := s.Sealer.Open(prev.Sealed, aad)
	if err != nil || !check(old) {
		return false
	}
	// lastUsed is informative: a failed write must not fail the grant.
	_ = s.Store.TouchApplicationPreviousSecret(ctx, app.EnvironmentID, app.ID, now.UTC().Truncate(time.Millisecond))
	return true
}

// triedBasic reports whether the client attempted HTTP Basic
// authentication: RFC 6749 §5.2 then requires WWW-Authenticate on a 401.
func triedBasic(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}

// verifyWithClientKeys checks a JWT the client signed with its own keys
// (a PRIVATE_KEY_JWT assertion, a request object) against the
// application's jwks, or the key set at its jwksUrl (fetched through
// keys). It answers why the JWT is refused, "" when it is not; what names
// the JWT in that answer.
func verifyWithClientKeys(ctx context.Context, keys *jwksCache, app *config.Application, tok *jwt.JSONWebToken, now time.Time, what string) string {
	h, data := tok.Headers[0], &app.Settings
	switch {
	case data.Jwks != "":
		if app.InlineKeys == nil {
			return "The application's jwks is not a valid JSON Web Key Set."
		}
		why, _ := verifyWithSet(tok, app.InlineKeys, h, what)
		return why
	case data.JwksURL != "":
		set, err := keys.get(ctx, data.JwksURL, now, false)
		if re, ok := outbound.Refused(err); ok {
			// The outbound client logged it, with the address.
			return "The application's jwksUrl was not fetched: " + re.Rule + "."
		}
		if err != nil {
			slog.WarnContext(ctx, "the application's jwksUrl could not be fetched", "verifying", what, "url", data.JwksURL, "err", err)
			return "The application's key set could not be fetched from its jwksUrl."
		}
		why, noKey := verifyWithSet(tok, set, h, what)
		if !noKey {
			return why
		}
		// An unknown kid may be a key the client has just rotated in.
		if set, err = keys.get(ctx, data.JwksURL, now, true); err != nil {
			return why
		}
		why, _ = verifyWithSet(tok, set, h, what)
		return why
	default:
		return "The application has neither jwks nor jwksUrl to verify the " + what + " with."
	}
}

// verifyWithSet tries the signing keys of set that fit the JWT's kid and
// algorithm. A private key in the set is used by its public half;
// symmetric keys never are. noKey reports that no key could have signed
// it: the one case worth fetching a jwksUrl again for.
func verifyWithSet(tok *jwt.JSONWebToken, set *jose.JSONWebKeySet, h jose.Header, what string) (why string, noKey bool) {
	alg := h.Algorithm
	found := false
	for _, k := range set.Keys {
		if (h.KeyID != "" && k.KeyID != h.KeyID) || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		pub := k.Public()
		switch key := pub.Key.(type) {
		case *rsa.PublicKey:
			if (!strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS")) || key.N.BitLen() < minRSABits {
				continue
			}
		case *ecdsa.PublicKey:
			if !strings.HasPrefix(alg, "ES") {
				continue
			}
		default:
			continue
		}
		found = true
		if tok.Claims(pub.Key) == nil {
			return "", false
		}
	}
	if !found {
		return "No key of the application's key set matches the " + what + "'s kid and alg.", true
	}
	return "The " + what + "'s signature is not valid.", false
}

// Fetching a jwksUrl: bounded in time and size, cached, and refetched
// early only for an unknown kid and at most every jwksRefetchEvery.
const (
	jwksFetchTimeout = 5 * time.Second
	jwksMaxBytes     = 256 << 10
	jwksCacheFor     = 5 * time.Minute
	jwksRefetchEvery = 10 * time.Second
)

// clientJWKS caches the key sets applications publish at their jwksUrl,
// fetched through the Service's outbound client (which refuses addresses
// only Gatehouse can reach). A URL names the same keys whoever asks, so
// one cache serves every environment; it holds one entry per distinct
// jwksUrl, which only administrators can set.
func (s *Service) clientJWKS() *jwksCache {
	s.jwksOnce.Do(func() {
		c := s.Outbound
		if c == nil {
			c = outbound.New(outbound.Options{})
		}
		s.jwksKeys = newJWKSCache(c.WithTimeout(jwksFetchTimeout).HTTP())
	})
	return s.jwksKeys
}

type jwksCache struct {
	mu      sync.Mutex
	client  *http.Client
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	// mu is held across a fetch, so that concurrent misses for one URL
	// wait for a single request instead of each making one.
	mu        sync.Mutex
	set       *jose.JSONWebKeySet
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last attempt, successful or not
	err       error     // of the last attempt
	usedAt    time.Time // under jwksCache.mu
}

func newJWKSCache(c *http.Client) *jwksCache {
	return &jwksCache{client: c, entries: map[string]*jwksEntry{}}
}

// get returns the key set at u: the cached one while fresh, else a new
// fetch. refresh asks for a fetch even when fresh (an unknown kid). No
// URL is fetched more than once per jwksRefetchEvery; in between, and
// when a fetch fails, the last good set still serves.
func (c *jwksCache) get(ctx context.Context, u string, now time.Time, refresh bool) (*jose.JSONWebKeySet, error) {
	c.mu.Lock()
	e := c.entries[u]
	if e == nil {
		// A tenant may point jwksUrl anywhere, as often as it likes: URLs
		// unused for jwksCacheFor go when a new one comes, so the map holds
		// only those in use.
		for k, old := range c.entries {
			if now.Sub(old.usedAt) >= jwksCacheFor {
				delete(c.entries, k)
			}
		}
		e = &jwksEntry{}
		c.entries[u] = e
	}
	e.usedAt = now
	hc := c.client
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	want := e.set == nil || refresh || now.Sub(e.fetchedAt) >= jwksCacheFor
	if want && (e.triedAt.IsZero() || now.Sub(e.triedAt) >= jwksRefetchEvery) {
		e.triedAt = now
		// The fetch outlives a caller that goes away: its result serves
		// the next one, and a cancelled fetch would only block a retry.
		set, err := fetchJWKS(context.WithoutCancel(ctx), hc, u)
		e.err = err
		if err == nil {
			e.set, e.fetchedAt = set, now
		}
	}
	if e.set == nil {
		return nil, e.err
	}
	return e.set, nil
}

func fetchJWKS(ctx context.Context, hc *http.Client, u string) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwksUrl answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > jwksMaxBytes {
		return nil, fmt.Errorf("jwksUrl key set is over %d bytes", jwksMaxBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("jwksUrl key set has no keys")
	}
	return &set, nil
}
