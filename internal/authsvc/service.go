// Package authsvc is PingOne's auth service: {authPath}/{envId}/as/… —
// authorize and resume (which start and end sign-on flows), the token
// endpoint (one shared path of parsing, client authentication and the
// application's grant types, then one grant per grant_type), userinfo,
// introspect, revoke, signoff, JWKS and discovery — and the verification
// of the access tokens it issues (accesstoken.Verifier).
package authsvc

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
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
	// Flows runs sign-on flows; authorize starts them and resume ends them.
	Flows *flow.Engine
	// Cookies reads and writes the ST session cookies.
	Cookies session.Cookies
	// Config serves environments, applications and resources from memory.
	Config *config.Cache
	// Outbound fetches applications' jwksUrl (nil: a guarded client with
	// the defaults).
	Outbound *outbound.Client

	jwksOnce sync.Once
	jwksKeys *jwksCache
	// tokens are the access tokens whose signature verified.
	tokens verifiedTokens
	// Limits bound failed client authentications; nil is none.
	Limits *Limits
	// Audit records tokens issued and revoked and sessions signed off
	// (see audit.go); nil records nothing.
	Audit audit.Recorder
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Issuer is an environment's issuer: {authPath}/{envId}/as.
func (s *Service) Issuer(envID string) string { return s.AuthPath + "/" + envID + "/as" }

// isIssuer is iss == s.Issuer(envID) without building the issuer: tokens
// are checked on every use.
func (s *Service) isIssuer(iss, envID string) bool {
	rest, ok := strings.CutPrefix(iss, s.AuthPath)
	return ok && len(rest) == len(envID)+4 && rest[0] == '/' && rest[1:len(envID)+1] == envID && rest[len(envID)+1:] == "/as"
}

// Routes registers the auth endpoints on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{envID}/as/token", s.token)
	mux.HandleFunc("GET /{envID}/as/jwks", s.jwks)
	mux.HandleFunc("GET /{envID}/as/.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /{envID}/as/userinfo", s.userinfo)
	mux.HandleFunc("POST /{envID}/as/userinfo", s.userinfo)
	mux.HandleFunc("POST /{envID}/as/introspect", s.introspect)
	mux.HandleFunc("POST /{envID}/as/revoke", s.revoke)
	mux.HandleFunc("GET /{envID}/as/signoff", s.signoff)
	mux.HandleFunc("POST /{envID}/as/signoff", s.signoff)
	s.authorizeRoutes(mux)
}

func (s *Service) jwks(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	if _, err := s.Config.Environment(r.Context(), envID); err != nil {
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
	if _, err := s.Config.Environment(r.Context(), envID); err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	algs, err := s.Keys.SigningAlgorithms(r.Context(), envID)
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	iss := s.Issuer(envID)
	doc := map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/authorize",
		"token_endpoint":         iss + "/token",
		"userinfo_endpoint":      iss + "/userinfo",
		"jwks_uri":               iss + "/jwks",
		"end_session_endpoint":   iss + "/signoff",
		"introspection_endpoint": iss + "/introspect",
		"revocation_endpoint":    iss + "/revoke",
		// RFC 9126: pushing is optional unless an application requires it.
		"pushed_authorization_request_endpoint": iss + "/par",
		// RFC 8628: the device authorization grant's first request.
		"device_authorization_endpoint": iss + "/device_authorization",
		// A request_uri is served only as /as/par hands it out, never
		// fetched.
		"claims_parameter_supported":            false,
		"request_parameter_supported":           true,
		"request_uri_parameter_supported":       false,
		"require_pushed_authorization_requests": false,
		"scopes_supported":                      []string{"openid", "profile", "email", "address", "phone", "offline_access"},
		"response_types_supported":              responseTypeNames(),
		"response_modes_supported":              []string{"pi.flow", "query", "fragment", "form_post"},
		"subject_types_supported":               []string{"public"},
		// Tokens are signed with the environment's default key, which an
		// administrator may make RSA or EC of any size: the algorithms of
		// its published keys, the default's first.
		"id_token_signing_alg_values_supported": idTokenAlgs(algs),
		"userinfo_signing_alg_values_supported": []string{"none"},
		"token_endpoint_auth_methods_supported": authMethodsSupported(), // what client authentication serves
		"claim_types_supported":                 []string{"normal"},
		"claims_supported":                      claimsSupported,
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		// Exactly the algorithms client assertions may be signed with.
		"token_endpoint_auth_signing_alg_values_supported": assertionSigningAlgs(),
		// Exactly what a request object may be signed with; none only for
		// applications that allow unsigned request objects.
		"request_object_signing_alg_values_supported": requestObjectSigningAlgs(),
		// Derived from what is served, so that a grant or response type is
		// advertised by being registered.
		"grant_types_supported": grantTypesSupported(responseTypes),
	}
	wire.Write(w, http.StatusOK, doc)
}

