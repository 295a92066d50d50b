package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The user schema: PingOne's core and standard attributes (the same in
// every environment until an administrator changes a standard one's
// mutable flags) and the environment's custom attributes. The store holds
// only what an environment changed; the rest is here.

// SchemaName is the name of an environment's one schema.
const SchemaName = "User"

// Bounds PingOne documents for the user schema ("Schemas", PingOne
// Platform API): 100 custom STRING and 100 custom JSON attributes (200 in
// all), 100 enumerated values an attribute, 1,000 values of a
// multi-valued one, names of at most 256 characters.
const (
	MaxCustomStringAttributes = 100
	MaxCustomJSONAttributes   = 100
	MaxEnumeratedValues       = 100
	MaxMultiValues            = 1000
)

// builtin is a core or standard attribute as PingOne ships it.
type builtin struct {
	name, display, typ, schemaType string
	required, unique               bool
	sub                            []string // a COMPLEX attribute's members
}

// builtins are PingOne's core and standard user attributes in the order
// PingOne lists them.
var builtins = []builtin{
	{name: "account", display: "Account", typ: wire.AttrComplex, schemaType: wire.SchemaCore,
		sub: []string{"canAuthenticate", "lockedAt", "status", "unlockAt"}},
	{name: "address", display: "Address", typ: wire.AttrComplex, schemaType: wire.SchemaStandard,
		sub: []string{"countryCode", "locality", "postalCode", "region", "streetAddress"}},
	{name: "createdAt", display: "Created At", typ: wire.AttrString, schemaType: wire.SchemaCore},
	{name: "email", display: "Email Address", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "enabled", display: "Enabled", typ: wire.AttrBoolean, schemaType: wire.SchemaCore},
	{name: "externalId", display: "External ID", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "id", display: "ID", typ: wire.AttrString, schemaType: wire.SchemaCore, unique: true},
	{name: "identityProvider", display: "Identity Provider", typ: wire.AttrComplex, schemaType: wire.SchemaCore,
		sub: []string{"id", "type"}},
	{name: "lifecycle", display: "Lifecycle", typ: wire.AttrComplex, schemaType: wire.SchemaCore, sub: []string{"status"}},
	{name: "locale", display: "Locale", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "mfaEnabled", display: "MFA Enabled", typ: wire.AttrBoolean, schemaType: wire.SchemaCore},
	{name: "mobilePhone", display: "Mobile Phone", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "name", display: "Name", typ: wire.AttrComplex, schemaType: wire.SchemaStandard,
		sub: []string{"family", "formatted", "given", "honorificPrefix", "honorificSuffix", "middle"}},
	{name: "nickname", display: "Nickname", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "photo", display: "Photo", typ: wire.AttrComplex, schemaType: wire.SchemaStandard, sub: []string{"href"}},
	{name: "population", display: "Population", typ: wire.AttrComplex, schemaType: wire.SchemaCore, required: true, sub: []string{"id"}},
	{name: "preferredLanguage", display: "Preferred Language", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "primaryPhone", display: "Primary Phone", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "timezone", display: "Time Zone", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "title", display: "Title", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "type", display: "Type", typ: wire.AttrString, schemaType: wire.SchemaStandard},
	{name: "updatedAt", display: "Updated At", typ: wire.AttrString, schemaType: wire.SchemaCore},
	{name: "username", display: "Username", typ: wire.AttrString, schemaType: wire.SchemaCore, required: true, unique: true},
	{name: "verifyStatus", display: "Verify Status", typ: wire.AttrString, schemaType: wire.SchemaCore},
}

// schemaNS is the namespace of the ids derived for the schema and its
// built-in attributes: stable per environment, different across them.
var schemaNS = uuid.MustParse("6b0f3f0e-6a36-4c1e-9d1a-2f4c1b7d0e51")

// SchemaID is the id of envID's user schema.
func SchemaID(envID string) string {
	return uuid.NewSHA1(schemaNS, []byte(envID+"/schema")).String()
}

// builtinID is the id of a built-in attribute of envID ("name.given" for
// a member of a COMPLEX one).
func builtinID(envID, name string) string {
	return uuid.NewSHA1(schemaNS, []byte(envID+"/attribute/"+name)).String()
}

// Schema is an environment's user schema as the user rules read it.
type Schema struct {
	ID, EnvironmentID string
	// Attributes are core and standard ones in PingOne's order, then the
	// custom ones by name. Shared by every reader: never modify them.
	Attributes []wire.SchemaAttribute
	byName     map[string]*wire.SchemaAttribute
	regexps    map[string]*regexp.Regexp
}

