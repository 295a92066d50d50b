package authsvc

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientEnvironment is the environment of a client-authenticated OAuth
// request (introspect, revoke). An unknown one fails the client's
// authentication, as on the token endpoint.
func (s *Service) clientEnvironment(w http.ResponseWriter, r *http.Request) (*store.Environment, bool) {
	env, err := s.Store.GetEnvironment(r.Context(), r.PathValue("envID"))
	if err == nil {
		return env, true
	}
	if errors.Is(err, store.ErrNotFound) {
		writeOAuthError(w, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "Client authentication failed.", basicAuth: triedBasic(r)})
	} else {
		writeOAuthError(w, serverError())
	}
	return nil, false
}

// looksLikeJWT tells Gatehouse's access tokens (compact JWS) from its
// refresh tokens (base64url, no dots) without trusting token_type_hint.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

var inactive = map[string]bool{"active": false}

// introspect is RFC 7662. Any client of the environment may introspect an
// access token (resource servers introspect the tokens of other clients),
// except a public one, which only learns about its own tokens; a refresh
// token is described only to the client it was issued to. Everything else
// is {"active":false}.
func (s *Service) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, oe := parseForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	env, ok := s.clientEnvironment(w, r)
	if !ok {
		return
	}
	c, oe := s.authenticateClient(r, env.ID, form)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeOAuthError(w, invalidRequest("token is required."))
		return
	}
	now := s.now()
	// token_type_hint only speeds a search up (RFC 7662 §2.1); the shape
	// of the token says which search to make.
	if looksLikeJWT(tok) {
		claims, err := s.liveAccessToken(ctx, env.ID, tok, now)
		var refusal tokenRefusal
		switch {
		case errors.As(err, &refusal):
			writeJSONNoStore(w, http.StatusOK, inactive)
		case err != nil:
			writeOAuthError(w, serverError())
		case c.app.TokenEndpointAuthMethod == "NONE" && claims.ClientID != c.app.ID:
			writeJSONNoStore(w, http.StatusOK, inactive)
		default:
			writeJSONNoStore(w, http.StatusOK, accessIntrospection(claims))
		}
		return
	}
	rt, err := s.Store.GetRefreshToken(ctx, env.ID, hashSecret(tok))
	if errors.Is(err, store.ErrNotFound) {
		writeJSONNoStore(w, http.StatusOK, inactive)
		return
	} else if err != nil {
		writeOAuthError(w, serverError())
		return
	}
	var g GrantData
	if rt.ApplicationID != c.app.ID || !rt.RotatedAt.IsZero() || !rt.RevokedAt.IsZero() ||
		!rt.ExpiresAt.After(now) || !rt.FamilyExpiresAt.After(now) || json.Unmarshal(rt.Data, &g) != nil {
		writeJSONNoStore(w, http.StatusOK, inactive)
		return
	}
	out := map[string]any{
		"active": true, "token_type": "refresh_token", "scope": g.Scope, "client_id": rt.ApplicationID, "sub": rt.UserID,
		"iss": s.Issuer(env.ID), "iat": rt.CreatedAt.Unix(), "exp": rt.ExpiresAt.Unix(),
	}
	if g.AuthTime > 0 {
		out["auth_time"] = g.AuthTime
	}
	if rt.SessionID != "" {
		out["sid"] = rt.SessionID
	}
	writeJSONNoStore(w, http.StatusOK, out)
}

// accessIntrospection is an active access token's introspection: RFC
// 7662's members and PingOne's own claims, as the token carries them.
func accessIntrospection(c *accesstoken.Claims) map[string]any {
	out := map[string]any{
		"active": true, "token_type": "Bearer", "client_id": c.ClientID, "sub": c.Subject,
		"aud": c.Audience, "iss": c.Issuer, "jti": c.ID, "iat": c.IssuedAt, "exp": c.ExpiresAt,
	}
	set := func(k string, v any, present bool) {
		if present {
			out[k] = v
		}
	}
	set("scope", c.Scope, c.Scope != "")
	set("sid", c.SessionID, c.SessionID != "")
	set("auth_time", c.AuthTime, c.AuthTime != 0)
	set("acr", c.ACR, c.ACR != "")
	set("amr", c.AMR, len(c.AMR) > 0)
	set("env", c.Env, c.Env != "")
	set("org", c.Org, c.Org != "")
	return out
}
