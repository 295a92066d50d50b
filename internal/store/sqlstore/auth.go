package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The auth service's state. Single-use and rotation are conditional
// updates, never read-then-write, so two nodes racing on one code or one
// refresh token cannot both win.

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// ---- flows

const flowCols = `id, environment_id, application_id, user_id, session_id, status, binding, version, data, created_at, updated_at, expires_at`

func scanFlow(r scanner) (store.Flow, error) {
	var f store.Flow
	var data string
	var c, u, e int64
	err := r.Scan(&f.ID, &f.EnvironmentID, &f.ApplicationID, &f.UserID, &f.SessionID, &f.Status, &f.Binding, &f.Version, &data, &c, &u, &e)
	f.Data, f.CreatedAt, f.UpdatedAt, f.ExpiresAt = []byte(data), fromMS(c), fromMS(u), fromMS(e)
	return f, err
}

func (s *SQLStore) CreateFlow(ctx context.Context, f *store.Flow) error {
	_, err := s.exec(ctx, `INSERT INTO flows (`+flowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.EnvironmentID, f.ApplicationID, f.UserID, f.SessionID, f.Status, f.Binding, f.Version, jsonText(f.Data), ms(f.CreatedAt), ms(f.UpdatedAt), ms(f.ExpiresAt))
	return mapErr(err, "flow", "id")
}

func (s *SQLStore) GetFlow(ctx context.Context, envID, id string) (*store.Flow, error) {
	return one(ctx, s, scanFlow, `SELECT `+flowCols+` FROM flows WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) UpdateFlow(ctx context.Context, f *store.Flow) error {
	res, err := s.exec(ctx, `UPDATE flows SET user_id = ?, session_id = ?, status = ?, binding = ?, version = version + 1, data = ?, updated_at = ?, expires_at = ?
 WHERE environment_id = ? AND id = ? AND version = ?`,
		f.UserID, f.SessionID, f.Status, f.Binding, jsonText(f.Data), ms(f.UpdatedAt), ms(f.ExpiresAt), f.EnvironmentID, f.ID, f.Version)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		f.Version++
		return nil
	}
	if _, err := s.GetFlow(ctx, f.EnvironmentID, f.ID); err != nil {
		return err
	}
	return store.ErrConflict
}

func (s *SQLStore) DeleteFlow(ctx context.Context, envID, id string) error {
	return s.execOne(ctx, `DELETE FROM flows WHERE environment_id = ? AND id = ?`, envID, id)
}

const liveFlowsQuery = `SELECT COUNT(*) FROM (SELECT 1 FROM flows WHERE environment_id = ? AND expires_at > ? LIMIT ?) AS live`

// CountLiveFlows reads the environment's flows through flows_env; the
// LIMIT bounds the work however many there are, and the purge keeps
// expired ones from piling up in between.
func (s *SQLStore) CountLiveFlows(ctx context.Context, envID string, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := one(ctx, s, func(r scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	}, liveFlowsQuery, envID, ms(now), limit)
	if err != nil {
		return 0, err
	}
	return *n, nil
}

// ---- sessions

const sessionCols = `id, environment_id, user_id, token_hash, auth_time, amr, data, created_at, last_used_at, expires_at`

func scanSession(r scanner) (store.Session, error) {
	var x store.Session
	var amr, data string
	var at, c, l, e int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.UserID, &x.TokenHash, &at, &amr, &data, &c, &l, &e)
	x.AMR = strings.Fields(amr)
	x.Data, x.AuthTime, x.CreatedAt, x.LastUsedAt, x.ExpiresAt = []byte(data), fromMS(at), fromMS(c), fromMS(l), fromMS(e)
	return x, err
}

func (s *SQLStore) CreateSession(ctx context.Context, x *store.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.EnvironmentID, x.UserID, x.TokenHash, ms(x.AuthTime), strings.Join(x.AMR, " "), jsonText(x.Data), ms(x.CreatedAt), ms(x.LastUsedAt), ms(x.ExpiresAt))
	return mapErr(err, "session", "token")
}

func (s *SQLStore) GetSession(ctx context.Context, envID, id string) (*store.Session, error) {
	return one(ctx, s, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) GetSessionByToken(ctx context.Context, envID, tokenHash string) (*store.Session, error) {
	return one(ctx, s, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE environment_id = ? AND token_hash = ?`, envID, tokenHash)
}

