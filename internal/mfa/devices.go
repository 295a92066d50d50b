package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DeviceInput is a device to create, as the management API or a flow's
// enrolment asks for it.
type DeviceInput struct {
	Type     string
	Email    string // EMAIL
	Phone    string // SMS, VOICE
	Nickname string
	// Status is the status wanted: "" means ACTIVE (an administrator
	// pairs the device for the user, PingOne's default when the actor is
	// not the user); ACTIVATION_REQUIRED makes the user prove the device
	// first. TOTP devices always start ACTIVATION_REQUIRED.
	Status string
	// SignOn marks a device the user registers during sign-on. It
	// replaces the user's earlier device of its type registered during a
	// sign-on and still awaiting activation (an abandoned enrolment), and
	// the device limit counts only the user's other devices that are not
	// awaiting activation, so abandoned enrolments never lock the user
	// out of registering. The management API counts every device, as
	// PingOne does.
	SignOn bool
	// Data is the new device's Data: a FIDO2 device's registration in
	// progress (internal/fido's), which activation answers.
	Data json.RawMessage
}

// Types are the device types this release creates.
var Types = []string{TypeEmail, TypeSMS, TypeVoice, TypeTOTP, TypeFIDO2}

// Statuses are the statuses a new device may ask for.
var Statuses = []string{StatusActive, StatusActivationRequired}

// MaxNickname bounds a device's nickname.
const MaxNickname = 100

// pairingPolicy bounds the wrong pairing codes of one activation: PingOne
// lets a pairing code be tried three times.
var pairingPolicy = MethodPolicy{Enabled: true, OTPLifetime: DefaultOTPLifetime, OTPFailures: 3}

// deviceData is what Gatehouse keeps in a device's Data.
type deviceData struct {
	// Pairing is the challenge a device awaiting activation was sent.
	Pairing *Challenge `json:"pairing,omitempty"`
	// CoolDownUntil (unix seconds) blocks passcodes after too many wrong
	// ones (the policy's otp.failure.coolDown).
	CoolDownUntil int64 `json:"coolDownUntil,omitempty"`
	// SignOn marks a device registered during a sign-on (DeviceInput.SignOn).
	SignOn bool `json:"signOn,omitempty"`
}

// SignOnPending says whether d was registered during a sign-on and
// still awaits activation: an enrolment a later sign-on replaces.
func SignOnPending(d *store.MFADevice) bool {
	return d.Status == StatusActivationRequired && readData(d).SignOn
}

func readData(d *store.MFADevice) deviceData {
	var dd deviceData
	if len(d.Data) > 0 {
		_ = json.Unmarshal(d.Data, &dd) // unreadable data is no pairing and no cool-down
	}
	return dd
}

// writeData writes dd as d's Data, keeping the "fido2" member: a FIDO2
// device's credential, which internal/fido keeps there.
func writeData(d *store.MFADevice, dd deviceData) error {
	b, err := json.Marshal(dd)
	if err != nil {
		return err
	}
	var old map[string]json.RawMessage
	if len(d.Data) > 0 && json.Unmarshal(d.Data, &old) == nil && old["fido2"] != nil {
		m := map[string]json.RawMessage{}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		m["fido2"] = old["fido2"]
		if b, err = json.Marshal(m); err != nil {
			return err
		}
	}
	d.Data = b
	return nil
}

// e164 is a phone number in E.164 once separators are removed.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizePhone returns phone in E.164 (+15125551234), taking the
// separators PingOne accepts (+1.5125551234, +1 (512) 555-1234); ok is
// false when it is no international number.
func NormalizePhone(phone string) (string, bool) {
	p := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '(', ')':
			return -1
		}
		return r
	}, strings.TrimSpace(phone))
	return p, e164.MatchString(p)
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// CheckDevice refuses in as CreateDevice would, writing nothing: for a
// caller with work to do before the device is made.
func CheckDevice(in DeviceInput, m MethodPolicy) error {
	_, err := validate(in, m)
	return err
}

