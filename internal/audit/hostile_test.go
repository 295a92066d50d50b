package audit

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestLogHostileStrings: what a caller chooses reaches an activity's
// columns (the name a sign-on was tried with, a correlation id): bytes
// that are not UTF-8, NULs and a name longer than PostgreSQL indexes
// (about 2.7 kB) are stored with the rest of their batch on both
// databases, none lost, and the long name is still found by its filter.
func TestLogHostileStrings(t *testing.T) {
	defer func(b time.Duration) { writeBackoff = b }(writeBackoff)
	writeBackoff = time.Millisecond
	eachStore(t, func(t *testing.T, st store.Store, env string) {
		l := New(st, Options{BatchSize: 4, FlushInterval: time.Hour}, quiet)
		closeLog(t, l)
		failed := counted(t, "failed")
		// 3900 bytes PostgreSQL cannot compress below its index limit.
		rnd := rand.New(rand.NewPCG(1, 2))
		var b strings.Builder
		for b.Len() < 3900 {
			if c := byte(0x21 + rnd.IntN(94)); c != '"' && c != '\\' {
				b.WriteByte(c)
			}
		}
		long := b.String()
		plain, bad, nul, big := activity(env), activity(env), activity(env), activity(env)
		bad.User = &store.ActivityActor{ID: "\xff\xfe", Name: "mal\xfflory", Type: "USER", EnvironmentID: env}
		bad.CorrelationID = "corr-\xfe"
		bad.Resources[0].Type = "US\xffER"
		nul.User = &store.ActivityActor{Name: "mal\x00lory", Type: "USER", EnvironmentID: env}
		nul.Client = &store.ActivityActor{ID: "cl\x00ient", Type: "CLIENT", EnvironmentID: env}
		big.User = &store.ActivityActor{Name: long, Type: "USER", EnvironmentID: env}
		for _, a := range []*store.Activity{plain, bad, nul, big} {
			l.Record(t.Context(), a)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := counted(t, "failed") - failed; d != 0 {
			t.Errorf("%v activities lost", d)
		}
		all := stored(t, st)
		if len(all) != 4 {
			t.Fatalf("stored %d activities, want 4", len(all))
		}
		byID := map[string]store.Activity{}
		for _, a := range all {
			byID[a.ID] = a
		}
		if got := byID[bad.ID]; got.User == nil || got.User.Name != "mal\uFFFDlory" || got.CorrelationID != "corr-\uFFFD" {
			t.Errorf("the activity with bytes that are not UTF-8 reads back as %+v", got)
		}
		if got := byID[big.ID]; got.User == nil || got.User.Name != long {
			t.Errorf("the long name did not read back whole")
		}
		f, err := scim.Parse(`recordedAt gt "2000-01-01T00:00:00Z" and actors.user.name eq "` + long + `"`)
		if err != nil {
			t.Fatal(err)
		}
		found, err := st.ListActivities(t.Context(), env, store.Page{Filter: f, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 || found[0].ID != big.ID {
			t.Errorf("the filter on the long name found %d activities, want the one", len(found))
		}
	})
}