func (s *SQLStore) UpdateSession(ctx context.Context, x *store.Session) error {
	err := s.execOne(ctx, `UPDATE sessions SET token_hash = ?, auth_time = ?, amr = ?, data = ?, last_used_at = ?, expires_at = ? WHERE environment_id = ? AND id = ?`,
		x.TokenHash, ms(x.AuthTime), strings.Join(x.AMR, " "), jsonText(x.Data), ms(x.LastUsedAt), ms(x.ExpiresAt), x.EnvironmentID, x.ID)
	return mapErr(err, "session", "token")
}

func (s *SQLStore) DeleteSession(ctx context.Context, envID, id string) error {
	return s.execOne(ctx, `DELETE FROM sessions WHERE environment_id = ? AND id = ?`, envID, id)
}

// ---- authorization codes

const codeCols = `code_hash, environment_id, application_id, user_id, session_id, grant_id, data, used_at, access_jti, access_expires_at,
 front_access_jti, front_access_expires_at, created_at, expires_at`

func scanCode(r scanner) (store.AuthCode, error) {
	var x store.AuthCode
	var data string
	var used, accExp, frontExp sql.NullInt64
	var jti, frontJTI sql.NullString
	var c, e int64
	err := r.Scan(&x.CodeHash, &x.EnvironmentID, &x.ApplicationID, &x.UserID, &x.SessionID, &x.GrantID, &data, &used, &jti, &accExp,
		&frontJTI, &frontExp, &c, &e)
	x.Data, x.UsedAt, x.AccessJTI, x.AccessExpiresAt, x.CreatedAt, x.ExpiresAt = []byte(data), fromNullMS(used), jti.String, fromNullMS(accExp), fromMS(c), fromMS(e)
	x.FrontAccessJTI, x.FrontAccessExpiresAt = frontJTI.String, fromNullMS(frontExp)
	return x, err
}

func (s *SQLStore) CreateAuthCode(ctx context.Context, x *store.AuthCode) error {
	// A code without a front-channel access token keeps both columns NULL,
	// as access_jti is until redemption.
	var frontJTI, frontExp any
	if x.FrontAccessJTI != "" {
		frontJTI, frontExp = x.FrontAccessJTI, ms(x.FrontAccessExpiresAt)
	}
	_, err := s.exec(ctx, `INSERT INTO auth_codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?)`,
		x.CodeHash, x.EnvironmentID, x.ApplicationID, x.UserID, x.SessionID, x.GrantID, jsonText(x.Data), frontJTI, frontExp, ms(x.CreatedAt), ms(x.ExpiresAt))
	return mapErr(err, "code", "code")
}

const pushedCols = `uri_hash, environment_id, application_id, data, created_at, expires_at`

func scanPushed(r scanner) (store.PushedRequest, error) {
	var x store.PushedRequest
	var data string
	var c, e int64
	err := r.Scan(&x.URIHash, &x.EnvironmentID, &x.ApplicationID, &data, &c, &e)
	x.Data, x.CreatedAt, x.ExpiresAt = []byte(data), fromMS(c), fromMS(e)
	return x, err
}

func (s *SQLStore) CreatePushedRequest(ctx context.Context, x *store.PushedRequest) error {
	_, err := s.exec(ctx, `INSERT INTO pushed_requests (`+pushedCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		x.URIHash, x.EnvironmentID, x.ApplicationID, jsonText(x.Data), ms(x.CreatedAt), ms(x.ExpiresAt))
	return mapErr(err, "pushed request", "request_uri")
}