// validate checks in and returns the device's normalised fields.
func validate(in DeviceInput, m MethodPolicy) (DeviceInput, error) {
	if in.Type == "" {
		return in, &InputError{Target: "type", Required: true, Message: "A value is required for type."}
	}
	known := false
	for _, t := range Types {
		known = known || t == in.Type
	}
	if !known {
		return in, &InputError{Target: "type", Message: "Invalid value for attribute.", Allowed: Types}
	}
	if !m.Enabled {
		return in, &InputError{Target: "type", Message: "The device type " + in.Type + " is not enabled in the device authentication policy."}
	}
	switch in.Status {
	case "", StatusActive, StatusActivationRequired:
	default:
		return in, &InputError{Target: "status", Message: "Invalid value for attribute.", Allowed: Statuses}
	}
	if utf8.RuneCountInString(in.Nickname) > MaxNickname {
		return in, &InputError{Target: "nickname", Message: "The nickname is too long."}
	}
	out := DeviceInput{Type: in.Type, Nickname: in.Nickname, Status: in.Status, SignOn: in.SignOn, Data: in.Data}
	switch in.Type {
	case TypeEmail:
		if in.Email == "" {
			return in, &InputError{Target: "email", Required: true, Message: "A value is required for email."}
		}
		if !validEmail(in.Email) {
			return in, &InputError{Target: "email", Message: "The email address is not valid."}
		}
		out.Email = in.Email
	case TypeSMS, TypeVoice:
		if in.Phone == "" {
			return in, &InputError{Target: "phone", Required: true, Message: "A value is required for phone."}
		}
		p, ok := NormalizePhone(in.Phone)
		if !ok {
			return in, &InputError{Target: "phone", Message: "The phone number must be in international format, with its country code (+15125551234)."}
		}
		out.Phone = p
	case TypeTOTP, TypeFIDO2:
		// A TOTP device is proven by a code of its app, a FIDO2 device
		// by its authenticator's attestation: neither is created ACTIVE.
		out.Status = StatusActivationRequired
	}
	if out.Status == "" {
		out.Status = StatusActive
	}
	return out, nil
}

// CreateDevice creates a device of user u under the MFA settings s and
// the device type's policy m. A TOTP device returns its Enrolment (secret
// and otpauth:// key URI) here and never again; its secret is sealed at
// rest. An EMAIL, SMS or VOICE device created ACTIVATION_REQUIRED is sent
// a pairing passcode, kept (hashed) in the device until activation. The
// passcode is sent once the device is committed (no transaction waits on
// a mail or SMS provider); when sending fails the device is deleted again
// and the error returned.
func (s *Service) CreateDevice(ctx context.Context, u *store.User, in DeviceInput, st *Settings, m MethodPolicy) (*store.MFADevice, *Enrolment, error) {
	in, err := validate(in, m)
	if err != nil {
		return nil, nil, err
	}
	now := s.now().Truncate(time.Millisecond)
	d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: u.EnvironmentID, UserID: u.ID, Type: in.Type, Status: in.Status,
		Nickname: in.Nickname, Email: in.Email, Phone: in.Phone, Data: in.Data, CreatedAt: now, UpdatedAt: now}
	var enrol *Enrolment
	var pairing *OTP
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		// The user's row lock makes concurrent creations count in turn.
		if _, err := tx.GetUser(ctx, u.EnvironmentID, u.ID); err != nil {
			return err
		}
		if in.SignOn {
			n, err := s.replaceSignOnPending(ctx, tx, u, in.Type)
			if err != nil {
				return err
			}
			if st != nil && st.MaxDevices > 0 && n >= st.MaxDevices {
				return ErrTooManyDevices
			}
		} else if st != nil && st.MaxDevices > 0 {
			n, err := tx.CountMFADevices(ctx, u.EnvironmentID, u.ID)
			if err != nil {
				return err
			}
			if n >= st.MaxDevices {
				return ErrTooManyDevices
			}
		}
		dd := deviceData{SignOn: in.SignOn}
		switch {
		case d.Type == TypeTOTP:
			if s.Sealer == nil {
				return errors.New("mfa: no sealer for TOTP secrets")
			}
			issuer := "Gatehouse"
			if env, err := tx.GetEnvironment(ctx, u.EnvironmentID); err == nil && env.Name != "" {
				issuer = env.Name
			}
			key, err := newTOTPKey(issuer, u.Username)
			if err != nil {
				return err
			}
			d.Secret = s.Sealer.Seal([]byte(key.Secret()), secretAAD(d))
			enrol = &Enrolment{Secret: key.Secret(), KeyURI: key.URL()}
		case d.Type == TypeFIDO2:
			// in.Data holds its registration; nothing is sent.
		case d.Status == StatusActivationRequired:
			c, msg, err := s.newChallenge(ctx, u, d, withLifetime(pairingPolicy, m), PurposePairing)
			if err != nil {
				return err
			}
			dd.Pairing, pairing = c, msg
		}
		if err := writeData(d, dd); err != nil {
			return err
		}
		return tx.CreateMFADevice(ctx, d)
	})
	if err != nil {
		return nil, nil, err
	}
	if pairing != nil {
		if err := s.Sender.SendOTP(ctx, *pairing); err != nil {
			if derr := s.Store.DeleteMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
				return nil, nil, errors.Join(err, derr)
			}
			return nil, nil, err
		}
	}
	return d, enrol, nil
}

