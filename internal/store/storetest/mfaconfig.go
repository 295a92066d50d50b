package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkDAP(envID, name string) *store.DeviceAuthenticationPolicy {
	ts := now()
	return &store.DeviceAuthenticationPolicy{ID: newID(), EnvironmentID: envID, Name: name,
		Data: json.RawMessage(`{"sms":{"enabled":true},"mobile":{"enabled":false}}`), CreatedAt: ts, UpdatedAt: ts}
}

func testDeviceAuthenticationPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	_, err := s.GetDefaultDeviceAuthenticationPolicy(ctx, envA.ID)
	wantErr(t, err, store.ErrNotFound, "GetDefaultDeviceAuthenticationPolicy with none")

	log := watch(s)
	v := version(t, s, envA.ID)
	def := mkDAP(envA.ID, "Default MFA Policy")
	def.Default = true
	must(t, s.CreateDeviceAuthenticationPolicy(ctx, def), "CreateDeviceAuthenticationPolicy default")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after create = %d, want %d", got, v+1)
	}
	log.take()
	strict := mkDAP(envA.ID, "Strict")
	must(t, s.CreateDeviceAuthenticationPolicy(ctx, strict), "CreateDeviceAuthenticationPolicy")
	bDef := mkDAP(envB.ID, "default mfa policy")
	bDef.Default = true
	must(t, s.CreateDeviceAuthenticationPolicy(ctx, bDef), "CreateDeviceAuthenticationPolicy in another environment")

	for _, want := range []*store.DeviceAuthenticationPolicy{def, strict, bDef} {
		got, err := s.GetDeviceAuthenticationPolicy(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetDeviceAuthenticationPolicy")
		checkRecord(t, "GetDeviceAuthenticationPolicy", got, want)
	}
	got, err := s.GetDefaultDeviceAuthenticationPolicy(ctx, envA.ID)
	must(t, err, "GetDefaultDeviceAuthenticationPolicy")
	checkRecord(t, "GetDefaultDeviceAuthenticationPolicy", got, def)
	list, err := s.ListDeviceAuthenticationPolicies(ctx, envA.ID)
	must(t, err, "ListDeviceAuthenticationPolicies")
	checkSet(t, "ListDeviceAuthenticationPolicies(A)", list, *def, *strict)

	wantUnique(t, s.CreateDeviceAuthenticationPolicy(ctx, mkDAP(envA.ID, "STRICT")), "deviceAuthenticationPolicy", "name", "create with a taken name")
	second := mkDAP(envA.ID, "Second")
	second.Default = true
	wantUnique(t, s.CreateDeviceAuthenticationPolicy(ctx, second), "deviceAuthenticationPolicy", "default", "create of a second default")

	upd := *strict
	upd.Name, upd.Data, upd.UpdatedAt = "Stricter", json.RawMessage(`{"sms":{"enabled":false}}`), now().Add(time.Minute)
	v = version(t, s, envA.ID)
	must(t, s.UpdateDeviceAuthenticationPolicy(ctx, &upd), "UpdateDeviceAuthenticationPolicy")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after update = %d, want %d", got, v+1)
	}
	got, err = s.GetDeviceAuthenticationPolicy(ctx, envA.ID, strict.ID)
	must(t, err, "GetDeviceAuthenticationPolicy after update")
	checkRecord(t, "GetDeviceAuthenticationPolicy after update", got, upd)
	taken := upd
	taken.Name = "default MFA policy"
	wantUnique(t, s.UpdateDeviceAuthenticationPolicy(ctx, &taken), "deviceAuthenticationPolicy", "name", "update to a taken name")

	// Moving the default: clear the others, then set it.
	must(t, s.Tx(ctx, func(tx store.Store) error {
		if err := tx.ClearDefaultDeviceAuthenticationPolicy(ctx, envA.ID, upd.ID); err != nil {
			return err
		}
		upd.Default = true
		return tx.UpdateDeviceAuthenticationPolicy(ctx, &upd)
	}), "move the default")
	got, err = s.GetDefaultDeviceAuthenticationPolicy(ctx, envA.ID)
	must(t, err, "GetDefaultDeviceAuthenticationPolicy after the move")
	checkRecord(t, "default after the move", got, upd)
	got, err = s.GetDefaultDeviceAuthenticationPolicy(ctx, envB.ID)
	must(t, err, "GetDefaultDeviceAuthenticationPolicy(B)")
	checkRecord(t, "default of B after A's move", got, bDef)

	// Isolation.
	_, err = s.GetDeviceAuthenticationPolicy(ctx, envB.ID, strict.ID)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthenticationPolicy(envB, id of envA)")
	hijack := upd
	hijack.EnvironmentID = envB.ID
	wantErr(t, s.UpdateDeviceAuthenticationPolicy(ctx, &hijack), store.ErrNotFound, "UpdateDeviceAuthenticationPolicy across environments")
	wantErr(t, s.DeleteDeviceAuthenticationPolicy(ctx, envB.ID, def.ID), store.ErrNotFound, "DeleteDeviceAuthenticationPolicy across environments")

	must(t, s.DeleteDeviceAuthenticationPolicy(ctx, envA.ID, def.ID), "DeleteDeviceAuthenticationPolicy")
	wantErr(t, s.DeleteDeviceAuthenticationPolicy(ctx, envA.ID, def.ID), store.ErrNotFound, "DeleteDeviceAuthenticationPolicy twice")
	list, err = s.ListDeviceAuthenticationPolicies(ctx, envA.ID)
	must(t, err, "ListDeviceAuthenticationPolicies after delete")
	checkSet(t, "ListDeviceAuthenticationPolicies after delete", list, upd)

	// Deleting the environment takes its policies.
	must(t, s.DeleteEnvironment(ctx, envB.ID), "DeleteEnvironment")
	_, err = s.GetDeviceAuthenticationPolicy(ctx, envB.ID, bDef.ID)
	wantErr(t, err, store.ErrNotFound, "policy of a deleted environment")
}

func testMFASettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	_, err := s.GetMFASettings(ctx, envA.ID)
	wantErr(t, err, store.ErrNotFound, "GetMFASettings never set")

	v := version(t, s, envA.ID)
	m := &store.MFASettings{EnvironmentID: envA.ID, Data: json.RawMessage(`{"pairing":{"maxAllowedDevices":7}}`), UpdatedAt: now()}
	must(t, s.PutMFASettings(ctx, m), "PutMFASettings")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after put = %d, want %d", got, v+1)
	}
	got, err := s.GetMFASettings(ctx, envA.ID)
	must(t, err, "GetMFASettings")
	checkRecord(t, "GetMFASettings", got, m)
	m2 := &store.MFASettings{EnvironmentID: envA.ID, Data: json.RawMessage(`{"pairing":{"maxAllowedDevices":3}}`), UpdatedAt: now().Add(time.Minute)}
	must(t, s.PutMFASettings(ctx, m2), "PutMFASettings replacing")
	got, err = s.GetMFASettings(ctx, envA.ID)
	must(t, err, "GetMFASettings after replace")
	checkRecord(t, "GetMFASettings after replace", got, m2)

	_, err = s.GetMFASettings(ctx, envB.ID)
	wantErr(t, err, store.ErrNotFound, "GetMFASettings of another environment")
	wantErr(t, s.PutMFASettings(ctx, &store.MFASettings{EnvironmentID: newID(), Data: json.RawMessage(`{}`), UpdatedAt: now()}),
		store.ErrNotFound, "PutMFASettings of no environment")

	v = version(t, s, envA.ID)
	must(t, s.DeleteMFASettings(ctx, envA.ID), "DeleteMFASettings")
	if got := version(t, s, envA.ID); got != v+1 {
		t.Errorf("version after reset = %d, want %d", got, v+1)
	}
	_, err = s.GetMFASettings(ctx, envA.ID)
	wantErr(t, err, store.ErrNotFound, "GetMFASettings after reset")
	must(t, s.DeleteMFASettings(ctx, envA.ID), "DeleteMFASettings with nothing set")

	must(t, s.PutMFASettings(ctx, m), "PutMFASettings again")
	must(t, s.DeleteEnvironment(ctx, envA.ID), "DeleteEnvironment")
	_, err = s.GetMFASettings(ctx, envA.ID)
	wantErr(t, err, store.ErrNotFound, "settings of a deleted environment")
}

// testDeviceAuthenticationPolicyLock: transactions that take
// LockDeviceAuthenticationPolicies for one environment run one after the
// other. Each creates a policy as the default, as the API does (clear
// the others, insert its own): every one succeeds (none meets another's
// default in flight) and exactly one default remains.
func testDeviceAuthenticationPolicyLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	must(t, s.LockDeviceAuthenticationPolicies(ctx, env.ID), "LockDeviceAuthenticationPolicies outside a transaction")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			p := mkDAP(env.ID, fmt.Sprintf("default %d", i))
			p.Default = true
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				if err := tx.LockDeviceAuthenticationPolicies(ctx, env.ID); err != nil {
					return err
				}
				if err := tx.ClearDefaultDeviceAuthenticationPolicy(ctx, env.ID, p.ID); err != nil {
					return err
				}
				// Hold the lock a moment: without it the others clear
				// meanwhile and then meet this default.
				time.Sleep(30 * time.Millisecond)
				return tx.CreateDeviceAuthenticationPolicy(ctx, p)
			})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		must(t, err, "a locked default create")
	}
	list, err := s.ListDeviceAuthenticationPolicies(ctx, env.ID)
	must(t, err, "ListDeviceAuthenticationPolicies")
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
