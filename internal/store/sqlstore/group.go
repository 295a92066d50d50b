package sqlstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- groups (migration 0023)

const groupCols = `g.id, g.environment_id, g.population_id, g.name, g.external_id, g.data, g.created_at, g.updated_at`

func scanGroup(r scanner) (store.Group, error) {
	var g store.Group
	var data string
	var c, u int64
	err := r.Scan(&g.ID, &g.EnvironmentID, &g.PopulationID, &g.Name, &g.ExternalID, &data, &c, &u)
	g.Data, g.CreatedAt, g.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return g, err
}

// groupList is GET /groups: PingOne filters groups on id, name, externalId
// and population.id. Names compare without regard to case.
var groupList = &listing[store.Group]{cols: groupCols, from: `FROM groups g WHERE g.environment_id = ?`, id: "g.id", byID: "groups_env_id",
	population: "g.population_id", scan: scanGroup, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":            {column: "g.id", ops: []string{"eq", "ne"}},
		"name":          {column: "g.name_lc", fold: true},
		"externalId":    {column: "g.external_id", ops: []string{"eq", "ne", "sw", "pr"}},
		"population.id": {column: "g.population_id", ops: []string{"eq", "ne"}},
	}}}

// groupNameTaken reports whether a group other than id has name (any case)
// where it would clash with a group of populationID: for an
// environment-wide group, any group of the environment; for a population's,
// an environment-wide one (the population's own clash on the unique
// constraint). The caller holds the environment's group lock.
func (s *SQLStore) groupNameTaken(ctx context.Context, envID, populationID, id, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM groups WHERE environment_id = ? AND name_lc = ? AND id <> ?`
	if populationID != "" {
		q += ` AND population_id = ''`
	}
	n, err := one(ctx, s, scanInt, q, envID, lc(name), id)
	if err != nil {
		return false, err
	}
	return *n > 0, nil
}

func scanInt(r scanner) (int, error) {
	var n int
	return n, r.Scan(&n)
}

func (s *SQLStore) CreateGroup(ctx context.Context, g *store.Group) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.lockEnvironment(ctx, "groups", g.EnvironmentID); err != nil {
			return err
		}
		if g.PopulationID != "" {
			if _, err := one(ctx, t, scanInt, `SELECT 1 FROM populations WHERE environment_id = ? AND id = ?`, g.EnvironmentID, g.PopulationID); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return store.ErrReferenced
				}
				return err
			}
		}
		if taken, err := t.groupNameTaken(ctx, g.EnvironmentID, g.PopulationID, g.ID, g.Name); err != nil {
			return err
		} else if taken {
			return &store.UniqueError{Resource: "group", Field: "name"}
		}
		// Counted under the environment's lock, so racing creates cannot
		// pass the limit together.
		if n, err := one(ctx, t, scanInt, `SELECT COUNT(*) FROM groups WHERE environment_id = ?`, g.EnvironmentID); err != nil {
			return err
		} else if *n >= store.MaxEnvironmentGroups {
			return store.ErrGroupsFull
		}
		_, err := t.exec(ctx, `INSERT INTO groups (id, environment_id, population_id, name, name_lc, external_id, data, created_at, updated_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, g.ID, g.EnvironmentID, g.PopulationID, g.Name, lc(g.Name), g.ExternalID, jsonText(g.Data),
			ms(g.CreatedAt), ms(g.UpdatedAt))
		return mapErr(err, "group", "name")
	})
}

func (s *SQLStore) GetGroup(ctx context.Context, envID, id string) (*store.Group, error) {
	return one(ctx, s, scanGroup, `SELECT `+groupCols+` FROM groups g WHERE g.environment_id = ? AND g.id = ?`, envID, id)
}

func (s *SQLStore) ListGroups(ctx context.Context, envID string, p store.Page) ([]store.Group, int, error) {
	return page(ctx, s, groupList, p, envID)
}