// TakePushedRequest reads the row, then deletes it: of two concurrent
// takes only the one whose delete removed the row gets it.
func (s *SQLStore) TakePushedRequest(ctx context.Context, envID, appID, uriHash string) (*store.PushedRequest, error) {
	p, err := one(ctx, s, scanPushed, `SELECT `+pushedCols+` FROM pushed_requests WHERE environment_id = ? AND application_id = ? AND uri_hash = ?`, envID, appID, uriHash)
	if err != nil {
		return nil, err
	}
	res, err := s.exec(ctx, `DELETE FROM pushed_requests WHERE environment_id = ? AND application_id = ? AND uri_hash = ?`, envID, appID, uriHash)
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, store.ErrNotFound
	}
	return p, nil
}

func (s *SQLStore) RedeemAuthCode(ctx context.Context, envID, codeHash string, at time.Time, accessJTI string, accessExpiresAt time.Time) (*store.AuthCode, error) {
	res, err := s.exec(ctx, `UPDATE auth_codes SET used_at = ?, access_jti = ?, access_expires_at = ? WHERE environment_id = ? AND code_hash = ? AND used_at IS NULL`,
		ms(at), accessJTI, ms(accessExpiresAt), envID, codeHash)
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	c, err := one(ctx, s, scanCode, `SELECT `+codeCols+` FROM auth_codes WHERE environment_id = ? AND code_hash = ?`, envID, codeHash)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return c, store.ErrConflict
	}
	return c, nil
}

// ---- refresh tokens

const refreshCols = `token_hash, environment_id, application_id, user_id, session_id, grant_id, data, access_jti, access_expires_at, rotated_at, revoked_at, created_at, expires_at, family_expires_at`

func scanRefresh(r scanner) (store.RefreshToken, error) {
	var x store.RefreshToken
	var data string
	var accExp, c, e, fe int64
	var rot, rev sql.NullInt64
	err := r.Scan(&x.TokenHash, &x.EnvironmentID, &x.ApplicationID, &x.UserID, &x.SessionID, &x.GrantID, &data, &x.AccessJTI, &accExp, &rot, &rev, &c, &e, &fe)
	x.Data, x.AccessExpiresAt, x.RotatedAt, x.RevokedAt = []byte(data), fromMS(accExp), fromNullMS(rot), fromNullMS(rev)
	x.CreatedAt, x.ExpiresAt, x.FamilyExpiresAt = fromMS(c), fromMS(e), fromMS(fe)
	return x, err
}

func (s *SQLStore) CreateRefreshToken(ctx context.Context, x *store.RefreshToken) error {
	_, err := s.exec(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.TokenHash, x.EnvironmentID, x.ApplicationID, x.UserID, x.SessionID, x.GrantID, jsonText(x.Data), x.AccessJTI, ms(x.AccessExpiresAt),
		nullMS(x.RotatedAt), nullMS(x.RevokedAt), ms(x.CreatedAt), ms(x.ExpiresAt), ms(x.FamilyExpiresAt))
	return mapErr(err, "refresh token", "token")
}

func (s *SQLStore) GetRefreshToken(ctx context.Context, envID, tokenHash string) (*store.RefreshToken, error) {
	return one(ctx, s, scanRefresh, `SELECT `+refreshCols+` FROM refresh_tokens WHERE environment_id = ? AND token_hash = ?`, envID, tokenHash)
}

func (s *SQLStore) RotateRefreshToken(ctx context.Context, envID, oldHash string, at time.Time, next *store.RefreshToken) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		res, err := t.exec(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE environment_id = ? AND token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
			ms(at), envID, oldHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := t.GetRefreshToken(ctx, envID, oldHash); err != nil {
				return err
			}
			return store.ErrConflict
		}
		return t.CreateRefreshToken(ctx, next)
	})
}

