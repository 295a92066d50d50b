package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testMFASuite(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"MFADevices", testMFADevices},
		{"MFADeviceIsolation", testMFADeviceIsolation},
		{"MFADeviceOrder", testMFADeviceOrder},
		{"MFATOTPStep", testMFATOTPStep},
		{"MFATOTPStepRace", testMFATOTPStepRace},
		{"MFALockout", testMFALockout},
		{"MFALockoutConcurrent", testMFALockoutConcurrent},
		{"MFADeviceNickname", testMFADeviceNickname},
		{"MFADeviceLockedUpdate", testMFADeviceLockedUpdate},
		{"MFAEnvironmentDelete", testMFAEnvironmentDelete},
		{"MFADeviceCredentials", testMFADeviceCredentials},
		{"MFADeviceCredentialLock", testMFADeviceCredentialLock},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}

func mkMFADevice(envID, userID, typ string, created time.Time) *store.MFADevice {
	return &store.MFADevice{ID: newID(), EnvironmentID: envID, UserID: userID, Type: typ, Status: "ACTIVE",
		Email: "a@example.com", Data: json.RawMessage(`{"k":"v"}`), CreatedAt: created, UpdatedAt: created}
}

// testMFADevices: a device round-trips every field; updates write all
// but the TOTP step; deleting the user deletes its devices and lockout.
func testMFADevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "mfa")
	d := mkMFADevice(e.ID, u.ID, "TOTP", now())
	d.Status, d.Nickname, d.Secret, d.TOTPStep, d.Order, d.Email, d.Phone = "ACTIVATION_REQUIRED", "app", []byte{0, 1, 2, 0xff}, 7, 3, "", "+15125551234"
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	got, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if got.Type != d.Type || got.Status != d.Status || got.Nickname != d.Nickname || got.Phone != d.Phone || got.Email != "" ||
		!bytes.Equal(got.Secret, d.Secret) || got.TOTPStep != 7 || got.Order != 3 || string(got.Data) != `{"k":"v"}` ||
		!got.CreatedAt.Equal(d.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("GetMFADevice = %+v, want %+v", got, d)
	}
	plain := mkMFADevice(e.ID, u.ID, "EMAIL", now())
	must(t, s.CreateMFADevice(ctx, plain), "CreateMFADevice email")
	if got, _ := s.GetMFADevice(ctx, e.ID, u.ID, plain.ID); got.Secret != nil {
		t.Errorf("Secret of an email device = %v, want nil", got.Secret)
	}
	wantErr(t, s.CreateMFADevice(ctx, mkMFADevice(e.ID, newID(), "EMAIL", now())), store.ErrNotFound, "CreateMFADevice for no user")
	dup := *plain
	wantErr(t, s.CreateMFADevice(ctx, &dup), store.ErrConflict, "CreateMFADevice duplicate id")

	got.Status, got.Nickname, got.TOTPStep, got.Data, got.UpdatedAt = "ACTIVE", "renamed", 99, json.RawMessage(`{}`), now().Add(time.Second)
	must(t, s.UpdateMFADevice(ctx, got), "UpdateMFADevice")
	again, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if again.Status != "ACTIVE" || again.Nickname != "renamed" || again.TOTPStep != 7 || string(again.Data) != `{}` || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("after UpdateMFADevice: %+v", again)
	}
	n, err := s.CountMFADevices(ctx, e.ID, u.ID)
	must(t, err, "CountMFADevices")
	if n != 2 {
		t.Errorf("CountMFADevices = %d, want 2", n)
	}
	must(t, s.DeleteMFADevice(ctx, e.ID, u.ID, plain.ID), "DeleteMFADevice")
	wantErr(t, s.DeleteMFADevice(ctx, e.ID, u.ID, plain.ID), store.ErrNotFound, "DeleteMFADevice twice")
	wantErr(t, s.UpdateMFADevice(ctx, plain), store.ErrNotFound, "UpdateMFADevice deleted")

	_, err = s.RecordMFAFailure(ctx, e.ID, u.ID, 5, time.Minute, now())
	must(t, err, "RecordMFAFailure")
	must(t, s.DeleteUser(ctx, e.ID, u.ID), "DeleteUser")
	wantErr(t, s.DeleteMFADevice(ctx, e.ID, u.ID, d.ID), store.ErrNotFound, "device of a deleted user")
	if l, err := s.GetMFALockout(ctx, e.ID, u.ID); err != nil || l.Failures != 0 {
		t.Errorf("lockout of a deleted user = %+v, %v", l, err)
	}
}

