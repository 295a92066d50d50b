// Package fido2 is the sign-on method of FIDO2 devices (passkeys and
// security keys) in PingOne's MULTI_FACTOR_AUTHENTICATION action: a
// Factor of the MFA method (internal/flow/methods/otp), which selects the
// devices and hands FIDO2 ones to it. A FIDO2 device is proven in
// ASSERTION_REQUIRED with assertion.check; one registered during sign-on
// is activated in FIDO2_ACTIVATION_REQUIRED with device.activate (a
// Gatehouse addition); and where the action is the first factor and the
// FIDO2 policy makes discoverable credentials (passkeys), a passkey signs
// on in SIGN_ON_REQUIRED without a username (a Gatehouse addition).
//
// The WebAuthn ceremonies are internal/fido's. Their sessions live in
// this method's flow state: bound to the flow (another flow's challenge is
// not in it), single use (dropped before an answer is verified; a refused
// answer gets a fresh challenge) and expiring (the FIDO2 policy's user
// presence timeout). A refused assertion counts into the user's MFA
// lockout and the device's failure count, as a wrong passcode does.
package fido2

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "fido2"

// maxCredentialBytes bounds an assertion or attestation: a packed
// attestation with its certificates fits many times over.
const maxCredentialBytes = 12 << 10

// Devices is the MFA domain as the method uses it: *mfa.Service.
type Devices interface {
	Devices(ctx context.Context, envID, userID string) ([]store.MFADevice, error)
	Device(ctx context.Context, envID, userID, deviceID string) (*store.MFADevice, error)
	CreateDevice(ctx context.Context, u *store.User, in mfa.DeviceInput, s *mfa.Settings, m mfa.MethodPolicy) (*store.MFADevice, *mfa.Enrolment, error)
	DeleteDevice(ctx context.Context, envID, userID, id string) error
	Locked(ctx context.Context, envID, userID string) (time.Time, error)
	Blocked(ctx context.Context, u *store.User, d *store.MFADevice) error
	Failed(ctx context.Context, u *store.User, d *store.MFADevice, m mfa.MethodPolicy, s *mfa.Settings, c *mfa.Challenge) error
}

// Method is the FIDO2 method. A method without its fields fails the
// flows that reach it.
type Method struct {
	MFA Devices
	// Config is the device authentication policy of the flow's action and
	// the MFA settings: the MFA method's (otp.Method.Config).
	Config func(ctx context.Context, v *flow.View) (*mfa.Policy, *mfa.Settings, error)
	// FIDO2Policy is the FIDO2 policy id names ("" = the environment's
	// default); store.ErrNotFound when there is none.
	FIDO2Policy func(ctx context.Context, envID, id string) (*wire.FIDO2Policy, error)
}

// State is what the method keeps in a flow.
type State struct {
	// Device is the device being proven or registered.
	Device string `json:"device,omitempty"`
	// Session is the ceremony in progress, and Options what the client
	// was given to answer it.
	Session *fido.Session `json:"session,omitempty"`
	Options string        `json:"options,omitempty"`
	// Others: the user has other devices to select instead.
	Others bool `json:"others,omitempty"`
	// Failures are the refused assertions of each device in this flow
	// since its last cool-down (a new challenge must not reset them).
	Failures map[string]int `json:"failures,omitempty"`
}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{
		{Name: wire.StatusAssertionRequired, Authenticated: true},
		{Name: wire.StatusFIDO2ActivationRequired, Authenticated: true},
	}
}

func (*Method) Actions() []string {
	return []string{wire.ActionAssertionCheck, wire.ActionDeviceActivate}
}

// ChecksSecret: an assertion or attestation answers a challenge as a
// passcode does; the engine's failure limits count refused ones.
func (*Method) ChecksSecret(string) bool { return true }

// DeviceTypes: the Factor's device type.
func (*Method) DeviceTypes() []string { return []string{mfa.TypeFIDO2} }

func (*Method) Offers(v *flow.View) []string {
	st, err := flow.MethodState[State](v, Name)
	if err != nil {
		return nil
	}
	switch v.Status() {
	case wire.StatusAssertionRequired:
		if st.Others {
			return []string{wire.ActionAssertionCheck, wire.ActionDeviceSelect}
		}
		return []string{wire.ActionAssertionCheck}
	case wire.StatusFIDO2ActivationRequired:
		// The device being registered, or another type.
		return []string{wire.ActionDeviceActivate, wire.ActionDeviceRegister}
	case wire.StatusSignOnRequired:
		if usernameless(st.Session) {
			return []string{wire.ActionAssertionCheck}
		}
	}
	return nil
}

