package authsvc

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Every grant that issues a user's tokens holds the user against the
// application's accessControl (package access) before it issues anything:
// the sign-on flow checked it when the user signed on, and a refresh, a
// device code's poll or a token exchange must not outlast a membership
// that ended since. An application without accessControl costs nothing.

// errNotAdmitted is the authorization endpoint's answer to a user the
// application's accessControl refuses.
var errNotAdmitted = &authzError{code: access.Code, description: access.Description}

// notAdmittedGrant is the token endpoint's.
func notAdmittedGrant() *oauthError { return invalidGrant(access.Description) }

// admitted says whether app's accessControl admits userID.
func (s *Service) admitted(ctx context.Context, envID string, app *config.Application, userID string) (bool, error) {
	return access.Allowed(ctx, s.Store, envID, app.Settings.AccessControl, userID)
}
