package authsvc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// errCodeReplayed stops the redemption transaction of a code used before.
var errCodeReplayed = errors.New("authsvc: code replayed")

// authorizationCodeGrant is the authorization_code grant (RFC 6749
// §4.1.3). The code is redeemed, checked and, when the application
// refreshes, its first refresh token stored in one transaction: a
// concurrent redemption of the same code waits for it, fails, and then
// revokes the grant with that refresh token in it. A check that fails
// rolls back, so a code sent with a wrong verifier or redirect_uri (or by
// another client) is not burned.
type authorizationCodeGrant struct{}

func (authorizationCodeGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	c, env, form := req.client, req.env, req.form
	code := form.Get("code")
	now := s.now().UTC().Truncate(time.Millisecond)
	withRefresh := slices.Contains(c.app.Settings.GrantTypes, "REFRESH_TOKEN")
	jti := uuid.NewString()
	var (
		ac      *store.AuthCode
		g       GrantData
		refresh string
	)
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		ac, err = tx.RedeemAuthCode(ctx, env.ID, hashSecret(code), now, jti, now.Add(maxAccessTokenTTL))
		switch {
		case errors.Is(err, store.ErrConflict):
			return errCodeReplayed
		case errors.Is(err, store.ErrNotFound):
			return invalidGrant("The authorization code is invalid or has expired.")
		case err != nil:
			return err
		}
		if oe := checkCode(c, ac, &g, form, now); oe != nil {
			return oe
		}
		if ac.SessionID != "" {
			// Signing off ends the session before its codes are redeemed:
			// they must die with it.
			sess, err := tx.GetSession(ctx, env.ID, ac.SessionID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !sess.ExpiresAt.After(now)) {
				return invalidGrant("The session of the authorization code has ended.")
			} else if err != nil {
				return err
			}
		}
		if withRefresh {
			refresh = newRefreshToken()
			rt := firstRefreshToken(refresh, c, ac.UserID, ac.SessionID, ac.GrantID, &g, jti, now.Add(g.accessTTL()), now)
			return tx.CreateRefreshToken(ctx, rt)
		}
		return nil
	})
	var oerr *oauthError
	switch {
	case errors.Is(err, errCodeReplayed):
		// RFC 6749 §4.1.2: a code used twice revokes what it was
		// exchanged for. Only its own client's replay does: another
		// client must not be able to end someone else's grant.
		if ac.ApplicationID == c.app.ID {
			if err := s.Store.RevokeGrant(ctx, env.ID, ac.GrantID, now); err != nil {
				return nil, serverError()
			}
		}
		return nil, invalidGrant("The authorization code has already been used.")
	case errors.As(err, &oerr):
		return nil, oerr
	case err != nil:
		return nil, serverError()
	}
	user, err := s.Store.GetUser(ctx, env.ID, ac.UserID)
	if err != nil || !user.Enabled {
		if rerr := s.Store.RevokeGrant(ctx, env.ID, ac.GrantID, now); rerr != nil || (err != nil && !errors.Is(err, store.ErrNotFound)) {
			return nil, serverError()
		}
		return nil, invalidGrant("The user of the authorization code cannot sign on.")
	}
	if ok, err := s.admitted(ctx, env.ID, c.app, user.ID); err != nil || !ok {
		if rerr := s.Store.RevokeGrant(ctx, env.ID, ac.GrantID, now); rerr != nil || err != nil {
			return nil, serverError()
		}
		return nil, notAdmittedGrant()
	}
	resp, err := s.mintUserTokens(ctx, &userMint{env: env, app: c.app, user: user, sessionID: ac.SessionID, grant: &g,
		accessJTI: jti, accessExpiresAt: now.Add(g.accessTTL()), refreshToken: refresh, now: now})
	if err != nil {
		// Nothing was delivered: leave nothing usable behind.
		_ = s.Store.RevokeGrant(ctx, env.ID, ac.GrantID, now)
		return nil, mintFailure(err)
	}
	return resp, nil
}

// checkCode holds a redeemed code against the request that presents it,
// decoding its grant data into g.
func checkCode(c *client, ac *store.AuthCode, g *GrantData, form url.Values, now time.Time) *oauthError {
	if ac.ApplicationID != c.app.ID {
		return invalidGrant("The authorization code was issued to another client.")
	}
	if !ac.ExpiresAt.After(now) {
		return invalidGrant("The authorization code is invalid or has expired.")
	}
	if err := json.Unmarshal(ac.Data, g); err != nil {
		return invalidGrant("The authorization code is invalid or has expired.")
	}
	if g.RedirectURI != "" && form.Get("redirect_uri") != g.RedirectURI {
		return invalidGrant("redirect_uri does not match the one of the authorization request.")
	}
	verifier := form.Get("code_verifier")
	if g.CodeChallenge == "" {
		// A public client proves it is the one that asked for the code
		// only with PKCE; and a verifier without a challenge would hide a
		// downgrade (OAuth 2.1 §4.1.3).
		if c.app.TokenEndpointAuthMethod == "NONE" {
			return invalidGrant("A public client must use PKCE.")
		}
		switch c.app.Settings.PkceEnforcement {
		case "REQUIRED", "S256_REQUIRED":
			return invalidGrant("The application requires PKCE.")
		}
		if verifier != "" {
			return invalidGrant("code_verifier was sent but the authorization request had no code_challenge.")
		}
		return nil
	}
	if verifier == "" {
		return invalidGrant("code_verifier is required.")
	}
	if !validVerifier(verifier) {
		return invalidGrant("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.")
	}
	if c.app.Settings.PkceEnforcement == "S256_REQUIRED" && g.CodeChallengeMethod != "S256" {
		return invalidGrant("The application requires the S256 code challenge method.")
	}
	if !pkceMatches(g.CodeChallengeMethod, g.CodeChallenge, verifier) {
		return invalidGrant("code_verifier does not match the code_challenge.")
	}
	return nil
}

// validVerifier is RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '.' || b == '_' || b == '~') {
			return false
		}
	}
	return true
}

// pkceMatches is RFC 7636 §4.6. The method defaults to plain, as §4.3
// says; both comparisons are constant time.
func pkceMatches(method, challenge, verifier string) bool {
	switch method {
	case "S256":
		h := sha256.Sum256([]byte(verifier))
		return secrets.Equal(base64.RawURLEncoding.EncodeToString(h[:]), challenge)
	case "", "plain":
		return secrets.Equal(verifier, challenge)
	}
	return false
}
