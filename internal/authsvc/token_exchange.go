package authsvc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The token exchange grant type and the token types RFC 8693 §3 names
// that PingOne accepts: its own environment's access and ID tokens as
// subject and actor, and an access token as the one it issues.
const (
	tokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
)

// tokenExchangeGrant is RFC 8693 token exchange as PingOne serves it: a
// confidential client presents a subject token (and, to act for the
// subject rather than as it, an actor token), both issued by this
// environment, and gets an access token for the custom resource whose
// scopes it was granted and requested. The new token's subject is the
// subject token's (a user, or for machine to machine an application);
// its client is the one exchanging; an actor token makes it carry an act
// claim. No refresh token is issued: the client exchanges again.
//
// PingOne also accepts JWTs of trusted issuers (third-party subject
// tokens, with urn:ietf:params:oauth:token-type:jwt); Gatehouse has no
// trusted issuers yet, and refuses that type with the others it does not
// serve.
type tokenExchangeGrant struct{}

// exchangedToken is what a subject or actor token vouches for.
type exchangedToken struct {
	subject   string
	sessionID string
	authTime  int64
	acr       string
	amr       []string
	act       *accesstoken.Actor
}

func (tokenExchangeGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	app, env, form := req.client.app, req.env, req.form
	subjectType := form.Get("subject_token_type")
	if !servedTokenType(subjectType) {
		return nil, invalidRequest("subject_token_type " + subjectType + " is not supported: use " + tokenTypeAccessToken + " or " + tokenTypeIDToken + ".")
	}
	actorRaw, actorType := form.Get("actor_token"), form.Get("actor_token_type")
	switch {
	case actorRaw != "" && actorType == "":
		return nil, invalidRequest("actor_token_type is required with actor_token.")
	case actorRaw == "" && actorType != "":
		return nil, invalidRequest("actor_token_type is allowed only with actor_token.")
	case actorRaw != "" && !servedTokenType(actorType):
		return nil, invalidRequest("actor_token_type " + actorType + " is not supported: use " + tokenTypeAccessToken + " or " + tokenTypeIDToken + ".")
	}
	if rt := form.Get("requested_token_type"); rt != "" && rt != tokenTypeAccessToken {
		return nil, invalidRequest("requested_token_type " + rt + " is not supported: only " + tokenTypeAccessToken + " is issued.")
	}

	// What is asked for is judged first: it costs no query.
	names := strings.Fields(form.Get("scope"))
	aud, ttlSec, oe := s.exchangeTarget(ctx, req, names)
	if oe != nil {
		return nil, oe
	}

	now := s.now()
	subject, oe := s.exchangeInput(ctx, env.ID, "subject_token", form.Get("subject_token"), subjectType, now)
	if oe != nil {
		return nil, oe
	}
	if oe := s.exchangeAdmits(ctx, env.ID, app, subject.subject); oe != nil {
		return nil, oe
	}
	act := subject.act
	if actorRaw != "" {
		actor, oe := s.exchangeInput(ctx, env.ID, "actor_token", actorRaw, actorType, now)
		if oe != nil {
			return nil, oe
		}
		// The actor acts now; whoever acted for the subject before is
		// kept inside (RFC 8693 §4.1).
		act = &accesstoken.Actor{Subject: actor.subject, Act: subject.act}
	}

	ttl := (&GrantData{AccessTokenTTL: ttlSec}).accessTTL()
	scope := strings.Join(names, " ")
	claims := accesstoken.Claims{
		Issuer: s.Issuer(env.ID), Subject: subject.subject, Audience: aud, ClientID: app.ID, Scope: scope,
		SessionID: subject.sessionID, AuthTime: subject.authTime, ACR: subject.acr, AMR: subject.amr,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(), ID: uuid.NewString(), Act: act,
	}
	// The resource's mappings, evaluated for the subject: a user is read
	// only when a mapping reads one; an application subject has none.
	extra, err := s.resourceClaimsOf(ctx, env.ID, app, aud, func() (*store.User, error) {
		u, err := s.Store.GetUser(ctx, env.ID, subject.subject)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return u, err
	})
	if err != nil {
		slog.ErrorContext(ctx, "token: the resource's attribute mappings cannot be read", "environment", env.ID, "err", err)
		return nil, serverError()
	}
	tok, err := s.signFor(ctx, env.ID, app, withClaims{Claims: claims, extra: extra})
	if err != nil {
		return nil, serverError()
	}
	return &tokenResponse{AccessToken: tok, IssuedTokenType: tokenTypeAccessToken, TokenType: "Bearer",
		ExpiresIn: int(ttl / time.Second), Scope: scope, subject: subject.subject}, nil
}

