package sqlstore

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestLiveFlowCountUsesIndex: the live-flow cap counts an environment's
// flows through its index on both databases, never the whole table (the
// count runs on the authorize path, at most once a second per
// environment and node, and stops at the cap).
func TestLiveFlowCountUsesIndex(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := openStore(t, b.DSN(t))
			plan := explain(t, s, liveFlowsQuery, uuid.NewString(), int64(1), 100)
			if !strings.Contains(plan, "flows_env") {
				t.Errorf("plan does not read flows_env:\n%s", plan)
			}
		})
	}
}
