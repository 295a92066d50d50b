package sqlstore

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/scim"
)

// compileString parses and compiles filter, as a List call given the parsed
// filter would.
func (s *filterSchema) compileString(filter string) (string, []any, error) {
	e, err := scim.Parse(filter)
	if err != nil {
		return "", nil, err
	}
	return s.compile(e)
}

func wantError(t *testing.T, err error, substr string) {
	t.Helper()
	if se := (*scim.Error)(nil); !errors.As(err, &se) || !strings.Contains(se.Message, substr) {
		t.Fatalf("error %v (%T), want a *scim.Error containing %q", err, err, substr)
	}
}

var groupTemplate = "EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND %s)"

var userSchema = &filterSchema{
	attrs: map[string]filterAttr{
		"id":             {column: "u.id"},
		"username":       {column: "u.username_lc", fold: true},
		"email":          {column: "u.email"},
		"name.given":     {column: "u.given_name"},
		"enabled":        {column: "u.enabled", kind: boolAttr},
		"loginCount":     {column: "u.login_count", kind: numberAttr},
		"createdAt":      {column: "u.created_at", kind: timeAttr},
		"population.id":  {column: "u.population_id", ops: []string{"eq", "ne"}},
		"account.status": {column: "u.account_status", ops: []string{"eq", "ne", "pr"}},
		// Ops lists an operator the kind cannot compile; it must not be offered.
		"mfaEnabled": {column: "u.mfa_enabled", kind: boolAttr, ops: []string{"eq", "gt"}},
	},
	valuePaths: map[string]valuePathSchema{
		"memberOfGroups": {
			template: groupTemplate,
			inner: &filterSchema{attrs: map[string]filterAttr{
				"id": {column: "gm.group_id", ops: []string{"eq", "ne"}},
			}},
		},
	},
}

var allUserAttributes = []string{
	"account.status", "createdAt", "email", "enabled", "id", "loginCount",
	"memberOfGroups", "mfaEnabled", "name.given", "population.id", "username",
}

