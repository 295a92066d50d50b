package wire

// The PROGRESSIVE_PROFILING and AGREEMENT sign-on policy actions in flows
// (internal/flow/methods/profile and internal/flow/methods/agreement).
//
// PROFILE_DATA_REQUIRED asks a signed-on user for the action's attributes
// they have no value for: _embedded.promptText and _embedded.attributes
// ({name, displayName, required}, as PingOne's own sample sign-on pages
// read them); user.update takes the values in the user resource's shape
// ({"mobilePhone": "…", "name": {"given": "…"}}), and an empty body
// skips the optional ones. AGREEMENT_CONSENT_REQUIRED shows the current
// revision of the action's agreement in the user's language
// (_embedded.agreement); user.consent takes {"accept": true|false}, and
// a refusal fails the flow.
const (
	StatusProfileDataRequired      = "PROFILE_DATA_REQUIRED"
	StatusAgreementConsentRequired = "AGREEMENT_CONSENT_REQUIRED"

	ActionUserUpdate  = "user.update"
	ActionUserConsent = "user.consent"
)

// FlowProfileAttribute is one attribute PROFILE_DATA_REQUIRED asks for:
// its path in the user resource, the name the user reads (the schema's
// displayName), whether the flow can go on without it, and the values the
// schema allows when it lists them (a Gatehouse addition).
type FlowProfileAttribute struct {
	Name             string   `json:"name"`
	DisplayName      string   `json:"displayName"`
	Required         bool     `json:"required"`
	EnumeratedValues []string `json:"enumeratedValues,omitempty"`
}

// FlowAgreement is the agreement AGREEMENT_CONSENT_REQUIRED asks the
// user to accept: the agreement, the language picked for the user, and
// the revision in force with its text. DeclineAllowed is false when the
// action's disableDeclineOption is set.
type FlowAgreement struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	Language       Ref    `json:"language"`
	Locale         string `json:"locale,omitempty"`
	Revision       Ref    `json:"revision"`
	ContentType    string `json:"contentType"`
	Text           string `json:"text"`
	DeclineAllowed bool   `json:"declineAllowed"`
}
