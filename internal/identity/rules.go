package identity

import (
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timezone validation must not depend on the host's zoneinfo
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's rules for the characters of user attributes are those of its
// page "Characters supported in PingOne user attributes"
// (docs.pingidentity.com/pingone/directory/p1_user_atts_supported_characters.html):
// a username, the parts of a name, nickname, title, type and the
// locality, region and postal code of an address hold characters of the
// Unicode general categories L, M, N, P, S and Z only; an email address
// has its own character set and shape (ValidEmail).

// Messages of the rules' details: the same words whichever path refused
// the value.
const (
	msgUsername    = "A username holds letters, marks, numbers, punctuation, symbols and spaces only (no control or format characters)."
	msgText        = "The value holds letters, marks, numbers, punctuation, symbols and spaces only (no control or format characters)."
	msgControl     = "The value must not contain control characters."
	msgEmail       = "The value must be an email address."
	msgTimezone    = "The value must be an IANA time zone such as America/Los_Angeles."
	msgCountryCode = "The value must be a two-letter ISO 3166-1 country code."
	msgCustomName  = "Attribute names start with a letter and hold only letters, digits, hyphens and underscores (at most 256)."
)

var (
	countryCodeRE = regexp.MustCompile(`^[A-Z]{2}$`)
	// customNameRE is what a custom schema attribute may be called:
	// PingOne's rule (a letter, then letters, digits or hyphens, at most 256
	// characters) and the underscore Gatehouse always took.
	customNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,255}$`)
)

// ValidUsername reports whether s is a username PingOne accepts: 1–128
// characters, not all of them white space, each a letter, mark, number,
// punctuation, symbol or separator (so spaces are allowed and control
// and format characters are not).
func ValidUsername(s string) bool {
	return strings.TrimSpace(s) != "" && utf8.RuneCountInString(s) <= MaxUsername && supported(s)
}

// supported reports whether every character of s is in one of the
// general categories PingOne's page lists for usernames and names.
func supported(s string) bool {
	for _, r := range s {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z) {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// emailSymbols are the ASCII symbols PingOne's page allows in an email
// address besides letters and digits (the double quote has rules of its
// own).
const emailSymbols = "!#$&'*.(),<>\\[]:;@+/=?^_`{}|~-"

// emailChar reports whether r may stand in an email address: ASCII
// letters and digits, emailSymbols, and every character from U+0080 to
// U+FFFF. Spaces and % are not on PingOne's list.
func emailChar(r rune) bool {
	switch {
	case r >= 0x80:
		return r <= 0xFFFF
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune(emailSymbols, r)
}

// ValidEmail reports whether s is an email address by PingOne's rules: a
// local part of the characters emailChar allows, an @, and a properly
// formatted domain name. Double quotes may stand only in the local part,
// in pairs, each quoted string a whole dot-separated part of it
// ("hello"@…, hello."world"@…, never hello"world"@…).
func ValidEmail(s string) bool {
	at, quoted, prev := -1, false, rune(0)
	for i, r := range s {
		switch {
		case r == '"' && !quoted:
			if at >= 0 || (prev != 0 && prev != '.') {
				return false
			}
			quoted = true
		case r == '"':
			quoted = false
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); next != '.' && next != '@' {
				return false
			}
		case r == '@' && !quoted:
			if at >= 0 {
				return false
			}
			at = i
		case !emailChar(r):
			return false
		}
		prev = r
	}
	return !quoted && at > 0 && validDomain(s[at+1:])
}

// validDomain reports whether s is a domain name: dot-separated labels of
// 1–63 letters, digits and hyphens (internationalized labels may use any
// letter or digit), no label starting or ending with a hyphen, 253
// characters at most. A single label is a domain name too, as it was for
// every path before these rules.
func validDomain(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		n := utf8.RuneCountInString(label)
		if n == 0 || n > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') ||
				(r >= 0x80 && r <= 0xFFFF && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)))
			if !ok {
				return false
			}
		}
	}
	return true
}

