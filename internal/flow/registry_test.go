package flow_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/fido2"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// newEngine is an engine with Gatehouse's sign-on methods, registered as
// the server registers them.
func newEngine() *flow.Engine {
	e := &flow.Engine{}
	e.Register(methods.Standard(external.New(e), &otp.Method{}, &fido2.Method{})...)
	return e
}

func TestActionFor(t *testing.T) {
	e := newEngine()
	for _, tc := range []struct{ mediaType, want string }{
		{"application/vnd.pingidentity.usernamePassword.check+json", wire.ActionUsernamePasswordCheck},
		{"application/vnd.pingidentity.usernamepassword.check+json", wire.ActionUsernamePasswordCheck},
		{"APPLICATION/VND.PINGIDENTITY.USER.LOOKUP+JSON", wire.ActionUserLookup},
		{"application/vnd.pingidentity.password.sendRecoveryCode", wire.ActionPasswordSendRecoveryCode},
		{"application/vnd.pingidentity.password.sendRecoveryCode+json", wire.ActionPasswordSendRecoveryCode},
		{"application/vnd.pingidentity.session.reset+json", flow.ActionSessionReset},
		{"application/vnd.pingidentity.user.unlock+json", ""},
		{"application/vnd.pingidentity.", ""},
		{"application/vnd.pingidentity.+json", ""},
		{"application/json", ""},
		{"application/vnd.example.usernamePassword.check+json", ""},
		{"", ""},
	} {
		if got := e.ActionFor(tc.mediaType); got != tc.want {
			t.Errorf("e.ActionFor(%q) = %q, want %q", tc.mediaType, got, tc.want)
		}
	}
	for _, a := range e.Actions() {
		if got := e.ActionFor(flow.MediaType(a)); got != a {
			t.Errorf("e.ActionFor(MediaType(%s)) = %q", a, got)
		}
	}
}

// TestAllowed: what each status offers, by the policy action's settings.
// session.reset is offered wherever there is something to reset.
func TestAllowed(t *testing.T) {
	e := newEngine()
	plain := &flow.PolicyAction{Type: "LOGIN", Settings: wire.SignOnPolicyActionData{Recovery: &wire.ActionRecovery{Enabled: false}}}
	full := &flow.PolicyAction{Type: "LOGIN", Settings: wire.SignOnPolicyActionData{Recovery: &wire.ActionRecovery{Enabled: true},
		Registration: &wire.ActionRegistration{Enabled: true}}}
	for _, tc := range []struct {
		status string
		a      *flow.PolicyAction
		want   []string
	}{
		{wire.StatusUsernamePasswordRequired, plain, []string{wire.ActionUsernamePasswordCheck, flow.ActionSessionReset}},
		{wire.StatusUsernamePasswordRequired, full, []string{wire.ActionUsernamePasswordCheck, wire.ActionPasswordForgot, wire.ActionUserRegister, flow.ActionSessionReset}},
		{wire.StatusSignOnRequired, plain, []string{wire.ActionUserLookup, flow.ActionSessionReset}},
		{wire.StatusSignOnRequired, full, []string{wire.ActionUserLookup, wire.ActionPasswordForgot, wire.ActionUserRegister, flow.ActionSessionReset}},
		{wire.StatusPasswordRequired, full, []string{wire.ActionUsernamePasswordCheck, wire.ActionPasswordForgot, flow.ActionSessionReset}},
		{wire.StatusMustChangePassword, plain, []string{wire.ActionPasswordReset, flow.ActionSessionReset}},
		{wire.StatusPasswordExpired, plain, []string{wire.ActionPasswordReset, flow.ActionSessionReset}},
		{wire.StatusRecoveryCodeRequired, plain, []string{wire.ActionPasswordRecover, wire.ActionPasswordSendRecoveryCode, flow.ActionSessionReset}},
		{wire.StatusVerificationCodeRequired, plain, []string{wire.ActionUserVerify, wire.ActionUserSendVerificationCode, flow.ActionSessionReset}},
		{flow.StatusCompleted, full, nil},
		{flow.StatusFailed, full, nil},
		{wire.StatusUsernamePasswordRequired, nil, []string{wire.ActionUsernamePasswordCheck, flow.ActionSessionReset}},
	} {
		if got := e.Allowed(t, tc.status, tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("allowed(%s, %+v) = %v, want %v", tc.status, tc.a, got, tc.want)
		}
	}
}

// TestRegisterRefusesOverlap: an action, a status or a policy action type
// belongs to one method.
func TestRegisterRefusesOverlap(t *testing.T) {
	for name, m := range map[string]flow.Method{
		"action":      &usernamepassword.Method{},
		"reset":       stub{actions: []string{flow.ActionSessionReset}},
		"status":      stub{statuses: []flow.Status{{Name: wire.StatusRecoveryCodeRequired}}},
		"engine's":    stub{statuses: []flow.Status{{Name: flow.StatusCompleted}}},
		"action type": beginStub{},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("registered twice without a panic")
				}
			}()
			newEngine().Register(m)
		})
	}
}

type stub struct {
	actions  []string
	statuses []flow.Status
}

func (stub) Name() string                                          { return "stub" }
func (s stub) Statuses() []flow.Status                             { return s.statuses }
func (s stub) Actions() []string                                   { return s.actions }
func (stub) Offers(*flow.View) []string                            { return nil }
func (stub) Run(context.Context, *flow.Step, string, []byte) error { return nil }

type beginStub struct{ stub }

func (beginStub) Begins() []string                      { return []string{"LOGIN"} }
func (beginStub) BeginStatus(*flow.PolicyAction) string { return "STUB_REQUIRED" }
