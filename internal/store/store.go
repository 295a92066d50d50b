// Package store defines Gatehouse's persistence contract: plain records, the
// Store interface and the sentinel errors every backend must return. The one
// implementation lives in sqlstore (SQLite and PostgreSQL); storetest holds the
// conformance suite that proves a backend keeps this contract.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
)

var (
	// ErrNotFound means no row matched, including a row that exists in
	// another environment: callers cannot tell the two apart on purpose.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness constraint rejected the write.
	ErrConflict = errors.New("store: conflict")
	// ErrReferenced means a foreign key refused the write: the parent row is
	// missing, or a row being deleted is still referenced.
	ErrReferenced = errors.New("store: referenced")
)

// UniqueError names the field whose uniqueness constraint failed, so the
// wire layer can answer UNIQUENESS_VIOLATION with the right target.
type UniqueError struct {
	Resource string // e.g. "population"
	Field    string // the JSON attribute, e.g. "name"
}

func (e *UniqueError) Error() string {
	return fmt.Sprintf("store: %s %s must be unique", e.Resource, e.Field)
}

func (e *UniqueError) Is(target error) bool { return target == ErrConflict }

// Page asks for one page of a list; the List method called names the
// resource. Pages are ordered by id, and a list also returns how many rows
// match in all.
type Page struct {
	// Filter is a parsed SCIM filter, or nil for every row. Each list takes
	// its own attributes and operators (the backend owns that allow-list);
	// a filter it does not take fails the call with a *scim.Error before
	// anything is read.
	Filter scim.Expr
	After  string // opaque cursor: the last id of the previous page
	Limit  int    // 0 = the backend's default (100)
	// IDs, when non-nil, restricts the list to these ids (an actor that may
	// see only some environments). An empty non-nil slice matches nothing.
	IDs []string
	// PopulationIDs, when non-nil, restricts ListUsers to the users of these
	// populations (an actor whose roles reach only some populations). An
	// empty non-nil slice matches nothing. Lists of anything but users
	// refuse it with an error rather than ignore a restriction.
	PopulationIDs []string
	// Custom, for ListUsers, names the custom attributes of the
	// environment's schema a filter may compare (enabled, single-valued
	// STRING ones): their values are compared as stored, with eq, ne, sw
	// and pr. Other lists ignore it.
	Custom []string
}

