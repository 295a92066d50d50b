package sqlstore

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ---- users

const userCols = `u.id, u.environment_id, u.population_id, u.username, u.email, u.given_name, u.family_name, u.external_id,
 u.enabled, u.account_status, u.locked_at, u.unlock_at, u.lifecycle_status, u.idp_type, u.idp_id, u.mfa_enabled, u.verify_status,
 u.data, u.created_at, u.updated_at`

func scanUser(r scanner) (store.User, error) {
	var u store.User
	var data string
	var lockedAt, unlockAt, c, up int64
	err := r.Scan(&u.ID, &u.EnvironmentID, &u.PopulationID, &u.Username, &u.Email, &u.GivenName, &u.FamilyName, &u.ExternalID,
		&u.Enabled, &u.AccountStatus, &lockedAt, &unlockAt, &u.LifecycleStatus, &u.IdentityProviderType, &u.IdentityProviderID,
		&u.MFAEnabled, &u.VerifyStatus, &data, &c, &up)
	u.Data, u.LockedAt, u.UnlockAt, u.CreatedAt, u.UpdatedAt = []byte(data), timeIfSet(lockedAt), timeIfSet(unlockAt), fromMS(c), fromMS(up)
	return u, err
}

// msIfSet keeps "no time" as 0 rather than year 1's milliseconds.
func msIfSet(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func timeIfSet(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

func lc(s string) string { return strings.ToLower(s) }

func (s *SQLStore) CreateUser(ctx context.Context, u *store.User) error {
	if u.Unique != nil {
		return s.Tx(ctx, func(tx store.Store) error {
			t := tx.(*SQLStore)
			if err := t.insertUser(ctx, u); err != nil {
				return err
			}
			return t.claimUserValues(ctx, u, true)
		})
	}
	return s.insertUser(ctx, u)
}

func (s *SQLStore) insertUser(ctx context.Context, u *store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (id, environment_id, population_id, username, username_lc, email, email_lc, given_name, given_name_lc,
 family_name, family_name_lc, external_id, enabled, account_status, locked_at, unlock_at, lifecycle_status, idp_type, idp_id, mfa_enabled,
 verify_status, data, created_at, updated_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.EnvironmentID, u.PopulationID, u.Username, lc(u.Username), u.Email, lc(u.Email), u.GivenName, lc(u.GivenName),
		u.FamilyName, lc(u.FamilyName), u.ExternalID, u.Enabled, u.AccountStatus, msIfSet(u.LockedAt), msIfSet(u.UnlockAt),
		u.LifecycleStatus, u.IdentityProviderType, u.IdentityProviderID, u.MFAEnabled, u.VerifyStatus, jsonText(u.Data),
		ms(u.CreatedAt), ms(u.UpdatedAt))
	return mapErr(err, "user", "username")
}

// forUpdate locks the row a transaction reads before it rewrites it, so
// that two concurrent read-modify-writes of one user on PostgreSQL do not
// lose one of the writes. SQLite runs one writer at a time already.
func (s *SQLStore) forUpdate() string {
	if s.tx != nil && s.db.dialect == dialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

func (s *SQLStore) GetUser(ctx context.Context, envID, id string) (*store.User, error) {
	return one(ctx, s, scanUser, `SELECT `+userCols+` FROM users u WHERE u.environment_id = ? AND u.id = ?`+s.forUpdate(), envID, id)
}

func (s *SQLStore) GetUserByUsername(ctx context.Context, envID, username string) (*store.User, error) {
	return one(ctx, s, scanUser, `SELECT `+userCols+` FROM users u WHERE u.environment_id = ? AND u.username_lc = ?`+s.forUpdate(), envID, lc(username))
}

// userList is GET /users. String attributes that PingOne compares without
// regard to case read lower-cased columns; the others allow only operators
// that behave the same on both databases. account.status reads the stored
// status: a password lockout that has run out still matches LOCKED until the
// user's next password check or unlock writes OK (reads of the user show OK
// at once).
var userList = &listing[store.User]{cols: userCols, from: `FROM users u WHERE u.environment_id = ?`, id: "u.id", byID: "users_env_id",
	population: "u.population_id", scan: scanUser, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":                    {column: "u.id", ops: []string{"eq", "ne"}},
		"username":              {column: "u.username_lc", fold: true},
		"email":                 {column: "u.email_lc", fold: true},
		"name.given":            {column: "u.given_name_lc", fold: true},
		"name.family":           {column: "u.family_name_lc", fold: true},
		"externalId":            {column: "u.external_id", ops: []string{"eq", "ne", "sw", "pr"}},
		"population.id":         {column: "u.population_id", ops: []string{"eq", "ne"}},
		"enabled":               {column: "u.enabled", kind: boolAttr},
		"mfaEnabled":            {column: "u.mfa_enabled", kind: boolAttr},
		"account.status":        {column: "u.account_status", ops: []string{"eq", "ne"}},
		"lifecycle.status":      {column: "u.lifecycle_status", ops: []string{"eq", "ne"}},
		"identityProvider.type": {column: "u.idp_type", ops: []string{"eq", "ne"}},
		"identityProvider.id":   {column: "u.idp_id", ops: []string{"eq", "ne", "pr"}},
		"verifyStatus":          {column: "u.verify_status", ops: []string{"eq", "ne"}},
		"createdAt":             {column: "u.created_at", kind: timeAttr},
		"updatedAt":             {column: "u.updated_at", kind: timeAttr},
	}, valuePaths: map[string]valuePathSchema{
		// memberOfGroups[id eq "…"]: members of the group directly or
		// through a group nested in it (migration 0023). The walk is not
		// tied to the user row, so it runs once per query; a group id of
		// another environment reaches only that environment's users, whom
		// the list's scope leaves out. PostgreSQL guesses a recursive
		// walk's size (a hundred groups, a fifth of the users) and then
		// reads whole tables; as arrays computed first, the groups' and
		// then the users' ids are looked up through their indexes.
		"memberOfGroups": {
			template: `u.id IN (SELECT gm.user_id FROM group_memberships gm WHERE gm.group_id IN (` + groupsUnder + `))`,
			postgres: `u.id = ANY(ARRAY(SELECT gm.user_id FROM group_memberships gm WHERE gm.group_id = ANY(ARRAY(` + groupsUnder + `))))`,
			inner:    &filterSchema{attrs: map[string]filterAttr{"id": {column: "g.id", ops: []string{"eq"}}}}},
	}}}

func (s *SQLStore) ListUsers(ctx context.Context, envID string, pg store.Page) ([]store.User, int, error) {
	if len(pg.Custom) == 0 || pg.Filter == nil {
		return page(ctx, s, userList, pg, envID)
	}
	l := *userList
	f := &filterSchema{attrs: make(map[string]filterAttr, len(userList.filter.attrs)+len(pg.Custom)), valuePaths: userList.filter.valuePaths}
	for k, v := range userList.filter.attrs {
		f.attrs[k] = v
	}
	for _, name := range pg.Custom {
		if _, builtin := f.attrs[name]; builtin || !customAttrName.MatchString(name) {
			continue
		}
		f.attrs[name] = filterAttr{column: s.customColumn(name), ops: []string{"eq", "ne", "sw", "pr"}}
	}
	l.filter = f
	return page(ctx, s, &l, pg, envID)
}

// customAttrName is what a custom attribute's name is (identity's rule):
// only such a name is written into a filter's SQL, and only one the
// environment's schema has (store.Page.Custom), never the filter's text.
var customAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,255}$`)

// customColumn is the stored value of the custom attribute name, a JSON
// string in the user's data column, as each dialect extracts it. It is
// compared as stored (no case folding: SQLite's lower() folds ASCII alone,
// so folding would differ between the databases), byte-wise as the
// other columns (see filter.go). Only a JSON string counts, on both
// databases: PostgreSQL's #>> would also render a number, a boolean or an
// object stored before the attribute was defined as text, which SQLite's
// json_type test leaves out. No index serves it: such a filter reads the
// environment's users. name is written into the SQL, so it must pass
// customAttrName (letters, digits, underscore, hyphen: never a quote),
// and it is quoted in both dialects' JSON paths so that a hyphen is part
// of the name; anything else compares nothing.
func (s *SQLStore) customColumn(name string) string {
	if !customAttrName.MatchString(name) {
		return `(CAST(NULL AS TEXT))`
	}
	if s.db.dialect == dialectPostgres {
		path := `'{custom,"` + name + `"}'`
		return `((CASE WHEN jsonb_typeof(u.data::jsonb #> ` + path + `) = 'string' THEN u.data::jsonb #>> ` + path + ` END) COLLATE "C")`
	}
	path := `'$.custom."` + name + `"'`
	return `(CASE WHEN json_type(u.data, ` + path + `) = 'text' THEN json_extract(u.data, ` + path + `) END)`
}

// UpdateUser also ends the user's memberships of another population's
// groups: PingOne removes a user who changes population from the groups of
// the population left.
func (s *SQLStore) UpdateUser(ctx context.Context, u *store.User) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := t.updateUser(ctx, u); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM group_memberships WHERE user_id = ? AND group_id IN
 (SELECT id FROM groups WHERE environment_id = ? AND population_id <> '' AND population_id <> ?)`, u.ID, u.EnvironmentID, u.PopulationID); err != nil {
			return err
		}
		if u.Unique != nil {
			return t.claimUserValues(ctx, u, false)
		}
		return nil
	})
}

func (s *SQLStore) updateUser(ctx context.Context, u *store.User) error {
	err := s.execOne(ctx, `UPDATE users SET population_id = ?, username = ?, username_lc = ?, email = ?, email_lc = ?, given_name = ?, given_name_lc = ?,
 family_name = ?, family_name_lc = ?, external_id = ?, enabled = ?, lifecycle_status = ?, idp_type = ?, idp_id = ?, mfa_enabled = ?,
 verify_status = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
		u.PopulationID, u.Username, lc(u.Username), u.Email, lc(u.Email), u.GivenName, lc(u.GivenName), u.FamilyName, lc(u.FamilyName),
		u.ExternalID, u.Enabled, u.LifecycleStatus, u.IdentityProviderType, u.IdentityProviderID, u.MFAEnabled, u.VerifyStatus, jsonText(u.Data),
		ms(u.UpdatedAt), u.EnvironmentID, u.ID)
	return mapErr(err, "user", "username")
}

