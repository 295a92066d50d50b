package flow

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/identity"
)

// Flow statuses, as PingOne names them.
const (
	StatusUsernamePasswordRequired = "USERNAME_PASSWORD_REQUIRED"
	StatusSignOnRequired           = "SIGN_ON_REQUIRED"
	StatusPasswordRequired         = "PASSWORD_REQUIRED"
	StatusMustChangePassword       = "MUST_CHANGE_PASSWORD"
	StatusPasswordExpired          = "PASSWORD_EXPIRED"
	StatusRecoveryCodeRequired     = "RECOVERY_CODE_REQUIRED"
	StatusVerificationCodeRequired = "VERIFICATION_CODE_REQUIRED"
	StatusExternalAuthRequired     = "EXTERNAL_AUTHENTICATION_REQUIRED"
	StatusAccountLinkingRequired   = "ACCOUNT_LINKING_REQUIRED"
	StatusCompleted                = "COMPLETED"
	StatusFailed                   = "FAILED"
)

// Actions: the vendor media type application/vnd.pingidentity.<action>+json
// selects one. The names are PingOne's; _links use them as keys.
const (
	ActionSessionReset             = "session.reset"
	ActionUsernamePasswordCheck    = "usernamePassword.check"
	ActionUserLookup               = "user.lookup"
	ActionPasswordForgot           = "password.forgot"
	ActionPasswordSendRecoveryCode = "password.sendRecoveryCode"
	ActionPasswordRecover          = "password.recover"
	ActionPasswordReset            = "password.reset"
	ActionUserRegister             = "user.register"
	ActionUserVerify               = "user.verify"
	ActionUserSendVerificationCode = "user.sendVerificationCode"
)

// MediaType is the Content-Type that selects action.
func MediaType(action string) string { return "application/vnd.pingidentity." + action + "+json" }

// Lifetimes.
const (
	// FlowIdle is how long a flow lives without a step (PingOne: "Flows
	// expire after 15 minutes of inactivity").
	FlowIdle = 15 * time.Minute
	// CodeLifetime bounds recovery and verification codes.
	CodeLifetime = 15 * time.Minute
	// maxCodeAttempts wrong codes void the code: a new one must be sent.
	maxCodeAttempts = 5
)

// Request is the authorize request a flow serves: what resume needs to
// answer the application. authsvc validates it before Start.
type Request struct {
	ResponseType        string `json:"responseType"`
	ResponseMode        string `json:"responseMode"`
	RedirectURI         string `json:"redirectUri,omitempty"` // as sent; "" when pi.flow sent none
	Scope               string `json:"scope"`
	State               string `json:"state,omitempty"`
	Nonce               string `json:"nonce,omitempty"`
	CodeChallenge       string `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string `json:"codeChallengeMethod,omitempty"`
	Prompt              string `json:"prompt,omitempty"`
	MaxAge              *int   `json:"maxAge,omitempty"`
	LoginHint           string `json:"loginHint,omitempty"`
	// Audience and AccessTokenTTL are resolved from the scopes' resource.
	Audience       []string `json:"aud"`
	AccessTokenTTL int      `json:"accessTokenTtl"`
	// Policy, when set, is the sign-on policy acr_values picked.
	Policy string `json:"policy,omitempty"`
}

// PiFlow reports whether the client drives the flow itself (200 JSON
// instead of redirects).
func (r *Request) PiFlow() bool { return r.ResponseMode == "pi.flow" }

// action is one sign-on policy action as the flow runs it: a snapshot, so
// that an administrator editing the policy does not change a flow midway.
type action struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Condition json.RawMessage `json:"condition,omitempty"`
	Recovery  bool            `json:"recovery"`
	Register  bool            `json:"register"`
	// RegisterPopulation is where registration puts new users ("" = the
	// environment's default population).
	RegisterPopulation string `json:"registerPopulation,omitempty"`
	// SocialProviders are the identity providers a LOGIN or
	// IDENTIFIER_FIRST action offers; IdentityProvider is the one an
	// IDENTITY_PROVIDER action sends the user to.
	SocialProviders  []string `json:"socialProviders,omitempty"`
	IdentityProvider string   `json:"identityProvider,omitempty"`
	// ACRValues are passed to the provider of an IDENTITY_PROVIDER action.
	ACRValues string `json:"acrValues,omitempty"`
}

// external is a sign-on at an external identity provider in progress:
// what the callback must find to accept the provider's answer.
type external struct {
	ProviderID string `json:"providerId"`
	StateHash  string `json:"stateHash"`
	Nonce      string `json:"nonce"`
	Verifier   string `json:"verifier,omitempty"`
	ExpiresAt  int64  `json:"expiresAt"` // unix ms
}

// MappedAttribute is a user attribute an identity provider's mapping
// gives: Name is the user attribute path (username, name.given…).
type MappedAttribute = identity.Attribute

// ExternalIdentity is a user as an external identity provider vouched for
// them, with the attributes its mappings give.
type ExternalIdentity struct {
	ProviderID string            `json:"providerId"`
	Subject    string            `json:"subject"`
	Attributes []MappedAttribute `json:"attributes,omitempty"`
}

// codeState is a recovery or verification code sent to the user.
type codeState struct {
	Hash      string `json:"hash"`
	ExpiresAt int64  `json:"expiresAt"` // unix ms
	Attempts  int    `json:"attempts"`
}

// phantom is the failure count of a username that names no user.
type phantom struct {
	Failures    int   `json:"failures,omitempty"`
	LockedUntil int64 `json:"lockedUntil,omitempty"` // unix ms
	LastAt      int64 `json:"lastAt"`                // unix ms, for eviction
}

// maxPhantoms bounds the phantom counts a flow keeps: each costs a password
// hash to add, but a flow must not grow without limit.
const maxPhantoms = 20

// state is a flow's Data.
type state struct {
	Request    Request  `json:"request"`
	AppName    string   `json:"appName"`
	PolicyID   string   `json:"policyId"`
	PolicyName string   `json:"policyName"`
	Actions    []action `json:"actions"`
	Step       int      `json:"step"` // index into Actions
	// Username is the identifier given to user.lookup or password.forgot
	// when it names no user: the flow goes on as if it did, so that
	// responses do not tell which usernames exist.
	Username string `json:"username,omitempty"`
	// Phantoms count wrong passwords for usernames that name no user, one
	// count per username (lower-cased) as real users have, so that their
	// answers count down like a real user's.
	Phantoms     map[string]*phantom `json:"phantoms,omitempty"`
	Recovery     *codeState          `json:"recovery,omitempty"`
	Verification *codeState          `json:"verification,omitempty"`
	AuthTime     int64               `json:"authTime,omitempty"` // unix seconds of the sign-on
	AMR          []string            `json:"amr,omitempty"`
	// ForceAuth is set by prompt=login and max_age: the session's earlier
	// sign-on does not count.
	ForceAuth bool `json:"forceAuth,omitempty"`
	// External is the provider sign-on in progress; Pending the external
	// identity waiting for the user to prove a local account
	// (ACCOUNT_LINKING_REQUIRED).
	External *external         `json:"external,omitempty"`
	Pending  *ExternalIdentity `json:"pending,omitempty"`
	// Error is why a FAILED flow failed, as resume reports it.
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"errorDescription,omitempty"`
}
