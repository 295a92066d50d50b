package fido_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

// TestNewRP: a base URL on an IP address is no relying party unless the
// FIDO2 policy names one; localhost is a host name, over http too.
func TestNewRP(t *testing.T) {
	named := &fido.Policy{RPID: "Example.test"}
	for _, tc := range []struct {
		name, base string
		pol        *fido.Policy
		id         string // "" = refused
		origins    []string
	}{
		{"IPv4", "http://127.0.0.1:8080", nil, "", nil},
		{"IPv6", "http://[::1]:8080", nil, "", nil},
		{"IPv4 under a policy's relying party", "http://127.0.0.1:8080", named, "example.test", []string{"http://127.0.0.1:8080"}},
		{"localhost over http", "http://localhost:8080", nil, "localhost", []string{"http://localhost:8080"}},
		{"a domain", "https://Login.Example.test", nil, "login.example.test", []string{"https://Login.Example.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp, err := fido.NewRP(tc.base, tc.pol, "")
			if tc.id == "" {
				var e *fido.Error
				if !errors.As(err, &e) || e.Kind != fido.KindRelyingParty || e.Target != "relyingPartyId" {
					t.Fatalf("NewRP = %+v, %v; want a relying party refusal on relyingPartyId", rp, err)
				}
				return
			}
			if err != nil || rp.ID != tc.id || len(rp.Origins) != 1 || rp.Origins[0] != tc.origins[0] {
				t.Fatalf("NewRP = %+v, %v", rp, err)
			}
		})
	}
}

// TestLocalhostHTTP: a passkey registers and signs on at
// http://localhost:8080, the base URL the README suggests for a laptop.
func TestLocalhostHTTP(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, b.DSN(t))
			const local = "http://localhost:8080"
			rp, err := fido.NewRP(local, nil, "Gatehouse")
			if err != nil || !rp.Allows(local) || rp.Allows("http://localhost:9090") || rp.Allows("http://evil.localhost:8080") {
				t.Fatalf("NewRP(%s) = %+v, %v", local, rp, err)
			}
			f.rp = rp
			ctx := context.Background()
			pol := &fido.Policy{UserVerification: fido.Required, ResidentKey: fido.Required, BackupAllowed: true}
			a := &fidotest.Authenticator{}
			opts, sess, err := f.svc.BeginRegistration(ctx, f.user, nil, pol, rp)
			if err != nil {
				t.Fatal(err)
			}
			flags := fidotest.Flags{UV: true, BE: true, BS: true}
			att, _, err := a.Create(opts, fidotest.CreateOptions{Origin: local, Resident: true, Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			now := f.clock.now()
			d := &store.MFADevice{ID: uuid.NewString(), EnvironmentID: f.user.EnvironmentID, UserID: f.user.ID, Type: fido.DeviceType,
				Status: "ACTIVATION_REQUIRED", CreatedAt: now, UpdatedAt: now}
			if err := f.svc.FinishRegistration(ctx, f.user, d, sess, local, att, pol, rp); err != nil {
				t.Fatalf("FinishRegistration at %s: %v", local, err)
			}
			if err := f.st.CreateMFADevice(ctx, d); err != nil {
				t.Fatal(err)
			}
			opts, sess, err = f.svc.BeginAssertion(ctx, f.user, []store.MFADevice{*d}, pol, rp)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := a.Get(opts, fidotest.GetOptions{Origin: local, Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, sess, local, answer, pol, rp); err != nil || got.ID != d.ID {
				t.Fatalf("FinishAssertion at %s: %v", local, err)
			}
		})
	}
}
