package wire

// PingOne's user schema (…/schemas) and its attributes
// (…/schemas/{id}/attributes). An environment has one schema, "User".
// Attributes carry every member PingOne always returns (the flags false,
// not absent); description, displayName, enumeratedValues,
// regexValidation, subAttributes and ldapAttribute only when set.

// Schema types and attribute types (EnumSchemaAttributeSchemaType,
// EnumSchemaAttributeType).
const (
	SchemaCore     = "CORE"
	SchemaStandard = "STANDARD"
	SchemaCustom   = "CUSTOM"

	AttrString  = "STRING"
	AttrJSON    = "JSON"
	AttrBoolean = "BOOLEAN"
	AttrComplex = "COMPLEX"
)

// SchemaEnumeratedValue is one value a STRING attribute may take; an
// archived one stays on the users that have it but may not be given anew.
type SchemaEnumeratedValue struct {
	Value       string `json:"value"`
	Archived    bool   `json:"archived"`
	Description string `json:"description,omitempty"`
}

// SchemaRegexValidation is the regular expression a STRING attribute's
// values match, the requirement in words, and examples either way (which
// PingOne checks against the pattern when the attribute is written).
type SchemaRegexValidation struct {
	Pattern                     string   `json:"pattern"`
	Requirements                string   `json:"requirements"`
	ValuesPatternShouldMatch    []string `json:"valuesPatternShouldMatch,omitempty"`
	ValuesPatternShouldNotMatch []string `json:"valuesPatternShouldNotMatch,omitempty"`
}

// SchemaAttributeRules is what a schema attribute says of its values:
// what the user rules check and what the stored row holds besides the
// attribute's identity.
type SchemaAttributeRules struct {
	DisplayName      string                  `json:"displayName,omitempty"`
	Description      string                  `json:"description,omitempty"`
	Type             string                  `json:"type"`
	Enabled          bool                    `json:"enabled"`
	Required         bool                    `json:"required"`
	Unique           bool                    `json:"unique"`
	MultiValued      bool                    `json:"multiValued"`
	EnumeratedValues []SchemaEnumeratedValue `json:"enumeratedValues,omitempty"`
	RegexValidation  *SchemaRegexValidation  `json:"regexValidation,omitempty"`
}

// SchemaAttribute is the schema attribute resource.
type SchemaAttribute struct {
	Links       Links  `json:"_links,omitempty"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	Name        string `json:"name"`
	SchemaType  string `json:"schemaType"`
	SchemaAttributeRules
	LDAPAttribute string            `json:"ldapAttribute,omitempty"`
	SubAttributes []SchemaAttribute `json:"subAttributes,omitempty"`
	Schema        Ref               `json:"schema"`
}

// SchemaAttributeRequest is a POST, PUT or PATCH body: pointers tell an
// absent member from a zero one. Read-only members the SDK sends back
// (id, schema, schemaType, ldapAttribute, subAttributes, environment,
// _links) are ignored.
type SchemaAttributeRequest struct {
	Name             *string                 `json:"name"`
	DisplayName      *string                 `json:"displayName"`
	Description      *string                 `json:"description"`
	Type             *string                 `json:"type"`
	Enabled          *bool                   `json:"enabled"`
	Required         *bool                   `json:"required"`
	Unique           *bool                   `json:"unique"`
	MultiValued      *bool                   `json:"multiValued"`
	EnumeratedValues []SchemaEnumeratedValue `json:"enumeratedValues"`
	RegexValidation  *SchemaRegexValidation  `json:"regexValidation"`
}

// Schema is the schema resource: the environment's "User" schema.
type Schema struct {
	Links                  Links  `json:"_links,omitempty"`
	ID                     string `json:"id"`
	Environment            Ref    `json:"environment"`
	Name                   string `json:"name"`
	Description            string `json:"description"`
	AllowsContainsOperator bool   `json:"allowsContainsOperator"`
}
