package scim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	// Valid.
	`name sw "prefix"`,
	`id eq "8f3e2b1c-0d9a-4c5e-9f7a-1b2c3d4e5f60"`,
	`((name eq "x") OR (name eq "y"))`,
	`population.id eq "uuid"`,
	`email eq "a@b.c"`,
	`username sw "al"`,
	`name.given co "ann"`,
	`enabled eq true`,
	`account.status eq "LOCKED"`,
	`not (name eq "x")`,
	`NOT(name eq "x")`,
	`createdAt gt "2024-01-02T03:04:05.000Z"`,
	`email pr`,
	`memberOfGroups[id eq "g1"]`,
	`a eq "1" or b eq "2" and c eq "3"`,
	`n ge -1.5e3 and n lt 42`,
	`x eq null or y ne null`,
	`a eq "a\"b\\c\u00e9\ud83d\ude00"`,
	`emails[type eq "work" and value ew "@x.com"] or not (emails pr)`,
	`s co "50%_off"`,
	"a\teq\t\"x\"",
	// Invalid.
	``,
	`name eq "abc`,
	`name eq`,
	`name foo "x"`,
	`name eq "x" garbage`,
	`a pr and`,
	`(a pr`,
	`a pr)`,
	`a[b pr`,
	`n eq 01`,
	`a eq "\x"`,
	"a pr\n",
	strings.Repeat("(", 40) + "a pr" + strings.Repeat(")", 40),
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		e, err := Parse(filter)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Message == "" {
				t.Fatalf("Parse(%q): error %v (%T) is not a *Error with a message", filter, err, err)
			}
			if e != nil {
				t.Fatalf("Parse(%q) returned both a tree and an error", filter)
			}
			return
		}

		// The canonical form must parse back to the same tree; only the
		// parentheses it adds can push it over the limits.
		canon := exprString(e)
		e2, err := Parse(canon)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "nested more than") && !strings.Contains(msg, "longer than") {
				t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %v", filter, canon, err)
			}
		} else if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip of %q via %q changed the tree: %s", filter, canon, exprString(e2))
		}
	})
}
