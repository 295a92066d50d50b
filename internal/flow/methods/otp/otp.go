// Package otp is the sign-on method of PingOne's MULTI_FACTOR_AUTHENTICATION
// action with one-time passcodes: once an earlier action has signed the
// user on, the user proves one of their MFA devices (DEVICE_SELECTION_REQUIRED
// with device.select, then OTP_REQUIRED with otp.check), as the action's
// device authentication policy allows. A user without a usable device
// registers one during sign-on where the policy lets them pair one
// (DEVICE_REGISTRATION_REQUIRED with device.register, Gatehouse additions),
// or passes (noDevicesMode BYPASS), or is refused (BLOCK). Passcodes are
// single use, kept as the domain's challenges in the method's state, and
// every wrong one counts into the user's MFA lockout (internal/mfa).
//
// Device types the method does not prove itself (FIDO2) belong to
// Factors: the method selects their devices and registers them during
// sign-on through the Factor, which proves them in statuses of its own
// and completes with Proved.
//
// A policy whose MFA action comes before any factor (PingOne's
// passwordless, MFA-only, sign-on policy) makes the action the first
// factor (flow.FirstFactor): it asks for the username (SIGN_ON_REQUIRED,
// user.lookup), then for a device; it then registers nothing, never
// passes a user without a device, and a passcode adds no "mfa".
package otp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "mfa"

// ActionType is the sign-on policy action the method runs.
const ActionType = "MULTI_FACTOR_AUTHENTICATION"

// Bounds of one flow: codes sent (each costs an email or an SMS), the
// spacing of resends to one device, and devices registered.
const (
	maxSends         = 5
	resendGap        = 30 * time.Second
	maxRegistrations = 2
)

// AMR is what a passcode of a device type adds to the sign-on's amr (RFC
// 8176): "otp" for every passcode, "sms" and "tel" for the channel of a
// sent one. Proved adds "mfa" after an earlier factor.
func AMR(deviceType string) []string {
	out := []string{"otp"}
	switch deviceType {
	case mfa.TypeSMS:
		out = append(out, "sms")
	case mfa.TypeVoice:
		out = append(out, "tel")
	}
	return out
}

// A Factor proves MFA devices of its types (FIDO2) in statuses it owns:
// the method hands it a device the user selected, or a device type to
// register during sign-on. A Factor completes the action with Proved.
type Factor interface {
	DeviceTypes() []string
	// Prove asks u to prove device d (ACTIVE, of a type of the Factor's,
	// enabled by pol): it sets its status; the caller saves the flow. An
	// error leaves the choice to the user. usable are the devices u may
	// prove now (Usable), d among them, as the method has just read them.
	Prove(ctx context.Context, s *flow.Step, u *store.User, d *store.MFADevice, usable []store.MFADevice, pol *mfa.Policy) error
	// Enrol registers a device of the Factor's for u (device.register),
	// signed on by an earlier factor and without devices: it sets its
	// status and saves the flow.
	Enrol(ctx context.Context, s *flow.Step, u *store.User, pol *mfa.Policy) error
}

// Usernameless is a Factor that can find the user itself (a discoverable
// FIDO2 credential): when the action asks who the user is, it may offer
// its own way in beside user.lookup, in the same step (it keeps its own
// state; the caller saves).
type Usernameless interface {
	Usernameless(ctx context.Context, s *flow.Step, pol *mfa.Policy) error
}

// Available is a Factor that may be unable to run at all under a device
// authentication policy (FIDO2 without a relying party: a base URL on an
// IP address): its device types then count as disabled by the policy —
// not offered, not registrable, no way in without a username.
type Available interface {
	Available(ctx context.Context, v *flow.View, pol *mfa.Policy) bool
}

// Proved completes the action for u, who has just proven a device with
// amr: "mfa" joins when an earlier factor signed u on in this flow (or the
// session it rides on), and u's count of wrong MFA proofs clears. As the
// first factor (passwordless), the device is how the user authenticated:
// a method may hold the sign-on first, as after a password (an email
// address to verify).
//
// An earlier sign-on counts as a factor only when it was more than MFA
// devices: a session a passcode alone signed on (passwordless) rides into
// later sign-ons, and proving a device again there is one factor twice.
func Proved(ctx context.Context, s *flow.Step, u *store.User, amr []string) error {
	clear := func(tx store.Store) error { return tx.ClearMFAFailures(ctx, u.EnvironmentID, u.ID) }
	if s.SignedOn() != u.ID {
		if err := clear(s.Engine().Store); err != nil {
			return err
		}
		return s.Authenticated(ctx, u, amr...)
	}
	out := slices.Clone(amr)
	if !slices.Contains(out, "mfa") && slices.ContainsFunc(s.SignedOnWith(), otherFactor) {
		out = append(out, "mfa")
	}
	return s.Complete(ctx, u, out, clear)
}

