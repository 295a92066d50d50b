package authsvc

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// authorizeResult is the authorization response of a completed flow:
// what its response type lists, nothing else.
type authorizeResult struct {
	code        string
	accessToken string
	expiresIn   int
	scope       string
	idToken     string
}

// params are the response's parameters for a redirect or form_post.
// The token's type, life and scope go with the access token only (RFC
// 6749 §4.2.2).
func (r *authorizeResult) params(state string) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("code", r.code)
	if r.accessToken != "" {
		set("access_token", r.accessToken)
		set("token_type", "Bearer")
		set("expires_in", strconv.Itoa(r.expiresIn))
		set("scope", r.scope)
	}
	set("id_token", r.idToken)
	set("state", state)
	return v
}

// wire is the response as a pi.flow client reads it in the flow.
func (r *authorizeResult) wire(state string) *wire.AuthorizeResponse {
	out := &wire.AuthorizeResponse{Code: r.code, IDToken: r.idToken, State: state}
	if r.accessToken != "" {
		out.AccessToken, out.TokenType, out.ExpiresIn, out.Scope = r.accessToken, "Bearer", r.expiresIn, r.scope
	}
	return out
}

// userGone refuses tokens for a user deleted or disabled while signing on.
var userGone = &authzError{code: "access_denied", description: "The user cannot sign on."}

// issueAuthorization issues what the flow's response type lists: a
// single-use code stored by its hash, and tokens signed for the user who
// signed on. The ID token carries the request's nonce, at_hash beside an
// access token and c_hash beside a code. Nothing here issues a refresh
// token: only the token endpoint does. An *authzError goes to the client;
// any other error is Gatehouse's own.
func (s *Service) issueAuthorization(ctx context.Context, env *store.Environment, app *config.Application, f *store.Flow,
	req *flow.Request, acr string, authTime time.Time, amr []string) (*authorizeResult, error) {
	rt, ok := lookupResponseType(req.ResponseType)
	if !ok {
		return nil, &authzError{code: "unsupported_response_type", description: "The flow's response_type is not served."}
	}
	// The flow checked the application's accessControl when it completed;
	// a membership may have ended since.
	if ok, err := s.admitted(ctx, env.ID, app, f.UserID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNotAdmitted
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	g := GrantData{RedirectURI: req.RedirectURI, Scope: req.Scope, Audience: req.Audience, Nonce: req.Nonce,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod, AuthTime: authTime.Unix(),
		ACR: acr, AMR: amr, AccessTokenTTL: req.AccessTokenTTL}
	res := &authorizeResult{}
	var user *store.User
	if rt.frontChannel() {
		// Read before the code is stored: a user who cannot have tokens
		// gets no code either.
		u, err := s.Store.GetUser(ctx, env.ID, f.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Enabled) {
			return nil, userGone
		}
		if err != nil {
			return nil, err
		}
		user = u
	}
	accessJTI, accessExpiresAt := uuid.NewString(), now.Add(g.accessTTL())
	if rt.code {
		res.code = uuid.NewString()
		ac := &store.AuthCode{CodeHash: hashSecret(res.code), EnvironmentID: env.ID, ApplicationID: app.ID,
			UserID: f.UserID, SessionID: f.SessionID, GrantID: uuid.NewString(), Data: g.marshal(), CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}
		if rt.token {
			// The access token issued beside the code belongs to its
			// grant: a replay of the code must deny it too (RFC 6749
			// §4.1.2), so the code's row names it.
			ac.FrontAccessJTI, ac.FrontAccessExpiresAt = accessJTI, accessExpiresAt
		}
		if err := s.Store.CreateAuthCode(ctx, ac); err != nil {
			return nil, err
		}
	}
	if !rt.frontChannel() {
		return res, nil
	}
	m := &userMint{env: env, app: app, user: user, sessionID: f.SessionID, grant: &g, accessJTI: accessJTI,
		accessExpiresAt: accessExpiresAt, noAccessToken: !rt.token, noIDToken: !rt.idToken, code: res.code, now: now}
	tr, err := s.mintUserTokens(ctx, m)
	var mc *missingClaimError
	if errors.As(err, &mc) {
		return nil, &authzError{code: "access_denied", description: mc.description()}
	}
	if err != nil {
		return nil, err
	}
	res.accessToken, res.expiresIn, res.idToken = tr.AccessToken, tr.ExpiresIn, tr.IDToken
	if res.accessToken != "" {
		res.scope = g.Scope
		s.recordTokens(ctx, env.ID, app, "implicit", user, "")
	}
	return res, nil
}