// Store is the whole persistence contract. Every method that reads or writes
// an environment's data takes the environment id and filters by it.
type Store interface {
	AuthStore
	FederationStore
	MFAStore
	NotificationStore
	DeviceAuthenticationStore
	FIDO2PolicyStore
	AgreementStore
	SessionStore
	GroupStore
	SchemaStore
	ActivityStore
	SubscriptionStore
	// Tx runs fn in one transaction; the Store passed to fn is bound to it.
	// fn's error rolls back and is returned unchanged.
	Tx(ctx context.Context, fn func(tx Store) error) error
	Ping(ctx context.Context) error
	Close() error

	// ConfigVersion is envID's configuration version: it grows with every
	// committed write of what nodes cache (the environment itself,
	// applications and their secrets, grants and sign-on policy
	// assignments, resources, scopes and resource attributes, sign-on
	// policies and their actions, identity providers and their attribute
	// mappings, themes, signing keys, role assignments of the environment's
	// actors). ErrNotFound when there is no such environment.
	ConfigVersion(ctx context.Context, envID string) (int64, error)
	// WatchConfig calls fn after every commit that changed an environment's
	// cached configuration, on the committing goroutine, so that this node
	// forgets what it cached before the write returns; fn must be quick and
	// must not call the store. A rolled-back transaction calls nothing. A
	// store that hears of other nodes' commits (PostgreSQL's
	// notifications) calls fn for them too, from its own goroutine, as they
	// arrive; it may miss some, so a cache still compares versions.
	WatchConfig(fn func(ConfigChange))

	GetMeta(ctx context.Context, key string) (string, error)
	PutMeta(ctx context.Context, key, value string) error
	// InsertMeta writes key only if absent; it returns ErrConflict otherwise.
	InsertMeta(ctx context.Context, key, value string) error

	CreateOrganization(ctx context.Context, o *Organization) error
	GetOrganization(ctx context.Context, id string) (*Organization, error)
	ListOrganizations(ctx context.Context) ([]Organization, error)
	CreateLicense(ctx context.Context, l *License) error
	GetLicense(ctx context.Context, orgID, id string) (*License, error)
	ListLicenses(ctx context.Context, orgID string) ([]License, error)
	// CountEnvironmentsByLicense counts orgID's environments per license
	// id, in one query.
	CountEnvironmentsByLicense(ctx context.Context, orgID string) (map[string]int, error)

	CreateEnvironment(ctx context.Context, e *Environment) error
	GetEnvironment(ctx context.Context, id string) (*Environment, error)
	ListEnvironments(ctx context.Context, orgID string, p Page) ([]Environment, int, error)
	UpdateEnvironment(ctx context.Context, e *Environment) error
	DeleteEnvironment(ctx context.Context, id string) error

	CreatePopulation(ctx context.Context, p *Population) error
	GetPopulation(ctx context.Context, envID, id string) (*Population, error)
	ListPopulations(ctx context.Context, envID string, p Page) ([]Population, int, error)
	UpdatePopulation(ctx context.Context, p *Population) error
	DeletePopulation(ctx context.Context, envID, id string) error
	// ClearDefaultPopulation unsets the default flag on every population of
	// envID except keepID, so that setting a new default stays one write.
	ClearDefaultPopulation(ctx context.Context, envID, keepID string) error
	// LockPopulations, inside Tx, makes the transactions that take it for
	// envID run one after the other, as LockThemes does for themes.
	LockPopulations(ctx context.Context, envID string) error

	CreateTheme(ctx context.Context, t *Theme) error
	GetTheme(ctx context.Context, envID, id string) (*Theme, error)
	// GetDefaultTheme returns envID's default theme; ErrNotFound when it has
	// none.
	GetDefaultTheme(ctx context.Context, envID string) (*Theme, error)
	ListThemes(ctx context.Context, envID string, p Page) ([]Theme, int, error)
	UpdateTheme(ctx context.Context, t *Theme) error
	// DeleteTheme removes the theme; the populations that named it go back
	// to the environment's default theme in the same write.
	DeleteTheme(ctx context.Context, envID, id string) error
	// ClearDefaultTheme unsets the default flag on every theme of envID
	// except keepID.
	ClearDefaultTheme(ctx context.Context, envID, keepID string) error
	// LockThemes, inside Tx, makes the transactions that take it for envID
	// run one after the other, so that what one reads of the themes (which
	// is the default) is still true when it writes. Outside Tx it does
	// nothing.
	LockThemes(ctx context.Context, envID string) error

	CreateApplication(ctx context.Context, a *Application) error
	GetApplication(ctx context.Context, envID, id string) (*Application, error)
	ListApplications(ctx context.Context, envID string) ([]Application, error)
	UpdateApplication(ctx context.Context, a *Application) error
	DeleteApplication(ctx context.Context, envID, id string) error

	CreateRoleAssignment(ctx context.Context, ra *RoleAssignment) error
	GetRoleAssignment(ctx context.Context, envID, actorID, id string) (*RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, envID, actorID string) ([]RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, envID, actorID, id string) error

	// ListApplicationsPage lists one page of envID's applications by id.
	ListApplicationsPage(ctx context.Context, envID string, p Page) ([]Application, int, error)
	// RotateApplicationSecret installs sealed as the secret in one write;
	// the current secret becomes the previous one until keepUntil, or is
	// dropped when keepUntil is zero.
	RotateApplicationSecret(ctx context.Context, envID, appID string, sealed []byte, keepUntil time.Time) error
	// GetApplicationPreviousSecret returns nil when there is none.
	GetApplicationPreviousSecret(ctx context.Context, envID, appID string) (*PreviousSecret, error)
	ClearApplicationPreviousSecret(ctx context.Context, envID, appID string) error
	// TouchApplicationPreviousSecret records a use of the previous secret
	// at `at`, writing at most once a minute.
	TouchApplicationPreviousSecret(ctx context.Context, envID, appID string, at time.Time) error
	// ResolveRoleScopes looks ids up among orgID's environments,
	// populations and applications; ids found nowhere are absent.
	ResolveRoleScopes(ctx context.Context, orgID string, ids []string) (map[string]RoleScope, error)

	CreateApplicationGrant(ctx context.Context, g *ApplicationGrant) error
	GetApplicationGrant(ctx context.Context, envID, appID, id string) (*ApplicationGrant, error)
	ListApplicationGrants(ctx context.Context, envID, appID string) ([]ApplicationGrant, error)
	UpdateApplicationGrant(ctx context.Context, g *ApplicationGrant) error
	DeleteApplicationGrant(ctx context.Context, envID, appID, id string) error

	CreateSignOnPolicyAssignment(ctx context.Context, a *SignOnPolicyAssignment) error
	GetSignOnPolicyAssignment(ctx context.Context, envID, appID, id string) (*SignOnPolicyAssignment, error)
	// ListSignOnPolicyAssignments returns them by ascending priority.
	ListSignOnPolicyAssignments(ctx context.Context, envID, appID string) ([]SignOnPolicyAssignment, error)
	UpdateSignOnPolicyAssignment(ctx context.Context, a *SignOnPolicyAssignment) error
	DeleteSignOnPolicyAssignment(ctx context.Context, envID, appID, id string) error

	CreateResource(ctx context.Context, r *Resource) error
	GetResource(ctx context.Context, envID, id string) (*Resource, error)
	ListResources(ctx context.Context, envID string) ([]Resource, error)
	UpdateResource(ctx context.Context, r *Resource) error
	DeleteResource(ctx context.Context, envID, id string) error

	CreateScope(ctx context.Context, s *Scope) error
	GetScope(ctx context.Context, envID, resourceID, id string) (*Scope, error)
	ListScopes(ctx context.Context, envID, resourceID string) ([]Scope, error)
	// ListEnvironmentScopes returns the scopes of every resource of envID,
	// by resource id then id: a whole catalog in one query.
	ListEnvironmentScopes(ctx context.Context, envID string) ([]Scope, error)
	UpdateScope(ctx context.Context, s *Scope) error
	DeleteScope(ctx context.Context, envID, resourceID, id string) error

	CreateResourceAttribute(ctx context.Context, a *ResourceAttribute) error
	GetResourceAttribute(ctx context.Context, envID, resourceID, id string) (*ResourceAttribute, error)
	// ListResourceAttributes returns the resource's attributes by name.
	ListResourceAttributes(ctx context.Context, envID, resourceID string) ([]ResourceAttribute, error)
	// ListEnvironmentResourceAttributes returns the attributes of every
	// resource of envID, by resource id, then by name as
	// ListResourceAttributes orders them.
	ListEnvironmentResourceAttributes(ctx context.Context, envID string) ([]ResourceAttribute, error)
	UpdateResourceAttribute(ctx context.Context, a *ResourceAttribute) error
	DeleteResourceAttribute(ctx context.Context, envID, resourceID, id string) error

	CreateApplicationAttribute(ctx context.Context, a *ApplicationAttribute) error
	GetApplicationAttribute(ctx context.Context, envID, appID, id string) (*ApplicationAttribute, error)
	// ListApplicationAttributes returns the application's attribute
	// mappings by name.
	ListApplicationAttributes(ctx context.Context, envID, appID string) ([]ApplicationAttribute, error)
	UpdateApplicationAttribute(ctx context.Context, a *ApplicationAttribute) error
	DeleteApplicationAttribute(ctx context.Context, envID, appID, id string) error

	CreatePasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	GetPasswordPolicy(ctx context.Context, envID, id string) (*PasswordPolicy, error)
	ListPasswordPolicies(ctx context.Context, envID string) ([]PasswordPolicy, error)
	UpdatePasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	DeletePasswordPolicy(ctx context.Context, envID, id string) error
	// ClearDefaultPasswordPolicy unsets the default flag on every password
	// policy of envID except keepID.
	ClearDefaultPasswordPolicy(ctx context.Context, envID, keepID string) error
	// CountPopulationsByPasswordPolicy counts envID's populations per
	// password policy id, in one query.
	CountPopulationsByPasswordPolicy(ctx context.Context, envID string) (map[string]int, error)

	CreateSignOnPolicy(ctx context.Context, p *SignOnPolicy) error
	GetSignOnPolicy(ctx context.Context, envID, id string) (*SignOnPolicy, error)
	ListSignOnPolicies(ctx context.Context, envID string) ([]SignOnPolicy, error)
	UpdateSignOnPolicy(ctx context.Context, p *SignOnPolicy) error
	DeleteSignOnPolicy(ctx context.Context, envID, id string) error
	ClearDefaultSignOnPolicy(ctx context.Context, envID, keepID string) error
	// LockSignOnPolicy, inside Tx, makes concurrent writers of the policy's
	// actions wait for each other (ErrNotFound if there is no such policy).
	LockSignOnPolicy(ctx context.Context, envID, id string) error

	CreateSignOnPolicyAction(ctx context.Context, a *SignOnPolicyAction) error
	GetSignOnPolicyAction(ctx context.Context, envID, policyID, id string) (*SignOnPolicyAction, error)
	// ListSignOnPolicyActions returns the policy's actions by ascending priority.
	ListSignOnPolicyActions(ctx context.Context, envID, policyID string) ([]SignOnPolicyAction, error)
	// ListEnvironmentSignOnPolicyActions returns the actions of every
	// sign-on policy of envID, by policy id, then by ascending priority.
	ListEnvironmentSignOnPolicyActions(ctx context.Context, envID string) ([]SignOnPolicyAction, error)
	UpdateSignOnPolicyAction(ctx context.Context, a *SignOnPolicyAction) error
	DeleteSignOnPolicyAction(ctx context.Context, envID, policyID, id string) error

	// Device authentication policies (PingOne MFA policies) and MFA
	// settings are cached configuration: every write bumps the version.
	// CreateDeviceAuthenticationPolicy fails with a UniqueError on name
	// (any case) or on default (a second default).
	CreateDeviceAuthenticationPolicy(ctx context.Context, p *DeviceAuthenticationPolicy) error
	// GetDeviceAuthenticationPolicy, inside Tx, locks the row for the rest
	// of the transaction (a sign-on policy action naming it holds off its
	// delete).
	GetDeviceAuthenticationPolicy(ctx context.Context, envID, id string) (*DeviceAuthenticationPolicy, error)
	// GetDefaultDeviceAuthenticationPolicy is ErrNotFound when envID has none.
	GetDefaultDeviceAuthenticationPolicy(ctx context.Context, envID string) (*DeviceAuthenticationPolicy, error)
	// ListDeviceAuthenticationPolicies returns envID's policies by id.
	ListDeviceAuthenticationPolicies(ctx context.Context, envID string) ([]DeviceAuthenticationPolicy, error)
	UpdateDeviceAuthenticationPolicy(ctx context.Context, p *DeviceAuthenticationPolicy) error
	DeleteDeviceAuthenticationPolicy(ctx context.Context, envID, id string) error
	// ClearDefaultDeviceAuthenticationPolicy unsets the default flag of
	// every policy of envID but keepID.
	ClearDefaultDeviceAuthenticationPolicy(ctx context.Context, envID, keepID string) error
	// LockDeviceAuthenticationPolicies, inside Tx, makes the transactions
	// that take it for envID run one after the other, as LockThemes does
	// for themes: moving the default is then never refused by another
	// writer's default in flight.
	LockDeviceAuthenticationPolicies(ctx context.Context, envID string) error
	// GetMFASettings is ErrNotFound when envID never set its settings.
	GetMFASettings(ctx context.Context, envID string) (*MFASettings, error)
	// PutMFASettings inserts or replaces envID's settings.
	PutMFASettings(ctx context.Context, m *MFASettings) error
	// DeleteMFASettings resets envID to the defaults (no error when there
	// was nothing to delete).
	DeleteMFASettings(ctx context.Context, envID string) error

	CreateKey(ctx context.Context, k *Key) error
	GetKey(ctx context.Context, envID, id string) (*Key, error)
	ListKeys(ctx context.Context, envID string) ([]Key, error)
	UpdateKey(ctx context.Context, k *Key) error
	DeleteKey(ctx context.Context, envID, id string) error
	// ClearDefaultKey unsets the default flag on envID's keys of usageType
	// except keepID.
	ClearDefaultKey(ctx context.Context, envID, usageType, keepID string) error
	// LockKeys, inside Tx, makes the transactions that take it for envID
	// run one after the other, as LockThemes does for themes: a write that
	// reads which key is the default, or which keys remain, acts on what
	// is still true.
	LockKeys(ctx context.Context, envID string) error

	// Certificates are configuration: every write moves the configuration
	// version, so caches of what trusts them follow.
	CreateCertificate(ctx context.Context, c *Certificate) error
	GetCertificate(ctx context.Context, envID, id string) (*Certificate, error)
	ListCertificates(ctx context.Context, envID string) ([]Certificate, error)
	DeleteCertificate(ctx context.Context, envID, id string) error

	// CountUsers counts the users of a population (for userCount and for
	// refusing to delete a population that still has users).
	CountUsers(ctx context.Context, envID, populationID string) (int, error)

	// CreateUser fails with a UniqueError on username when envID already has
	// the username in any case.
	CreateUser(ctx context.Context, u *User) error
	// GetUser, inside Tx, locks the row for the rest of the transaction.
	GetUser(ctx context.Context, envID, id string) (*User, error)
	// GetUserByUsername finds a username ignoring case.
	GetUserByUsername(ctx context.Context, envID, username string) (*User, error)
	ListUsers(ctx context.Context, envID string, p Page) ([]User, int, error)
	// UpdateUser writes every field but the account lock and CreatedAt.
	UpdateUser(ctx context.Context, u *User) error
	// UpdateUserAccount writes the account status and lock times alone, so a
	// lockout never races a profile update.
	UpdateUserAccount(ctx context.Context, envID, id, status string, lockedAt, unlockAt, updatedAt time.Time) error
	DeleteUser(ctx context.Context, envID, id string) error

	// GetUserPassword returns ErrNotFound for a user without a password.
	GetUserPassword(ctx context.Context, envID, userID string) (*UserPassword, error)
	// PutUserPassword writes the whole password state (insert or replace);
	// ErrNotFound when envID has no such user.
	PutUserPassword(ctx context.Context, p *UserPassword) error
	// RecordPasswordFailure counts one failed check atomically; the
	// lockAfter-th consecutive failure locks the password for lockFor
	// (lockAfter 0: never). A lock that ran out by now starts a new count,
	// and so does an unlocked count whose last failure is window or more
	// before now (window 0: failures never age).
	RecordPasswordFailure(ctx context.Context, envID, userID string, lockAfter int, lockFor, window time.Duration, now time.Time) (*UserPassword, error)
	// ClearPasswordFailures resets the count and the lock; it writes only
	// when there is something to reset.
	ClearPasswordFailures(ctx context.Context, envID, userID string) error
	// ResolvePopulation returns id when envID has that population, or the
	// default population's id when id is empty; ErrNotFound otherwise. It
	// does not count the population's users.
	ResolvePopulation(ctx context.Context, envID, id string) (string, error)
	// EffectivePasswordPolicy returns the password policy of a population,
	// or the environment's default when the population names none (or one
	// that is gone); ErrNotFound when there is neither.
	EffectivePasswordPolicy(ctx context.Context, envID, populationID string) (*PasswordPolicy, error)
}

