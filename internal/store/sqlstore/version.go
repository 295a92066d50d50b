package sqlstore

import (
	"context"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Configuration versions. A write of cached configuration marks its
// environment in the transaction; the commit bumps each marked
// environment's version as its last statements and, once committed, tells
// the watchers. Bumping last keeps the version row locked (on PostgreSQL)
// only for the moment before the commit, and in environment order, so two
// writers of one environment's configuration queue there without ever
// waiting for each other in a cycle.

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
// version. A failed fn marks nothing.
func (s *SQLStore) configWrite(ctx context.Context, envID string, fn func(t *SQLStore) error) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := fn(t); err != nil {
			return err
		}
		t.changes.touch(envID)
		return nil
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
		}, `INSERT INTO config_versions (environment_id, version) VALUES (?, 1)
 ON CONFLICT (environment_id) DO UPDATE SET version = config_versions.version + 1 RETURNING version`, id)
		if err != nil {
			return nil, mapErr(err, "environment", "id")
		}
		out = append(out, store.ConfigChange{EnvironmentID: id, Version: *v})
	}
	for id := range s.changes.deleted {
		out = append(out, store.ConfigChange{EnvironmentID: id, Deleted: true})
	}
	return out, nil
}

func (s *SQLStore) ConfigVersion(ctx context.Context, envID string) (int64, error) {
	v, err := one(ctx, s, func(r scanner) (int64, error) {
		var v int64
		return v, r.Scan(&v)
	}, `SELECT COALESCE(v.version, 0) FROM environments e LEFT JOIN config_versions v ON v.environment_id = e.id WHERE e.id = ?`, envID)
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
