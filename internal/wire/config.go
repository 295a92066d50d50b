package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// PingOne shapes of an environment's configuration: resources with their
// scopes and attribute mappings, password policies, sign-on policies with
// their actions, and keys.

// ---- lenient scalars

// Int is an integer field that takes what PingOne's Jackson-based API takes:
// a JSON number, a fraction being truncated toward zero (PingOne answers
// minAgeDays 1.5 with 1). Anything else is a type error naming the field.
type Int int64

func (n *Int) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return &json.UnmarshalTypeError{Value: jsonKindOf(b), Type: reflect.TypeOf(int64(0))}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64/2 {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeOf(int64(0))}
	}
	*n = Int(math.Trunc(f))
	return nil
}

// Bool is a boolean field that also takes the strings "true" and "false"
// (any case), as Jackson coerces them: PingOne's own example of creating a
// sign-on policy sends "default": "false".
type Bool bool

func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "true", `"true"`:
		*v = true
	case "false", `"false"`:
		*v = false
	case "null":
	default:
		return &json.UnmarshalTypeError{Value: jsonKindOf(b), Type: reflect.TypeOf(true)}
	}
	return nil
}

func jsonKindOf(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// ---- resources

type ApplicationPermissionsSettings struct {
	ClaimEnabled bool `json:"claimEnabled"`
}

type Resource struct {
	Links                          Links                           `json:"_links"`
	ID                             string                          `json:"id"`
	Environment                    Ref                             `json:"environment"`
	Name                           string                          `json:"name"`
	Description                    string                          `json:"description,omitempty"`
	Type                           string                          `json:"type"`
	Audience                       string                          `json:"audience,omitempty"`
	AccessTokenValiditySeconds     int                             `json:"accessTokenValiditySeconds"`
	IntrospectEndpointAuthMethod   string                          `json:"introspectEndpointAuthMethod,omitempty"`
	ApplicationPermissionsSettings *ApplicationPermissionsSettings `json:"applicationPermissionsSettings,omitempty"`
	CreatedAt                      Time                            `json:"createdAt"`
	UpdatedAt                      Time                            `json:"updatedAt"`
}

type ResourceRequest struct {
	Name                           *string `json:"name"`
	Description                    *string `json:"description"`
	Type                           *string `json:"type"`
	Audience                       *string `json:"audience"`
	AccessTokenValiditySeconds     *int64  `json:"accessTokenValiditySeconds"`
	IntrospectEndpointAuthMethod   *string `json:"introspectEndpointAuthMethod"`
	ApplicationPermissionsSettings *struct {
		ClaimEnabled *bool `json:"claimEnabled"`
	} `json:"applicationPermissionsSettings"`
}

// ResourceData is the long tail of a resource kept in its JSON column.
type ResourceData struct {
	IntrospectEndpointAuthMethod   string                          `json:"introspectEndpointAuthMethod,omitempty"`
	ApplicationPermissionsSettings *ApplicationPermissionsSettings `json:"applicationPermissionsSettings,omitempty"`
}

type Scope struct {
	Links            Links    `json:"_links"`
	ID               string   `json:"id"`
	Environment      Ref      `json:"environment"`
	Resource         Ref      `json:"resource"`
	Name             string   `json:"name"`
	Description      string   `json:"description,omitempty"`
	SchemaAttributes []string `json:"schemaAttributes,omitempty"`
	MappedClaims     []string `json:"mappedClaims,omitempty"`
	CreatedAt        Time     `json:"createdAt"`
	UpdatedAt        Time     `json:"updatedAt"`
}

type ScopeRequest struct {
	Name             *string  `json:"name"`
	Description      *string  `json:"description"`
	SchemaAttributes []string `json:"schemaAttributes"`
	MappedClaims     []string `json:"mappedClaims"`
}

// ScopeData is the long tail of a scope kept in its JSON column.
type ScopeData struct {
	SchemaAttributes []string `json:"schemaAttributes,omitempty"`
	MappedClaims     []string `json:"mappedClaims,omitempty"`
}

// ResourceAttribute always carries resource{id}: PingOne's SDK decodes
// attribute lists as a oneOf told apart by that object.
type ResourceAttribute struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Resource    Ref    `json:"resource"`
	Name        string `json:"name"`
	Value       string `json:"value"`
	Type        string `json:"type"`
	IDToken     *bool  `json:"idToken,omitempty"`
	UserInfo    *bool  `json:"userInfo,omitempty"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

type ResourceAttributeRequest struct {
	Name     *string `json:"name"`
	Value    *string `json:"value"`
	IDToken  *bool   `json:"idToken"`
	UserInfo *bool   `json:"userInfo"`
}

// ---- password policies

type PasswordHistory struct {
	Count         int64 `json:"count"`
	RetentionDays int64 `json:"retentionDays"`
}

type PasswordLockout struct {
	FailureCount    int64 `json:"failureCount"`
	DurationSeconds int64 `json:"durationSeconds"`
}

type PasswordLength struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
}

type SequenceRule struct {
	MaxLength int64 `json:"maxLength"`
}

// PasswordPolicyRules is a policy's description and rules, in the order
// PingOne writes them; it is also what the policy's JSON column holds.
type PasswordPolicyRules struct {
	Description                  string           `json:"description,omitempty"`
	ExcludesProfileData          bool             `json:"excludesProfileData"`
	NotSimilarToCurrent          bool             `json:"notSimilarToCurrent"`
	ExcludesCommonlyUsed         bool             `json:"excludesCommonlyUsed"`
	MaxAgeDays                   *int64           `json:"maxAgeDays,omitempty"`
	MinAgeDays                   *int64           `json:"minAgeDays,omitempty"`
	MaxRepeatedCharacters        *int64           `json:"maxRepeatedCharacters,omitempty"`
	MinUniqueCharacters          *int64           `json:"minUniqueCharacters,omitempty"`
	MinComplexity                *int64           `json:"minComplexity,omitempty"`
	History                      *PasswordHistory `json:"history,omitempty"`
	Lockout                      *PasswordLockout `json:"lockout,omitempty"`
	Length                       *PasswordLength  `json:"length,omitempty"`
	MinCharacters                map[string]int64 `json:"minCharacters,omitempty"`
	AlphabetSequenceRule         *SequenceRule    `json:"alphabetSequenceRule,omitempty"`
	NumberSequenceRule           *SequenceRule    `json:"numberSequenceRule,omitempty"`
	QwertySequenceRule           *SequenceRule    `json:"qwertySequenceRule,omitempty"`
	ShiftedNumberRowSequenceRule *SequenceRule    `json:"shiftedNumberRowSequenceRule,omitempty"`
}

type PasswordPolicy struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	PasswordPolicyRules
	Default         bool `json:"default"`
	PopulationCount int  `json:"populationCount"`
	CreatedAt       Time `json:"createdAt"`
	UpdatedAt       Time `json:"updatedAt"`
}

type SequenceRuleRequest struct {
	MaxLength *Int `json:"maxLength"`
}

type PasswordPolicyRequest struct {
	Name                  *string `json:"name"`
	Description           *string `json:"description"`
	Default               *bool   `json:"default"`
	ExcludesProfileData   *bool   `json:"excludesProfileData"`
	NotSimilarToCurrent   *bool   `json:"notSimilarToCurrent"`
	ExcludesCommonlyUsed  *bool   `json:"excludesCommonlyUsed"`
	MaxAgeDays            *Int    `json:"maxAgeDays"`
	MinAgeDays            *Int    `json:"minAgeDays"`
	MaxRepeatedCharacters *Int    `json:"maxRepeatedCharacters"`
	MinUniqueCharacters   *Int    `json:"minUniqueCharacters"`
	MinComplexity         *Int    `json:"minComplexity"`
	History               *struct {
		Count         *Int `json:"count"`
		RetentionDays *Int `json:"retentionDays"`
	} `json:"history"`
	Lockout *struct {
		FailureCount    *Int `json:"failureCount"`
		DurationSeconds *Int `json:"durationSeconds"`
	} `json:"lockout"`
	Length *struct {
		Min *Int `json:"min"`
		Max *Int `json:"max"`
	} `json:"length"`
	MinCharacters                map[string]Int       `json:"minCharacters"`
	AlphabetSequenceRule         *SequenceRuleRequest `json:"alphabetSequenceRule"`
	NumberSequenceRule           *SequenceRuleRequest `json:"numberSequenceRule"`
	QwertySequenceRule           *SequenceRuleRequest `json:"qwertySequenceRule"`
	ShiftedNumberRowSequenceRule *SequenceRuleRequest `json:"shiftedNumberRowSequenceRule"`
}

// ---- sign-on policies and actions

type SignOnPolicy struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

type SignOnPolicyRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Default     *Bool   `json:"default"`
}

type ActionRecovery struct {
	Enabled bool `json:"enabled"`
}

type ActionRegistration struct {
	Enabled                           bool  `json:"enabled"`
	Population                        *Ref  `json:"population,omitempty"`
	External                          *Href `json:"external,omitempty"`
	ConfirmIdentityProviderAttributes *bool `json:"confirmIdentityProviderAttributes,omitempty"`
}

type DiscoveryRuleCondition struct {
	Contains string `json:"contains"`
	Value    string `json:"value"`
}

type DiscoveryRule struct {
	Condition        DiscoveryRuleCondition `json:"condition"`
	IdentityProvider Ref                    `json:"identityProvider"`
}

type ProfilingAttribute struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
}

// SignOnPolicyActionData holds the fields of every action type; an action
// carries those of its type. It is also the action's JSON column. The
// condition and the MFA settings are kept as the client sent them.
type SignOnPolicyActionData struct {
	Condition json.RawMessage `json:"condition,omitempty"`

	// LOGIN and IDENTIFIER_FIRST (registration also IDENTITY_PROVIDER)
	Recovery                           *ActionRecovery     `json:"recovery,omitempty"`
	Registration                       *ActionRegistration `json:"registration,omitempty"`
	SocialProviders                    []Ref               `json:"socialProviders,omitempty"`
	EnforceLockoutForIdentityProviders *bool               `json:"enforceLockoutForIdentityProviders,omitempty"`
	NewUserProvisioning                json.RawMessage     `json:"newUserProvisioning,omitempty"`
	DiscoveryRules                     []DiscoveryRule     `json:"discoveryRules,omitempty"`

	// IDENTITY_PROVIDER
	IdentityProvider *Ref   `json:"identityProvider,omitempty"`
	AcrValues        string `json:"acrValues,omitempty"`
	PassUserContext  *bool  `json:"passUserContext,omitempty"`

	// MULTI_FACTOR_AUTHENTICATION
	DeviceAuthenticationPolicy json.RawMessage `json:"deviceAuthenticationPolicy,omitempty"`
	NoDevicesMode              string          `json:"noDevicesMode,omitempty"`
	SMS                        json.RawMessage `json:"sms,omitempty"`
	Voice                      json.RawMessage `json:"voice,omitempty"`
	Email                      json.RawMessage `json:"email,omitempty"`
	Authenticator              json.RawMessage `json:"authenticator,omitempty"`
	SecurityKey                json.RawMessage `json:"securityKey,omitempty"`
	BoundBiometrics            json.RawMessage `json:"boundBiometrics,omitempty"`
	Applications               json.RawMessage `json:"applications,omitempty"`

	// PROGRESSIVE_PROFILING
	Attributes                    []ProfilingAttribute `json:"attributes,omitempty"`
	PreventMultiplePromptsPerFlow *bool                `json:"preventMultiplePromptsPerFlow,omitempty"`
	PromptIntervalSeconds         *int64               `json:"promptIntervalSeconds,omitempty"`
	PromptText                    string               `json:"promptText,omitempty"`

	// AGREEMENT
	Agreement            *Ref  `json:"agreement,omitempty"`
	DisableDeclineOption *bool `json:"disableDeclineOption,omitempty"`
}

type SignOnPolicyAction struct {
	Links        Links  `json:"_links"`
	ID           string `json:"id"`
	Environment  Ref    `json:"environment"`
	SignOnPolicy Ref    `json:"signOnPolicy"`
	Type         string `json:"type"`
	Priority     int    `json:"priority"`
	SignOnPolicyActionData
}

type RefRequest struct {
	ID *string `json:"id"`
}

type SignOnPolicyActionRequest struct {
	Type      *string         `json:"type"`
	Priority  *int64          `json:"priority"`
	Condition json.RawMessage `json:"condition"`

	Recovery *struct {
		Enabled *bool `json:"enabled"`
	} `json:"recovery"`
	Registration *struct {
		Enabled    *bool       `json:"enabled"`
		Population *RefRequest `json:"population"`
		External   *struct {
			Href *string `json:"href"`
		} `json:"external"`
		ConfirmIdentityProviderAttributes *bool `json:"confirmIdentityProviderAttributes"`
	} `json:"registration"`
	SocialProviders                    []RefRequest    `json:"socialProviders"`
	EnforceLockoutForIdentityProviders *bool           `json:"enforceLockoutForIdentityProviders"`
	NewUserProvisioning                json.RawMessage `json:"newUserProvisioning"`
	DiscoveryRules                     []struct {
		Condition *struct {
			Contains *string `json:"contains"`
			Value    *string `json:"value"`
		} `json:"condition"`
		IdentityProvider *RefRequest `json:"identityProvider"`
	} `json:"discoveryRules"`

	IdentityProvider *RefRequest `json:"identityProvider"`
	AcrValues        *string     `json:"acrValues"`
	PassUserContext  *bool       `json:"passUserContext"`

	DeviceAuthenticationPolicy json.RawMessage `json:"deviceAuthenticationPolicy"`
	NoDevicesMode              *string         `json:"noDevicesMode"`
	SMS                        json.RawMessage `json:"sms"`
	Voice                      json.RawMessage `json:"voice"`
	Email                      json.RawMessage `json:"email"`
	Authenticator              json.RawMessage `json:"authenticator"`
	SecurityKey                json.RawMessage `json:"securityKey"`
	BoundBiometrics            json.RawMessage `json:"boundBiometrics"`
	Applications               json.RawMessage `json:"applications"`

	Attributes []struct {
		Name     *string `json:"name"`
		Required *bool   `json:"required"`
	} `json:"attributes"`
	PreventMultiplePromptsPerFlow *bool   `json:"preventMultiplePromptsPerFlow"`
	PromptIntervalSeconds         *int64  `json:"promptIntervalSeconds"`
	PromptText                    *string `json:"promptText"`

	Agreement            *RefRequest `json:"agreement"`
	DisableDeclineOption *bool       `json:"disableDeclineOption"`
}

// ---- keys (certificates)

type Key struct {
	Links              Links  `json:"_links"`
	ID                 string `json:"id"`
	Environment        Ref    `json:"environment"`
	Organization       Ref    `json:"organization"`
	Name               string `json:"name"`
	Algorithm          string `json:"algorithm"`
	KeyLength          int    `json:"keyLength"`
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	SubjectDN          string `json:"subjectDN"`
	IssuerDN           string `json:"issuerDN"`
	UsageType          string `json:"usageType"`
	Default            bool   `json:"default"`
	SerialNumber       int64  `json:"serialNumber"`
	ValidityPeriod     int    `json:"validityPeriod"`
	Status             string `json:"status"`
	StartsAt           Time   `json:"startsAt"`
	ExpiresAt          Time   `json:"expiresAt"`
	CreatedAt          Time   `json:"createdAt"`
}

type KeyRequest struct {
	Name               *string `json:"name"`
	Algorithm          *string `json:"algorithm"`
	KeyLength          *int64  `json:"keyLength"`
	SignatureAlgorithm *string `json:"signatureAlgorithm"`
	SubjectDN          *string `json:"subjectDN"`
	UsageType          *string `json:"usageType"`
	ValidityPeriod     *int64  `json:"validityPeriod"`
	Default            *bool   `json:"default"`
}

type KeyUpdateRequest struct {
	UsageType *string `json:"usageType"`
	Default   *bool   `json:"default"`
}