// AuthStore is the auth service's state: flows, sessions, codes, refresh
// tokens and revocations. Everything here expires; PurgeExpired removes
// what has.
type AuthStore interface {
	CreateFlow(ctx context.Context, f *Flow) error
	GetFlow(ctx context.Context, envID, id string) (*Flow, error)
	// UpdateFlow writes f only if the stored version is still f.Version,
	// then increments f.Version; ErrConflict when another step got there
	// first, ErrNotFound when the flow is gone.
	UpdateFlow(ctx context.Context, f *Flow) error
	DeleteFlow(ctx context.Context, envID, id string) error
	// CountLiveFlows counts envID's flows that expire after now, stopping
	// at limit: the answer is min(count, limit), at the cost of at most
	// limit rows.
	CountLiveFlows(ctx context.Context, envID string, now time.Time, limit int) (int, error)

	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, envID, id string) (*Session, error)
	GetSessionByToken(ctx context.Context, envID, tokenHash string) (*Session, error)
	// UpdateSession writes the token hash, auth time, AMR, data, last use
	// and expiry.
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, envID, id string) error

	// CreateAuthCode stores an unredeemed code, with the access token
	// issued beside it in a hybrid response when FrontAccessJTI is set.
	CreateAuthCode(ctx context.Context, c *AuthCode) error
	// RedeemAuthCode marks the code used, once, recording the access token
	// issued for it. A second redemption returns the stored code with
	// ErrConflict, so the caller can revoke what the first one issued.
	RedeemAuthCode(ctx context.Context, envID, codeHash string, at time.Time, accessJTI string, accessExpiresAt time.Time) (*AuthCode, error)

	CreatePushedRequest(ctx context.Context, p *PushedRequest) error
	// TakePushedRequest deletes and returns the application's pushed
	// request, expired or not (the caller judges the expiry); ErrNotFound
	// when there is none for that application, or another take got it.
	TakePushedRequest(ctx context.Context, envID, appID, uriHash string) (*PushedRequest, error)

	// CreateDeviceAuthorization fails with a UniqueError on user_code when
	// the environment has a row with the same user code hash.
	CreateDeviceAuthorization(ctx context.Context, d *DeviceAuthorization) error
	GetDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string) (*DeviceAuthorization, error)
	GetDeviceAuthorizationByUserCode(ctx context.Context, envID, userCodeHash string) (*DeviceAuthorization, error)
	// DecideDeviceAuthorization moves a PENDING row to status (APPROVED or
	// DENIED) with the user, session and data of the decision;
	// ErrConflict when it is no longer PENDING.
	DecideDeviceAuthorization(ctx context.Context, envID, deviceCodeHash, status, userID, sessionID string, data json.RawMessage) error
	// PollDeviceAuthorization records a poll at polledAt and the interval
	// the device must keep from now on, only while the last poll recorded
	// is still prevPolledAt: ErrConflict when another poll got there first.
	PollDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string, prevPolledAt, polledAt time.Time, interval int) error
	// RedeemDeviceAuthorization moves an APPROVED row to REDEEMED, once:
	// ErrConflict when it is not APPROVED.
	RedeemDeviceAuthorization(ctx context.Context, envID, deviceCodeHash string) error

	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	GetRefreshToken(ctx context.Context, envID, tokenHash string) (*RefreshToken, error)
	// RotateRefreshToken marks oldHash rotated at `at` and stores next, in
	// one transaction. ErrConflict when oldHash was already rotated or is
	// revoked: the caller decides whether a grace period applies.
	RotateRefreshToken(ctx context.Context, envID, oldHash string, at time.Time, next *RefreshToken) error
	// AddRefreshSibling stores next beside oldHash, which was rotated
	// within the grace period, only while oldHash is still unrevoked:
	// ErrConflict when it is revoked. A concurrent revocation of the grant
	// either sees next or makes this fail.
	AddRefreshSibling(ctx context.Context, envID, oldHash string, next *RefreshToken) error
	// RevokeGrant revokes every refresh token of the grant and denies the
	// access tokens issued with them and with its codes (on redemption, and
	// beside a code in a hybrid response) until they expire.
	RevokeGrant(ctx context.Context, envID, grantID string, at time.Time) error
	// RevokeSessionGrants does RevokeGrant for every grant of a session.
	RevokeSessionGrants(ctx context.Context, envID, sessionID string, at time.Time) error
	// RevokeTokenID denies one access token (by jti) until it expires.
	RevokeTokenID(ctx context.Context, envID, jti string, expiresAt time.Time) error
	IsTokenRevoked(ctx context.Context, envID, jti string) (bool, error)
	// AccessTokenState reads in one statement whether jti is revoked,
	// when session sessionID ends and whether user userID is enabled; an
	// empty sessionID or userID asks nothing about it.
	AccessTokenState(ctx context.Context, envID, jti, sessionID, userID string) (*TokenState, error)

	// GetUnknownUserFailures reads the failure count of a username that
	// names no user (by the hash of its lower-cased form); ErrNotFound
	// when there is none, or it has expired by now.
	GetUnknownUserFailures(ctx context.Context, envID, usernameHash string, now time.Time) (*UnknownUserFailures, error)
	// RecordUnknownUserFailure counts one failed password for a username
	// that names no user exactly as RecordPasswordFailure counts one for
	// a user (creating the count), and keeps the count until window
	// after now, or the end of its lock if that is later.
	RecordUnknownUserFailure(ctx context.Context, envID, usernameHash string, lockAfter int, lockFor, window time.Duration, now time.Time) (*UnknownUserFailures, error)

	// UseOnce records key (a client assertion's jti, say) until expiresAt;
	// ErrConflict when it is already recorded and unexpired.
	UseOnce(ctx context.Context, envID, key string, expiresAt time.Time) error

	// PurgeExpired deletes up to limit expired rows of each kind (flows,
	// sessions, codes, pushed requests, device authorizations, device
	// authentications, refresh tokens, revocations, once-keys, unknown
	// usernames' failure counts) and returns how many went.
	PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error)
}

