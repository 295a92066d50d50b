package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PasscodeDigits is the length of the passcodes Gatehouse sends (PingOne's
// email, SMS and voice passcodes are six digits).
const PasscodeDigits = 6

// DefaultOTPLifetime is how long a sent passcode lasts when the policy
// says nothing (PingOne's default device authentication policy: 30
// minutes).
const DefaultOTPLifetime = 30 * time.Minute

// newPasscode draws a uniformly random passcode from crypto/rand.
func newPasscode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// hashPasscode keeps a passcode as a salted SHA-256, so a challenge kept
// in a flow's state or a device's data never holds the code itself. The
// salt binds the hash to one challenge.
func hashPasscode(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + ":" + code))
	return salt + "$" + hex.EncodeToString(sum[:])
}

func newHash(code string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hashPasscode(hex.EncodeToString(b), code), nil
}

// passcodeMatches compares in constant time.
func passcodeMatches(hash, code string) bool {
	salt, _, ok := strings.Cut(hash, "$")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashPasscode(salt, code)), []byte(hash)) == 1
}

// Challenge starts one passcode for device d: EMAIL, SMS and VOICE get a
// fresh passcode, sent with the template of purpose (PurposeAuthentication
// or PurposePairing) and valid for m.OTPLifetime; a TOTP device gets a
// challenge with no code (its app computes it). A locked user, or a device
// cooling down after too many wrong passcodes, gets a LOCKED *OTPError and
// nothing is sent.
func (s *Service) Challenge(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy, purpose string) (*Challenge, error) {
	c, msg, err := s.newChallenge(ctx, u, d, m, purpose)
	if err != nil || msg == nil {
		return c, err
	}
	if err := s.Sender.SendOTP(ctx, *msg); err != nil {
		return nil, err
	}
	return c, nil
}

// newChallenge makes a challenge and, for a device that receives its
// passcode, the message that carries it; the caller sends it.
func (s *Service) newChallenge(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy, purpose string) (*Challenge, *OTP, error) {
	if d.UserID != u.ID || d.EnvironmentID != u.EnvironmentID {
		return nil, nil, store.ErrNotFound
	}
	now := s.now()
	if err := s.refuseLocked(ctx, u, d, now); err != nil {
		return nil, nil, err
	}
	c := &Challenge{DeviceID: d.ID, Purpose: purpose}
	if d.Type == TypeTOTP {
		return c, nil, nil
	}
	to := d.Email
	if d.Type != TypeEmail {
		to = d.Phone
	}
	if to == "" || s.Sender == nil {
		return nil, nil, fmt.Errorf("mfa: device %s of type %s cannot receive a passcode", d.ID, d.Type)
	}
	code, err := newPasscode()
	if err != nil {
		return nil, nil, err
	}
	if c.Hash, err = newHash(code); err != nil {
		return nil, nil, err
	}
	life := m.OTPLifetime
	if life <= 0 {
		life = DefaultOTPLifetime
	}
	c.ExpiresAt, c.SentAt = now.Add(life).Unix(), now.Unix()
	msg := &OTP{
		EnvironmentID: u.EnvironmentID, UserID: u.ID, Channel: d.Type, To: to, Template: purpose, Code: code,
		Vars: map[string]string{"user.username": u.Username, "user.name.given": u.GivenName, "user.name.family": u.FamilyName},
	}
	return c, msg, nil
}

// refuseLocked returns a LOCKED *OTPError while the user's MFA is locked
// or the device cools down.
func (s *Service) refuseLocked(ctx context.Context, u *store.User, d *store.MFADevice, now time.Time) error {
	until, err := s.Locked(ctx, u.EnvironmentID, u.ID)
	if err != nil {
		return err
	}
	if cd := readData(d).CoolDownUntil; cd > 0 && time.Unix(cd, 0).After(now) && time.Unix(cd, 0).After(until) {
		until = time.Unix(cd, 0).UTC()
	}
	if !until.IsZero() {
		return &OTPError{Reason: ReasonLocked, Until: until}
	}
	return nil
}