func (s *SQLStore) UpdateUserAccount(ctx context.Context, envID, id, status string, lockedAt, unlockAt, updatedAt time.Time) error {
	return s.execOne(ctx, `UPDATE users SET account_status = ?, locked_at = ?, unlock_at = ?, updated_at = ? WHERE environment_id = ? AND id = ?`,
		status, msIfSet(lockedAt), msIfSet(unlockAt), ms(updatedAt), envID, id)
}

// DeleteUser removes the user and the roles it held (role assignments name
// their actor without a foreign key: the actor may be a user or an app).
func (s *SQLStore) DeleteUser(ctx context.Context, envID, id string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := mapErr(t.execOne(ctx, `DELETE FROM users WHERE environment_id = ? AND id = ?`, envID, id), "user", "id"); err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM role_assignments WHERE environment_id = ? AND actor_id = ?`, envID, id)
		if err != nil {
			return err
		}
		// Only a user who held roles changes configuration: deleting the
		// others must not empty the environment's cache.
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			t.changes.touch(envID)
		}
		return nil
	})
}

// ---- passwords

const pwCols = `user_id, environment_id, hash, status, last_changed_at, failed_count, locked_until, history, updated_at`

func scanPassword(r scanner) (store.UserPassword, error) {
	var p store.UserPassword
	var history string
	var changed, locked, up int64
	if err := r.Scan(&p.UserID, &p.EnvironmentID, &p.Hash, &p.Status, &changed, &p.FailedCount, &locked, &history, &up); err != nil {
		return p, err
	}
	p.LastChangedAt, p.LockedUntil, p.UpdatedAt = fromMS(changed), timeIfSet(locked), fromMS(up)
	var h []historyEntry
	if err := json.Unmarshal([]byte(history), &h); err != nil {
		return p, err
	}
	for _, e := range h {
		p.History = append(p.History, store.PasswordHistoryEntry{Hash: e.Hash, ChangedAt: fromMS(e.ChangedAt)})
	}
	return p, nil
}

// historyEntry is how a history entry is kept: milliseconds, like every
// other time in the store.
type historyEntry struct {
	Hash      string `json:"hash"`
	ChangedAt int64  `json:"changedAt"`
}

func historyText(h []store.PasswordHistoryEntry) string {
	out := make([]historyEntry, len(h))
	for i, e := range h {
		out[i] = historyEntry{Hash: e.Hash, ChangedAt: ms(e.ChangedAt)}
	}
	b, _ := json.Marshal(out) // strings and numbers only
	return string(b)
}

func (s *SQLStore) GetUserPassword(ctx context.Context, envID, userID string) (*store.UserPassword, error) {
	return one(ctx, s, scanPassword, `SELECT `+pwCols+` FROM user_passwords WHERE environment_id = ? AND user_id = ?`+s.forUpdate(), envID, userID)
}

// PutUserPassword writes the whole password state of a user of the named
// environment; the update touches only that environment's row, so a
// mismatched pair writes nothing.
func (s *SQLStore) PutUserPassword(ctx context.Context, p *store.UserPassword) error {
	if _, err := s.GetUser(ctx, p.EnvironmentID, p.UserID); err != nil {
		return err
	}
	err := s.execOne(ctx, `INSERT INTO user_passwords (`+pwCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, status = excluded.status, last_changed_at = excluded.last_changed_at,
 failed_count = excluded.failed_count, locked_until = excluded.locked_until, history = excluded.history, updated_at = excluded.updated_at
 WHERE user_passwords.environment_id = excluded.environment_id`,
		p.UserID, p.EnvironmentID, p.Hash, p.Status, ms(p.LastChangedAt), p.FailedCount, msIfSet(p.LockedUntil), historyText(p.History), ms(p.UpdatedAt))
	return mapErr(err, "password", "user")
}

