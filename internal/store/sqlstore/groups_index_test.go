package sqlstore

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestGroupLookupsUseIndexes: every step of the group walks and lookups
// reads an index on both databases, never a whole table: a user's direct
// groups, a group's members, a group's parents and nested groups, names,
// a population's groups, an actor's role assignments.
func TestGroupLookupsUseIndexes(t *testing.T) {
	env, id := uuid.NewString(), uuid.NewString()
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"a user's groups", `SELECT group_id FROM group_memberships WHERE environment_id = ? AND user_id = ?`, []any{env, id}, "group_memberships_pkey"},
		{"a group's members", `SELECT user_id FROM group_memberships WHERE group_id = ?`, []any{id}, "group_memberships_group"},
		{"a group's parents", `SELECT parent_id FROM group_nestings WHERE group_id = ?`, []any{id}, "group_nestings_pkey"},
		{"a group's nested groups", `SELECT group_id FROM group_nestings WHERE parent_id = ?`, []any{id}, "group_nestings_parent"},
		{"a name", `SELECT id FROM groups WHERE environment_id = ? AND name_lc = ? AND id <> ?`, []any{env, "x", id}, ""},
		{"a population's groups", `SELECT id FROM groups WHERE environment_id = ? AND population_id = ?`, []any{env, id}, "groups_population"},
		{"an actor's role assignments", `SELECT 1 FROM role_assignments WHERE environment_id = ? AND actor_id = ?`, []any{env, id}, ""},
		{"a page of groups", `SELECT id FROM groups g WHERE g.environment_id = ? AND g.id > ? ORDER BY g.id LIMIT 10`, []any{env, id}, ""},
	} {
		for _, b := range sqltest.Backends() {
			t.Run(tc.name+"/"+b.Name, func(t *testing.T) {
				s := openStore(t, b.DSN(t))
				plan := explain(t, s, tc.query, tc.args...)
				index := tc.index
				if s.db.dialect == dialectSQLite {
					// SQLite names primary keys sqlite_autoindex_<table>_1.
					index = strings.Replace(index, "group_memberships_pkey", "sqlite_autoindex_group_memberships_1", 1)
					index = strings.Replace(index, "group_nestings_pkey", "sqlite_autoindex_group_nestings_1", 1)
				}
				switch {
				case index != "" && !strings.Contains(plan, index):
					t.Errorf("plan does not use %s:\n%s", index, plan)
				case s.db.dialect == dialectPostgres && !strings.Contains(plan, "Index"):
					t.Errorf("plan reads no index:\n%s", plan)
				case s.db.dialect == dialectSQLite && !strings.Contains(plan, "USING"):
					t.Errorf("plan reads no index:\n%s", plan)
				}
			})
		}
	}
}