func (s *SQLStore) UpdateGroup(ctx context.Context, g *store.Group) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.lockEnvironment(ctx, "groups", g.EnvironmentID); err != nil {
			return err
		}
		// The stored population decides where the name may clash: the
		// record's is not written.
		cur, err := t.GetGroup(ctx, g.EnvironmentID, g.ID)
		if err != nil {
			return err
		}
		if taken, err := t.groupNameTaken(ctx, g.EnvironmentID, cur.PopulationID, g.ID, g.Name); err != nil {
			return err
		} else if taken {
			return &store.UniqueError{Resource: "group", Field: "name"}
		}
		err = t.execOne(ctx, `UPDATE groups SET name = ?, name_lc = ?, external_id = ?, data = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
			g.Name, lc(g.Name), g.ExternalID, jsonText(g.Data), ms(g.UpdatedAt), g.EnvironmentID, g.ID)
		return mapErr(err, "group", "name")
	})
}

// DeleteGroup deletes the group; its memberships and nestings cascade. Its
// role assignments name it without a foreign key, as a user's do.
func (s *SQLStore) DeleteGroup(ctx context.Context, envID, id string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.execOne(ctx, `DELETE FROM groups WHERE environment_id = ? AND id = ?`, envID, id); err != nil {
			return err
		}
		return t.deleteActorRoles(ctx, envID, id)
	})
}

// deleteActorRoles drops the role assignments actorID held; only an actor
// that held some changes the environment's cached configuration.
func (s *SQLStore) deleteActorRoles(ctx context.Context, envID, actorID string) error {
	res, err := s.exec(ctx, `DELETE FROM role_assignments WHERE environment_id = ? AND actor_id = ?`, envID, actorID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		s.changes.touch(envID)
	}
	return nil
}

// deleteGroupsOf deletes the groups of a population (DeletePopulation):
// a population group cannot outlive its population.
func (s *SQLStore) deleteGroupsOf(ctx context.Context, envID, populationID string) error {
	ids, err := many(ctx, s, scanString, `DELETE FROM groups WHERE environment_id = ? AND population_id = ? RETURNING id`, envID, populationID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.deleteActorRoles(ctx, envID, id); err != nil {
			return err
		}
	}
	return nil
}

func scanString(r scanner) (string, error) {
	var v string
	return v, r.Scan(&v)
}

// groupDescendants is a recursive CTE "down(id)" of the groups given by
// seed (a SELECT of one id column) and every group nested in them, at any
// depth. UNION (not UNION ALL) ends the walk on a cycle, which writes
// refuse but a reader need not trust.
const groupDescendants = `down(id) AS (%s UNION SELECT n.group_id FROM group_nestings n JOIN down ON n.parent_id = down.id)`

// groupsUnder is the ids of the groups a filter on groups g (its one %s)
// selects and of every group nested in them: the users filter
// memberOfGroups[…].
var groupsUnder = `WITH RECURSIVE ` + strings.Replace(groupDescendants, "%s", `SELECT g.id FROM groups g WHERE %s`, 1) + ` SELECT id FROM down`

func (s *SQLStore) CountGroupMembers(ctx context.Context, envID string, ids []string, total bool) (map[string]store.GroupMemberCounts, error) {
	out := map[string]store.GroupMemberCounts{}
	if len(ids) == 0 {
		return out, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	a := []any{envID}
	for _, id := range ids {
		a = append(a, id)
	}
	// Direct members, grouped in one statement.
	rows, err := s.queryDynamic(ctx, `SELECT m.group_id, COUNT(*) FROM group_memberships m JOIN groups g ON g.id = m.group_id
 WHERE g.environment_id = ? AND m.group_id IN (`+in+`) GROUP BY m.group_id`, a...)
	type count struct {
		id string
		n  int
	}
	direct, err := collect(rows, err, func(r scanner) (count, error) {
		var c count
		return c, r.Scan(&c.id, &c.n)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range direct {
		out[c.id] = store.GroupMemberCounts{Direct: c.n}
	}
	if !total {
		return out, nil
	}
	// Every user of a group or of a group nested in it, once: one walk
	// down per group asked for (a GET of one group asks for one). As in
	// the users filter, PostgreSQL gets the walk as an array, so that it
	// reads the memberships of those groups alone.
	in = `IN (` + groupsUnder + `)`
	if s.db.dialect == dialectPostgres {
		in = `= ANY(ARRAY(` + groupsUnder + `))`
	}
	q := strings.Replace(`SELECT COUNT(DISTINCT m.user_id) FROM group_memberships m WHERE m.group_id `+in, "%s", `g.environment_id = ? AND g.id = ?`, 1)
	for _, id := range ids {
		n, err := one(ctx, s, scanInt, q, envID, id)
		if err != nil {
			return nil, err
		}
		if *n > 0 {
			c := out[id]
			c.Total = *n
			out[id] = c
		}
	}
	return out, nil
}

// AddGroupMember checks in one transaction that the user and the group are
// envID's and that the group is the user's population's or
// environment-wide (PingOne: a population group holds that population's
// users only); the primary key refuses a second membership.
func (s *SQLStore) AddGroupMember(ctx context.Context, envID, userID, groupID string, at time.Time) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		// The user's row is locked (PostgreSQL; SQLite has one writer), so
		// that a concurrent move to another population either waits for
		// this membership and then ends it (UpdateUser), or is seen here.
		lock := ""
		if t.IsPostgres() {
			lock = " FOR UPDATE"
		}
		userPop, err := one(ctx, t, scanString, `SELECT population_id FROM users WHERE environment_id = ? AND id = ?`+lock, envID, userID)
		if err != nil {
			return err
		}
		groupPop, err := one(ctx, t, scanString, `SELECT population_id FROM groups WHERE environment_id = ? AND id = ?`, envID, groupID)
		if err != nil {
			return err
		}
		if *groupPop != "" && *groupPop != *userPop {
			return store.ErrGroupPopulation
		}
		// Counted under the user's lock, so racing adds cannot pass the
		// limit together (the primary key's user_id prefix serves it).
		n, err := one(ctx, t, scanInt, `SELECT COUNT(*) FROM group_memberships WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if *n >= store.MaxUserGroups {
			return store.ErrGroupLimit
		}
		_, err = t.exec(ctx, `INSERT INTO group_memberships (user_id, group_id, environment_id, created_at) VALUES (?, ?, ?, ?)`,
			userID, groupID, envID, ms(at))
		return mapErr(err, "groupMembership", "id")
	})
}