// RecordPasswordFailure counts a failure in one statement, so that
// concurrent failures all count. A lock that has run out starts a fresh
// count, as does an unlocked count whose last failure is window old; the
// lockAfter-th failure locks until now+lockFor.
func (s *SQLStore) RecordPasswordFailure(ctx context.Context, envID, userID string, lockAfter int, lockFor, window time.Duration, now time.Time) (*store.UserPassword, error) {
	if lockAfter <= 0 {
		lockAfter = 1 << 30
	}
	n := ms(now)
	q := `UPDATE user_passwords SET
 failed_count = ` + freshCount("") + ` + 1,
 locked_until = CASE WHEN ` + freshCount("") + ` + 1 >= ? THEN ? WHEN locked_until <> 0 AND locked_until <= ? THEN 0 ELSE locked_until END,
 updated_at = ?
 WHERE environment_id = ? AND user_id = ?
 RETURNING ` + pwCols
	if s.tx == nil {
		defer s.db.reads.writing()()
	}
	r, err := s.prepared(ctx, s.db.writer, q)
	if err != nil {
		return nil, err
	}
	aged := agedBefore(now, window)
	rows, err := r.query(ctx, []any{n, aged, n, aged, lockAfter, ms(now.Add(lockFor)), n, n, envID, userID})
	list, err := collect(rows, err, scanPassword)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, store.ErrNotFound
	}
	return &list[0], nil
}

