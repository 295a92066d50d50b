// Package session is PingOne's browser session: the ST cookies, the
// stored session they name (by SHA-256), and signing a user on or off in
// it. The flow engine establishes sessions; authorize, resume, signoff,
// refresh and userinfo read them.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's session cookies. ST is the session token; ST-NO-SS carries the
// same value without SameSite for browsers that mishandle SameSite=None.
const (
	CookieST     = "ST"
	CookieSTNoSS = "ST-NO-SS"
	// cookieLifetime is the cookie's Max-Age. The session's own idle
	// timeout and maximum lifetime (Lifetimes) decide when it ends; the
	// cookie outlives it and names a session that is no longer live.
	cookieLifetime = 366 * 24 * time.Hour
	// touchEvery bounds the writes that keep a session alive: a session
	// used again within it is not rewritten (its idle expiry moves on at
	// most this much late).
	touchEvery = time.Minute
)

// Lifetimes is how long an environment's sessions live: Idle after their
// last use, Max after the sign-on that began or renewed them.
type Lifetimes struct {
	Idle, Max time.Duration
}

// LifetimesOf is the environment's session settings as Lifetimes.
func LifetimesOf(s wire.SessionSettings) Lifetimes {
	return Lifetimes{Idle: time.Duration(s.IdleTimeoutInMinutes) * time.Minute, Max: time.Duration(s.MaxLifetimeInMinutes) * time.Minute}
}

// expiry is when a session signed on at authTime and last used at usedAt
// ends.
func (l Lifetimes) expiry(authTime, usedAt time.Time) time.Time {
	end := authTime.Add(l.Max)
	if idle := usedAt.Add(l.Idle); idle.Before(end) {
		end = idle
	}
	return end
}

// Cookies sets and reads the ST cookies of one deployment.
type Cookies struct {
	// Secure marks cookies Secure; true when the base URL is https.
	Secure bool
}

// Token is the ST cookie value the request carries ("" when none). A
// value that is not one Gatehouse could have issued is ignored.
func (c Cookies) Token(r *http.Request) string {
	for _, name := range []string{CookieST, CookieSTNoSS} {
		if ck, err := r.Cookie(name); err == nil && validToken(ck.Value) {
			return ck.Value
		}
	}
	return ""
}