// deviceAMR are the amr values an MFA device's proof gives (passcodes and
// FIDO2 keys), and "mfa", which only they add.
var deviceAMR = []string{"otp", "sms", "tel", "hwk", "swk", "mfa"}

// otherFactor says whether amr value m is a factor other than an MFA
// device (a password, an external identity provider).
func otherFactor(m string) bool { return !slices.Contains(deviceAMR, m) }

// Devices is the MFA domain as the method uses it: *mfa.Service.
type Devices interface {
	Devices(ctx context.Context, envID, userID string) ([]store.MFADevice, error)
	Device(ctx context.Context, envID, userID, deviceID string) (*store.MFADevice, error)
	Challenge(ctx context.Context, u *store.User, d *store.MFADevice, m mfa.MethodPolicy, purpose string) (*mfa.Challenge, error)
	Check(ctx context.Context, u *store.User, d *store.MFADevice, m mfa.MethodPolicy, s *mfa.Settings, c *mfa.Challenge, otp string) error
	Locked(ctx context.Context, envID, userID string) (until time.Time, err error)
	Activate(ctx context.Context, u *store.User, d *store.MFADevice, otp string, s *mfa.Settings) error
	DeleteDevice(ctx context.Context, envID, userID, id string) error
}

// Method is the MULTI_FACTOR_AUTHENTICATION method. Its fields are the
// MFA domain and configuration; a method without them fails the flows
// that reach its action.
type Method struct {
	MFA Devices
	// Register makes u a device of type typ (TOTP, or EMAIL to the
	// user's email address) awaiting activation: mfa.Service.CreateDevice.
	Register func(ctx context.Context, u *store.User, typ string, s *mfa.Settings, m mfa.MethodPolicy) (*store.MFADevice, *mfa.Enrolment, error)
	// Policy is the device authentication policy id names ("" = the
	// environment's default); Settings the environment's MFA settings.
	Policy   func(ctx context.Context, envID, id string) (*mfa.Policy, error)
	Settings func(ctx context.Context, envID string) (*mfa.Settings, error)
	// Sealer seals a new TOTP device's secret in the flow until the
	// device's first code.
	Sealer *secrets.Sealer
	// Factors prove the device types the method does not (FIDO2).
	Factors []Factor
}

// factor is the Factor of device type typ; nil for the method's own.
func (m *Method) factor(typ string) Factor {
	for _, f := range m.Factors {
		if slices.Contains(f.DeviceTypes(), typ) {
			return f
		}
	}
	return nil
}

// State is what the method keeps in a flow.
type State struct {
	// Device is the selected device; Challenge its passcode (single use).
	Device    string         `json:"device,omitempty"`
	Challenge *mfa.Challenge `json:"challenge,omitempty"`
	// Registered is the device registered in this flow, awaiting its
	// first code; Enrolment its TOTP secret and key URI, sealed.
	Registered string `json:"registered,omitempty"`
	Enrolment  []byte `json:"enrolment,omitempty"`
	// Sends, Registrations and Retries count the codes sent, the devices
	// registered and the wrong codes of this flow.
	Sends         int `json:"sends,omitempty"`
	Registrations int `json:"registrations,omitempty"`
	Retries       int `json:"retries,omitempty"`
	// Failures are the wrong codes of each TOTP device in this flow since
	// its last cool-down: a re-select starts a new challenge, and would
	// otherwise start its count at zero, so the device would never cool
	// down (an email or SMS re-select is bounded by maxSends instead).
	Failures map[string]int `json:"failures,omitempty"`
}

func (*Method) Name() string { return Name }

// Statuses: the user has signed on with an earlier factor in all of them.
func (*Method) Statuses() []flow.Status {
	return []flow.Status{
		{Name: wire.StatusDeviceSelectionRequired, Authenticated: true},
		{Name: wire.StatusOTPRequired, Authenticated: true},
		{Name: wire.StatusDeviceRegistrationRequired, Authenticated: true},
	}
}

func (*Method) Actions() []string {
	return []string{wire.ActionDeviceSelect, wire.ActionOTPCheck, wire.ActionDeviceRegister}
}

func (*Method) Begins() []string { return []string{ActionType} }

// BeginStatus: Enter decides for the user; until it has, the devices.
func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusDeviceSelectionRequired }

// ChecksSecret: a passcode is guessed like a password, so the engine's
// failure limits (per address and per user) count wrong ones too.
func (*Method) ChecksSecret(action string) bool { return action == wire.ActionOTPCheck }

// SatisfiedBy: only a session that has signed on with a second factor.
func (*Method) SatisfiedBy(_ *flow.PolicyAction, sess *store.Session) bool {
	return slices.Contains(sess.AMR, "mfa")
}