// FederationStore holds external identity providers, their attribute
// mappings and the accounts linked to them.
// SessionStore is what the user sessions API and session lifetimes add to
// the sessions of AuthStore.
type SessionStore interface {
	// ListUserSessions returns userID's sessions in envID, ended ones
	// included until purged, the most recently active first (then by id),
	// in one query.
	ListUserSessions(ctx context.Context, envID, userID string) ([]Session, error)
	// TouchSession records a use of a session: its last use and its new
	// expiry, and nothing else. ErrNotFound when it is gone or its expiry
	// is not after usedAt (an ended session is never revived).
	TouchSession(ctx context.Context, envID, id string, usedAt, expiresAt time.Time) error
	// EndUserSession revokes every grant of userID's session and deletes it, in one
	// transaction; ErrNotFound when envID has no such session of userID.
	EndUserSession(ctx context.Context, envID, userID, id string, at time.Time) error
}

type FederationStore interface {
	// CreateIdentityProvider fails with a UniqueError on name when the
	// environment already has a provider of that name (any case).
	CreateIdentityProvider(ctx context.Context, p *IdentityProvider) error
	// GetIdentityProvider, inside Tx, locks the row for the rest of the
	// transaction.
	GetIdentityProvider(ctx context.Context, envID, id string) (*IdentityProvider, error)
	// ListIdentityProviders returns the environment's providers by id.
	ListIdentityProviders(ctx context.Context, envID string) ([]IdentityProvider, error)
	UpdateIdentityProvider(ctx context.Context, p *IdentityProvider) error
	// DeleteIdentityProvider removes the provider with its mappings and
	// linked accounts.
	DeleteIdentityProvider(ctx context.Context, envID, id string) error

	// CreateIdentityProviderAttribute fails with a UniqueError on name
	// when the provider already maps that user attribute.
	CreateIdentityProviderAttribute(ctx context.Context, a *IdentityProviderAttribute) error
	GetIdentityProviderAttribute(ctx context.Context, envID, idpID, id string) (*IdentityProviderAttribute, error)
	// ListIdentityProviderAttributes returns the provider's mappings by name.
	ListIdentityProviderAttributes(ctx context.Context, envID, idpID string) ([]IdentityProviderAttribute, error)
	UpdateIdentityProviderAttribute(ctx context.Context, a *IdentityProviderAttribute) error
	DeleteIdentityProviderAttribute(ctx context.Context, envID, idpID, id string) error

	// CreateLinkedAccount fails with a UniqueError on externalId when the
	// provider's subject is already linked in the environment.
	CreateLinkedAccount(ctx context.Context, l *LinkedAccount) error
	GetLinkedAccount(ctx context.Context, envID, userID, id string) (*LinkedAccount, error)
	// ListLinkedAccounts returns the user's links by id.
	ListLinkedAccounts(ctx context.Context, envID, userID string) ([]LinkedAccount, error)
	DeleteLinkedAccount(ctx context.Context, envID, userID, id string) error
	// FindLinkedAccount finds the link of a provider's subject.
	FindLinkedAccount(ctx context.Context, envID, idpID, externalID string) (*LinkedAccount, error)
}

