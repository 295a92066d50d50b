// Package device is the user's half of the device authorization grant
// (RFC 8628) in a sign-on flow: once the sign-on policy is satisfied, a
// flow started for a device asks for the user code the device shows
// (DAG_USER_CODE_REQUIRED, deviceAuthGrant.userCode.verify), then for the
// user's consent to that device (DAG_CONSENT_REQUIRED,
// deviceAuthGrant.consent). Accepting completes the flow, and resume
// approves the device; refusing denies it. authsvc issues the codes and
// the device's tokens.
package device

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "device"

// maxWrongCodes wrong user codes fail the flow: the user starts over,
// and the engine's failure limits count each guess besides.
const maxWrongCodes = 5

// Method is the device authorization grant's user steps.
type Method struct{}

// State is what the method keeps in a flow: the device authorization the
// user's code named, and the wrong codes typed.
type State struct {
	DeviceCodeHash string `json:"deviceCodeHash,omitempty"`
	Wrong          int    `json:"wrong,omitempty"`
}

func (*Method) Name() string { return Name }

// Statuses: the user has signed on in both.
func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusDAGUserCodeRequired, Authenticated: true}, {Name: wire.StatusDAGConsentRequired, Authenticated: true}}
}

func (*Method) Actions() []string {
	return []string{wire.ActionDeviceUserCodeVerify, wire.ActionDeviceConsent}
}

// ChecksSecret: a user code is a secret guessed like a password, so the
// engine's failure limits (per address and per user) count wrong ones.
func (*Method) ChecksSecret(action string) bool { return action == wire.ActionDeviceUserCodeVerify }

func (*Method) Offers(v *flow.View) []string {
	switch v.Status() {
	case wire.StatusDAGUserCodeRequired:
		return []string{wire.ActionDeviceUserCodeVerify}
	case wire.StatusDAGConsentRequired:
		return []string{wire.ActionDeviceConsent}
	}
	return nil
}

// Confirm asks a device flow's user for the code once signed on.
func (*Method) Confirm(v *flow.View) string {
	if v.Request().Device() {
		return wire.StatusDAGUserCodeRequired
	}
	return ""
}

// Embed pre-fills the user code the flow was started with.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if v.Status() == wire.StatusDAGUserCodeRequired {
		out.UserCode = v.Request().UserCode
	}
	return nil
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	if action == wire.ActionDeviceUserCodeVerify {
		return m.verify(ctx, s, st, body)
	}
	return m.consent(ctx, s, st, body)
}

var errWrongCode = wire.InvalidData(wire.InvalidValue("userCode", "The user code is invalid or has expired."))

// verify is deviceAuthGrant.userCode.verify: the code must name a pending,
// unexpired authorization of the flow's application.
func (m *Method) verify(ctx context.Context, s *flow.Step, st *State, body []byte) error {
	req, err := flow.Fields(body, []string{"userCode"})
	if err != nil {
		return err
	}
	code := Normalize(req["userCode"])
	var d *store.DeviceAuthorization
	if code != "" {
		d, err = s.Engine().Store.GetDeviceAuthorizationByUserCode(ctx, s.Flow.EnvironmentID, HashUserCode(code))
		if errors.Is(err, store.ErrNotFound) {
			d, err = nil, nil
		} else if err != nil {
			return err
		}
	}
	if d == nil || d.ApplicationID != s.Flow.ApplicationID || d.Status != store.DevicePending || !s.Now.Before(d.ExpiresAt) {
		st.Wrong++
		if st.Wrong >= maxWrongCodes {
			if err := s.Fail(ctx, "access_denied", "Too many wrong user codes."); err != nil {
				return err
			}
		} else if err := s.Save(ctx); err != nil {
			return err
		}
		return errWrongCode
	}
	st.DeviceCodeHash = d.DeviceCodeHash
	s.SetStatus(wire.StatusDAGConsentRequired)
	return s.Save(ctx)
}

// consent is deviceAuthGrant.consent: {"accept": true} completes the flow
// (resume approves the device); false denies the device at once.
func (m *Method) consent(ctx context.Context, s *flow.Step, st *State, body []byte) error {
	var req struct {
		Accept *bool `json:"accept"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	if req.Accept == nil {
		return wire.InvalidData(wire.Required("accept"))
	}
	if *req.Accept {
		s.SetStatus(flow.StatusCompleted)
		return s.Save(ctx)
	}
	err := s.Engine().Store.DecideDeviceAuthorization(ctx, s.Flow.EnvironmentID, st.DeviceCodeHash, store.DeviceDenied, s.Flow.UserID, "", nil)
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.Fail(ctx, "access_denied", "The user denied the device.")
}

// DeviceCodeHash is the device authorization a flow's user confirmed ("":
// none yet).
func DeviceCodeHash(v *flow.View) (string, error) {
	st, err := flow.MethodState[State](v, Name)
	if err != nil {
		return "", err
	}
	return st.DeviceCodeHash, nil
}

// Alphabet is what user codes are made of: RFC 8628 §6.1's advice, letters
// and digits that cannot be mistaken for one another (no vowels, so no
// words; no 0/O, 1/I/L). 8 characters of 27 are 38 bits.
const Alphabet = "BCDFGHJKMNPQRSTVWXZ23456789"

// Normalize is a user code as typed, the way it is looked up: upper case,
// without the separator or spaces.
func Normalize(code string) string {
	code = strings.ToUpper(code)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// HashUserCode is what the store keeps of a (normalized) user code.
func HashUserCode(normalized string) string { return session.HashToken("user_code:" + normalized) }