// exchangeAdmits holds a user subject against the exchanging application's
// accessControl: a token for a user the application does not admit is
// refused as any of its grants would be. A subject that is an application
// (an exchanged client token) is no user to admit.
func (s *Service) exchangeAdmits(ctx context.Context, envID string, app *config.Application, subject string) *oauthError {
	if !access.Restricted(app.Settings.AccessControl) {
		return nil
	}
	if _, err := s.Config.Application(ctx, envID, subject); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return serverError()
	}
	ok, err := s.admitted(ctx, envID, app, subject)
	if err != nil {
		return serverError()
	}
	if !ok {
		return notAdmittedGrant()
	}
	return nil
}

func servedTokenType(t string) bool { return t == tokenTypeAccessToken || t == tokenTypeIDToken }

// subjectApplication holds a token whose subject is no enabled user
// against the application it may name instead: only an exchange of an
// application's own token, by another client, makes such a token (its
// sub the application, its client_id the exchanger). The application
// must still exist, be enabled and be older than the token; anything
// else is a user's token whose user cannot sign on.
func (s *Service) subjectApplication(ctx context.Context, envID string, c *accesstoken.Claims) error {
	app, err := s.Config.Application(ctx, envID, c.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errUserRefused
	case err != nil:
		return err
	case !app.Enabled || app.CreatedAt.Unix() > c.IssuedAt:
		return tokenRefusal("The application the access token is about is disabled or no longer exists.")
	}
	return nil
}

// exchangeTarget is the audience and lifetime of the token an exchange
// issues: the one custom resource whose scopes the application was
// granted and requested. The openid resource's scopes are refused (the
// exchange issues no ID token, and reaches no user's PingOne API), as is
// an audience or resource parameter (RFC 8693 §2.1) that names another.
func (s *Service) exchangeTarget(ctx context.Context, req *tokenRequest, names []string) ([]string, int, *oauthError) {
	env, app := req.env, req.client.app
	if oe := s.refuseOpenIDScopes(ctx, env.ID, names); oe != nil {
		return nil, 0, oe
	}
	aud, ttl, ae := s.resolveScopes(ctx, env.ID, app, names)
	if ae != nil {
		return nil, 0, ae.tokenScopes()
	}
	if len(aud) != 1 {
		return nil, 0, invalidScope(errMultipleResources)
	}
	if aud[0] == provision.PingOneAPIAudience {
		return nil, 0, invalidScope("Token exchange issues tokens for custom resources: request the scopes of one.")
	}
	for _, p := range []string{"audience", "resource"} {
		if v := req.form.Get(p); v != "" && v != aud[0] {
			return nil, 0, &oauthError{status: 400, code: "invalid_target",
				description: "The " + p + " " + v + " is not the audience of the requested scopes' resource."}
		}
	}
	return aud, ttl, nil
}

// refuseOpenIDScopes refuses the openid resource's scopes in a token
// exchange.
func (s *Service) refuseOpenIDScopes(ctx context.Context, envID string, names []string) *oauthError {
	name, oe := s.openIDScopeIn(ctx, envID, names)
	if oe == nil && name != "" {
		oe = invalidScope("The scope " + name + " is the openid resource's: token exchange issues access tokens for custom resources.")
	}
	return oe
}

