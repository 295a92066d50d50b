package authsvc

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/provision"
)

// clientCredentialsGrant is the client_credentials grant (RFC 6749 §4.4),
// as PingOne serves it: a token for the custom resource whose scopes the
// application was granted and requested, or, for a WORKER that asks for
// no scope and holds no custom resource's scopes, its own token for the
// PingOne API, authorised by its role assignments.
type clientCredentialsGrant struct{}

// errMultipleResources is PingOne's answer to scopes of more than one
// resource in one request.
const errMultipleResources = "May not request scopes for multiple resources."

func (clientCredentialsGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	app, env := req.client.app, req.env
	names := strings.Fields(req.form.Get("scope"))
	if len(names) == 0 {
		// PingOne: with no scope, every scope the application holds of
		// its one custom resource.
		granted, e := s.customScopes(ctx, env.ID, app.ID)
		if e != nil {
			return nil, e
		}
		switch {
		case len(granted) > 1:
			return nil, invalidScope("The application holds scopes of more than one resource: request the scopes of one.")
		case len(granted) == 1:
			for _, n := range granted {
				names = n
			}
		case app.Type == "WORKER":
			return s.workerToken(ctx, req)
		default:
			return nil, invalidScope("No scope was requested and the application holds no custom resource's scopes.")
		}
	} else if e := s.refuseUserScopes(ctx, env.ID, names); e != nil {
		return nil, e
	}
	aud, ttlSec, ae := s.resolveScopes(ctx, env.ID, app, names)
	if ae != nil {
		return nil, ae.tokenScopes()
	}
	if len(aud) != 1 {
		// One custom resource per token, whatever the application's
		// setting for authorization requests says.
		return nil, invalidScope(errMultipleResources)
	}
	if aud[0] == provision.PingOneAPIAudience {
		// The PingOne API's scopes are users' self-management scopes; a
		// client reaches the PingOne API as a WORKER, by its roles.
		return nil, invalidScope("client_credentials tokens are for custom resources: the PingOne API's scopes are not available.")
	}
	now := s.now()
	ttl := (&GrantData{AccessTokenTTL: ttlSec}).accessTTL()
	scope := strings.Join(names, " ")
	claims := accesstoken.Claims{
		Issuer: s.Issuer(env.ID), Subject: app.ID, Audience: aud, ClientID: app.ID, Scope: scope,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(), ID: uuid.NewString(),
	}
	// The resource's mappings that apply to a client (${client.id},
	// literals): a client's own token has no user.
	extra, err := s.resourceClaims(ctx, env.ID, app, aud, nil)
	if err != nil {
		slog.ErrorContext(ctx, "token: the resource's attribute mappings cannot be read", "environment", env.ID, "err", err)
		return nil, serverError()
	}
	tok, err := s.signFor(ctx, env.ID, app, withClaims{Claims: claims, extra: extra})
	if err != nil {
		return nil, serverError()
	}
	return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second), Scope: scope}, nil
}

// workerToken is a WORKER's token for the PingOne API.
func (s *Service) workerToken(ctx context.Context, req *tokenRequest) (*tokenResponse, *oauthError) {
	app, env := req.client.app, req.env
	now := s.now()
	ttl := s.AccessTokenTTL
	claims := accesstoken.Claims{
		Issuer:    s.Issuer(env.ID),
		Subject:   app.ID, // RFC 9068 §2.2: the client itself when no user is involved
		Audience:  []string{provision.PingOneAPIAudience},
		ClientID:  app.ID,
		Env:       env.ID,
		Org:       env.OrganizationID,
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(ttl).Unix(),
		ID:        uuid.NewString(),
	}
	tok, err := s.signFor(ctx, env.ID, app, claims)
	if err != nil {
		return nil, serverError()
	}
	return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds())}, nil
}

// customScopes are the names of the scopes appID was granted of each
// custom resource, by resource id.
func (s *Service) customScopes(ctx context.Context, envID, appID string) (map[string][]string, *oauthError) {
	unexpected := func(err error) (map[string][]string, *oauthError) {
		slog.ErrorContext(ctx, "token: the application's resource grants cannot be read", "environment", envID, "application", appID, "err", err)
		return nil, serverError()
	}
	catalog, err := s.Config.Resources(ctx, envID)
	if err != nil {
		return unexpected(err)
	}
	grants, err := s.Config.ApplicationGrants(ctx, envID, appID)
	if err != nil {
		return unexpected(err)
	}
	out := map[string][]string{}
	for _, g := range grants {
		r, err := catalog.Resource(g.ResourceID)
		if err != nil {
			return unexpected(err)
		}
		if r == nil || r.Type != "CUSTOM" {
			continue
		}
		scopes, err := catalog.Scopes(g.ResourceID)
		if err != nil {
			return unexpected(err)
		}
		for _, sc := range scopes {
			if (g.ScopeIDs == nil || slices.Contains(g.ScopeIDs, sc.ID)) && !slices.Contains(out[r.ID], sc.Name) {
				out[r.ID] = append(out[r.ID], sc.Name)
			}
		}
	}
	for id, n := range out {
		if len(n) == 0 {
			delete(out, id)
		}
		// The token's scope reads the same whichever order the store lists.
		slices.Sort(n)
	}
	return out, nil
}

// openIDScopeIn is the first of names that is a scope of the openid
// resource, or "". Grants that issue tokens for custom resources alone
// refuse those scopes: they are about a user's profile.
func (s *Service) openIDScopeIn(ctx context.Context, envID string, names []string) (string, *oauthError) {
	catalog, err := s.Config.Resources(ctx, envID)
	if err != nil {
		slog.ErrorContext(ctx, "token: the resources cannot be read", "environment", envID, "err", err)
		return "", serverError()
	}
	openid, err := catalog.OpenID()
	if err != nil || openid == nil {
		// resolveScopes reports a damaged openid resource.
		return "", nil
	}
	scopes, err := catalog.Scopes(openid.ID)
	if err != nil {
		return "", nil
	}
	for _, sc := range scopes {
		if slices.Contains(names, sc.Name) {
			return sc.Name, nil
		}
	}
	return "", nil
}

// refuseUserScopes refuses the openid resource's scopes: they are about a
// user, and a client_credentials token has none.
func (s *Service) refuseUserScopes(ctx context.Context, envID string, names []string) *oauthError {
	name, oe := s.openIDScopeIn(ctx, envID, names)
	if oe == nil && name != "" {
		oe = invalidScope("The scope " + name + " is about a user; client_credentials tokens have none.")
	}
	return oe
}
