// Package recovery is password recovery in a sign-on: the user asks for a
// code by email (password.forgot, wherever the policy action enables
// recovery), then sends it with a new password (RECOVERY_CODE_REQUIRED).
// A username that names no user, or a user who cannot recover, gets the
// same answers and no email.
package recovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/identifierfirst"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The status and actions, as PingOne names them.
const (
	StatusRecoveryCodeRequired = "RECOVERY_CODE_REQUIRED"

	ActionForgot   = "password.forgot"
	ActionSendCode = "password.sendRecoveryCode"
	ActionRecover  = "password.recover"
)

// Name keys the method's state in flows.
const Name = "recovery"

// Method is password recovery.
type Method struct{}

// New returns the method.
func New() *Method { return &Method{} }

// state is the recovery code sent.
type state struct {
	Code *flow.Code `json:"code,omitempty"`
}

var mail = flow.CodeMail{Kind: "recovery", Subject: "Your password recovery code",
	Text: func(username, code string, minutes int) string {
		return fmt.Sprintf("Hello %s,\n\nYour password recovery code is %s. It expires in %d minutes.\n", username, code, minutes)
	}}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status { return []flow.Status{{Name: StatusRecoveryCodeRequired}} }

func (*Method) Actions() []string { return []string{ActionForgot, ActionSendCode, ActionRecover} }

// Offers: password.forgot wherever the user is asked for a username or a
// password and the policy action enables recovery.
func (*Method) Offers(v *flow.View) []string {
	switch v.Status() {
	case usernamepassword.StatusUsernamePasswordRequired, identifierfirst.StatusSignOnRequired, usernamepassword.StatusPasswordRequired:
		if a := v.Action(); a != nil && a.RecoveryEnabled() {
			return []string{ActionForgot}
		}
	case StatusRecoveryCodeRequired:
		return []string{ActionRecover, ActionSendCode}
	}
	return nil
}

// Embed shows the rules the new password must meet.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if v.Status() != StatusRecoveryCodeRequired {
		return nil
	}
	pp, err := v.PasswordPolicy(ctx)
	out.PasswordPolicy = pp
	return err
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	st, err := flow.MethodState[state](s.View, Name)
	if err != nil {
		return err
	}
	switch action {
	case ActionForgot:
		return m.forgot(ctx, s, st, body)
	case ActionSendCode:
		return m.sendCode(ctx, s, st, body)
	}
	return m.recover(ctx, s, st, body)
}

// forgot is password.forgot: a code for the user named, or the flow's.
func (m *Method) forgot(ctx context.Context, s *flow.Step, st *state, body []byte) error {
	var req struct {
		Username *string `json:"username"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	username := ""
	if req.Username != nil {
		username = strings.TrimSpace(*req.Username)
	}
	bound := s.Flow.UserID != "" || s.Identifier() != ""
	if username == "" && !bound {
		return wire.InvalidData(wire.Required("username"))
	}
	typed := username
	if username == "" {
		username = s.Identifier()
	}
	a, err := s.Account(ctx, username)
	if err != nil {
		return err
	}
	if bound && typed != "" {
		// As in usernamePassword.check: a username sent with a bound user
		// must name that user (Account loads the bound one regardless).
		if err := usernamepassword.SameUser(s, a, typed); err != nil {
			return err
		}
	}
	var u *store.User
	if a != nil && a.User.IdentityProviderID == "" && a.User.Enabled {
		u = a.User
		s.Flow.UserID = u.ID
		if username == "" {
			username = u.Username
		}
	}
	s.Identify(username)
	if st.Code, err = s.SendCode(ctx, u, mail); err != nil {
		return err
	}
	s.SetStatus(StatusRecoveryCodeRequired)
	return s.Save(ctx)
}

// sendCode is password.sendRecoveryCode: a new code.
func (m *Method) sendCode(ctx context.Context, s *flow.Step, st *state, body []byte) error {
	var req map[string]any
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	a, err := s.Account(ctx, "")
	if err != nil {
		return err
	}
	var u *store.User
	if a != nil {
		u = a.User
	}
	if st.Code, err = s.SendCode(ctx, u, mail); err != nil {
		return err
	}
	return s.Save(ctx)
}

// recover is password.recover: the code and a new password.
func (m *Method) recover(ctx context.Context, s *flow.Step, st *state, body []byte) error {
	var req struct {
		RecoveryCode *string `json:"recoveryCode"`
		NewPassword  *string `json:"newPassword"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	if err := flow.Require(flow.Field{Name: "recoveryCode", Value: req.RecoveryCode}, flow.Field{Name: "newPassword", Value: req.NewPassword}); err != nil {
		return err
	}
	if err := s.CheckCode(ctx, st.Code, mail.Kind, strings.TrimSpace(*req.RecoveryCode), "recoveryCode"); err != nil {
		return err
	}
	a, err := s.Account(ctx, "")
	if err != nil {
		return err
	}
	if a == nil {
		// Unreachable: a phantom's code matches nothing.
		return flow.ErrFlowNotFound
	}
	return usernamepassword.SetNew(ctx, s, a, *req.NewPassword, "", false)
}