func (s *SQLStore) RemoveGroupMember(ctx context.Context, envID, userID, groupID string) error {
	return s.execOne(ctx, `DELETE FROM group_memberships WHERE environment_id = ? AND user_id = ? AND group_id = ?`, envID, userID, groupID)
}

// userGroupsCTE is "ug(id, direct)": the groups a user (the two arguments
// envID, userID) is a direct member of (direct 1), and every group those
// are nested in, at any depth (direct 0). A group reached both ways
// appears twice; readers take MAX(direct).
const userGroupsCTE = `ug(id, direct) AS (
 SELECT group_id, 1 FROM group_memberships WHERE environment_id = ? AND user_id = ?
 UNION
 SELECT n.parent_id, 0 FROM group_nestings n JOIN ug ON n.group_id = ug.id)`

// userGroupsFrom is the user's groups as a listing's FROM: its scope
// arguments are envID, userID, envID.
const userGroupsFrom = `FROM (SELECT id, MAX(direct) AS direct FROM (WITH RECURSIVE ` + userGroupsCTE + ` SELECT id, direct FROM ug) x GROUP BY id) m
 JOIN groups g ON g.id = m.id WHERE g.environment_id = ?`

const userGroupCols = `g.id, g.name, m.direct`

func scanUserGroup(r scanner) (store.UserGroup, error) {
	var g store.UserGroup
	var direct int
	err := r.Scan(&g.ID, &g.Name, &direct)
	g.Direct = direct == 1
	return g, err
}

var userGroupList = &listing[store.UserGroup]{cols: userGroupCols, from: userGroupsFrom, id: "g.id", population: "g.population_id", scan: scanUserGroup,
	filter: &filterSchema{attrs: map[string]filterAttr{
		"id":   {column: "g.id", ops: []string{"eq", "ne"}},
		"name": {column: "g.name_lc", fold: true},
		"type": {column: "(CASE WHEN m.direct = 1 THEN 'DIRECT' ELSE 'INDIRECT' END)", ops: []string{"eq", "ne"}},
	}}}

