package scim

import (
	"errors"
	"hash/fnv"
	"reflect"
	"strconv"
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

// fuzzSchema allows every attribute the filter mentions, with a kind derived
// from the name, so that compilation exercises every kind and both the
// success and type-mismatch paths.
func fuzzSchema(e Expr, allString bool) *Schema {
	s := &Schema{Attributes: map[string]Attribute{}, ValuePaths: map[string]ValuePathSchema{}}
	add := func(name string) {
		h := fnv.New32a()
		h.Write([]byte(name))
		n := h.Sum32()
		a := Attribute{Column: "t.c" + strconv.Itoa(len(s.Attributes)), Kind: Kind(n % 4), Fold: n&4 != 0}
		if allString {
			a.Kind = String
		}
		s.Attributes[name] = a
	}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *Compare:
			add(x.Attr)
		case *Present:
			add(x.Attr)
		case *Logical:
			walk(x.Left)
			walk(x.Right)
		case *Not:
			walk(x.X)
		case *ValuePath:
			s.ValuePaths[x.Attr] = ValuePathSchema{
				Template: "EXISTS (SELECT 1 FROM v WHERE v.p = t.id AND %s)",
				Inner:    fuzzSchema(x.Filter, allString),
			}
		}
	}
	walk(e)
	return s
}

func balanced(sql string) bool {
	depth := 0
	for _, c := range sql {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
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

		for _, allString := range []bool{false, true} {
			sql, args, err := fuzzSchema(e, allString).Compile(e)
			if err != nil {
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("Compile(%q): error %v (%T) is not a *Error", filter, err, err)
				}
				continue
			}
			if n := strings.Count(sql, "?"); n != len(args) {
				t.Fatalf("Compile(%q) = %q: %d placeholders, %d args", filter, sql, n, len(args))
			}
			if !balanced(sql) {
				t.Fatalf("Compile(%q) = %q: unbalanced parentheses", filter, sql)
			}
			// Values travel only as arguments; the only quote characters in
			// the SQL are the fixed literals the compiler writes.
			rest := strings.NewReplacer(`ESCAPE '\'`, "", `<> ''`, "").Replace(sql)
			if strings.ContainsAny(rest, `'"`) {
				t.Fatalf("Compile(%q) = %q: unexpected quote in SQL", filter, sql)
			}
		}
	})
}