func TestCompile(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	group := func(inner string) string {
		return "(" + strings.Replace(groupTemplate, "%s", inner, 1) + ")"
	}
	tests := []struct {
		in   string
		sql  string
		args []any
	}{
		// String.
		{`id eq "x"`, `u.id = ?`, []any{"x"}},
		{`ID Eq "x"`, `u.id = ?`, []any{"x"}},
		{`id ne "x"`, `(u.id IS NULL OR u.id <> ?)`, []any{"x"}},
		{`email gt "b"`, `u.email > ?`, []any{"b"}},
		{`email ge "b"`, `u.email >= ?`, []any{"b"}},
		{`email lt "b"`, `u.email < ?`, []any{"b"}},
		{`email le "b"`, `u.email <= ?`, []any{"b"}},
		{`email eq "A@B.c"`, `u.email = ?`, []any{"A@B.c"}},
		{`name.given co "ann"`, `u.given_name LIKE ? ESCAPE '\'`, []any{"%ann%"}},
		{`NAME.GIVEN co "ann"`, `u.given_name LIKE ? ESCAPE '\'`, []any{"%ann%"}},
		{`email co "50%_off\\"`, `u.email LIKE ? ESCAPE '\'`, []any{`%50\%\_off\\%`}},
		{`email ew "@x.com"`, `u.email LIKE ? ESCAPE '\'`, []any{"%@x.com"}},
		{`email ew "_"`, `u.email LIKE ? ESCAPE '\'`, []any{`%\_`}},
		{`email co ""`, `u.email LIKE ? ESCAPE '\'`, []any{"%%"}},
		{`email pr`, `(u.email IS NOT NULL AND u.email <> '')`, nil},
		{`email eq null`, `u.email IS NULL`, nil},
		{`email ne null`, `u.email IS NOT NULL`, nil},

		// sw compiles to an index-friendly range.
		{`email sw "al"`, `(u.email >= ? AND u.email < ?)`, []any{"al", "am"}},
		{`email sw "é"`, `(u.email >= ? AND u.email < ?)`, []any{"é", "ê"}},
		{`email sw "a~"`, `(u.email >= ? AND u.email < ?)`, []any{"a~", "a\x7f"}},
		{`email sw ""`, `u.email IS NOT NULL`, nil},
		{"email sw \"a\U0010FFFF\"", `(u.email >= ? AND u.email < ?)`, []any{"a\U0010FFFF", "b"}},
		{"email sw \"a\U0010FFFF\U0010FFFF\"", `(u.email >= ? AND u.email < ?)`, []any{"a\U0010FFFF\U0010FFFF", "b"}},
		{"email sw \"\U0010FFFF\U0010FFFF\"", `u.email >= ?`, []any{"\U0010FFFF\U0010FFFF"}},
		{"email sw \"a\uD7FF\"", `(u.email >= ? AND u.email < ?)`, []any{"a\uD7FF", "a\uE000"}},
		{`email sw "x%_"`, `(u.email >= ? AND u.email < ?)`, []any{"x%_", "x%`"}},

		// Fold lower-cases the value for every operator.
		{`username eq "Alice"`, `u.username_lc = ?`, []any{"alice"}},
		{`USERNAME sw "AL"`, `(u.username_lc >= ? AND u.username_lc < ?)`, []any{"al", "am"}},
		{`username co "ÀB"`, `u.username_lc LIKE ? ESCAPE '\'`, []any{"%àb%"}},
		{`username ne "X"`, `(u.username_lc IS NULL OR u.username_lc <> ?)`, []any{"x"}},

		// Bool.
		{`enabled eq true`, `u.enabled = ?`, []any{true}},
		{`enabled ne false`, `u.enabled <> ?`, []any{false}},
		{`enabled pr`, `u.enabled IS NOT NULL`, nil},
		{`enabled eq null`, `u.enabled IS NULL`, nil},
		{`mfaEnabled eq true`, `u.mfa_enabled = ?`, []any{true}},

		// Number.
		{`loginCount gt 5`, `u.login_count > ?`, []any{int64(5)}},
		{`loginCount ge -2`, `u.login_count >= ?`, []any{int64(-2)}},
		{`loginCount lt 1.5`, `u.login_count < ?`, []any{1.5}},
		{`loginCount le 1e2`, `u.login_count <= ?`, []any{int64(100)}},
		{`loginCount eq -0`, `u.login_count = ?`, []any{int64(0)}},
		{`loginCount eq 1e19`, `u.login_count = ?`, []any{1e19}},
		{`loginCount ne 3`, `(u.login_count IS NULL OR u.login_count <> ?)`, []any{int64(3)}},
		{`loginCount pr`, `u.login_count IS NOT NULL`, nil},

		// Time.
		{`createdAt gt "2024-01-02T03:04:05.000Z"`, `u.created_at > ?`, []any{ts}},
		{`createdAt ge "2024-01-02T03:04:05Z"`, `u.created_at >= ?`, []any{ts}},
		{`createdAt lt "2024-01-02T05:04:05+02:00"`, `u.created_at < ?`, []any{ts}},
		{`createdAt le "2024-01-02T03:04:05.123456789Z"`, `u.created_at <= ?`, []any{ts.Add(123456789)}},
		{`createdAt eq "2024-01-02T03:04:05Z"`, `u.created_at = ?`, []any{ts}},
		{`createdAt ne "2024-01-02T03:04:05Z"`, `(u.created_at IS NULL OR u.created_at <> ?)`, []any{ts}},
		{`createdAt eq null`, `u.created_at IS NULL`, nil},

		// Restricted operator lists still allow what they list.
		{`population.id eq "p"`, `u.population_id = ?`, []any{"p"}},
		{`account.status eq "LOCKED"`, `u.account_status = ?`, []any{"LOCKED"}},
		{`account.status pr`, `(u.account_status IS NOT NULL AND u.account_status <> '')`, nil},

		// Logical operators and precedence.
		{`id eq "a" and email eq "b"`, `(u.id = ? AND u.email = ?)`, []any{"a", "b"}},
		{`((id eq "x") OR (id eq "y"))`, `(u.id = ? OR u.id = ?)`, []any{"x", "y"}},
		{`id eq "1" or id eq "2" and id eq "3"`, `(u.id = ? OR (u.id = ? AND u.id = ?))`, []any{"1", "2", "3"}},
		{`not (id eq "x")`, `(NOT (u.id = ?))`, []any{"x"}},
		{`not (id ne "x")`, `(NOT (u.id IS NULL OR u.id <> ?))`, []any{"x"}},
		{`not (id eq "x" or email pr)`, `(NOT (u.id = ? OR (u.email IS NOT NULL AND u.email <> '')))`, []any{"x"}},
		{`id eq "a" and not (email sw "b") or enabled eq true`,
			`((u.id = ? AND (NOT (u.email >= ? AND u.email < ?))) OR u.enabled = ?)`, []any{"a", "b", "c", true}},

		// Value paths.
		{`memberOfGroups[id eq "g1"]`, group(`gm.group_id = ?`), []any{"g1"}},
		{`MEMBEROFGROUPS[ID eq "g1" or id ne "g2"]`, group(`(gm.group_id = ? OR (gm.group_id IS NULL OR gm.group_id <> ?))`), []any{"g1", "g2"}},
		{`not (memberOfGroups[id eq "g"])`, `(NOT ` + group(`gm.group_id = ?`) + `)`, []any{"g"}},
		{`email eq "a" or memberOfGroups[id eq "g"] and username sw "B"`,
			`(u.email = ? OR (` + group(`gm.group_id = ?`) + ` AND (u.username_lc >= ? AND u.username_lc < ?)))`,
			[]any{"a", "g", "b", "c"}},
	}
	for _, tc := range tests {
		sql, args, err := userSchema.compileString(tc.in)
		if err != nil {
			t.Errorf("CompileString(%q): unexpected error %v", tc.in, err)
			continue
		}
		if sql != tc.sql {
			t.Errorf("CompileString(%q) sql =\n  %s\nwant\n  %s", tc.in, sql, tc.sql)
		}
		if len(args) != 0 || len(tc.args) != 0 {
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("CompileString(%q) args = %#v, want %#v", tc.in, args, tc.args)
			}
		}
		if n := strings.Count(sql, "?"); n != len(args) {
			t.Errorf("CompileString(%q): %d placeholders but %d args", tc.in, n, len(args))
		}
	}
}

