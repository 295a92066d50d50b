package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mkSubscription(envID, name string, cursor int64) *store.Subscription {
	ts := now()
	return &store.Subscription{ID: newID(), EnvironmentID: envID, Name: name, Enabled: true, Format: "ACTIVITY",
		URL: "https://hooks.example.com/" + name, VerifyTLS: true, HeadersSealed: []byte{1, 2, 3},
		Data:      json.RawMessage(`{"filterOptions":{"includedActionTypes":["USER.CREATED"]}}`),
		CreatedAt: ts, UpdatedAt: ts, Delivery: store.SubscriptionDelivery{Cursor: cursor}}
}

// testSubscriptions: subscriptions round-trip; nothing is read, written or deleted
// through another environment's id; an update leaves the delivery state
// alone; deleting the environment deletes them with their dead letters.
func testSubscriptions(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	a := mkSubscription(envA.ID, "Audit", 7)
	must(t, s.CreateSubscription(ctx, a), "CreateSubscription")
	a2 := mkSubscription(envA.ID, "Second", 7)
	a2.HeadersSealed, a2.Enabled, a2.VerifyTLS = nil, false, false
	must(t, s.CreateSubscription(ctx, a2), "CreateSubscription 2")
	b := mkSubscription(envB.ID, "Audit", 0)
	must(t, s.CreateSubscription(ctx, b), "CreateSubscription in B")
	// PingOne documents no uniqueness of names.
	must(t, s.CreateSubscription(ctx, mkSubscription(envA.ID, "AUDIT", 0)), "CreateSubscription, same name")

	got, err := s.GetSubscription(ctx, envA.ID, a.ID)
	must(t, err, "GetSubscription")
	checkRecord(t, "GetSubscription", got, a)
	got2, err := s.GetSubscription(ctx, envA.ID, a2.ID)
	must(t, err, "GetSubscription 2")
	checkRecord(t, "GetSubscription 2", got2, a2)
	_, err = s.GetSubscription(ctx, envB.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetSubscription through another environment")
	list, err := s.ListSubscriptions(ctx, envA.ID)
	must(t, err, "ListSubscriptions")
	if len(list) != 3 {
		t.Errorf("ListSubscriptions(A): %d, want 3", len(list))
	}
	n, err := s.CountSubscriptions(ctx, envA.ID)
	must(t, err, "CountSubscriptions")
	if n != 3 {
		t.Errorf("CountSubscriptions(A) = %d, want 3", n)
	}

	// The dispatcher moved the cursor; a configuration update keeps it.
	lease := now().Add(time.Minute)
	must(t, s.LeaseSubscription(ctx, envA.ID, a.ID, "node-1", now(), lease), "LeaseSubscription")
	moved := store.SubscriptionDelivery{Cursor: 9, LastDeliveredAt: now(), LeaseOwner: "node-1", LeaseUntil: lease}
	must(t, s.SaveSubscriptionDelivery(ctx, envA.ID, a.ID, "node-1", 7, moved), "SaveSubscriptionDelivery")
	upd := *a
	upd.Name, upd.URL, upd.Format, upd.Enabled, upd.UpdatedAt = "Renamed", "https://other.example.com/x", "SPLUNK", false, now().Add(time.Second)
	upd.Data = json.RawMessage(`{"filterOptions":{"includedActionTypes":["USER.DELETED"]}}`)
	upd.Delivery = store.SubscriptionDelivery{Cursor: 1000}
	must(t, s.UpdateSubscription(ctx, &upd), "UpdateSubscription")
	got, err = s.GetSubscription(ctx, envA.ID, a.ID)
	must(t, err, "GetSubscription after update")
	upd.Delivery = moved
	checkRecord(t, "GetSubscription after update", got, &upd)

	cross := upd
	cross.EnvironmentID = envB.ID
	wantErr(t, s.UpdateSubscription(ctx, &cross), store.ErrNotFound, "UpdateSubscription through another environment")
	wantErr(t, s.DeleteSubscription(ctx, envB.ID, a.ID), store.ErrNotFound, "DeleteSubscription through another environment")

	must(t, s.DeleteSubscription(ctx, envA.ID, a2.ID), "DeleteSubscription")
	_, err = s.GetSubscription(ctx, envA.ID, a2.ID)
	wantErr(t, err, store.ErrNotFound, "GetSubscription after delete")
	wantErr(t, s.DeleteSubscription(ctx, envA.ID, a2.ID), store.ErrNotFound, "DeleteSubscription twice")

	dl := &store.SubscriptionDeadLetter{ID: newID(), EnvironmentID: envA.ID, SubscriptionID: a.ID, ActivityID: newID(), Seq: 10, Attempts: 5,
		Error: "HTTP 500", CreatedAt: now()}
	dead := moved
	dead.Cursor, dead.DeadLetters, dead.LastDeadLetterAt = 10, 1, dl.CreatedAt
	must(t, s.DeadLetterSubscription(ctx, dl, "node-1", 9, dead), "DeadLetterSubscription")
	must(t, s.DeleteEnvironment(ctx, envA.ID), "DeleteEnvironment")
	_, err = s.GetSubscription(ctx, envA.ID, a.ID)
	wantErr(t, err, store.ErrNotFound, "GetSubscription after the environment's delete")
	dls, err := s.ListSubscriptionDeadLetters(ctx, envA.ID, a.ID, 10)
	must(t, err, "ListSubscriptionDeadLetters after the environment's delete")
	if len(dls) != 0 {
		t.Errorf("dead letters after the environment's delete: %d, want 0", len(dls))
	}
	got, err = s.GetSubscription(ctx, envB.ID, b.ID)
	must(t, err, "GetSubscription in B after A's delete")
	checkRecord(t, "GetSubscription in B after A's delete", got, b)
}

// testSubscriptionDelivery: due subscriptions are those enabled, behind
// the head, due and not leased, of every environment; a lease is one
// owner's until it expires; delivery writes hold only under the lease and
// from the cursor read; a dead letter and its cursor move are one write.
func testSubscriptionDelivery(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	t0 := now()
	behind := mkSubscription(envA.ID, "behind", 5)
	atHead := mkSubscription(envA.ID, "at-head", 10)
	disabled := mkSubscription(envA.ID, "disabled", 1)
	disabled.Enabled = false
	later := mkSubscription(envB.ID, "later", 1)
	later.Delivery.NextAttemptAt = t0.Add(time.Hour)
	other := mkSubscription(envB.ID, "other", 2)
	for _, x := range []*store.Subscription{behind, atHead, disabled, later, other} {
		must(t, s.CreateSubscription(ctx, x), "CreateSubscription "+x.Name)
	}
	due, err := s.DueSubscriptions(ctx, 10, t0, 10)
	must(t, err, "DueSubscriptions")
	checkSet(t, "DueSubscriptions", due, *behind, *other)
	due, err = s.DueSubscriptions(ctx, 10, t0, 1)
	must(t, err, "DueSubscriptions limit 1")
	if len(due) != 1 {
		t.Errorf("DueSubscriptions limit 1: %d rows", len(due))
	}

	until := t0.Add(30 * time.Second)
	must(t, s.LeaseSubscription(ctx, envA.ID, behind.ID, "n1", t0, until), "LeaseSubscription n1")
	wantErr(t, s.LeaseSubscription(ctx, envA.ID, behind.ID, "n2", t0, until), store.ErrConflict, "LeaseSubscription n2 while n1 holds it")
	wantErr(t, s.LeaseSubscription(ctx, envB.ID, behind.ID, "n2", t0, until), store.ErrNotFound, "LeaseSubscription through another environment")
	must(t, s.LeaseSubscription(ctx, envA.ID, behind.ID, "n1", t0, until.Add(time.Second)), "LeaseSubscription renewal by n1")
	due, err = s.DueSubscriptions(ctx, 10, t0, 10)
	must(t, err, "DueSubscriptions while leased")
	checkSet(t, "DueSubscriptions while leased", due, *other)

	d := store.SubscriptionDelivery{Cursor: 6, LastDeliveredAt: t0, LeaseOwner: "n1", LeaseUntil: until}
	wantErr(t, s.SaveSubscriptionDelivery(ctx, envA.ID, behind.ID, "n2", 5, d), store.ErrConflict, "SaveSubscriptionDelivery by a non-owner")
	wantErr(t, s.SaveSubscriptionDelivery(ctx, envA.ID, behind.ID, "n1", 4, d), store.ErrConflict, "SaveSubscriptionDelivery from a stale cursor")
	must(t, s.SaveSubscriptionDelivery(ctx, envA.ID, behind.ID, "n1", 5, d), "SaveSubscriptionDelivery")

	// The lease expires: another node takes over, and the first one's
	// writes hold no more.
	after := until.Add(2 * time.Second)
	must(t, s.LeaseSubscription(ctx, envA.ID, behind.ID, "n2", after, after.Add(time.Minute)), "LeaseSubscription n2 after expiry")
	dl := &store.SubscriptionDeadLetter{ID: newID(), EnvironmentID: envA.ID, SubscriptionID: behind.ID, ActivityID: newID(), Seq: 7, Attempts: 3,
		Error: "timeout", CreatedAt: t0}
	failed := store.SubscriptionDelivery{Cursor: 7, DeadLetters: 1, LastDeadLetterAt: t0, LastError: "timeout", LastErrorAt: t0, LeaseOwner: "n1"}
	wantErr(t, s.DeadLetterSubscription(ctx, dl, "n1", 6, failed), store.ErrConflict, "DeadLetterSubscription by the old owner")
	dls, err := s.ListSubscriptionDeadLetters(ctx, envA.ID, behind.ID, 10)
	must(t, err, "ListSubscriptionDeadLetters")
	if len(dls) != 0 {
		t.Fatalf("a refused dead letter was written: %+v", dls)
	}
	failed.LeaseOwner = "n2"
	must(t, s.DeadLetterSubscription(ctx, dl, "n2", 6, failed), "DeadLetterSubscription")
	dl2 := &store.SubscriptionDeadLetter{ID: newID(), EnvironmentID: envA.ID, SubscriptionID: behind.ID, ActivityID: newID(), Seq: 9, Attempts: 3,
		Error: "HTTP 503", CreatedAt: t0}
	failed2 := failed
	failed2.Cursor, failed2.DeadLetters = 9, 2
	must(t, s.DeadLetterSubscription(ctx, dl2, "n2", 7, failed2), "DeadLetterSubscription 2")
	dls, err = s.ListSubscriptionDeadLetters(ctx, envA.ID, behind.ID, 10)
	must(t, err, "ListSubscriptionDeadLetters")
	checkList(t, "ListSubscriptionDeadLetters (newest first)", dls, *dl2, *dl)
	dls, err = s.ListSubscriptionDeadLetters(ctx, envB.ID, behind.ID, 10)
	must(t, err, "ListSubscriptionDeadLetters through another environment")
	if len(dls) != 0 {
		t.Errorf("dead letters through another environment: %d", len(dls))
	}
	got, err := s.GetSubscription(ctx, envA.ID, behind.ID)
	must(t, err, "GetSubscription")
	want := *behind
	want.Delivery = failed2
	checkRecord(t, "GetSubscription after dead letters", got, &want)
	// Deleting the subscription takes its dead letters.
	must(t, s.DeleteSubscription(ctx, envA.ID, behind.ID), "DeleteSubscription")
	dls, err = s.ListSubscriptionDeadLetters(ctx, envA.ID, behind.ID, 10)
	must(t, err, "ListSubscriptionDeadLetters after delete")
	if len(dls) != 0 {
		t.Errorf("dead letters after the subscription's delete: %d", len(dls))
	}
}

// testSubscriptionActivities: a subscription's read of activities after
// its cursor sees its own environment's only, by Seq, bounded.
func testSubscriptionActivities(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	var batch []*store.Activity
	for i, env := range []string{envA.ID, envB.ID, envA.ID, envA.ID, envB.ID} {
		batch = append(batch, &store.Activity{ID: newID(), EnvironmentID: env, RecordedAt: now(), ActionType: "USER.CREATED",
			ResultStatus: "SUCCESS", Resources: []store.ActivityResource{{ID: newID(), Type: "USER", EnvironmentID: env, PopulationID: fmt.Sprint(i)}}})
	}
	must(t, s.InsertActivities(ctx, batch), "InsertActivities")
	seqs := func(as []store.Activity) []int64 {
		out := []int64{}
		for _, a := range as {
			out = append(out, a.Seq)
		}
		return out
	}
	got, err := s.EnvironmentActivitiesAfter(ctx, envA.ID, 0, 10)
	must(t, err, "EnvironmentActivitiesAfter")
	if want := []int64{batch[0].Seq, batch[2].Seq, batch[3].Seq}; !slices.Equal(seqs(got), want) {
		t.Fatalf("EnvironmentActivitiesAfter(A, 0) = %v, want %v", seqs(got), want)
	}
	if got[1].ID != batch[2].ID || len(got[1].Resources) != 1 || got[1].Resources[0].PopulationID != "2" {
		t.Errorf("activity read back: %+v", got[1])
	}
	got, err = s.EnvironmentActivitiesAfter(ctx, envA.ID, batch[0].Seq, 1)
	must(t, err, "EnvironmentActivitiesAfter after the first, limit 1")
	if want := []int64{batch[2].Seq}; !slices.Equal(seqs(got), want) {
		t.Errorf("EnvironmentActivitiesAfter(A, first, 1) = %v, want %v", seqs(got), want)
	}
	got, err = s.EnvironmentActivitiesAfter(ctx, envB.ID, batch[4].Seq, 10)
	must(t, err, "EnvironmentActivitiesAfter at B's last")
	if len(got) != 0 {
		t.Errorf("after B's last: %v", seqs(got))
	}
}