func (s *SQLStore) ListUserGroupsPage(ctx context.Context, envID, userID string, p store.Page) ([]store.UserGroup, int, error) {
	return page(ctx, s, userGroupList, p, envID, userID, envID)
}

func (s *SQLStore) UserGroups(ctx context.Context, envID, userID string) ([]store.UserGroup, error) {
	return many(ctx, s, scanUserGroup, `SELECT `+userGroupCols+` `+userGroupsFrom+` ORDER BY g.name_lc, g.name, g.id`, envID, userID, envID)
}

func (s *SQLStore) UserHasRoleAssignment(ctx context.Context, envID, userID string, roleIDs []string) (bool, error) {
	if len(roleIDs) == 0 {
		return false, nil
	}
	args := []any{envID, userID, envID, userID}
	for _, id := range roleIDs {
		args = append(args, id)
	}
	n, err := one(ctx, s, scanInt, `WITH RECURSIVE `+userGroupsCTE+`
 SELECT COUNT(*) FROM (SELECT 1 FROM role_assignments WHERE environment_id = ?
  AND (actor_id = ? OR actor_id IN (SELECT id FROM ug))
  AND role_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(roleIDs)), ",")+`) LIMIT 1) x`, args...)
	if err != nil {
		return false, err
	}
	return *n > 0, nil
}

// NestGroup takes the environment's nesting lock, so that of two
// nestings that would close a cycle together (A in B, B in A) the second
// sees the first and is refused.
func (s *SQLStore) NestGroup(ctx context.Context, envID, groupID, parentID string, at time.Time) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.lockEnvironment(ctx, "groupNestings", envID); err != nil {
			return err
		}
		child, err := one(ctx, t, scanString, `SELECT population_id FROM groups WHERE environment_id = ? AND id = ?`, envID, groupID)
		if err != nil {
			return err
		}
		parent, err := one(ctx, t, scanString, `SELECT population_id FROM groups WHERE environment_id = ? AND id = ?`, envID, parentID)
		if err != nil {
			return err
		}
		if groupID == parentID {
			return store.ErrGroupCycle
		}
		// The parent already among the child's descendants closes a cycle.
		n, err := one(ctx, t, scanInt, `WITH RECURSIVE `+strings.Replace(groupDescendants, "%s", `SELECT CAST(? AS TEXT)`, 1)+`
 SELECT COUNT(*) FROM down WHERE id = ?`, groupID, parentID)
		if err != nil {
			return err
		}
		if *n > 0 {
			return store.ErrGroupCycle
		}
		// The child's members join the parent: a population group takes
		// only groups of its own population.
		if *parent != "" && *child != *parent {
			return store.ErrGroupPopulation
		}
		_, err = t.exec(ctx, `INSERT INTO group_nestings (group_id, parent_id, environment_id, created_at) VALUES (?, ?, ?, ?)`,
			groupID, parentID, envID, ms(at))
		return mapErr(err, "groupNesting", "id")
	})
}

func (s *SQLStore) UnnestGroup(ctx context.Context, envID, groupID, parentID string) error {
	return s.execOne(ctx, `DELETE FROM group_nestings WHERE environment_id = ? AND group_id = ? AND parent_id = ?`, envID, groupID, parentID)
}

const nestingCols = `group_id, parent_id, environment_id, created_at`

func scanNesting(r scanner) (store.GroupNesting, error) {
	var n store.GroupNesting
	var c int64
	err := r.Scan(&n.GroupID, &n.ParentID, &n.EnvironmentID, &c)
	n.CreatedAt = fromMS(c)
	return n, err
}

func (s *SQLStore) GetGroupNesting(ctx context.Context, envID, groupID, parentID string) (*store.GroupNesting, error) {
	return one(ctx, s, scanNesting, `SELECT `+nestingCols+` FROM group_nestings WHERE environment_id = ? AND group_id = ? AND parent_id = ?`,
		envID, groupID, parentID)
}

func (s *SQLStore) ListGroupNestings(ctx context.Context, envID, groupID string) ([]store.GroupNesting, error) {
	return many(ctx, s, scanNesting, `SELECT `+nestingCols+` FROM group_nestings WHERE environment_id = ? AND group_id = ? ORDER BY parent_id`,
		envID, groupID)
}