// usernameless says whether sess is a passkey sign-on without a username.
func usernameless(sess *fido.Session) bool {
	return sess != nil && sess.Ceremony == fido.CeremonyAssertion && sess.UserID == ""
}

// ceremony is what a step needs to run a ceremony: the FIDO2 policy of
// the device authentication policy and the environment's relying party
// under it.
type ceremony struct {
	svc *fido.Service
	pol *fido.Policy
	rp  fido.RP
}

func (m *Method) ceremony(ctx context.Context, s *flow.Step, pol *mfa.Policy) (*ceremony, error) {
	fp, rp, err := m.relyingParty(ctx, s.View, pol)
	if err != nil {
		return nil, err
	}
	// The step's clock: a challenge expires by the flow's time.
	now := s.Now
	return &ceremony{svc: &fido.Service{Store: s.Engine().Store, Now: func() time.Time { return now }}, pol: fp, rp: rp}, nil
}

// relyingParty is the FIDO2 policy of the device authentication policy
// and the environment's relying party under it; a *fido.Error's wire
// error when there is none to be had.
func (m *Method) relyingParty(ctx context.Context, v *flow.View, pol *mfa.Policy) (*fido.Policy, fido.RP, error) {
	if m.MFA == nil || m.Config == nil || m.FIDO2Policy == nil {
		return nil, fido.RP{}, errors.New("fido2: the FIDO2 method is not configured")
	}
	env := v.Flow.EnvironmentID
	id := pol.Method(mfa.TypeFIDO2).FIDO2PolicyID
	w, err := m.FIDO2Policy(ctx, env, id)
	if errors.Is(err, store.ErrNotFound) && id != "" {
		// The policy names a FIDO2 policy deleted since: the default runs.
		w, err = m.FIDO2Policy(ctx, env, "")
	}
	if err != nil {
		return nil, fido.RP{}, err
	}
	fp := fido.PolicyOf(w)
	name := ""
	if e, err := v.Engine().Config.Environment(ctx, env); err == nil {
		name = e.Name
	}
	rp, err := fido.NewRP(v.Engine().AuthPath, fp, name)
	if err != nil {
		return nil, fido.RP{}, fido.WireError(err)
	}
	return fp, rp, nil
}

// Available says whether FIDO2 can run under pol at all: not without a
// relying party (a base URL on an IP address, with the FIDO2 policy
// leaving the relying party to Gatehouse). The MFA method then treats
// FIDO2 as disabled, so a sign-on never stops at a key that cannot
// answer. Another failure (the store) is left to the ceremony to report.
func (m *Method) Available(ctx context.Context, v *flow.View, pol *mfa.Policy) bool {
	_, _, err := m.relyingParty(ctx, v, pol)
	var we *wire.Error
	if errors.As(err, &we) {
		v.Engine().Logger().DebugContext(ctx, "FIDO2 is not offered: no relying party", "environment", v.Flow.EnvironmentID, "err", err)
		return false
	}
	return true
}

// Prove asks u for an assertion of device d (ASSERTION_REQUIRED). The
// caller saves the flow.
func (m *Method) Prove(ctx context.Context, s *flow.Step, u *store.User, d *store.MFADevice, usable []store.MFADevice, pol *mfa.Policy) error {
	c, err := m.ceremony(ctx, s, pol)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	if err := m.begin(ctx, c, st, u, d); err != nil {
		return err
	}
	st.Others = len(usable) > 1
	// The step's answer lists them (Embed): no need to read them again.
	s.Hand(handedUsable, usable)
	s.SetStatus(wire.StatusAssertionRequired)
	return nil
}

// handedUsable keys the usable devices Prove hands the rendering of its
// step's answer.
const handedUsable = "fido2.usable"

// begin starts an assertion of d (u's), or with d nil a passkey sign-on
// without a username.
func (m *Method) begin(ctx context.Context, c *ceremony, st *State, u *store.User, d *store.MFADevice) error {
	var devs []store.MFADevice
	if d != nil {
		devs = []store.MFADevice{*d}
	}
	opts, sess, err := c.svc.BeginAssertion(ctx, u, devs, c.pol, c.rp)
	if err != nil {
		return fido.WireError(err)
	}
	if prev := st.Session; prev != nil && prev.Ceremony == sess.Ceremony {
		sess.Replaced = prev.Challenge
	}
	st.Session, st.Options, st.Device = sess, string(opts), ""
	if d != nil {
		st.Device = d.ID
	}
	return nil
}

