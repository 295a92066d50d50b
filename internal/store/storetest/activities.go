package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mkActivity builds an activity of envID recorded at at: a worker client
// acting on a user of population popID.
func mkActivity(envID string, at time.Time, action, status, popID string) *store.Activity {
	return &store.Activity{
		ID: newID(), EnvironmentID: envID, RecordedAt: at.UTC().Truncate(time.Millisecond), CorrelationID: newID(),
		ActionType: action, ActionDescription: "Did " + action,
		Client:       &store.ActivityActor{ID: newID(), Name: "Worker", Type: "CLIENT", EnvironmentID: envID},
		User:         &store.ActivityActor{ID: newID(), Name: "user-" + newID()[:8], Type: "USER", EnvironmentID: envID, PopulationID: popID},
		Resources:    []store.ActivityResource{{ID: newID(), Name: "target", Type: "USER", EnvironmentID: envID, PopulationID: popID}},
		ResultStatus: status, ResultDescription: "done",
		Details: json.RawMessage(`{"changed":["name.given"]}`),
	}
}

func insertActivities(t *testing.T, s store.Store, as ...*store.Activity) {
	t.Helper()
	must(t, s.InsertActivities(t.Context(), as), "InsertActivities")
}

// activityRange is a filter's required time range around every activity
// the tests make.
func activityRange(base time.Time) string {
	return fmt.Sprintf(`recordedAt ge "%s" and recordedAt lt "%s"`,
		base.Add(-time.Hour).Format(time.RFC3339Nano), base.Add(time.Hour).Format(time.RFC3339Nano))
}

