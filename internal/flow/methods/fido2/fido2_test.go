package fido2

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestAMR: a device-bound key is "hwk", a synced passkey "swk"; "mfa"
// only where the user was verified (required by the assertion, or done at
// registration).
func TestAMR(t *testing.T) {
	dev := func(data string) *store.MFADevice {
		return &store.MFADevice{CredentialID: "Y3JlZA", Data: []byte(`{"fido2":{"publicKey":"AQID","signCount":1` + data + `}}`)}
	}
	required := &fido.Session{UserVerification: "required"}
	preferred := &fido.Session{UserVerification: "preferred"}
	for _, tc := range []struct {
		name     string
		d        *store.MFADevice
		sess     *fido.Session
		got, reg []string
	}{
		{"security key, UV required", dev(``), required, []string{"hwk", "mfa"}, []string{"hwk"}},
		{"security key, UV preferred", dev(``), preferred, []string{"hwk"}, []string{"hwk"}},
		{"synced passkey, registered with UV", dev(`,"uv":true,"be":true,"bs":true`), required, []string{"swk", "mfa"}, []string{"swk", "mfa"}},
		{"synced passkey, no ceremony", dev(`,"be":true`), nil, []string{"swk"}, []string{"swk"}},
		{"no credential", &store.MFADevice{}, preferred, []string{"hwk"}, []string{"hwk"}},
	} {
		if got := amr(tc.d, tc.sess); !slices.Equal(got, tc.got) {
			t.Errorf("%s: amr %v, want %v", tc.name, got, tc.got)
		}
		if got := registered(tc.d); !slices.Equal(got, tc.reg) {
			t.Errorf("%s: registered %v, want %v", tc.name, got, tc.reg)
		}
	}
}

// TestRefused: a refused ceremony is PingOne's INVALID_DATA with the
// domain's detail, and the attempts left when they are counted.
func TestRefused(t *testing.T) {
	fe := &fido.Error{Reason: wire.DetailInvalidValue, Target: "origin", Message: "The origin is not the relying party's.", Kind: fido.KindOrigin}
	for _, rem := range []int{-1, 0, 2} {
		var we *wire.Error
		if !errors.As(refused(fe, rem), &we) || we.Status != 400 || we.Code != wire.CodeInvalidData || len(we.Details) != 1 {
			t.Fatalf("remaining %d: %v", rem, we)
		}
		d := we.Details[0]
		if d.Code != wire.DetailInvalidValue || d.Target != "origin" || d.Message != fe.Message {
			t.Errorf("remaining %d: detail %+v", rem, d)
		}
		switch ie := d.InnerError; {
		case rem < 0 && ie != nil:
			t.Errorf("uncounted: innerError %+v", ie)
		case rem >= 0 && (ie == nil || ie.FailuresRemaining == nil || *ie.FailuresRemaining != rem):
			t.Errorf("remaining %d: innerError %+v", rem, ie)
		}
	}
	if err := errors.New("boom"); refused(err, 1) != err {
		t.Errorf("another error is passed on")
	}
}