func TestCompileTimeArgIsUTC(t *testing.T) {
	_, args, err := userSchema.compileString(`createdAt lt "2024-01-02T05:04:05+02:00"`)
	if err != nil {
		t.Fatal(err)
	}
	if loc := args[0].(time.Time).Location(); loc != time.UTC {
		t.Errorf("location = %v, want UTC", loc)
	}
}

func TestCompileErrors(t *testing.T) {
	all := []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
	scalar := []string{"eq", "ne", "gt", "ge", "lt", "le", "pr"}
	tests := []struct {
		in        string
		msg       string
		supAttrs  []string
		supOpsSet []string
	}{
		{`foo eq "x"`, `Unsupported attribute "foo" in filter`, allUserAttributes, nil},
		{`name eq "x"`, `Unsupported attribute "name" in filter`, allUserAttributes, nil},
		{`foo[id eq "x"]`, `Unsupported attribute "foo" in filter`, allUserAttributes, nil},
		{`email[id eq "x"]`, `Unsupported attribute "email" in filter`, allUserAttributes, nil},
		{`memberOfGroups eq "x"`, `Unsupported attribute "memberOfGroups" in filter`, allUserAttributes, nil},
		{`memberOfGroups[name eq "x"]`, `Unsupported attribute "name" in filter`, []string{"id"}, nil},
		{`id eq "x" and (bogus pr)`, `Unsupported attribute "bogus" in filter`, allUserAttributes, nil},

		{`enabled co "x"`, `Unsupported operator "co" for attribute "enabled"`, nil, []string{"eq", "ne", "pr"}},
		{`enabled gt true`, `Unsupported operator "gt" for attribute "enabled"`, nil, []string{"eq", "ne", "pr"}},
		{`mfaEnabled gt true`, `Unsupported operator "gt" for attribute "mfaEnabled"`, nil, []string{"eq"}},
		{`mfaEnabled pr`, `Unsupported operator "pr" for attribute "mfaEnabled"`, nil, []string{"eq"}},
		{`population.id co "x"`, `Unsupported operator "co" for attribute "population.id"`, nil, []string{"eq", "ne"}},
		{`Population.ID sw "x"`, `Unsupported operator "sw" for attribute "population.id"`, nil, []string{"eq", "ne"}},
		{`population.id pr`, `Unsupported operator "pr" for attribute "population.id"`, nil, []string{"eq", "ne"}},
		{`loginCount co 1`, `Unsupported operator "co" for attribute "loginCount"`, nil, scalar},
		{`createdAt sw "2024"`, `Unsupported operator "sw" for attribute "createdAt"`, nil, scalar},
		{`memberOfGroups[id co "g"]`, `Unsupported operator "co" for attribute "id"`, nil, []string{"eq", "ne"}},

		{`email eq 1`, `Attribute "email" expects a string value`, nil, nil},
		{`email sw true`, `Attribute "email" expects a string value`, nil, nil},
		{`enabled eq "true"`, `Attribute "enabled" expects a boolean value (true or false)`, nil, nil},
		{`enabled eq 1`, `Attribute "enabled" expects a boolean value (true or false)`, nil, nil},
		{`loginCount eq "5"`, `Attribute "loginCount" expects a number value`, nil, nil},
		{`createdAt gt 5`, `Attribute "createdAt" expects a date-time string value`, nil, nil},
		{`createdAt gt "yesterday"`, `Attribute "createdAt" expects an RFC 3339 date-time such as "2024-01-02T03:04:05.000Z"`, nil, nil},
		{`createdAt gt "2024-01-02"`, `Attribute "createdAt" expects an RFC 3339 date-time such as "2024-01-02T03:04:05.000Z"`, nil, nil},
		{`email gt null`, `Operator "gt" cannot be used with null (attribute "email")`, nil, nil},
		{`email co null`, `Operator "co" cannot be used with null (attribute "email")`, nil, nil},
		{`email eq "a\u0000b"`, `Filter values must not contain NUL characters`, nil, nil},
		{`username sw "\u0000"`, `Filter values must not contain NUL characters`, nil, nil},
	}
	for _, tc := range tests {
		_, _, err := userSchema.compileString(tc.in)
		var se *scim.Error
		if !errors.As(err, &se) {
			t.Errorf("CompileString(%q): error %v (%T), want *scim.Error", tc.in, err, err)
			continue
		}
		if se.Message != tc.msg {
			t.Errorf("CompileString(%q): message %q, want %q", tc.in, se.Message, tc.msg)
		}
		if !reflect.DeepEqual(se.SupportedAttributes, tc.supAttrs) {
			t.Errorf("CompileString(%q): SupportedAttributes %q, want %q", tc.in, se.SupportedAttributes, tc.supAttrs)
		}
		if !reflect.DeepEqual(se.SupportedOperators, tc.supOpsSet) {
			t.Errorf("CompileString(%q): SupportedOperators %q, want %q", tc.in, se.SupportedOperators, tc.supOpsSet)
		}
		if se.Error() != se.Message {
			t.Errorf("Error() = %q, want the message", se.Error())
		}
	}

	// Ops restricts a String attribute; without Ops it offers every operator.
	_, _, err := (&filterSchema{attrs: map[string]filterAttr{"s": {column: "s", ops: []string{"eq"}}}}).compileString(`s ne "x"`)
	wantError(t, err, `Unsupported operator "ne" for attribute "s"`)
	if se := (*scim.Error)(nil); errors.As(err, &se) && !reflect.DeepEqual(se.SupportedOperators, []string{"eq"}) {
		t.Errorf("SupportedOperators = %q", se.SupportedOperators)
	}
	if got := (filterAttr{}).allowedOps(); !reflect.DeepEqual(got, all) {
		t.Errorf("String allowedOps = %q, want %q", got, all)
	}
}