func (*Method) Offers(v *flow.View) []string {
	switch v.Status() {
	case wire.StatusDeviceSelectionRequired:
		return []string{wire.ActionDeviceSelect}
	case wire.StatusDeviceRegistrationRequired:
		return []string{wire.ActionDeviceRegister}
	case wire.StatusOTPRequired:
		st, err := flow.MethodState[State](v, Name)
		if err == nil && st.Registered != "" {
			// A device being registered: its code, or another type.
			return []string{wire.ActionOTPCheck, wire.ActionDeviceRegister}
		}
		return []string{wire.ActionOTPCheck, wire.ActionDeviceSelect}
	}
	return nil
}

// config is what a step reads: the action's policy and the settings.
type config struct {
	pol *mfa.Policy
	set *mfa.Settings
	// off are the device types the policy enables that a Factor cannot
	// run now (Available): pol has them disabled.
	off []string
}

// Config is the device authentication policy of the flow's action (the
// action's, else the environment's default) and the environment's MFA
// settings, for Factors.
func (m *Method) Config(ctx context.Context, v *flow.View) (*mfa.Policy, *mfa.Settings, error) {
	c, err := m.config(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	return c.pol, c.set, nil
}

func (m *Method) config(ctx context.Context, v *flow.View) (*config, error) {
	if m.MFA == nil || m.Policy == nil || m.Settings == nil {
		return nil, errors.New("otp: the MFA method is not configured")
	}
	id := ""
	if a := v.Action(); a != nil && len(a.Settings.DeviceAuthenticationPolicy) > 0 {
		id = wire.RefID(a.Settings.DeviceAuthenticationPolicy)
	}
	pol, err := m.Policy(ctx, v.Flow.EnvironmentID, id)
	if err != nil {
		return nil, err
	}
	set, err := m.Settings(ctx, v.Flow.EnvironmentID)
	if err != nil {
		return nil, err
	}
	c := &config{pol: pol, set: set}
	for _, f := range m.Factors {
		a, ok := f.(Available)
		if !ok || !slices.ContainsFunc(f.DeviceTypes(), func(t string) bool { return pol.Method(t).Enabled }) || a.Available(ctx, v, pol) {
			continue
		}
		if c.pol == pol {
			// The policy may be the configuration's: edit a copy.
			cp := *pol
			cp.Methods = maps.Clone(pol.Methods)
			c.pol = &cp
		}
		for _, t := range f.DeviceTypes() {
			if mp := c.pol.Methods[t]; mp.Enabled {
				mp.Enabled = false
				c.pol.Methods[t] = mp
				c.off = append(c.off, t)
			}
		}
	}
	return c, nil
}

// Usable are the devices a user may prove now: active, of a type the
// policy enables, in the user's order.
func Usable(devs []store.MFADevice, pol *mfa.Policy) []store.MFADevice { return usable(devs, pol) }

func usable(devs []store.MFADevice, pol *mfa.Policy) []store.MFADevice {
	var out []store.MFADevice
	for _, d := range devs {
		if d.Status == mfa.StatusActive && pol.Method(d.Type).Enabled {
			out = append(out, d)
		}
	}
	return out
}

// holdsOff says whether devs has an active device of a type in off.
func holdsOff(devs []store.MFADevice, off []string) bool {
	return slices.ContainsFunc(devs, func(d store.MFADevice) bool {
		return d.Status == mfa.StatusActive && slices.Contains(off, d.Type)
	})
}

// hasDevices says whether the user has a device other than an enrolment
// a sign-on left awaiting activation: an ACTIVE device of any type (one
// the policy disables too), or one an administrator created awaiting
// activation. Such a user is not "without devices": registering during
// sign-on would let the first factor alone enrol a second one.
func hasDevices(devs []store.MFADevice) bool {
	for i := range devs {
		if !mfa.SignOnPending(&devs[i]) {
			return true
		}
	}
	return false
}

// registrable are the device types a user may register during sign-on:
// TOTP, EMAIL to the user's address, and the Factors' types, where the
// policy enables them and does not disable their pairing, and only for a
// user without devices (hasDevices) whom an earlier factor signed on:
// registering as the first factor would let anyone who knows a username
// enrol a device for it. Enrolments a sign-on left pending are replaced,
// so they take no room.
func (m *Method) registrable(v *flow.View, u *store.User, devs []store.MFADevice, c *config) []string {
	if v.SignedOn() != u.ID {
		return nil
	}
	var more []string
	for _, f := range m.Factors {
		more = append(more, f.DeviceTypes()...)
	}
	return registrable(u, devs, c, more)
}

func registrable(u *store.User, devs []store.MFADevice, c *config, more []string) []string {
	if hasDevices(devs) {
		return nil
	}
	var out []string
	for _, t := range append([]string{mfa.TypeTOTP, mfa.TypeEmail}, more...) {
		mp := c.pol.Method(t)
		if !mp.Enabled || mp.PairingDisabled || (t == mfa.TypeEmail && u.Email == "") {
			continue
		}
		out = append(out, t)
	}
	return out
}

// Enter begins the action for u, signed on by the earlier actions; with
// none (u nil) the action is the first factor, and asks who the user is.
func (m *Method) Enter(ctx context.Context, s *flow.Step, u *store.User) error {
	if u == nil {
		return m.askUser(ctx, s)
	}
	if !u.MFAEnabled {
		// PingOne skips the MFA action for a user whose MFA is disabled;
		// the sign-on stays the first factor's, at its time.
		return s.Pass(ctx, u)
	}
	c, err := m.config(ctx, s.View)
	if err != nil {
		return err
	}
	devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	ok := usable(devs, c.pol)
	if len(ok) == 0 && !holdsOff(devs, c.off) {
		// A user whose key cannot be asked for now (off) is not without
		// devices: a server's configuration does not waive their MFA.
		if v := s.Action(); v != nil && v.Settings.NoDevicesMode == "BYPASS" {
			return s.Pass(ctx, u)
		}
	}
	if s.Silent() {
		// prompt=none: the user would have to act; nothing is sent.
		return nil
	}
	if len(ok) == 0 {
		if len(m.registrable(s.View, u, devs, c)) > 0 {
			// Only a user without devices registers one (hasDevices).
			s.SetStatus(wire.StatusDeviceRegistrationRequired)
			return s.Save(ctx)
		}
		return s.Fail(ctx, "access_denied", noDevices)
	}
	return m.offer(ctx, s, st, u, ok, c)
}

// noDevices is why the flow of a user who cannot prove a device fails.
const noDevices = "The user has no MFA device that the device authentication policy allows, and may not register one."

// askUser is the first factor's first status: SIGN_ON_REQUIRED, where
// user.lookup names the user (flow.FirstFactor) and a Usernameless
// Factor may offer its own way in. prompt=none asks nothing.
func (m *Method) askUser(ctx context.Context, s *flow.Step) error {
	if s.Silent() {
		return nil
	}
	c, err := m.config(ctx, s.View)
	if err != nil {
		return err
	}
	for _, f := range m.Factors {
		if un, ok := f.(Usernameless); ok {
			if err := un.Usernameless(ctx, s, c.pol); err != nil {
				return err
			}
		}
	}
	s.SetStatus(wire.StatusSignOnRequired)
	return s.Save(ctx)
}

// Identify is user.lookup when the action is the first factor: the user
// u names (nil for none) proves a device. Nobody may register one here,
// nor pass without one (noDevicesMode BYPASS, MFA disabled): that would
// sign on with nothing. A username that names nobody, or a user who
// cannot sign on, fails the flow exactly as a user without devices does,
// after the same reads.
func (m *Method) Identify(ctx context.Context, s *flow.Step, _ string, u *store.User) error {
	c, err := m.config(ctx, s.View)
	if err != nil {
		return err
	}
	id := ""
	if u != nil {
		id = u.ID
	}
	devs, err := m.MFA.Devices(ctx, s.Flow.EnvironmentID, id)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	var ok []store.MFADevice
	if u != nil && u.Enabled && u.MFAEnabled && !credential.AccountLocked(u, s.Now) {
		ok = usable(devs, c.pol)
	}
	if len(ok) == 0 {
		return s.Fail(ctx, "access_denied", noDevices)
	}
	s.Flow.UserID = u.ID
	return m.offer(ctx, s, st, u, ok, c)
}

// offer asks u to prove one of the usable devices ok: the policy's device
// selection picks the first at once, or lets the user choose
// (DEVICE_SELECTION_REQUIRED). It saves the flow.
func (m *Method) offer(ctx context.Context, s *flow.Step, st *State, u *store.User, ok []store.MFADevice, c *config) error {
	s.SetStatus(wire.StatusDeviceSelectionRequired)
	first := c.pol.SendsFirst(len(ok))
	if first {
		if until, err := m.MFA.Locked(ctx, u.EnvironmentID, u.ID); err != nil {
			return err
		} else if until.IsZero() {
			// The user's first device gets its passcode at once; a send
			// that fails or is refused leaves the choice to the user (and
			// a retry): the first factor stays accepted.
			if err := m.choose(ctx, s, st, u, &ok[0], ok, c); err != nil {
				s.Engine().Logger().WarnContext(ctx, "the first MFA passcode was not sent", "user", u.ID, "err", err)
				st.Device, st.Challenge = "", nil
				s.SetStatus(wire.StatusDeviceSelectionRequired)
			}
		}
	}
	return s.Save(ctx)
}

// choose selects d, one of the usable devices ok (nil when not read yet),
// and sends its passcode (a TOTP app computes its own), or hands d to its
// Factor. The caller saves the flow.
func (m *Method) choose(ctx context.Context, s *flow.Step, st *State, u *store.User, d *store.MFADevice, ok []store.MFADevice, c *config) error {
	if f := m.factor(d.Type); f != nil {
		if ok == nil {
			devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
			if err != nil {
				return err
			}
			ok = usable(devs, c.pol)
		}
		if err := f.Prove(ctx, s, u, d, ok, c.pol); err != nil {
			return err
		}
		st.Device, st.Challenge = d.ID, nil
		return nil
	}
	mp := c.pol.Method(d.Type)
	if d.Type != mfa.TypeTOTP {
		if st.Challenge != nil && st.Device == d.ID && st.Challenge.SentAt > 0 && !st.Challenge.Used {
			if wait := time.Unix(st.Challenge.SentAt, 0).Add(resendGap).Sub(s.Now); wait > 0 {
				return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: "device.id",
					Message: fmt.Sprintf("A passcode was just sent to this device. Wait %d seconds before asking for another.", int(wait.Seconds())+1)})
			}
		}
		if st.Sends >= maxSends {
			return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: "device.id",
				Message: "Too many passcodes were sent in this sign-on. Start over to get another."})
		}
		undo, err := s.AllowSend(ctx, u)
		if err != nil {
			return err
		}
		ch, err := m.MFA.Challenge(ctx, u, d, mp, mfa.PurposeAuthentication)
		var oe *mfa.OTPError
		if errors.As(err, &oe) {
			undo()
			return refused(oe, s.Now) // the user's MFA or the device is locked
		}
		if err != nil {
			undo()
			s.Engine().Logger().ErrorContext(ctx, "sending an MFA passcode failed", "user", u.ID, "device", d.ID, "err", err)
			return &wire.Error{Status: 503, Code: wire.CodeUnavailable, Message: "The passcode could not be sent. Try again later, or choose another device."}
		}
		if ch.SentAt == 0 {
			ch.SentAt = s.Now.Unix()
		}
		st.Sends++
		st.Challenge = ch
	} else {
		ch, err := m.MFA.Challenge(ctx, u, d, mp, mfa.PurposeAuthentication)
		var oe *mfa.OTPError
		if errors.As(err, &oe) {
			return refused(oe, s.Now)
		}
		if err != nil {
			return err
		}
		ch.Failures = st.Failures[d.ID]
		st.Challenge = ch
	}
	st.Device = d.ID
	s.SetStatus(wire.StatusOTPRequired)
	return nil
}

