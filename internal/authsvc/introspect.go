package authsvc

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// serveTokenOperation is the preamble introspection and revocation
// share: the request read and its client authenticated as on the token
// endpoint, then the token parameter. op answers the rest: a JSON body
// (a value, or its encoding as []byte), or nil for RFC 7009's empty 200.
// Every answer is written here.
func (s *Service) serveTokenOperation(w http.ResponseWriter, r *http.Request,
	op func(req *clientRequest, token string) (any, *oauthError)) {
	req, oe := s.readClientRequest(w, r)
	if oe == nil {
		oe = s.authenticate(req)
	}
	if oe == nil {
		allowClientOrigin(w, req)
	}
	if oe == nil && req.form.Get("token") == "" {
		oe = invalidRequest("token is required.")
	}
	var body any
	if oe == nil {
		body, oe = op(req, req.form.Get("token"))
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	switch b := body.(type) {
	case nil:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	case []byte:
		writeJSONBytes(w, b)
	default:
		writeJSONNoStore(w, http.StatusOK, body)
	}
}

// The headers of a JSON answer that must not be cached, made once: a
// header set per response would cost an allocation each.
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
	noCache         = []string{"no-cache"}
)

// writeJSONBytes is writeJSONNoStore's 200 for a body already encoded.
func writeJSONBytes(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["Pragma"] = jsonContentType, noStore, noCache
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// looksLikeJWT tells Gatehouse's access tokens (compact JWS) from its
// refresh tokens (base64url, no dots) without trusting token_type_hint.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// inactive is every token the caller may not know about, encoded once.
var inactive = []byte(`{"active":false}`)

// introspect is RFC 7662, with PingOne's rights: an application learns
// about the access tokens issued to it, and, as the resource server, about
// those whose audience names it (a resource whose audience is its client
// id); a public client, which anyone may claim to be, only about its own.
// A refresh token is described only to the client it was issued to.
// Anything else, another client's token included, is {"active":false}:
// the caller cannot tell a token it may not see from a dead one.
func (s *Service) introspect(w http.ResponseWriter, r *http.Request) {
	s.serveTokenOperation(w, r, s.introspection)
}

// mayIntrospect says whether c may see an access token's claims.
func mayIntrospect(c *client, claims *accesstoken.Claims) bool {
	if claims.ClientID == c.app.ID {
		return true
	}
	return c.method != methodNone && slices.Contains(claims.Audience, c.app.ID)
}

func (s *Service) introspection(req *clientRequest, tok string) (any, *oauthError) {
	ctx, env, c := req.r.Context(), req.env, req.client
	now := s.now()
	// token_type_hint only speeds a search up (RFC 7662 §2.1); the shape
	// of the token says which search to make.
	if looksLikeJWT(tok) {
		claims, err := s.liveAccessToken(ctx, env.ID, tok, now, true)
		if err == nil && !mayIntrospect(c, claims) {
			return inactive, nil
		}
		var refusal tokenRefusal
		switch {
		case errors.As(err, &refusal):
			return inactive, nil
		case err != nil:
			return nil, serverError()
		}
		b, err := accessIntrospection(claims)
		if err != nil {
			return nil, serverError()
		}
		return b, nil
	}
	rt, err := s.Store.GetRefreshToken(ctx, env.ID, hashSecret(tok))
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	} else if err != nil {
		return nil, serverError()
	}
	var g GrantData
	if rt.ApplicationID != c.app.ID || !rt.RotatedAt.IsZero() || !rt.RevokedAt.IsZero() ||
		!rt.ExpiresAt.After(now) || !rt.FamilyExpiresAt.After(now) || json.Unmarshal(rt.Data, &g) != nil {
		return inactive, nil
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
	return out, nil
}

// accessIntrospection is an active access token's introspection: RFC
// 7662's members and PingOne's own claims, as the token carries them,
// encoded at once. Its members are in the order of their names, as a map
// of them was encoded before.
func accessIntrospection(c *accesstoken.Claims) ([]byte, error) {
	return json.Marshal(&struct {
		ACR       string             `json:"acr,omitempty"`
		Act       *accesstoken.Actor `json:"act,omitempty"`
		Active    bool               `json:"active"`
		AMR       []string           `json:"amr,omitempty"`
		Audience  []string           `json:"aud"`
		AuthTime  int64              `json:"auth_time,omitempty"`
		ClientID  string             `json:"client_id"`
		Env       string             `json:"env,omitempty"`
		ExpiresAt int64              `json:"exp"`
		IssuedAt  int64              `json:"iat"`
		Issuer    string             `json:"iss"`
		ID        string             `json:"jti"`
		Org       string             `json:"org,omitempty"`
		Scope     string             `json:"scope,omitempty"`
		SessionID string             `json:"sid,omitempty"`
		Subject   string             `json:"sub"`
		TokenType string             `json:"token_type"`
	}{
		ACR: c.ACR, Act: c.Act, Active: true, AMR: c.AMR, Audience: c.Audience, AuthTime: c.AuthTime, ClientID: c.ClientID, Env: c.Env,
		ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, Issuer: c.Issuer, ID: c.ID, Org: c.Org, Scope: c.Scope,
		SessionID: c.SessionID, Subject: c.Subject, TokenType: "Bearer",
	})
}
