package otp

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func TestAMR(t *testing.T) {
	for typ, want := range map[string][]string{
		mfa.TypeEmail: {"otp"},
		mfa.TypeTOTP:  {"otp"},
		mfa.TypeSMS:   {"otp", "sms"},
		mfa.TypeVoice: {"otp", "tel"},
	} {
		if got := AMR(typ); !slices.Equal(got, want) {
			t.Errorf("AMR(%s) = %v, want %v", typ, got, want)
		}
	}
}

// TestRefused: each reason a passcode is refused has its PingOne detail.
func TestRefused(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		oe         mfa.OTPError
		code       string
		remaining  *int
		secsUnlock *int
	}{
		{mfa.OTPError{Reason: mfa.ReasonInvalid, Remaining: 2}, wire.DetailInvalidOTP, ptr(2), nil},
		{mfa.OTPError{Reason: mfa.ReasonInvalid, Remaining: -1}, wire.DetailInvalidOTP, ptr(0), nil},
		{mfa.OTPError{Reason: mfa.ReasonExpired}, wire.DetailOTPExpired, nil, nil},
		{mfa.OTPError{Reason: mfa.ReasonUsed}, wire.DetailOTPExpired, nil, nil},
		{mfa.OTPError{Reason: mfa.ReasonLocked, Until: now.Add(90 * time.Second)}, wire.DetailMFALocked, nil, ptr(90)},
		{mfa.OTPError{Reason: mfa.ReasonLocked, Until: now.Add(-time.Second)}, wire.DetailMFALocked, nil, ptr(1)},
	} {
		var we *wire.Error
		if !errors.As(refused(&tc.oe, now), &we) || we.Status != 400 || we.Code != wire.CodeInvalidData || len(we.Details) != 1 {
			t.Fatalf("%+v: %v", tc.oe, we)
		}
		d := we.Details[0]
		if d.Code != tc.code || d.Target != "otp" || d.Message == "" {
			t.Errorf("%+v: detail %+v", tc.oe, d)
		}
		var rem, secs *int
		if d.InnerError != nil {
			rem, secs = d.InnerError.FailuresRemaining, d.InnerError.SecondsUntilUnlock
		}
		if !same(rem, tc.remaining) || !same(secs, tc.secsUnlock) {
			t.Errorf("%+v: failuresRemaining %v secondsUntilUnlock %v", tc.oe, rem, secs)
		}
	}
}

// TestUsableAndRegistrable: the devices a policy lets a user prove, and
// the types a user without one may register.
func TestUsableAndRegistrable(t *testing.T) {
	pol := &mfa.Policy{Methods: map[string]mfa.MethodPolicy{
		mfa.TypeEmail: {Enabled: true}, mfa.TypeTOTP: {Enabled: true}, mfa.TypeSMS: {Enabled: false}}}
	devs := []store.MFADevice{{ID: "a", Type: mfa.TypeSMS, Status: mfa.StatusActive}, {ID: "b", Type: mfa.TypeEmail, Status: mfa.StatusActivationRequired},
		{ID: "c", Type: mfa.TypeEmail, Status: mfa.StatusActive}, {ID: "d", Type: mfa.TypeVoice, Status: mfa.StatusActive}}
	var ids []string
	for _, d := range usable(devs, pol) {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []string{"c"}) {
		t.Errorf("usable = %v", ids)
	}
	u := &store.User{Email: "a@example.com"}
	c := &config{pol: pol, set: &mfa.Settings{MaxDevices: 5}}
	if got := registrable(u, nil, c, nil); !slices.Equal(got, []string{mfa.TypeTOTP, mfa.TypeEmail}) {
		t.Errorf("registrable = %v", got)
	}
	if got := registrable(&store.User{}, nil, c, nil); !slices.Equal(got, []string{mfa.TypeTOTP}) {
		t.Errorf("without an email address: %v", got)
	}
	// A user with devices registers none: an active one of a type the
	// policy disables, or one an administrator created awaiting
	// activation, is a device too.
	for _, d := range devs {
		if got := registrable(u, []store.MFADevice{d}, c, nil); got != nil {
			t.Errorf("with device %s (%s %s): %v", d.ID, d.Type, d.Status, got)
		}
	}
	// An enrolment a sign-on left pending does not count: the next
	// registration replaces it.
	pending := []store.MFADevice{{ID: "e", Type: mfa.TypeTOTP, Status: mfa.StatusActivationRequired, Data: []byte(`{"signOn":true}`)}}
	if got := registrable(u, pending, c, nil); !slices.Equal(got, []string{mfa.TypeTOTP, mfa.TypeEmail}) {
		t.Errorf("with a sign-on's pending enrolment: %v", got)
	}
	c.pol.Methods[mfa.TypeTOTP] = mfa.MethodPolicy{Enabled: true, PairingDisabled: true}
	if got := registrable(u, pending, c, nil); !slices.Equal(got, []string{mfa.TypeEmail}) {
		t.Errorf("TOTP pairing disabled: %v", got)
	}
}

func ptr(n int) *int { return &n }

func same(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
