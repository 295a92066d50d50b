package authsvc

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tokenRefusal is why an access token does not hold; its text is the
// error_description clients see.
type tokenRefusal string

func (e tokenRefusal) Error() string { return string(e) }

// errNotIssuedHere is liveAccessToken's refusal of a token that no key of
// the environment signed, or that does not decode as an access token.
var errNotIssuedHere = tokenRefusal("The access token was not issued by this environment.")

// liveAccessToken verifies raw as an access token that envID issued and
// that still holds: signed by one of envID's keys, envID's issuer,
// unexpired, issued to an application that still exists and is enabled,
// not revoked, and its session (when it names one) not ended. A token of
// another environment fails the signature check: each environment signs
// with its own keys. With checkUser, the user it names (if any) must also
// still be enabled, as tokenUser requires. Errors other than tokenRefusal
// come from the store. The claims are shared: read them, never write.
//
// The signature is checked once per token (verifiedAccessToken remembers
// it); everything else, on every use, in one store query.
func (s *Service) liveAccessToken(ctx context.Context, envID, raw string, now time.Time, checkUser bool) (*accesstoken.Claims, error) {
	c, _, err := s.liveAccessTokenState(ctx, envID, raw, now, checkUser)
	return c, err
}

// liveAccessTokenState is liveAccessToken with what the store said of the
// token: its session's times, for a use of the token that keeps the
// session alive.
func (s *Service) liveAccessTokenState(ctx context.Context, envID, raw string, now time.Time, checkUser bool) (*accesstoken.Claims, *store.TokenState, error) {
	if !validID(envID) {
		return nil, nil, tokenRefusal("The access token is invalid.")
	}
	_, c, err := s.verifiedAccessToken(ctx, envID, raw, now.Unix())
	switch {
	case errors.Is(err, errMalformedToken):
		return nil, nil, tokenRefusal("The access token is malformed.")
	case errors.Is(err, keys.ErrInvalidToken):
		return nil, nil, errNotIssuedHere
	case err != nil:
		return nil, nil, err
	}
	switch {
	case !s.isIssuer(c.Issuer, envID):
		return nil, nil, errNotIssuedHere
	case c.ClientID == "" || c.ID == "":
		// ID tokens are signed by the same keys; they are no access tokens.
		return nil, nil, tokenRefusal("The token is not an access token.")
	case c.ExpiresAt <= now.Unix():
		return nil, nil, tokenRefusal("The access token has expired.")
	case c.IssuedAt > now.Unix()+60:
		return nil, nil, tokenRefusal("The access token is not valid yet.")
	}
	if err := s.tokenApplication(ctx, envID, c); err != nil {
		return nil, nil, err
	}
	userID := ""
	if checkUser && namesUser(c) {
		if !validID(c.Subject) {
			return nil, nil, errUserRefused
		}
		userID = c.Subject
	}
	st, err := s.Store.AccessTokenState(ctx, envID, c.ID, c.SessionID, userID)
	switch {
	case err != nil:
		return nil, nil, err
	case st.Revoked:
		return nil, nil, tokenRefusal("The access token has been revoked.")
	case c.SessionID != "" && !st.SessionExpiresAt.After(now):
		return nil, nil, tokenRefusal("The session of the access token has ended.")
	case userID != "" && !st.UserEnabled:
		// No enabled user: maybe an application, as in a token exchanged
		// for another application's own token (token_exchange.go). Asked
		// only here, a user's token costs nothing more.
		if err := s.subjectApplication(ctx, envID, c); err != nil {
			return nil, nil, err
		}
	}
	return c, st, nil
}

// namesUser says whether the token is a user's: an application's own
// (client_credentials) token has the client as its subject.
func namesUser(c *accesstoken.Claims) bool { return c.Subject != "" && c.Subject != c.ClientID }

var errUserRefused = tokenRefusal("The user of the access token cannot sign on.")

