// Package recovery is password recovery in a sign-on: the user asks for a
// code by email (password.forgot, wherever the policy action enables
// recovery), then sends it with a new password (RECOVERY_CODE_REQUIRED).
// A username that names no user, or a user who cannot recover, gets the
// same answers and no email.
package recovery

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "recovery"

// Method is password recovery.
type Method struct{}

var mail = flow.CodeMail{Kind: "recovery", Subject: "Your password recovery code", What: "password recovery code"}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusRecoveryCodeRequired}}
}

func (*Method) Actions() []string {
	return []string{wire.ActionPasswordForgot, wire.ActionPasswordSendRecoveryCode, wire.ActionPasswordRecover}
}

// ChecksSecret: password.recover checks the code the user types.
func (*Method) ChecksSecret(action string) bool { return action == wire.ActionPasswordRecover }

// Offers: password.forgot wherever the user is asked to sign on and the
// policy action enables recovery.
func (*Method) Offers(v *flow.View) []string {
	switch {
	case v.Status() == wire.StatusRecoveryCodeRequired:
		return []string{wire.ActionPasswordRecover, wire.ActionPasswordSendRecoveryCode}
	case v.SigningOn() && enabled(v.Action()):
		return []string{wire.ActionPasswordForgot}
	}
	return nil
}

// enabled: PingOne's LOGIN and IDENTIFIER_FIRST actions offer password
// recovery unless their recovery.enabled is false. No other action does:
// a passwordless one (MULTI_FACTOR_AUTHENTICATION asking for the
// username) must not sign on with a password recovered.
func enabled(a *flow.PolicyAction) bool {
	return a != nil && (a.Type == "LOGIN" || a.Type == "IDENTIFIER_FIRST") && (a.Settings.Recovery == nil || a.Settings.Recovery.Enabled)
}

// Embed shows the rules the new password must meet.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if v.Status() != wire.StatusRecoveryCodeRequired {
		return nil
	}
	pp, err := v.PasswordPolicy(ctx)
	out.PasswordPolicy = pp
	return err
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	code, err := flow.MethodState[flow.Code](s.View, Name)
	if err != nil {
		return err
	}
	switch action {
	case wire.ActionPasswordForgot:
		return m.forgot(ctx, s, code, body)
	case wire.ActionPasswordSendRecoveryCode:
		return m.sendCode(ctx, s, code, body)
	}
	return m.recover(ctx, s, code, body)
}

// forgot is password.forgot: a code for the user named, or the flow's.
func (m *Method) forgot(ctx context.Context, s *flow.Step, code *flow.Code, body []byte) error {
	req, err := flow.Fields(body, nil, "username")
	if err != nil {
		return err
	}
	username := strings.TrimSpace(req["username"])
	bound := s.Identified()
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
	u := eligible(a)
	if u != nil {
		s.Flow.UserID = u.ID
		if username == "" {
			username = u.Username
		}
	}
	s.Identify(username)
	if err := s.SendCode(ctx, u, mail, code); err != nil {
		return err
	}
	if u != nil {
		s.Record(ctx, flow.Outcome{Type: audit.PasswordRecovery, User: u})
	}
	s.SetStatus(wire.StatusRecoveryCodeRequired)
	return s.Save(ctx)
}

// sendCode is password.sendRecoveryCode: a new code.
func (m *Method) sendCode(ctx context.Context, s *flow.Step, code *flow.Code, body []byte) error {
	if _, err := flow.Fields(body, nil); err != nil {
		return err
	}
	a, err := s.Account(ctx, "")
	if err != nil {
		return err
	}
	if err := s.SendCode(ctx, eligible(a), mail, code); err != nil {
		return err
	}
	return s.Save(ctx)
}

// recover is password.recover: the code and a new password.
func (m *Method) recover(ctx context.Context, s *flow.Step, code *flow.Code, body []byte) error {
	req, err := flow.Fields(body, []string{"recoveryCode", "newPassword"})
	if err != nil {
		return err
	}
	if err := s.CheckCode(ctx, code, mail.Kind, strings.TrimSpace(req["recoveryCode"]), "recoveryCode"); err != nil {
		s.Record(ctx, flow.Outcome{Method: flow.MetricRecovery, Result: flow.ResultFailure})
		return err
	}
	// A phantom's code matches nothing: the flow has a user here, one who
	// could recover when the code was sent.
	a, err := s.UserAccount(ctx)
	if err != nil {
		return err
	}
	if eligible(a) == nil {
		// Disabled, or moved to an external provider, since.
		return wire.InvalidData(wire.InvalidValue("recoveryCode", "The code has expired or was used too many times: send a new one."))
	}
	if err := usernamepassword.SetNew(ctx, s, a, req["newPassword"], "", false); err != nil {
		return err
	}
	s.Record(ctx, flow.Outcome{Method: flow.MetricRecovery, Result: flow.ResultSuccess})
	return nil
}

// eligible is the user of a who may recover a password: an enabled user
// of the environment's own directory (a federated user's password is the
// provider's). Anyone else gets the same answers and no code.
func eligible(a *credential.Account) *store.User {
	if a == nil || a.User.IdentityProviderID != "" || !a.User.Enabled {
		return nil
	}
	return a.User
}
