package storetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkFIDO2Policy(envID, name string) *store.FIDO2Policy {
	ts := now()
	return &store.FIDO2Policy{ID: newID(), EnvironmentID: envID, Name: name,
		Data: json.RawMessage(`{"attestationRequirements":"NONE","discoverableCredentials":"REQUIRED"}`), CreatedAt: ts, UpdatedAt: ts}
}

// testFIDO2Policies: policies round-trip, names are unique whatever
// their case, one default per environment, every write moves the
// version, and nothing crosses environments.
func testFIDO2Policies(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	_, err := s.GetDefaultFIDO2Policy(ctx, envA.ID)
	wantErr(t, err, store.ErrNotFound, "GetDefaultFIDO2Policy with none")

	v := version(t, s, envA.ID)
	def := mkFIDO2Policy(envA.ID, "Passkeys")
	def.Default = true
	must(t, s.CreateFIDO2Policy(ctx, def), "CreateFIDO2Policy default")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after create = %d, want %d", got, v+1)
	}
	keys := mkFIDO2Policy(envA.ID, "Security Keys")
	must(t, s.CreateFIDO2Policy(ctx, keys), "CreateFIDO2Policy")
	bDef := mkFIDO2Policy(envB.ID, "passkeys")
	bDef.Default = true
	must(t, s.CreateFIDO2Policy(ctx, bDef), "CreateFIDO2Policy in another environment")

	for _, want := range []*store.FIDO2Policy{def, keys, bDef} {
		got, err := s.GetFIDO2Policy(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetFIDO2Policy")
		checkRecord(t, "GetFIDO2Policy", got, want)
	}
	got, err := s.GetDefaultFIDO2Policy(ctx, envA.ID)
	must(t, err, "GetDefaultFIDO2Policy")
	checkRecord(t, "GetDefaultFIDO2Policy", got, def)
	list, err := s.ListFIDO2Policies(ctx, envA.ID)
	must(t, err, "ListFIDO2Policies")
	checkSet(t, "ListFIDO2Policies(A)", list, *def, *keys)

	wantUnique(t, s.CreateFIDO2Policy(ctx, mkFIDO2Policy(envA.ID, "SECURITY keys")), "fido2Policy", "name", "create with a taken name")
	second := mkFIDO2Policy(envA.ID, "Second")
	second.Default = true
	wantUnique(t, s.CreateFIDO2Policy(ctx, second), "fido2Policy", "default", "create of a second default")
	_, err = s.GetFIDO2Policy(ctx, envA.ID, second.ID)
	wantErr(t, err, store.ErrNotFound, "a refused create wrote nothing")

	upd := *keys
	upd.Name, upd.Data, upd.UpdatedAt = "Roaming keys", json.RawMessage(`{"attestationRequirements":"DIRECT"}`), now().Add(time.Minute)
	v = version(t, s, envA.ID)
	must(t, s.UpdateFIDO2Policy(ctx, &upd), "UpdateFIDO2Policy")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after update = %d, want %d", got, v+1)
	}
	got, err = s.GetFIDO2Policy(ctx, envA.ID, keys.ID)
	must(t, err, "GetFIDO2Policy after update")
	checkRecord(t, "GetFIDO2Policy after update", got, upd)
	taken := upd
	taken.Name = "PASSKEYS"
	wantUnique(t, s.UpdateFIDO2Policy(ctx, &taken), "fido2Policy", "name", "update to a taken name")

	// Moving the default: clear the others, then set it.
	v = version(t, s, envA.ID)
	must(t, s.Tx(ctx, func(tx store.Store) error {
		if err := tx.ClearDefaultFIDO2Policy(ctx, envA.ID, upd.ID); err != nil {
			return err
		}
		upd.Default = true
		return tx.UpdateFIDO2Policy(ctx, &upd)
	}), "move the default")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after moving the default = %d, want %d", got, v+1)
	}
	got, err = s.GetDefaultFIDO2Policy(ctx, envA.ID)
	must(t, err, "GetDefaultFIDO2Policy after the move")
	checkRecord(t, "default after the move", got, upd)
	got, err = s.GetFIDO2Policy(ctx, envA.ID, def.ID)
	must(t, err, "GetFIDO2Policy of the old default")
	if got.Default {
		t.Errorf("the old default is still the default")
	}
	got, err = s.GetDefaultFIDO2Policy(ctx, envB.ID)
	must(t, err, "GetDefaultFIDO2Policy(B)")
	checkRecord(t, "default of B after A's move", got, bDef)

	// Isolation.
	_, err = s.GetFIDO2Policy(ctx, envB.ID, keys.ID)
	wantErr(t, err, store.ErrNotFound, "GetFIDO2Policy(envB, id of envA)")
	hijack := upd
	hijack.EnvironmentID = envB.ID
	wantErr(t, s.UpdateFIDO2Policy(ctx, &hijack), store.ErrNotFound, "UpdateFIDO2Policy across environments")
	wantErr(t, s.DeleteFIDO2Policy(ctx, envB.ID, def.ID), store.ErrNotFound, "DeleteFIDO2Policy across environments")
	must(t, s.ClearDefaultFIDO2Policy(ctx, envB.ID, ""), "ClearDefaultFIDO2Policy(B)")
	got, err = s.GetDefaultFIDO2Policy(ctx, envA.ID)
	must(t, err, "GetDefaultFIDO2Policy(A) after B's clear")
	checkRecord(t, "default of A after B's clear", got, upd)

	v = version(t, s, envA.ID)
	must(t, s.DeleteFIDO2Policy(ctx, envA.ID, def.ID), "DeleteFIDO2Policy")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after delete = %d, want %d", got, v+1)
	}
	wantErr(t, s.DeleteFIDO2Policy(ctx, envA.ID, def.ID), store.ErrNotFound, "DeleteFIDO2Policy twice")
	list, err = s.ListFIDO2Policies(ctx, envA.ID)
	must(t, err, "ListFIDO2Policies after delete")
	checkSet(t, "ListFIDO2Policies after delete", list, upd)

	// Deleting the environment takes its policies.
	must(t, s.DeleteEnvironment(ctx, envB.ID), "DeleteEnvironment")
	_, err = s.GetFIDO2Policy(ctx, envB.ID, bDef.ID)
	wantErr(t, err, store.ErrNotFound, "policy of a deleted environment")
	list, err = s.ListFIDO2Policies(ctx, envB.ID)
	must(t, err, "ListFIDO2Policies of a deleted environment")
	checkSet(t, "ListFIDO2Policies of a deleted environment", list)
}

