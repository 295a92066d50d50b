package identity_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Source of the rows below, unless a row says otherwise: PingOne's page
// "Characters supported in PingOne user attributes",
// https://docs.pingidentity.com/pingone/directory/p1_user_atts_supported_characters.html
// (username: Unicode categories L, M, N, P, S and Z; email: an ASCII set,
// U+0080 and above, quotes under conditions, a domain name after @), and
// for the 1–128 length the Users data model of PingOne's Platform API.

// ruleCase is a value PingOne accepts (ok) or refuses, and why.
type ruleCase struct {
	why, value string
	ok         bool
}

// checkRule runs cases through valid and through CheckAttribute for the
// attribute, which must agree and, refusing, name the attribute.
func checkRule(t *testing.T, attribute string, valid func(string) bool, cases []ruleCase) {
	for _, tc := range cases {
		t.Run(tc.why, func(t *testing.T) {
			if got := valid(tc.value); got != tc.ok {
				t.Errorf("%s %q: valid = %v, want %v", attribute, tc.value, got, tc.ok)
			}
			d := identity.CheckAttribute(attribute, attribute, tc.value)
			if (d == nil) != tc.ok || (d != nil && d.Target != attribute) {
				t.Errorf("CheckAttribute(%s, %q) = %s, want ok %v", attribute, tc.value, detailString(d), tc.ok)
			}
		})
	}
}

func TestUsernames(t *testing.T) {
	checkRule(t, "username", identity.ValidUsername, []ruleCase{
		{"letters", "joe", true},
		{"a space separator (Zs)", "Ada Lovelace", true},
		{"an email address: punctuation and symbols", "joe.smith+tag@example.com", true},
		{"a no-break space (Zs)", "Ada\u00a0Lovelace", true},
		{"line and paragraph separators (Zl, Zp)", "a\u2028b\u2029c", true},
		{"a letter with a combining mark (L, Mn)", "Zoe\u0308", true},
		{"other and modifier letters (Lo, Lm)", "ユーザー", true},
		{"decimal digits of another script (Nd)", "user٣٤", true},
		{"letter and other numbers (Nl, No)", "Ⅻ½", true},
		{"connector, dash and other punctuation (Pc, Pd, Po)", "a_b-c.d!", true},
		{"open, close and quote punctuation (Ps, Pe, Pi, Pf)", "(a)«b»", true},
		{"math, currency, modifier and other symbols (Sm, Sc, Sk, So)", "+€^☃", true},
		{"a symbol beyond the BMP (So)", "joe\U0001F600", true},
		{"128 characters", strings.Repeat("é", 128), true},

		{"empty: 1 character at least", "", false},
		{"white space only", " \u3000 ", false},
		{"129 characters", strings.Repeat("u", 129), false},
		{"a tab (Cc)", "has\ttab", false},
		{"a line feed (Cc)", "two\nlines", false},
		{"DEL (Cc)", "a\x7fb", false},
		{"a C1 control, NEL (Cc)", "a\u0085b", false},
		{"a zero-width space (Cf)", "a\u200bb", false},
		{"a byte order mark (Cf)", "\ufeffjoe", false},
		{"a private-use character (Co)", "a\ue000b", false},
		{"an unassigned code point (Cn)", "a\u0378b", false},
	})
}

func TestEmails(t *testing.T) {
	checkRule(t, "email", identity.ValidEmail, []ruleCase{
		{"letters, digits, a dot and a domain", "joe.smith2@example.com", true},
		{"every listed ASCII symbol", "!#$&'*+/=?^_`{|}~-@example.com", true},
		{"listed symbols RFC 5322 would want quoted", `a(b)<c>[d]:e;f\g,h@example.com`, true},
		{"Unicode from U+0080 in the local part and the domain", "josé@bücher.de", true},
		{"Unicode up to U+FFFF", "用户@例子.广告", true},
		{`a quoted local part ("helloworld"@example.com)`, `"helloworld"@example.com`, true},
		{`a quoted part separated by a period (hello."world"@example.com)`, `hello."world"@example.com`, true},
		{"an @ inside quotes", `"a@b"@example.com`, true},
		{"a subdomain and hyphens", "joe@mail.my-example.co.uk", true},
		// Neither path before these rules refused a single-label domain,
		// and PingOne's page does not ask for a dot.
		{"a single-label domain", "joe@localhost", true},

		{"no @", "not-an-email", false},
		{"nothing before the @", "@example.com", false},
		{"nothing after the @", "joe@", false},
		{"a space: not on the list", "joe smith@example.com", false},
		{"%: not on the list", "joe%smith@example.com", false},
		{"beyond U+FFFF", "joe\U0001F600@example.com", false},
		{"a control character", "joe\t@example.com", false},
		{`quotes after the @ (helloworld@"example".com)`, `helloworld@"example".com`, false},
		{`a quote not after a period (hello"world"@example.com)`, `hello"world"@example.com`, false},
		{`an unpaired quote (helloworld"@example.com)`, `helloworld"@example.com`, false},
		{"a quoted part followed by text", `"hello"world@example.com`, false},
		{"two @ outside quotes", "a@b@example.com", false},
		{"an empty domain label", "joe@example..com", false},
		{"a trailing dot", "joe@example.com.", false},
		{"a label starting with a hyphen", "joe@-example.com", false},
		{"a label ending with a hyphen", "joe@example-.com", false},
		{"an underscore in the domain", "joe@exa_mple.com", false},
		{"a domain literal is not a domain name", "joe@[192.0.2.1]", false},
		{"a label of 64 characters", "joe@" + strings.Repeat("a", 64) + ".com", false},
	})
}