// Usernameless offers a passkey sign-on without a username beside
// user.lookup, where the device authentication policy enables FIDO2 and
// its FIDO2 policy makes discoverable credentials. The caller saves.
func (m *Method) Usernameless(ctx context.Context, s *flow.Step, pol *mfa.Policy) error {
	if !pol.Method(mfa.TypeFIDO2).Enabled {
		return nil
	}
	c, err := m.ceremony(ctx, s, pol)
	if err != nil {
		return err
	}
	if c.pol.ResidentKey != fido.Preferred && c.pol.ResidentKey != fido.Required {
		return nil
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	return m.begin(ctx, c, st, nil, nil)
}

// Enrol registers a FIDO2 device for u (device.register {"type":"FIDO2"}):
// the device awaits activation, and FIDO2_ACTIVATION_REQUIRED shows the
// options to create its credential with. It saves the flow.
func (m *Method) Enrol(ctx context.Context, s *flow.Step, u *store.User, pol *mfa.Policy) error {
	c, err := m.ceremony(ctx, s, pol)
	if err != nil {
		return err
	}
	_, set, err := m.Config(ctx, s.View)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	opts, sess, err := c.svc.BeginRegistration(ctx, u, devs, c.pol, c.rp)
	if err != nil {
		return fido.WireError(err)
	}
	d, _, err := m.MFA.CreateDevice(ctx, u, mfa.DeviceInput{Type: mfa.TypeFIDO2, Status: mfa.StatusActivationRequired, SignOn: true}, set, pol.Method(mfa.TypeFIDO2))
	var ie *mfa.InputError
	switch {
	case errors.As(err, &ie):
		return wire.InvalidData(wire.InvalidValue("type", "The device cannot be registered: "+ie.Message))
	case errors.Is(err, mfa.ErrTooManyDevices):
		return wire.InvalidData(wire.InvalidValue("type", "The user has as many MFA devices as the MFA settings allow."))
	case err != nil:
		return err
	}
	st.Device, st.Session, st.Options, st.Others = d.ID, sess, string(opts), false
	s.SetStatus(wire.StatusFIDO2ActivationRequired)
	if err := s.Save(ctx); err != nil {
		// Nothing else would ever remove the device.
		if derr := m.MFA.DeleteDevice(ctx, d.EnvironmentID, d.UserID, d.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			s.Engine().Logger().ErrorContext(ctx, "deleting an unrecorded FIDO2 device failed", "user", d.UserID, "device", d.ID, "err", derr)
		}
		return err
	}
	return nil
}

// answer is the body of assertion.check and device.activate: the origin
// the page runs at, and the browser's PublicKeyCredential (a JSON string,
// as PingOne takes it, or the object).
type answer struct {
	Origin        *string         `json:"origin"`
	Assertion     json.RawMessage `json:"assertion"`
	Attestation   json.RawMessage `json:"attestation"`
	Compatibility *string         `json:"compatibility"`
}

func readAnswer(body []byte, credential string) (*answer, []byte, error) {
	var req answer
	if err := flow.Decode(body, &req); err != nil {
		return nil, nil, err
	}
	cred := req.Assertion
	if credential == "attestation" {
		cred = req.Attestation
	}
	var ds []wire.Detail
	if req.Origin == nil || *req.Origin == "" {
		ds = append(ds, wire.Required("origin"))
	}
	if s := string(cred); s == "" || s == "null" || s == `""` {
		ds = append(ds, wire.Required(credential))
	} else if len(cred) > maxCredentialBytes {
		ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: credential, Message: credential + " is too long."})
	}
	if len(ds) > 0 {
		return nil, nil, wire.InvalidData(ds...)
	}
	if len(*req.Origin) > flow.MaxFieldBytes {
		return nil, nil, wire.InvalidData(wire.Detail{Code: wire.DetailSizeLimit, Target: "origin", Message: "origin is too long."})
	}
	if err := otp.CheckCompatibility(req.Compatibility); err != nil {
		return nil, nil, err
	}
	return &req, cred, nil
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	if action == wire.ActionAssertionCheck && s.Status() == wire.StatusSignOnRequired {
		return m.signOn(ctx, s, st, body)
	}
	u, err := s.LoadUser(ctx)
	if err != nil {
		return err
	}
	target := "assertion"
	if action == wire.ActionDeviceActivate {
		target = "attestation"
	}
	if !u.Enabled {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidCredentials, Target: target, Message: "The user account is disabled."})
	}
	if m.Config == nil {
		return errors.New("fido2: the FIDO2 method is not configured")
	}
	pol, set, err := m.Config(ctx, s.View)
	if err != nil {
		return err
	}
	c, err := m.ceremony(ctx, s, pol)
	if err != nil {
		return err
	}
	if action == wire.ActionDeviceActivate {
		return m.activate(ctx, s, st, c, u, pol, body)
	}
	return m.check(ctx, s, st, c, u, pol, set, body)
}

