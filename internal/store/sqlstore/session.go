package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A user's sessions (the user sessions API) and the writes that keep a
// session alive. The index sessions_user_active serves the listing.

func (s *SQLStore) ListUserSessions(ctx context.Context, envID, userID string) ([]store.Session, error) {
	return many(ctx, s, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE environment_id = ? AND user_id = ?
 ORDER BY last_used_at DESC, id`, envID, userID)
}

// TouchSession moves only a session still live at usedAt: a use checked
// while the session was live but written after it expired (or ended) must
// not bring it back.
func (s *SQLStore) TouchSession(ctx context.Context, envID, id string, usedAt, expiresAt time.Time) error {
	return s.execOne(ctx, `UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE environment_id = ? AND id = ? AND expires_at > ?`,
		ms(usedAt), ms(expiresAt), envID, id, ms(usedAt))
}

func (s *SQLStore) EndUserSession(ctx context.Context, envID, userID, id string, at time.Time) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		// Lock the session first (PostgreSQL), so that a sign-on renewing it
		// concurrently either ends with it or waits.
		lock := ""
		if t.IsPostgres() {
			lock = " FOR UPDATE"
		}
		if _, err := one(ctx, t, func(r scanner) (string, error) {
			var x string
			return x, r.Scan(&x)
		}, `SELECT id FROM sessions WHERE environment_id = ? AND user_id = ? AND id = ?`+lock, envID, userID, id); err != nil {
			return err
		}
		if err := t.RevokeSessionGrants(ctx, envID, id, at); err != nil {
			return err
		}
		return t.DeleteSession(ctx, envID, id)
	})
}
