package authsvc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

const (
	// idTokenTTL is the life of ID tokens, as PingOne issues them.
	idTokenTTL = time.Hour
	// maxAccessTokenTTL is the longest accessTokenValiditySeconds a
	// resource may have (30 days). A code is redeemed before its grant
	// data is read, so the revocation record of the access token it will
	// carry is sized for the longest possible life.
	maxAccessTokenTTL = 30 * 24 * time.Hour
	// PingOne's defaults for an application's refresh token settings.
	defaultRefreshTokenDuration        = 2592000 * time.Second  // 30 days
	defaultRefreshTokenRollingDuration = 15552000 * time.Second // 180 days
)

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// IssuedTokenType is RFC 8693's, for token exchange answers only.
	IssuedTokenType string `json:"issued_token_type,omitempty"`

	accessJTI       string
	accessExpiresAt time.Time
	// user is who the tokens were issued for (nil for an application's
	// own); subject, when only the id is at hand (token exchange).
	user    *store.User
	subject string
}

// refreshPolicy is how long an application's refresh tokens live: each
// token, the whole rotation chain from the sign-on, and how long a rotated
// token may still be used (for clients that refresh in parallel).
type refreshPolicy struct {
	each, family, grace time.Duration
	// revokeOnReuse revokes the grant when a rotated token comes back
	// after the grace period (PingOne's
	// additionalRefreshTokenReplayProtectionEnabled, on by default).
	revokeOnReuse bool
}

func refreshPolicyOf(d wire.ApplicationData) refreshPolicy {
	p := refreshPolicy{each: defaultRefreshTokenDuration, family: defaultRefreshTokenRollingDuration, revokeOnReuse: true}
	if d.RefreshTokenDuration != nil && *d.RefreshTokenDuration > 0 {
		p.each = time.Duration(*d.RefreshTokenDuration) * time.Second
	}
	if d.RefreshTokenRollingDuration != nil && *d.RefreshTokenRollingDuration > 0 {
		p.family = time.Duration(*d.RefreshTokenRollingDuration) * time.Second
	}
	if d.RefreshTokenRollingGracePeriodDuration != nil && *d.RefreshTokenRollingGracePeriodDuration > 0 {
		p.grace = time.Duration(*d.RefreshTokenRollingGracePeriodDuration) * time.Second
	}
	if d.AdditionalRefreshTokenReplayProtectionEnabled != nil {
		p.revokeOnReuse = *d.AdditionalRefreshTokenReplayProtectionEnabled
	}
	return p
}

// accessTTL is the life of a grant's access tokens.
func (g *GrantData) accessTTL() time.Duration {
	if g.AccessTokenTTL <= 0 {
		return time.Hour
	}
	return min(time.Duration(g.AccessTokenTTL)*time.Second, maxAccessTokenTTL)
}

// newRefreshToken makes a refresh token: 256 random bits, opaque.
func newRefreshToken() string { return secrets.Random(32) }

// userMint is one issuance of a user's tokens. Whatever must be stored
// (the code's redemption, a refresh token) the caller has stored: minting
// signs and writes nothing.
type userMint struct {
	env       *store.Environment
	app       *config.Application
	user      *store.User
	sessionID string // "" when the tokens belong to no live session
	grant     *GrantData
	// scope overrides grant.Scope (a narrower refresh); "" keeps it.
	scope string
	// accessJTI was recorded by the store with the code or refresh token;
	// accessExpiresAt likewise.
	accessJTI       string
	accessExpiresAt time.Time
	refreshToken    string // returned as is; "" for none
	// noNonce leaves nonce out (OIDC Core §12.2: refreshed ID tokens).
	noNonce bool
	// noAccessToken signs the ID token alone (response_type id_token and
	// code id_token at the authorization endpoint).
	noAccessToken bool
	// noIDToken leaves the ID token out even with openid: response_type
	// token and code token get theirs, if at all, from the token endpoint.
	noIDToken bool
	// code, when the ID token travels with an authorization code, is
	// what its c_hash covers (OIDC Core §3.3.2.11).
	code string
	now  time.Time
}