func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	u, err := s.LoadUser(ctx)
	if err != nil {
		return err
	}
	if !u.Enabled {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidCredentials, Target: "otp", Message: "The user account is disabled."})
	}
	c, err := m.config(ctx, s.View)
	if err != nil {
		return err
	}
	switch action {
	case wire.ActionDeviceSelect:
		return m.selectDevice(ctx, s, st, u, c, body)
	case wire.ActionDeviceRegister:
		return m.register(ctx, s, st, u, c, body)
	}
	return m.check(ctx, s, st, u, c, body)
}

// CheckCompatibility refuses a compatibility (device.select,
// assertion.check) that is none of PingOne's values; absent is fine.
func CheckCompatibility(c *string) error {
	if c != nil && !slices.Contains(wire.Compatibilities, *c) {
		d := wire.InvalidValue("compatibility", "compatibility must be one of "+strings.Join(wire.Compatibilities, ", ")+".")
		d.InnerError = &wire.InnerError{AllowedValues: wire.Compatibilities}
		return wire.InvalidData(d)
	}
	return nil
}

var errUnknownDevice = wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: "device.id",
	Message: "The device is not one of the user's devices that this sign-on accepts."})

// selectDevice is device.select: {"device":{"id":…}}. Selecting the
// device already selected sends a new passcode (PingOne's resend).
func (m *Method) selectDevice(ctx context.Context, s *flow.Step, st *State, u *store.User, c *config, body []byte) error {
	var req struct {
		Device *struct {
			ID *string `json:"id"`
		} `json:"device"`
		// Compatibility is what the browser can do with FIDO2 (PingOne's
		// member of device.select); it chooses nothing here.
		Compatibility *string `json:"compatibility"`
	}
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	if req.Device == nil || req.Device.ID == nil || *req.Device.ID == "" {
		return wire.InvalidData(wire.Required("device.id"))
	}
	if err := CheckCompatibility(req.Compatibility); err != nil {
		return err
	}
	id := *req.Device.ID
	if len(id) > 64 {
		return errUnknownDevice
	}
	d, err := m.MFA.Device(ctx, u.EnvironmentID, u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errUnknownDevice
	}
	if err != nil {
		return err
	}
	if d.Status != mfa.StatusActive || !c.pol.Method(d.Type).Enabled {
		return errUnknownDevice
	}
	if err := m.choose(ctx, s, st, u, d, nil, c); err != nil {
		return err
	}
	return s.Save(ctx)
}

