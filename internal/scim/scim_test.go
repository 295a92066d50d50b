package scim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical String() form
	}{
		// Every operator, lower- and upper-case.
		{`name eq "x"`, `name eq "x"`},
		{`name ne "x"`, `name ne "x"`},
		{`name co "x"`, `name co "x"`},
		{`name sw "x"`, `name sw "x"`},
		{`name ew "x"`, `name ew "x"`},
		{`name gt "x"`, `name gt "x"`},
		{`name ge "x"`, `name ge "x"`},
		{`name lt "x"`, `name lt "x"`},
		{`name le "x"`, `name le "x"`},
		{`email pr`, `email pr`},
		{`name EQ "x"`, `name eq "x"`},
		{`name Sw "x"`, `name sw "x"`},
		{`EMAIL PR`, `EMAIL pr`},

		// Logical operators, case, precedence and associativity.
		{`a eq "1" and b eq "2"`, `(a eq "1" and b eq "2")`},
		{`a eq "1" AND b eq "2"`, `(a eq "1" and b eq "2")`},
		{`a eq "1" Or b eq "2"`, `(a eq "1" or b eq "2")`},
		{`((name eq "x") OR (name eq "y"))`, `(name eq "x" or name eq "y")`},
		{`a eq "1" or b eq "2" and c eq "3"`, `(a eq "1" or (b eq "2" and c eq "3"))`},
		{`a eq "1" and b eq "2" or c eq "3"`, `((a eq "1" and b eq "2") or c eq "3")`},
		{`(a eq "1" or b eq "2") and c eq "3"`, `((a eq "1" or b eq "2") and c eq "3")`},
		{`a pr or b pr or c pr`, `((a pr or b pr) or c pr)`},
		{`a pr and (b pr or (c pr and (d pr)))`, `(a pr and (b pr or (c pr and d pr)))`},
		{`(((a pr)))`, `a pr`},
		{`not (name eq "x")`, `not (name eq "x")`},
		{`NOT(name eq "x")`, `not (name eq "x")`},
		{`not (a pr and b pr) or c pr`, `(not (a pr and b pr) or c pr)`},
		{`not (not (a pr))`, `not (not (a pr))`},
		{`a pr and not (b pr)`, `(a pr and not (b pr))`},

		// Attribute paths.
		{`name.given co "ann"`, `name.given co "ann"`},
		{`population.id eq "7f0c"`, `population.id eq "7f0c"`},
		{`account.status eq "LOCKED"`, `account.status eq "LOCKED"`},
		{`$ref eq "x"`, `$ref eq "x"`},
		{`_x-y.z_1 pr`, `_x-y.z_1 pr`},

		// String escapes.
		{`a eq "a\"b"`, `a eq "a\"b"`},
		{`a eq "\u00e9"`, `a eq "é"`},
		{`a eq "\u00E9t\u00e9"`, `a eq "été"`},
		{`a eq "\\ \/ \b\f\n\r\t"`, `a eq "\\ / \b\f\n\r\t"`},
		{`a eq "\ud83d\ude00"`, `a eq "😀"`},
		{`a eq "\ud800x"`, `a eq "` + "\uFFFD" + `x"`},
		{`a eq "\u0001"`, `a eq "\u0001"`},
		{`a eq ""`, `a eq ""`},
		{`a eq "日本"`, `a eq "日本"`},

		// Numbers, booleans, null.
		{`n eq 42`, `n eq 42`},
		{`n eq -1.5`, `n eq -1.5`},
		{`n eq 0`, `n eq 0`},
		{`n eq 1e3`, `n eq 1000`},
		{`n eq 2.5E-3`, `n eq 0.0025`},
		{`n eq 1e+21`, `n eq 1e+21`},
		{`enabled eq true`, `enabled eq true`},
		{`enabled eq FALSE`, `enabled eq false`},
		{`x eq null`, `x eq null`},
		{`x ne Null`, `x ne null`},

		// Value paths.
		{`memberOfGroups[id eq "g1"]`, `memberOfGroups[id eq "g1"]`},
		{`emails[type eq "work" and value co "@x"]`, `emails[type eq "work" and value co "@x"]`},
		{`emails [ type eq "work" ]`, `emails[type eq "work"]`},
		{`memberOfGroups[id eq "g1"] or name pr`, `(memberOfGroups[id eq "g1"] or name pr)`},
		{`not (memberOfGroups[id eq "g1" or id eq "g2"])`, `not (memberOfGroups[id eq "g1" or id eq "g2"])`},

		// Whitespace and token separation.
		{"\ta\teq\t\"x\"  ", `a eq "x"`},
		{`a eq"x"`, `a eq "x"`},
		{`(a pr)and(b pr)`, `(a pr and b pr)`},
		{`createdAt gt "2024-01-02T03:04:05.000Z"`, `createdAt gt "2024-01-02T03:04:05.000Z"`},

		// Limits are inclusive.
		{strings.Repeat("(", 32) + "a pr" + strings.Repeat(")", 32), `a pr`},
		{`a eq "` + strings.Repeat("x", 4096-len(`a eq ""`)) + `"`, `a eq "` + strings.Repeat("x", 4096-len(`a eq ""`)) + `"`},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): unexpected error %v", tc.in, err)
			continue
		}
		if got := exprString(e); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseMaxComparisons(t *testing.T) {
	ok := strings.TrimSuffix(strings.Repeat("a pr or ", 100), " or ")
	if _, err := Parse(ok); err != nil {
		t.Fatalf("100 comparisons: %v", err)
	}
	_, err := Parse(ok + " or a pr")
	wantError(t, err, "filter has more than 100 comparisons")
}