// validTimezone accepts IANA zone names ("America/Los_Angeles", "UTC").
func validTimezone(tz string) bool {
	if tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// rule is how one text attribute is checked: its length, then its
// characters, then (for a non-empty value) its format.
type rule struct {
	max    int
	chars  func(string) bool
	msg    string
	format func(string) bool
	fmtMsg string
}

var (
	pingOneText = rule{max: MaxAttribute, chars: supported, msg: msgText}
	plainText   = rule{max: MaxAttribute, chars: func(s string) bool { return !hasControl(s) }, msg: msgControl}
)

// rules are the text attributes' rules by PingOne path. Attributes the
// page names get its character set; the rest refuse control characters,
// except the street address, which SCIM lets span lines.
var rules = map[string]rule{
	"username":              {max: MaxUsername, chars: supported, msg: msgUsername},
	"email":                 {max: MaxAttribute, format: ValidEmail, fmtMsg: msgEmail},
	"name.formatted":        pingOneText,
	"name.given":            pingOneText,
	"name.middle":           pingOneText,
	"name.family":           pingOneText,
	"name.honorificPrefix":  pingOneText,
	"name.honorificSuffix":  pingOneText,
	"nickname":              pingOneText,
	"title":                 pingOneText,
	"type":                  pingOneText,
	"address.locality":      pingOneText,
	"address.region":        pingOneText,
	"address.postalCode":    pingOneText,
	"address.streetAddress": {max: MaxAttribute},
	"timezone":              {max: MaxAttribute, format: validTimezone, fmtMsg: msgTimezone},
	"photo.href":            {max: MaxHref, chars: plainText.chars, msg: msgControl},
}

// CheckAttribute checks value for the user attribute at PingOne path name
// ("username", "email", "name.given"…) and returns the problem, reported
// at target, or nil. It is the one rule every path applies: the
// management API (target = name), provider mappings and linked accounts.
// An empty value is no value, except for username, which is required.
func CheckAttribute(target, name, value string) *wire.Detail {
	if ds := checkAttribute(target, name, value, true); len(ds) > 0 {
		return &ds[0]
	}
	return nil
}

// checkAttribute is every problem of value for the attribute name: a
// missing username alone, else its length and then its characters or
// (with formats, for a non-empty value) its format.
func checkAttribute(target, name, value string, formats bool) []wire.Detail {
	r, ok := rules[name]
	if !ok {
		r = plainText
	}
	if name == "username" && strings.TrimSpace(value) == "" {
		return []wire.Detail{wire.Required(target)}
	}
	var ds []wire.Detail
	if utf8.RuneCountInString(value) > r.max {
		ds = append(ds, sizeLimit(target, r.max))
	}
	switch {
	case len(ds) > 0 && name == "username":
		// A username has one problem at a time, as it always had.
	case r.chars != nil && !r.chars(value):
		ds = append(ds, wire.InvalidValue(target, r.msg))
	case formats:
		ds = append(ds, checkFormat(target, name, value)...)
	}
	return ds
}

// checkFormat is the problem of a non-empty value whose attribute has a
// format (an email address, a time zone) it does not have.
func checkFormat(target, name, value string) []wire.Detail {
	if r := rules[name]; value != "" && r.format != nil && !r.format(value) {
		return []wire.Detail{wire.InvalidValue(target, r.fmtMsg)}
	}
	return nil
}

// checkCountryCode: ISO 3166-1 alpha-2, as PingOne's user model has it.
func checkCountryCode(target, v string) *wire.Detail {
	if v == "" || countryCodeRE.MatchString(v) {
		return nil
	}
	return &wire.Detail{Code: wire.DetailInvalidValue, Target: target, Message: msgCountryCode,
		InnerError: &wire.InnerError{AllowedPattern: countryCodeRE.String()}}
}

// CheckCustomName checks the name of a custom attribute (a member of a
// user body that is not one of PingOne's).
func CheckCustomName(name string) *wire.Detail {
	if customNameRE.MatchString(name) {
		return nil
	}
	d := wire.InvalidValue(name, msgCustomName)
	return &d
}

func sizeLimit(target string, max int) wire.Detail {
	m := int64(max)
	return wire.Detail{Code: wire.DetailSizeLimit, Target: target, Message: "The value is too long.", InnerError: &wire.InnerError{MaximumValue: &m}}
}
