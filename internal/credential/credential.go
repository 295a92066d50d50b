// Package credential holds the rules of a user's password that more than one
// front end applies: which policy governs it, its status, verifying it while
// counting failures toward the policy's lockout, and checking and storing a
// new one. The management API and the sign-on flow engine both call it and
// turn its typed errors into their own wire answers, so it knows nothing of
// either.
package credential

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Password statuses, as PingOne names them. The store keeps only StatusOK
// and StatusMustChange; the others are computed.
const (
	StatusOK         = "OK"
	StatusNone       = "NO_PASSWORD"
	StatusMustChange = "MUST_CHANGE_PASSWORD"
	StatusExpired    = "PASSWORD_EXPIRED"
	StatusLockedOut  = "PASSWORD_LOCKED_OUT"
)

// ErrExternalUser refuses password self-service to a user of an external
// identity provider, as PingOne does.
var ErrExternalUser = errors.New("credential: users who authenticate with an external identity provider cannot use password self-service")

// ErrNoPassword is Verify's answer for an account without a password.
var ErrNoPassword = errors.New("credential: the user has no password")

// WrongPasswordError is a password that did not match. The failure was
// counted.
type WrongPasswordError struct {
	// Remaining is how many more failures the policy's lockout allows
	// before it locks the password; -1 when the policy has no lockout.
	Remaining int
}

func (e *WrongPasswordError) Error() string {
	if e.Remaining < 0 {
		return "credential: wrong password"
	}
	return fmt.Sprintf("credential: wrong password (%d attempt(s) remain)", e.Remaining)
}

// LockedError is a password locked by the policy's lockout.
type LockedError struct {
	Until time.Time
	// JustLocked is true when this attempt's wrong password locked it;
	// false when it was locked already and the password was not checked.
	JustLocked bool
}

func (e *LockedError) Error() string {
	return "credential: password locked until " + e.Until.Format(time.RFC3339)
}

// SecondsUntil is how many whole seconds, rounded up, remain of the lock.
func (e *LockedError) SecondsUntil(now time.Time) int { return SecondsUntil(e.Until, now) }

// SecondsUntil counts the seconds from now to t, rounded up, so that a lock
// with any time left never shows 0.
func SecondsUntil(t, now time.Time) int {
	return int(math.Ceil(t.Sub(now).Seconds()))
}

// AccountLocked reports whether u's account is locked at now: an
// administrator's lock lasts until unlocked, a lockout until UnlockAt.
func AccountLocked(u *store.User, now time.Time) bool {
	return u.AccountStatus == identity.AccountLocked && (u.UnlockAt.IsZero() || u.UnlockAt.After(now))
}

// PasswordLocked reports whether pw is locked by a lockout at now.
func PasswordLocked(pw *store.UserPassword, now time.Time) bool {
	return pw != nil && !pw.LockedUntil.IsZero() && pw.LockedUntil.After(now)
}

// Status is the status PingOne reports for a password: a lockout wins, then
// a forced change, then expiry.
func Status(pw *store.UserPassword, pol *password.Policy, now time.Time) string {
	switch {
	case pw == nil:
		return StatusNone
	case PasswordLocked(pw, now):
		return StatusLockedOut
	case pw.Status == StatusMustChange:
		return StatusMustChange
	case pol.Expired(pw.LastChangedAt, now):
		return StatusExpired
	}
	return StatusOK
}

// SelfServiceAllowed returns ErrExternalUser for a user of an external
// identity provider.
func SelfServiceAllowed(u *store.User) error {
	if u.IdentityProviderType != identity.ProviderPingOne && u.IdentityProviderID != "" {
		return ErrExternalUser
	}
	return nil
}

// Rules lists the policy rules that vs violate, in order (PingOne's names:
// length, minCharacters, history…).
func Rules(vs []password.Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Rule
	}
	return out
}

// Profile is what a policy's excludesProfileData compares a password with.
// A stored profile that cannot be read is an error: the rule would
// silently check less.
func Profile(u *store.User) (password.Profile, error) {
	d, err := identity.Decode(u)
	if err != nil {
		return password.Profile{}, err
	}
	return password.Profile{Username: u.Username, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Nickname: d.Nickname}, nil
}

// Service applies the password rules to users of the store.
type Service struct {
	Store  store.Store
	Hasher *password.Hasher // password.Default when nil
}

func (s *Service) hasher() *password.Hasher {
	if s.Hasher == nil {
		return password.Default
	}
	return s.Hasher
}

// Account is a user with what its password rules need.
type Account struct {
	User         *store.User
	Password     *store.UserPassword   // nil: the user has no password
	PolicyRecord *store.PasswordPolicy // nil: no policy governs the user
	Policy       *password.Policy      // never nil; empty when no policy governs the user
}

// Status is the account's password status at now.
func (a *Account) Status(now time.Time) string { return Status(a.Password, a.Policy, now) }

// EffectivePolicy is the password policy that governs a population's users:
// its own, else the environment's default, else no rules at all (a nil
// record and an empty policy). st may be a transaction.
func (s *Service) EffectivePolicy(ctx context.Context, st store.Store, envID, populationID string) (*store.PasswordPolicy, *password.Policy, error) {
	pp, err := st.EffectivePasswordPolicy(ctx, envID, populationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &password.Policy{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	pol, err := password.ParsePolicy(pp.ID, pp.Data)
	if err != nil {
		return nil, nil, err
	}
	return pp, pol, nil
}

// Load reads a user with its password and policy through st (which may be
// a transaction); store.ErrNotFound when envID has no such user.
func (s *Service) Load(ctx context.Context, st store.Store, envID, userID string) (*Account, error) {
	u, err := st.GetUser(ctx, envID, userID)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, st, u)
}

// LoadByUsername is Load by username, ignoring case; store.ErrNotFound when
// envID has no such user.
func (s *Service) LoadByUsername(ctx context.Context, envID, username string) (*Account, error) {
	u, err := s.Store.GetUserByUsername(ctx, envID, username)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, s.Store, u)
}

func (s *Service) load(ctx context.Context, st store.Store, u *store.User) (*Account, error) {
	pw, err := st.GetUserPassword(ctx, u.EnvironmentID, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		pw, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	pp, pol, err := s.EffectivePolicy(ctx, st, u.EnvironmentID, u.PopulationID)
	if err != nil {
		return nil, err
	}
	return &Account{User: u, Password: pw, PolicyRecord: pp, Policy: pol}, nil
}

// Hash hashes a new password in the hasher's bounded pool.
func (s *Service) Hash(ctx context.Context, plain string) (string, error) {
	return s.hasher().Hash(ctx, plain)
}
