package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkDeviceAuth(x authEnv) *store.DeviceAuthentication {
	ts := now()
	return &store.DeviceAuthentication{ID: newID(), EnvironmentID: x.env.ID, ApplicationID: x.app.ID, UserID: x.user.ID,
		Status: "OTP_REQUIRED", Version: 1,
		Data:      json.RawMessage(`{"policy":"p-1","device":"d-1","challenge":{"deviceId":"d-1","purpose":"strong_authentication","hash":"h","expiresAt":1}}`),
		CreatedAt: ts, UpdatedAt: ts, ExpiresAt: ts.Add(15 * time.Minute)}
}

// testDeviceAuthentications: a device authentication is read in its own
// environment only, references its environment, application and user,
// updates only from the version it was read at (of racing steps exactly
// one wins), goes with its user, application and environment, and is
// purged once expired.
func testDeviceAuthentications(t *testing.T, s store.Store) {
	ctx := t.Context()
	x := newAuthEnv(t, s)
	y := newAuthEnv(t, s)
	d := mkDeviceAuth(x)
	must(t, s.CreateDeviceAuthentication(ctx, d), "CreateDeviceAuthentication")
	for _, tc := range []struct {
		name string
		edit func(d *store.DeviceAuthentication)
	}{
		{"unknown environment", func(d *store.DeviceAuthentication) { d.EnvironmentID = newID() }},
		{"unknown application", func(d *store.DeviceAuthentication) { d.ApplicationID = newID() }},
		{"unknown user", func(d *store.DeviceAuthentication) { d.UserID = newID() }},
	} {
		q := mkDeviceAuth(x)
		tc.edit(q)
		wantErr(t, s.CreateDeviceAuthentication(ctx, q), store.ErrReferenced, "CreateDeviceAuthentication for an "+tc.name)
	}
	wantErr(t, s.CreateDeviceAuthentication(ctx, d), store.ErrConflict, "CreateDeviceAuthentication with a taken id")

	got, err := s.GetDeviceAuthentication(ctx, x.env.ID, d.ID)
	must(t, err, "GetDeviceAuthentication")
	checkRecord(t, "GetDeviceAuthentication", got, *d)
	_, err = s.GetDeviceAuthentication(ctx, y.env.ID, d.ID)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthentication in another environment")
	_, err = s.GetDeviceAuthentication(ctx, x.env.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthentication(unknown)")

	// An update writes status, data and times and moves the version on.
	next := *got
	next.Status = "COMPLETED"
	next.Data = json.RawMessage(`{"policy":"p-1","device":"d-1"}`)
	next.UpdatedAt = now().Add(time.Second)
	next.ExpiresAt = now().Add(20 * time.Minute)
	must(t, s.UpdateDeviceAuthentication(ctx, &next), "UpdateDeviceAuthentication")
	if next.Version != 2 {
		t.Errorf("Version after update = %d, want 2", next.Version)
	}
	got, err = s.GetDeviceAuthentication(ctx, x.env.ID, d.ID)
	must(t, err, "GetDeviceAuthentication after update")
	checkRecord(t, "GetDeviceAuthentication after update", got, next)

	// A step from the old version loses and writes nothing.
	stale := *d
	stale.Status = "FAILED"
	wantErr(t, s.UpdateDeviceAuthentication(ctx, &stale), store.ErrConflict, "UpdateDeviceAuthentication(stale version)")
	got, err = s.GetDeviceAuthentication(ctx, x.env.ID, d.ID)
	must(t, err, "GetDeviceAuthentication after a stale update")
	checkRecord(t, "GetDeviceAuthentication after a stale update", got, next)
	// Another environment's id is not found, and nothing is written.
	foreign := next
	foreign.EnvironmentID = y.env.ID
	wantErr(t, s.UpdateDeviceAuthentication(ctx, &foreign), store.ErrNotFound, "UpdateDeviceAuthentication in another environment")
	ghost := *mkDeviceAuth(x)
	wantErr(t, s.UpdateDeviceAuthentication(ctx, &ghost), store.ErrNotFound, "UpdateDeviceAuthentication(unknown)")

	// Racing steps from one version: exactly one wins.
	r := mkDeviceAuth(x)
	must(t, s.CreateDeviceAuthentication(ctx, r), "CreateDeviceAuthentication(race)")
	const racers = 8
	var wg sync.WaitGroup
	wins := make(chan int, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *r
			c.Status = "COMPLETED"
			err := s.UpdateDeviceAuthentication(ctx, &c)
			switch {
			case err == nil:
				wins <- i
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("racing UpdateDeviceAuthentication: %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("racing updates from one version: %d won, want 1", n)
	}

	// A deleted user or application takes its device authentications.
	u := newUser(t, s, x.env.ID, x.pop.ID, "bob")
	byUser := mkDeviceAuth(x)
	byUser.UserID = u.ID
	must(t, s.CreateDeviceAuthentication(ctx, byUser), "CreateDeviceAuthentication(bob)")
	must(t, s.DeleteUser(ctx, x.env.ID, u.ID), "DeleteUser")
	_, err = s.GetDeviceAuthentication(ctx, x.env.ID, byUser.ID)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthentication after DeleteUser")
	app := newApp(t, s, x.env.ID, "Kiosk")
	byApp := mkDeviceAuth(x)
	byApp.ApplicationID = app.ID
	must(t, s.CreateDeviceAuthentication(ctx, byApp), "CreateDeviceAuthentication(kiosk)")
	must(t, s.DeleteApplication(ctx, x.env.ID, app.ID), "DeleteApplication")
	_, err = s.GetDeviceAuthentication(ctx, x.env.ID, byApp.ID)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthentication after DeleteApplication")
	ofY := mkDeviceAuth(y)
	must(t, s.CreateDeviceAuthentication(ctx, ofY), "CreateDeviceAuthentication(other environment)")
	must(t, s.DeleteEnvironment(ctx, y.env.ID), "DeleteEnvironment")
	_, err = s.GetDeviceAuthentication(ctx, y.env.ID, ofY.ID)
	wantErr(t, err, store.ErrNotFound, "GetDeviceAuthentication after DeleteEnvironment")

	// The purge takes the expired ones, in batches, and leaves the rest.
	clock := now()
	var expired []*store.DeviceAuthentication
	for range 3 {
		e := mkDeviceAuth(x)
		e.ExpiresAt = clock.Add(-time.Minute)
		must(t, s.CreateDeviceAuthentication(ctx, e), "CreateDeviceAuthentication(expired)")
		expired = append(expired, e)
	}
	for _, tc := range []struct{ limit, want int }{{2, 2}, {2, 1}, {2, 0}} {
		n, err := s.PurgeExpired(ctx, clock, tc.limit)
		must(t, err, "PurgeExpired")
		if n != tc.want {
			t.Errorf("PurgeExpired(limit %d) = %d, want %d", tc.limit, n, tc.want)
		}
	}
	for _, e := range expired {
		_, err := s.GetDeviceAuthentication(ctx, x.env.ID, e.ID)
		wantErr(t, err, store.ErrNotFound, "an expired device authentication after PurgeExpired")
	}
	for _, id := range []string{d.ID, r.ID} {
		if _, err := s.GetDeviceAuthentication(ctx, x.env.ID, id); err != nil {
			t.Errorf("a live device authentication after PurgeExpired: %v", err)
		}
	}
}
