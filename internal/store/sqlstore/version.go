package sqlstore

import (
	"context"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Configuration versions. A write of cached configuration marks its
// environment in the transaction before it runs; the commit bumps each marked
// environment's version as its last statements and, once committed, tells
// the watchers.
//
// A bump is an UPDATE of the environment's config_versions row, which
// exists from the environment's creation: it checks no foreign key, so it
// does not wait on the environment row. DeleteEnvironment holds that row
// while its cascade waits on rows a writer may hold; the cascade reaches
// config_versions last (it is the last table made that references
// environments, and PostgreSQL cascades in the order the references were
// made), so the writer's bump goes through, it commits, and the delete
// goes on. A table made later that references environments is cascaded
// after config_versions: a writer holding its rows would deadlock with the
// delete (PostgreSQL then fails one of the two). themes is such a table, so
// DeleteEnvironment deletes its rows itself before the environment row,
// waiting for a theme writer there instead (it commits, its bump included).
//
// Bumping last, in environment order, keeps the version rows locked (on
// PostgreSQL) only for the moment before the commit: writers of one
// environment's configuration queue on its row and never wait for each
// other there in a cycle. They still may over the records they write, as
// any two transactions may.

// configChanges are the environments a transaction changed.
type configChanges struct {
	touched map[string]bool
	deleted map[string]bool
}

func (c *configChanges) touch(envID string) {
	if c.touched == nil {
		c.touched = map[string]bool{}
	}
	c.touched[envID] = true
}

func (c *configChanges) delete(envID string) {
	if c.deleted == nil {
		c.deleted = map[string]bool{}
	}
	c.deleted[envID] = true
}

// configWrite runs fn, a write of envID's cached configuration, in a
// transaction (the caller's, or one of its own) whose commit bumps envID's
// version. The mark comes first: fn may fail after some of its statements
// ran, and a caller's transaction that goes on and commits keeps them
// (SQLite does). A transaction that rolls back bumps nothing.
func (s *SQLStore) configWrite(ctx context.Context, envID string, fn func(t *SQLStore) error) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		t.changes.touch(envID)
		return fn(t)
	})
}

// bumpVersions adds one to the version of every environment the
// transaction changed and returns what the watchers will hear.
func (s *SQLStore) bumpVersions(ctx context.Context) ([]store.ConfigChange, error) {
	var out []store.ConfigChange
	envs := make([]string, 0, len(s.changes.touched))
	for id := range s.changes.touched {
		if !s.changes.deleted[id] {
			envs = append(envs, id)
		}
	}
	slices.Sort(envs)
	for _, id := range envs {
		v, err := one(ctx, s, func(r scanner) (int64, error) {
			var v int64
			return v, r.Scan(&v)
		}, `UPDATE config_versions SET version = version + 1 WHERE environment_id = ? RETURNING version`, id)
		if err != nil {
			// ErrNotFound: the environment is gone, and with it the write.
			return nil, err
		}
		out = append(out, store.ConfigChange{EnvironmentID: id, Version: *v})
	}
	for id := range s.changes.deleted {
		out = append(out, store.ConfigChange{EnvironmentID: id, Deleted: true})
	}
	// Other nodes hear of the changes when the transaction commits.
	if err := s.announce(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SQLStore) ConfigVersion(ctx context.Context, envID string) (int64, error) {
	v, err := one(ctx, s, func(r scanner) (int64, error) {
		var v int64
		return v, r.Scan(&v)
	}, `SELECT version FROM config_versions WHERE environment_id = ?`, envID)
	if err != nil {
		return 0, err
	}
	return *v, nil
}

func (s *SQLStore) WatchConfig(fn func(store.ConfigChange)) {
	s.db.watchMu.Lock()
	defer s.db.watchMu.Unlock()
	s.db.watchers = append(s.db.watchers, fn)
}

func (db *DB) notify(changes []store.ConfigChange) {
	if len(changes) == 0 {
		return
	}
	db.watchMu.RLock()
	ws := db.watchers
	db.watchMu.RUnlock()
	for _, c := range changes {
		for _, fn := range ws {
			fn(c)
		}
	}
}

// lockEnvironment makes the transactions that take the lock named what for
// envID run one after the other, until each ends. A write that reads which
// record holds an environment's default flag, then moves or removes it,
// takes it before that read: PostgreSQL's row locks alone do not do it,
// since a transaction that waited on the old default's row goes on without
// seeing the new one (its statement's snapshot predates it) and then fails
// the one-default index, or writes a flag it read before the other commit.
// It is a transaction-scoped advisory lock: it needs no row to exist and
// waits on no table a DeleteEnvironment holds. SQLite's transactions hold
// the one writer already.
func (s *SQLStore) lockEnvironment(ctx context.Context, what, envID string) error {
	if s.tx == nil || s.db.dialect != dialectPostgres {
		return nil
	}
	_, err := s.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, what+":"+envID)
	return err
}
