package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// refreshTokenGrant is the refresh_token grant (RFC 6749 §6). Refresh
// tokens rotate: each use marks the token rotated and stores its
// successor in one conditional write. A rotated token that comes back is
// a replay (or a lost response) and revokes the whole grant, unless it
// comes back within the application's grace period, when it gets a
// sibling successor instead: clients that refresh in parallel are not
// punished for it.
type refreshTokenGrant struct{}

func (refreshTokenGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	c, env, form := req.client, req.env, req.form
	raw := form.Get("refresh_token")
	now := s.now().UTC().Truncate(time.Millisecond)
	hash := hashSecret(raw)
	policy := refreshPolicyOf(c.app.Settings)
	old, err := s.Store.GetRefreshToken(ctx, env.ID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("The refresh token is invalid or has expired.")
	} else if err != nil {
		return nil, serverError()
	}
	if oe := checkRefresh(c, old, now); oe != nil {
		return nil, oe
	}
	var g GrantData
	if err := json.Unmarshal(old.Data, &g); err != nil {
		return nil, invalidGrant("The refresh token is invalid or has expired.")
	}
	scope, oe := narrowScope(g.Scope, form)
	if oe != nil {
		return nil, oe
	}
	user, err := s.Store.GetUser(ctx, env.ID, old.UserID)
	if err != nil || !user.Enabled {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, serverError()
		}
		return nil, invalidGrant("The user of the refresh token cannot sign on.")
	}
	// A user the application no longer admits (removed from its group)
	// cannot refresh; the grant stays, for when they are admitted again.
	if ok, err := s.admitted(ctx, env.ID, c.app, user.ID); err != nil {
		return nil, serverError()
	} else if !ok {
		return nil, notAdmittedGrant()
	}
	// PingOne judges a refresh token by its session too: one whose session
	// ended (signed off, idle or past its maximum lifetime, deleted through
	// the API) is refused. A refresh is activity in the session.
	sid := old.SessionID
	if sid != "" {
		sess, err := session.ByID(ctx, s.Store, env.ID, sid, now)
		if err != nil {
			return nil, serverError()
		}
		if sess == nil {
			return nil, invalidGrant("The session of the refresh token has ended.")
		}
		if err := s.touchSession(ctx, env.ID, sess, now); errors.Is(err, session.ErrEnded) {
			return nil, invalidGrant("The session of the refresh token has ended.")
		} else if err != nil {
			return nil, serverError()
		}
	}

	next := newRefreshToken()
	jti := uuid.NewString()
	accessExp := now.Add(g.accessTTL())
	rec := &store.RefreshToken{
		TokenHash: hashSecret(next), EnvironmentID: env.ID, ApplicationID: old.ApplicationID, UserID: old.UserID,
		SessionID: old.SessionID, GrantID: old.GrantID, Data: old.Data, AccessJTI: jti, AccessExpiresAt: accessExp,
		CreatedAt: now, ExpiresAt: minTime(now.Add(policy.each), old.FamilyExpiresAt), FamilyExpiresAt: old.FamilyExpiresAt,
	}
	for attempt := 0; ; attempt++ {
		if old.RotatedAt.IsZero() {
			err = s.Store.RotateRefreshToken(ctx, env.ID, hash, now, rec)
		} else if now.Sub(old.RotatedAt) < policy.grace {
			err = s.Store.AddRefreshSibling(ctx, env.ID, hash, rec)
		} else {
			if policy.revokeOnReuse {
				if err := s.Store.RevokeGrant(ctx, env.ID, old.GrantID, now); err != nil {
					return nil, serverError()
				}
			}
			return nil, invalidGrant("The refresh token has already been used.")
		}
		if !errors.Is(err, store.ErrConflict) || attempt > 0 {
			break
		}
		// Rotated or revoked since we read it: judge it again as it is now.
		if old, err = s.Store.GetRefreshToken(ctx, env.ID, hash); err != nil {
			break
		}
		if !old.RevokedAt.IsZero() {
			return nil, invalidGrant("The refresh token is invalid or has expired.")
		}
	}
	if errors.Is(err, store.ErrConflict) {
		// Changed under us twice: a concurrent rotation or revocation won.
		return nil, invalidGrant("The refresh token is invalid or has expired.")
	}
	if err != nil {
		return nil, serverError()
	}
	resp, err := s.mintUserTokens(ctx, &userMint{env: env, app: c.app, user: user, sessionID: sid, grant: &g, scope: scope,
		accessJTI: jti, accessExpiresAt: accessExp, refreshToken: next, noNonce: true, now: now})
	if err != nil {
		return nil, mintFailure(err)
	}
	return resp, nil
}

// checkRefresh holds a stored refresh token against the client presenting
// it. A token of another client is refused without touching its grant.
func checkRefresh(c *client, rt *store.RefreshToken, now time.Time) *oauthError {
	switch {
	case rt.ApplicationID != c.app.ID:
		return invalidGrant("The refresh token was issued to another client.")
	case !rt.RevokedAt.IsZero(), !rt.ExpiresAt.After(now), !rt.FamilyExpiresAt.After(now):
		return invalidGrant("The refresh token is invalid or has expired.")
	}
	return nil
}

// narrowScope is the scope of a refresh: the grant's, or the subset the
// request names (RFC 6749 §6). The order of the request is kept.
func narrowScope(granted string, form url.Values) (string, *oauthError) {
	req := strings.Fields(form.Get("scope"))
	if len(req) == 0 {
		return granted, nil
	}
	have := strings.Fields(granted)
	var out []string
	for _, sc := range req {
		if !slices.Contains(have, sc) {
			return "", invalidScope("The scope " + sc + " was not granted.")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " "), nil
}

// touchSession records a use of a live session of envID at now: its idle
// timeout starts over (session.Touch).
func (s *Service) touchSession(ctx context.Context, envID string, sess *store.Session, now time.Time) error {
	env, err := s.Config.Environment(ctx, envID)
	if err != nil {
		return err
	}
	return session.Touch(ctx, s.Store, sess, session.LifetimesOf(env.Sessions), now)
}