// replaceSignOnPending deletes, in tx, u's devices of type typ that a
// sign-on registered and that still await activation, and returns how
// many of u's other devices are not awaiting activation: what the device
// limit counts during sign-on.
func (s *Service) replaceSignOnPending(ctx context.Context, tx store.Store, u *store.User, typ string) (int, error) {
	devs, err := tx.ListMFADevices(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range devs {
		d := &devs[i]
		switch {
		case d.Type == typ && SignOnPending(d):
			if err := tx.DeleteMFADevice(ctx, u.EnvironmentID, u.ID, d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return 0, err
			}
		case d.Status != StatusActivationRequired:
			n++
		}
	}
	return n, nil
}

// DeleteDevice deletes the user's device id: a device registered during
// a sign-on whose flow then failed to record it.
func (s *Service) DeleteDevice(ctx context.Context, envID, userID, id string) error {
	return s.Store.DeleteMFADevice(ctx, envID, userID, id)
}

// withLifetime is p with m's passcode lifetime.
func withLifetime(p, m MethodPolicy) MethodPolicy {
	if m.OTPLifetime > 0 {
		p.OTPLifetime = m.OTPLifetime
	}
	return p
}

// Activate proves device d, ACTIVATION_REQUIRED, with passcode otp: the
// pairing passcode it was sent, or a code of its TOTP app. Wrong codes
// count as Check counts them (a third wrong pairing code voids it; a new
// one is sent with ResendPairing). Right, the device becomes ACTIVE.
func (s *Service) Activate(ctx context.Context, u *store.User, d *store.MFADevice, otp string, st *Settings) error {
	if d.UserID != u.ID || d.EnvironmentID != u.EnvironmentID {
		return store.ErrNotFound
	}
	if d.Status != StatusActivationRequired {
		return ErrNotActivationRequired
	}
	// The device is read again with its row locked, and the pairing code
	// checked and its failures written in the same transaction: checks of
	// one device take turns, so every wrong code is counted, the code is
	// spent once, and a device activates once.
	var checkErr error
	var out store.MFADevice
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		ts := *s
		ts.Store = tx
		fresh, err := tx.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
		if err != nil {
			return err
		}
		if fresh.Status != StatusActivationRequired {
			return ErrNotActivationRequired
		}
		dd := readData(fresh)
		c := dd.Pairing
		if fresh.Type == TypeTOTP {
			c = &Challenge{DeviceID: fresh.ID, Purpose: PurposePairing}
		}
		if c == nil {
			c = &Challenge{DeviceID: fresh.ID, Purpose: PurposePairing, Used: true}
		}
		checkErr = ts.Check(ctx, u, fresh, pairingPolicy, st, c, otp)
		var oe *OTPError
		if checkErr != nil && !errors.As(checkErr, &oe) {
			return checkErr
		}
		if checkErr != nil && (fresh.Type == TypeTOTP || dd.Pairing == nil) {
			// Nothing of the device's to keep; the user's count of
			// failures commits.
			out = *fresh
			return nil
		}
		// Check may have written the device (a cool-down): start from
		// what it wrote.
		again, err := tx.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
		if err != nil {
			return err
		}
		ad := readData(again)
		if checkErr != nil {
			ad.Pairing = c // keep the pairing code's failures (and its voiding)
			again.UpdatedAt = s.now()
		} else {
			ad.Pairing = nil
			again.Status, again.UpdatedAt = StatusActive, s.now().Truncate(time.Millisecond)
		}
		if err := writeData(again, ad); err != nil {
			return err
		}
		if err := tx.UpdateMFADevice(ctx, again); err != nil {
			return err
		}
		out = *again
		return nil
	})
	if err != nil {
		return err
	}
	*d = out
	return checkErr
}

