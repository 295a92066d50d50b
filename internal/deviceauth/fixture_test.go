package deviceauth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mfaFixture stands for the MFA domain (devices, passcodes, the lockout)
// until it is merged: the same contract, kept in memory, with the
// passcodes it "sent" readable by the test.
type mfaFixture struct {
	e        *env
	mu       sync.Mutex
	devices  []store.MFADevice
	sent     map[string][]string // passcodes by device id, oldest first
	failures map[string]int
	locked   map[string]time.Time
	used     map[string]bool // spent challenges, by hash (mfa.Challenge.Used once merged)
	pol      mfa.Policy
	set      mfa.Settings
	sendErr  error
}

func newMFAFixture(t *testing.T, e *env, _ *config.Cache) *mfaFixture {
	return &mfaFixture{e: e, sent: map[string][]string{}, failures: map[string]int{}, locked: map[string]time.Time{}, used: map[string]bool{},
		pol: mfa.Policy{ID: uuid.NewString(), Name: "Default MFA Policy", Selection: "DEFAULT_TO_FIRST", Methods: map[string]mfa.MethodPolicy{
			mfa.TypeEmail: {Enabled: true, OTPLifetime: 30 * time.Minute, OTPFailures: 3, CoolDown: 2 * time.Minute},
			mfa.TypeSMS:   {Enabled: true, OTPLifetime: 30 * time.Minute, OTPFailures: 3, CoolDown: 2 * time.Minute},
			mfa.TypeTOTP:  {Enabled: false},
		}},
		set: mfa.Settings{MaxDevices: 5, LockoutFailures: 5, LockoutDuration: 10 * time.Minute}}
}

func (f *mfaFixture) policyID() string { return f.pol.ID }

func (f *mfaFixture) port() deviceauth.MFA { return (*fakeMFA)(f) }

func (f *mfaFixture) policy(_ context.Context, envID, id string) (*mfa.Policy, error) {
	if envID != f.e.envID || (id != "" && id != f.pol.ID) {
		return nil, store.ErrNotFound
	}
	p := f.pol
	return &p, nil
}

func (f *mfaFixture) settings(context.Context, string) (*mfa.Settings, error) {
	s := f.set
	return &s, nil
}

// otpLifetime sets the policy's passcode lifetime of typ.
func (f *mfaFixture) otpLifetime(typ string, d time.Duration) {
	m := f.pol.Methods[typ]
	m.OTPLifetime = d
	f.pol.Methods[typ] = m
}

// device gives userID an ACTIVE device of typ.
func (f *mfaFixture) device(userID, typ string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := store.MFADevice{ID: uuid.NewString(), EnvironmentID: f.e.envID, UserID: userID, Type: typ, Status: mfa.StatusActive,
		Order: len(f.devices)}
	switch typ {
	case mfa.TypeEmail:
		d.Email = "ada.lovelace@example.com"
	default:
		d.Phone = "+15555550101"
	}
	f.devices = append(f.devices, d)
	return d.ID
}

// code is the last passcode sent to deviceID.
func (f *mfaFixture) code(deviceID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sent[deviceID]
	if len(s) == 0 {
		f.e.t.Fatalf("no passcode was sent to device %s", deviceID)
	}
	return s[len(s)-1]
}

func (f *mfaFixture) sends(deviceID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent[deviceID])
}

type fakeMFA mfaFixture

func (m *fakeMFA) Devices(_ context.Context, envID, userID string) ([]store.MFADevice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.MFADevice
	for _, d := range m.devices {
		if d.EnvironmentID == envID && d.UserID == userID {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *fakeMFA) Device(ctx context.Context, envID, userID, id string) (*store.MFADevice, error) {
	ds, _ := m.Devices(ctx, envID, userID)
	i := slices.IndexFunc(ds, func(d store.MFADevice) bool { return d.ID == id })
	if i < 0 {
		return nil, store.ErrNotFound
	}
	return &ds[i], nil
}

func hash(code string) string {
	s := sha256.Sum256([]byte(code))
	return hex.EncodeToString(s[:])
}

func (m *fakeMFA) Challenge(_ context.Context, u *store.User, d *store.MFADevice, p mfa.MethodPolicy, purpose string) (*mfa.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sendErr != nil {
		return nil, m.sendErr
	}
	now := m.e.clock.Now()
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	code := fmt.Sprintf("%06d", n.Int64())
	m.sent[d.ID] = append(m.sent[d.ID], code)
	return &mfa.Challenge{DeviceID: d.ID, Purpose: purpose, Hash: hash(code), ExpiresAt: now.Add(p.OTPLifetime).Unix(), SentAt: now.Unix()}, nil
}

func (m *fakeMFA) Check(_ context.Context, u *store.User, d *store.MFADevice, p mfa.MethodPolicy, s *mfa.Settings, c *mfa.Challenge, otp string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.e.clock.Now()
	if until := m.locked[u.ID]; until.After(now) {
		return &mfa.OTPError{Reason: mfa.ReasonLocked, Until: until}
	}
	if m.used[c.Hash] {
		return &mfa.OTPError{Reason: mfa.ReasonUsed}
	}
	if now.Unix() >= c.ExpiresAt {
		return &mfa.OTPError{Reason: mfa.ReasonExpired}
	}
	if subtle.ConstantTimeCompare([]byte(hash(otp)), []byte(c.Hash)) == 1 {
		m.failures[u.ID] = 0
		m.used[c.Hash] = true
		return nil
	}
	c.Failures++
	m.failures[u.ID]++
	if m.failures[u.ID] >= s.LockoutFailures {
		m.failures[u.ID] = 0
		m.locked[u.ID] = now.Add(s.LockoutDuration)
		m.used[c.Hash] = true
		return &mfa.OTPError{Reason: mfa.ReasonLocked, Until: m.locked[u.ID]}
	}
	if c.Failures >= p.OTPFailures {
		m.used[c.Hash] = true
	}
	return &mfa.OTPError{Reason: mfa.ReasonInvalid, Remaining: max(0, min(p.OTPFailures-c.Failures, s.LockoutFailures-m.failures[u.ID]))}
}

func (m *fakeMFA) Locked(_ context.Context, envID, userID string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.locked[userID], nil
}

var errProvider = errors.New("provider down")