// tokenUser is the user a live access token names, nil for an
// application's own token (client_credentials: sub is the client). A user
// deleted or disabled since refuses the token, as the user's session
// would refuse a sign-on.
func (s *Service) tokenUser(ctx context.Context, envID string, c *accesstoken.Claims) (*store.User, error) {
	if !namesUser(c) {
		return nil, nil
	}
	if !validID(c.Subject) {
		return nil, errUserRefused
	}
	user, err := s.Store.GetUser(ctx, envID, c.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !user.Enabled) {
		return nil, errUserRefused
	} else if err != nil {
		return nil, err
	}
	return user, nil
}

// tokenApplication refuses a token whose application was deleted or
// disabled since it was issued, as the management API refuses its own
// tokens. The application comes from the configuration cache, which every
// node keeps within a second of the store, so the check costs no query.
// An application created after the token (one deleted and made again
// under its id) does not inherit it.
func (s *Service) tokenApplication(ctx context.Context, envID string, c *accesstoken.Claims) error {
	refused := tokenRefusal("The application of the access token is disabled or no longer exists.")
	if !validID(c.ClientID) {
		return refused
	}
	app, err := s.Config.Application(ctx, envID, c.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refused
	case err != nil:
		return err
	case !app.Enabled || app.CreatedAt.Unix() > c.IssuedAt:
		return refused
	}
	return nil
}

// userinfo is OpenID Connect Core §5.3: the claims of the token's user that
// its scopes release, as the openid resource maps them for userinfo.
func (s *Service) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	raw, oe := bearerToken(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	if raw == "" {
		// RFC 6750 §3.1: a request without credentials gets the challenge
		// and no error code in it.
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSONNoStore(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "An access token is required."})
		return
	}
	now := s.now()
	c, st, err := s.liveAccessTokenState(ctx, envID, raw, now, false)
	var user *store.User
	if err == nil {
		user, err = s.tokenUser(ctx, envID, c)
	}
	if err == nil && user != nil && c.SessionID != "" {
		// A userinfo request is activity in the session: its idle
		// timeout starts over.
		err = s.touchSession(ctx, envID, &store.Session{ID: c.SessionID, EnvironmentID: envID,
			AuthTime: st.SessionAuthTime, LastUsedAt: st.SessionUsedAt, ExpiresAt: st.SessionExpiresAt}, now)
		if errors.Is(err, session.ErrEnded) {
			err = tokenRefusal("The session of the access token has ended.")
		}
	}
	var refusal tokenRefusal
	if errors.As(err, &refusal) {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", string(refusal))
		return
	} else if err != nil {
		writeOAuthError(w, serverError())
		return
	}
	if user == nil {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The access token does not name a user.")
		return
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, "openid") {
		writeBearerError(w, http.StatusForbidden, "insufficient_scope", "The access token does not have the openid scope.")
		return
	}
	app, err := s.Config.Application(ctx, envID, c.ClientID)
	var claims map[string]any
	if err == nil {
		claims, err = s.profileClaims(ctx, envID, app, user, scopes, forUserInfo)
	}
	if err != nil {
		writeOAuthError(w, serverError())
		return
	}
	claims["sub"] = user.ID
	writeJSONNoStore(w, http.StatusOK, claims)
}

// writeBearerError is RFC 6750 §3: the error in the challenge and, as
// every OAuth endpoint here answers, in a JSON body. Descriptions are
// Gatehouse's own text, never input, so they need no quoting.
func writeBearerError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
	writeJSONNoStore(w, status, map[string]string{"error": code, "error_description": desc})
}

// bearerToken is the access token of a resource request: the
// Authorization header, or on POST the access_token form parameter (RFC
// 6750 §2.1, §2.2), never both. "" when there is none.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, *oauthError) {
	var header string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, v, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", nil
		}
		header = strings.TrimSpace(v)
	}
	var body string
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			form, oe := parseForm(w, r)
			if oe != nil {
				return "", oe
			}
			body = form.Get("access_token")
		}
	}
	if header != "" && body != "" {
		return "", invalidRequest("Send the access token in one place only.")
	}
	return header + body, nil
}