// MFAStore holds users' MFA devices and their MFA lockout. Every call
// names the environment and the user: a device of another user or
// environment is ErrNotFound.
type MFAStore interface {
	// CreateMFADevice fails with ErrNotFound when envID has no such user,
	// and with a UniqueError on credentialId when the device's credential
	// is another device's of envID (UpdateMFADevice too).
	CreateMFADevice(ctx context.Context, d *MFADevice) error
	// GetMFADeviceByCredential finds envID's device whose CredentialID is
	// credentialID, whoever's it is (ErrNotFound when none); inside Tx it
	// locks the row as GetMFADevice does.
	GetMFADeviceByCredential(ctx context.Context, envID, credentialID string) (*MFADevice, error)
	// GetMFADevice, inside Tx, locks the device's row until the
	// transaction ends: read-modify-writes of a device (its status and
	// Data) read it there and write it with UpdateMFADevice.
	GetMFADevice(ctx context.Context, envID, userID, id string) (*MFADevice, error)
	// ListMFADevices returns the user's devices in the user's order: by
	// Order (0, unordered, last), then oldest first.
	ListMFADevices(ctx context.Context, envID, userID string) ([]MFADevice, error)
	CountMFADevices(ctx context.Context, envID, userID string) (int, error)
	// UpdateMFADevice writes every field but TOTPStep and CreatedAt.
	UpdateMFADevice(ctx context.Context, d *MFADevice) error
	DeleteMFADevice(ctx context.Context, envID, userID, id string) error
	// SetMFADeviceOrder gives the devices of ids the orders 1…n and the
	// user's other devices none (0); ids must all be the user's
	// (ErrNotFound otherwise, nothing written). No ids removes the order.
	SetMFADeviceOrder(ctx context.Context, envID, userID string, ids []string) error
	// AdvanceMFATOTPStep records step as the device's last accepted TOTP
	// step, only if it is later than the one recorded: ErrConflict when it
	// is not (a replay, or a concurrent check that got there first).
	AdvanceMFATOTPStep(ctx context.Context, envID, userID, id string, step int64) error
	// GetMFALockout returns the user's lockout state; a zero state (no
	// failures, not locked) when there is none.
	GetMFALockout(ctx context.Context, envID, userID string) (*MFALockout, error)
	// RecordMFAFailure counts one wrong passcode atomically; the
	// lockAfter-th in a row locks the user's MFA until now+lockFor and
	// starts the count again (lockAfter 0: never). A lock that ran out by
	// now starts a new count. ErrNotFound when envID has no such user.
	RecordMFAFailure(ctx context.Context, envID, userID string, lockAfter int, lockFor time.Duration, now time.Time) (*MFALockout, error)
	// ClearMFAFailures forgets the user's failures and lock.
	ClearMFAFailures(ctx context.Context, envID, userID string) error

	// SetMFADeviceNickname writes only the nickname and updatedAt.
	SetMFADeviceNickname(ctx context.Context, envID, userID, id, nickname string, at time.Time) error
}

