package mfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// pairingState reads the pairing challenge and cool-down kept in a
// device's data.
func pairingState(t *testing.T, d *store.MFADevice) (failures int, used, present bool, coolDown int64) {
	t.Helper()
	var dd struct {
		Pairing *struct {
			Failures int  `json:"failures"`
			Used     bool `json:"used"`
		} `json:"pairing"`
		CoolDownUntil int64 `json:"coolDownUntil"`
	}
	if len(d.Data) > 0 {
		if err := json.Unmarshal(d.Data, &dd); err != nil {
			t.Fatalf("device data %s: %v", d.Data, err)
		}
	}
	if dd.Pairing == nil {
		return 0, false, false, dd.CoolDownUntil
	}
	return dd.Pairing.Failures, dd.Pairing.Used, true, dd.CoolDownUntil
}

// TestDeviceWriteRaces: writes to one device from copies read at other
// times, or at the same time, lose nothing: each write touches only its
// own data, and activation happens once.
func TestDeviceWriteRaces(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name string
				run  func(*testing.T, *fixture)
			}{
				{"ParallelWrongPairingCodes", testParallelWrongPairingCodes},
				{"NicknameAfterActivation", testNicknameAfterActivation},
				{"NicknameRacesActivation", testNicknameRacesActivation},
				{"StaleResendAfterActivation", testStaleResendAfterActivation},
				{"StaleWritesKeepOrderAndCoolDown", testStaleWritesKeepOrderAndCoolDown},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, setup(t, b.DSN(t))) })
			}
		})
	}
}

// lenient never locks the user, so that only the pairing code's own
// count of failures is at play.
var lenient = &mfa.Settings{MaxDevices: 5, LockoutFailures: 1000, LockoutDuration: time.Minute}

func pairingDevice(t *testing.T, f *fixture) (*store.MFADevice, string) {
	t.Helper()
	d, _, err := f.svc.CreateDevice(context.Background(), f.user, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "erin@example.com", Status: mfa.StatusActivationRequired}, lenient, method)
	if err != nil || d.Status != mfa.StatusActivationRequired {
		t.Fatalf("CreateDevice = %+v, %v", d, err)
	}
	return d, f.out.last().Code
}

func reread(t *testing.T, f *fixture, d *store.MFADevice) *store.MFADevice {
	t.Helper()
	got, err := f.svc.Store.GetMFADevice(context.Background(), d.EnvironmentID, d.UserID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// testParallelWrongPairingCodes: twelve wrong pairing codes at once are
// counted one by one: exactly three failures void the code, and the right
// code then no longer activates the device.
func testParallelWrongPairingCodes(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, code := pairingDevice(t, f)
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *d
			errs[i] = f.svc.Activate(ctx, f.user, &c, wrong(code), lenient)
		}()
	}
	wg.Wait()
	invalid := 0
	for _, err := range errs {
		var oe *mfa.OTPError
		if !errors.As(err, &oe) {
			t.Fatalf("Activate with a wrong code = %v, want an OTPError", err)
		}
		if oe.Reason == mfa.ReasonInvalid && oe.Remaining > 0 {
			invalid++
		}
	}
	if invalid != 2 {
		t.Errorf("%d wrong codes were answered with tries remaining, want 2 (the third voids the code)", invalid)
	}
	got := reread(t, f, d)
	failures, used, present, _ := pairingState(t, got)
	if !present || failures != 3 || !used || got.Status != mfa.StatusActivationRequired {
		t.Errorf("after 12 wrong codes: status %s, pairing present %v, failures %d, used %v; want 3 failures, used", got.Status, present, failures, used)
	}
	err := f.svc.Activate(ctx, f.user, got, code, lenient)
	otpErr(t, err, mfa.ReasonUsed)
	if got := reread(t, f, d); got.Status != mfa.StatusActivationRequired {
		t.Errorf("the voided code activated the device: %s", got.Status)
	}
}

// testNicknameAfterActivation: a nickname written from a copy read
// before the device was activated neither undoes the activation nor
// revives the spent pairing code.
func testNicknameAfterActivation(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, code := pairingDevice(t, f)
	stale := reread(t, f, d)
	if err := f.svc.Activate(ctx, f.user, d, code, lenient); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if err := f.svc.SetNickname(ctx, stale, "work"); err != nil {
		t.Fatalf("SetNickname: %v", err)
	}
	got := reread(t, f, d)
	if _, _, present, _ := pairingState(t, got); got.Status != mfa.StatusActive || got.Nickname != "work" || present {
		t.Errorf("after activation then a stale nickname: status %s, nickname %q, pairing kept %v", got.Status, got.Nickname, present)
	}
	if err := f.svc.Activate(ctx, f.user, stale, code, lenient); !errors.Is(err, mfa.ErrNotActivationRequired) {
		t.Errorf("a second activation from a stale copy = %v, want ErrNotActivationRequired", err)
	}
}