// freshCount is the failure count a new failure adds to: 0 when a lock has
// run out or the count has aged, else the count. Its parameters are now and
// agedBefore's cutoff; table qualifies the columns ("" for none).
func freshCount(table string) string {
	c := func(col string) string {
		if table == "" {
			return col
		}
		return table + "." + col
	}
	return `(CASE WHEN (` + c("locked_until") + ` <> 0 AND ` + c("locked_until") + ` <= ?) OR (` + c("locked_until") + ` = 0 AND ` +
		c("updated_at") + ` <= ?) THEN 0 ELSE ` + c("failed_count") + ` END)`
}

// agedBefore is the time (unix ms) at or before which a last failure no
// longer counts; without a window, none that a row can hold.
func agedBefore(now time.Time, window time.Duration) int64 {
	if window <= 0 {
		return -1
	}
	return ms(now.Add(-window))
}

func (s *SQLStore) ClearPasswordFailures(ctx context.Context, envID, userID string) error {
	_, err := s.exec(ctx, `UPDATE user_passwords SET failed_count = 0, locked_until = 0
 WHERE environment_id = ? AND user_id = ? AND (failed_count <> 0 OR locked_until <> 0)`, envID, userID)
	return err
}

// ---- lookups the user endpoints need without a population's user count

func (s *SQLStore) ResolvePopulation(ctx context.Context, envID, id string) (string, error) {
	scan := func(r scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	}
	var got *string
	var err error
	if id == "" {
		got, err = one(ctx, s, scan, `SELECT id FROM populations WHERE environment_id = ? AND is_default`, envID)
	} else {
		got, err = one(ctx, s, scan, `SELECT id FROM populations WHERE environment_id = ? AND id = ?`, envID, id)
	}
	if err != nil {
		return "", err
	}
	return *got, nil
}

// EffectivePasswordPolicy is one query: the population's policy when it
// exists in the environment, else the environment's default.
func (s *SQLStore) EffectivePasswordPolicy(ctx context.Context, envID, populationID string) (*store.PasswordPolicy, error) {
	return one(ctx, s, scanPP, `SELECT `+ppCols+` FROM password_policies
 WHERE environment_id = ? AND (is_default OR id = (SELECT p.password_policy_id FROM populations p WHERE p.environment_id = ? AND p.id = ?))
 ORDER BY CASE WHEN is_default THEN 1 ELSE 0 END LIMIT 1`, envID, envID, populationID)
}
