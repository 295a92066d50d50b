package deviceauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// state is a device authentication's data: the policy it runs (a
// snapshot, as a flow keeps its sign-on policy), the selected device, the
// one outstanding passcode challenge and, once FAILED, why.
type state struct {
	Policy    mfa.Policy      `json:"policy"`
	DeviceID  string          `json:"deviceId,omitempty"`
	Challenge *mfa.Challenge  `json:"challenge,omitempty"`
	Error     *wire.FlowError `json:"error,omitempty"`
}

// ResendSpacing is how long a device's passcode stands before
// device.select of the same device sends another, as in sign-on flows.
const ResendSpacing = 30 * time.Second

// maxIDBytes bounds an id a body names: ids are UUIDs, and a longer value
// names nothing.
const maxIDBytes = 128

// start is POST /{envId}/deviceAuthentications: the user (and policy and
// device) of the body, then the first status. Nothing is written when it
// is refused; a passcode goes out before the row is written, so a send
// that fails leaves nothing behind.
func (s *Service) start(w http.ResponseWriter, r *http.Request, c *caller) error {
	if mt := mediaType(r); mt != "application/json" {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	var in wire.DeviceAuthenticationRequest
	if err := readBody(w, r, &in); err != nil {
		return err
	}
	if err := checkStart(&in); err != nil {
		return err
	}
	ctx, now := r.Context(), s.now()
	envID := c.env.ID
	if err := s.Limits.start(ctx, now); err != nil {
		return err
	}
	u, err := s.Store.GetUser(ctx, envID, in.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		return wire.NotFound("The user was not found.")
	} else if err != nil {
		return err
	}
	if !u.Enabled {
		return wire.InvalidData(wire.InvalidValue("user.id", "The user is disabled."))
	}
	if !u.MFAEnabled {
		return wire.InvalidData(wire.InvalidValue("user.id", "Multi-factor authentication is not enabled for the user."))
	}
	if err := s.refuseLocked(ctx, envID, u.ID, now); err != nil {
		return err
	}
	policyID := ""
	if in.Policy != nil {
		policyID = in.Policy.ID
	}
	p, err := s.policy(ctx, envID, policyID)
	if errors.Is(err, store.ErrNotFound) {
		return wire.NotFound("The device authentication policy was not found.")
	} else if err != nil {
		return err
	}
	usable, err := s.usableDevices(ctx, u, p)
	if err != nil {
		return err
	}
	if len(usable) == 0 {
		return wire.InvalidData(wire.Detail{Code: DetailNoUsableDevices, Target: "user.id",
			Message: "The user has no device that the device authentication policy allows."})
	}
	st := state{Policy: *p}
	status := StatusDeviceSelectionRequired
	var dev *store.MFADevice
	switch {
	case in.SelectedDevice != nil:
		if dev, err = s.pick(ctx, u, p, in.SelectedDevice.ID, "selectedDevice.id"); err != nil {
			return err
		}
	case p.SendsFirst(len(usable)):
		dev = &usable[0]
	}
	if dev != nil {
		if st.Challenge, err = s.challenge(ctx, u, dev, p, now); err != nil {
			return err
		}
		st.DeviceID, status = dev.ID, StatusOTPRequired
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	d := &store.DeviceAuthentication{ID: uuid.NewString(), EnvironmentID: envID, ApplicationID: c.appID, UserID: u.ID,
		Status: status, Version: 1, Data: data, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(Idle)}
	if err := s.Store.CreateDeviceAuthentication(ctx, d); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			// The user or the application went while this ran.
			return wire.NotFound("The user was not found.")
		}
		return err
	}
	return s.write(ctx, w, http.StatusCreated, d, &st, usable)
}

// checkStart checks the body's shape before anything is read.
func checkStart(in *wire.DeviceAuthenticationRequest) error {
	var ds []wire.Detail
	if in.User == nil || in.User.ID == "" {
		ds = append(ds, wire.Required("user.id"))
	} else if len(in.User.ID) > maxIDBytes {
		ds = append(ds, wire.InvalidValue("user.id", "The value is not an id."))
	}
	if in.Policy != nil && len(in.Policy.ID) > maxIDBytes {
		ds = append(ds, wire.InvalidValue("policy.id", "The value is not an id."))
	}
	if sd := in.SelectedDevice; sd != nil {
		switch {
		case sd.OneTime != nil:
			ds = append(ds, wire.InvalidValue("selectedDevice.oneTime", "One-time devices are not supported: select one of the user's devices by its id."))
		case sd.ID == "":
			ds = append(ds, wire.Required("selectedDevice.id"))
		case len(sd.ID) > maxIDBytes:
			ds = append(ds, wire.InvalidValue("selectedDevice.id", "The value is not an id."))
		}
	}
	if len(ds) > 0 {
		return wire.InvalidData(ds...)
	}
	return nil
}

