package identity

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Progressive profiling (the PROGRESSIVE_PROFILING sign-on action) asks a
// signed-on user for attributes they have no value for. PingOne lets it
// ask for standard and custom string attributes, nested ones included
// (name.family), but not core ones (username, the ids) nor JSON ones.

// profileDisplayNames are the standard attributes a progressive profiling
// action may ask for, with the names PingOne's schema gives them.
var profileDisplayNames = map[string]string{
	"email":                "Email Address",
	"name.given":           "Given Name",
	"name.family":          "Family Name",
	"name.middle":          "Middle Name",
	"name.formatted":       "Formatted Name",
	"name.honorificPrefix": "Honorific Prefix",
	"name.honorificSuffix": "Honorific Suffix",
	"nickname":             "Nickname",
	"title":                "Title",
	"preferredLanguage":    "Preferred Language",
	"locale":               "Locale",
	"timezone":             "Time Zone",
	"mobilePhone":          "Mobile Phone",
	"primaryPhone":         "Primary Phone",
	"photo.href":           "Photo URL",
	"externalId":           "External ID",
}

// Promptable reports whether a progressive profiling action may ask for
// the standard attribute name.
func Promptable(name string) bool {
	_, ok := profileDisplayNames[name]
	return ok && slices.Contains(AttributeNames, name)
}

// PromptableNames are the standard attributes Promptable accepts, in
// AttributeNames' order (for error messages).
func PromptableNames() []string {
	var out []string
	for _, n := range AttributeNames {
		if Promptable(n) {
			out = append(out, n)
		}
	}
	return out
}

// DisplayName is the name a user reads for the standard attribute name
// (name itself when it has none).
func DisplayName(name string) string {
	if d, ok := profileDisplayNames[name]; ok {
		return d
	}
	return name
}

// Value is u's value of the standard attribute name ("" when it has
// none); a stored profile that cannot be read is an error.
func Value(u *store.User, name string) (string, error) {
	d, err := Decode(u)
	if err != nil {
		return "", err
	}
	return field(u, &d, name, nil), nil
}
