package authsvc

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// revoke is RFC 7009. A refresh token revokes its whole grant and ends the
// session it was issued in (with every grant of that session); an access
// token is denied by its jti until it expires. A device grant's refresh
// token revokes its grant only: its session belongs to the browser that
// approved the device, another user agent, whose sign-on and other grants
// the device has no say over (RFC 7009 §2.1: the tokens of the same grant). RFC 7009 §2.1 asks that the
// token was issued to the client revoking it: a token of another client,
// like an unknown, expired or foreign one, is answered 200 and left alone
// (§2.2: the client cannot act on the difference, and it must not learn
// whether another client's token exists).
func (s *Service) revoke(w http.ResponseWriter, r *http.Request) {
	s.serveTokenOperation(w, r, s.revocation)
}

func (s *Service) revocation(req *clientRequest, tok string) (any, *oauthError) {
	switch req.form.Get("token_type_hint") {
	case "", "access_token", "refresh_token":
	default:
		return nil, &oauthError{status: http.StatusBadRequest, code: "unsupported_token_type", description: "token_type_hint must be access_token or refresh_token."}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var err error
	if looksLikeJWT(tok) {
		err = s.revokeAccessToken(req.r, req.env.ID, req.client, tok, now)
	} else {
		err = s.revokeRefreshToken(req.r, req.env.ID, req.client, tok, now)
	}
	if err != nil {
		return nil, serverError()
	}
	return nil, nil // RFC 7009 §2.2: 200 and no body
}

func (s *Service) revokeAccessToken(r *http.Request, envID string, c *client, tok string, now time.Time) error {
	claims, err := s.liveAccessToken(r.Context(), envID, tok, now, false)
	var refusal tokenRefusal
	if errors.As(err, &refusal) {
		return nil // nothing live to revoke
	}
	if err != nil {
		return err
	}
	if claims.ClientID != c.app.ID {
		return nil
	}
	if err := s.Store.RevokeTokenID(r.Context(), envID, claims.ID, time.Unix(claims.ExpiresAt, 0).UTC()); err != nil {
		return err
	}
	s.recordRevoked(r.Context(), envID, c.app, claims.Subject, "access_token")
	return nil
}

func (s *Service) revokeRefreshToken(r *http.Request, envID string, c *client, tok string, now time.Time) error {
	ctx := r.Context()
	rt, err := s.Store.GetRefreshToken(ctx, envID, hashSecret(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rt.ApplicationID != c.app.ID {
		return nil
	}
	if err := s.Store.RevokeGrant(ctx, envID, rt.GrantID, now); err != nil {
		return err
	}
	s.recordRevoked(ctx, envID, c.app, rt.UserID, "refresh_token")
	if rt.SessionID == "" || deviceGrant(rt) {
		return nil
	}
	return session.End(ctx, s.Store, envID, rt.SessionID, now)
}

// deviceGrant reports whether rt was issued by the device authorization
// grant. A record whose data cannot be read is not one, so revoking it
// still ends its session as before.
func deviceGrant(rt *store.RefreshToken) bool {
	var g GrantData
	return json.Unmarshal(rt.Data, &g) == nil && g.Device
}