// testMFADeviceIsolation: another user's or environment's id reaches
// nothing, for reads and writes alike.
func testMFADeviceIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	e1, p1 := envWithPop(t, s)
	e2, p2 := envWithPop(t, s)
	u1 := newUser(t, s, e1.ID, p1.ID, "one")
	u1b := newUser(t, s, e1.ID, p1.ID, "other")
	u2 := newUser(t, s, e2.ID, p2.ID, "two")
	d := mkMFADevice(e1.ID, u1.ID, "EMAIL", now())
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	// A user id of another environment is no user of this one.
	wantErr(t, s.CreateMFADevice(ctx, mkMFADevice(e1.ID, u2.ID, "EMAIL", now())), store.ErrNotFound, "CreateMFADevice foreign user")
	for _, c := range []struct{ env, user string }{{e2.ID, u1.ID}, {e1.ID, u1b.ID}, {e2.ID, u2.ID}} {
		_, err := s.GetMFADevice(ctx, c.env, c.user, d.ID)
		wantErr(t, err, store.ErrNotFound, "GetMFADevice foreign")
		wantErr(t, s.DeleteMFADevice(ctx, c.env, c.user, d.ID), store.ErrNotFound, "DeleteMFADevice foreign")
		wantErr(t, s.AdvanceMFATOTPStep(ctx, c.env, c.user, d.ID, 5), store.ErrNotFound, "AdvanceMFATOTPStep foreign")
		wantErr(t, s.SetMFADeviceOrder(ctx, c.env, c.user, []string{d.ID}), store.ErrNotFound, "SetMFADeviceOrder foreign")
		f := *d
		f.EnvironmentID, f.UserID, f.Nickname = c.env, c.user, "x"
		wantErr(t, s.UpdateMFADevice(ctx, &f), store.ErrNotFound, "UpdateMFADevice foreign")
		list, err := s.ListMFADevices(ctx, c.env, c.user)
		must(t, err, "ListMFADevices")
		if len(list) != 0 {
			t.Errorf("ListMFADevices(%s, %s) = %d devices", c.env, c.user, len(list))
		}
	}
	_, err := s.RecordMFAFailure(ctx, e2.ID, u1.ID, 5, time.Minute, now())
	wantErr(t, err, store.ErrNotFound, "RecordMFAFailure foreign")
	got, err := s.GetMFADevice(ctx, e1.ID, u1.ID, d.ID)
	must(t, err, "GetMFADevice")
	if got.Nickname != "" || got.TOTPStep != 0 {
		t.Errorf("device changed by foreign writes: %+v", got)
	}
}

// testMFADeviceOrder: ordered devices first, the rest oldest first; an
// order naming a device not the user's writes nothing.
func testMFADeviceOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "order")
	base := now()
	var ids []string
	for i := range 3 {
		d := mkMFADevice(e.ID, u.ID, "EMAIL", base.Add(time.Duration(i)*time.Second))
		must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
		ids = append(ids, d.ID)
	}
	order := func() []string {
		list, err := s.ListMFADevices(ctx, e.ID, u.ID)
		must(t, err, "ListMFADevices")
		var out []string
		for _, d := range list {
			out = append(out, d.ID)
		}
		return out
	}
	if got := order(); !equalStrings(got, ids) {
		t.Errorf("unordered = %v, want oldest first %v", got, ids)
	}
	must(t, s.SetMFADeviceOrder(ctx, e.ID, u.ID, []string{ids[2], ids[1]}), "SetMFADeviceOrder")
	if got, want := order(), []string{ids[2], ids[1], ids[0]}; !equalStrings(got, want) {
		t.Errorf("ordered = %v, want %v", got, want)
	}
	wantErr(t, s.SetMFADeviceOrder(ctx, e.ID, u.ID, []string{ids[0], newID()}), store.ErrNotFound, "SetMFADeviceOrder unknown id")
	if got, want := order(), []string{ids[2], ids[1], ids[0]}; !equalStrings(got, want) {
		t.Errorf("after a refused order = %v, want %v", got, want)
	}
	must(t, s.SetMFADeviceOrder(ctx, e.ID, u.ID, nil), "SetMFADeviceOrder remove")
	if got := order(); !equalStrings(got, ids) {
		t.Errorf("order removed = %v, want %v", got, ids)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testMFATOTPStep: a step moves forward only.
func testMFATOTPStep(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "totp")
	d := mkMFADevice(e.ID, u.ID, "TOTP", now())
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	must(t, s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, d.ID, 100), "AdvanceMFATOTPStep 100")
	wantErr(t, s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, d.ID, 100), store.ErrConflict, "replayed step")
	wantErr(t, s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, d.ID, 99), store.ErrConflict, "earlier step")
	must(t, s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, d.ID, 101), "AdvanceMFATOTPStep 101")
	wantErr(t, s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, newID(), 500), store.ErrNotFound, "unknown device")
	got, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if got.TOTPStep != 101 {
		t.Errorf("TOTPStep = %d, want 101", got.TOTPStep)
	}
}