// Attribute is the attribute named name (as spelled), or nil.
func (s *Schema) Attribute(name string) *wire.SchemaAttribute { return s.byName[name] }

// ByID is the attribute with id, or nil.
func (s *Schema) ByID(id string) *wire.SchemaAttribute {
	for i := range s.Attributes {
		if s.Attributes[i].ID == id {
			return &s.Attributes[i]
		}
	}
	return nil
}

// Custom is how many custom attributes of type typ the schema has.
func (s *Schema) Custom(typ string) int {
	n := 0
	for _, a := range s.Attributes {
		if a.SchemaType == wire.SchemaCustom && a.Type == typ {
			n++
		}
	}
	return n
}

// BuiltinAttribute is the core or standard attribute name of envID as
// PingOne ships it, or nil when name is none of them.
func BuiltinAttribute(envID, name string) *wire.SchemaAttribute {
	for _, b := range builtins {
		if b.name == name {
			a := b.attribute(envID)
			return &a
		}
	}
	return nil
}

func (b builtin) attribute(envID string) wire.SchemaAttribute {
	a := wire.SchemaAttribute{ID: builtinID(envID, b.name), Environment: wire.Ref{ID: envID}, Name: b.name,
		SchemaType: b.schemaType, Schema: wire.Ref{ID: SchemaID(envID)},
		SchemaAttributeRules: wire.SchemaAttributeRules{DisplayName: b.display, Type: b.typ, Enabled: true,
			Required: b.required, Unique: b.unique}}
	for _, s := range b.sub {
		a.SubAttributes = append(a.SubAttributes, wire.SchemaAttribute{ID: builtinID(envID, b.name+"."+s),
			Environment: wire.Ref{ID: envID}, Name: s, SchemaType: b.schemaType, Schema: wire.Ref{ID: SchemaID(envID)},
			SchemaAttributeRules: wire.SchemaAttributeRules{Type: wire.AttrString, Enabled: true}})
	}
	return a
}

// DecodeSchemaAttribute reads a stored attribute in PingOne's shape
// (without links).
func DecodeSchemaAttribute(r *store.SchemaAttribute) (*wire.SchemaAttribute, error) {
	a := &wire.SchemaAttribute{ID: r.ID, Environment: wire.Ref{ID: r.EnvironmentID}, Name: r.Name, SchemaType: r.SchemaType,
		Schema: wire.Ref{ID: SchemaID(r.EnvironmentID)}}
	if err := json.Unmarshal(r.Data, &a.SchemaAttributeRules); err != nil {
		return nil, fmt.Errorf("identity: schema attribute %s: %w", r.ID, err)
	}
	if b := BuiltinAttribute(r.EnvironmentID, r.Name); b != nil && r.SchemaType == wire.SchemaStandard {
		// A changed standard attribute keeps what PingOne ships but its
		// mutable flags.
		rules := a.SchemaAttributeRules
		*a = *b
		a.Enabled, a.Unique, a.RegexValidation = rules.Enabled, rules.Unique, rules.RegexValidation
	}
	return a, nil
}

// NewSchema is envID's schema from its stored attributes (the store's
// ListSchemaAttributes).
func NewSchema(envID string, recs []store.SchemaAttribute) (*Schema, error) {
	s := &Schema{ID: SchemaID(envID), EnvironmentID: envID, byName: map[string]*wire.SchemaAttribute{},
		regexps: map[string]*regexp.Regexp{}}
	changed := map[string]*wire.SchemaAttribute{}
	var custom []wire.SchemaAttribute
	for i := range recs {
		a, err := DecodeSchemaAttribute(&recs[i])
		if err != nil {
			return nil, err
		}
		if a.SchemaType == wire.SchemaCustom {
			custom = append(custom, *a)
		} else {
			changed[a.Name] = a
		}
	}
	for _, b := range builtins {
		if a := changed[b.name]; a != nil {
			s.Attributes = append(s.Attributes, *a)
		} else {
			s.Attributes = append(s.Attributes, b.attribute(envID))
		}
	}
	s.Attributes = append(s.Attributes, custom...)
	for i := range s.Attributes {
		a := &s.Attributes[i]
		s.byName[a.Name] = a
		if rv := a.RegexValidation; rv != nil {
			re, err := CompilePattern(rv.Pattern)
			if err != nil {
				return nil, fmt.Errorf("identity: schema attribute %s: %w", a.ID, err)
			}
			s.regexps[a.Name] = re
		}
	}
	return s, nil
}

// CompilePattern compiles a regexValidation pattern: a value matches when
// the whole of it does, as PingOne's (Java) validation has it.
func CompilePattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + p + `)$`)
}