func TestCompileParseErrorPassesThrough(t *testing.T) {
	_, _, err := userSchema.compileString(`id eq`)
	wantError(t, err, `expected a value after "eq"`)
}

// Hand-built trees reach Compile without Parse's checks.
func TestCompileHandBuilt(t *testing.T) {
	sql, args, err := userSchema.compile(&scim.Compare{Attr: "id", Op: "EQ", Value: scim.Value{Kind: scim.StringValue, Str: "x"}})
	if err != nil || sql != `u.id = ?` || !reflect.DeepEqual(args, []any{"x"}) {
		t.Errorf("upper-case op: %q %v %v", sql, args, err)
	}

	_, _, err = userSchema.compile(&scim.Compare{Attr: "id", Op: "like", Value: scim.Value{Kind: scim.StringValue, Str: "x"}})
	wantError(t, err, `Unsupported operator "like" for attribute "id"`)

	_, _, err = userSchema.compile(&scim.Compare{Attr: "id", Op: "eq", Value: scim.Value{Kind: scim.StringValue, Str: "\xff"}})
	wantError(t, err, `Filter values must be valid UTF-8`)

	for _, e := range []scim.Expr{nil, (*scim.Compare)(nil), &scim.Logical{Op: "xor", Left: &scim.Present{Attr: "id"}, Right: &scim.Present{Attr: "id"}}, &scim.Not{}} {
		_, _, err := userSchema.compile(e)
		var se *scim.Error
		if err == nil || errors.As(err, &se) {
			t.Errorf("Compile(%#v) = %v, want a non-*scim.Error error", e, err)
		}
	}

	// A nil schema allows nothing.
	_, _, err = (*filterSchema)(nil).compileString(`id eq "x"`)
	wantError(t, err, `Unsupported attribute "id" in filter`)
}