// testActivities: a batch gets ascending Seqs in slice order; records
// round-trip; nothing is read through another environment; the Seq
// cursor reads every environment in order; deleting an environment takes
// its activities.
func testActivities(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	last, err := s.LastActivitySeq(ctx)
	must(t, err, "LastActivitySeq")
	if last != 0 {
		t.Errorf("LastActivitySeq on an empty store = %d, want 0", last)
	}
	base := now()
	a1 := mkActivity(envA.ID, base, "USER.CREATED", "SUCCESS", newID())
	a1.Tags = []string{"adminIdentityEvent"}
	a1.Resources = append(a1.Resources, store.ActivityResource{ID: newID(), Name: "Staff", Type: "POPULATION", EnvironmentID: envA.ID})
	a2 := mkActivity(envA.ID, base.Add(time.Millisecond), "USER.UPDATED", "SUCCESS", newID())
	a2.Client, a2.Resources = nil, nil
	b1 := mkActivity(envB.ID, base, "USER.CREATED", "SUCCESS", newID())
	b1.User = nil
	insertActivities(t, s, a1, b1, a2)
	if a1.Seq <= 0 || b1.Seq <= a1.Seq || a2.Seq <= b1.Seq {
		t.Errorf("Seqs = %d, %d, %d; want positive and ascending in slice order", a1.Seq, b1.Seq, a2.Seq)
	}
	a3 := mkActivity(envA.ID, base, "USER.DELETED", "FAILED", newID())
	insertActivities(t, s, a3)
	if a3.Seq <= a2.Seq {
		t.Errorf("a later batch's Seq %d is not above %d", a3.Seq, a2.Seq)
	}
	last, err = s.LastActivitySeq(ctx)
	must(t, err, "LastActivitySeq")
	if last != a3.Seq {
		t.Errorf("LastActivitySeq = %d, want %d", last, a3.Seq)
	}

	for _, want := range []*store.Activity{a1, a2, a3, b1} {
		got, err := s.GetActivity(ctx, want.EnvironmentID, want.ID)
		must(t, err, "GetActivity")
		checkRecord(t, "GetActivity "+want.ActionType, got, want)
	}
	_, err = s.GetActivity(ctx, envB.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetActivity through another environment")
	_, err = s.GetActivity(ctx, envA.ID, newID())
	wantErr(t, err, store.ErrNotFound, "GetActivity of an unknown id")
	dup := *a2
	dup.Resources = nil
	if err := s.InsertActivities(ctx, []*store.Activity{&dup}); err == nil {
		t.Error("InsertActivities accepted an id twice")
	}

	all, err := s.ActivitiesAfter(ctx, 0, 10)
	must(t, err, "ActivitiesAfter(0)")
	checkList(t, "ActivitiesAfter(0)", all, *a1, *b1, *a2, *a3)
	rest, err := s.ActivitiesAfter(ctx, b1.Seq, 1)
	must(t, err, "ActivitiesAfter(b1)")
	checkList(t, "ActivitiesAfter(b1, 1)", rest, *a2)
	none, err := s.ActivitiesAfter(ctx, a3.Seq, 10)
	must(t, err, "ActivitiesAfter(last)")
	checkList(t, "ActivitiesAfter(last)", none)

	list, err := s.ListActivities(ctx, envB.ID, store.Page{Filter: filter(t, activityRange(base))})
	must(t, err, "ListActivities(B)")
	checkList(t, "ListActivities(B)", list, *b1)

	must(t, s.DeleteEnvironment(ctx, envA.ID), "DeleteEnvironment")
	_, err = s.GetActivity(ctx, envA.ID, a1.ID)
	wantErr(t, err, store.ErrNotFound, "GetActivity of a deleted environment")
	all, err = s.ActivitiesAfter(ctx, 0, 10)
	must(t, err, "ActivitiesAfter after the delete")
	checkList(t, "ActivitiesAfter after the delete", all, *b1)
}

// testActivityFilters: every attribute PingOne filters activities on
// finds exactly its activities, within the time range; a time range is
// required; anything else is a *scim.Error naming what is supported.
func testActivityFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	env, other := newEnv(t, s), newEnv(t, s)
	base := now().Add(-time.Minute)
	popA, popB := newID(), newID()
	x := mkActivity(env.ID, base, "USER.CREATED", "SUCCESS", popA)
	x.Tags = []string{"adminIdentityEvent"}
	y := mkActivity(env.ID, base.Add(time.Second), "USER.ACCESS_ALLOWED", "FAILED", popB)
	y.Resources = append(y.Resources, store.ActivityResource{ID: popB, Name: "B", Type: "POPULATION", EnvironmentID: env.ID})
	z := mkActivity(env.ID, base.Add(2*time.Second), "APPLICATION.CREATED", "SUCCESS", "")
	z.Resources[0].Type = "APPLICATION"
	z.User = nil
	old := mkActivity(env.ID, base.Add(-2*time.Hour), "USER.CREATED", "SUCCESS", popA)
	old.Client, old.Resources = x.Client, x.Resources
	// The other environment's activity shares x's every value.
	o := mkActivity(other.ID, base, x.ActionType, x.ResultStatus, popA)
	o.Client, o.User, o.Resources, o.CorrelationID, o.Tags = x.Client, x.User, x.Resources, x.CorrelationID, x.Tags
	insertActivities(t, s, x, y, z, old, o)

	rng := activityRange(base)
	for _, tc := range []struct {
		filter string
		want   []store.Activity
	}{
		{rng, []store.Activity{*z, *y, *x}},
		{fmt.Sprintf(`recordedAt gt "%s"`, base.Format(time.RFC3339Nano)), []store.Activity{*z, *y}},
		{fmt.Sprintf(`createdAt le "%s" and createdAt ge "%s"`, base.Add(time.Second).Format(time.RFC3339Nano), base.Format(time.RFC3339Nano)), []store.Activity{*y, *x}},
		{fmt.Sprintf(`recordedat lt "%s"`, base.Format(time.RFC3339Nano)), []store.Activity{*old}},
		{rng + ` and action.type eq "USER.CREATED"`, []store.Activity{*x}},
		{rng + ` and result.status eq "FAILED"`, []store.Activity{*y}},
		{rng + ` and actors.user.id eq "` + y.User.ID + `"`, []store.Activity{*y}},
		{rng + ` and actors.user.name eq "` + x.User.Name + `"`, []store.Activity{*x}},
		{rng + ` and actors.client.id eq "` + z.Client.ID + `"`, []store.Activity{*z}},
		{rng + ` and correlationId eq "` + y.CorrelationID + `"`, []store.Activity{*y}},
		{rng + ` and tags eq "adminIdentityEvent"`, []store.Activity{*x}},
		{rng + ` and resources.id eq "` + x.Resources[0].ID + `"`, []store.Activity{*x}},
		{rng + ` and resources.id eq "` + popB + `"`, []store.Activity{*y}},
		{rng + ` and resources.type eq "APPLICATION"`, []store.Activity{*z}},
		{rng + ` and resources.type eq "USER"`, []store.Activity{*y, *x}},
		{rng + ` and resources.population.id eq "` + popA + `"`, []store.Activity{*x}},
		{rng + ` and resources.population.id eq "` + popB + `" and action.type eq "USER.ACCESS_ALLOWED"`, []store.Activity{*y}},
		{rng + ` and resources.population.id eq "` + popB + `" and action.type eq "USER.CREATED"`, nil},
		{rng + ` and action.type eq "user.created"`, nil}, // values compare exactly
	} {
		got, err := s.ListActivities(ctx, env.ID, store.Page{Filter: filter(t, tc.filter)})
		if err != nil {
			t.Errorf("ListActivities(%s): %v", tc.filter, err)
			continue
		}
		checkList(t, "ListActivities("+tc.filter+")", got, tc.want...)
	}

	for _, tc := range []struct {
		filter     string
		attrs, ops bool
	}{
		{`action.type eq "USER.CREATED"`, false, false},
		{rng + ` and name eq "x"`, true, false},
		{rng + ` and resources[id eq "x"]`, true, false},
		{rng + ` and action.type sw "USER"`, false, true},
		{rng + ` and action.type pr`, false, true},
		{`recordedAt eq "` + base.Format(time.RFC3339) + `"`, false, true},
		{rng + ` or action.type eq "USER.CREATED"`, false, false},
		{`not (` + rng + `)`, false, false},
		{`recordedAt gt "yesterday"`, false, false},
		{rng + ` and action.type eq 3`, false, false},
	} {
		_, err := s.ListActivities(ctx, env.ID, store.Page{Filter: filter(t, tc.filter)})
		var se *scim.Error
		if !errors.As(err, &se) {
			t.Errorf("ListActivities(%s): err = %v, want a *scim.Error", tc.filter, err)
			continue
		}
		if tc.attrs != (len(se.SupportedAttributes) > 0) || tc.ops != (len(se.SupportedOperators) > 0) {
			t.Errorf("ListActivities(%s): %+v; want attributes listed %v, operators %v", tc.filter, se, tc.attrs, tc.ops)
		}
		if tc.attrs && !slices.Contains(se.SupportedAttributes, "resources.population.id") {
			t.Errorf("ListActivities(%s): supported attributes %v lack resources.population.id", tc.filter, se.SupportedAttributes)
		}
	}
	if _, err := s.ListActivities(ctx, env.ID, store.Page{}); err == nil {
		t.Error("ListActivities without a filter: no error, want one (a time range is required)")
	}
}

