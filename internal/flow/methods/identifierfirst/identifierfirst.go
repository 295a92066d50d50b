// Package identifierfirst is the sign-on method of PingOne's
// IDENTIFIER_FIRST action: the user gives a username first
// (SIGN_ON_REQUIRED), then the username and password method asks for the
// password (PASSWORD_REQUIRED). A username that names no user goes on as
// if it did. An action that signs the user on alone (flow.FirstFactor:
// passwordless MFA) asks for the username in SIGN_ON_REQUIRED too, and
// takes it from here.
package identifierfirst

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Method is the identifier-first method.
type Method struct{}

func (*Method) Name() string { return "identifierFirst" }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusSignOnRequired, SignOn: true, AsksUsername: true}}
}

func (*Method) Actions() []string { return []string{wire.ActionUserLookup} }

func (*Method) Begins() []string { return []string{"IDENTIFIER_FIRST"} }

func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusSignOnRequired }

func (*Method) Offers(v *flow.View) []string {
	if v.Status() == wire.StatusSignOnRequired {
		return []string{wire.ActionUserLookup}
	}
	return nil
}

// Run is user.lookup.
func (*Method) Run(ctx context.Context, s *flow.Step, _ string, body []byte) error {
	req, err := flow.Fields(body, []string{"username"})
	if err != nil {
		return err
	}
	username := strings.TrimSpace(req["username"])
	s.Identify(username)
	// One lookup, whether or not the name is known: loading a known user's
	// password and policy here would make its answer the slower.
	u, err := s.Engine().Store.GetUserByUsername(ctx, s.Flow.EnvironmentID, username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
	case err != nil:
		return err
	}
	if ff := s.FirstFactor(); ff != nil {
		return ff.Identify(ctx, s, username, u)
	}
	if u != nil {
		s.Flow.UserID = u.ID
	}
	s.SetStatus(wire.StatusPasswordRequired)
	return s.Save(ctx)
}