func TestCompileSchemaErrors(t *testing.T) {
	inner := &filterSchema{attrs: map[string]filterAttr{"id": {column: "g.id"}}}
	tests := []struct {
		schema *filterSchema
		filter string
	}{
		{&filterSchema{valuePaths: map[string]valuePathSchema{"g": {template: "EXISTS (SELECT 1)", inner: inner}}}, `g[id eq "x"]`},
		{&filterSchema{valuePaths: map[string]valuePathSchema{"g": {template: "%s AND %s", inner: inner}}}, `g[id eq "x"]`},
		{&filterSchema{valuePaths: map[string]valuePathSchema{"g": {template: "x = ? AND %s", inner: inner}}}, `g[id eq "x"]`},
		{&filterSchema{attrs: map[string]filterAttr{"a": {column: "a = ? OR a"}}}, `a eq "x"`},
		{&filterSchema{attrs: map[string]filterAttr{"a": {}}}, `a eq "x"`},
		{&filterSchema{attrs: map[string]filterAttr{"a": {column: "a", kind: attrKind(99)}}}, `a eq "x"`},
	}
	for _, tc := range tests {
		_, _, err := tc.schema.compileString(tc.filter)
		var se *scim.Error
		if !errors.Is(err, errSchema) || errors.As(err, &se) {
			t.Errorf("CompileString(%q) with %+v: error %v, want a schema error", tc.filter, tc.schema, err)
		}
	}
}

func TestLookupCaseInsensitiveIsDeterministic(t *testing.T) {
	s := &filterSchema{attrs: map[string]filterAttr{
		"Name": {column: "upper"},
		"name": {column: "lower"},
		"NAME": {column: "caps"},
	}}
	for range 20 {
		sql, _, err := s.compileString(`nAmE pr`)
		if err != nil || sql != `(caps IS NOT NULL AND caps <> '')` {
			t.Fatalf("got %q, %v", sql, err)
		}
	}
	sql, _, _ := s.compileString(`name pr`)
	if sql != `(lower IS NOT NULL AND lower <> '')` {
		t.Errorf("exact match not preferred: %q", sql)
	}
}

func TestPrefixUpperBound(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"a", "b", true},
		{"abc", "abd", true},
		{"z", "{", true},
		{"\x7f", "\u0080", true},
		{"\uD7FF", "\uE000", true},
		{"\uFFFF", "\U00010000", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := prefixUpperBound(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixUpperBound(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		// The bound must exceed every string with the prefix, checked on a
		// few extensions including the largest rune.
		if ok {
			for _, ext := range []string{"", "\x00", "zzz", "\U0010FFFF\U0010FFFF"} {
				if s := tc.in + ext; !(s < got) {
					t.Errorf("%q is not below bound %q", s, got)
				}
			}
		}
	}
}
