package authsvc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Request objects (RFC 9101, OpenID Connect Core §6.1): an authorization
// request's parameters as the claims of a JWT in the request parameter,
// at authorize or inside a pushed request. PingOne signs them with the
// client secret (HS*) or a key of the application's jwks or jwksUrl; an
// unsigned one (alg none) is taken only from an application that has
// supportUnsignedRequestObject, and requireSignedRequestObject makes a
// signed one mandatory.

// requestObjectAlgs are the algorithms a request object may be signed
// with: the client assertion's, for the same keys.
var requestObjectAlgs = assertionAlgs

// requestObjectSigningAlgs is discovery's
// request_object_signing_alg_values_supported: the signing algorithms,
// then none, which applications may opt in to.
func requestObjectSigningAlgs() []string {
	return append(assertionSigningAlgs(), "none")
}

// requestObjectSkew is the clock difference tolerated on exp, nbf and iat.
const requestObjectSkew = assertionSkew

// requestObjectNotRequest are the registered JWT claims of a request
// object, which are no authorization parameters (RFC 9101 §4).
var requestObjectNotRequest = []string{"iss", "aud", "exp", "nbf", "iat", "jti", "sub"}

// Why a signed request object is required of an application.
const signedRequestObjectRequiredDesc = "The application requires a signed request object: send the authorization request's parameters in the request parameter."

// requestObject is a request object once verified: the authorization
// request it carries, and whether it was signed.
type requestObject struct {
	params url.Values
	signed bool
}

// verifyRequestObject checks raw, the request parameter, as app's request
// object for environment envID. It answers why the object is refused
// ("" when it is not): the caller answers invalid_request_object. app
// is the application the request's own client_id names.
func (s *Service) verifyRequestObject(ctx context.Context, envID string, app *config.Application, raw string) (*requestObject, string) {
	if strings.Count(raw, ".") == 4 {
		return nil, "Encrypted request objects are not supported: sign the request object."
	}
	header, ok := jwsHeader(raw)
	if !ok {
		return nil, "The request object is not a valid JWT."
	}
	var claims map[string]json.RawMessage
	signed := header.Alg != "none"
	if !signed {
		switch {
		case app.Settings.RequireSignedRequestObject || !app.Settings.SupportUnsignedRequestObject:
			return nil, "The request object must be signed: the application does not accept unsigned request objects."
		case !strings.HasSuffix(raw, "."):
			return nil, "An unsigned request object (alg none) must have an empty signature."
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if err != nil || json.Unmarshal(payload, &claims) != nil {
			return nil, "The request object's claims are not a JSON object."
		}
	} else {
		tok, err := jwt.ParseSigned(raw, requestObjectAlgs)
		if err != nil {
			if !slices.Contains(requestObjectAlgs, jose.SignatureAlgorithm(header.Alg)) {
				return nil, "The request object's signing algorithm " + header.Alg + " is not accepted; use one of " +
					strings.Join(requestObjectSigningAlgs(), ", ") + "."
			}
			return nil, "The request object is not a valid signed JWT."
		}
		if why := s.verifyRequestObjectSignature(ctx, app, tok); why != "" {
			return nil, why
		}
		if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
			return nil, "The request object's claims are not a JSON object."
		}
	}
	if why := s.checkRequestObjectClaims(envID, app.ID, claims, signed); why != "" {
		return nil, why
	}
	params, why := requestObjectParams(claims)
	if why != "" {
		return nil, why
	}
	params.Set("client_id", app.ID)
	return &requestObject{params: params, signed: signed}, ""
}

// whyBadSecretSignature refuses an HS* request object whose MAC the
// client secret does not give: a wrong guess of the secret, which
// authorize counts as a failed client authentication.
const whyBadSecretSignature = "The request object's signature is not valid."

// secretSigned reports whether raw's header names an HS* algorithm: its
// signature is a check of the client secret.
func secretSigned(raw string) bool {
	h, ok := jwsHeader(raw)
	return ok && slices.Contains(secretJWTAlgs, jose.SignatureAlgorithm(h.Alg))
}

// verifyRequestObjectSignature checks the signature with the client
// secret (HS*, as PingOne documents) or the application's keys.
func (s *Service) verifyRequestObjectSignature(ctx context.Context, app *config.Application, tok *jwt.JSONWebToken) string {
	alg := jose.SignatureAlgorithm(tok.Headers[0].Algorithm)
	if !slices.Contains(secretJWTAlgs, alg) {
		return verifyWithClientKeys(ctx, s.clientJWKS(), app, tok, s.now(), "request object")
	}
	if app.TokenEndpointAuthMethod == methodNone || len(app.SecretSealed) == 0 {
		return "The application has no client secret to verify an " + string(alg) + " request object with."
	}
	// OIDC Core §10.1: the key is the octets of the client secret; the
	// HMAC comparison inside go-jose is constant time.
	if !s.withSecrets(ctx, app, func(secret []byte) bool { return tok.Claims(secret) == nil }) {
		return whyBadSecretSignature
	}
	return ""
}