// TestCheckAttribute: the detail each kind of problem gets, at the target
// the caller names.
func TestCheckAttribute(t *testing.T) {
	max := func(n int64) *wire.InnerError { return &wire.InnerError{MaximumValue: &n} }
	cases := []struct {
		target, name, value string
		want                *wire.Detail
	}{
		{"username", "username", "Ada Lovelace", nil},
		{"username", "username", "  ", &wire.Detail{Code: wire.DetailRequiredValue, Target: "username", Message: "A value is required for username."}},
		{"attributes.username.value", "username", strings.Repeat("u", 129),
			&wire.Detail{Code: wire.DetailSizeLimit, Target: "attributes.username.value", Message: "The value is too long.", InnerError: max(128)}},
		{"username", "username", "a\u200bb", &wire.Detail{Code: wire.DetailInvalidValue, Target: "username",
			Message: "A username holds letters, marks, numbers, punctuation, symbols and spaces only (no control or format characters)."}},
		{"email", "email", "", nil},
		{"email", "email", "not-an-email", &wire.Detail{Code: wire.DetailInvalidValue, Target: "email", Message: "The value must be an email address."}},
		{"email", "email", strings.Repeat("a", 250) + "@example.com",
			&wire.Detail{Code: wire.DetailSizeLimit, Target: "email", Message: "The value is too long.", InnerError: max(256)}},
		// The parts of a name, nickname, title and type: PingOne's page
		// gives them the username's characters.
		{"name.given", "name.given", "Zoë Ann", nil},
		{"name.given", "name.given", "Zo\u200dë", &wire.Detail{Code: wire.DetailInvalidValue, Target: "name.given",
			Message: "The value holds letters, marks, numbers, punctuation, symbols and spaces only (no control or format characters)."}},
		{"nickname", "nickname", "J\nJ", &wire.Detail{Code: wire.DetailInvalidValue, Target: "nickname",
			Message: "The value holds letters, marks, numbers, punctuation, symbols and spaces only (no control or format characters)."}},
		// Other text refuses control characters only; a street address
		// may span lines (SCIM's streetAddress).
		{"mobilePhone", "mobilePhone", "+1\t555", &wire.Detail{Code: wire.DetailInvalidValue, Target: "mobilePhone", Message: "The value must not contain control characters."}},
		{"address.streetAddress", "address.streetAddress", "1 Main St\nApt 2", nil},
		{"timezone", "timezone", "America/Los_Angeles", nil},
		{"timezone", "timezone", "Mars/Olympus_Mons", &wire.Detail{Code: wire.DetailInvalidValue, Target: "timezone",
			Message: "The value must be an IANA time zone such as America/Los_Angeles."}},
		{"photo.href", "photo.href", strings.Repeat("h", 2049),
			&wire.Detail{Code: wire.DetailSizeLimit, Target: "photo.href", Message: "The value is too long.", InnerError: max(2048)}},
		{"title", "title", strings.Repeat("t", 257), &wire.Detail{Code: wire.DetailSizeLimit, Target: "title", Message: "The value is too long.", InnerError: max(256)}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" "+tc.value, func(t *testing.T) {
			got := identity.CheckAttribute(tc.target, tc.name, tc.value)
			if !sameDetail(got, tc.want) {
				t.Errorf("CheckAttribute(%q, %q, %q) = %s, want %s", tc.target, tc.name, tc.value, detailString(got), detailString(tc.want))
			}
		})
	}
}

func TestCheckCustomName(t *testing.T) {
	for name, ok := range map[string]bool{"accountId": true, "shirt_size2": true, "employee-number": true, strings.Repeat("a", 256): true,
		"bad name": false, "2fa": false, "_x": false, "-x": false, strings.Repeat("a", 257): false} {
		d := identity.CheckCustomName(name)
		if (d == nil) != ok {
			t.Errorf("CheckCustomName(%q) = %s, want ok %v", name, detailString(d), ok)
		}
		if d != nil && (d.Code != wire.DetailInvalidValue || d.Target != name) {
			t.Errorf("CheckCustomName(%q) = %s", name, detailString(d))
		}
	}
}
