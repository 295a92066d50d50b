// Package registration is self-service registration in a sign-on
// (user.register, wherever the policy action enables it) and the email
// verification that follows it (VERIFICATION_CODE_REQUIRED): a new user,
// or a user whose account still needs verification and who signs on with
// a password, gets a code by email before the sign-on completes. (A
// federated sign-on is not held: the provider vouched for the user.)
package registration

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "registration"

// Method is registration and email verification.
type Method struct{}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusVerificationCodeRequired, Authenticated: true}}
}

func (*Method) Actions() []string {
	return []string{wire.ActionUserRegister, wire.ActionUserVerify, wire.ActionUserSendVerificationCode}
}

// ChecksSecret: user.verify checks the code the user types.
func (*Method) ChecksSecret(action string) bool { return action == wire.ActionUserVerify }

// registers reports whether the flow offers user.register now: where the
// user is asked who they are, and the policy action enables registration.
func registers(v *flow.View) bool {
	if a := v.Action(); a != nil && v.AsksUsername() {
		on, _ := a.Registration()
		return on
	}
	return false
}

func (*Method) Offers(v *flow.View) []string {
	if registers(v) {
		return []string{wire.ActionUserRegister}
	}
	if v.Status() == wire.StatusVerificationCodeRequired {
		return []string{wire.ActionUserVerify, wire.ActionUserSendVerificationCode}
	}
	return nil
}

// Embed shows the rules a new account's password must meet.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if !registers(v) {
		return nil
	}
	pp, err := v.PasswordPolicy(ctx)
	out.PasswordPolicy = pp
	return err
}

// Hold asks a user whose account is not verified yet for the code sent to
// their email address before the sign-on completes.
func (*Method) Hold(ctx context.Context, s *flow.Step, u *store.User) (string, error) {
	if u.LifecycleStatus != identity.LifecycleVerificationRequired || u.Email == "" {
		return "", nil
	}
	if err := send(ctx, s, u); err != nil {
		return "", err
	}
	return wire.StatusVerificationCodeRequired, nil
}

// verificationMail is the message of a verification code.
var verificationMail = flow.CodeMail{Kind: "verification", Subject: "Verify your email address", What: "verification code"}

// send sends u a verification code, kept in the method's state.
func send(ctx context.Context, s *flow.Step, u *store.User) error {
	code, err := flow.MethodState[flow.Code](s.View, Name)
	if err != nil {
		return err
	}
	return s.SendCode(ctx, u, verificationMail, code)
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	switch action {
	case wire.ActionUserRegister:
		return m.register(ctx, s, body)
	case wire.ActionUserVerify:
		return m.verify(ctx, s, body)
	}
	return m.sendCode(ctx, s, body)
}

// register is user.register: a new user in the action's registration
// population, with a password, waiting for email verification.
func (m *Method) register(ctx context.Context, s *flow.Step, body []byte) error {
	var req struct {
		Name *struct {
			Given  string `json:"given"`
			Family string `json:"family"`
		} `json:"name"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	f, err := flow.Fields(body, []string{"username", "email", "password"})
	if err != nil {
		return err
	}
	reg := identity.Registration{Username: strings.TrimSpace(f["username"]), Email: strings.TrimSpace(f["email"])}
	if req.Name != nil {
		reg.GivenName, reg.FamilyName = req.Name.Given, req.Name.Family
	}
	e := s.Engine()
	_, pop := s.Action().Registration()
	u, err := identity.Register(ctx, e.Store, s.Flow.EnvironmentID, pop, reg, s.Now)
	if errors.Is(err, identity.ErrNoPopulation) {
		return wire.RequestFailed("Registration has no population to put new users in.")
	}
	if err != nil {
		return err
	}
	if u.MFAEnabled, err = e.Config.NewUsersMFAEnabled(ctx, s.Flow.EnvironmentID); err != nil {
		return err
	}
	password := f["password"]
	_, pol, err := e.Credentials.EffectivePolicy(ctx, e.Store, s.Flow.EnvironmentID, u.PopulationID)
	if err != nil {
		return err
	}
	vs, err := e.Credentials.CheckNew(ctx, &credential.Account{User: u, Policy: pol}, password, "", false, s.Now)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return flow.PasswordRejected("password", vs)
	}
	// Before the password's hash and the user are paid for.
	if err := s.BeginRegistration(ctx, u.Username); err != nil {
		return err
	}
	hash, err := e.Credentials.Hash(ctx, password)
	if err != nil {
		return err
	}
	err = e.Store.Tx(ctx, func(tx store.Store) error {
		if err := identity.Claim(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutUserPassword(ctx, &store.UserPassword{UserID: u.ID, EnvironmentID: u.EnvironmentID, Hash: hash, Status: credential.StatusOK,
			LastChangedAt: s.Now, UpdatedAt: s.Now})
	})
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		if ue.Field != "username" {
			// A unique attribute of the schema (an email address another
			// user holds, say).
			return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: ue.Field, Message: "The " + ue.Field + " is already in use."})
		}
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "username", Message: "The username is already in use."})
	}
	if err != nil {
		return err
	}
	s.Record(ctx, flow.Outcome{Type: audit.UserCreated, Method: flow.MetricRegistration, Result: flow.ResultSuccess, User: u})
	s.Flow.UserID = u.ID
	if err := send(ctx, s, u); err != nil {
		return err
	}
	// The new user set a password: that is how the sign-on completes once
	// the email address is verified.
	s.HoldAs(wire.StatusVerificationCodeRequired, "pwd")
	return s.Save(ctx)
}

// verify is user.verify: the right code verifies the account and the
// sign-on completes.
func (m *Method) verify(ctx context.Context, s *flow.Step, body []byte) error {
	req, err := flow.Fields(body, []string{"verificationCode"})
	if err != nil {
		return err
	}
	code, err := flow.MethodState[flow.Code](s.View, Name)
	if err != nil {
		return err
	}
	if err := s.CheckCode(ctx, code, verificationMail.Kind, strings.TrimSpace(req["verificationCode"]), "verificationCode"); err != nil {
		return err
	}
	e := s.Engine()
	var u *store.User
	err = e.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if u, err = tx.GetUser(ctx, s.Flow.EnvironmentID, s.Flow.UserID); err != nil {
			return err
		}
		identity.EmailVerified(u, s.Now)
		return tx.UpdateUser(ctx, u)
	})
	if errors.Is(err, store.ErrNotFound) {
		return flow.ErrFlowNotFound
	}
	if err != nil {
		return err
	}
	return s.Release(ctx, u)
}

// sendCode is user.sendVerificationCode: a new code.
func (m *Method) sendCode(ctx context.Context, s *flow.Step, body []byte) error {
	if _, err := flow.Fields(body, nil); err != nil {
		return err
	}
	u, err := s.Engine().Store.GetUser(ctx, s.Flow.EnvironmentID, s.Flow.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return flow.ErrFlowNotFound
	}
	if err != nil {
		return err
	}
	if err := send(ctx, s, u); err != nil {
		return err
	}
	return s.Save(ctx)
}
