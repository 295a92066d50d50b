package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestActivityQueriesUseIndexes: every filter path of the activities
// list, the Seq cursor, a read by id and the purge read an index on both
// databases, never the whole table. On SQLite (whose planner works from
// the query alone) each filter must pick its own index.
func TestActivityQueriesUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	rng := `recordedAt ge "2026-01-01T00:00:00Z" and recordedAt lt "2026-01-02T00:00:00Z"`
	list := func(t *testing.T, s *SQLStore, filter string, after string) (string, []any) {
		t.Helper()
		e, err := scim.Parse(filter)
		if err != nil {
			t.Fatal(err)
		}
		q, a, err := activityListQuery(env, store.Page{Filter: e, After: after, Limit: 10}, s.db.dialect == dialectSQLite)
		if err != nil {
			t.Fatal(err)
		}
		return q, a
	}
	for _, b := range sqltest.Backends() {
		s := openStore(t, b.DSN(t))
		for _, tc := range []struct {
			name, filter, after string
			sqlite              []string // indexes SQLite's plan must name
		}{
			{"a time range", rng, "", []string{"activities_env_time"}},
			{"the next page", rng, store.ActivityCursor(&store.Activity{RecordedAt: time.Now(), Seq: 9}), []string{"activities_env_time"}},
			{"an action type", rng + ` and action.type eq "USER.CREATED"`, "", []string{"activities_action"}},
			{"a user", rng + ` and actors.user.id eq "` + id + `"`, "", []string{"activities_user"}},
			{"a user's name", rng + ` and actors.user.name eq "alice"`, "", []string{"activities_user_name"}},
			{"a client", rng + ` and actors.client.id eq "` + id + `"`, "", []string{"activities_client"}},
			{"a correlation id", rng + ` and correlationId eq "` + id + `"`, "", []string{"activities_correlation"}},
			{"a result", rng + ` and result.status eq "FAILED"`, "", []string{"activities_env_time"}},
			{"a resource", rng + ` and resources.id eq "` + id + `"`, "", []string{"activity_resources_id"}},
			{"a resource type", rng + ` and resources.type eq "USER"`, "", []string{"activity_resources_type"}},
			{"a population", rng + ` and resources.population.id eq "` + id + `"`, "", []string{"activity_resources_population"}},
		} {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				q, a := list(t, s, tc.filter, tc.after)
				plan := explain(t, s, q, a...)
				checkPlan(t, s, plan, tc.sqlite)
			})
		}
		for _, tc := range []struct {
			name, query string
			args        []any
			sqlite      []string
		}{
			{"the Seq cursor", `SELECT ` + activityCols + ` FROM activities a WHERE a.seq > ? ORDER BY a.seq LIMIT ?`, []any{5, 10}, nil},
			{"an activity", `SELECT ` + activityCols + ` FROM activities a WHERE a.environment_id = ? AND a.id = ?`, []any{env, id}, nil},
			{"the purge", `SELECT seq FROM activities WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?`, []any{0, 10}, []string{"activities_recorded"}},
		} {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				checkPlan(t, s, explain(t, s, tc.query, tc.args...), tc.sqlite)
			})
		}
	}
}

func checkPlan(t *testing.T, s *SQLStore, plan string, sqlite []string) {
	t.Helper()
	if s.db.dialect == dialectPostgres {
		if !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan reads no index, or a whole table:\n%s", plan)
		}
		return
	}
	for _, ix := range sqlite {
		if !strings.Contains(plan, ix) {
			t.Errorf("plan does not use %s:\n%s", ix, plan)
		}
	}
	if !strings.Contains(plan, "USING") || strings.Contains(plan, "SCAN a\n") || strings.HasSuffix(plan, "SCAN a") {
		t.Errorf("plan reads no index:\n%s", plan)
	}
}