// testNicknameRacesActivation: a nickname and an activation at once both
// land, and the device activates once.
func testNicknameRacesActivation(t *testing.T, f *fixture) {
	ctx := context.Background()
	for i := range 8 {
		d, code := pairingDevice(t, f)
		var wg sync.WaitGroup
		activations := make([]error, 2)
		var nickErr error
		for j := range activations {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := *d
				activations[j] = f.svc.Activate(ctx, f.user, &c, code, lenient)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *d
			nickErr = f.svc.SetNickname(ctx, &c, fmt.Sprintf("n%d", i))
		}()
		wg.Wait()
		if nickErr != nil {
			t.Fatalf("SetNickname: %v", nickErr)
		}
		ok := 0
		for _, err := range activations {
			if err == nil {
				ok++
			}
		}
		got := reread(t, f, d)
		if _, _, present, _ := pairingState(t, got); ok != 1 || got.Status != mfa.StatusActive || got.Nickname != fmt.Sprintf("n%d", i) || present {
			t.Errorf("round %d: %d activations succeeded (%v); status %s, nickname %q, pairing kept %v", i, ok, activations, got.Status, got.Nickname, present)
		}
		if err := f.svc.Store.DeleteMFADevice(ctx, f.user.EnvironmentID, f.user.ID, d.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// testStaleResendAfterActivation: a resend from a copy read before the
// activation sends nothing and leaves the device active.
func testStaleResendAfterActivation(t *testing.T, f *fixture) {
	ctx := context.Background()
	d, code := pairingDevice(t, f)
	stale := reread(t, f, d)
	if err := f.svc.Activate(ctx, f.user, d, code, lenient); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	before := len(f.out.sent)
	if err := f.svc.ResendPairing(ctx, f.user, stale, method); !errors.Is(err, mfa.ErrNoPairingCode) {
		t.Errorf("stale ResendPairing = %v, want ErrNoPairingCode", err)
	}
	got := reread(t, f, d)
	if _, _, present, _ := pairingState(t, got); got.Status != mfa.StatusActive || present {
		t.Errorf("after a stale resend: status %s, pairing present %v", got.Status, present)
	}
	if len(f.out.sent) != before {
		t.Errorf("a stale resend sent %d passcodes", len(f.out.sent)-before)
	}
}

// testStaleWritesKeepOrderAndCoolDown: a cool-down written from a copy
// read before a reorder keeps the order; a nickname written from a copy
// read before the cool-down keeps the cool-down.
func testStaleWritesKeepOrderAndCoolDown(t *testing.T, f *fixture) {
	ctx := context.Background()
	a, _, err := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeSMS, Phone: "+15125550101"}, lenient, method)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := f.svc.CreateDevice(ctx, f.user, mfa.DeviceInput{Type: mfa.TypeEmail, Email: "erin@example.com"}, lenient, method)
	if err != nil {
		t.Fatal(err)
	}
	stale := reread(t, f, a)
	if err := f.svc.SetOrder(ctx, f.user.EnvironmentID, f.user.ID, []string{b.ID, a.ID}); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Challenge(ctx, f.user, stale, method, mfa.PurposeAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	code := f.out.last().Code
	staleForNickname := reread(t, f, a)
	for range 2 {
		otpErr(t, f.svc.Check(ctx, f.user, stale, method, lenient, c, wrong(code)), mfa.ReasonInvalid)
	}
	otpErr(t, f.svc.Check(ctx, f.user, stale, method, lenient, c, wrong(code)), mfa.ReasonLocked)
	got := reread(t, f, a)
	_, _, _, cool := pairingState(t, got)
	if got.Order != 2 || cool == 0 {
		t.Errorf("after a cool-down from a copy read before the reorder: order %d (want 2), cool-down %d", got.Order, cool)
	}
	if err := f.svc.SetNickname(ctx, staleForNickname, "phone"); err != nil {
		t.Fatal(err)
	}
	got = reread(t, f, a)
	if _, _, _, c2 := pairingState(t, got); got.Nickname != "phone" || c2 != cool || got.Order != 2 {
		t.Errorf("after a stale nickname: nickname %q, cool-down %d (want %d), order %d", got.Nickname, c2, cool, got.Order)
	}
	_, err = f.svc.Challenge(ctx, f.user, got, method, mfa.PurposeAuthentication)
	otpErr(t, err, mfa.ReasonLocked)
}
