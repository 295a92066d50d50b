package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceCodeGrantType is RFC 8628's grant_type.
const deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// pollJitter is how much earlier than its interval a poll may arrive and
// still count as on time: a device that waits the interval between its
// requests sees them arrive a little early or late by the network's
// whim, and must not be slowed down for it.
const pollJitter = 500 * time.Millisecond

// slowDownStep is how much each slow_down adds to a device's polling
// interval (RFC 8628 §3.5: 5 seconds).
const slowDownStep = 5

// deviceCodeGrant is the device's poll (RFC 8628 §3.4): pending until the
// user decides, slow_down when it polls sooner than its interval (which
// then grows), access_denied when the user refused, expired_token past
// deviceTimeout, and then, once, the user's tokens, minted as the
// authorization code grant mints them.
type deviceCodeGrant struct{}

func deviceError(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, description: desc}
}

var errDeviceRedeemed = errors.New("authsvc: device code redeemed")

func (deviceCodeGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	c, env := req.client, req.env
	hash := hashSecret(req.form.Get("device_code"))
	now := s.now().UTC().Truncate(time.Millisecond)
	d, err := s.Store.GetDeviceAuthorization(ctx, env.ID, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.ApplicationID != c.app.ID) {
		// Another client's code answers as an unknown one: it must not
		// learn that the code exists.
		return nil, invalidGrant("The device code is invalid.")
	}
	if err != nil {
		return nil, serverError()
	}
	if !now.Before(d.ExpiresAt) {
		return nil, deviceError("expired_token", "The device code has expired: start the device authorization again.")
	}
	switch d.Status {
	case store.DeviceDenied:
		return nil, deviceError("access_denied", "The user denied the device authorization.")
	case store.DeviceRedeemed:
		return nil, invalidGrant("The device code has already been used.")
	case store.DevicePending:
		return nil, poll(ctx, s, d, now)
	}
	var g GrantData
	if err := json.Unmarshal(d.Data, &g); err != nil {
		return nil, serverError()
	}
	user, err := s.Store.GetUser(ctx, env.ID, d.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !user.Enabled) {
		return nil, invalidGrant("The user who approved the device cannot sign on.")
	} else if err != nil {
		return nil, serverError()
	}
	if ok, err := s.admitted(ctx, env.ID, c.app, user.ID); err != nil {
		return nil, serverError()
	} else if !ok {
		return nil, notAdmittedGrant()
	}
	withRefresh := slices.Contains(c.app.Settings.GrantTypes, "REFRESH_TOKEN")
	jti, grantID := uuid.NewString(), uuid.NewString()
	var refresh string
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.RedeemDeviceAuthorization(ctx, env.ID, hash); errors.Is(err, store.ErrConflict) {
			return errDeviceRedeemed
		} else if err != nil {
			return err
		}
		if d.SessionID != "" {
			// Signing off before the device's poll ends what the session
			// approved.
			sess, err := tx.GetSession(ctx, env.ID, d.SessionID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !sess.ExpiresAt.After(now)) {
				return invalidGrant("The session that approved the device has ended.")
			} else if err != nil {
				return err
			}
		}
		if withRefresh {
			refresh = newRefreshToken()
			g.Device = true // what revocation asks of the refresh token and its successors
			return tx.CreateRefreshToken(ctx, firstRefreshToken(refresh, c, d.UserID, d.SessionID, grantID, &g, jti, now.Add(g.accessTTL()), now))
		}
		return nil
	})
	var oe *oauthError
	switch {
	case errors.Is(err, errDeviceRedeemed):
		return nil, invalidGrant("The device code has already been used.")
	case errors.As(err, &oe):
		return nil, oe
	case err != nil:
		return nil, serverError()
	}
	resp, err := s.mintUserTokens(ctx, &userMint{env: env, app: c.app, user: user, sessionID: d.SessionID, grant: &g,
		accessJTI: jti, accessExpiresAt: now.Add(g.accessTTL()), refreshToken: refresh, now: now})
	if err != nil {
		_ = s.Store.RevokeGrant(ctx, env.ID, grantID, now)
		return nil, mintFailure(err)
	}
	return resp, nil
}

// poll answers a pending device's poll: slow_down when it came sooner
// than the interval after the last one (the interval then grows by 5
// seconds, and stays grown), authorization_pending otherwise. Two polls
// racing both record themselves against the same last poll: the loser
// was too fast.
func poll(ctx context.Context, s *Service, d *store.DeviceAuthorization, now time.Time) *oauthError {
	interval := d.Interval
	fast := !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < time.Duration(interval)*time.Second-pollJitter
	if fast {
		interval += slowDownStep
	}
	err := s.Store.PollDeviceAuthorization(ctx, d.EnvironmentID, d.DeviceCodeHash, d.LastPolledAt, now, interval)
	switch {
	case errors.Is(err, store.ErrConflict):
		fast = true
	case errors.Is(err, store.ErrNotFound):
		return invalidGrant("The device code is invalid.")
	case err != nil:
		return serverError()
	}
	if fast {
		return deviceError("slow_down", "The device polls too often: wait the interval, now "+strconv.Itoa(interval)+" seconds, between requests.")
	}
	return deviceError("authorization_pending", "The user has not yet approved the device.")
}