// FIDO2PolicyStore holds PingOne's FIDO2 policies: cached configuration,
// every write bumps the environment's version. The methods mirror those of
// device authentication policies.
type FIDO2PolicyStore interface {
	// CreateFIDO2Policy fails with a UniqueError on name (any case) or on
	// default (a second default).
	CreateFIDO2Policy(ctx context.Context, p *FIDO2Policy) error
	// GetFIDO2Policy, inside Tx, locks the row for the rest of the
	// transaction (a device authentication policy naming it holds off its
	// delete).
	GetFIDO2Policy(ctx context.Context, envID, id string) (*FIDO2Policy, error)
	// GetDefaultFIDO2Policy is ErrNotFound when envID has none.
	GetDefaultFIDO2Policy(ctx context.Context, envID string) (*FIDO2Policy, error)
	// ListFIDO2Policies returns envID's policies by id.
	ListFIDO2Policies(ctx context.Context, envID string) ([]FIDO2Policy, error)
	UpdateFIDO2Policy(ctx context.Context, p *FIDO2Policy) error
	DeleteFIDO2Policy(ctx context.Context, envID, id string) error
	// ClearDefaultFIDO2Policy unsets the default flag of every policy of
	// envID but keepID.
	ClearDefaultFIDO2Policy(ctx context.Context, envID, keepID string) error
	// LockFIDO2Policies, inside Tx, makes the transactions that take it
	// for envID run one after the other (see
	// LockDeviceAuthenticationPolicies).
	LockFIDO2Policies(ctx context.Context, envID string) error
}

// ErrGroupPopulation refuses a membership or a nesting that would put
// users of one population in another population's group.
var ErrGroupPopulation = errors.New("store: group of another population")

// ErrGroupLimit refuses a membership beyond MaxUserGroups.
var ErrGroupLimit = errors.New("store: too many groups for the user")

// MaxUserGroups is how many groups a user may be a direct member of:
// PingOne's limit (10,000). It also bounds what a token's group claims
// and an access check read for one user.
const MaxUserGroups = 10_000

// ErrGroupsFull refuses a group beyond MaxEnvironmentGroups.
var ErrGroupsFull = errors.New("store: too many groups in the environment")

// MaxEnvironmentGroups is how many groups an environment holds at most:
// PingOne's limit (100,000). It also bounds every walk of the nesting.
const MaxEnvironmentGroups = 100_000

// ErrGroupCycle refuses a nesting that would make a group a member of
// itself.
var ErrGroupCycle = errors.New("store: group nesting cycle")

// GroupStore holds PingOne's groups, users' memberships and the nesting of
// groups. Nothing here is cached configuration, except that deleting a
// group drops its role assignments (which are).
type GroupStore interface {
	// CreateGroup fails with a UniqueError on name when the name (any
	// case) is taken among the groups of its population or the
	// environment-wide ones (for an environment-wide group: among every
	// group of the environment); ErrReferenced when envID has no such
	// population.
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, envID, id string) (*Group, error)
	// ListGroups pages envID's groups by id. Page.PopulationIDs keeps the
	// groups of those populations.
	ListGroups(ctx context.Context, envID string, p Page) ([]Group, int, error)
	// UpdateGroup writes name, externalId and data; the population stays.
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup removes the group with its memberships, its nestings
	// (either side) and its role assignments.
	DeleteGroup(ctx context.Context, envID, id string) error
	// CountGroupMembers counts the members of each of ids, in one query
	// (Total only when total is true; ids without members are absent).
	CountGroupMembers(ctx context.Context, envID string, ids []string, total bool) (map[string]GroupMemberCounts, error)

	// AddGroupMember makes userID a direct member of groupID: a
	// UniqueError on id when it is one already, ErrNotFound when envID has
	// no such user or group.
	AddGroupMember(ctx context.Context, envID, userID, groupID string, at time.Time) error
	// RemoveGroupMember ends a direct membership (ErrNotFound if none).
	RemoveGroupMember(ctx context.Context, envID, userID, groupID string) error
	// ListUserGroupsPage pages the groups userID belongs to, directly or
	// through nested groups, by group id; filters take id, name and type
	// (DIRECT or INDIRECT).
	ListUserGroupsPage(ctx context.Context, envID, userID string, p Page) ([]UserGroup, int, error)
	// UserGroups is every group userID belongs to in envID, directly or
	// through nested groups (a group that is a member of another), in one
	// query, ordered by name then id. Direct is true for direct membership.
	UserGroups(ctx context.Context, envID, userID string) ([]UserGroup, error)
	// UserHasRoleAssignment says whether userID holds an assignment of one
	// of roleIDs, directly or through a group it belongs to (directly or
	// nested) — PingOne's accessControl.role ADMIN_USERS_ONLY test, which
	// names the administrator roles that count. One query; no roleIDs, no
	// role.
	UserHasRoleAssignment(ctx context.Context, envID, userID string, roleIDs []string) (bool, error)

	// NestGroup makes groupID a member of parentID: ErrGroupCycle when
	// parentID is groupID or already a member of it (directly or nested),
	// under concurrency too; a UniqueError on id when the nesting exists;
	// ErrNotFound when envID has no such group.
	NestGroup(ctx context.Context, envID, groupID, parentID string, at time.Time) error
	// UnnestGroup removes the nesting (ErrNotFound if none).
	UnnestGroup(ctx context.Context, envID, groupID, parentID string) error
	GetGroupNesting(ctx context.Context, envID, groupID, parentID string) (*GroupNesting, error)
	// ListGroupNestings returns the groups groupID is a direct member of,
	// by parent id.
	ListGroupNestings(ctx context.Context, envID, groupID string) ([]GroupNesting, error)
}

