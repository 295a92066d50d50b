package audit

import (
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Action types Gatehouse records, by PingOne's names (the action types a
// PingOne webhook subscription filters on). The few PingOne has no name
// for are marked Gatehouse's own; they follow PingOne's RESOURCE.VERB
// style.
const (
	// Management writes.
	EnvironmentCreated       = "ENVIRONMENT.CREATED"
	EnvironmentUpdated       = "ENVIRONMENT.UPDATED"
	EnvironmentDeleted       = "ENVIRONMENT.DELETED"
	PopulationCreated        = "POPULATION.CREATED"
	PopulationUpdated        = "POPULATION.UPDATED"
	PopulationDeleted        = "POPULATION.DELETED"
	UserCreated              = "USER.CREATED"
	UserUpdated              = "USER.UPDATED"
	UserDeleted              = "USER.DELETED"
	UserMoved                = "USER.MOVED"
	UserLocked               = "USER.LOCKED"
	UserUnlocked             = "USER.UNLOCKED"
	PasswordSet              = "PASSWORD.SET"
	PasswordReset            = "PASSWORD.RESET"
	PasswordRecovery         = "PASSWORD.RECOVERY"
	PasswordForceChange      = "PASSWORD.FORCE_CHANGE"
	PasswordUnlocked         = "PASSWORD.UNLOCKED"
	ApplicationCreated       = "APPLICATION.CREATED"
	ApplicationUpdated       = "APPLICATION.UPDATED"
	ApplicationDeleted       = "APPLICATION.DELETED"
	SecretUpdated            = "SECRET.UPDATED"
	GrantCreated             = "GRANT.CREATED"
	GrantUpdated             = "GRANT.UPDATED"
	GrantDeleted             = "GRANT.DELETED"
	SOPAssignmentCreated     = "SIGN_ON_POLICY_ASSIGNMENT.CREATED"
	SOPAssignmentUpdated     = "SIGN_ON_POLICY_ASSIGNMENT.UPDATED"
	SOPAssignmentDeleted     = "SIGN_ON_POLICY_ASSIGNMENT.DELETED"
	RoleAssignmentCreated    = "ROLE_ASSIGNMENT.CREATED"
	RoleAssignmentDeleted    = "ROLE_ASSIGNMENT.DELETED"
	ResourceCreated          = "RESOURCE.CREATED"
	ResourceUpdated          = "RESOURCE.UPDATED"
	ResourceDeleted          = "RESOURCE.DELETED"
	ResourceAttrCreated      = "RESOURCE_ATTRIBUTE.CREATED"
	ResourceAttrUpdated      = "RESOURCE_ATTRIBUTE.UPDATED"
	ResourceAttrDeleted      = "RESOURCE_ATTRIBUTE.DELETED"
	ScopeCreated             = "SCOPE.CREATED"
	ScopeUpdated             = "SCOPE.UPDATED"
	ScopeDeleted             = "SCOPE.DELETED"
	PolicyCreated            = "POLICY.CREATED"
	PolicyUpdated            = "POLICY.UPDATED"
	PolicyDeleted            = "POLICY.DELETED"
	ActionCreated            = "ACTION.CREATED"
	ActionUpdated            = "ACTION.UPDATED"
	ActionDeleted            = "ACTION.DELETED"
	KeyCreated               = "KEY.CREATED"
	KeyUpdated               = "KEY.UPDATED"
	KeyDeleted               = "KEY.DELETED"
	IdentityProviderCreated  = "IDENTITY_PROVIDER.CREATED"
	IdentityProviderUpdated  = "IDENTITY_PROVIDER.UPDATED"
	IdentityProviderDeleted  = "IDENTITY_PROVIDER.DELETED"
	IDPAttributeCreated      = "IDP_ATTRIBUTE.CREATED"
	IDPAttributeUpdated      = "IDP_ATTRIBUTE.UPDATED"
	IDPAttributeDeleted      = "IDP_ATTRIBUTE.DELETED"
	SAMLAttributeCreated     = "SAML_ATTRIBUTE.CREATED"
	SAMLAttributeUpdated     = "SAML_ATTRIBUTE.UPDATED"
	SAMLAttributeDeleted     = "SAML_ATTRIBUTE.DELETED"
	AccountLinked            = "ACCOUNT.LINKED"
	AccountUnlinked          = "ACCOUNT.UNLINKED"
	BrandingUpdated          = "BRANDING.UPDATED"
	ThemeCreated             = "THEME.CREATED"
	ThemeUpdated             = "THEME.UPDATED"
	ThemeDeleted             = "THEME.DELETED"
	DeviceCreated            = "DEVICE.CREATED"
	DeviceUpdated            = "DEVICE.UPDATED"
	DeviceDeleted            = "DEVICE.DELETED"
	DeviceNicknameUpdated    = "DEVICE.NICKNAME_UPDATED"
	DeviceActivated          = "DEVICE.ACTIVATED"
	DeviceLocked             = "DEVICE.LOCKED"
	DeviceUnlocked           = "DEVICE.UNLOCKED"
	DevicesOrderUpdated      = "DEVICES.ORDER_UPDATED"
	DevicesOrderDeleted      = "DEVICES.ORDER_DELETED"
	PhoneDeliveryCreated     = "PHONE_DELIVERY_SETTINGS.CREATED"
	PhoneDeliveryUpdated     = "PHONE_DELIVERY_SETTINGS.UPDATED"
	PhoneDeliveryDeleted     = "PHONE_DELIVERY_SETTINGS.DELETED"
	ContentCreated           = "CONTENT.CREATED"
	ContentUpdated           = "CONTENT.UPDATED"
	ContentDeleted           = "CONTENT.DELETED"
	MFASettingsUpdated       = "MFA_SETTINGS.UPDATED"
	DeviceAuthPolicyCreated  = "DEVICE_AUTHENTICATION_POLICY.CREATED"
	DeviceAuthPolicyUpdated  = "DEVICE_AUTHENTICATION_POLICY.UPDATED"
	DeviceAuthPolicyDeleted  = "DEVICE_AUTHENTICATION_POLICY.DELETED"
	FIDOPolicyCreated        = "FIDO_POLICY.CREATED"
	FIDOPolicyUpdated        = "FIDO_POLICY.UPDATED"
	FIDOPolicyDeleted        = "FIDO_POLICY.DELETED"
	AgreementCreated         = "AGREEMENT.CREATED"
	AgreementUpdated         = "AGREEMENT.UPDATED"
	AgreementDeleted         = "AGREEMENT.DELETED"
	AgreementLangCreated     = "AGREEMENT_LANGUAGE.CREATED"
	AgreementLangUpdated     = "AGREEMENT_LANGUAGE.UPDATED"
	AgreementLangDeleted     = "AGREEMENT_LANGUAGE.DELETED"
	AgreementRevCreated      = "AGREEMENT_LANGUAGE_REVISION.CREATED"
	AgreementRevDeleted      = "AGREEMENT_LANGUAGE_REVISION.DELETED"
	AgreementConsentAccepted = "AGREEMENT_CONSENT.ACCEPTED"
	AgreementConsentRevoked  = "AGREEMENT_CONSENT.REVOKED"
	GroupCreated             = "GROUP.CREATED"
	GroupUpdated             = "GROUP.UPDATED"
	GroupDeleted             = "GROUP.DELETED"
	MemberOfGroupCreated     = "MEMBER_OF_GROUP.CREATED"
	MemberOfGroupDeleted     = "MEMBER_OF_GROUP.DELETED"
	SchemaAttributeCreated   = "SCHEMA_ATTRIBUTE.CREATED"
	SchemaAttributeUpdated   = "SCHEMA_ATTRIBUTE.UPDATED"
	SchemaAttributeDeleted   = "SCHEMA_ATTRIBUTE.DELETED"
	SettingsUpdated          = "SETTINGS.UPDATED"
	SubscriptionCreated      = "SUBSCRIPTION.CREATED"
	SubscriptionUpdated      = "SUBSCRIPTION.UPDATED"
	SubscriptionDeleted      = "SUBSCRIPTION.DELETED"

	// Sign-on.
	PasswordCheckSucceeded = "PASSWORD.CHECK_SUCCEEDED"
	PasswordCheckFailed    = "PASSWORD.CHECK_FAILED"
	OTPCheckSuccess        = "OTP.CHECK_SUCCESS"
	OTPCheckFailed         = "OTP.CHECK_FAILED"
	AssertionCheckSuccess  = "ASSERTION.CHECK_SUCCESS"
	AssertionCheckFailed   = "ASSERTION.CHECK_FAILED"
	SessionCreated         = "SESSION.CREATED"
	SessionUpdated         = "SESSION.UPDATED"
	SessionDeleted         = "SESSION.DELETED"
	UserAccessAllowed      = "USER.ACCESS_ALLOWED"
	UserAccessDenied       = "USER.ACCESS_DENIED"
	// ExternalAuthSucceeded and ExternalAuthFailed are Gatehouse's own:
	// PingOne lists no action type for a sign-on at an external identity
	// provider.
	ExternalAuthSucceeded = "EXTERNAL_AUTHENTICATION.SUCCEEDED"
	ExternalAuthFailed    = "EXTERNAL_AUTHENTICATION.FAILED"

	// Tokens. Gatehouse's own: PingOne lists no action type for token
	// issuance or revocation.
	AccessTokenCreated = "ACCESS_TOKEN.CREATED"
	TokenRevoked       = "TOKEN.REVOKED"
)

// Resource types, as PingOne's activities name them.
const (
	ResEnvironment      = "ENVIRONMENT"
	ResPopulation       = "POPULATION"
	ResUser             = "USER"
	ResApplication      = "APPLICATION"
	ResIdentityProvider = "IDENTITY_PROVIDER"
	ResSession          = "SESSION"
	ResDevice           = "DEVICE"
	ResGroup            = "GROUP"
	ResResource         = "RESOURCE"
	ResPolicy           = "POLICY"
	ResKey              = "KEY"
	ResAgreement        = "AGREEMENT"
	ResTheme            = "THEME"
	ResSchema           = "SCHEMA"
	ResSettings         = "SETTINGS"
	ResSubscription     = "SUBSCRIPTION"
)

// Action describes an action type: PingOne's action.description and the
// type of the resource it acts on.
type Action struct {
	Description  string
	ResourceType string
	// Own marks a type PingOne does not list (Gatehouse's own name).
	Own bool
}

// Actions are the action types Gatehouse records.
var Actions = map[string]Action{}

func init() {
	own := map[string]bool{ExternalAuthSucceeded: true, ExternalAuthFailed: true, AccessTokenCreated: true, TokenRevoked: true}
	res := map[string]string{
		"ENVIRONMENT": ResEnvironment, "POPULATION": ResPopulation, "USER": ResUser, "PASSWORD": ResUser,
		"APPLICATION": ResApplication, "SECRET": ResApplication, "GRANT": ResApplication, "SIGN_ON_POLICY_ASSIGNMENT": ResApplication,
		"SAML_ATTRIBUTE": ResApplication, "ROLE_ASSIGNMENT": ResUser, "RESOURCE": ResResource, "RESOURCE_ATTRIBUTE": ResResource,
		"SCOPE": ResResource, "POLICY": ResPolicy, "ACTION": ResPolicy, "KEY": ResKey, "IDENTITY_PROVIDER": ResIdentityProvider,
		"IDP_ATTRIBUTE": ResIdentityProvider, "ACCOUNT": ResUser, "BRANDING": ResSettings, "THEME": ResTheme, "DEVICE": ResDevice,
		"DEVICES": ResUser, "PHONE_DELIVERY_SETTINGS": ResSettings, "CONTENT": ResSettings, "MFA_SETTINGS": ResSettings,
		"DEVICE_AUTHENTICATION_POLICY": ResPolicy, "FIDO_POLICY": ResPolicy, "AGREEMENT": ResAgreement, "AGREEMENT_LANGUAGE": ResAgreement,
		"AGREEMENT_LANGUAGE_REVISION": ResAgreement, "AGREEMENT_CONSENT": ResUser, "GROUP": ResGroup, "MEMBER_OF_GROUP": ResUser,
		"SCHEMA_ATTRIBUTE": ResSchema, "SETTINGS": ResSettings, "SUBSCRIPTION": ResSubscription, "OTP": ResUser, "ASSERTION": ResUser,
		"SESSION": ResUser, "EXTERNAL_AUTHENTICATION": ResUser, "ACCESS_TOKEN": ResApplication, "TOKEN": ResApplication,
	}
	for _, t := range []string{
		EnvironmentCreated, EnvironmentUpdated, EnvironmentDeleted, PopulationCreated, PopulationUpdated, PopulationDeleted,
		UserCreated, UserUpdated, UserDeleted, UserMoved, UserLocked, UserUnlocked,
		PasswordSet, PasswordReset, PasswordRecovery, PasswordForceChange, PasswordUnlocked,
		ApplicationCreated, ApplicationUpdated, ApplicationDeleted, SecretUpdated, GrantCreated, GrantUpdated, GrantDeleted,
		SOPAssignmentCreated, SOPAssignmentUpdated, SOPAssignmentDeleted, RoleAssignmentCreated, RoleAssignmentDeleted,
		ResourceCreated, ResourceUpdated, ResourceDeleted, ResourceAttrCreated, ResourceAttrUpdated, ResourceAttrDeleted,
		ScopeCreated, ScopeUpdated, ScopeDeleted, PolicyCreated, PolicyUpdated, PolicyDeleted, ActionCreated, ActionUpdated, ActionDeleted,
		KeyCreated, KeyUpdated, KeyDeleted, IdentityProviderCreated, IdentityProviderUpdated, IdentityProviderDeleted,
		IDPAttributeCreated, IDPAttributeUpdated, IDPAttributeDeleted, SAMLAttributeCreated, SAMLAttributeUpdated, SAMLAttributeDeleted,
		AccountLinked, AccountUnlinked, BrandingUpdated, ThemeCreated, ThemeUpdated, ThemeDeleted,
		DeviceCreated, DeviceUpdated, DeviceDeleted, DeviceNicknameUpdated, DeviceActivated, DeviceLocked, DeviceUnlocked,
		DevicesOrderUpdated, DevicesOrderDeleted, PhoneDeliveryCreated, PhoneDeliveryUpdated, PhoneDeliveryDeleted,
		ContentCreated, ContentUpdated, ContentDeleted, MFASettingsUpdated,
		DeviceAuthPolicyCreated, DeviceAuthPolicyUpdated, DeviceAuthPolicyDeleted, FIDOPolicyCreated, FIDOPolicyUpdated, FIDOPolicyDeleted,
		AgreementCreated, AgreementUpdated, AgreementDeleted, AgreementLangCreated, AgreementLangUpdated, AgreementLangDeleted,
		AgreementRevCreated, AgreementRevDeleted, AgreementConsentAccepted, AgreementConsentRevoked,
		GroupCreated, GroupUpdated, GroupDeleted, MemberOfGroupCreated, MemberOfGroupDeleted,
		SchemaAttributeCreated, SchemaAttributeUpdated, SchemaAttributeDeleted, SettingsUpdated,
		SubscriptionCreated, SubscriptionUpdated, SubscriptionDeleted,
		PasswordCheckSucceeded, PasswordCheckFailed, OTPCheckSuccess, OTPCheckFailed, AssertionCheckSuccess, AssertionCheckFailed,
		SessionCreated, SessionUpdated, SessionDeleted, UserAccessAllowed, UserAccessDenied, ExternalAuthSucceeded, ExternalAuthFailed,
		AccessTokenCreated, TokenRevoked,
	} {
		noun, _, _ := strings.Cut(t, ".")
		r, ok := res[noun]
		if !ok {
			panic("audit: no resource type for " + t)
		}
		Actions[t] = Action{Description: describe(t), ResourceType: r, Own: own[t]}
	}
}

// describe is PingOne's description of an action type: its words in title
// case (USER.CREATED is "User Created", PASSWORD.CHECK_SUCCEEDED
// "Password Check Succeeded").
func describe(t string) string {
	words := strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return r == '.' || r == '_' })
	for i, w := range words {
		switch w {
		case "otp", "mfa", "idp", "saml", "fido":
			words[i] = strings.ToUpper(w)
		default:
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// NewActivity is an activity of type t in envID, successful until the
// caller says otherwise (Failure).
func NewActivity(envID, t string) *store.Activity {
	return &store.Activity{EnvironmentID: envID, ActionType: t, ActionDescription: Actions[t].Description, ResultStatus: ResultSuccess}
}

// Result statuses.
const (
	ResultSuccess = "SUCCESS"
	ResultFailed  = "FAILED"
)

// Failure marks a failed: its result is FAILED, with description why.
func Failure(a *store.Activity, why string) *store.Activity {
	a.ResultStatus, a.ResultDescription = ResultFailed, why
	return a
}

// Actor types.
const (
	ActorClient = "CLIENT"
	ActorUser   = "USER"
)

// ClientActor is the actors.client of an application.
func ClientActor(envID, id, name string) *store.ActivityActor {
	if id == "" {
		return nil
	}
	return &store.ActivityActor{ID: id, Name: name, Type: ActorClient, EnvironmentID: envID}
}

// UserActor is the actors.user of u (nil for nil).
func UserActor(u *store.User) *store.ActivityActor {
	if u == nil {
		return nil
	}
	return &store.ActivityActor{ID: u.ID, Name: u.Username, Type: ActorUser, EnvironmentID: u.EnvironmentID, PopulationID: u.PopulationID}
}

// UserResource is u as an activity's resource.
func UserResource(u *store.User) store.ActivityResource {
	return store.ActivityResource{ID: u.ID, Name: u.Username, Type: ResUser, EnvironmentID: u.EnvironmentID, PopulationID: u.PopulationID}
}

// Or is r, or Nop when r is nil: the Audit fields of the emitting
// services are optional.
func Or(r Recorder) Recorder {
	if r == nil {
		return Nop{}
	}
	return r
}
