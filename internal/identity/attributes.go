package identity

import (
	"bytes"
	"context"
	"encoding/json"
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
// reports whether anything changed. Besides the attributes of
// AttributeNames, attrs may name the enabled custom attributes of the
// environment's schema (a STRING attribute takes the value as it is, a
// JSON one the value's JSON). Only the values it would write are
// checked, by the rules of every user and the schema's: one refused
// leaves u unchanged and is an INVALID_DATA error naming the attribute,
// while a value that is not written (the user keeps their own) does not
// stop the rest. A stored profile that cannot be read is an error too, as
// a write would lose it. st may be a transaction: the schema is read in it.
func ApplyAttributes(ctx context.Context, st store.Store, u *store.User, attrs []Attribute, withUsername bool) (bool, error) {
	d, err := Decode(u)
	if err != nil {
		return false, err
	}
	sch, err := LoadSchema(ctx, st, u.EnvironmentID)
	if err != nil {
		return false, err
	}
	old, _ := Decode(u)
	next := *u
	var c checker
	changed := false
	written := map[string]bool{}
	for _, a := range attrs {
		if custom := sch.writableCustom(a); custom != nil {
			if applyCustom(&d, custom, a, &c) {
				changed, written[a.Name] = true, true
			}
			continue
		}
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
		changed, written[a.Name] = true, true
	}
	if changed && len(c.details) == 0 {
		// The schema's rules, reported only at what this write changes:
		// values the user already held are not this write's problem.
		for _, dt := range sch.checkSchema(&next, &d, &old) {
			if written[dt.Target] {
				c.details = append(c.details, dt)
			}
		}
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

// writableCustom is the enabled custom attribute a names, when a holds a
// value for one.
func (s *Schema) writableCustom(a Attribute) *wire.SchemaAttribute {
	if a.Value == "" || slices.Contains(AttributeNames, a.Name) {
		return nil
	}
	sa := s.byName[a.Name]
	if sa == nil || sa.SchemaType != wire.SchemaCustom || !sa.Enabled {
		return nil
	}
	return sa
}

// applyCustom writes a's value to the custom attribute sa by a's update
// rule and reports whether it changed anything.
func applyCustom(d *wire.UserData, sa *wire.SchemaAttribute, a Attribute, c *checker) bool {
	raw := json.RawMessage(a.Value)
	if sa.Type != wire.AttrJSON {
		raw, _ = json.Marshal(a.Value)
	} else if !json.Valid(raw) {
		dt := wire.InvalidValue(a.Name, msgNotObject)
		c.add(&dt)
		return false
	}
	cur, has := d.Custom[a.Name]
	if has && (a.Update != Always || bytes.Equal(cur, raw)) {
		return false
	}
	if d.Custom == nil {
		d.Custom = map[string]json.RawMessage{}
	}
	d.Custom[a.Name] = raw
	return true
}