// read is GET /{envId}/deviceAuthentications/{id}.
func (s *Service) read(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, st, err := s.load(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(r.Context(), w, http.StatusOK, d, st)
}

// load reads the path's device authentication for the caller: one of
// another environment, another application's, or one that expired is
// not found, as an expired flow is.
func (s *Service) load(ctx context.Context, c *caller, id string) (*store.DeviceAuthentication, *state, error) {
	if len(id) > maxIDBytes {
		return nil, nil, wire.NotFound("")
	}
	d, err := s.Store.GetDeviceAuthentication(ctx, c.env.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, wire.NotFound("")
	} else if err != nil {
		return nil, nil, err
	}
	if d.ApplicationID != c.appID || !s.now().Before(d.ExpiresAt) {
		return nil, nil, wire.NotFound("")
	}
	var st state
	if err := json.Unmarshal(d.Data, &st); err != nil {
		return nil, nil, fmt.Errorf("device authentication %s: %w", d.ID, err)
	}
	return d, &st, nil
}

// allowed are the actions each status takes.
var allowed = map[string][]string{
	StatusDeviceSelectionRequired: {ActionDeviceSelect},
	StatusOTPRequired:             {ActionDeviceSelect, ActionOTPCheck, ActionCancel},
}

// step is POST /{envId}/deviceAuthentications/{id}: the action its media
// type names, if its status takes it.
func (s *Service) step(w http.ResponseWriter, r *http.Request, c *caller) error {
	act := actionOf(mediaType(r))
	if !slices.Contains([]string{ActionDeviceSelect, ActionOTPCheck, ActionCancel}, act) {
		return wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	var body map[string]json.RawMessage
	if err := readBody(w, r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	d, st, err := s.load(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !slices.Contains(allowed[d.Status], act) {
		return notAllowed(act, d.Status)
	}
	switch act {
	case ActionDeviceSelect:
		err = s.selectDevice(ctx, d, st, body)
	case ActionOTPCheck:
		err = s.checkOTP(ctx, c, d, st, body)
	case ActionCancel:
		err = s.cancel(ctx, d, st, body)
	}
	if err != nil {
		return err
	}
	return s.render(ctx, w, http.StatusOK, d, st)
}

func notAllowed(act, status string) error {
	ok := allowed[status]
	d := wire.Detail{Code: wire.DetailInvalidValue, Target: "Content-Type",
		Message: fmt.Sprintf("The action %s is not allowed when the status is %s.", act, status)}
	if len(ok) == 0 {
		d.Message = fmt.Sprintf("The status is %s: it takes no more actions.", status)
	} else {
		types := make([]string, len(ok))
		for i, a := range ok {
			types[i] = "application/vnd.pingidentity." + a + "+json"
		}
		d.InnerError = &wire.InnerError{AllowedValues: types}
	}
	return wire.InvalidRequest(d)
}

// text reads a text member of a body: "" when absent; a member of
// another type makes the body invalid.
func text(body map[string]json.RawMessage, name string) (string, error) {
	b, ok := body[name]
	if !ok {
		return "", nil
	}
	var v *string
	if err := json.Unmarshal(b, &v); err != nil {
		return "", errNotObject
	}
	if v == nil {
		return "", nil
	}
	return *v, nil
}

// selectDevice is device.select ({"device":{"id":…}}): a fresh passcode
// for that device (the same device again resends), replacing any
// outstanding one.
func (s *Service) selectDevice(ctx context.Context, d *store.DeviceAuthentication, st *state, body map[string]json.RawMessage) error {
	var ref *struct {
		ID *string `json:"id"`
	}
	if b, ok := body["device"]; ok && json.Unmarshal(b, &ref) != nil {
		return errNotObject
	}
	if ref == nil || ref.ID == nil || *ref.ID == "" {
		return wire.InvalidData(wire.Required("device.id"))
	}
	if len(*ref.ID) > maxIDBytes {
		return wire.InvalidData(wire.InvalidValue("device.id", "The value is not an id."))
	}
	now := s.now()
	u, err := s.user(ctx, d)
	if err != nil {
		return err
	}
	if err := s.refuseLocked(ctx, d.EnvironmentID, u.ID, now); err != nil {
		return err
	}
	dev, err := s.pick(ctx, u, &st.Policy, *ref.ID, "device.id")
	if err != nil {
		return err
	}
	if c := st.Challenge; c != nil && c.DeviceID == dev.ID && dev.Type != mfa.TypeTOTP && c.SentAt > 0 &&
		now.Before(time.Unix(c.SentAt, 0).Add(ResendSpacing)) {
		return wire.InvalidData(wire.InvalidValue("device.id",
			fmt.Sprintf("A passcode was sent to this device less than %d seconds ago: wait before asking for another.", int(ResendSpacing.Seconds()))))
	}
	c, err := s.challenge(ctx, u, dev, &st.Policy, now)
	if err != nil {
		return err
	}
	return s.save(ctx, d, st, func(st *state) error {
		// A TOTP app's code is not replaced by selecting its device again:
		// the wrong codes entered so far still count toward its cool-down.
		if old := st.Challenge; old != nil && old.DeviceID == dev.ID && dev.Type == mfa.TypeTOTP {
			c.Failures = old.Failures
		}
		st.DeviceID, st.Challenge = dev.ID, c
		d.Status = StatusOTPRequired
		return nil
	})
}

// cancel is PingOne's change of device ({"reason":"CHANGE_DEVICE"}): the
// outstanding passcode is void, and the user selects a device again.
func (s *Service) cancel(ctx context.Context, d *store.DeviceAuthentication, st *state, body map[string]json.RawMessage) error {
	reason, err := text(body, "reason")
	if err != nil {
		return err
	}
	if reason == "" {
		return wire.InvalidData(wire.Required("reason"))
	}
	if reason != "CHANGE_DEVICE" {
		return wire.InvalidData(wire.OneOf("reason", []string{"CHANGE_DEVICE"}))
	}
	return s.save(ctx, d, st, func(st *state) error {
		st.DeviceID, st.Challenge = "", nil
		d.Status = StatusDeviceSelectionRequired
		return nil
	})
}

// checkOTP is otp.check ({"otp":"…"}). The passcode is checked once (a
// wrong one counts into the challenge and the user's MFA lockout inside
// Check); its outcome is then applied to the stored state with a
// conditional update, so that of two checks racing with one passcode
// only one completes.
func (s *Service) checkOTP(ctx context.Context, c *caller, d *store.DeviceAuthentication, st *state, body map[string]json.RawMessage) error {
	otp, err := text(body, "otp")
	if err != nil {
		return err
	}
	if otp == "" {
		return wire.InvalidData(wire.Required("otp"))
	}
	if len(otp) > 64 {
		return wire.InvalidData(wire.InvalidValue("otp", "The value is not a passcode."))
	}
	now := s.now()
	if err := s.Limits.beforeCheck(ctx, d.EnvironmentID, d.UserID, now); err != nil {
		return err
	}
	err = s.checkOTPOnce(ctx, d, st, otp, now)
	s.Limits.afterCheck(ctx, d.EnvironmentID, d.UserID, err, now)
	return err
}

func (s *Service) checkOTPOnce(ctx context.Context, d *store.DeviceAuthentication, st *state, otp string, now time.Time) error {
	if st.Challenge == nil || st.DeviceID == "" {
		return notAllowed(ActionOTPCheck, StatusDeviceSelectionRequired)
	}
	u, err := s.user(ctx, d)
	if err != nil {
		return err
	}
	dev, err := s.MFA.Device(ctx, d.EnvironmentID, u.ID, st.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		// The device was deleted since it was selected.
		return s.failStep(ctx, d, st, wire.InvalidData(wire.InvalidValue("device.id", "The selected device no longer exists: select another one.")),
			func(st *state) { st.DeviceID, st.Challenge = "", nil; d.Status = StatusDeviceSelectionRequired })
	} else if err != nil {
		return err
	}
	settings, err := s.settings(ctx, d.EnvironmentID)
	if err != nil {
		return err
	}
	ch := *st.Challenge
	checked := s.MFA.Check(ctx, u, dev, st.Policy.Method(dev.Type), settings, &ch, otp)
	var oe *mfa.OTPError
	if checked == nil || errors.As(checked, &oe) {
		s.recordCheck(ctx, d, u, dev, oe, oe != nil && oe.Reason == mfa.ReasonLocked && ch.Used)
	}
	switch {
	case checked == nil:
		// Right: applied only to the very challenge checked, so that a
		// passcode completes one device authentication once.
		return s.save(ctx, d, st, func(cur *state) error {
			if !sameChallenge(cur.Challenge, st.Challenge) {
				return errUsed
			}
			cur.Challenge, cur.Error = nil, nil
			d.Status = StatusCompleted
			return nil
		})
	case errors.As(checked, &oe) && oe.Reason == mfa.ReasonLocked:
		// The user's MFA locked fails the device authentication; a device
		// cooling down after too many wrong passcodes leaves the others.
		until, err := s.MFA.Locked(ctx, d.EnvironmentID, u.ID)
		if err != nil {
			return err
		}
		if until.IsZero() {
			return s.failStep(ctx, d, st, lockedError(oe.Until, now), keep(st, &ch))
		}
		msg := "Multi-factor authentication is locked for the user."
		return s.failStep(ctx, d, st, lockedError(until, now), func(cur *state) {
			cur.Challenge = nil
			cur.Error = &wire.FlowError{Code: DetailLocked, Message: msg}
			d.Status = StatusFailed
		})
	case errors.As(checked, &oe):
		// Wrong, expired or used: the challenge keeps what Check counted
		// into it (its failures, and whether it is void).
		return s.failStep(ctx, d, st, otpError(oe, now), keep(st, &ch))
	}
	return checked
}

// keep stores what Check counted into the challenge it checked, if that
// challenge is still the outstanding one.
func keep(st *state, checked *mfa.Challenge) func(*state) {
	return func(cur *state) {
		if sameChallenge(cur.Challenge, st.Challenge) {
			c := *checked
			c.Failures = max(c.Failures, cur.Challenge.Failures)
			cur.Challenge = &c
		}
	}
}

// errUsed answers a check whose passcode another request used first.
var errUsed = wire.InvalidData(wire.Detail{Code: DetailInvalidOTP, Target: "otp", Message: "The passcode was already used."})

func sameChallenge(a, b *mfa.Challenge) bool {
	return a != nil && b != nil && a.DeviceID == b.DeviceID && a.Hash == b.Hash && a.ExpiresAt == b.ExpiresAt && a.SentAt == b.SentAt
}

// failStep saves what a refused check changed (edit) and answers refusal;
// a save that fails answers its own error instead.
func (s *Service) failStep(ctx context.Context, d *store.DeviceAuthentication, st *state, refusal error, edit func(*state)) error {
	if err := s.save(ctx, d, st, func(cur *state) error { edit(cur); return nil }); err != nil {
		return err
	}
	return refusal
}

// save applies edit to the device authentication's state and writes it
// if the stored version is still the one read. Another step may have
// written first: then the state is read again and edit applied to it,
// a few times, so that what edit decides always holds for what is
// stored (edit refuses by returning an error).
func (s *Service) save(ctx context.Context, d *store.DeviceAuthentication, st *state, edit func(*state) error) error {
	cur, curSt := d, st
	for range 3 {
		next := *cur
		nextSt := *curSt
		if nextSt.Challenge != nil {
			c := *nextSt.Challenge
			nextSt.Challenge = &c
		}
		// edit sets the status on d: point it at the copy.
		*d = next
		if err := edit(&nextSt); err != nil {
			return err
		}
		data, err := json.Marshal(nextSt)
		if err != nil {
			return err
		}
		now := s.now()
		d.Data, d.UpdatedAt, d.ExpiresAt = data, now, now.Add(Idle)
		err = s.Store.UpdateDeviceAuthentication(ctx, d)
		if err == nil {
			*st = nextSt
			return nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return wire.NotFound("")
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		fresh, err := s.Store.GetDeviceAuthentication(ctx, d.EnvironmentID, d.ID)
		if errors.Is(err, store.ErrNotFound) {
			return wire.NotFound("")
		} else if err != nil {
			return err
		}
		var freshSt state
		if err := json.Unmarshal(fresh.Data, &freshSt); err != nil {
			return err
		}
		if fresh.Status != next.Status && (fresh.Status == StatusCompleted || fresh.Status == StatusFailed) {
			*d = *fresh
			return notAllowed("this action", fresh.Status)
		}
		cur, curSt = fresh, &freshSt
	}
	return wire.RequestFailed("The device authentication changed while this request ran: read it again and retry.")
}

// user is the device authentication's user; a user deleted since is a
// device authentication gone.
func (s *Service) user(ctx context.Context, d *store.DeviceAuthentication) (*store.User, error) {
	u, err := s.Store.GetUser(ctx, d.EnvironmentID, d.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, wire.NotFound("")
	}
	return u, err
}

// refuseLocked refuses a step while the user's MFA is locked, before
// anything is sent or written.
func (s *Service) refuseLocked(ctx context.Context, envID, userID string, now time.Time) error {
	until, err := s.MFA.Locked(ctx, envID, userID)
	if err != nil {
		return err
	}
	if until.After(now) {
		return lockedError(until, now)
	}
	return nil
}

func lockedError(until, now time.Time) error {
	secs := int(math.Ceil(until.Sub(now).Seconds()))
	secs = max(secs, 1)
	return wire.InvalidData(wire.Detail{Code: DetailLocked, Target: "otp",
		Message:    "Multi-factor authentication is locked for the user: too many wrong passcodes.",
		InnerError: &wire.InnerError{SecondsUntilUnlock: &secs}})
}

// otpError is a refused passcode as the flow API answers it.
func otpError(oe *mfa.OTPError, now time.Time) error {
	switch oe.Reason {
	case mfa.ReasonExpired:
		return wire.InvalidData(wire.Detail{Code: DetailOTPExpired, Target: "otp",
			Message: "The passcode has expired: select the device again for a new one."})
	case mfa.ReasonLocked:
		return lockedError(oe.Until, now)
	case mfa.ReasonUsed:
		return errUsed
	}
	left := max(oe.Remaining, 0)
	return wire.InvalidData(wire.Detail{Code: DetailInvalidOTP, Target: "otp", Message: "The passcode is not valid.",
		InnerError: &wire.InnerError{FailuresRemaining: &left}})
}

// usableDevices are the user's usable devices, in the user's order.
func (s *Service) usableDevices(ctx context.Context, u *store.User, p *mfa.Policy) ([]store.MFADevice, error) {
	all, err := s.MFA.Devices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(d store.MFADevice) bool { return !usable(&d, p) }), nil
}

// usable: active, of a type the policy enables, and proved by a
// passcode. A FIDO2 device is not offered here: device authentications
// have no assertion step (PingOne's ASSERTION_REQUIRED), and a passcode
// "sent" to a security key could only fail.
func usable(d *store.MFADevice, p *mfa.Policy) bool {
	return d.Status == mfa.StatusActive && d.Type != mfa.TypeFIDO2 && p.Method(d.Type).Enabled
}

// pick is the user's device id (target names the body's member): not the
// user's, 404; not usable under the policy, INVALID_DATA.
func (s *Service) pick(ctx context.Context, u *store.User, p *mfa.Policy, id, target string) (*store.MFADevice, error) {
	dev, err := s.MFA.Device(ctx, u.EnvironmentID, u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, wire.NotFound("The device was not found.")
	} else if err != nil {
		return nil, err
	}
	if !usable(dev, p) {
		return nil, wire.InvalidData(wire.InvalidValue(target, "The device is not active, or the device authentication policy does not allow its type."))
	}
	return dev, nil
}

// challenge sends a fresh passcode to dev (a TOTP device's needs none),
// counted against the send limits; a sender's failure gives the limits
// back and answers 503 with Retry-After.
func (s *Service) challenge(ctx context.Context, u *store.User, dev *store.MFADevice, p *mfa.Policy, now time.Time) (*mfa.Challenge, error) {
	undo := func() {}
	if dev.Type != mfa.TypeTOTP {
		var err error
		if undo, err = s.Limits.send(ctx, u.EnvironmentID, u.ID, now); err != nil {
			return nil, err
		}
	}
	c, err := s.MFA.Challenge(ctx, u, dev, p.Method(dev.Type), mfa.PurposeAuthentication)
	if err != nil {
		undo()
		var oe *mfa.OTPError
		if errors.As(err, &oe) {
			// The user's MFA is locked, or the device cools down.
			return nil, otpError(oe, now)
		}
		var we *wire.Error
		if errors.As(err, &we) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		// The sender's fault, not the caller's, and maybe passing.
		return nil, wire.Unavailable("The passcode could not be sent. Try again shortly.", 5)
	}
	return c, nil
}