// SchemaStore holds the attributes of environments' user schemas that
// differ from PingOne's defaults, and the values users claim of the unique
// ones (written with the users, see User.Unique). Schema attributes are
// cached configuration: every write bumps the environment's version.
type SchemaStore interface {
	// CreateSchemaAttribute fails with a UniqueError on name when envID
	// has an attribute of that name in any case.
	CreateSchemaAttribute(ctx context.Context, a *SchemaAttribute) error
	// GetSchemaAttribute, inside Tx, locks the row for the rest of the
	// transaction.
	GetSchemaAttribute(ctx context.Context, envID, id string) (*SchemaAttribute, error)
	// ListSchemaAttributes returns envID's attributes by name. Inside Tx
	// it holds off LockSchema of envID (another transaction's schema
	// change) until the transaction ends.
	ListSchemaAttributes(ctx context.Context, envID string) ([]SchemaAttribute, error)
	UpdateSchemaAttribute(ctx context.Context, a *SchemaAttribute) error
	// DeleteSchemaAttribute removes the attribute and the values users
	// claimed of it.
	DeleteSchemaAttribute(ctx context.Context, envID, id string) error
	// LockSchema, inside Tx, makes the transactions that take it for
	// envID run one after the other, and after every transaction that
	// read envID's schema (a schema change against the user writes that
	// checked the old one).
	LockSchema(ctx context.Context, envID string) error
	// ClaimUniqueValues replaces every value users of envID claimed of
	// attribute attrID with vals (value → user id); a UniqueError on the
	// attribute's name when two users hold one value. Making an attribute
	// unique fills it from the users it already has.
	ClaimUniqueValues(ctx context.Context, envID, attrID, name string, vals map[string]string) error
	// ScanUsers calls fn with every user of envID, a page at a time, in id
	// order; fn's error stops the scan and is returned.
	ScanUsers(ctx context.Context, envID string, fn func([]User) error) error
}

// NotificationStore holds what notifications are sent with: phone
// delivery settings and notification template contents. Both are cached
// configuration: every write bumps the environment's version.
type NotificationStore interface {
	CreatePhoneDeliverySettings(ctx context.Context, p *PhoneDeliverySettings) error
	GetPhoneDeliverySettings(ctx context.Context, envID, id string) (*PhoneDeliverySettings, error)
	// ListPhoneDeliverySettings returns envID's settings, oldest first.
	ListPhoneDeliverySettings(ctx context.Context, envID string) ([]PhoneDeliverySettings, error)
	UpdatePhoneDeliverySettings(ctx context.Context, p *PhoneDeliverySettings) error
	DeletePhoneDeliverySettings(ctx context.Context, envID, id string) error

	// CreateTemplateContent fails with a UniqueError on locale when the
	// template already has a content of that delivery method, locale and
	// variant (any case).
	CreateTemplateContent(ctx context.Context, c *TemplateContent) error
	GetTemplateContent(ctx context.Context, envID, template, id string) (*TemplateContent, error)
	// ListTemplateContents returns the template's contents in envID, by
	// delivery method, locale, variant and id.
	ListTemplateContents(ctx context.Context, envID, template string) ([]TemplateContent, error)
	UpdateTemplateContent(ctx context.Context, c *TemplateContent) error
	DeleteTemplateContent(ctx context.Context, envID, template, id string) error
}

// DeviceAuthenticationStore holds device authentications, which expire
// (PurgeExpired removes them) and go with their user.
type DeviceAuthenticationStore interface {
	// CreateDeviceAuthentication fails with ErrReferenced when the
	// environment, application or user does not exist.
	CreateDeviceAuthentication(ctx context.Context, d *DeviceAuthentication) error
	GetDeviceAuthentication(ctx context.Context, envID, id string) (*DeviceAuthentication, error)
	// UpdateDeviceAuthentication writes the status, data, update time and
	// expiry only if the stored version is still d.Version, then increments
	// d.Version; ErrConflict when another step got there first, ErrNotFound
	// when it is gone.
	UpdateDeviceAuthentication(ctx context.Context, d *DeviceAuthentication) error
}

// AgreementStore holds PingOne's agreements, their languages and
// revisions, and users' consents. Every call names the environment (and
// the agreement, and the language): a row of another is ErrNotFound. The
// flow reads agreements as it runs, not through the configuration cache,
// so writes bump no configuration version.
type AgreementStore interface {
	CreateAgreement(ctx context.Context, a *Agreement) error
	// GetAgreement, inside Tx, locks the row for the rest of the
	// transaction: writers of its languages and revisions take it first,
	// so that what one reads of them (is the default language enabled?)
	// is still true when it writes.
	GetAgreement(ctx context.Context, envID, id string) (*Agreement, error)
	// ListAgreements returns envID's agreements by id.
	ListAgreements(ctx context.Context, envID string) ([]Agreement, error)
	UpdateAgreement(ctx context.Context, a *Agreement) error
	// DeleteAgreement removes the agreement with its languages,
	// revisions and consents.
	DeleteAgreement(ctx context.Context, envID, id string) error
	// AgreementHasConsents says whether any user of envID answered the
	// agreement (a revoked consent counts: its history is kept).
	AgreementHasConsents(ctx context.Context, envID, id string) (bool, error)
	// CountAgreementConsents counts, per agreement of envID, the users
	// whose consent is not revoked, and among them those whose consent
	// expired by now, with the time of the latest consent event that moved
	// them: one grouped query.
	CountAgreementConsents(ctx context.Context, envID string, now time.Time) (map[string]AgreementConsentCount, error)
	// AgreementInUse says whether a sign-on policy action of envID names
	// the agreement.
	AgreementInUse(ctx context.Context, envID, id string) (bool, error)

	// CreateAgreementLanguage fails with a UniqueError on locale when the
	// agreement has a language of that locale (any case), and with
	// ErrNotFound when envID has no such agreement (UpdateAgreementLanguage
	// too, for the locale).
	CreateAgreementLanguage(ctx context.Context, l *AgreementLanguage) error
	GetAgreementLanguage(ctx context.Context, envID, agreementID, id string) (*AgreementLanguage, error)
	// ListAgreementLanguages returns the agreement's languages by locale
	// (lower-cased), then id.
	ListAgreementLanguages(ctx context.Context, envID, agreementID string) ([]AgreementLanguage, error)
	UpdateAgreementLanguage(ctx context.Context, l *AgreementLanguage) error
	// DeleteAgreementLanguage removes the language with its revisions
	// and the consents given in it.
	DeleteAgreementLanguage(ctx context.Context, envID, agreementID, id string) error

	// CreateAgreementRevision fails with a UniqueError on effectiveAt when
	// the language has a revision effective at the same time, and with
	// ErrNotFound when envID has no such agreement language.
	CreateAgreementRevision(ctx context.Context, r *AgreementRevision) error
	// GetAgreementRevision reads the revision with its text.
	GetAgreementRevision(ctx context.Context, envID, agreementID, languageID, id string) (*AgreementRevision, error)
	// ListAgreementRevisions returns the revisions of the agreement's
	// languages (of one language when languageID is not ""), by
	// language id, then effective time, without their text: one query
	// for every language of an agreement.
	ListAgreementRevisions(ctx context.Context, envID, agreementID, languageID string) ([]AgreementRevision, error)
	DeleteAgreementRevision(ctx context.Context, envID, agreementID, languageID, id string) error

	// PutAgreementConsent records c as the user's consent to the
	// agreement, replacing any earlier one (a revoked one included);
	// ErrNotFound when envID has no such user, agreement, language or
	// revision (of that agreement and language).
	PutAgreementConsent(ctx context.Context, c *AgreementConsent) error
	// GetAgreementConsent returns the user's consent to the agreement,
	// revoked or not, with the fields the store fills.
	GetAgreementConsent(ctx context.Context, envID, userID, agreementID string) (*AgreementConsent, error)
	// ListAgreementConsents returns the user's consents by agreement id,
	// as GetAgreementConsent does, in one query.
	ListAgreementConsents(ctx context.Context, envID, userID string) ([]AgreementConsent, error)
	// RevokeAgreementConsent marks the user's consent revoked at `at`;
	// ErrNotFound when there is none.
	RevokeAgreementConsent(ctx context.Context, envID, userID, agreementID string, at time.Time) error
}