// testMFATOTPStepRace: of many concurrent checks of one code, one wins.
func testMFATOTPStepRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "race")
	d := mkMFADevice(e.ID, u.ID, "TOTP", now())
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.AdvanceMFATOTPStep(ctx, e.ID, u.ID, d.ID, 42) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("AdvanceMFATOTPStep: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent checks of one step won, want 1", won, n)
	}
}

// testMFALockout: the Nth failure in a row locks and restarts the count;
// a lock that ran out counts as none; clearing forgets all.
func testMFALockout(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "lock")
	l, err := s.GetMFALockout(ctx, e.ID, u.ID)
	must(t, err, "GetMFALockout")
	if l.Failures != 0 || !l.LockedUntil.IsZero() {
		t.Errorf("fresh lockout = %+v", l)
	}
	t0 := now()
	for i := 1; i <= 2; i++ {
		l, err = s.RecordMFAFailure(ctx, e.ID, u.ID, 3, 10*time.Minute, t0)
		must(t, err, "RecordMFAFailure")
		if l.Failures != i || !l.LockedUntil.IsZero() {
			t.Errorf("failure %d: %+v", i, l)
		}
	}
	l, err = s.RecordMFAFailure(ctx, e.ID, u.ID, 3, 10*time.Minute, t0)
	must(t, err, "RecordMFAFailure")
	if !l.LockedUntil.Equal(t0.Add(10*time.Minute)) || l.Failures != 0 {
		t.Errorf("third failure: %+v, want locked until %v", l, t0.Add(10*time.Minute))
	}
	got, err := s.GetMFALockout(ctx, e.ID, u.ID)
	must(t, err, "GetMFALockout")
	if !got.LockedUntil.Equal(l.LockedUntil) {
		t.Errorf("GetMFALockout = %+v", got)
	}
	// After the lock ran out, a failure starts a new count.
	l, err = s.RecordMFAFailure(ctx, e.ID, u.ID, 3, 10*time.Minute, t0.Add(11*time.Minute))
	must(t, err, "RecordMFAFailure")
	if l.Failures != 1 || !l.LockedUntil.IsZero() {
		t.Errorf("failure after the lock: %+v", l)
	}
	must(t, s.ClearMFAFailures(ctx, e.ID, u.ID), "ClearMFAFailures")
	if l, _ := s.GetMFALockout(ctx, e.ID, u.ID); l.Failures != 0 {
		t.Errorf("after clear: %+v", l)
	}
	// lockAfter 1 locks at the first failure.
	l, err = s.RecordMFAFailure(ctx, e.ID, u.ID, 1, time.Minute, t0)
	must(t, err, "RecordMFAFailure")
	if l.LockedUntil.IsZero() {
		t.Errorf("lockAfter 1: %+v, want locked", l)
	}
}

// testMFALockoutConcurrent: concurrent failures are all counted.
func testMFALockoutConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "storm")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.RecordMFAFailure(ctx, e.ID, u.ID, 100, time.Minute, now()) })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err, "RecordMFAFailure")
	}
	l, err := s.GetMFALockout(ctx, e.ID, u.ID)
	must(t, err, "GetMFALockout")
	if l.Failures != n {
		t.Errorf("Failures = %d after %d concurrent failures", l.Failures, n)
	}
}

// testMFADeviceNickname: SetMFADeviceNickname writes the nickname and
// updatedAt alone, and reaches no other user's or environment's device.
func testMFADeviceNickname(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	e2, pop2 := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "nick")
	u2 := newUser(t, s, e.ID, pop.ID, "nick2")
	u3 := newUser(t, s, e2.ID, pop2.ID, "nick3")
	d := mkMFADevice(e.ID, u.ID, "EMAIL", now())
	d.Status, d.Order, d.Data = "ACTIVATION_REQUIRED", 2, json.RawMessage(`{"pairing":{"failures":1}}`)
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	at := now().Add(time.Minute)
	must(t, s.SetMFADeviceNickname(ctx, e.ID, u.ID, d.ID, "work", at), "SetMFADeviceNickname")
	got, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if got.Nickname != "work" || !got.UpdatedAt.Equal(at) || got.Status != "ACTIVATION_REQUIRED" || got.Order != 2 ||
		string(got.Data) != `{"pairing":{"failures":1}}` || got.Email != d.Email || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("after SetMFADeviceNickname: %+v", got)
	}
	for _, c := range []struct{ env, user, id string }{{e.ID, u2.ID, d.ID}, {e2.ID, u.ID, d.ID}, {e2.ID, u3.ID, d.ID}, {e.ID, u.ID, newID()}} {
		wantErr(t, s.SetMFADeviceNickname(ctx, c.env, c.user, c.id, "x", at), store.ErrNotFound, "SetMFADeviceNickname foreign or unknown")
	}
	if got, _ := s.GetMFADevice(ctx, e.ID, u.ID, d.ID); got.Nickname != "work" {
		t.Errorf("nickname after foreign writes = %q", got.Nickname)
	}
}