// register is device.register (a Gatehouse addition): {"type":"TOTP"} or
// {"type":"EMAIL"}, a device awaiting its first code, which otp.check
// gives.
func (m *Method) register(ctx context.Context, s *flow.Step, st *State, u *store.User, c *config, body []byte) error {
	req, err := flow.Fields(body, []string{"type"})
	if err != nil {
		return err
	}
	devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	types := m.registrable(s.View, u, devs, c)
	if !slices.Contains(types, req["type"]) {
		d := wire.InvalidValue("type", "The device type cannot be registered here.")
		if len(types) > 0 {
			d.InnerError = &wire.InnerError{AllowedValues: types}
		}
		return wire.InvalidData(d)
	}
	if st.Registrations >= maxRegistrations {
		return wire.InvalidData(wire.InvalidValue("type", "Too many devices were registered in this sign-on. Start over to register another."))
	}
	if until, err := m.MFA.Locked(ctx, u.EnvironmentID, u.ID); err != nil {
		return err
	} else if !until.IsZero() {
		return locked(until, s.Now)
	}
	if f := m.factor(req["type"]); f != nil {
		st.Registrations++
		st.Registered, st.Device, st.Challenge, st.Enrolment = "", "", nil, nil
		return f.Enrol(ctx, s, u, c.pol)
	}
	if m.Register == nil {
		return errors.New("otp: device registration is not configured")
	}
	// The registration is counted and the flow saved before the device is
	// made: of parallel registrations in one flow only the one whose save
	// wins goes on, and the others make no device.
	st.Registrations++
	st.Registered, st.Device, st.Challenge, st.Enrolment = "", "", nil, nil
	s.SetStatus(wire.StatusDeviceRegistrationRequired)
	if err := s.Save(ctx); err != nil {
		return err
	}
	var undo func()
	if req["type"] != mfa.TypeTOTP {
		if st.Sends >= maxSends {
			return wire.InvalidData(wire.InvalidValue("type", "Too many passcodes were sent in this sign-on. Start over to get another."))
		}
		if undo, err = s.AllowSend(ctx, u); err != nil {
			return err
		}
		st.Sends++
	}
	d, enr, err := m.Register(ctx, u, req["type"], c.set, c.pol.Method(req["type"]))
	if err != nil {
		if undo != nil {
			undo()
		}
		var we *wire.Error
		var ie *mfa.InputError
		switch {
		case errors.As(err, &we):
			return err
		case errors.As(err, &ie):
			return wire.InvalidData(wire.InvalidValue("type", "The device cannot be registered: "+ie.Message))
		case errors.Is(err, mfa.ErrTooManyDevices):
			return wire.InvalidData(wire.InvalidValue("type", "The user has as many MFA devices as the MFA settings allow."))
		}
		s.Engine().Logger().ErrorContext(ctx, "registering an MFA device failed", "user", u.ID, "type", req["type"], "err", err)
		return &wire.Error{Status: 503, Code: wire.CodeUnavailable, Message: "The device could not be registered. Try again later."}
	}
	st.Registered, st.Device, st.Challenge, st.Enrolment = d.ID, d.ID, nil, nil
	if enr != nil && m.Sealer != nil {
		b, err := json.Marshal(wire.FlowDeviceProperties{Secret: enr.Secret, KeyURI: enr.KeyURI})
		if err != nil {
			return m.discard(ctx, s, d, err)
		}
		st.Enrolment = m.Sealer.Seal(b, enrolmentAAD(s.Flow, d.ID))
	}
	s.SetStatus(wire.StatusOTPRequired)
	if err := s.Save(ctx); err != nil {
		return m.discard(ctx, s, d, err)
	}
	return nil
}