// ResendPairing sends device d, awaiting activation, a new pairing
// passcode in place of the last one.
func (s *Service) ResendPairing(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy) error {
	if d.Status != StatusActivationRequired || d.Type == TypeTOTP || d.Type == TypeFIDO2 {
		return ErrNoPairingCode
	}
	// d may be a copy read before the device was activated: send nothing
	// to a device that no longer awaits activation.
	cur, err := s.Store.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
	if err != nil {
		return err
	}
	if cur.Status != StatusActivationRequired {
		return ErrNoPairingCode
	}
	c, err := s.Challenge(ctx, u, cur, withLifetime(pairingPolicy, m), PurposePairing)
	if err != nil {
		return err
	}
	var out store.MFADevice
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		fresh, err := tx.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
		if err != nil {
			return err
		}
		// Activated since: the code just sent pairs nothing.
		if fresh.Status != StatusActivationRequired {
			return ErrNoPairingCode
		}
		fd := readData(fresh)
		fd.Pairing = c
		if err := writeData(fresh, fd); err != nil {
			return err
		}
		fresh.UpdatedAt = s.now().Truncate(time.Millisecond)
		if err := tx.UpdateMFADevice(ctx, fresh); err != nil {
			return err
		}
		out = *fresh
		return nil
	})
	if err != nil {
		return err
	}
	*d = out
	return nil
}

// SetNickname renames device d. Only the nickname is written: d may have
// been read before a concurrent activation, cool-down or reorder.
func (s *Service) SetNickname(ctx context.Context, d *store.MFADevice, nickname string) error {
	if utf8.RuneCountInString(nickname) > MaxNickname {
		return &InputError{Target: "nickname", Message: "The nickname is too long."}
	}
	at := s.now().Truncate(time.Millisecond)
	if err := s.Store.SetMFADeviceNickname(ctx, d.EnvironmentID, d.UserID, d.ID, nickname, at); err != nil {
		return err
	}
	fresh, err := s.Store.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
	if err != nil {
		return err
	}
	*d = *fresh
	return nil
}

// SetOrder ranks the user's devices: ids first, in that order; none
// removes the order (devices then rank oldest first). An id that is not
// the user's device fails with store.ErrNotFound and nothing changes.
func (s *Service) SetOrder(ctx context.Context, envID, userID string, ids []string) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return &InputError{Target: "order", Message: "A device appears more than once in the order."}
		}
		seen[id] = true
	}
	return s.Store.SetMFADeviceOrder(ctx, envID, userID, ids)
}
