package authsvc

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
)

// signingFor is the environment's signing key as app's tokens are signed
// with it: with the certificate thumbprint (x5t) in their header when the
// application's includeX5t asks for it, as PingOne does.
func (s *Service) signingFor(ctx context.Context, envID string, app *config.Application) (*keys.Signing, error) {
	sg, err := s.Keys.Signing(ctx, envID)
	if err != nil {
		return nil, err
	}
	return sg.WithX5t(app.Settings.IncludeX5t), nil
}

// signFor signs claims as a JWT of app's (signingFor).
func (s *Service) signFor(ctx context.Context, envID string, app *config.Application, claims any) (string, error) {
	sg, err := s.signingFor(ctx, envID, app)
	if err != nil {
		return "", err
	}
	return sg.Sign(claims)
}
