// Package userattr reads and writes a user's attributes by their PingOne
// path ("email", "name.given", "photo.href"…): what identity provider
// mappings and linked accounts may set, and the update rules they set
// them by.
package userattr

import (
	"encoding/json"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Names are the user attributes a mapping may write.
var Names = []string{"username", "email", "name.given", "name.family", "externalId",
	"name.middle", "name.formatted", "name.honorificPrefix", "name.honorificSuffix", "nickname", "title",
	"preferredLanguage", "locale", "timezone", "mobilePhone", "primaryPhone", "photo.href"}

// Update policies.
const (
	EmptyOnly = "EMPTY_ONLY"
	Always    = "ALWAYS"
)

// Attribute is a value for a user attribute and the rule for writing it.
type Attribute struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Update string `json:"update"` // EMPTY_ONLY | ALWAYS
}

// field returns the user's value of a writable attribute; set writes it.
// Profile attributes live in the user's JSON column.
func field(u *store.User, d *wire.UserData, name string, set *string) string {
	var p *string
	switch name {
	case "username":
		p = &u.Username
	case "email":
		p = &u.Email
	case "name.given":
		p = &u.GivenName
	case "name.family":
		p = &u.FamilyName
	case "externalId":
		p = &u.ExternalID
	case "nickname":
		p = &d.Nickname
	case "title":
		p = &d.Title
	case "preferredLanguage":
		p = &d.PreferredLanguage
	case "locale":
		p = &d.Locale
	case "timezone":
		p = &d.Timezone
	case "mobilePhone":
		p = &d.MobilePhone
	case "primaryPhone":
		p = &d.PrimaryPhone
	case "photo.href":
		if d.Photo == nil {
			if set == nil {
				return ""
			}
			d.Photo = &wire.UserPhoto{}
		}
		p = &d.Photo.Href
	case "name.middle", "name.formatted", "name.honorificPrefix", "name.honorificSuffix":
		if d.Name == nil {
			if set == nil {
				return ""
			}
			d.Name = &wire.UserName{}
		}
		switch name {
		case "name.middle":
			p = &d.Name.Middle
		case "name.formatted":
			p = &d.Name.Formatted
		case "name.honorificPrefix":
			p = &d.Name.HonorificPrefix
		default:
			p = &d.Name.HonorificSuffix
		}
	default:
		return ""
	}
	if set != nil {
		*p = *set
	}
	return *p
}

// Apply writes attrs to u: ALWAYS ones that differ, EMPTY_ONLY ones the
// user has no value for; empty values and unknown names are skipped, and
// so is the username unless withUsername (a sign-on must not rename the
// user it signs on). It reports whether anything changed.
func Apply(u *store.User, attrs []Attribute, withUsername bool) bool {
	var d wire.UserData
	_ = json.Unmarshal(u.Data, &d)
	changed := false
	for _, a := range attrs {
		if a.Value == "" || (a.Name == "username" && !withUsername) || !slices.Contains(Names, a.Name) {
			continue
		}
		cur := field(u, &d, a.Name, nil)
		if cur == a.Value || (a.Update != Always && cur != "") {
			continue
		}
		v := a.Value
		field(u, &d, a.Name, &v)
		changed = true
	}
	if changed {
		u.Data, _ = json.Marshal(d)
	}
	return changed
}
