package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// BenchmarkGroups measures group reads of an environment with 100,000
// users in 1,000 groups, on SQLite and PostgreSQL. Every user is a direct
// member of two random groups; groups 0–99 are each nested in one of
// groups 100–199; the user measured is a direct member of 50 groups (25 of
// them nested ones), so it belongs to about 75 in all:
//
//	user-groups     UserGroups of that user (the recursive walk a token's
//	                group claims read)
//	memberships     a page of its …/users/{id}/memberOfGroups listing
//	                (page query + count)
//	direct          the same listing filtered on type eq "DIRECT"
//	users-in-group  a page of GET /users?filter=memberOfGroups[id eq …] of a
//	                parent group (its direct members and those of the
//	                groups nested in it)
//	total-count     a parent group's totalMemberCounts
//	has-role        UserHasRoleAssignment of that user (no role anywhere:
//	                the whole walk)
//
// Each reports p50 and p99 latency in ms. Run it with, for example:
//
//	go test -run '^$' -bench Groups -benchtime 500x ./internal/store/sqlstore/
func BenchmarkGroups(b *testing.B) {
	const (
		users     = 100_000
		groups    = 1_000
		perUser   = 2
		userIn    = 50
		nested    = 100
		parentsAt = 100
	)
	for _, be := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", sqltest.SQLite}, {"postgres", sqltest.Postgres}} {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, be.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			envID, userIDs := seedUsers(b, s, users)
			rng := rand.New(rand.NewPCG(3, 5))
			now := store.Now()
			groupIDs := make([]string, groups)
			for i := range groupIDs {
				groupIDs[i] = uuid.NewString()
			}
			rows := [][]any{}
			for i, id := range groupIDs {
				name := fmt.Sprintf("Group %04d", i)
				rows = append(rows, []any{id, envID, "", name, strings.ToLower(name), "", "{}", ms(now), ms(now)})
			}
			bulkInsert(b, s, "groups", []string{"id", "environment_id", "population_id", "name", "name_lc", "external_id", "data", "created_at", "updated_at"}, rows)
			rows = rows[:0]
			for i := range nested {
				rows = append(rows, []any{groupIDs[i], groupIDs[parentsAt+i%100], envID, ms(now)})
			}
			bulkInsert(b, s, "group_nestings", []string{"group_id", "parent_id", "environment_id", "created_at"}, rows)
			target := userIDs[len(userIDs)/2]
			seen := map[[2]string]bool{}
			rows = rows[:0]
			add := func(u, g string) {
				if !seen[[2]string{u, g}] {
					seen[[2]string{u, g}] = true
					rows = append(rows, []any{u, g, envID, ms(now)})
				}
			}
			for _, u := range userIDs {
				if u == target {
					continue
				}
				for range perUser {
					add(u, groupIDs[rng.IntN(groups)])
				}
			}
			for i := range userIn {
				// Half among the nested groups, half plain ones.
				if i%2 == 0 {
					add(target, groupIDs[i])
				} else {
					add(target, groupIDs[parentsAt*2+i])
				}
			}
			bulkInsert(b, s, "group_memberships", []string{"user_id", "group_id", "environment_id", "created_at"}, rows)
			if s.db.dialect == dialectPostgres {
				if _, err := s.db.writer.db.ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			parent := groupIDs[parentsAt]
			b.Logf("seeded %d users, %d groups, %d memberships", users, groups, len(rows))

			b.Run("user-groups", func(b *testing.B) {
				measure(b, func() error {
					gs, err := s.UserGroups(ctx, envID, target)
					if err == nil && (len(gs) < userIn || len(gs) > userIn+25) {
						err = fmt.Errorf("%d groups", len(gs))
					}
					return err
				})
			})
			b.Run("memberships", func(b *testing.B) {
				measure(b, func() error {
					gs, total, err := s.ListUserGroupsPage(ctx, envID, target, store.Page{Limit: 101})
					if err == nil && len(gs) != total {
						err = fmt.Errorf("%d of %d", len(gs), total)
					}
					return err
				})
			})
			direct, err := scim.Parse(`type eq "DIRECT"`)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("direct", func(b *testing.B) {
				measure(b, func() error {
					gs, total, err := s.ListUserGroupsPage(ctx, envID, target, store.Page{Filter: direct, Limit: 101})
					if err == nil && (total != userIn || len(gs) != userIn) {
						err = fmt.Errorf("%d of %d direct", len(gs), total)
					}
					return err
				})
			})
			b.Run("users-in-group", func(b *testing.B) {
				measure(b, func() error {
					g := groupIDs[parentsAt+rng.IntN(100)]
					us, total, err := listFiltered(ctx, s, envID, `memberOfGroups[id eq "`+g+`"]`, 100)
					if err == nil && (total < 100 || len(us) != 101) {
						err = fmt.Errorf("%d of %d members", len(us), total)
					}
					return err
				})
			})
			b.Run("total-count", func(b *testing.B) {
				measure(b, func() error {
					c, err := s.CountGroupMembers(ctx, envID, []string{parent}, true)
					if err == nil && c[parent].Total <= c[parent].Direct {
						err = fmt.Errorf("counts %+v", c[parent])
					}
					return err
				})
			})
			b.Run("has-role", func(b *testing.B) {
				measure(b, func() error {
					ok, err := s.UserHasRoleAssignment(ctx, envID, target, []string{"r1", "r2", "r3", "r4"})
					if err == nil && ok {
						err = fmt.Errorf("a role")
					}
					return err
				})
			})
		})
	}
}

// bulkInsert writes rows into table in one transaction, 500 rows per
// INSERT: a test-only shortcut.
func bulkInsert(b testing.TB, s *SQLStore, table string, cols []string, rows [][]any) {
	b.Helper()
	ctx := context.Background()
	tx, err := s.db.writer.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for i := 0; i < len(rows); i += 500 {
		chunk := rows[i:min(i+500, len(rows))]
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, s.db.rebind(q), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
