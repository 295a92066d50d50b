package store

import (
	"encoding/json"
	"time"
)

// Records hold what the store keeps. Columns exist for identity, the owning
// environment, uniqueness and every filtered or indexed field; the long tail
// of PingOne attributes rides in Data (a JSON object) so that adding one is
// not a migration. Times are UTC with millisecond precision.

type Organization struct {
	ID        string
	Name      string
	Type      string // PAID | TRIAL | INTERNAL
	CreatedAt time.Time
	UpdatedAt time.Time
}

type License struct {
	ID             string
	OrganizationID string
	Name           string
	Package        string
	Status         string // ACTIVE | EXPIRED | FUTURE | TERMINATED
	Data           json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

type Environment struct {
	ID             string
	OrganizationID string
	Name           string
	Description    string
	Type           string // PRODUCTION | SANDBOX
	Region         string
	LicenseID      string
	Status         string          // ACTIVE | DELETE_PENDING
	Data           json.RawMessage // icon, billOfMaterials
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

type Population struct {
	ID               string
	EnvironmentID    string
	Name             string
	Description      string
	Default          bool
	PasswordPolicyID string
	// ThemeID is the theme the population names, "" for the environment's
	// default theme.
	ThemeID string
	Data    json.RawMessage // preferredLanguage, alternativeIdentifiers
	// UserCount is read-only, filled on reads.
	UserCount int
	// EffectiveThemeID is read-only, filled on reads: ThemeID while that
	// theme exists, else the environment's default theme ("" when there is
	// none).
	EffectiveThemeID string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Theme is a branding theme: a template and its configuration (PingOne's
// colours, logo, background and footer) in Data. An environment has one
// default theme.
type Theme struct {
	ID            string
	EnvironmentID string
	Template      string // default | focus | mural | slate | split
	Default       bool
	Data          json.RawMessage // the configuration, as PingOne names it
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type Application struct {
	ID                      string
	EnvironmentID           string
	Name                    string
	Protocol                string
	Type                    string
	Enabled                 bool
	TokenEndpointAuthMethod string
	// SecretSealed is the client secret encrypted with the server's master
	// key: PingOne returns secrets on GET …/secret, so a one-way hash would
	// not do, and a slow hash per token request would cap throughput.
	SecretSealed []byte
	Data         json.RawMessage // grantTypes, redirectUris, … (the OIDC long tail)
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// RoleAssignment grants a role to an actor (a WORKER application or a user)
// over a scope (the organization, an environment, a population…).
type RoleAssignment struct {
	ID            string
	EnvironmentID string // the actor's environment
	ActorType     string // APPLICATION | USER
	ActorID       string
	RoleID        string
	ScopeType     string // ORGANIZATION | ENVIRONMENT | POPULATION | APPLICATION
	ScopeID       string
	ReadOnly      bool
	CreatedAt     time.Time
}

// PreviousSecret is the client secret an application had before its last
// rotation, sealed as the current one is, accepted until ExpiresAt.
type PreviousSecret struct {
	Sealed    []byte
	ExpiresAt time.Time
	LastUsed  time.Time // zero: not used since the rotation
}

// RoleScope is what a role assignment's scope id names: its type
// (ENVIRONMENT, POPULATION or APPLICATION) and the environment holding it.
type RoleScope struct {
	Type          string
	EnvironmentID string
}

// ApplicationGrant lets an application ask for scopes of one resource.
// ScopeIDs keep the order the client gave.
type ApplicationGrant struct {
	ID            string
	EnvironmentID string
	ApplicationID string
	ResourceID    string
	ScopeIDs      []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SignOnPolicyAssignment applies a sign-on policy to an application; the
// lowest priority that matches wins.
type SignOnPolicyAssignment struct {
	ID             string
	EnvironmentID  string
	ApplicationID  string
	SignOnPolicyID string
	Priority       int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

type Resource struct {
	ID                         string
	EnvironmentID              string
	Name                       string
	Type                       string // OPENID_CONNECT | PINGONE_API | CUSTOM
	Audience                   string
	Description                string
	AccessTokenValiditySeconds int
	Data                       json.RawMessage
	CreatedAt                  time.Time
	UpdatedAt                  time.Time
}

type Scope struct {
	ID            string
	EnvironmentID string
	ResourceID    string
	Name          string
	Description   string
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ResourceAttribute maps a claim of a resource's tokens to an expression
// over the user. Type is CORE (made by the server, cannot go), PREDEFINED
// (the openid resource's standard claims: may be remapped, cannot go) or
// CUSTOM. IDToken and UserInfo apply to the openid resource only.
type ResourceAttribute struct {
	ID            string
	EnvironmentID string
	ResourceID    string
	Name          string
	Value         string
	Type          string
	IDToken       bool
	UserInfo      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ApplicationAttribute maps a claim of an application's ID tokens and
// userinfo to an expression over the user. MappingType is CORE (the sub
// mapping every OpenID Connect application has: may be remapped, cannot
// go) or CUSTOM. OIDCScopes are scope ids: when set, the claim is released
// only with one of them.
type ApplicationAttribute struct {
	ID            string
	EnvironmentID string
	ApplicationID string
	Name          string
	Value         string
	MappingType   string
	Required      bool
	IDToken       bool
	UserInfo      bool
	OIDCScopes    []string
	// NameFormat is a SAML attribute's NameFormat (a URN; "" for OIDC
	// applications' claims).
	NameFormat string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

type PasswordPolicy struct {
	ID            string
	EnvironmentID string
	Name          string
	Default       bool
	Data          json.RawMessage // every rule of the policy, as PingOne names them
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type SignOnPolicy struct {
	ID            string
	EnvironmentID string
	Name          string
	Description   string
	Default       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type SignOnPolicyAction struct {
	ID             string
	EnvironmentID  string
	SignOnPolicyID string
	Type           string
	Priority       int
	Data           json.RawMessage // the type's own fields and its condition
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Key is a signing (or other usage) key pair with its self-signed certificate.
type Key struct {
	ID                 string
	EnvironmentID      string
	Name               string
	Algorithm          string // RSA | EC
	KeyLength          int
	SignatureAlgorithm string
	SubjectDN          string
	IssuerDN           string
	UsageType          string
	Default            bool
	SerialNumber       string // decimal; may exceed int64
	StartsAt           time.Time
	ExpiresAt          time.Time
	Certificate        []byte // DER
	PrivateKeySealed   []byte // PKCS#8 DER encrypted with the master key
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Certificate is a certificate an administrator uploaded (PingOne's
// /certificates): a public X.509 certificate with no private key, trusted
// to verify what a partner signs (a SAML service provider's AuthnRequests,
// a SAML identity provider's assertions). The columns repeat what the
// certificate says so that a list reads no DER.
type Certificate struct {
	ID                 string
	EnvironmentID      string
	Name               string
	Algorithm          string // RSA | EC
	KeyLength          int
	SignatureAlgorithm string
	SubjectDN          string
	IssuerDN           string
	UsageType          string // SIGNING | ENCRYPTION | SSL/TLS | ISSUANCE
	SerialNumber       string // decimal; may exceed int64
	StartsAt           time.Time
	ExpiresAt          time.Time
	Certificate        []byte // DER
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// User is an identity of an environment. Columns hold what filters,
// lookups and uniqueness read; the rest of PingOne's user attributes (name
// parts other than given and family, phones, address, custom schema
// attributes…) ride in Data.
type User struct {
	ID                   string
	EnvironmentID        string
	PopulationID         string
	Username             string // unique per environment, ignoring case
	Email                string
	GivenName            string
	FamilyName           string
	ExternalID           string
	Enabled              bool
	AccountStatus        string    // OK | LOCKED; written only by UpdateUserAccount
	LockedAt             time.Time // zero when not locked
	UnlockAt             time.Time // zero: locked until an administrator unlocks
	LifecycleStatus      string    // ACCOUNT_OK | VERIFICATION_REQUIRED
	IdentityProviderType string
	IdentityProviderID   string
	MFAEnabled           bool
	VerifyStatus         string
	Data                 json.RawMessage
	CreatedAt            time.Time
	UpdatedAt            time.Time
	// Unique, when non-nil, is every value the user holds of the
	// environment's unique schema attributes: CreateUser and UpdateUser
	// replace the user's claimed values with these in the same write, so
	// two users cannot hold one value. nil leaves the claimed values as
	// they are (writes that do not touch the profile). Reads leave it nil.
	Unique []UniqueValue
}

// MFADevice is a user's MFA device (PingOne's "devices" of a user): an
// email address or a phone number that receives passcodes, or a TOTP
// app's shared secret. Order ranks a user's devices (lower first).
type MFADevice struct {
	ID            string
	EnvironmentID string
	UserID        string
	Type          string // EMAIL | SMS | VOICE | TOTP | FIDO2
	Status        string // ACTIVE | ACTIVATION_REQUIRED
	Nickname      string
	Email         string
	Phone         string
	// Secret is the TOTP secret, sealed (secrets.Sealer); nil for others.
	Secret []byte
	// TOTPStep is the last time step whose code was accepted: a code of it
	// or an earlier step is a replay.
	TOTPStep int64
	// CredentialID is a FIDO2 device's WebAuthn credential id, base64url
	// without padding; "" for every other type. Unique per environment.
	CredentialID string
	Order        int
	Data         json.RawMessage // the long tail of PingOne's attributes
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserPassword is a user's password state; a user without one has none
// (PingOne's NO_PASSWORD). Hash is a PHC-style string or an imported
// pre-encoded value, never a password.
type UserPassword struct {
	UserID        string
	EnvironmentID string
	Hash          string
	Status        string // OK | MUST_CHANGE_PASSWORD (lockout and expiry are computed)
	LastChangedAt time.Time
	FailedCount   int
	LockedUntil   time.Time              // zero when not locked
	History       []PasswordHistoryEntry // earlier passwords, newest first
	UpdatedAt     time.Time
}

// UnknownUserFailures counts the wrong passwords typed for a username
// that names no user, so that it counts down and locks as a user's
// password does: otherwise the answers would tell which usernames exist.
// It is keyed by a hash of the lower-cased username (typed usernames are
// sometimes passwords) and kept until ExpiresAt.
type UnknownUserFailures struct {
	EnvironmentID string
	UsernameHash  string
	FailedCount   int
	LockedUntil   time.Time // zero when not locked
	UpdatedAt     time.Time // the last failure
	ExpiresAt     time.Time
}

// PasswordHistoryEntry is an earlier password, kept for the policy's
// history rule.
type PasswordHistoryEntry struct {
	Hash      string
	ChangedAt time.Time
}

// Now is the store's clock: UTC, cut to the millisecond PingOne shows, so a
// record reads back exactly as it was written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Flow is a sign-on in progress: the authorize request that started it
// and where the sign-on policy has got to. It lives in the store so that
// any node can continue it. Version guards concurrent steps: UpdateFlow
// writes only over the version it read.
type Flow struct {
	ID            string
	EnvironmentID string
	ApplicationID string
	UserID        string // empty until the user is known
	SessionID     string // empty until a session is bound
	Status        string
	// Binding is the SHA-256 (hex) of the browser's ST cookie value: only
	// the browser (or headless client) that started the flow may step it.
	Binding   string
	Version   int
	Data      json.RawMessage // the authorize request and the engine's state
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Session is a signed-on user in one environment's browser, named by the
// ST cookie. The cookie carries a random token; only its SHA-256 is kept.
type Session struct {
	ID            string
	EnvironmentID string
	UserID        string
	TokenHash     string
	AuthTime      time.Time // last authentication
	AMR           []string  // how the user authenticated (pwd, fed…)
	Data          json.RawMessage
	CreatedAt     time.Time
	LastUsedAt    time.Time
	ExpiresAt     time.Time
}

// TokenState is what the store knows of an access token's liveness: what
// its signature and claims cannot say, read on every use of the token.
type TokenState struct {
	Revoked bool
	// SessionExpiresAt is when the session the token names ends; zero
	// when no session was asked about or it no longer exists.
	SessionExpiresAt time.Time
	// SessionUsedAt and SessionAuthTime are the session's last use and
	// last sign-on (zero as SessionExpiresAt is): what keeping it alive
	// needs, read in the same statement.
	SessionUsedAt, SessionAuthTime time.Time
	// UserEnabled says that the user asked about exists and is enabled.
	UserEnabled bool
}

// AuthCode is an authorization code, kept by its SHA-256 (hex). GrantID
// names everything issued from it, so that a replay revokes it all.
type AuthCode struct {
	CodeHash      string
	EnvironmentID string
	ApplicationID string
	UserID        string
	SessionID     string
	GrantID       string
	Data          json.RawMessage // redirect_uri, scope, nonce, PKCE, auth_time, acr, amr…
	UsedAt        time.Time       // zero until redeemed
	// AccessJTI and AccessExpiresAt name the access token issued on
	// redemption, so that a replay can deny it until it expires.
	AccessJTI       string
	AccessExpiresAt time.Time
	// FrontAccessJTI and FrontAccessExpiresAt name the access token the
	// authorization endpoint issued beside the code in a hybrid response
	// ("code token"); "" and zero otherwise. A replay denies it too.
	FrontAccessJTI       string
	FrontAccessExpiresAt time.Time
	CreatedAt            time.Time
	ExpiresAt            time.Time
}

// PushedRequest is a pushed authorization request (RFC 9126), kept by the
// SHA-256 (hex) of its request_uri until authorize takes it, once.
type PushedRequest struct {
	URIHash       string
	EnvironmentID string
	ApplicationID string
	Data          json.RawMessage // the authorization request's parameters
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// Device authorization statuses: PENDING until the user decides,
// then APPROVED or DENIED; an APPROVED one becomes REDEEMED when the
// device takes its tokens.
const (
	DevicePending  = "PENDING"
	DeviceApproved = "APPROVED"
	DeviceDenied   = "DENIED"
	DeviceRedeemed = "REDEEMED"
)

// DeviceAuthorization is a device authorization (RFC 8628), kept by the
// SHA-256 (hex) of its device_code and of its user_code: neither code is
// stored.
type DeviceAuthorization struct {
	DeviceCodeHash string
	UserCodeHash   string
	EnvironmentID  string
	ApplicationID  string
	Status         string
	// UserID and SessionID are the user who approved and the session of
	// that sign-on; "" until then.
	UserID    string
	SessionID string
	Data      json.RawMessage // scope, audience, token lifetime; auth_time, acr, amr once approved
	// Interval is the polling interval in seconds the device must keep,
	// grown by each slow_down; LastPolledAt the last poll (zero: none).
	Interval     int
	LastPolledAt time.Time
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// RefreshToken is a refresh token, kept by its SHA-256 (hex). Tokens
// rotate: each use marks the token rotated and issues its successor in the
// same grant; FamilyExpiresAt bounds the whole chain.
type RefreshToken struct {
	TokenHash       string
	EnvironmentID   string
	ApplicationID   string
	UserID          string
	SessionID       string
	GrantID         string
	Data            json.RawMessage // scope, auth_time, acr, amr, audience…
	AccessJTI       string
	AccessExpiresAt time.Time
	RotatedAt       time.Time // zero while current
	RevokedAt       time.Time // zero unless revoked
	CreatedAt       time.Time
	ExpiresAt       time.Time
	FamilyExpiresAt time.Time
}

// IdentityProvider is an external identity provider of an environment.
// Type discriminates it (OPENID_CONNECT today; SAML and the social types
// later); the type's fields ride in Data as PingOne names them. The client
// secret is sealed with the master key ("idp:"+ID as associated data):
// the server must present it to the provider.
type IdentityProvider struct {
	ID                 string
	EnvironmentID      string
	Name               string
	Type               string
	Enabled            bool
	ClientSecretSealed []byte
	Data               json.RawMessage
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// IdentityProviderAttribute maps a user attribute (Name, e.g. "username"
// or "name.given") to an expression over the provider's claims (Value,
// e.g. "${providerAttributes.sub}"). Update is EMPTY_ONLY or ALWAYS;
// MappingType CORE (made with the provider, cannot go) or CUSTOM.
type IdentityProviderAttribute struct {
	ID                 string
	EnvironmentID      string
	IdentityProviderID string
	Name               string
	Value              string
	Update             string
	MappingType        string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// LinkedAccount ties a user to an identity at an external provider: the
// provider and the subject (ExternalID) it knows the user by. A provider's
// subject links to one user of the environment at most.
type LinkedAccount struct {
	ID                 string
	EnvironmentID      string
	UserID             string
	IdentityProviderID string
	ExternalID         string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// ConfigChange is a committed write of an environment's cached
// configuration: the version it left, or Deleted when the environment went.
type ConfigChange struct {
	EnvironmentID string
	Version       int64
	Deleted       bool
}

// MFALockout is a user's MFA lockout state: wrong passcodes in a row and,
// when they reached the MFA settings' count, until when the user's MFA
// stays locked (zero: not locked).
type MFALockout struct {
	EnvironmentID string
	UserID        string
	Failures      int
	LockedUntil   time.Time
}

// PhoneDeliverySettings are an environment's SMS and voice provider
// (PingOne's notificationsSettings/phoneDeliverySettings): Provider is
// CUSTOM_PROVIDER or CUSTOM_TWILIO, Data its configuration as JSON
// (wire.PhoneDeliveryConfig) and Secret its credentials, sealed.
type PhoneDeliverySettings struct {
	ID            string
	EnvironmentID string
	Provider      string
	Data          []byte
	Secret        []byte
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TemplateContent is an administrator's content of a notification
// template for one delivery method (Email, SMS, Voice), locale and
// variant ("" for none); Data holds the method's fields as JSON
// (templates.Fields). The predefined contents are not stored.
type TemplateContent struct {
	ID             string
	EnvironmentID  string
	Template       string
	DeliveryMethod string
	Locale         string
	Variant        string
	Data           []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeviceAuthenticationPolicy is a PingOne MFA policy: which device types a
// user may authenticate and pair with, and their passcode settings. Data
// is everything but identity, name and the default flag, as PingOne shapes
// it (wire.DeviceAuthenticationPolicyData). An environment has one default.
type DeviceAuthenticationPolicy struct {
	ID            string
	EnvironmentID string
	Name          string
	Default       bool
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// FIDO2Policy is a PingOne FIDO2 policy: how passkeys and security keys
// register and assert. Data is everything but identity, name and the
// default flag, as PingOne shapes it (wire.FIDO2PolicyData). An
// environment has one default.
type FIDO2Policy struct {
	ID            string
	EnvironmentID string
	Name          string
	Default       bool
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// MFASettings are an environment's MFA settings as PingOne shapes them
// (wire.MFASettings without links); an environment that never set them
// has none and runs on PingOne's defaults.
type MFASettings struct {
	EnvironmentID string
	Data          json.RawMessage
	UpdatedAt     time.Time
}

// DeviceAuthentication is one of PingOne's device authentications
// (/{envId}/deviceAuthentications): an MFA-only flow of one user, started
// by an application without authorize. Data holds the flow's state (the
// policy, the selected device, the outstanding passcode challenge);
// Version guards every step as a flow's does.
type DeviceAuthentication struct {
	ID            string
	EnvironmentID string
	ApplicationID string
	UserID        string
	Status        string
	Version       int
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
}

// ---- Agreements (migration 0025)

// Agreement is a PingOne agreement. Data holds what no rule reads:
// description and reconsentPeriodDays, as PingOne shapes them
// (wire.AgreementData).
type Agreement struct {
	ID            string
	EnvironmentID string
	Name          string
	Enabled       bool
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AgreementLanguage is one locale of an agreement (unique per agreement
// whatever its case). Data holds displayName and userExperience
// (wire.AgreementLanguageData).
type AgreementLanguage struct {
	ID            string
	EnvironmentID string
	AgreementID   string
	Locale        string
	Enabled       bool
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AgreementRevision is one text of an agreement language, shown from
// EffectiveAt (unique per language) on. It never changes once written.
// Text is filled by GetAgreementRevision only: lists leave it empty.
type AgreementRevision struct {
	ID               string
	EnvironmentID    string
	AgreementID      string
	LanguageID       string
	EffectiveAt      time.Time
	ContentType      string // text/html | text/plain
	RequireReconsent bool
	Text             string
	CreatedAt        time.Time
}

// AgreementConsent is a user's latest consent to an agreement: the
// language and revision accepted, when, until when (zero: no expiry) and
// when it was revoked (zero: it was not).
//
// The store fills the rest when it reads a consent, from the rows it
// names, so that whether it still holds is decided without reading
// them again: whether the agreement and the language are enabled, and
// ReconsentFrom, the effective time of the first later revision of the
// language that requires consent again (zero: there is none).
type AgreementConsent struct {
	EnvironmentID string
	UserID        string
	AgreementID   string
	LanguageID    string
	RevisionID    string
	ConsentedAt   time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time

	AgreementEnabled bool
	LanguageEnabled  bool
	ReconsentFrom    time.Time
}

// AgreementConsentCount is how many users consented to an agreement (and
// did not revoke it), and how many of those consents expired. ChangedAt is
// the latest consent event that moved the counts by then (a consent, a
// revocation, an expiry), zero when there was none: the counts' "as of".
type AgreementConsentCount struct {
	Total, Expired int
	ChangedAt      time.Time
}

// Group is one of PingOne's groups: environment-wide (PopulationID "") or
// of one population, which it keeps for life. Name is unique among the
// groups a user of a population may join — the population's and the
// environment-wide ones — whatever its case.
type Group struct {
	ID, EnvironmentID string
	PopulationID      string // "" = environment-wide
	Name, ExternalID  string
	Data              json.RawMessage // description, userFilter, customData … (PingOne's long tail)
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// UserGroup is a group a user belongs to; Direct is true for a direct
// membership, false for one through nested groups only.
type UserGroup struct {
	ID, Name string
	Direct   bool
}

// GroupMemberCounts are a group's users: Direct counts its direct members,
// Total every user who belongs to it directly or through nested groups.
type GroupMemberCounts struct {
	Direct, Total int
}

// GroupNesting says GroupID is a member of ParentID.
type GroupNesting struct {
	GroupID, ParentID, EnvironmentID string
	CreatedAt                        time.Time
}

// ---- user schema (migration 0024)

// SchemaAttribute is an attribute of an environment's user schema that
// the environment changed: a custom attribute, or a standard one whose
// mutable flags were set. Core and standard attributes nobody changed
// have no row: they are PingOne's defaults (identity knows them). Name is
// unique per environment whatever its case. Data is the rest as PingOne
// shapes it (wire.SchemaAttributeRules).
type SchemaAttribute struct {
	ID            string
	EnvironmentID string
	Name          string
	SchemaType    string // STANDARD | CUSTOM
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// UniqueValue is a value a user holds of a unique schema attribute:
// Value is how it compares (the store keeps one per attribute and
// environment), Name the attribute's name for the error that names it.
type UniqueValue struct {
	AttributeID string
	Name        string
	Value       string
}

// ---- audit activities (migration 0027)

// Activity is one audit record as PingOne's activities show it: who
// (Client and/or User) did what (ActionType, PingOne's names such as
// USER.CREATED) to which resources, with what result, when. Seq is
// assigned by the store on insert, ascending in insert order across
// environments: webhook deliveries follow it as their cursor.
type Activity struct {
	ID                string
	EnvironmentID     string
	Seq               int64
	RecordedAt        time.Time
	CorrelationID     string
	ActionType        string
	ActionDescription string
	Client            *ActivityActor // actors.client
	User              *ActivityActor // actors.user
	Resources         []ActivityResource
	ResultStatus      string // SUCCESS | FAILED
	ResultDescription string
	// Tags, as PingOne's tags (adminIdentityEvent).
	Tags []string
	// Details holds what PingOne adds to some actions (the changed
	// fields of an update, the failure's code): JSON, or nil.
	Details json.RawMessage
}

// ActivityActor is an actor of an activity: a CLIENT (application) or a
// USER.
type ActivityActor struct {
	ID, Name, Type              string
	EnvironmentID, PopulationID string
}

// ActivityResource is a resource an activity acted on (Type as PingOne
// names it: USER, APPLICATION, POPULATION, …).
type ActivityResource struct {
	ID, Name, Type              string
	EnvironmentID, PopulationID string
}

// ---- webhook subscriptions (migration 0028)

// Subscription is a webhook: PingOne's subscription, with where its
// delivery stands. Data holds filterOptions in PingOne's shape (JSON);
// HeadersSealed the httpEndpoint.headers, sealed (they carry the
// receiver's credentials).
type Subscription struct {
	ID            string
	EnvironmentID string
	Name          string
	Enabled       bool
	Format        string // ACTIVITY | SPLUNK | NEWRELIC
	URL           string
	VerifyTLS     bool
	HeadersSealed []byte
	Data          json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Delivery is written by the dispatcher only; Create sets its
	// Cursor, Update leaves it alone.
	Delivery SubscriptionDelivery
}

// SubscriptionDelivery is a subscription's delivery state. Cursor is the
// Seq of the last activity dealt with (delivered, dead-lettered or not
// matching); the next matching activity after it is the one in flight.
type SubscriptionDelivery struct {
	Cursor           int64
	Attempts         int // failed attempts at the activity in flight
	NextAttemptAt    time.Time
	LastError        string
	LastErrorAt      time.Time
	LastDeliveredAt  time.Time
	DeadLetters      int64 // activities given up on, ever
	LastDeadLetterAt time.Time
	// The lease: the node delivering the subscription, until when.
	LeaseOwner string
	LeaseUntil time.Time
}

// SubscriptionDeadLetter is an activity a subscription gave up on after
// its retries.
type SubscriptionDeadLetter struct {
	ID             string
	EnvironmentID  string
	SubscriptionID string
	ActivityID     string
	Seq            int64
	Attempts       int
	Error          string
	CreatedAt      time.Time
}