// LoadSchema reads envID's schema from st (one query). st may be a
// transaction: the user rules read the schema in the transaction that
// writes the user, so a unique attribute made meanwhile is not missed by
// a node whose cache has not heard of it yet.
func LoadSchema(ctx context.Context, st store.Store, envID string) (*Schema, error) {
	recs, err := st.ListSchemaAttributes(ctx, envID)
	if err != nil {
		return nil, err
	}
	return NewSchema(envID, recs)
}

// SchemaAttributes are the attributes of envID's schema a sign-on flow may
// prompt a user for (PROGRESSIVE_PROFILING): the enabled standard and
// custom ones that hold text, JSON or a boolean, with their rules (type,
// required, unique, multiValued, enumeratedValues, regexValidation). The
// members of a COMPLEX standard attribute come as their own attributes,
// named by path ("name.given", "address.locality"). Core attributes are
// not a user's to give.
func SchemaAttributes(ctx context.Context, st store.Store, envID string) ([]wire.SchemaAttribute, error) {
	s, err := LoadSchema(ctx, st, envID)
	if err != nil {
		return nil, err
	}
	return s.Promptable(), nil
}

// Promptable is what SchemaAttributes returns, from s.
func (s *Schema) Promptable() []wire.SchemaAttribute {
	var out []wire.SchemaAttribute
	for _, a := range s.Attributes {
		if !a.Enabled || a.SchemaType == wire.SchemaCore {
			continue
		}
		if a.Type != wire.AttrComplex {
			a.SubAttributes = nil
			out = append(out, a)
			continue
		}
		for _, sub := range a.SubAttributes {
			sub.Name = a.Name + "." + sub.Name
			out = append(out, sub)
		}
	}
	return out
}

// ---- the rules of a user's values

const (
	msgNotInSchema   = "The attribute is not an attribute of the environment's user schema."
	msgNotString     = "The attribute's value must be a string."
	msgNotObject     = "The attribute's value must be a JSON object."
	msgNotBoolean    = "The attribute's value must be a boolean."
	msgNotMulti      = "The attribute takes one value, not an array."
	msgTooManyValues = "A multi-valued attribute holds at most %d values."
	msgNotEnumerated = "The value is not one of the attribute's enumerated values."
	msgRegex         = "The value does not match the attribute's regular expression."
)

// standardText are the standard STRING attributes a user's profile holds,
// the ones enabled, unique and regexValidation apply to.
func standardText(name string) bool {
	switch name {
	case "email", "externalId", "locale", "mobilePhone", "nickname", "preferredLanguage", "primaryPhone", "timezone", "title", "type":
		return true
	}
	return false
}

// standardValue reads (set == nil) or writes a standard STRING attribute.
func standardValue(u *store.User, d *wire.UserData, name string, set *string) string {
	if name == "type" {
		if set != nil {
			d.Type = *set
		}
		return d.Type
	}
	return field(u, d, name, set)
}

// checkSchema checks u's values (its columns, d its profile and custom
// attributes) against s. Custom attributes that are not in the schema
// are refused; those of disabled attributes, custom or standard, are
// dropped, as PingOne ignores them. old is the user's stored profile
// before the write (nil for a new user): an archived enumerated value it
// holds may stay. It returns the problems, and fills u.Unique with the
// values of the unique attributes.
func (s *Schema) checkSchema(u *store.User, d *wire.UserData, old *wire.UserData) []wire.Detail {
	var ds []wire.Detail
	names := make([]string, 0, len(d.Custom))
	for k := range d.Custom {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		a := s.byName[name]
		switch {
		case a == nil || a.SchemaType != wire.SchemaCustom:
			ds = append(ds, wire.InvalidValue(name, msgNotInSchema))
			continue
		case !a.Enabled:
			delete(d.Custom, name)
			continue
		}
		var prior json.RawMessage
		if old != nil {
			prior = old.Custom[name]
		}
		ds = append(ds, s.checkValue(a, d.Custom[name], prior)...)
	}
	unique := []store.UniqueValue{}
	for i := range s.Attributes {
		a := &s.Attributes[i]
		switch {
		case a.SchemaType == wire.SchemaStandard && standardText(a.Name):
			v := standardValue(u, d, a.Name, nil)
			if !a.Enabled {
				if v != "" {
					empty := ""
					standardValue(u, d, a.Name, &empty)
				}
				continue
			}
			if v == "" {
				continue
			}
			if re := s.regexps[a.Name]; re != nil && !re.MatchString(v) {
				ds = append(ds, regexDetail(a))
			}
			if a.Unique {
				unique = append(unique, store.UniqueValue{AttributeID: a.ID, Name: a.Name, Value: strings.ToLower(v)})
			}
		case a.SchemaType == wire.SchemaCustom && a.Enabled:
			raw, ok := d.Custom[a.Name]
			if !ok {
				if a.Required {
					ds = append(ds, wire.Required(a.Name))
				}
				continue
			}
			if a.Unique {
				seen := map[string]bool{}
				for _, v := range stringValues(raw) {
					if k := strings.ToLower(v); !seen[k] {
						seen[k] = true
						unique = append(unique, store.UniqueValue{AttributeID: a.ID, Name: a.Name, Value: k})
					}
				}
			}
		}
	}
	u.Unique = unique
	return ds
}

