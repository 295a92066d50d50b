package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkDevice(x authEnv) *store.DeviceAuthorization {
	return &store.DeviceAuthorization{DeviceCodeHash: newHash(), UserCodeHash: newHash(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID,
		Status: store.DevicePending, Data: json.RawMessage(`{"scope":"openid","aud":["x"],"authTime":0,"accessTokenTtl":3600}`),
		Interval: 5, CreatedAt: now(), ExpiresAt: now().Add(10 * time.Minute)}
}

// testDeviceAuthorizations: a device authorization is found by either
// code's hash in its own environment only, decided once, polled under a
// check of the previous poll, and redeemed once.
func testDeviceAuthorizations(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s)
	d := mkDevice(x)
	must(t, s.CreateDeviceAuthorization(ctx, d), "CreateDeviceAuthorization")
	dup := mkDevice(x)
	dup.UserCodeHash = d.UserCodeHash
	wantUnique(t, s.CreateDeviceAuthorization(ctx, dup), "device authorization", "user_code", "CreateDeviceAuthorization with a taken user code")
	// The same user code in another environment is another row.
	other := mkDevice(y)
	other.UserCodeHash = d.UserCodeHash
	must(t, s.CreateDeviceAuthorization(ctx, other), "CreateDeviceAuthorization(same user code, other environment)")
	for _, tc := range []struct {
		name string
		edit func(d *store.DeviceAuthorization)
	}{
		{"unknown environment", func(d *store.DeviceAuthorization) { d.EnvironmentID = newID() }},
		{"unknown application", func(d *store.DeviceAuthorization) { d.ApplicationID = newID() }},
	} {
		q := mkDevice(x)
		tc.edit(q)
		wantErr(t, s.CreateDeviceAuthorization(ctx, q), store.ErrReferenced, "CreateDeviceAuthorization for an "+tc.name)
	}

	got, err := s.GetDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash)
	must(t, err, "GetDeviceAuthorization")
	checkRecord(t, "GetDeviceAuthorization", got, *d)
	got, err = s.GetDeviceAuthorizationByUserCode(ctx, x.env.ID, d.UserCodeHash)
	must(t, err, "GetDeviceAuthorizationByUserCode")
	checkRecord(t, "GetDeviceAuthorizationByUserCode", got, *d)
	_, err = s.GetDeviceAuthorization(ctx, y.env.ID, d.DeviceCodeHash)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthorization in another environment")
	_, err = s.GetDeviceAuthorization(ctx, x.env.ID, newHash())
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthorization(unknown)")

	// Polls: each names the poll it follows; a stale one conflicts.
	t1 := now().Add(time.Second)
	must(t, s.PollDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash, time.Time{}, t1, 5), "PollDeviceAuthorization(first)")
	wantErr(t, s.PollDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash, time.Time{}, t1, 5), store.ErrConflict, "PollDeviceAuthorization(stale)")
	t2 := t1.Add(time.Second)
	must(t, s.PollDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash, t1, t2, 10), "PollDeviceAuthorization(second)")
	wantErr(t, s.PollDeviceAuthorization(ctx, y.env.ID, d.DeviceCodeHash, t2, t2, 10), store.ErrNotFound, "PollDeviceAuthorization in another environment")
	got, err = s.GetDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash)
	must(t, err, "GetDeviceAuthorization after polls")
	if got.Interval != 10 || !got.LastPolledAt.Equal(t2) {
		t.Errorf("after polls: interval %d, last polled %v; want 10, %v", got.Interval, got.LastPolledAt, t2)
	}

	// A pending row cannot be redeemed; decided once; redeemed once.
	wantErr(t, s.RedeemDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash), store.ErrConflict, "RedeemDeviceAuthorization(pending)")
	data := json.RawMessage(`{"scope":"openid","aud":["x"],"authTime":1,"accessTokenTtl":3600}`)
	wantErr(t, s.DecideDeviceAuthorization(ctx, y.env.ID, d.DeviceCodeHash, store.DeviceApproved, x.user.ID, "s", data), store.ErrNotFound, "DecideDeviceAuthorization in another environment")
	must(t, s.DecideDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash, store.DeviceApproved, x.user.ID, "sess", data), "DecideDeviceAuthorization")
	wantErr(t, s.DecideDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash, store.DeviceDenied, "", "", data), store.ErrConflict, "DecideDeviceAuthorization again")
	got, err = s.GetDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash)
	must(t, err, "GetDeviceAuthorization after approval")
	if got.Status != store.DeviceApproved || got.UserID != x.user.ID || got.SessionID != "sess" || string(got.Data) != string(data) {
		t.Errorf("after approval: %+v", got)
	}
	must(t, s.RedeemDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash), "RedeemDeviceAuthorization")
	wantErr(t, s.RedeemDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash), store.ErrConflict, "RedeemDeviceAuthorization again")
	wantErr(t, s.RedeemDeviceAuthorization(ctx, x.env.ID, newHash()), store.ErrNotFound, "RedeemDeviceAuthorization(unknown)")

	// Of concurrent redemptions exactly one wins.
	race := mkDevice(x)
	must(t, s.CreateDeviceAuthorization(ctx, race), "CreateDeviceAuthorization(race)")
	must(t, s.DecideDeviceAuthorization(ctx, x.env.ID, race.DeviceCodeHash, store.DeviceApproved, x.user.ID, "", data), "DecideDeviceAuthorization(race)")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.RedeemDeviceAuthorization(ctx, x.env.ID, race.DeviceCodeHash) == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("concurrent redemptions: %d won, want 1", wins)
	}
}

// testAuthRequestsCascade: deleting an application takes its device
// authorizations and pushed requests along; deleting an environment takes
// those and its application attribute mappings. Nothing a deleted
// application asked for can be redeemed later.
func testAuthRequestsCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	d, p := mkDevice(x), mkPushed(x)
	must(t, s.CreateDeviceAuthorization(ctx, d), "CreateDeviceAuthorization")
	must(t, s.CreatePushedRequest(ctx, p), "CreatePushedRequest")
	must(t, s.DeleteApplication(ctx, x.env.ID, x.app.ID), "DeleteApplication")
	_, err := s.GetDeviceAuthorization(ctx, x.env.ID, d.DeviceCodeHash)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthorization after DeleteApplication")
	_, err = s.TakePushedRequest(ctx, x.env.ID, x.app.ID, p.URIHash)
	wantErr(t, err, store.ErrNotFound, "TakePushedRequest after DeleteApplication")

	y := newAuthEnv(t, s)
	d, p = mkDevice(y), mkPushed(y)
	attr := mkApplicationAttribute(y.env.ID, y.app.ID, "acct", "x")
	must(t, s.CreateDeviceAuthorization(ctx, d), "CreateDeviceAuthorization")
	must(t, s.CreatePushedRequest(ctx, p), "CreatePushedRequest")
	must(t, s.CreateApplicationAttribute(ctx, attr), "CreateApplicationAttribute")
	must(t, s.DeleteEnvironment(ctx, y.env.ID), "DeleteEnvironment")
	_, err = s.GetDeviceAuthorizationByUserCode(ctx, y.env.ID, d.UserCodeHash)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthorizationByUserCode after DeleteEnvironment")
	_, err = s.TakePushedRequest(ctx, y.env.ID, y.app.ID, p.URIHash)
	wantErr(t, err, store.ErrNotFound, "TakePushedRequest after DeleteEnvironment")
	_, err = s.GetApplicationAttribute(ctx, y.env.ID, y.app.ID, attr.ID)
	wantErr(t, err, store.ErrNotFound, "GetApplicationAttribute after DeleteEnvironment")
}