// testFIDO2PolicyLock: as testDeviceAuthenticationPolicyLock, for FIDO2
// policies.
func testFIDO2PolicyLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	must(t, s.LockFIDO2Policies(ctx, env.ID), "LockFIDO2Policies outside a transaction")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			p := mkFIDO2Policy(env.ID, fmt.Sprintf("default %d", i))
			p.Default = true
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				if err := tx.LockFIDO2Policies(ctx, env.ID); err != nil {
					return err
				}
				if err := tx.ClearDefaultFIDO2Policy(ctx, env.ID, p.ID); err != nil {
					return err
				}
				// Hold the lock a moment: without it the others clear
				// meanwhile and then meet this default.
				time.Sleep(30 * time.Millisecond)
				return tx.CreateFIDO2Policy(ctx, p)
			})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		must(t, err, "a locked default create")
	}
	list, err := s.ListFIDO2Policies(ctx, env.ID)
	must(t, err, "ListFIDO2Policies")
	defaults := 0
	for _, p := range list {
		if p.Default {
			defaults++
		}
	}
	if len(list) != n || defaults != 1 {
		t.Errorf("%d policies, %d defaults; want %d and 1", len(list), defaults, n)
	}
}

// testMFADeviceCredentials: a FIDO2 device's credential id round-trips,
// finds its device (whoever's it is) in its environment only, and is
// unique per environment; devices without one never collide.
func testMFADeviceCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u1, u2 := newUser(t, s, e.ID, pop.ID, "cred1"), newUser(t, s, e.ID, pop.ID, "cred2")
	e2, pop2 := envWithPop(t, s)
	o := newUser(t, s, e2.ID, pop2.ID, "cred-other")

	// Credential ids are case-sensitive (base64url).
	const cred, credUpper = "q83vEjRWeJA", "Q83VEJRWEJA"
	d := mkMFADevice(e.ID, u1.ID, "FIDO2", now())
	d.Email, d.CredentialID = "", cred
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice FIDO2")
	got, err := s.GetMFADevice(ctx, e.ID, u1.ID, d.ID)
	must(t, err, "GetMFADevice")
	if got.CredentialID != cred {
		t.Errorf("CredentialID = %q, want %q", got.CredentialID, cred)
	}
	got, err = s.GetMFADeviceByCredential(ctx, e.ID, cred)
	must(t, err, "GetMFADeviceByCredential")
	checkRecord(t, "GetMFADeviceByCredential", got, d)
	list, err := s.ListMFADevices(ctx, e.ID, u1.ID)
	must(t, err, "ListMFADevices")
	if len(list) != 1 || list[0].CredentialID != cred {
		t.Errorf("ListMFADevices = %+v, want the device with its credential", list)
	}

	_, err = s.GetMFADeviceByCredential(ctx, e.ID, credUpper)
	wantErr(t, err, store.ErrNotFound, "GetMFADeviceByCredential in another case")
	_, err = s.GetMFADeviceByCredential(ctx, e2.ID, cred)
	wantErr(t, err, store.ErrNotFound, "GetMFADeviceByCredential in another environment")
	_, err = s.GetMFADeviceByCredential(ctx, e.ID, "")
	wantErr(t, err, store.ErrNotFound, "GetMFADeviceByCredential of no credential")

	// Devices without a credential never meet the unique index, nor "".
	for range 2 {
		plain := mkMFADevice(e.ID, u1.ID, "EMAIL", now())
		must(t, s.CreateMFADevice(ctx, plain), "CreateMFADevice without a credential")
		if got, _ := s.GetMFADevice(ctx, e.ID, u1.ID, plain.ID); got.CredentialID != "" {
			t.Errorf("CredentialID of an email device = %q, want none", got.CredentialID)
		}
	}

	dup := mkMFADevice(e.ID, u2.ID, "FIDO2", now())
	dup.CredentialID = cred
	wantUnique(t, s.CreateMFADevice(ctx, dup), "device", "credentialId", "a second device with the credential, another user's")
	_, err = s.GetMFADevice(ctx, e.ID, u2.ID, dup.ID)
	wantErr(t, err, store.ErrNotFound, "the refused device was written")
	dup.CredentialID = credUpper
	must(t, s.CreateMFADevice(ctx, dup), "CreateMFADevice with the credential in another case")
	elsewhere := mkMFADevice(e2.ID, o.ID, "FIDO2", now())
	elsewhere.CredentialID = cred
	must(t, s.CreateMFADevice(ctx, elsewhere), "CreateMFADevice with the credential in another environment")
	got, err = s.GetMFADeviceByCredential(ctx, e2.ID, cred)
	must(t, err, "GetMFADeviceByCredential(e2)")
	checkRecord(t, "GetMFADeviceByCredential(e2)", got, elsewhere)

	// Update writes the credential, and meets the same uniqueness.
	upd := *dup
	upd.CredentialID = cred
	wantUnique(t, s.UpdateMFADevice(ctx, &upd), "device", "credentialId", "UpdateMFADevice to a taken credential")
	upd.CredentialID, upd.Status, upd.UpdatedAt = "bmV3LWNyZWQ", "ACTIVE", now().Add(time.Second)
	must(t, s.UpdateMFADevice(ctx, &upd), "UpdateMFADevice with a new credential")
	got, err = s.GetMFADeviceByCredential(ctx, e.ID, "bmV3LWNyZWQ")
	must(t, err, "GetMFADeviceByCredential after update")
	if got.ID != dup.ID || got.UserID != u2.ID {
		t.Errorf("GetMFADeviceByCredential after update = %+v, want device %s", got, dup.ID)
	}
	_, err = s.GetMFADeviceByCredential(ctx, e.ID, credUpper)
	wantErr(t, err, store.ErrNotFound, "the old credential after update")
	upd.CredentialID = ""
	must(t, s.UpdateMFADevice(ctx, &upd), "UpdateMFADevice clearing the credential")
	if got, _ := s.GetMFADevice(ctx, e.ID, u2.ID, dup.ID); got.CredentialID != "" {
		t.Errorf("CredentialID after clearing = %q", got.CredentialID)
	}

	// A deleted device frees its credential.
	must(t, s.DeleteMFADevice(ctx, e.ID, u1.ID, d.ID), "DeleteMFADevice")
	_, err = s.GetMFADeviceByCredential(ctx, e.ID, cred)
	wantErr(t, err, store.ErrNotFound, "GetMFADeviceByCredential of a deleted device")
	again := mkMFADevice(e.ID, u2.ID, "FIDO2", now())
	again.CredentialID = cred
	must(t, s.CreateMFADevice(ctx, again), "CreateMFADevice with a freed credential")
}

// testMFADeviceCredentialLock: GetMFADeviceByCredential locks the row
// inside a transaction, so that read-modify-writes found by credential
// (a sign counter) take turns.
func testMFADeviceCredentialLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "credlock")
	d := mkMFADevice(e.ID, u.ID, "FIDO2", now())
	d.CredentialID, d.Data = "Y291bnRlcg", json.RawMessage(`{"n":0}`)
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				cur, err := tx.GetMFADeviceByCredential(ctx, e.ID, d.CredentialID)
				if err != nil {
					return err
				}
				var v struct{ N int }
				if err := json.Unmarshal(cur.Data, &v); err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond)
				cur.Data = json.RawMessage(`{"n":` + strconv.Itoa(v.N+1) + `}`)
				return tx.UpdateMFADevice(ctx, cur)
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err, "concurrent read-modify-writes by credential")
	}
	got, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if string(got.Data) != `{"n":10}` {
		t.Errorf("data after %d locked read-modify-writes = %s, want {\"n\":10}", n, got.Data)
	}
}