func (s *SQLStore) AddRefreshSibling(ctx context.Context, envID, oldHash string, next *store.RefreshToken) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		// The lock orders this against revokeWhere, which locks the
		// grant's rows before it revokes them (SQLite's one writer
		// orders them anyway).
		old, err := one(ctx, t, scanRefresh, `SELECT `+refreshCols+` FROM refresh_tokens WHERE environment_id = ? AND token_hash = ?`+t.forUpdate(), envID, oldHash)
		if err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() {
			return store.ErrConflict
		}
		return t.CreateRefreshToken(ctx, next)
	})
}

func (s *SQLStore) RevokeGrant(ctx context.Context, envID, grantID string, at time.Time) error {
	return s.revokeWhere(ctx, envID, "grant_id", grantID, at)
}

func (s *SQLStore) RevokeSessionGrants(ctx context.Context, envID, sessionID string, at time.Time) error {
	return s.revokeWhere(ctx, envID, "session_id", sessionID, at)
}

// revokeWhere revokes the refresh tokens whose col is val, and denies the
// unexpired access tokens issued with them or with their codes: at the
// code's redemption, and beside the code in a hybrid response. col is one
// of two constants, never input.
func (s *SQLStore) revokeWhere(ctx context.Context, envID, col, val string, at time.Time) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if t.IsPostgres() {
			// Lock the rows first, and revoke in a later statement: a
			// sibling added within the grace period (AddRefreshSibling
			// holds its old token's lock) is then either seen here or
			// refused there.
			if _, err := many(ctx, t, func(sc scanner) (string, error) {
				var h string
				return h, sc.Scan(&h)
			}, `SELECT token_hash FROM refresh_tokens WHERE environment_id = ? AND `+col+` = ? FOR UPDATE`, envID, val); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE environment_id = ? AND `+col+` = ? AND revoked_at IS NULL`, ms(at), envID, val); err != nil {
			return err
		}
		type tok struct {
			jti string
			exp int64
		}
		scan := func(sc scanner) (tok, error) {
			var x tok
			err := sc.Scan(&x.jti, &x.exp)
			return x, err
		}
		toks, err := many(ctx, t, scan, liveAccessQuery(col), envID, val, ms(at), envID, val, ms(at), envID, val, ms(at))
		if err != nil {
			return err
		}
		for _, x := range toks {
			if err := t.RevokeTokenID(ctx, envID, x.jti, fromMS(x.exp)); err != nil {
				return err
			}
		}
		return nil
	})
}

// liveAccessQuery reads the unexpired access tokens whose refresh token
// or code has col (grant_id or session_id) equal to the second argument:
// each refresh token's, each redeemed code's, and each hybrid code's
// front-channel one. Its arguments are (environment id, value, now)
// three times over.
func liveAccessQuery(col string) string {
	return `SELECT access_jti, access_expires_at FROM refresh_tokens WHERE environment_id = ? AND ` + col + ` = ? AND access_expires_at > ?
 UNION ALL SELECT access_jti, access_expires_at FROM auth_codes WHERE environment_id = ? AND ` + col + ` = ? AND access_jti IS NOT NULL AND access_expires_at > ?
 UNION ALL SELECT front_access_jti, front_access_expires_at FROM auth_codes WHERE environment_id = ? AND ` + col + ` = ? AND front_access_jti IS NOT NULL AND front_access_expires_at > ?`
}

func (s *SQLStore) RevokeTokenID(ctx context.Context, envID, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO revoked_tokens (environment_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT (environment_id, jti) DO NOTHING`,
		envID, jti, ms(expiresAt))
	return mapErr(err, "token", "jti")
}