// grantTypesSupported is discovery's grant_types_supported: the grants
// the token endpoint serves, and implicit when authorize answers with
// tokens (OpenID Connect Discovery §3: a response type holding token or
// id_token is the implicit grant).
func grantTypesSupported(served []responseType) []string {
	out := slices.Sorted(maps.Keys(grants))
	if slices.ContainsFunc(served, responseType.frontChannel) {
		out = append(out, "implicit")
	}
	return out
}

// Service verifies the PingOne API's bearer tokens for the management API.
var _ accesstoken.Verifier = (*Service)(nil)

// VerifyAccessToken checks a bearer token for the PingOne API: signature by
// the key of the environment it names, issuer, expiry, audience and
// revocation. Two kinds of token pass, as in PingOne: an application's own
// (client_credentials: sub is the client, no session), which acts with the
// application's role assignments; and a user's token issued to a WORKER
// application ("when getting a token using a user-based grant type, the
// user's role assignments are used"), which acts with the user's. A user
// token of any other type of application is refused: those applications
// are how users sign on to everything else, and their tokens must never
// reach the API. A user's token must also still hold as userinfo judges
// it: its session not ended, its user enabled.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string) (*accesstoken.Claims, error) {
	now := s.now().Unix()
	envID, vc, err := s.verifiedAccessToken(ctx, "", raw, now)
	if errors.Is(err, keys.ErrInvalidToken) || errors.Is(err, errMalformedToken) {
		return nil, accesstoken.ErrInvalid
	} else if err != nil {
		return nil, err
	}
	if vc.Env != envID || !s.isIssuer(vc.Issuer, envID) || vc.ExpiresAt <= now || vc.IssuedAt > now+60 ||
		!slices.Contains(vc.Audience, provision.PingOneAPIAudience) || vc.ClientID == "" || vc.ID == "" {
		return nil, accesstoken.ErrInvalid
	}
	if !namesUser(vc) {
		// The application's own token: no session, no one it acts for.
		if vc.Subject != vc.ClientID || vc.SessionID != "" || vc.Act != nil {
			return nil, accesstoken.ErrInvalid
		}
		if revoked, err := s.Store.IsTokenRevoked(ctx, envID, vc.ID); err != nil {
			return nil, err
		} else if revoked {
			return nil, accesstoken.ErrInvalid
		}
	} else if err := s.apiUserToken(ctx, envID, vc, now); err != nil {
		return nil, err
	}
	// The claims are the cache's; the caller gets its own copy.
	c := *vc
	return &c, nil
}

// apiUserToken checks what a user's token for the PingOne API needs
// beyond an application's: a WORKER application, no delegation (an
// exchanged token's act: the API has no actor for it), and, in one store
// query, not revoked, its session (if it names one) not ended and its user
// enabled.
func (s *Service) apiUserToken(ctx context.Context, envID string, c *accesstoken.Claims, now int64) error {
	if c.Act != nil || !validID(c.Subject) || !validID(c.ClientID) {
		return accesstoken.ErrInvalid
	}
	// An application made after the token (deleted and made again under
	// its id) does not inherit it, as tokenApplication says.
	app, err := s.Config.Application(ctx, envID, c.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return accesstoken.ErrInvalid
	case err != nil:
		return err
	case app.Type != "WORKER" || !app.Enabled || app.CreatedAt.Unix() > c.IssuedAt:
		return accesstoken.ErrInvalid
	}
	st, err := s.Store.AccessTokenState(ctx, envID, c.ID, c.SessionID, c.Subject)
	switch {
	case err != nil:
		return err
	case st.Revoked, !st.UserEnabled:
		return accesstoken.ErrInvalid
	case c.SessionID != "" && st.SessionExpiresAt.Unix() <= now:
		return accesstoken.ErrInvalid
	}
	return nil
}

// validID reports whether id can be an environment's or a record's id: a
// UUID in its canonical form. Anything else never reaches the store.
func validID(id string) bool { return len(id) == 36 && uuid.Validate(id) == nil }

// idTokenAlgs is what discovery lists for algorithms inUse (the
// environment's keys'). OpenID Connect Discovery §3 requires RS256 in the
// list, so it is added, last, when no published key signs RS256: a client
// that takes the first entry gets the algorithm tokens are signed with.
func idTokenAlgs(inUse []string) []string {
	out := make([]string, 0, len(inUse)+1)
	out = append(out, inUse...)
	if !slices.Contains(out, "RS256") {
		out = append(out, "RS256")
	}
	return out
}