// discard deletes device d, registered in a step that then failed to
// record it in the flow: nothing else would ever remove it.
func (m *Method) discard(ctx context.Context, s *flow.Step, d *store.MFADevice, cause error) error {
	if err := m.MFA.DeleteDevice(ctx, d.EnvironmentID, d.UserID, d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.Engine().Logger().ErrorContext(ctx, "deleting an unrecorded MFA device failed", "user", d.UserID, "device", d.ID, "err", err)
	}
	return cause
}

func enrolmentAAD(f *store.Flow, deviceID string) string {
	return "flow-mfa-enrolment:" + f.EnvironmentID + "/" + f.ID + "/" + deviceID
}

// check is otp.check: {"otp":"123456"} for the selected device, or the
// first code of the device registered in this flow, which activates it.
func (m *Method) check(ctx context.Context, s *flow.Step, st *State, u *store.User, c *config, body []byte) error {
	req, err := flow.Fields(body, []string{"otp"})
	if err != nil {
		return err
	}
	otp := strings.TrimSpace(req["otp"])
	if len(otp) > 16 {
		return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidOTP, Target: "otp", Message: "The passcode is not correct."})
	}
	d, err := m.MFA.Device(ctx, u.EnvironmentID, u.ID, st.Device)
	if errors.Is(err, store.ErrNotFound) {
		// The device went while the flow waited: choose again.
		*st = State{Sends: st.Sends, Registrations: st.Registrations, Retries: st.Retries, Failures: st.Failures}
		s.SetStatus(wire.StatusDeviceSelectionRequired)
		if err := s.Save(ctx); err != nil {
			return err
		}
		return errUnknownDevice
	}
	if err != nil {
		return err
	}
	if st.Registered == d.ID && d.Status != mfa.StatusActive {
		err = m.MFA.Activate(ctx, u, d, otp, c.set)
	} else if st.Registered == d.ID && (st.Challenge == nil || st.Challenge.DeviceID != d.ID) {
		// The device registered in this flow was activated elsewhere (the
		// user's other sign-on, say): it is a device like any other now,
		// proven after a selection.
		*st = State{Sends: st.Sends, Registrations: st.Registrations, Retries: st.Retries, Failures: st.Failures}
		s.SetStatus(wire.StatusDeviceSelectionRequired)
		if err := s.Save(ctx); err != nil {
			return err
		}
		return wire.InvalidData(wire.Detail{Code: wire.DetailOTPExpired, Target: "otp",
			Message: "The device was activated elsewhere. Select a device to get a passcode."})
	} else {
		if st.Challenge == nil || st.Challenge.DeviceID != d.ID {
			return wire.InvalidData(wire.Detail{Code: wire.DetailOTPExpired, Target: "otp",
				Message: "No passcode is pending for the device. Select the device again to get one."})
		}
		err = m.MFA.Check(ctx, u, d, c.pol.Method(d.Type), c.set, st.Challenge, otp)
	}
	var oe *mfa.OTPError
	if errors.As(err, &oe) {
		justLocked := oe.Reason == mfa.ReasonLocked && st.Challenge != nil && st.Challenge.Used
		RecordCheck(ctx, s, u, d, audit.OTPCheckFailed, oe, justLocked)
		st.Retries++
		if d.Type == mfa.TypeTOTP && st.Challenge != nil && st.Challenge.DeviceID == d.ID {
			if st.Failures == nil {
				st.Failures = map[string]int{}
			}
			st.Failures[d.ID] = st.Challenge.Failures
			if oe.Reason == mfa.ReasonLocked && st.Challenge.Used {
				// The device cools down (or the user's MFA is locked):
				// that spends the count.
				delete(st.Failures, d.ID)
			}
		}
		if oe.Reason == mfa.ReasonExpired || oe.Reason == mfa.ReasonUsed {
			st.Challenge = nil
		}
		if err := s.Save(ctx); err != nil {
			return err
		}
		return refused(oe, s.Now)
	}
	if err != nil {
		return err
	}
	RecordCheck(ctx, s, u, d, audit.OTPCheckSuccess, nil, false)
	return Proved(ctx, s, u, AMR(d.Type))
}

