package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const unknownCols = `environment_id, username_hash, failed_count, locked_until, updated_at, expires_at`

func scanUnknown(r scanner) (store.UnknownUserFailures, error) {
	var f store.UnknownUserFailures
	var locked, up, exp int64
	if err := r.Scan(&f.EnvironmentID, &f.UsernameHash, &f.FailedCount, &locked, &up, &exp); err != nil {
		return f, err
	}
	f.LockedUntil, f.UpdatedAt, f.ExpiresAt = timeIfSet(locked), fromMS(up), fromMS(exp)
	return f, nil
}

func (s *SQLStore) GetUnknownUserFailures(ctx context.Context, envID, usernameHash string, now time.Time) (*store.UnknownUserFailures, error) {
	return one(ctx, s, scanUnknown, `SELECT `+unknownCols+` FROM unknown_user_failures
 WHERE environment_id = ? AND username_hash = ? AND expires_at > ?`, envID, usernameHash, ms(now))
}

// RecordUnknownUserFailure is one upsert, so that concurrent failures all
// count, with RecordPasswordFailure's arithmetic. A row past its expiry
// that the purge has not reached yet has aged by then (it expires at least
// window after its last failure, and after its lock), so it starts over
// like a missing one.
func (s *SQLStore) RecordUnknownUserFailure(ctx context.Context, envID, usernameHash string, lockAfter int, lockFor, window time.Duration, now time.Time) (*store.UnknownUserFailures, error) {
	if lockAfter <= 0 {
		lockAfter = 1 << 30
	}
	n := ms(now)
	lockAt := ms(now.Add(lockFor))
	firstLock := int64(0)
	if lockAfter <= 1 {
		firstLock = lockAt
	}
	// The row lives as long as its count can matter: window after this
	// failure, or to the end of a lock this failure sets, whichever is
	// later.
	exp := ms(now.Add(max(window, lockFor)))
	const t = "unknown_user_failures"
	fresh := freshCount(t)
	q := `INSERT INTO unknown_user_failures (` + unknownCols + `) VALUES (?, ?, 1, ?, ?, ?)
 ON CONFLICT (environment_id, username_hash) DO UPDATE SET
 failed_count = ` + fresh + ` + 1,
 locked_until = CASE WHEN ` + fresh + ` + 1 >= ? THEN ? WHEN ` + t + `.locked_until <> 0 AND ` + t + `.locked_until <= ? THEN 0 ELSE ` + t + `.locked_until END,
 updated_at = excluded.updated_at,
 expires_at = excluded.expires_at
 RETURNING ` + unknownCols
	if s.tx == nil {
		defer s.db.reads.writing()()
	}
	r, err := s.prepared(ctx, s.db.writer, q)
	if err != nil {
		return nil, err
	}
	aged := agedBefore(now, window)
	rows, err := r.query(ctx, []any{envID, usernameHash, firstLock, n, exp, n, aged, n, aged, lockAfter, lockAt, n})
	list, err := collect(rows, err, scanUnknown)
	if err = mapErr(err, "failure count", "username"); errors.Is(err, store.ErrReferenced) {
		return nil, store.ErrNotFound // no such environment
	}
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, store.ErrNotFound
	}
	s.countRows(t, 1)
	return &list[0], nil
}
