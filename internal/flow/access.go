package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A sign-on that would complete for a user the application's accessControl
// does not admit fails instead: the flow is FAILED with PingOne's
// access_denied, and resume reports it to the application. The check runs
// where a flow is written COMPLETED (every step saves through saveIn) and
// where single sign-on completes a new flow at once (Start), and before a
// Collector asks the user for anything: a user the application refuses is
// refused once known, not after giving their profile data or consent to a
// sign-on that cannot succeed.

// Collector is an Entrant whose prompt keeps what the user gives beyond
// the sign-on (profile data, consent to an agreement). The engine checks
// the application's accessControl before entering it.
type Collector interface {
	Entrant
	// Collects marks the method; it is never called.
	Collects()
}

// admits says whether envID's application appID admits userID; an
// application gone since the flow began admits (resume refuses it).
func (e *Engine) admits(ctx context.Context, st store.Store, envID, appID, userID string) (bool, error) {
	app, err := e.Config.Application(ctx, envID, appID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return access.Allowed(ctx, st, envID, app.Settings.AccessControl, userID)
}

// refuse fails st's flow for accessControl.
func (st *state) refuse() {
	st.Error, st.ErrorDescription = access.Code, access.Description
}

// admit fails the step's flow when it is about to be written COMPLETED for
// a user the application does not admit. st is the store the step writes
// with (a transaction's, when it has one).
func (s *Step) admit(ctx context.Context, st store.Store) error {
	if s.Flow.Status != StatusCompleted || s.Flow.UserID == "" {
		return nil
	}
	ok, err := s.e.admits(ctx, st, s.Flow.EnvironmentID, s.Flow.ApplicationID, s.Flow.UserID)
	if err != nil || ok {
		return err
	}
	s.st.refuse()
	s.SetStatus(StatusFailed)
	s.Record(ctx, Outcome{Type: audit.UserAccessDenied, User: userByID(s.Flow.EnvironmentID, s.Flow.UserID), Failure: access.Description})
	return nil
}

// admitCollector fails the step's flow when the Collector about to be
// entered would ask u, whom the application does not admit. It reports
// whether it did.
func (s *Step) admitCollector(ctx context.Context, u *store.User) (bool, error) {
	if u == nil {
		return false, nil
	}
	ok, err := s.e.admits(ctx, s.e.Store, s.Flow.EnvironmentID, s.Flow.ApplicationID, u.ID)
	if err != nil || ok {
		return false, err
	}
	s.st.refuse()
	s.SetStatus(StatusFailed)
	s.Record(ctx, Outcome{Type: audit.UserAccessDenied, User: u, Failure: access.Description})
	return true, s.Save(ctx)
}