var errNoDevice = wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: "device.id",
	Message: "The device is not one of the user's devices that this sign-on accepts. Select a device again."})

// check is assertion.check in ASSERTION_REQUIRED: an assertion of the
// selected device.
func (m *Method) check(ctx context.Context, s *flow.Step, st *State, c *ceremony, u *store.User, pol *mfa.Policy, set *mfa.Settings, body []byte) error {
	req, cred, err := readAnswer(body, "assertion")
	if err != nil {
		return err
	}
	d, err := m.MFA.Device(ctx, u.EnvironmentID, u.ID, st.Device)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.Status != mfa.StatusActive || !pol.Method(d.Type).Enabled)) {
		// The device went (or the policy no longer takes it) while the
		// flow waited: choose again.
		*st = State{Failures: st.Failures}
		s.SetStatus(wire.StatusDeviceSelectionRequired)
		if err := s.Save(ctx); err != nil {
			return err
		}
		return errNoDevice
	}
	if err != nil {
		return err
	}
	var oe *mfa.OTPError
	if err := m.MFA.Blocked(ctx, u, d); errors.As(err, &oe) {
		otp.RecordCheck(ctx, s, u, d, audit.AssertionCheckFailed, oe, false)
		return locked(oe.Until, s.Now)
	} else if err != nil {
		return err
	}
	sess := st.Session
	if sess == nil || sess.UserID != u.ID {
		sess = nil
	}
	got, ferr := c.svc.FinishAssertion(ctx, u.EnvironmentID, sess, *req.Origin, cred, c.pol, c.rp)
	var fe *fido.Error
	if errors.As(ferr, &fe) {
		// The challenge is spent either way: a fresh one for the next try.
		if err := m.begin(ctx, c, st, u, d); err != nil {
			return err
		}
		if fe.Kind == fido.KindReplay {
			// The challenge was answered, by a good assertion: this post
			// lost a race with another of the same answer (a double
			// click), or replays one. Neither is a guess at anything, so
			// it is no failed attempt: counting it would lock the user
			// out for posting their own assertion twice.
			if err := s.Save(ctx); err != nil {
				return err
			}
			return refused(ferr, -1)
		}
		mp := pol.Method(mfa.TypeFIDO2)
		ch := &mfa.Challenge{DeviceID: d.ID, Failures: st.Failures[d.ID]}
		counted := m.MFA.Failed(ctx, u, d, mp, set, ch)
		if st.Failures == nil {
			st.Failures = map[string]int{}
		}
		st.Failures[d.ID] = ch.Failures
		if ch.Used {
			delete(st.Failures, d.ID) // the device cools down: that spends the count
		}
		if err := s.Save(ctx); err != nil {
			return err
		}
		if errors.As(counted, &oe) {
			otp.RecordCheck(ctx, s, u, d, audit.AssertionCheckFailed, oe, oe.Reason == mfa.ReasonLocked && ch.Used)
			if oe.Reason == mfa.ReasonLocked {
				return locked(oe.Until, s.Now)
			}
			return refused(ferr, oe.Remaining)
		}
		if counted != nil {
			return counted
		}
		otp.RecordCheck(ctx, s, u, d, audit.AssertionCheckFailed, &mfa.OTPError{Reason: mfa.ReasonInvalid}, false)
		return refused(ferr, -1)
	}
	if ferr != nil {
		return ferr
	}
	otp.RecordCheck(ctx, s, u, d, audit.AssertionCheckSuccess, nil, false)
	return otp.Proved(ctx, s, u, amr(got, sess))
}

