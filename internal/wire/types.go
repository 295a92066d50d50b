package wire

// PingOne management API shapes. Response types carry every field PingOne
// returns; request types use pointers so that "absent" and "zero" differ
// (PUT replaces, and required fields must be told apart from empty ones).
// Read-only fields a client echoes back (id, _links, createdAt…) are simply
// not part of the request types, so they are ignored, as PingOne does.

type Organization struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

type LicenseEnvironments struct {
	AllowProduction   bool     `json:"allowProduction"`
	AllowCustomDomain bool     `json:"allowCustomDomain"`
	Max               int      `json:"max"`
	Regions           []string `json:"regions"`
}

type License struct {
	Links                     Links               `json:"_links"`
	ID                        string              `json:"id"`
	Name                      string              `json:"name"`
	Package                   string              `json:"package"`
	Status                    string              `json:"status"`
	Organization              Ref                 `json:"organization"`
	BeginsAt                  Time                `json:"beginsAt"`
	AssignedEnvironmentsCount *int                `json:"assignedEnvironmentsCount,omitempty"`
	Environments              LicenseEnvironments `json:"environments"`
}

type Bookmark struct {
	Name string `json:"name"`
	Href string `json:"href"`
}

type Product struct {
	ID          string     `json:"id,omitempty"`
	Type        string     `json:"type"`
	Description string     `json:"description,omitempty"`
	Console     *Href      `json:"console,omitempty"`
	Bookmarks   []Bookmark `json:"bookmarks,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
}

type BillOfMaterials struct {
	Links        Links     `json:"_links,omitempty"`
	SolutionType string    `json:"solutionType,omitempty"`
	Products     []Product `json:"products"`
	CreatedAt    *Time     `json:"createdAt,omitempty"`
	UpdatedAt    *Time     `json:"updatedAt,omitempty"`
}

type Environment struct {
	Links           Links            `json:"_links"`
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Description     string           `json:"description,omitempty"`
	Organization    Ref              `json:"organization"`
	Type            string           `json:"type"`
	Region          string           `json:"region"`
	License         Ref              `json:"license"`
	Icon            string           `json:"icon,omitempty"`
	CreatedAt       Time             `json:"createdAt"`
	UpdatedAt       Time             `json:"updatedAt"`
	BillOfMaterials *BillOfMaterials `json:"billOfMaterials,omitempty"`
}

type EnvironmentRequest struct {
	Name            *string          `json:"name"`
	Description     *string          `json:"description"`
	Type            *string          `json:"type"`
	Region          *string          `json:"region"`
	License         *Ref             `json:"license"`
	Icon            *string          `json:"icon"`
	BillOfMaterials *BillOfMaterials `json:"billOfMaterials"`
}

type EnvironmentTypeRequest struct {
	Type *string `json:"type"`
}

// Population is a population as the API answers it. PingOne gives every
// population a theme: the one it names, or its environment's default theme
// (theme and _links.theme follow the default when it moves). passwordPolicy
// is there only when the population names one: PingOne's Terraform provider
// reads it as set or null, with no default to compute.
type Population struct {
	Links                  Links    `json:"_links"`
	ID                     string   `json:"id"`
	Environment            Ref      `json:"environment"`
	Name                   string   `json:"name"`
	Description            string   `json:"description,omitempty"`
	UserCount              int      `json:"userCount"`
	CreatedAt              Time     `json:"createdAt"`
	UpdatedAt              Time     `json:"updatedAt"`
	PreferredLanguage      string   `json:"preferredLanguage,omitempty"`
	Theme                  *Ref     `json:"theme,omitempty"`
	PasswordPolicy         *Ref     `json:"passwordPolicy,omitempty"`
	AlternativeIdentifiers []string `json:"alternativeIdentifiers,omitempty"`
	Default                bool     `json:"default"`
}

type PopulationRequest struct {
	Name                   *string  `json:"name"`
	Description            *string  `json:"description"`
	Default                *bool    `json:"default"`
	PasswordPolicy         *Ref     `json:"passwordPolicy"`
	Theme                  *Ref     `json:"theme"`
	PreferredLanguage      *string  `json:"preferredLanguage"`
	AlternativeIdentifiers []string `json:"alternativeIdentifiers"`
}

// PopulationData is the long tail of a population kept in its JSON column.
// (Rows written before themes existed may hold a "theme" member: it named
// no theme, and is not read.)
type PopulationData struct {
	PreferredLanguage      string   `json:"preferredLanguage,omitempty"`
	AlternativeIdentifiers []string `json:"alternativeIdentifiers,omitempty"`
}

// EnvironmentData is the long tail of an environment kept in its JSON column.
type EnvironmentData struct {
	Icon            string           `json:"icon,omitempty"`
	BillOfMaterials *BillOfMaterials `json:"billOfMaterials,omitempty"`
	// Branding rides along so that rewriting icon or billOfMaterials keeps it.
	Branding *BrandingSettings `json:"branding,omitempty"`
	// Sessions are the session settings (sessions.go); absent: defaults.
	Sessions *SessionSettings `json:"sessions,omitempty"`
}
