package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestUserGroupLimit: a user joins at most store.MaxUserGroups groups
// directly (PingOne's 10,000), which bounds what one user's group claims
// and access checks read; the next join is refused and nothing is
// written, on both databases.
func TestUserGroupLimit(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, b.DSN(t))
			envID, users := seedUsers(t, s, 2)
			now := store.Now()
			var groups, members [][]any
			for i := range store.MaxUserGroups + 1 {
				id, name := uuid.NewString(), fmt.Sprintf("G%05d", i)
				groups = append(groups, []any{id, envID, "", name, strings.ToLower(name), "", "{}", ms(now), ms(now)})
				if i < store.MaxUserGroups {
					members = append(members, []any{users[0], id, envID, ms(now)})
				}
			}
			bulkInsert(t, s, "groups", []string{"id", "environment_id", "population_id", "name", "name_lc", "external_id", "data", "created_at", "updated_at"}, groups)
			bulkInsert(t, s, "group_memberships", []string{"user_id", "group_id", "environment_id", "created_at"}, members)
			last := groups[store.MaxUserGroups][0].(string)
			if err := s.AddGroupMember(ctx, envID, users[0], last, now); !errors.Is(err, store.ErrGroupLimit) {
				t.Fatalf("join %d: %v, want ErrGroupLimit", store.MaxUserGroups+1, err)
			}
			if gs, err := s.UserGroups(ctx, envID, users[0]); err != nil || len(gs) != store.MaxUserGroups {
				t.Errorf("after the refused join: %d groups, %v; want %d", len(gs), err, store.MaxUserGroups)
			}
			// Another user still joins.
			if err := s.AddGroupMember(ctx, envID, users[1], last, now); err != nil {
				t.Errorf("another user's join: %v", err)
			}
		})
	}
}

// TestEnvironmentGroupLimit: an environment holds at most
// store.MaxEnvironmentGroups groups (PingOne's 100,000), which bounds every
// walk of the nesting; the next create is refused, on both databases.
func TestEnvironmentGroupLimit(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, b.DSN(t))
			envID, _ := seedUsers(t, s, 1)
			now := store.Now()
			rows := make([][]any, 0, store.MaxEnvironmentGroups)
			for i := range store.MaxEnvironmentGroups {
				name := fmt.Sprintf("G%06d", i)
				rows = append(rows, []any{uuid.NewString(), envID, "", name, strings.ToLower(name), "", "{}", ms(now), ms(now)})
			}
			bulkInsert(t, s, "groups", []string{"id", "environment_id", "population_id", "name", "name_lc", "external_id", "data", "created_at", "updated_at"}, rows)
			g := &store.Group{ID: uuid.NewString(), EnvironmentID: envID, Name: "One too many", Data: []byte("{}"), CreatedAt: now, UpdatedAt: now}
			if err := s.CreateGroup(ctx, g); !errors.Is(err, store.ErrGroupsFull) {
				t.Fatalf("group %d: %v, want ErrGroupsFull", store.MaxEnvironmentGroups+1, err)
			}
			if _, err := s.GetGroup(ctx, envID, g.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the refused group: %v, want ErrNotFound", err)
			}
		})
	}
}