// exchangeInput verifies a subject or actor token (param names it in the
// error) as what typ says it is, issued by envID and live now. A token
// refused for any reason is invalid_request (RFC 8693 §2.2.2).
func (s *Service) exchangeInput(ctx context.Context, envID, param, raw, typ string, now time.Time) (*exchangedToken, *oauthError) {
	var x *exchangedToken
	var err error
	if typ == tokenTypeAccessToken {
		var c *accesstoken.Claims
		if c, err = s.liveAccessToken(ctx, envID, raw, now, true); err == nil {
			x = &exchangedToken{subject: c.Subject, sessionID: c.SessionID,
				authTime: c.AuthTime, acr: c.ACR, amr: c.AMR, act: c.Act}
			if x.subject == "" {
				err = tokenRefusal("The access token names no subject.")
			}
		} else if errors.Is(err, errNotIssuedHere) && s.isIDToken(ctx, envID, raw) {
			// An ID token does not even decode as an access token: say what
			// it is rather than that another environment issued it.
			err = tokenRefusal("The token is not an access token.")
		}
	} else {
		x, err = s.liveIDToken(ctx, envID, raw, now)
	}
	var refusal tokenRefusal
	switch {
	case errors.As(err, &refusal):
		return nil, invalidRequest(param + ": " + refusal.Error())
	case err != nil:
		slog.ErrorContext(ctx, "token exchange: a token cannot be checked", "environment", envID, "err", err)
		return nil, serverError()
	}
	return x, nil
}

// isIDToken says whether raw is an ID token of envID, whatever its life.
func (s *Service) isIDToken(ctx context.Context, envID, raw string) bool {
	tok, err := keys.Parse(raw)
	if err != nil {
		return false
	}
	var c idTokenClaims
	return s.Keys.Verify(ctx, envID, tok, &c) == nil && s.isIssuer(c.Issuer, envID) && c.ClientID == "" && c.ID == ""
}

// idTokenClaims are the claims of an ID token that an exchange reads.
// An access token, signed by the same keys, has a client_id and a jti.
type idTokenClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  jwt.Audience `json:"aud"`
	ClientID  string       `json:"client_id"`
	ID        string       `json:"jti"`
	IssuedAt  int64        `json:"iat"`
	ExpiresAt int64        `json:"exp"`
	AuthTime  int64        `json:"auth_time"`
	SessionID string       `json:"sid"`
	ACR       string       `json:"acr"`
	AMR       []string     `json:"amr"`
}

// liveIDToken verifies raw as an ID token envID issued that still holds,
// with the checks liveAccessToken makes of an access token: envID's key
// and issuer, unexpired, its application (the audience) still enabled,
// its user still enabled and its session, when it names one, not ended.
// An ID token is never revoked by itself: it has no jti.
func (s *Service) liveIDToken(ctx context.Context, envID, raw string, now time.Time) (*exchangedToken, error) {
	if !validID(envID) {
		return nil, tokenRefusal("The ID token is invalid.")
	}
	tok, err := keys.Parse(raw)
	if err != nil {
		return nil, tokenRefusal("The ID token is malformed.")
	}
	var c idTokenClaims
	if err := s.Keys.Verify(ctx, envID, tok, &c); errors.Is(err, keys.ErrInvalidToken) {
		return nil, tokenRefusal("The ID token was not issued by this environment.")
	} else if err != nil {
		return nil, err
	}
	switch {
	case !s.isIssuer(c.Issuer, envID):
		return nil, tokenRefusal("The ID token was not issued by this environment.")
	case c.ClientID != "" || c.ID != "" || len(c.Audience) != 1 || !validID(c.Subject):
		return nil, tokenRefusal("The token is not an ID token.")
	case c.ExpiresAt <= now.Unix():
		return nil, tokenRefusal("The ID token has expired.")
	case c.IssuedAt > now.Unix()+60:
		return nil, tokenRefusal("The ID token is not valid yet.")
	}
	if err := s.tokenApplication(ctx, envID, &accesstoken.Claims{ClientID: c.Audience[0], IssuedAt: c.IssuedAt}); err != nil {
		var refusal tokenRefusal
		if errors.As(err, &refusal) {
			return nil, tokenRefusal("The application of the ID token is disabled or no longer exists.")
		}
		return nil, err
	}
	st, err := s.Store.AccessTokenState(ctx, envID, "", c.SessionID, c.Subject)
	switch {
	case err != nil:
		return nil, err
	case c.SessionID != "" && !st.SessionExpiresAt.After(now):
		return nil, tokenRefusal("The session of the ID token has ended.")
	case !st.UserEnabled:
		return nil, tokenRefusal("The user of the ID token cannot sign on.")
	}
	return &exchangedToken{subject: c.Subject, sessionID: c.SessionID,
		authTime: c.AuthTime, acr: c.ACR, amr: c.AMR}, nil
}
