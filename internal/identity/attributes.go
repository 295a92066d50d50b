package identity

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Attributes by PingOne path ("email", "name.given", "photo.href"…): what
// identity provider mappings and linked accounts write to users, by
// their update rules.

// AttributeNames are the user attributes a mapping may write.
var AttributeNames = []string{"username", "email", "name.given", "name.family", "externalId",
	"name.middle", "name.formatted", "name.honorificPrefix", "name.honorificSuffix", "nickname", "title",
	"preferredLanguage", "locale", "timezone", "mobilePhone", "primaryPhone", "photo.href"}

// Update rules of a mapped attribute.
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

// writable reports whether a is a value a mapping writes at all: empty
// values and unknown names are skipped, and so is the username unless
// withUsername (a sign-on must not rename the user it signs on).
func writable(a Attribute, withUsername bool) bool {
	return a.Value != "" && (a.Name != "username" || withUsername) && slices.Contains(AttributeNames, a.Name)
}

// CheckAttributes checks the values attrs would write by the rules of
// every user (CheckAttribute), each reported at its attribute's name.
func CheckAttributes(attrs []Attribute, withUsername bool) error {
	var c checker
	for _, a := range attrs {
		if writable(a, withUsername) {
			c.add(CheckAttribute(a.Name, a.Name, a.Value))
		}
	}
	if len(c.details) > 0 {
		return wire.InvalidData(c.details...)
	}
	return nil
}

// ApplyAttributes writes attrs to u: ALWAYS ones that differ, EMPTY_ONLY
// ones the user has no value for (see writable for what is skipped). It
// reports whether anything changed. Only the values it would write are
// checked: one the rules refuse leaves u unchanged and is an INVALID_DATA
// error naming the attribute, while a value that is not written (the
// user keeps their own) does not stop the rest. A stored profile that
// cannot be read is an error too, as a write would lose it.
func ApplyAttributes(u *store.User, attrs []Attribute, withUsername bool) (bool, error) {
	d, err := Decode(u)
	if err != nil {
		return false, err
	}
	next := *u
	var c checker
	changed := false
	for _, a := range attrs {
		if !writable(a, withUsername) {
			continue
		}
		cur := field(&next, &d, a.Name, nil)
		if cur == a.Value || (a.Update != Always && cur != "") {
			continue
		}
		c.add(CheckAttribute(a.Name, a.Name, a.Value))
		v := a.Value
		field(&next, &d, a.Name, &v)
		changed = true
	}
	if len(c.details) > 0 {
		return false, wire.InvalidData(c.details...)
	}
	if changed {
		next.Data = encode(d)
		*u = next
	}
	return changed, nil
}