func (s *SQLStore) IsTokenRevoked(ctx context.Context, envID, jti string) (bool, error) {
	const q = `SELECT 1 FROM revoked_tokens WHERE environment_id = ? AND jti = ?`
	return memoized(s, memoKey(q, envID, jti), func() (bool, error) {
		_, err := one(ctx, s, func(sc scanner) (int, error) {
			var n int
			return n, sc.Scan(&n)
		}, q, envID, jti)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
}

// AccessTokenState answers an access token's three liveness questions in
// one round trip: a token is checked on every use, and three statements
// cost three times what one does. The environment's row anchors the
// subqueries so that its id is sent once. A question with an empty
// argument finds no row and reads as zero, as does everything in an
// environment that is gone (its rows went with it).
func (s *SQLStore) AccessTokenState(ctx context.Context, envID, jti, sessionID, userID string) (*store.TokenState, error) {
	x, err := memoized(s, memoKey("token state", envID, jti, sessionID, userID), func() (store.TokenState, error) {
		x, err := s.accessTokenState(ctx, envID, jti, sessionID, userID)
		if err != nil {
			return store.TokenState{}, err
		}
		return *x, nil
	})
	if err != nil {
		return nil, err
	}
	return &x, nil // a copy: the memo's stays as read
}

func (s *SQLStore) accessTokenState(ctx context.Context, envID, jti, sessionID, userID string) (*store.TokenState, error) {
	rows, err := s.query(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.environment_id = e.id AND r.jti = ?),
 (SELECT u.enabled FROM users u WHERE u.environment_id = e.id AND u.id = ?),
 x.expires_at, x.last_used_at, x.auth_time
 FROM environments e LEFT JOIN sessions x ON x.environment_id = e.id AND x.id = ? WHERE e.id = ?`, jti, userID, sessionID, envID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var x store.TokenState
	if !rows.Next() {
		return &x, rows.Err()
	}
	var exp, used, auth sql.NullInt64
	var enabled sql.NullBool
	if err := rows.Scan(&x.Revoked, &enabled, &exp, &used, &auth); err != nil {
		return nil, err
	}
	x.SessionExpiresAt, x.SessionUsedAt, x.SessionAuthTime = fromNullMS(exp), fromNullMS(used), fromNullMS(auth)
	x.UserEnabled = enabled.Valid && enabled.Bool
	return &x, rows.Close()
}

// UseOnce inserts the key, replacing an expired record of it.
func (s *SQLStore) UseOnce(ctx context.Context, envID, key string, expiresAt time.Time) error {
	now := ms(store.Now())
	res, err := s.exec(ctx, `INSERT INTO used_once (environment_id, once_key, expires_at) VALUES (?, ?, ?)
 ON CONFLICT (environment_id, once_key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_once.expires_at <= ?`,
		envID, key, ms(expiresAt), now)
	if err != nil {
		return mapErr(err, "once", "key")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// purgeTables are the tables PurgeExpired sweeps, each by its expiry
// index. A refresh token is refused once it has expired itself, before
// any replay check, so keeping it to the end of its family would only grow
// the table.
var purgeTables = []struct{ table, key, expiry, also string }{
	{"flows", "id", "expires_at", ""},
	{"sessions", "id", "expires_at", ""},
	// A code goes when it expires: the first refresh token of its grant
	// (if any) carries its access token's jti, and introspection refuses
	// tokens whose session has ended. A refresh token goes once the access
	// token issued with it has expired too: until then a revocation of its
	// grant must still find that token's jti.
	{"auth_codes", "code_hash", "expires_at", ""},
	{"pushed_requests", "uri_hash", "expires_at", ""},
	{"device_authorizations", "device_code_hash", "expires_at", ""},
	{"device_authentications", "id", "expires_at", ""},
	{"refresh_tokens", "token_hash", "expires_at", " AND access_expires_at <= ?"},
	{"revoked_tokens", "environment_id, jti", "expires_at", ""},
	{"used_once", "environment_id, once_key", "expires_at", ""},
	{"unknown_user_failures", "environment_id, username_hash", "expires_at", ""},
}

func (s *SQLStore) PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	total := 0
	for _, p := range purgeTables {
		// A bounded batch keeps each delete short, so that SQLite's one
		// writer is never held for long.
		args := []any{ms(now)}
		if p.also != "" {
			args = append(args, ms(now))
		}
		res, err := s.exec(ctx, `DELETE FROM `+p.table+` WHERE (`+p.key+`) IN (SELECT `+p.key+` FROM `+p.table+` WHERE `+p.expiry+` <= ?`+p.also+` LIMIT ?)`,
			append(args, limit)...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}