// testActivityPaging: pages run newest first, activities recorded in one
// millisecond by Seq, and the cursor continues exactly where a page ended.
func testActivityPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	base := now().Add(-time.Minute)
	var as []*store.Activity
	for i := range 7 {
		// Pairs share a millisecond.
		as = append(as, mkActivity(env.ID, base.Add(time.Duration(i/2)*time.Millisecond), "USER.UPDATED", "SUCCESS", ""))
	}
	insertActivities(t, s, as...)
	want := make([]store.Activity, len(as))
	for i, a := range as {
		want[len(as)-1-i] = *a
	}
	var got []store.Activity
	p := store.Page{Filter: filter(t, activityRange(base)), Limit: 3}
	for range 5 {
		page, err := s.ListActivities(ctx, env.ID, p)
		must(t, err, "ListActivities")
		got = append(got, page...)
		if len(page) < p.Limit {
			break
		}
		p.After = store.ActivityCursor(&page[len(page)-1])
	}
	checkList(t, "pages", got, want...)
}

// testActivityPurge: a purge deletes up to its limit of the activities
// recorded before its time, oldest first, with their resources.
func testActivityPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	envA, envB := newEnv(t, s), newEnv(t, s)
	cut := now().Add(-24 * time.Hour)
	old1 := mkActivity(envA.ID, cut.Add(-3*time.Hour), "USER.CREATED", "SUCCESS", "")
	old2 := mkActivity(envB.ID, cut.Add(-2*time.Hour), "USER.CREATED", "SUCCESS", "")
	old3 := mkActivity(envA.ID, cut.Add(-time.Hour), "USER.CREATED", "SUCCESS", "")
	keep := mkActivity(envA.ID, cut, "USER.CREATED", "SUCCESS", "")
	insertActivities(t, s, old3, keep, old2, old1)
	n, err := s.PurgeActivities(ctx, cut, 2)
	must(t, err, "PurgeActivities")
	if n != 2 {
		t.Errorf("PurgeActivities(limit 2) = %d, want 2", n)
	}
	left, err := s.ActivitiesAfter(ctx, 0, 10)
	must(t, err, "ActivitiesAfter")
	checkList(t, "after the first purge", left, *old3, *keep)
	n, err = s.PurgeActivities(ctx, cut, 2)
	must(t, err, "PurgeActivities")
	if n != 1 {
		t.Errorf("second PurgeActivities = %d, want 1", n)
	}
	// The purged activity's resource no longer finds it.
	f := fmt.Sprintf(`recordedAt lt "%s" and resources.id eq "%s"`, cut.Add(time.Hour).Format(time.RFC3339Nano), old3.Resources[0].ID)
	got, err := s.ListActivities(ctx, envA.ID, store.Page{Filter: filter(t, f)})
	must(t, err, "ListActivities by a purged resource")
	checkList(t, "by a purged resource", got)
	n, err = s.PurgeActivities(ctx, cut, 2)
	must(t, err, "PurgeActivities")
	if n != 0 {
		t.Errorf("third PurgeActivities = %d, want 0", n)
	}
}

// testActivityCursor: writers in parallel while a reader follows the Seq
// cursor: the reader sees every activity exactly once, in Seq order,
// never passing over one that commits late with a lower Seq.
func testActivityCursor(t *testing.T, s store.Store) {
	ctx := t.Context()
	env := newEnv(t, s)
	const writers, batches, size = 4, 10, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				b := make([]*store.Activity, size)
				for i := range b {
					b[i] = mkActivity(env.ID, now(), "USER.UPDATED", "SUCCESS", "")
				}
				if err := s.InsertActivities(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]bool{}
	var after int64
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true // one more read takes what the last writes left
		default:
		}
		page, err := s.ActivitiesAfter(ctx, after, 7)
		must(t, err, "ActivitiesAfter")
		for _, a := range page {
			if a.Seq <= after {
				t.Fatalf("Seq %d after the cursor %d", a.Seq, after)
			}
			if seen[a.ID] {
				t.Fatalf("activity %s read twice", a.ID)
			}
			seen[a.ID], after = true, a.Seq
		}
		if len(page) == 7 {
			finished = false
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("InsertActivities: %v", err)
	}
	if len(seen) != writers*batches*size {
		t.Errorf("the cursor read %d activities, want %d", len(seen), writers*batches*size)
	}
}
