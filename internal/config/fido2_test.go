package config

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// FIDO2 policies are cached like device authentication policies: "" is
// the default, a hit reads nothing, a write through this node is seen at
// once, another environment's policy is not found.
func TestCacheFIDO2Policies(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t), Options{})
			ctx := context.Background()
			envID := f.env.ID
			now := store.Now()

			if _, err := f.c.FIDO2Policy(ctx, envID, ""); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("default of an environment without policies: %v, want ErrNotFound", err)
			}
			def := &store.FIDO2Policy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Passkeys", Default: true,
				Data:      json.RawMessage(`{"discoverableCredentials":"REQUIRED","relyingPartyId":"","userVerification":{"option":"REQUIRED","enforceDuringAuthentication":true}}`),
				CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateFIDO2Policy(ctx, def))
			keys := &store.FIDO2Policy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Security Keys",
				Data: json.RawMessage(`{"authenticatorAttachment":"CROSS_PLATFORM","relyingPartyId":"example.com"}`), CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateFIDO2Policy(ctx, keys))

			p, err := f.c.FIDO2Policy(ctx, envID, "")
			must(t, err)
			if p.ID != def.ID || !p.Default || p.DiscoverableCredentials != "REQUIRED" || p.RelyingPartyID != "" ||
				!p.UserVerification.EnforceDuringAuthentication || p.Environment.ID != envID {
				t.Errorf("default = %+v, want %s with its settings", p, def.ID)
			}
			if n := f.queries(func() {
				p, err = f.c.FIDO2Policy(ctx, envID, keys.ID)
			}); n != 0 || err != nil || p.Name != "Security Keys" || p.AuthenticatorAttachment != "CROSS_PLATFORM" || p.RelyingPartyID != "example.com" {
				t.Errorf("Security Keys from a warm cache: %+v, %v after %d queries; want it after none", p, err, n)
			}
			if _, err := f.c.FIDO2Policy(ctx, envID, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown id: %v, want ErrNotFound", err)
			}
			other := f.newEnv(t, f.env.OrganizationID, f.env.LicenseID)
			if _, err := f.c.FIDO2Policy(ctx, other.ID, keys.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another environment's policy: %v, want ErrNotFound", err)
			}

			must(t, f.st.Tx(ctx, func(tx store.Store) error {
				if err := tx.ClearDefaultFIDO2Policy(ctx, envID, keys.ID); err != nil {
					return err
				}
				k := *keys
				k.Default = true
				return tx.UpdateFIDO2Policy(ctx, &k)
			}))
			if p, err := f.c.FIDO2Policy(ctx, envID, ""); err != nil || p.ID != keys.ID {
				t.Errorf("default after the move: %+v, %v; want Security Keys", p, err)
			}
			must(t, f.st.DeleteFIDO2Policy(ctx, envID, def.ID))
			if _, err := f.c.FIDO2Policy(ctx, envID, def.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a deleted policy: %v, want ErrNotFound", err)
			}
		})
	}
}

// A device authentication policy stored before FIDO2 was served reads
// PingOne's default fido2 member, or what it lacks of it.
func TestDecodeDeviceAuthenticationPolicyFIDO2(t *testing.T) {
	for _, tc := range []struct {
		data, want string
	}{
		{`{}`, `{"enabled":false,"pairingDisabled":false,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}`},
		{`{"fido2":{"enabled":true}}`, `{"enabled":true,"pairingDisabled":false,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}`},
		{`{"fido2":{"enabled":true,"fido2PolicyId":"p","failure":{"count":5}}}`,
			`{"enabled":true,"pairingDisabled":false,"fido2PolicyId":"p","failure":{"count":5,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}`},
		{`{"fido2":{"enabled":false,"promptForNicknameOnPairing":true,"failure":{"count":0,"coolDown":{"duration":30,"timeUnit":"SECONDS"}}}}`,
			`{"enabled":false,"pairingDisabled":false,"promptForNicknameOnPairing":true,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":30,"timeUnit":"SECONDS"}}}`},
	} {
		p, err := DecodeDeviceAuthenticationPolicy(&store.DeviceAuthenticationPolicy{ID: "x", Data: json.RawMessage(tc.data)})
		must(t, err)
		got, err := json.Marshal(p.FIDO2)
		must(t, err)
		if string(got) != tc.want {
			t.Errorf("fido2 of %s = %s, want %s", tc.data, got, tc.want)
		}
	}
}