// signOn is assertion.check in SIGN_ON_REQUIRED: a passkey names its user.
// Whatever is refused (an unknown credential, a user who may not sign on
// with it), the answer is the same and a fresh challenge follows.
func (m *Method) signOn(ctx context.Context, s *flow.Step, st *State, body []byte) error {
	req, cred, err := readAnswer(body, "assertion")
	if err != nil {
		return err
	}
	if m.Config == nil {
		return errors.New("fido2: the FIDO2 method is not configured")
	}
	pol, _, err := m.Config(ctx, s.View)
	if err != nil {
		return err
	}
	c, err := m.ceremony(ctx, s, pol)
	if err != nil {
		return err
	}
	sess := st.Session
	if !usernameless(sess) || !pol.Method(mfa.TypeFIDO2).Enabled {
		sess = nil
	}
	got, ferr := c.svc.FinishAssertion(ctx, s.Flow.EnvironmentID, sess, *req.Origin, cred, c.pol, c.rp)
	var u *store.User
	if ferr == nil {
		u, ferr = m.signOnUser(ctx, s, got)
	}
	var fe *fido.Error
	if errors.As(ferr, &fe) {
		if pol.Method(mfa.TypeFIDO2).Enabled {
			if err := m.begin(ctx, c, st, nil, nil); err != nil {
				return err
			}
		} else {
			// FIDO2 was turned off since: no more passkey tries.
			*st = State{}
		}
		if err := s.Save(ctx); err != nil {
			return err
		}
		s.Record(ctx, flow.Outcome{Type: audit.AssertionCheckFailed, Method: flow.MetricFIDO2, Result: flow.ResultFailure,
			Failure: "The assertion was refused."})
		return refused(ferr, -1)
	}
	if ferr != nil {
		return ferr
	}
	s.Flow.UserID = u.ID
	otp.RecordCheck(ctx, s, u, got, audit.AssertionCheckSuccess, nil, false)
	return otp.Proved(ctx, s, u, amr(got, sess))
}

var errCannotSignOn = &fido.Error{Reason: wire.DetailInvalidValue, Target: "assertion", Kind: fido.KindUnknownCredential,
	Message: "The credential is not one of the user's FIDO2 devices."}

