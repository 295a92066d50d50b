// Package identity is Gatehouse's user domain: PingOne's rules for a
// user's attributes and the defaults of a new user, written once for the
// three places that make and change users — the management API,
// self-service registration in sign-on flows, and just-in-time
// provisioning from external identity providers. Problems come back as
// PingOne's INVALID_DATA error with one detail (code and target) per
// attribute.
package identity

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PingOne's values of a user's status attributes.
const (
	// AccountOK and AccountLocked are account.status.
	AccountOK     = "OK"
	AccountLocked = "LOCKED"
	// LifecycleAccountOK and LifecycleVerificationRequired are
	// lifecycle.status: a registered user must prove the email address
	// before the account is OK.
	LifecycleAccountOK            = "ACCOUNT_OK"
	LifecycleVerificationRequired = "VERIFICATION_REQUIRED"
	// ProviderPingOne is identityProvider.type of the users of the
	// environment's own directory.
	ProviderPingOne = "PING_ONE"
	// VerifyNotInitiated is verifyStatus (PingOne Verify's identity
	// verification) of a user nobody asked to verify.
	VerifyNotInitiated = "NOT_INITIATED"
)

var (
	// LifecycleStatuses are the values of lifecycle.status.
	LifecycleStatuses = []string{LifecycleAccountOK, LifecycleVerificationRequired}
	// VerifyStatuses are the values of verifyStatus.
	VerifyStatuses = []string{VerifyNotInitiated, "ENABLED", "DISABLED"}
	// ProviderTypes are the types of PingOne's identity providers, the
	// values of identityProvider.type.
	ProviderTypes = []string{ProviderPingOne, "FACEBOOK", "GOOGLE", "LINKEDIN", "APPLE", "AMAZON", "TWITTER", "YAHOO",
		"PAYPAL", "MICROSOFT", "GITHUB", "OPENID_CONNECT", "SAML"}
)

// Size limits of user attributes, in characters. PingOne documents 1–128
// for username; the others are Gatehouse's, generous enough for real data.
const (
	MaxUsername  = 128
	MaxAttribute = 256
	MaxHref      = 2048
)

// ErrNoPopulation is a registration (self-service or just in time) whose
// population does not exist: the environment has no default population,
// or the one configured was deleted.
var ErrNoPopulation = errors.New("identity: no population to put new users in")

// New is a user as PingOne creates one when nothing else is said: enabled,
// its account OK, lifecycle ACCOUNT_OK, in the environment's own
// directory, identity verification not initiated, an empty profile and no
// population yet.
func New(envID string, now time.Time) *store.User {
	return &store.User{ID: uuid.NewString(), EnvironmentID: envID, Enabled: true, AccountStatus: AccountOK,
		LifecycleStatus: LifecycleAccountOK, IdentityProviderType: ProviderPingOne, VerifyStatus: VerifyNotInitiated,
		Data: []byte("{}"), CreatedAt: now, UpdatedAt: now}
}

// EmailVerified records that a registered user proved the email address
// (user.verify): the account is ready for sign-on. verifyStatus is
// PingOne Verify's and stays as it is.
func EmailVerified(u *store.User, now time.Time) {
	u.LifecycleStatus, u.UpdatedAt = LifecycleAccountOK, now
}