// RecordCheck records the outcome of proving device d (typ, a passcode's
// or a FIDO2 assertion's): refused (oe, with justLocked when this refusal
// locked the user's MFA or the device), or not.
func RecordCheck(ctx context.Context, s *flow.Step, u *store.User, d *store.MFADevice, typ string, oe *mfa.OTPError, justLocked bool) {
	method := flow.MetricOTP
	switch d.Type {
	case mfa.TypeTOTP:
		method = flow.MetricTOTP
	case mfa.TypeFIDO2:
		method = flow.MetricFIDO2
	}
	dev := store.ActivityResource{ID: d.ID, Name: d.Type, Type: audit.ResDevice, EnvironmentID: u.EnvironmentID, PopulationID: u.PopulationID}
	o := flow.Outcome{Type: typ, Method: method, Result: flow.ResultSuccess, User: u, Resources: []store.ActivityResource{dev}}
	if oe != nil {
		o.Result, o.Failure = flow.ResultFailure, "The passcode is not correct."
		if d.Type == mfa.TypeFIDO2 {
			o.Failure = "The assertion was refused."
		}
		switch oe.Reason {
		case mfa.ReasonLocked:
			o.Result, o.Failure = flow.ResultLocked, "Multi-factor authentication is locked."
		case mfa.ReasonExpired, mfa.ReasonUsed:
			o.Failure = "The passcode has expired."
		}
	}
	s.Record(ctx, o)
	if justLocked {
		lock := flow.LockoutMFA
		if d.Type == mfa.TypeFIDO2 {
			lock = flow.MetricFIDO2
		}
		telemetry.Lockouts.WithLabelValues(lock).Inc()
		s.Record(ctx, flow.Outcome{Type: audit.DeviceLocked, User: u, Resources: []store.ActivityResource{dev}})
	}
}

