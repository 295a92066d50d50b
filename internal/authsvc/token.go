package authsvc

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxFormBytes bounds token request bodies.
const maxFormBytes = 64 << 10

// oauthError is an RFC 6749 error; the token endpoint never answers in
// PingOne's platform error shape.
type oauthError struct {
	status      int
	code        string
	description string
	basicAuth   bool // ask for Basic credentials again (invalid_client after Basic)
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basicAuth {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", error="invalid_client"`)
	}
	writeJSONNoStore(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func writeJSONNoStore(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: desc}
}

// parseForm reads an application/x-www-form-urlencoded body, refusing
// repeated parameters as RFC 6749 §3.2 requires.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invalidRequest("The request body is too large.")
		}
		return nil, invalidRequest("The request body is not a valid form.")
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, invalidRequest("Parameter " + k + " is repeated.")
		}
	}
	return form, nil
}

func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	form, oe := parseForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	env, err := s.Store.GetEnvironment(r.Context(), envID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeOAuthError(w, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "Client authentication failed.", basicAuth: triedBasic(r)})
			return
		}
		writeOAuthError(w, &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "An unexpected error occurred."})
		return
	}
	grant := form.Get("grant_type")
	if grant == "" {
		writeOAuthError(w, invalidRequest("grant_type is required."))
		return
	}
	switch grant {
	case "client_credentials":
		s.clientCredentials(w, r, env, form)
	case "authorization_code":
		s.authorizationCode(w, r, env, form)
	case "refresh_token":
		s.refreshGrant(w, r, env, form)
	default:
		writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", description: "Unsupported grant type " + grant + "."})
	}
}

func (s *Service) clientCredentials(w http.ResponseWriter, r *http.Request, env *store.Environment, form url.Values) {
	c, oe := s.authenticateClient(r, env.ID, form)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	if !slices.Contains(c.settings.GrantTypes, "CLIENT_CREDENTIALS") {
		writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client", description: "The application does not have the client_credentials grant type."})
		return
	}
	if c.app.Type != "WORKER" {
		// Non-worker applications get client_credentials tokens for the
		// resources granted to them; resource grants are not served yet.
		writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client", description: "Only WORKER applications may use client_credentials for now."})
		return
	}
	if sc := strings.TrimSpace(form.Get("scope")); sc != "" {
		// A worker's access comes from its role assignments, not scopes.
		writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", description: "WORKER applications are authorized by their roles; do not request scopes."})
		return
	}
	now := s.now()
	ttl := s.AccessTokenTTL
	claims := accesstoken.Claims{
		Issuer:    s.Issuer(env.ID),
		Subject:   c.app.ID, // RFC 9068 §2.2: the client itself when no user is involved
		Audience:  []string{provision.PingOneAPIAudience},
		ClientID:  c.app.ID,
		Env:       env.ID,
		Org:       env.OrganizationID,
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(ttl).Unix(),
		ID:        uuid.NewString(),
	}
	tok, err := s.Keys.Sign(r.Context(), env.ID, claims)
	if err != nil {
		writeOAuthError(w, &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "An unexpected error occurred."})
		return
	}
	writeJSONNoStore(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(ttl.Seconds()),
	})
}