// checkRequestObjectClaims checks what RFC 9101 §4, §6.3 and §10.2 ask
// of the claims: a signed object names its client as iss and the
// authorization server in aud; its client_id is the request's; it has
// not expired.
func (s *Service) checkRequestObjectClaims(envID, appID string, c map[string]json.RawMessage, signed bool) string {
	str := func(name string) (string, bool, bool) {
		raw, ok := c[name]
		if !ok || string(raw) == "null" {
			return "", false, true
		}
		var v string
		err := json.Unmarshal(raw, &v)
		return v, true, err == nil
	}
	cid, has, ok := str("client_id")
	switch {
	case !ok:
		return "The request object's client_id must be a string."
	case has && cid != appID:
		return "The request object's client_id does not match the client_id of the request."
	}
	iss, has, ok := str("iss")
	switch {
	case !ok || (has && iss != appID):
		return "The request object's iss must be the client id."
	case signed && !has:
		return "The request object has no iss claim: it must be the client id."
	}
	if raw, has := c["aud"]; has && string(raw) != "null" {
		var aud jwt.Audience
		if err := json.Unmarshal(raw, &aud); err != nil {
			return "The request object's aud must be a string or an array of strings."
		}
		issuer := s.Issuer(envID)
		// RFC 9101 §4 asks for the issuer; the endpoint the object is
		// sent to names the server too, as for client assertions.
		if !slices.ContainsFunc(aud, func(a string) bool { return a == issuer || a == issuer+"/authorize" || a == issuer+"/par" }) {
			return "The request object's aud must contain the issuer " + issuer + "."
		}
	} else if signed {
		return "The request object has no aud claim: it must contain the issuer " + s.Issuer(envID) + "."
	}
	now := s.now()
	for _, tc := range []struct {
		name string
		bad  func(t time.Time) bool
		why  string
	}{
		{"exp", func(t time.Time) bool { return now.After(t.Add(requestObjectSkew)) }, "The request object has expired."},
		{"nbf", func(t time.Time) bool { return t.After(now.Add(requestObjectSkew)) }, "The request object is not valid yet (nbf)."},
		{"iat", func(t time.Time) bool { return t.After(now.Add(requestObjectSkew)) }, "The request object was issued in the future (iat)."},
	} {
		raw, has := c[tc.name]
		if !has || string(raw) == "null" {
			continue
		}
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 || n > 1e11 {
			return "The request object's " + tc.name + " must be a number of seconds since the epoch."
		}
		if tc.bad(time.Unix(int64(n), 0)) {
			return tc.why
		}
	}
	return ""
}

// requestObjectParams turns the claims into authorization parameters:
// strings as they are, numbers and booleans as their JSON text, objects
// and arrays (the claims parameter) as compact JSON.
func requestObjectParams(c map[string]json.RawMessage) (url.Values, string) {
	if _, ok := c["request"]; ok {
		return nil, "A request object must not contain a request parameter."
	}
	if _, ok := c["request_uri"]; ok {
		return nil, "A request object must not contain a request_uri parameter."
	}
	out := url.Values{}
	for k, raw := range c {
		if slices.Contains(requestObjectNotRequest, k) {
			continue
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			continue
		case raw[0] == '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, "The request object's " + strconv.Quote(k) + " is not a valid string."
			}
			out.Set(k, v)
		case raw[0] == '{' || raw[0] == '[':
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, "The request object's " + strconv.Quote(k) + " is not valid JSON."
			}
			out.Set(k, buf.String())
		default:
			// A number or a boolean: max_age is a number in OIDC Core's
			// examples.
			out.Set(k, string(raw))
		}
	}
	return out, ""
}

// jwsHeader reads a compact JWS's header without trusting it.
type joseHeader struct {
	Alg string `json:"alg"`
}

func jwsHeader(raw string) (joseHeader, bool) {
	var h joseHeader
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return h, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(b, &h) != nil || h.Alg == "" || len(h.Alg) > 20 || strings.ContainsFunc(h.Alg, unicode.IsControl) {
		return h, false
	}
	return h, true
}
