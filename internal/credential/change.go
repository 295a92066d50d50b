package credential

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CheckNew applies the account's policy to a new cleartext password and
// returns the rules it violates (none: it may be set).
//
// currentPlain is the current password in clear when the caller has it (a
// self-service change), for notSimilarToCurrent. selfService adds
// minAgeDays, unless the current password must be changed or has expired.
// The history rule costs one hash per remembered password, so it runs last
// and only when the policy has it.
func (s *Service) CheckNew(ctx context.Context, a *Account, newPlain, currentPlain string, selfService bool, now time.Time) ([]password.Violation, error) {
	pol, cur := a.Policy, a.Password
	prof, err := Profile(a.User)
	if err != nil {
		return nil, err
	}
	vs := pol.Check(newPlain, prof, currentPlain)
	if selfService && cur != nil && cur.Status != StatusMustChange && !pol.Expired(cur.LastChangedAt, now) {
		if v := pol.TooYoung(cur.LastChangedAt, now); v != nil {
			vs = append(vs, *v)
		}
	}
	if n := pol.HistoryCount(); n > 0 && cur != nil {
		hashes := []string{cur.Hash}
		for _, h := range keptHistory(cur.History, pol, now) {
			if len(hashes) == n {
				break
			}
			hashes = append(hashes, h.Hash)
		}
		used, err := s.hasher().MatchesAny(ctx, newPlain, hashes)
		if err != nil {
			return nil, err
		}
		if used {
			vs = append(vs, pol.HistoryViolation())
		}
	}
	return vs, nil
}

// keptHistory drops entries older than the policy's retention.
func keptHistory(h []store.PasswordHistoryEntry, pol *password.Policy, now time.Time) []store.PasswordHistoryEntry {
	keep := pol.HistoryRetention()
	var out []store.PasswordHistoryEntry
	for _, e := range h {
		if keep == 0 || now.Sub(e.ChangedAt) <= keep {
			out = append(out, e)
		}
	}
	return out
}

// SetPassword writes hash (from Hash, or an imported pre-encoded value) as
// u's password with status (StatusOK or StatusMustChange), in one
// transaction: the old password joins the history as long as the policy
// remembers it, failures and a password lockout end, and an account locked
// by that lockout opens. The policy is read again inside the transaction,
// so a change that raced the caller's read is honoured.
func (s *Service) SetPassword(ctx context.Context, u *store.User, hash, status string, now time.Time) (*store.UserPassword, error) {
	var pw *store.UserPassword
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		// Every transaction locks the user before its password (on
		// PostgreSQL), so that two of them never wait on each other.
		u, err := tx.GetUser(ctx, u.EnvironmentID, u.ID)
		if err != nil {
			return err
		}
		cur, err := tx.GetUserPassword(ctx, u.EnvironmentID, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, pol, err := s.EffectivePolicy(ctx, tx, u.EnvironmentID, u.PopulationID)
		if err != nil {
			return err
		}
		pw = &store.UserPassword{UserID: u.ID, EnvironmentID: u.EnvironmentID, Hash: hash, Status: status, LastChangedAt: now, UpdatedAt: now}
		if cur != nil {
			if n := pol.HistoryCount(); n > 1 {
				hist := append([]store.PasswordHistoryEntry{{Hash: cur.Hash, ChangedAt: cur.LastChangedAt}}, keptHistory(cur.History, pol, now)...)
				pw.History = hist[:min(len(hist), n-1)]
			}
		}
		if err := tx.PutUserPassword(ctx, pw); err != nil {
			return err
		}
		return openLockout(ctx, tx, u, now)
	})
	if err != nil {
		return nil, err
	}
	return pw, nil
}