// signOnUser is the user a verified passkey names, if they may sign on
// with it: enabled, not locked, MFA on, FIDO2 enabled.
func (m *Method) signOnUser(ctx context.Context, s *flow.Step, d *store.MFADevice) (*store.User, error) {
	u, err := s.Engine().Store.GetUser(ctx, s.Flow.EnvironmentID, d.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errCannotSignOn
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled || !u.MFAEnabled || credential.AccountLocked(u, s.Now) {
		return nil, errCannotSignOn
	}
	var oe *mfa.OTPError
	if err := m.MFA.Blocked(ctx, u, d); errors.As(err, &oe) {
		return nil, errCannotSignOn
	} else if err != nil {
		return nil, err
	}
	return u, nil
}

// activate is device.activate: the attestation of the device registered
// in this flow, which activates it and signs the user on with it.
func (m *Method) activate(ctx context.Context, s *flow.Step, st *State, c *ceremony, u *store.User, pol *mfa.Policy, body []byte) error {
	req, cred, err := readAnswer(body, "attestation")
	if err != nil {
		return err
	}
	sess := st.Session
	if sess == nil || sess.Ceremony != fido.CeremonyRegistration || sess.UserID != u.ID {
		sess = nil
	}
	var out store.MFADevice
	gone := false
	ferr := s.Engine().Store.Tx(ctx, func(tx store.Store) error {
		d, err := tx.GetMFADevice(ctx, u.EnvironmentID, u.ID, st.Device)
		if errors.Is(err, store.ErrNotFound) || (err == nil && d.Status != mfa.StatusActivationRequired) {
			gone = true
			return nil
		}
		if err != nil {
			return err
		}
		svc := *c.svc
		svc.Store = tx
		if err := svc.FinishRegistration(ctx, u, d, sess, *req.Origin, cred, c.pol, c.rp); err != nil {
			return err
		}
		if err := tx.UpdateMFADevice(ctx, d); err != nil {
			return err
		}
		out = *d
		return nil
	})
	if gone {
		// The device went, or was activated elsewhere: register again.
		*st = State{Failures: st.Failures}
		s.SetStatus(wire.StatusDeviceRegistrationRequired)
		if err := s.Save(ctx); err != nil {
			return err
		}
		return wire.InvalidData(wire.InvalidValue("attestation", "The device being registered is gone or was activated elsewhere. Register a device again."))
	}
	var fe *fido.Error
	if errors.Is(ferr, store.ErrConflict) {
		ferr = &fido.Error{Reason: wire.DetailInvalidValue, Target: "attestation", Kind: fido.KindDuplicate,
			Message: "The credential is already registered to a FIDO2 device."}
	}
	if errors.As(ferr, &fe) {
		// A fresh challenge for the next try, for the same device.
		devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
		if err != nil {
			return err
		}
		opts, next, err := c.svc.BeginRegistration(ctx, u, devs, c.pol, c.rp)
		if err != nil {
			return fido.WireError(err)
		}
		st.Session, st.Options = next, string(opts)
		if err := s.Save(ctx); err != nil {
			return err
		}
		return fido.WireError(ferr)
	}
	if ferr != nil {
		return ferr
	}
	return otp.Proved(ctx, s, u, registered(&out))
}

// amr is what an assertion of device d adds to the sign-on's amr (RFC
// 8176; PingOne documents none): keyAMR, with the user verified when the
// ceremony required it, which the authenticator then did.
func amr(d *store.MFADevice, sess *fido.Session) []string {
	return keyAMR(d, sess != nil && sess.UserVerification == "required")
}

// registered is the amr of a device just registered: keyAMR, with the
// user verified as its attestation was signed.
func registered(d *store.MFADevice) []string {
	c := fido.CredentialOf(d)
	return keyAMR(d, c != nil && c.UserVerified)
}

// keyAMR is "hwk" for a device-bound key, "swk" for a synced passkey
// (backup eligible), and "mfa" when the user was verified: a key and a
// PIN or biometric are two factors.
func keyAMR(d *store.MFADevice, verified bool) []string {
	out := []string{"hwk"}
	if c := fido.CredentialOf(d); c != nil && c.BackupEligible {
		out[0] = "swk"
	}
	if verified {
		out = append(out, "mfa")
	}
	return out
}

// refused is PingOne's answer to a refused ceremony, with the attempts
// left before a lock when they are counted (remaining ≥ 0).
func refused(err error, remaining int) error {
	out := fido.WireError(err)
	var we *wire.Error
	if remaining >= 0 && errors.As(out, &we) && len(we.Details) == 1 {
		rem := remaining
		we.Details[0].InnerError = &wire.InnerError{FailuresRemaining: &rem}
	}
	return out
}

func locked(until, now time.Time) error {
	secs := max(int(until.Sub(now).Seconds()+0.999), 1)
	return wire.InvalidData(wire.Detail{Code: wire.DetailMFALocked, Target: "assertion",
		Message:    "Too many failed attempts: multi-factor authentication is locked. Try again later.",
		InnerError: &wire.InnerError{SecondsUntilUnlock: &secs}})
}

// Embed lists the user's devices where one is proven or registered: as
// the step just run read them, when it did (Prove).
func (m *Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	status := v.Status()
	if status != wire.StatusAssertionRequired && status != wire.StatusFIDO2ActivationRequired {
		return nil
	}
	u := v.User()
	if u == nil || m.MFA == nil || m.Config == nil {
		return nil
	}
	st, err := flow.MethodState[State](v, Name)
	if err != nil {
		return err
	}
	var shown []store.MFADevice
	if status == wire.StatusFIDO2ActivationRequired {
		// Only the device being registered.
		d, err := m.MFA.Device(ctx, u.EnvironmentID, u.ID, st.Device)
		switch {
		case err == nil:
			shown = []store.MFADevice{*d}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	} else if devs, handed := v.Handed(handedUsable).([]store.MFADevice); handed {
		shown = devs
	} else {
		pol, _, err := m.Config(ctx, v)
		if err != nil {
			return err
		}
		devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
		if err != nil {
			return err
		}
		shown = otp.Usable(devs, pol)
	}
	out.Devices = make([]wire.FlowDevice, 0, len(shown))
	for i := range shown {
		fd := otp.FlowDevice(&shown[i])
		if fd.ID == st.Device {
			fd.UserRetries = st.Failures[fd.ID]
		}
		out.Devices = append(out.Devices, fd)
	}
	return nil
}

// Decorate shows the options of the ceremony in progress, and the device
// an assertion is asked of.
func (m *Method) Decorate(_ context.Context, v *flow.View, out *wire.Flow) error {
	st, err := flow.MethodState[State](v, Name)
	if err != nil {
		return err
	}
	switch v.Status() {
	case wire.StatusAssertionRequired:
		out.SelectedDevice = &wire.Ref{ID: st.Device}
		out.PublicKeyCredentialRequestOptions = st.Options
	case wire.StatusSignOnRequired:
		if usernameless(st.Session) {
			out.PublicKeyCredentialRequestOptions = st.Options
		}
	case wire.StatusFIDO2ActivationRequired:
		out.PublicKeyCredentialCreationOptions = st.Options
	}
	return nil
}
