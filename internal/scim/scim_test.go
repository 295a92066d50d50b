package scim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
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
