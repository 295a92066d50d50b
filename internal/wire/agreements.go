package wire

// PingOne's agreements (…/agreements), their languages
// (…/agreements/{id}/languages), revisions (…/languages/{id}/revisions)
// and users' consents (…/users/{id}/agreementConsents). Responses carry
// every member PingOne always returns; description, reconsentPeriodDays,
// userExperience and its texts, currentRevision and notValidAfter only
// when they have a value, as PingOne omits them and the Terraform
// provider holds them optional.

// AgreementData is what an agreement holds besides its identity, name
// and enabled flag: stored as one JSON document.
type AgreementData struct {
	Description         string   `json:"description,omitempty"`
	ReconsentPeriodDays *float64 `json:"reconsentPeriodDays,omitempty"`
}

// Agreement is …/agreements/{id}. The consent counts are PingOne's
// aggregates: Gatehouse counts them when it reads the agreement, and
// consentsAggregatedAt is the time of the latest consent event the counts
// reflect (the agreement's creation when there is none).
type Agreement struct {
	Links       Links  `json:"_links,omitempty"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	AgreementData
	TotalConsents        int   `json:"totalConsents"`
	TotalExpiredConsents int   `json:"totalExpiredConsents"`
	ConsentsAggregatedAt *Time `json:"consentsAggregatedAt,omitempty"`
}

// AgreementRequest is the body of a POST or PUT of an agreement; what
// PingOne computes (id, counts, links) is ignored when sent back.
type AgreementRequest struct {
	Name                *string  `json:"name"`
	Enabled             *Bool    `json:"enabled"`
	Description         *string  `json:"description"`
	ReconsentPeriodDays *float64 `json:"reconsentPeriodDays"`
}

// AgreementUserExperience are the texts of the consent screen's
// controls in one language.
type AgreementUserExperience struct {
	AcceptCheckboxText string `json:"acceptCheckboxText,omitempty"`
	ContinueButtonText string `json:"continueButtonText,omitempty"`
	DeclineButtonText  string `json:"declineButtonText,omitempty"`
}

// AgreementLanguageData is what a language holds besides its identity,
// locale and enabled flag.
type AgreementLanguageData struct {
	DisplayName    string                   `json:"displayName"`
	UserExperience *AgreementUserExperience `json:"userExperience,omitempty"`
}

// AgreementLanguage is …/agreements/{id}/languages/{id}. CurrentRevision
// is the revision shown for new consents now: the latest effective one.
type AgreementLanguage struct {
	Links     Links  `json:"_links,omitempty"`
	ID        string `json:"id"`
	Agreement Ref    `json:"agreement"`
	Locale    string `json:"locale"`
	Enabled   bool   `json:"enabled"`
	AgreementLanguageData
	CurrentRevision *Ref `json:"currentRevision,omitempty"`
}

// AgreementLanguageRequest is the body of a POST or PUT of a language.
type AgreementLanguageRequest struct {
	Locale         *string                  `json:"locale"`
	DisplayName    *string                  `json:"displayName"`
	Enabled        *Bool                    `json:"enabled"`
	UserExperience *AgreementUserExperience `json:"userExperience"`
}

// AgreementRevision is …/languages/{id}/revisions/{id}. Its text is not
// in it (PingOne's responses leave it out): _links.text reads it.
type AgreementRevision struct {
	Links            Links  `json:"_links,omitempty"`
	ID               string `json:"id"`
	Agreement        Ref    `json:"agreement"`
	Language         Ref    `json:"language"`
	ContentType      string `json:"contentType"`
	EffectiveAt      Time   `json:"effectiveAt"`
	RequireReconsent bool   `json:"requireReconsent"`
	NotValidAfter    *Time  `json:"notValidAfter,omitempty"`
}

// AgreementRevisionRequest is the body of a POST of a revision.
type AgreementRevisionRequest struct {
	ContentType      *string `json:"contentType"`
	EffectiveAt      *Time   `json:"effectiveAt"`
	RequireReconsent *Bool   `json:"requireReconsent"`
	Text             *string `json:"text"`
}

// AgreementRevisionText is what a revision's _links.text answers (the
// SDK's AgreementRevisionText): the text and its content type.
type AgreementRevisionText struct {
	Links    Links  `json:"_links,omitempty"`
	Data     string `json:"data"`
	DataType string `json:"dataType"`
}

// Agreement consent statuses.
const (
	ConsentAccepted          = "ACCEPTED"
	ConsentPending           = "PENDING"
	ConsentExpired           = "EXPIRED"
	ConsentAgreementDisabled = "AGREEMENT_DISABLED"
)

// AgreementLastConsent is the user's latest consent to an agreement.
type AgreementLastConsent struct {
	At        Time  `json:"at"`
	ExpiresAt *Time `json:"expiresAt,omitempty"`
	Language  Ref   `json:"language"`
	Revision  Ref   `json:"revision"`
}

// AgreementConsent is …/users/{id}/agreementConsents/{agreementId}: the
// user's consent state for one agreement. Language (and Revision) are
// those consented to when the status is ACCEPTED, else those the user
// would be asked to consent to now.
type AgreementConsent struct {
	Links       Links                 `json:"_links,omitempty"`
	Environment Ref                   `json:"environment"`
	User        Ref                   `json:"user"`
	Agreement   Ref                   `json:"agreement"`
	Language    *Ref                  `json:"language,omitempty"`
	Revision    *Ref                  `json:"revision,omitempty"`
	Status      string                `json:"status"`
	LastConsent *AgreementLastConsent `json:"lastConsent,omitempty"`
}