// refused is PingOne's answer to a refused passcode.
func refused(oe *mfa.OTPError, now time.Time) error {
	switch oe.Reason {
	case mfa.ReasonLocked:
		return locked(oe.Until, now)
	case mfa.ReasonExpired, mfa.ReasonUsed:
		return wire.InvalidData(wire.Detail{Code: wire.DetailOTPExpired, Target: "otp",
			Message: "The passcode has expired. Select the device again to get a new one."})
	}
	rem := max(oe.Remaining, 0)
	return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidOTP, Target: "otp",
		Message:    fmt.Sprintf("The passcode is not correct. %d attempt(s) remain.", rem),
		InnerError: &wire.InnerError{FailuresRemaining: &rem}})
}

func locked(until, now time.Time) error {
	secs := max(int(until.Sub(now).Seconds()+0.999), 1)
	return wire.InvalidData(wire.Detail{Code: wire.DetailMFALocked, Target: "otp",
		Message:    fmt.Sprintf("Too many wrong passcodes: multi-factor authentication is locked. Try again in %d seconds.", secs),
		InnerError: &wire.InnerError{SecondsUntilUnlock: &secs}})
}

// Embed shows the user's devices, masked, and what a user without one may
// register: also while a Factor's device is being registered
// (FIDO2_ACTIVATION_REQUIRED offers device.register for another type),
// whose devices the Factor lists.
func (m *Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	status := v.Status()
	registering := status == wire.StatusDeviceRegistrationRequired || status == wire.StatusFIDO2ActivationRequired
	if status != wire.StatusDeviceSelectionRequired && status != wire.StatusOTPRequired && !registering {
		return nil
	}
	u := v.User()
	if u == nil {
		return nil
	}
	c, err := m.config(ctx, v)
	if err != nil {
		return err
	}
	devs, err := m.MFA.Devices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](v, Name)
	if err != nil {
		return err
	}
	if registering {
		out.DeviceRegistration = &wire.FlowDeviceRegistration{Types: m.registrable(v, u, devs, c), Email: mfa.MaskEmail(u.Email)}
		if out.DeviceRegistration.Types == nil {
			out.DeviceRegistration.Types = []string{}
		}
		return nil
	}
	shown := usable(devs, c.pol)
	for _, d := range devs {
		if d.ID == st.Registered && d.Status != mfa.StatusActive {
			shown = append(shown, d)
		}
	}
	out.Devices = make([]wire.FlowDevice, 0, len(shown))
	for _, d := range shown {
		fd := FlowDevice(&d)
		if d.ID == st.Device {
			fd.UserRetries = st.Retries
		}
		if d.ID == st.Registered && d.Status != mfa.StatusActive && len(st.Enrolment) > 0 && m.Sealer != nil {
			b, err := m.Sealer.Open(st.Enrolment, enrolmentAAD(v.Flow, d.ID))
			if err != nil {
				return err
			}
			var p wire.FlowDeviceProperties
			if err := json.Unmarshal(b, &p); err != nil {
				return err
			}
			fd.Properties = &p
		}
		out.Devices = append(out.Devices, fd)
	}
	return nil
}

// FlowDevice is device d as a flow lists it: its email address or phone
// number masked.
func FlowDevice(d *store.MFADevice) wire.FlowDevice {
	return wire.FlowDevice{ID: d.ID, Type: d.Type, Status: d.Status, Nickname: d.Nickname,
		Email: mfa.MaskEmail(d.Email), Phone: mfa.MaskPhone(d.Phone)}
}

// Decorate names the device a passcode is pending for.
func (m *Method) Decorate(ctx context.Context, v *flow.View, out *wire.Flow) error {
	switch v.Status() {
	case wire.StatusOTPRequired:
		st, err := flow.MethodState[State](v, Name)
		if err != nil {
			return err
		}
		if st.Device != "" {
			out.SelectedDevice = &wire.Ref{ID: st.Device}
		}
		fallthrough
	case wire.StatusDeviceSelectionRequired:
		no := false
		out.BypassAllowed = &no
	}
	return nil
}
