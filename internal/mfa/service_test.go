package mfa_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type outbox struct {
	mu   sync.Mutex
	sent []mfa.OTP
}

func (o *outbox) SendOTP(_ context.Context, m mfa.OTP) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) last() mfa.OTP {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent[len(o.sent)-1]
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *mfa.Service
	out   *outbox
	clock *clock
	user  *store.User
	other *store.User
}

var (
	settings = &mfa.Settings{MaxDevices: 5, LockoutFailures: 5, LockoutDuration: 10 * time.Minute}
	method   = mfa.MethodPolicy{Enabled: true, OTPLifetime: 30 * time.Minute, OTPFailures: 3, CoolDown: 2 * time.Minute}
)

func setup(t *testing.T, dsn string) *fixture {
	t.Helper()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	admin := s.AdminToken(t)
	env := s.Do(t, apptest.Request{Method: "POST", URL: "/environments", Token: admin,
		Body: map[string]any{"name": "MFA domain", "type": "SANDBOX", "region": "NA", "license": map[string]any{"id": s.LicenseID(t)}}})
	envID := env.JSON(t)["id"].(string)
	pop := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + envID + "/populations", Token: admin, Body: map[string]any{"name": "P"}})
	popID := pop.JSON(t)["id"].(string)
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{out: &outbox{}, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	f.svc = &mfa.Service{Store: s.Store, Sealer: sealer, Sender: f.out, Now: f.clock.now}
	ctx := context.Background()
	for _, name := range []string{"erin", "frank"} {
		id := s.CreateUser(t, envID, popID, name, name+"@example.com", "E", "F", "Correct-H0rse-Battery!")
		u, err := s.Store.GetUser(ctx, envID, id)
		if err != nil {
			t.Fatal(err)
		}
		if f.user == nil {
			f.user = u
		} else {
			f.other = u
		}
	}
	return f
}

func otpErr(t *testing.T, err error, reason string) *mfa.OTPError {
	t.Helper()
	var oe *mfa.OTPError
	if !errors.As(err, &oe) || oe.Reason != reason {
		t.Fatalf("err = %v, want %s", err, reason)
	}
	return oe
}

func TestService(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name string
				run  func(*testing.T, *fixture)
			}{
				{"EmailChallenge", testEmailChallenge},
				{"CoolDownAndLockout", testCoolDownAndLockout},
				{"TOTP", testTOTP},
				{"Ownership", testOwnership},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, setup(t, b.DSN(t))) })
			}
		})
	}
}

// testEmailChallenge: a sent passcode is six random digits, kept only as
// a hash; right, it is spent; expired, it is refused; a right code clears
// the user's count of failures.
func testEmailChallenge(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, enrol, err := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "erin@example.com"}, settings, method)
	if err != nil || enrol != nil || d.Status != mfa.StatusActive {
		t.Fatalf("CreateDevice = %+v, %v, %v", d, enrol, err)
	}
	c, err := f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	sent := f.out.last()
	if sent.Template != mfa.PurposeAuthentication || sent.To != "erin@example.com" || len(sent.Code) != 6 || strings.Contains(c.Hash, sent.Code) {
		t.Errorf("sent %+v, challenge %+v", sent, c)
	}
	if c.ExpiresAt != f.clock.now().Add(30*time.Minute).Unix() {
		t.Errorf("ExpiresAt = %d", c.ExpiresAt)
	}
	oe := otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(sent.Code)), mfa.ReasonInvalid)
	if oe.Remaining != 2 || c.Failures != 1 {
		t.Errorf("Remaining = %d, Failures = %d", oe.Remaining, c.Failures)
	}
	if err := f.svc.Check(ctx, f.user, d, method, settings, c, sent.Code); err != nil {
		t.Fatalf("right code: %v", err)
	}
	if !c.Used {
		t.Error("a right code left the challenge unspent")
	}
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, sent.Code), mfa.ReasonUsed)
	l, _ := f.svc.Store.GetMFALockout(ctx, f.user.EnvironmentID, f.user.ID)
	if l.Failures != 0 {
		t.Errorf("failures after a right code = %d", l.Failures)
	}
	// Expiry.
	c2, err := f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(30 * time.Minute)
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c2, f.out.last().Code), mfa.ReasonExpired)
	// A challenge of another device is no challenge of this one.
	d2, _, _ := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeSMS, Phone: "+15125550100"}, settings, method)
	c3, _ := f.svc.Challenge(ctx, f.user, d2, method, mfa.PurposeAuthentication)
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c3, f.out.last().Code), mfa.ReasonInvalid)
}