// checkValue is every problem of raw as a value of a: its type and
// arity, then its enumerated values or regular expression. prior is the
// user's value before the write, whose archived values may stay.
func (s *Schema) checkValue(a *wire.SchemaAttribute, raw, prior json.RawMessage) []wire.Detail {
	var values []json.RawMessage
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "[") {
		if !a.MultiValued {
			return []wire.Detail{wire.InvalidValue(a.Name, msgNotMulti)}
		}
		if err := json.Unmarshal(raw, &values); err != nil {
			return []wire.Detail{wire.InvalidValue(a.Name, "The value is not valid JSON.")}
		}
		if len(values) > MaxMultiValues {
			limit := int64(MaxMultiValues)
			return []wire.Detail{{Code: wire.DetailSizeLimit, Target: a.Name, Message: fmt.Sprintf(msgTooManyValues, MaxMultiValues),
				InnerError: &wire.InnerError{MaximumValue: &limit}}}
		}
	} else {
		values = []json.RawMessage{raw}
	}
	kept := map[string]bool{}
	for _, v := range stringValues(prior) {
		kept[v] = true
	}
	for _, v := range values {
		switch a.Type {
		case wire.AttrJSON:
			var obj map[string]json.RawMessage
			if json.Unmarshal(v, &obj) != nil || obj == nil {
				return []wire.Detail{wire.InvalidValue(a.Name, msgNotObject)}
			}
		case wire.AttrBoolean:
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return []wire.Detail{wire.InvalidValue(a.Name, msgNotBoolean)}
			}
		default:
			var str string
			if json.Unmarshal(v, &str) != nil {
				return []wire.Detail{wire.InvalidValue(a.Name, msgNotString)}
			}
			if len(a.EnumeratedValues) > 0 && !enumerated(a, str, kept[str]) {
				return []wire.Detail{enumDetail(a)}
			}
			if re := s.regexps[a.Name]; re != nil && !re.MatchString(str) {
				return []wire.Detail{regexDetail(a)}
			}
		}
	}
	return nil
}

// enumerated reports whether v is one of a's values: one not archived,
// or an archived one the user already holds.
func enumerated(a *wire.SchemaAttribute, v string, held bool) bool {
	for _, e := range a.EnumeratedValues {
		if e.Value == v {
			return !e.Archived || held
		}
	}
	return false
}

func enumDetail(a *wire.SchemaAttribute) wire.Detail {
	var allowed []string
	for _, e := range a.EnumeratedValues {
		if !e.Archived {
			allowed = append(allowed, e.Value)
		}
	}
	return wire.Detail{Code: wire.DetailInvalidValue, Target: a.Name, Message: msgNotEnumerated,
		InnerError: &wire.InnerError{AllowedValues: allowed}}
}

func regexDetail(a *wire.SchemaAttribute) wire.Detail {
	msg := msgRegex
	if r := a.RegexValidation.Requirements; r != "" {
		msg = r
	}
	return wire.Detail{Code: wire.DetailInvalidValue, Target: a.Name, Message: msg,
		InnerError: &wire.InnerError{AllowedPattern: a.RegexValidation.Pattern}}
}

// UniqueValuesOf are the values u holds of the STRING attribute a, as
// its uniqueness compares them (without regard to case), each once.
func UniqueValuesOf(a *wire.SchemaAttribute, u *store.User) []string {
	d, err := Decode(u)
	if err != nil {
		return nil
	}
	var vs []string
	if a.SchemaType == wire.SchemaCustom {
		vs = stringValues(d.Custom[a.Name])
	} else if standardText(a.Name) {
		if v := standardValue(u, &d, a.Name, nil); v != "" {
			vs = []string{v}
		}
	}
	seen := map[string]bool{}
	out := vs[:0]
	for _, v := range vs {
		if k := strings.ToLower(v); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// stringValues are the strings of a STRING attribute's value: one, or
// each of an array's.
func stringValues(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}