// testMFADeviceLockedUpdate: read-modify-writes of one device, each
// reading it with GetMFADevice inside Tx, take turns: concurrent ones
// lose none of their writes, and a rename at the same time is kept.
func testMFADeviceLockedUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	e, pop := envWithPop(t, s)
	u := newUser(t, s, e.ID, pop.ID, "locked")
	d := mkMFADevice(e.ID, u.ID, "EMAIL", now())
	d.Data = json.RawMessage(`{"n":0}`)
	must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n+1)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(tx store.Store) error {
				cur, err := tx.GetMFADevice(ctx, e.ID, u.ID, d.ID)
				if err != nil {
					return err
				}
				var v struct{ N int }
				if err := json.Unmarshal(cur.Data, &v); err != nil {
					return err
				}
				// Give the others time to read the same row.
				time.Sleep(5 * time.Millisecond)
				cur.Data = json.RawMessage(`{"n":` + strconv.Itoa(v.N+1) + `}`)
				return tx.UpdateMFADevice(ctx, cur)
			})
		})
	}
	wg.Go(func() { errs[n] = s.SetMFADeviceNickname(ctx, e.ID, u.ID, d.ID, "renamed", now()) })
	wg.Wait()
	for _, err := range errs {
		must(t, err, "concurrent device writes")
	}
	got, err := s.GetMFADevice(ctx, e.ID, u.ID, d.ID)
	must(t, err, "GetMFADevice")
	if string(got.Data) != `{"n":12}` {
		t.Errorf("data after %d locked read-modify-writes = %s, want {\"n\":12}", n, got.Data)
	}
	// Each update writes the device whole, but reads it under the lock,
	// so none of them carries back the name from before the rename.
	if got.Nickname != "renamed" {
		t.Errorf("nickname = %q, want the concurrent rename kept", got.Nickname)
	}
}

// testMFAEnvironmentDelete: deleting an environment deletes its users'
// MFA devices and lockouts and leaves another environment's alone.
func testMFAEnvironmentDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	type state struct {
		env, user string
		dev       *store.MFADevice
	}
	mk := func(name string) state {
		e, pop := envWithPop(t, s)
		u := newUser(t, s, e.ID, pop.ID, name)
		d := mkMFADevice(e.ID, u.ID, "SMS", now())
		must(t, s.CreateMFADevice(ctx, d), "CreateMFADevice")
		_, err := s.RecordMFAFailure(ctx, e.ID, u.ID, 5, time.Minute, now())
		must(t, err, "RecordMFAFailure")
		return state{e.ID, u.ID, d}
	}
	gone, kept := mk("gone"), mk("kept")
	must(t, s.DeleteEnvironment(ctx, gone.env), "DeleteEnvironment")
	_, err := s.GetMFADevice(ctx, gone.env, gone.user, gone.dev.ID)
	wantErr(t, err, store.ErrNotFound, "GetMFADevice after DeleteEnvironment")
	if list, err := s.ListMFADevices(ctx, gone.env, gone.user); err != nil || len(list) != 0 {
		t.Errorf("ListMFADevices after DeleteEnvironment = %d devices, %v", len(list), err)
	}
	if l, err := s.GetMFALockout(ctx, gone.env, gone.user); err != nil || l.Failures != 0 || !l.LockedUntil.IsZero() {
		t.Errorf("GetMFALockout after DeleteEnvironment = %+v, %v", l, err)
	}
	// The device's id is free again: nothing of the old row is left.
	again := *gone.dev
	again.EnvironmentID, again.UserID = kept.env, kept.user
	must(t, s.CreateMFADevice(ctx, &again), "CreateMFADevice with the deleted device's id")
	must(t, s.DeleteMFADevice(ctx, kept.env, kept.user, again.ID), "DeleteMFADevice")

	if _, err := s.GetMFADevice(ctx, kept.env, kept.user, kept.dev.ID); err != nil {
		t.Errorf("the other environment's device: %v", err)
	}
	if l, err := s.GetMFALockout(ctx, kept.env, kept.user); err != nil || l.Failures != 1 {
		t.Errorf("the other environment's lockout = %+v, %v", l, err)
	}
}