func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// testCoolDownAndLockout: the policy's third wrong code voids the
// challenge and cools the device down; the settings' fifth in a row locks
// the user's MFA, and Locked says until when.
func testCoolDownAndLockout(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, _, err := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeSMS, Phone: "+15125550101"}, settings, method)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	code := f.out.last().Code
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(code)), mfa.ReasonInvalid)
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(code)), mfa.ReasonInvalid)
	oe := otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(code)), mfa.ReasonLocked)
	if !oe.Until.Equal(f.clock.now().Add(2 * time.Minute)) {
		t.Errorf("cool-down until %v", oe.Until)
	}
	// Cooling down: no passcode is sent, none checked.
	before := len(f.out.sent)
	_, err = f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	otpErr(t, err, mfa.ReasonLocked)
	if len(f.out.sent) != before {
		t.Error("a passcode was sent to a device cooling down")
	}
	f.clock.add(2*time.Minute + time.Second)
	c, err = f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	code = f.out.last().Code
	oe = otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(code)), mfa.ReasonInvalid)
	if oe.Remaining != 1 {
		t.Errorf("Remaining before the lockout = %d, want 1 (the user's fourth failure in a row)", oe.Remaining)
	}
	oe = otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, wrong(code)), mfa.ReasonLocked)
	until, err := f.svc.Locked(ctx, f.user.EnvironmentID, f.user.ID)
	if err != nil || !until.Equal(f.clock.now().Add(10*time.Minute)) || !oe.Until.Equal(until) {
		t.Errorf("Locked = %v, %v; OTPError until %v", until, err, oe.Until)
	}
	// Locked: even a right code of a new challenge is refused, and the
	// other user is not locked.
	_, err = f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication)
	otpErr(t, err, mfa.ReasonLocked)
	if u, _ := f.svc.Locked(ctx, f.other.EnvironmentID, f.other.ID); !u.IsZero() {
		t.Errorf("another user is locked until %v", u)
	}
	f.clock.add(10 * time.Minute)
	if u, _ := f.svc.Locked(ctx, f.user.EnvironmentID, f.user.ID); !u.IsZero() {
		t.Errorf("still locked after the lock ran out: %v", u)
	}
}

// testTOTP: the secret is sealed at rest and returned once; a code
// computed from it is accepted once: replayed, or checked twice at once,
// it is refused.
func testTOTP(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.clock.t = time.Now().UTC()
	d, enrol, err := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeTOTP, Status: mfa.StatusActive}, settings, method)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != mfa.StatusActivationRequired || enrol == nil || !strings.HasPrefix(enrol.KeyURI, "otpauth://totp/MFA%20domain:erin?") {
		t.Fatalf("TOTP device %+v, enrolment %+v", d, enrol)
	}
	stored, err := f.svc.Device(ctx, f.user.EnvironmentID, f.user.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Secret) == 0 || strings.Contains(string(stored.Secret), enrol.Secret) {
		t.Errorf("the secret is stored in the clear: %q", stored.Secret)
	}
	code, _ := totp.GenerateCode(enrol.Secret, f.clock.now())
	otpErr(t, f.svc.Activate(ctx, f.user, stored, wrong(code), settings), mfa.ReasonInvalid)
	if err := f.svc.Activate(ctx, f.user, stored, code, settings); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if stored.Status != mfa.StatusActive {
		t.Errorf("status after activation = %s", stored.Status)
	}
	// The activation's code again, within its window: a replay.
	c, err := f.svc.Challenge(ctx, f.user, stored, method, mfa.PurposeAuthentication)
	if err != nil || c.Hash != "" || c.ExpiresAt != 0 {
		t.Fatalf("TOTP challenge %+v, %v", c, err)
	}
	otpErr(t, f.svc.Check(ctx, f.user, stored, method, settings, c, code), mfa.ReasonInvalid)
	// The next step's code, checked by many at once: one wins (the
	// losers count as wrong codes: a lockout high enough to leave them
	// INVALID_OTP).
	loose := &mfa.Settings{MaxDevices: 5, LockoutFailures: 100, LockoutDuration: time.Minute}
	f.clock.add(30 * time.Second)
	next, _ := totp.GenerateCode(enrol.Secret, f.clock.now())
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			dev := *stored
			ch := mfa.Challenge{DeviceID: dev.ID, Purpose: mfa.PurposeAuthentication}
			errs[i] = f.svc.Check(ctx, f.user, &dev, method, loose, &ch, next)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			otpErr(t, err, mfa.ReasonInvalid)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent checks of one TOTP code passed, want 1", won, len(errs))
	}
}

// testOwnership: another user's device is not found, and a challenge of
// it does not check for this user.
func testOwnership(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, _, err := f.svc.CreateDevice(ctx, f.other, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "frank@example.com"}, settings, method)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Device(ctx, f.user.EnvironmentID, f.user.ID, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another user's device: %v", err)
	}
	if _, err := f.svc.Challenge(ctx, f.user, d, method, mfa.PurposeAuthentication); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("challenge of another user's device: %v", err)
	}
	c, _ := f.svc.Challenge(ctx, f.other, d, method, mfa.PurposeAuthentication)
	otpErr(t, f.svc.Check(ctx, f.user, d, method, settings, c, f.out.last().Code), mfa.ReasonInvalid)
	// The MFA settings' maximum of devices counts every status.
	lim := &mfa.Settings{MaxDevices: 1, LockoutFailures: 5, LockoutDuration: time.Minute}
	if _, _, err := f.svc.CreateDevice(ctx, f.other, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "f2@example.com"}, lim, method); !errors.Is(err, mfa.ErrTooManyDevices) {
		t.Errorf("second device over a maximum of one: %v", err)
	}
}

type failingSender struct{}

func (failingSender) SendOTP(context.Context, mfa.OTP) error { return errors.New("provider down") }

// TestPairingSendFailure: when the pairing passcode cannot be sent, the
// device is not kept.
func TestPairingSendFailure(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, b.DSN(t))
			ctx := context.Background()
			svc := *f.svc
			svc.Sender = failingSender{}
			_, _, err := svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "erin@example.com", Status: mfa.StatusActivationRequired}, settings, method)
			if err == nil {
				t.Fatal("CreateDevice succeeded with a failing sender")
			}
			if n, err := svc.Store.CountMFADevices(ctx, f.user.EnvironmentID, f.user.ID); err != nil || n != 0 {
				t.Errorf("devices after a failed send: %d, %v", n, err)
			}
		})
	}
}
