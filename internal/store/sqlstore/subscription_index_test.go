package sqlstore

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestSubscriptionQueriesUseIndexes: a subscription's read of its
// environment's activities, the due subscriptions and the dead letters
// read an index on both databases, never a whole table.
func TestSubscriptionQueriesUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, b := range sqltest.Backends() {
		s := openStore(t, b.DSN(t))
		for _, tc := range []struct {
			name, query string
			args        []any
			sqlite      []string
		}{
			{"an environment's activities after a cursor", `SELECT ` + activityCols + ` FROM activities a WHERE a.environment_id = ? AND a.seq > ? ORDER BY a.seq LIMIT ?`,
				[]any{env, 5, 10}, []string{"activities_env_seq"}},
			{"the due subscriptions", `SELECT ` + subscriptionCols + ` FROM subscriptions
 WHERE enabled = ? AND next_attempt_at <= ? AND cursor_seq < ? AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?`,
				[]any{true, ms(time.Now()), 10, ms(time.Now()), 16}, []string{"due_subscriptions"}},
			{"a subscription's dead letters", `SELECT id, environment_id, subscription_id, activity_id, seq, attempts, error, created_at FROM subscription_dead_letters
 WHERE environment_id = ? AND subscription_id = ? ORDER BY seq DESC LIMIT ?`, []any{env, id, 10}, []string{"subscription_dead_letters_subscription"}},
		} {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				checkPlan(t, s, explain(t, s, tc.query, tc.args...), tc.sqlite)
			})
		}
	}
}