// mintUserTokens signs the access token and, with openid, the ID token
// (either may be left out: noAccessToken, noIDToken).
func (s *Service) mintUserTokens(ctx context.Context, m *userMint) (*tokenResponse, error) {
	g := m.grant
	scope := g.Scope
	if m.scope != "" {
		scope = m.scope
	}
	scopes := strings.Fields(scope)
	iat := m.now.Unix()
	aud := g.Audience
	if len(aud) == 0 {
		aud = []string{provision.PingOneAPIAudience}
	}
	at := accesstoken.Claims{
		Issuer: s.Issuer(m.env.ID), Subject: m.user.ID, Audience: aud, ClientID: m.app.ID, Scope: scope,
		SessionID: m.sessionID, AuthTime: g.AuthTime, ACR: g.ACR, AMR: g.AMR,
		IssuedAt: iat, ExpiresAt: m.accessExpiresAt.Unix(), ID: m.accessJTI,
	}
	if slices.Contains(aud, provision.PingOneAPIAudience) {
		at.Env, at.Org = m.env.ID, m.env.OrganizationID
	}
	// Both tokens are signed with the key of this moment: the ID token's
	// at_hash uses the hash of its own algorithm.
	signing, err := s.signingFor(ctx, m.env.ID, m.app)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{RefreshToken: m.refreshToken, user: m.user}
	ctx = withGroupsOnce(ctx)
	if !m.noAccessToken {
		// The custom resources' attribute mappings, evaluated for the user.
		extra, err := s.resourceClaims(ctx, m.env.ID, m.app, aud, m.user)
		if err != nil {
			return nil, err
		}
		if resp.AccessToken, err = signing.Sign(withClaims{Claims: at, extra: extra}); err != nil {
			return nil, err
		}
		resp.TokenType, resp.ExpiresIn, resp.Scope = "Bearer", int(m.accessExpiresAt.Sub(m.now).Round(time.Second).Seconds()), scope
		resp.accessJTI, resp.accessExpiresAt = m.accessJTI, m.accessExpiresAt
	}
	if !slices.Contains(scopes, "openid") || m.noIDToken {
		return resp, nil
	}
	id, err := s.profileClaims(ctx, m.env.ID, m.app, m.user, scopes, forIDToken)
	if err != nil {
		return nil, err
	}
	id["iss"] = s.Issuer(m.env.ID)
	id["sub"] = m.user.ID
	id["aud"] = m.app.ID
	id["iat"] = iat
	id["exp"] = m.now.Add(idTokenTTL).Unix()
	if g.AuthTime > 0 {
		id["auth_time"] = g.AuthTime
	}
	id["env"] = m.env.ID
	id["org"] = m.env.OrganizationID
	if resp.AccessToken != "" {
		id["at_hash"] = halfHash(resp.AccessToken, signing.Alg())
	}
	if m.code != "" {
		id["c_hash"] = halfHash(m.code, signing.Alg())
	}
	if g.Nonce != "" && !m.noNonce {
		id["nonce"] = g.Nonce
	}
	if g.ACR != "" {
		id["acr"] = g.ACR
	}
	if len(g.AMR) > 0 {
		id["amr"] = g.AMR
	}
	if m.sessionID != "" {
		id["sid"] = m.sessionID
	}
	if resp.IDToken, err = signing.Sign(id); err != nil {
		return nil, err
	}
	return resp, nil
}

// halfHash is OIDC's at_hash (Core §3.1.3.6) and c_hash (§3.3.2.11): the
// left half of the hash of the value, base64url, with the hash of the
// signature algorithm the tokens are signed with (the environment's
// signing key decides: SHA-256 for RS256/ES256, SHA-384 and SHA-512 for
// the others).
func halfHash(v, alg string) string {
	var sum []byte
	switch {
	case strings.HasSuffix(alg, "384"):
		h := sha512.Sum384([]byte(v))
		sum = h[:]
	case strings.HasSuffix(alg, "512"):
		h := sha512.Sum512([]byte(v))
		sum = h[:]
	default:
		h := sha256.Sum256([]byte(v))
		sum = h[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// firstRefreshToken is the record of a grant's first refresh token. The
// chain may be refreshed until refreshTokenRollingDuration after the
// sign-on; each token lives refreshTokenDuration, never past the chain.
func firstRefreshToken(value string, c *client, userID, sessionID, grantID string, g *GrantData,
	accessJTI string, accessExpiresAt, now time.Time) *store.RefreshToken {
	app := c.app
	p := refreshPolicyOf(c.app.Settings)
	from := now
	if g.AuthTime > 0 {
		from = time.Unix(g.AuthTime, 0)
	}
	family := from.Add(p.family).UTC().Truncate(time.Millisecond)
	// What the refresh token remembers: the grant without what belonged to
	// the authorize request alone.
	kept := *g
	kept.RedirectURI, kept.Nonce, kept.CodeChallenge, kept.CodeChallengeMethod = "", "", "", ""
	return &store.RefreshToken{
		TokenHash: hashSecret(value), EnvironmentID: app.EnvironmentID, ApplicationID: app.ID, UserID: userID,
		SessionID: sessionID, GrantID: grantID, Data: kept.marshal(), AccessJTI: accessJTI, AccessExpiresAt: accessExpiresAt,
		CreatedAt: now, ExpiresAt: minTime(now.Add(p.each), family), FamilyExpiresAt: family,
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