// Check checks passcode otp against challenge c of device d. nil when it
// is right: c is then spent (Used), and the caller saves it. Otherwise an
// *OTPError: INVALID_OTP with the attempts remaining, OTP_EXPIRED,
// OTP_USED, or LOCKED with until when. Every wrong passcode counts into the
// user's MFA lockout (s.LockoutFailures in a row lock the user's MFA for
// s.LockoutDuration) and into c.Failures: m.OTPFailures wrong passcodes
// void the challenge and cool the device down for m.CoolDown. A right
// passcode clears the user's count. A TOTP code is checked against the
// device's secret (RFC 6238: 6 digits, 30 s, SHA-1, one step of skew) and
// its time step recorded with a conditional update: the same code again,
// or an older one, is INVALID_OTP.
func (s *Service) Check(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy, st *Settings, c *Challenge, otp string) error {
	if d.UserID != u.ID || d.EnvironmentID != u.EnvironmentID || c == nil || c.DeviceID != d.ID {
		return &OTPError{Reason: ReasonInvalid}
	}
	now := s.now()
	if err := s.refuseLocked(ctx, u, d, now); err != nil {
		return err
	}
	if c.Used {
		return &OTPError{Reason: ReasonUsed}
	}
	if d.Type != TypeTOTP && c.ExpiresAt != 0 && now.Unix() >= c.ExpiresAt {
		return &OTPError{Reason: ReasonExpired}
	}
	ok, err := s.matches(ctx, d, c, otp, now)
	if err != nil {
		return err
	}
	if ok {
		c.Used = true
		return s.Store.ClearMFAFailures(ctx, u.EnvironmentID, u.ID)
	}
	return s.wrong(ctx, u, d, m, st, c, now)
}

// matches says whether otp is right, and for TOTP records its step.
func (s *Service) matches(ctx context.Context, d *store.MFADevice, c *Challenge, otp string, now time.Time) (bool, error) {
	otp = strings.TrimSpace(otp)
	if len(otp) != PasscodeDigits || strings.Trim(otp, "0123456789") != "" {
		return false, nil
	}
	if d.Type != TypeTOTP {
		return passcodeMatches(c.Hash, otp), nil
	}
	secret, err := s.openSecret(d)
	if err != nil {
		return false, err
	}
	step, ok := totpStep(secret, otp, now)
	if !ok {
		return false, nil
	}
	err = s.Store.AdvanceMFATOTPStep(ctx, d.EnvironmentID, d.UserID, d.ID, step)
	if errors.Is(err, store.ErrConflict) {
		return false, nil // a replay, or a concurrent check of the same code
	}
	if err != nil {
		return false, err
	}
	d.TOTPStep = step
	return true, nil
}

// wrong counts a wrong passcode and says what the user may do next.
func (s *Service) wrong(ctx context.Context, u *store.User, d *store.MFADevice, m MethodPolicy, st *Settings, c *Challenge, now time.Time) error {
	var lockAfter int
	var lockFor time.Duration
	if st != nil {
		lockAfter, lockFor = st.LockoutFailures, st.LockoutDuration
	}
	l, err := s.Store.RecordMFAFailure(ctx, u.EnvironmentID, u.ID, lockAfter, lockFor, now)
	if err != nil {
		return err
	}
	c.Failures++
	if !l.LockedUntil.IsZero() && l.LockedUntil.After(now) {
		c.Used = true
		return &OTPError{Reason: ReasonLocked, Until: l.LockedUntil}
	}
	remaining := -1
	if lockAfter > 0 {
		remaining = lockAfter - l.Failures
	}
	if m.OTPFailures > 0 {
		left := m.OTPFailures - c.Failures
		if left <= 0 {
			// The challenge is void; the device cools down.
			c.Used = true
			if m.CoolDown > 0 {
				until := now.Add(m.CoolDown)
				if err := s.coolDown(ctx, d, until); err != nil {
					return err
				}
				return &OTPError{Reason: ReasonLocked, Until: until}
			}
			return &OTPError{Reason: ReasonInvalid}
		}
		if remaining < 0 || left < remaining {
			remaining = left
		}
	}
	if remaining < 0 {
		remaining = 0
	}
	return &OTPError{Reason: ReasonInvalid, Remaining: remaining}
}

// coolDown records on the device until when it takes no passcode. It
// writes the device as it is now (d may be an older copy), under its row
// lock, changing only the cool-down, and never shortens one.
func (s *Service) coolDown(ctx context.Context, d *store.MFADevice, until time.Time) error {
	var out store.MFADevice
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		fresh, err := tx.GetMFADevice(ctx, d.EnvironmentID, d.UserID, d.ID)
		if err != nil {
			return err
		}
		fd := readData(fresh)
		if until.Unix() > fd.CoolDownUntil {
			fd.CoolDownUntil = until.Unix()
		}
		if err := writeData(fresh, fd); err != nil {
			return err
		}
		fresh.UpdatedAt = s.now()
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
