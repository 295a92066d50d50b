package credential

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Verify checks plain against the account's password at now.
//
// A wrong password is counted atomically (concurrent failures all count)
// and answered with a *WrongPasswordError; the failure that reaches the
// policy's lockout count locks the password and the account until the
// lockout ends and is answered with a *LockedError whose JustLocked is set.
// A password locked already is answered with a *LockedError without being
// checked. A right password clears earlier failures and opens an account
// that an expired lockout left locked. An account without a password costs
// the time of a verification and is answered with ErrNoPassword.
//
// Verify does not look at the password's status (a password that must be
// changed or has expired still verifies) nor at an administrator's lock of
// the account: callers decide what those mean. It updates a.Password and
// a.User with what it wrote.
//
// also, when given, runs in the transaction that counts a wrong password
// (a sign-on saves its flow there: one commit, not two); its error undoes
// the count and is returned.
func (s *Service) Verify(ctx context.Context, a *Account, plain string, now time.Time, also ...func(tx store.Store) error) error {
	pw := a.Password
	if pw == nil {
		if err := s.hasher().VerifyNone(ctx, plain); err != nil {
			return err
		}
		return ErrNoPassword
	}
	if PasswordLocked(pw, now) {
		return &LockedError{Until: pw.LockedUntil}
	}
	ok, err := s.hasher().Verify(ctx, plain, pw.Hash)
	if errors.Is(err, password.ErrMalformed) {
		// A stored value that is not a hash Gatehouse knows matches nothing.
		ok, err = false, nil
	}
	if err != nil {
		return err
	}
	if ok {
		return s.clearFailures(ctx, a, now)
	}
	return s.recordFailure(ctx, a, now, also)
}

func (s *Service) clearFailures(ctx context.Context, a *Account, now time.Time) error {
	pw, u := a.Password, a.User
	if pw.FailedCount == 0 && pw.LockedUntil.IsZero() && !(u.AccountStatus == identity.AccountLocked && !u.UnlockAt.IsZero()) {
		return nil // the common case writes nothing
	}
	var fresh *store.User
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		// Every transaction locks the user before its password (on
		// PostgreSQL), so that two of them never wait on each other.
		if fresh, err = tx.GetUser(ctx, u.EnvironmentID, u.ID); err != nil {
			return err
		}
		if err := tx.ClearPasswordFailures(ctx, u.EnvironmentID, u.ID); err != nil {
			return err
		}
		if fresh.UnlockAt.IsZero() || fresh.UnlockAt.After(now) {
			return nil
		}
		return openLockout(ctx, tx, fresh, now)
	})
	if err != nil {
		return err
	}
	pw.FailedCount, pw.LockedUntil = 0, time.Time{}
	a.User = fresh
	return nil
}

func (s *Service) recordFailure(ctx context.Context, a *Account, now time.Time, also []func(tx store.Store) error) error {
	u := a.User
	lockAfter, lockFor := a.Policy.LockoutAfter()
	var after *store.UserPassword
	var fresh *store.User
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if fresh, err = tx.GetUser(ctx, u.EnvironmentID, u.ID); err != nil { // the user before the password, as everywhere
			return err
		}
		if after, err = tx.RecordPasswordFailure(ctx, u.EnvironmentID, u.ID, lockAfter, lockFor, FailureWindow, now); err != nil {
			return err
		}
		if PasswordLocked(after, now) && !AccountLocked(fresh, now) {
			fresh.AccountStatus, fresh.LockedAt, fresh.UnlockAt, fresh.UpdatedAt = identity.AccountLocked, now, after.LockedUntil, now
			if err := tx.UpdateUserAccount(ctx, u.EnvironmentID, u.ID, fresh.AccountStatus, fresh.LockedAt, fresh.UnlockAt, now); err != nil {
				return err
			}
		}
		return runAlso(tx, also)
	})
	if err != nil {
		return err
	}
	a.Password, a.User = after, fresh
	if PasswordLocked(after, now) {
		return &LockedError{Until: after.LockedUntil, JustLocked: true}
	}
	remaining := -1
	if lockAfter > 0 {
		remaining = lockAfter - after.FailedCount
	}
	return &WrongPasswordError{Remaining: remaining}
}

// FailureWindow is how long wrong passwords count toward a lockout: a
// count whose last failure is this old starts over. Users' counts and
// unknown usernames' age alike, so that waiting tells nothing either; and
// an unknown username's count need be kept only this long (or to the end
// of its lock).
const FailureWindow = 24 * time.Hour

func runAlso(tx store.Store, also []func(tx store.Store) error) error {
	for _, fn := range also {
		if err := fn(tx); err != nil {
			return err
		}
	}
	return nil
}

// VerifyUnknown answers a password typed for a username that names no user
// (or a user without a password) as Verify answers a wrong one for a user
// under the environment's default password policy: it reads a count kept
// for the lower-cased username, answers a locked one with a *LockedError
// at once, and otherwise spends the time of one verification, counts the
// failure and answers a *WrongPasswordError or, for the failure that
// locks, a *LockedError with JustLocked set. The store's count is shared
// by every node, as users' counts are; also is Verify's.
func (s *Service) VerifyUnknown(ctx context.Context, envID, username, plain string, now time.Time, also ...func(tx store.Store) error) error {
	_, pol, err := s.EffectivePolicy(ctx, s.Store, envID, "")
	if err != nil {
		return err
	}
	key := UnknownUsernameKey(username)
	cur, err := s.Store.GetUnknownUserFailures(ctx, envID, key, now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if cur != nil && !cur.LockedUntil.IsZero() && cur.LockedUntil.After(now) {
		return &LockedError{Until: cur.LockedUntil}
	}
	if err := s.hasher().VerifyNone(ctx, plain); err != nil {
		return err
	}
	lockAfter, lockFor := pol.LockoutAfter()
	var after *store.UnknownUserFailures
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if after, err = tx.RecordUnknownUserFailure(ctx, envID, key, lockAfter, lockFor, FailureWindow, now); err != nil {
			return err
		}
		return runAlso(tx, also)
	})
	if err != nil {
		return err
	}
	if !after.LockedUntil.IsZero() && after.LockedUntil.After(now) {
		return &LockedError{Until: after.LockedUntil, JustLocked: true}
	}
	remaining := -1
	if lockAfter > 0 {
		remaining = lockAfter - after.FailedCount
	}
	return &WrongPasswordError{Remaining: remaining}
}

// UnknownUsernameKey is what keys an unknown username's failure count: the
// SHA-256 of the username as sign-on compares it (lower-cased), so that
// names typed by mistake — sometimes passwords — are not kept in clear.
func UnknownUsernameKey(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return hex.EncodeToString(sum[:])
}

// openLockout opens an account that a password lockout locked (an
// administrator's lock, with no unlock time, stays). u must have been read
// in tx.
func openLockout(ctx context.Context, tx store.Store, u *store.User, now time.Time) error {
	if u.AccountStatus != identity.AccountLocked || u.UnlockAt.IsZero() {
		return nil
	}
	u.AccountStatus, u.LockedAt, u.UnlockAt, u.UpdatedAt = identity.AccountOK, time.Time{}, time.Time{}, now
	return tx.UpdateUserAccount(ctx, u.EnvironmentID, u.ID, u.AccountStatus, u.LockedAt, u.UnlockAt, now)
}
