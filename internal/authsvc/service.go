// Package authsvc is PingOne's auth service for one Gatehouse node:
// {authPath}/{envId}/as/… — the token endpoint, JWKS and discovery so far —
// and the verification of the access tokens it issues.
package authsvc

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Service serves the auth endpoints.
type Service struct {
	Store    store.Store
	Keys     *keys.Manager
	Sealer   *secrets.Sealer
	AuthPath string // base URL, no trailing slash
	// AccessTokenTTL is the lifetime of access tokens for the PingOne API.
	AccessTokenTTL time.Duration
	Now            func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Issuer is an environment's issuer: {authPath}/{envId}/as.
func (s *Service) Issuer(envID string) string { return s.AuthPath + "/" + envID + "/as" }

// Routes registers the auth endpoints on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{envID}/as/token", s.token)
	mux.HandleFunc("GET /{envID}/as/jwks", s.jwks)
	mux.HandleFunc("GET /{envID}/as/.well-known/openid-configuration", s.discovery)
}

func (s *Service) jwks(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	if _, err := s.Store.GetEnvironment(r.Context(), envID); err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	doc, err := s.Keys.JWKS(r.Context(), envID)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	w.Header().Set("Content-Type", wire.ContentType)
	w.Header().Set("Cache-Control", "max-age=60")
	w.Write(doc)
}

func (s *Service) discovery(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	if _, err := s.Store.GetEnvironment(r.Context(), envID); err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	iss := s.Issuer(envID)
	wire.Write(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"pushed_authorization_request_endpoint": iss + "/par",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"end_session_endpoint":                  iss + "/signoff",
		"introspection_endpoint":                iss + "/introspect",
		"revocation_endpoint":                   iss + "/revoke",
		"claims_parameter_supported":            false,
		"request_parameter_supported":           true,
		"request_uri_parameter_supported":       false,
		"require_pushed_authorization_requests": false,
		"scopes_supported":                      []string{"openid", "profile", "email", "address", "phone", "offline_access"},
		"response_types_supported":              []string{"code", "id_token", "token id_token", "code id_token", "code token", "code token id_token"},
		"response_modes_supported":              []string{"pi.flow", "query", "fragment", "form_post"},
		"grant_types_supported":                 []string{"authorization_code", "implicit", "client_credentials", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"userinfo_signing_alg_values_supported": []string{"none"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"claim_types_supported":                 []string{"normal"},
		"claims_supported": []string{"sub", "iss", "auth_time", "acr", "name", "given_name", "family_name", "middle_name",
			"preferred_username", "profile", "picture", "zoneinfo", "phone_number", "updated_at", "address", "email", "locale"},
		"code_challenge_methods_supported": []string{"plain", "S256"},
	})
}

// AccessClaims are the claims of a Gatehouse access token. aud is always an
// array, as PingOne sends it.
type AccessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud"`
	ClientID  string   `json:"client_id"`
	Env       string   `json:"env"`
	Org       string   `json:"org"`
	Scope     string   `json:"scope,omitempty"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	ID        string   `json:"jti"`
}

// ErrInvalidToken is every reason an access token is refused.
var ErrInvalidToken = errors.New("authsvc: invalid access token")

// VerifyAccessToken checks a bearer token for the PingOne API: signature by
// the key of the environment it names, issuer, expiry and audience.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string) (*AccessClaims, error) {
	// The environment, and so the key set, comes from the unverified
	// payload; the signature check against that environment's keys and the
	// issuer match then vouch for it.
	tok, err := keys.Parse(raw)
	if err != nil {
		return nil, ErrInvalidToken
	}
	var unsafe struct {
		Env string `json:"env"`
	}
	// Environment ids are UUIDs; anything else (a NUL, say) must not reach
	// the store as a query argument, where PostgreSQL would fail with a 500.
	if err := tok.UnsafeClaimsWithoutVerification(&unsafe); err != nil || len(unsafe.Env) != 36 || uuid.Validate(unsafe.Env) != nil {
		return nil, ErrInvalidToken
	}
	envID := unsafe.Env
	var c AccessClaims
	if err := s.Keys.Verify(ctx, envID, tok, &c); err != nil {
		if errors.Is(err, keys.ErrInvalidToken) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	now := s.now().Unix()
	if c.Env != envID || c.Issuer != s.Issuer(envID) || c.ExpiresAt <= now || c.IssuedAt > now+60 ||
		!slices.Contains(c.Audience, provision.PingOneAPIAudience) || c.ClientID == "" {
		return nil, ErrInvalidToken
	}
	return &c, nil
}