// ActivityStore keeps audit activities (migration 0027). It is embedded
// in Store once a backend serves it.
type ActivityStore interface {
	// InsertActivities writes the batch at once (one transaction),
	// assigning each Seq in slice order.
	InsertActivities(ctx context.Context, as []*Activity) error
	// ActivitiesAfter returns up to limit activities of every
	// environment whose Seq is above after, by Seq: the cursor webhook
	// deliveries follow.
	ActivitiesAfter(ctx context.Context, after int64, limit int) ([]Activity, error)
	// LastActivitySeq is the highest Seq written (0 with none): where a
	// new subscription starts.
	LastActivitySeq(ctx context.Context) (int64, error)
	// GetActivity returns envID's activity id, or ErrNotFound (an
	// activity of another environment included).
	GetActivity(ctx context.Context, envID, id string) (*Activity, error)
	// ListActivities pages envID's activities newest first (recordedAt,
	// then Seq, descending). Page.Filter is required and must bound
	// recordedAt (or its alias createdAt) with gt, ge, lt or le; it may add
	// eq comparisons on action.type, result.status, actors.user.id,
	// actors.user.name, actors.client.id, correlationId, tags,
	// resources.id, resources.type and resources.population.id, combined
	// with and. Anything else fails with a *scim.Error before anything is
	// read. Page.After is the ActivityCursor of the previous page's last
	// activity. There is no total: counting a time range is O(range).
	ListActivities(ctx context.Context, envID string, p Page) ([]Activity, error)
	// PurgeActivities deletes up to limit activities (of every
	// environment) recorded before before, oldest first, and returns how
	// many went.
	PurgeActivities(ctx context.Context, before time.Time, limit int) (int, error)
}

// ActivityCursor is the Page.After that continues a ListActivities page
// after a.
func ActivityCursor(a *Activity) string {
	return strconv.FormatInt(a.RecordedAt.UnixMilli(), 10) + "." + strconv.FormatInt(a.Seq, 10)
}

// ParseActivityCursor reads an ActivityCursor; ok is false when c is not
// one.
func ParseActivityCursor(c string) (recordedAtMS, seq int64, ok bool) {
	a, b, found := strings.Cut(c, ".")
	if !found {
		return 0, 0, false
	}
	t, err1 := strconv.ParseInt(a, 10, 64)
	n, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return 0, 0, false
	}
	return t, n, true
}

// SubscriptionStore keeps webhook subscriptions and their delivery state
// (migration 0028).
type SubscriptionStore interface {
	CreateSubscription(ctx context.Context, s *Subscription) error
	GetSubscription(ctx context.Context, envID, id string) (*Subscription, error)
	// ListSubscriptions returns envID's subscriptions by id (PingOne
	// allows 50 in an environment: the list is not paged).
	ListSubscriptions(ctx context.Context, envID string) ([]Subscription, error)
	CountSubscriptions(ctx context.Context, envID string) (int, error)
	// LockSubscriptions, inside Tx, makes the transactions that take it
	// for envID run one after the other, as LockThemes does for themes:
	// a create counts the environment's subscriptions and adds one as a
	// unit, so concurrent creates cannot pass the limit together.
	LockSubscriptions(ctx context.Context, envID string) error
	// UpdateSubscription writes the configuration; the delivery state
	// stays.
	UpdateSubscription(ctx context.Context, s *Subscription) error
	// DeleteSubscription removes it with its dead letters.
	DeleteSubscription(ctx context.Context, envID, id string) error

	// DueSubscriptions returns up to limit enabled subscriptions, of
	// every environment, behind head (Cursor < head), due (NextAttemptAt
	// <= now) and not leased (LeaseUntil <= now), soonest due first.
	DueSubscriptions(ctx context.Context, head int64, now time.Time, limit int) ([]Subscription, error)
	// LeaseSubscription takes (or renews) the lease on a subscription for
	// owner until until, if it is free at now or owner's already; it
	// returns ErrConflict when another owner holds it, ErrNotFound when it
	// is gone.
	LeaseSubscription(ctx context.Context, envID, id, owner string, now, until time.Time) error
	// SaveSubscriptionDelivery writes d (its lease fields included) if
	// owner still holds the lease and the cursor is still from (a lost
	// lease writes nothing); ErrConflict otherwise, ErrNotFound when gone.
	SaveSubscriptionDelivery(ctx context.Context, envID, id, owner string, from int64, d SubscriptionDelivery) error
	// DeadLetterSubscription records dl and saves d in one transaction,
	// on SaveSubscriptionDelivery's conditions.
	DeadLetterSubscription(ctx context.Context, dl *SubscriptionDeadLetter, owner string, from int64, d SubscriptionDelivery) error
	// ListSubscriptionDeadLetters returns a subscription's latest dead
	// letters, newest first, up to limit.
	ListSubscriptionDeadLetters(ctx context.Context, envID, subscriptionID string, limit int) ([]SubscriptionDeadLetter, error)
	// EnvironmentActivitiesAfter returns up to limit of envID's
	// activities whose Seq is above after, by Seq: a subscription's
	// cursor, read through an index of its own environment's rows.
	EnvironmentActivitiesAfter(ctx context.Context, envID string, after int64, limit int) ([]Activity, error)
}