// TestParseTree checks the AST directly, including Value fields that the
// canonical form cannot distinguish.
func TestParseTree(t *testing.T) {
	tests := []struct {
		in   string
		want Expr
	}{
		{`a eq "1" or b eq 2 and c eq true`, &Logical{Op: "or",
			Left: &Compare{Attr: "a", Op: "eq", Value: Value{Kind: StringValue, Str: "1"}},
			Right: &Logical{Op: "and",
				Left:  &Compare{Attr: "b", Op: "eq", Value: Value{Kind: NumberValue, Num: 2}},
				Right: &Compare{Attr: "c", Op: "eq", Value: Value{Kind: BoolValue, Bool: true}},
			},
		}},
		{`NOT (x EQ null)`, &Not{X: &Compare{Attr: "x", Op: "eq", Value: Value{Kind: NullValue}}}},
		{`g[id eq "a\"b"]`, &ValuePath{Attr: "g", Filter: &Compare{Attr: "id", Op: "eq", Value: Value{Kind: StringValue, Str: `a"b`}}}},
		{`name.Given pr`, &Present{Attr: "name.Given"}},
		{`n le -0.5e1`, &Compare{Attr: "n", Op: "le", Value: Value{Kind: NumberValue, Num: -5}}},
		{`s eq "1"`, &Compare{Attr: "s", Op: "eq", Value: Value{Kind: StringValue, Str: "1"}}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, exprString(got), exprString(tc.want))
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // substring of the message
	}{
		{``, `filter is empty`},
		{" \t ", `filter is empty`},
		{`a eq "` + strings.Repeat("x", 4096) + `"`, `filter is longer than 4096 bytes`},
		{strings.Repeat("(", 33) + "a pr" + strings.Repeat(")", 33), `filter is nested more than 32 levels deep`},
		{strings.Repeat("not (", 33) + "a pr" + strings.Repeat(")", 33), `filter is nested more than 32 levels deep`},
		{strings.Repeat("a[", 33) + "a pr" + strings.Repeat("]", 33), `filter is nested more than 32 levels deep`},
		{"a eq \"\xff\"", `filter is not valid UTF-8`},

		// Lexical errors.
		{`name eq "abc`, `unterminated string starting at offset 8`},
		{`name eq "abc\"`, `unterminated string starting at offset 8`},
		{`name eq "abc\`, `unterminated string starting at offset 8`},
		{`a eq "\x"`, `invalid escape \x in string at offset 6`},
		{`a eq "\u12"`, `invalid \u escape in string at offset 6`},
		{`a eq "\u12g4"`, `invalid \u escape in string at offset 6`},
		{"a eq \"a\tb\"", `unescaped control character in string at offset 7`},
		{`a eq "x" & b pr`, `unexpected character '&' at offset 9`},
		{"a pr\n", `unexpected character '\n' at offset 4`},
		{`é eq "x"`, `unexpected character 'é' at offset 0`},
		{`a eq 'x'`, `unexpected character '\'' at offset 5`},
		{`n eq 01`, `invalid number "01" at offset 5`},
		{`n eq 1and b pr`, `invalid number "1and" at offset 5`},
		{`n eq -`, `invalid number "-" at offset 5`},
		{`n eq 1.`, `invalid number "1." at offset 5`},
		{`n eq .5`, `unexpected character '.' at offset 5`},
		{`n eq 1e`, `invalid number "1e" at offset 5`},
		{`n eq 1e999`, `number 1e999 at offset 5 is out of range`},

		// Syntax errors.
		{`name eq`, `expected a value after "eq", found end of filter`},
		{`name EQ )`, `expected a value after "EQ", found ")" at offset 8`},
		{`name foo "x"`, `unknown operator "foo" at offset 5`},
		{`name`, `expected an operator after "name", found end of filter`},
		{`name "x"`, `expected an operator after "name", found string at offset 5`},
		{`name pr "x"`, `expected "and", "or" or end of filter, found string at offset 8`},
		{`name eq "x" foo`, `expected "and", "or" or end of filter, found "foo" at offset 12`},
		{`name eq "x" 5`, `expected "and", "or" or end of filter, found number 5 at offset 12`},
		{`a eq foo`, `invalid value "foo" at offset 5: expected a string, number, true, false or null`},
		{`a pr and`, `expected attribute name, "(" or "not", found end of filter`},
		{`a pr or`, `expected attribute name, "(" or "not", found end of filter`},
		{`a pr and or b pr`, `expected attribute name, found "or" at offset 9`},
		{`and eq "x"`, `expected attribute name, found "and" at offset 0`},
		{`(a pr`, `expected ")" to close "(" at offset 0, found end of filter`},
		{`((a pr) or b pr`, `expected ")" to close "(" at offset 0, found end of filter`},
		{`a pr)`, `unbalanced brackets: unexpected ")" at offset 4`},
		{`a pr]`, `unbalanced brackets: unexpected "]" at offset 4`},
		{`a[b pr`, `expected "]" to close "[" at offset 1, found end of filter`},
		{`a[b pr)`, `expected "]" to close "[" at offset 1, found ")" at offset 6`},
		{`()`, `expected attribute name, "(" or "not", found ")" at offset 1`},
		{`not a pr`, `expected "(" after "not", found "a" at offset 4`},
		{`not`, `expected "(" after "not", found end of filter`},
		{`a..b pr`, `invalid attribute path "a..b" at offset 0`},
		{`a. pr`, `invalid attribute path "a." at offset 0`},
		{`a.1 pr`, `invalid attribute path "a.1" at offset 0`},
		{`[a pr]`, `expected attribute name, "(" or "not", found "[" at offset 0`},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%.60q) = %s, want error %q", tc.in, exprString(e), tc.wantErr)
			continue
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.60q): error %T is not *Error", tc.in, err)
			continue
		}
		if !strings.Contains(se.Message, tc.wantErr) {
			t.Errorf("Parse(%.60q): error %q, want it to contain %q", tc.in, se.Message, tc.wantErr)
		}
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Value{Kind: StringValue, Str: "a\"b\\c\x01\u2028<&>"}, `"a\"b\\c\u0001` + "\u2028" + `<&>"`},
		{Value{Kind: NumberValue, Num: 3}, `3`},
		{Value{Kind: NumberValue, Num: -0.25}, `-0.25`},
		{Value{Kind: BoolValue, Bool: true}, `true`},
		{Value{Kind: BoolValue}, `false`},
		{Value{Kind: NullValue}, `null`},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v.String() = %s, want %s", tc.v, got, tc.want)
		}
	}
}

var groupTemplate = "EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND %s)"

var userSchema = &Schema{
	Attributes: map[string]Attribute{
		"id":             {Column: "u.id"},
		"username":       {Column: "u.username_lc", Fold: true},
		"email":          {Column: "u.email"},
		"name.given":     {Column: "u.given_name"},
		"enabled":        {Column: "u.enabled", Kind: Bool},
		"loginCount":     {Column: "u.login_count", Kind: Number},
		"createdAt":      {Column: "u.created_at", Kind: Time},
		"population.id":  {Column: "u.population_id", Ops: []string{"eq", "ne"}},
		"account.status": {Column: "u.account_status", Ops: []string{"eq", "ne", "pr"}},
		// Ops lists an operator the kind cannot compile; it must not be offered.
		"mfaEnabled": {Column: "u.mfa_enabled", Kind: Bool, Ops: []string{"eq", "gt"}},
	},
	ValuePaths: map[string]ValuePathSchema{
		"memberOfGroups": {
			Template: groupTemplate,
			Inner: &Schema{Attributes: map[string]Attribute{
				"id": {Column: "gm.group_id", Ops: []string{"eq", "ne"}},
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
		sql, args, err := userSchema.CompileString(tc.in)
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
	_, args, err := userSchema.CompileString(`createdAt lt "2024-01-02T05:04:05+02:00"`)
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
		_, _, err := userSchema.CompileString(tc.in)
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("CompileString(%q): error %v (%T), want *Error", tc.in, err, err)
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
	_, _, err := (&Schema{Attributes: map[string]Attribute{"s": {Column: "s", Ops: []string{"eq"}}}}).CompileString(`s ne "x"`)
	wantError(t, err, `Unsupported operator "ne" for attribute "s"`)
	if se := (*Error)(nil); errors.As(err, &se) && !reflect.DeepEqual(se.SupportedOperators, []string{"eq"}) {
		t.Errorf("SupportedOperators = %q", se.SupportedOperators)
	}
	if got := (Attribute{}).allowedOps(); !reflect.DeepEqual(got, all) {
		t.Errorf("String allowedOps = %q, want %q", got, all)
	}
}

func TestCompileParseErrorPassesThrough(t *testing.T) {
	_, _, err := userSchema.CompileString(`id eq`)
	wantError(t, err, `expected a value after "eq"`)
}

// Hand-built trees reach Compile without Parse's checks.
func TestCompileHandBuilt(t *testing.T) {
	sql, args, err := userSchema.Compile(&Compare{Attr: "id", Op: "EQ", Value: Value{Kind: StringValue, Str: "x"}})
	if err != nil || sql != `u.id = ?` || !reflect.DeepEqual(args, []any{"x"}) {
		t.Errorf("upper-case op: %q %v %v", sql, args, err)
	}

	_, _, err = userSchema.Compile(&Compare{Attr: "id", Op: "like", Value: Value{Kind: StringValue, Str: "x"}})
	wantError(t, err, `Unsupported operator "like" for attribute "id"`)

	_, _, err = userSchema.Compile(&Compare{Attr: "id", Op: "eq", Value: Value{Kind: StringValue, Str: "\xff"}})
	wantError(t, err, `Filter values must be valid UTF-8`)

	for _, e := range []Expr{nil, (*Compare)(nil), &Logical{Op: "xor", Left: &Present{Attr: "id"}, Right: &Present{Attr: "id"}}, &Not{}} {
		_, _, err := userSchema.Compile(e)
		var se *Error
		if err == nil || errors.As(err, &se) {
			t.Errorf("Compile(%#v) = %v, want a non-*Error error", e, err)
		}
	}

	// A nil schema allows nothing.
	_, _, err = (*Schema)(nil).CompileString(`id eq "x"`)
	wantError(t, err, `Unsupported attribute "id" in filter`)
}

func TestCompileSchemaErrors(t *testing.T) {
	inner := &Schema{Attributes: map[string]Attribute{"id": {Column: "g.id"}}}
	tests := []struct {
		schema *Schema
		filter string
	}{
		{&Schema{ValuePaths: map[string]ValuePathSchema{"g": {Template: "EXISTS (SELECT 1)", Inner: inner}}}, `g[id eq "x"]`},
		{&Schema{ValuePaths: map[string]ValuePathSchema{"g": {Template: "%s AND %s", Inner: inner}}}, `g[id eq "x"]`},
		{&Schema{ValuePaths: map[string]ValuePathSchema{"g": {Template: "x = ? AND %s", Inner: inner}}}, `g[id eq "x"]`},
		{&Schema{Attributes: map[string]Attribute{"a": {Column: "a = ? OR a"}}}, `a eq "x"`},
		{&Schema{Attributes: map[string]Attribute{"a": {}}}, `a eq "x"`},
		{&Schema{Attributes: map[string]Attribute{"a": {Column: "a", Kind: Kind(99)}}}, `a eq "x"`},
	}
	for _, tc := range tests {
		_, _, err := tc.schema.CompileString(tc.filter)
		var se *Error
		if !errors.Is(err, errSchema) || errors.As(err, &se) {
			t.Errorf("CompileString(%q) with %+v: error %v, want a schema error", tc.filter, tc.schema, err)
		}
	}
}

func TestLookupCaseInsensitiveIsDeterministic(t *testing.T) {
	s := &Schema{Attributes: map[string]Attribute{
		"Name": {Column: "upper"},
		"name": {Column: "lower"},
		"NAME": {Column: "caps"},
	}}
	for range 20 {
		sql, _, err := s.CompileString(`nAmE pr`)
		if err != nil || sql != `(caps IS NOT NULL AND caps <> '')` {
			t.Fatalf("got %q, %v", sql, err)
		}
	}
	sql, _, _ := s.CompileString(`name pr`)
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

func wantError(t *testing.T, err error, substr string) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *Error containing %q", err, err, substr)
	}
	if !strings.Contains(se.Message, substr) {
		t.Fatalf("error %q, want it to contain %q", se.Message, substr)
	}
}
