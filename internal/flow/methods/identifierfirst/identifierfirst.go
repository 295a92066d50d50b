// Package identifierfirst is the sign-on method of PingOne's
// IDENTIFIER_FIRST action: the user gives a username first
// (SIGN_ON_REQUIRED), then the username and password method asks for the
// password (PASSWORD_REQUIRED). A username that names no user goes on as
// if it did.
package identifierfirst

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
)

// The status and action, as PingOne names them.
const (
	StatusSignOnRequired = "SIGN_ON_REQUIRED"
	ActionUserLookup     = "user.lookup"
)

// Method is the identifier-first method.
type Method struct{}

// New returns the method.
func New() *Method { return &Method{} }

func (*Method) Name() string { return "identifierFirst" }

func (*Method) Statuses() []flow.Status { return []flow.Status{{Name: StatusSignOnRequired}} }

func (*Method) Actions() []string { return []string{ActionUserLookup} }

func (*Method) Begins() []string { return []string{"IDENTIFIER_FIRST"} }

func (*Method) BeginStatus(*flow.PolicyAction) string { return StatusSignOnRequired }

func (*Method) Offers(v *flow.View) []string {
	if v.Status() == StatusSignOnRequired {
		return []string{ActionUserLookup}
	}
	return nil
}

// Run is user.lookup.
func (*Method) Run(ctx context.Context, s *flow.Step, _ string, body []byte) error {
	var req struct {
		Username *string `json:"username"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	if err := flow.Require(flow.Field{Name: "username", Value: req.Username}); err != nil {
		return err
	}
	username := strings.TrimSpace(*req.Username)
	a, err := s.Account(ctx, username)
	if err != nil {
		return err
	}
	s.Identify(username)
	if a != nil {
		s.Flow.UserID = a.User.ID
	}
	s.SetStatus(usernamepassword.StatusPasswordRequired)
	return s.Save(ctx)
}