func validToken(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// NewToken makes a session token: 256 random bits, base64url.
func NewToken() string { return secrets.Random(32) }

// HashToken is what the store keeps of a token.
func HashToken(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// Set writes both cookies, scoped to the environment's paths.
func (c Cookies) Set(w http.ResponseWriter, envID, token string) {
	c.write(w, envID, token, int(cookieLifetime.Seconds()))
}

// Clear expires both cookies.
func (c Cookies) Clear(w http.ResponseWriter, envID string) { c.write(w, envID, "", -1) }

func (c Cookies) write(w http.ResponseWriter, envID, value string, maxAge int) {
	st := &http.Cookie{Name: CookieST, Value: value, Path: "/" + envID, MaxAge: maxAge, HttpOnly: true, Secure: c.Secure}
	if maxAge > 0 {
		st.Expires = time.Now().Add(time.Duration(maxAge) * time.Second).UTC()
	}
	noSS := *st
	noSS.Name = CookieSTNoSS
	// SameSite=None is only honoured (and only allowed) with Secure; over
	// plain http, Lax keeps the sign-on working within one site.
	if c.Secure {
		st.SameSite = http.SameSiteNoneMode
	} else {
		st.SameSite = http.SameSiteLaxMode
	}
	http.SetCookie(w, st)
	http.SetCookie(w, &noSS)
}

// Current is the live session the request's ST cookie names, or nil. An
// expired session is not live.
func Current(ctx context.Context, st store.Store, c Cookies, r *http.Request, envID string, now time.Time) (*store.Session, error) {
	return ByToken(ctx, st, envID, c.Token(r), now)
}

// ByToken is the live session an ST value names, or nil.
func ByToken(ctx context.Context, st store.Store, envID, token string, now time.Time) (*store.Session, error) {
	if token == "" {
		return nil, nil
	}
	sess, err := st.GetSessionByToken(ctx, envID, HashToken(token))
	return liveOrNil(sess, err, now)
}

// ByID is the session with this id while it is live, or nil.
func ByID(ctx context.Context, st store.Store, envID, id string, now time.Time) (*store.Session, error) {
	if id == "" {
		return nil, nil
	}
	sess, err := st.GetSession(ctx, envID, id)
	return liveOrNil(sess, err, now)
}

// liveOrNil turns a session lookup into "the live session, or nil".
func liveOrNil(sess *store.Session, err error, now time.Time) (*store.Session, error) {
	if errors.Is(err, store.ErrNotFound) || (err == nil && !sess.ExpiresAt.After(now)) {
		return nil, nil
	}
	return sess, err
}

// NewID is a session's public id (session.id, the sid claim).
func NewID() string { return uuid.NewString() }

// SignOn signs userID on in the browser whose current ST hashes to
// binding, inside tx: the browser's session is renewed for this user (or
// replaced when it was another user's, whose grants end with it), methods
// join its amr, its token rotates and its lifetime starts over. It returns
// the session and the new ST value to set.
func SignOn(ctx context.Context, tx store.Store, envID, binding, userID string, methods []string, life Lifetimes, now time.Time) (*store.Session, string, error) {
	token := NewToken()
	sess, err := tx.GetSessionByToken(ctx, envID, binding)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, "", err
	}
	if sess != nil && (sess.UserID != userID || !sess.ExpiresAt.After(now)) {
		// Another user signs on in this browser, or the browser's session
		// has expired: the old session ends (its grants revoked) and a new
		// one begins. Renewing an expired one would revive the refresh
		// tokens its end refused, and carry its methods into the new
		// sign-on's amr.
		if err := End(ctx, tx, envID, sess.ID, now); err != nil {
			return nil, "", err
		}
		sess = nil
	}
	isNew := sess == nil
	if isNew {
		sess = &store.Session{ID: NewID(), EnvironmentID: envID, UserID: userID, CreatedAt: now, Data: []byte("{}")}
	}
	sess.TokenHash, sess.AuthTime, sess.LastUsedAt, sess.ExpiresAt = HashToken(token), now, now, life.expiry(now, now)
	for _, m := range methods {
		if !slices.Contains(sess.AMR, m) {
			sess.AMR = append(sess.AMR, m)
		}
	}
	if len(methods) > 0 {
		if sess.Data, err = withMethodTimes(sess.Data, methods, now); err != nil {
			return nil, "", err
		}
	}
	if isNew {
		err = tx.CreateSession(ctx, sess)
	} else {
		err = tx.UpdateSession(ctx, sess)
	}
	if err != nil {
		return nil, "", err
	}
	return sess, token, nil
}

// Touch records a use of sess at now (a silent sign-on, a refresh, a
// userinfo request): its idle expiry moves on, never past its maximum
// lifetime. A session used within the last minute is left as it is, so
// that a busy session costs no write per request. sess must be live; if it
// ended since it was read (expired, signed off, deleted), Touch answers
// ErrEnded and the use must be refused: the session is not revived.
func Touch(ctx context.Context, st store.Store, sess *store.Session, life Lifetimes, now time.Time) error {
	if !sess.ExpiresAt.After(now) {
		return ErrEnded
	}
	if now.Sub(sess.LastUsedAt) < touchEvery {
		return nil
	}
	exp := life.expiry(sess.AuthTime, now)
	if err := st.TouchSession(ctx, sess.EnvironmentID, sess.ID, now, exp); errors.Is(err, store.ErrNotFound) {
		return ErrEnded
	} else if err != nil {
		return err
	}
	sess.LastUsedAt, sess.ExpiresAt = now, exp
	return nil
}

// ErrEnded is Touch's answer for a session that is no longer live.
var ErrEnded = errors.New("session: ended")

// data is what a session keeps in its Data.
type data struct {
	// MethodsAt is when the session last signed on with each method of
	// its amr (unix seconds): a policy condition on one method's time
	// (${session.lastSignOn.withAuthenticator.mfa.at}) must not read a
	// later sign-on with another method.
	MethodsAt map[string]int64 `json:"methodsAt,omitempty"`
}

// withMethodTimes is raw with methods' times set to now; other keys of raw
// are kept.
func withMethodTimes(raw json.RawMessage, methods []string, now time.Time) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 && json.Unmarshal(raw, &m) != nil {
		m = map[string]json.RawMessage{} // damaged: start over rather than fail every sign-on
	}
	var d data
	if v, ok := m["methodsAt"]; ok {
		_ = json.Unmarshal(v, &d.MethodsAt) // a damaged record is rewritten
	}
	if d.MethodsAt == nil {
		d.MethodsAt = map[string]int64{}
	}
	for _, meth := range methods {
		d.MethodsAt[meth] = now.Unix()
	}
	b, err := json.Marshal(d.MethodsAt)
	if err != nil {
		return nil, err
	}
	m["methodsAt"] = b
	return json.Marshal(m)
}

// MethodAt is when sess last signed on with method (an amr value). A
// session made before the times were kept has none: then its last
// sign-on's time, the best it knows. ok is false when method is not in
// the session's amr.
func MethodAt(sess *store.Session, method string) (at time.Time, ok bool) {
	if !slices.Contains(sess.AMR, method) {
		return time.Time{}, false
	}
	var d data
	if len(sess.Data) > 0 && json.Unmarshal(sess.Data, &d) == nil {
		if t, ok := d.MethodsAt[method]; ok {
			return time.Unix(t, 0).UTC(), true
		}
	}
	return sess.AuthTime, true
}

// End signs a session off: every grant made in it is revoked and it is
// deleted. A session already gone is no error.
func End(ctx context.Context, st store.Store, envID, sessionID string, now time.Time) error {
	if err := st.RevokeSessionGrants(ctx, envID, sessionID, now); err != nil {
		return err
	}
	if err := st.DeleteSession(ctx, envID, sessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
