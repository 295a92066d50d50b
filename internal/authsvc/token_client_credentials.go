package authsvc

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
	"github.com/gatehouse-id/gatehouse/internal/provision"
)

// clientCredentialsGrant is the client_credentials grant (RFC 6749 §4.4):
// an application's own token for the PingOne API, authorised by its role
// assignments.
type clientCredentialsGrant struct{}

func (clientCredentialsGrant) exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError) {
	app, env := req.client.app, req.env
	if app.Type != "WORKER" {
		// Non-worker applications get client_credentials tokens for the
		// resources granted to them; resource grants are not served yet.
		return nil, unauthorizedClient("Only WORKER applications may use client_credentials for now.")
	}
	if sc := strings.TrimSpace(req.form.Get("scope")); sc != "" {
		// A worker's access comes from its role assignments, not scopes.
		return nil, invalidScope("WORKER applications are authorized by their roles; do not request scopes.")
	}
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
	tok, err := s.Keys.Sign(ctx, env.ID, claims)
	if err != nil {
		return nil, serverError()
	}
	return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds())}, nil
}
