package sqlstore

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// filterList is one list that takes a filter, called with a fresh scope id.
type filterList struct {
	name   string
	schema *filterSchema
	list   func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error)
}

var filterLists = []filterList{
	{"users", userList.filter, func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error) {
		return total(s.ListUsers(ctx, scope, p))
	}},
	{"environments", environmentList.filter, func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error) {
		return total(s.ListEnvironments(ctx, scope, p))
	}},
	{"applications", applicationList.filter, func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error) {
		return total(s.ListApplicationsPage(ctx, scope, p))
	}},
	{"populations", populationList.filter, func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error) {
		return total(s.ListPopulations(ctx, scope, p))
	}},
	{"themes", themeList.filter, func(ctx context.Context, s *SQLStore, scope string, p store.Page) (int, error) {
		return total(s.ListThemes(ctx, scope, p))
	}},
}

func total[T any](_ []T, n int, err error) (int, error) { return n, err }

// sampleFilters are a filter for every attribute of schema with every
// operator it allows, and with null.
func sampleFilters(schema *filterSchema) []string {
	values := map[attrKind]string{stringAttr: `"Ab%_\"c"`, boolAttr: "true", numberAttr: "1", timeAttr: `"2024-01-02T03:04:05.000Z"`}
	var out []string
	for name, a := range schema.attrs {
		for _, op := range a.allowedOps() {
			if op == "pr" {
				out = append(out, name+" pr")
				continue
			}
			out = append(out, name+" "+op+" "+values[a.kind])
		}
		if slices.Contains(a.allowedOps(), "eq") {
			out = append(out, name+" eq null", "not ("+name+" eq null)")
		}
	}
	return out
}

func openStore(t *testing.T, dsn string) *SQLStore {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestListFiltersRun runs every attribute of every list with each operator
// it allows on both databases: a column missing from the schema, or SQL one
// dialect rejects, fails here rather than in a client's request.
func TestListFiltersRun(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx, s := t.Context(), openStore(t, b.DSN(t))
			for _, l := range filterLists {
				for _, f := range sampleFilters(l.schema) {
					e, err := scim.Parse(f)
					if err != nil {
						t.Fatalf("%s: Parse(%q): %v", l.name, f, err)
					}
					if n, err := l.list(ctx, s, uuid.NewString(), store.Page{Filter: e}); err != nil || n != 0 {
						t.Errorf("%s filtered by %s = total %d, %v; want 0, nil", l.name, f, n, err)
					}
				}
			}
		})
	}
}

// TestRefusedFilterRunsNoQuery: a filter the list does not take, or a
// restriction it cannot apply, is refused before the store runs anything.
func TestRefusedFilterRunsNoQuery(t *testing.T) {
	ctx, s := t.Context(), openStore(t, "sqlite::memory:")
	bad, err := scim.Parse(`colour eq "red"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range filterLists {
		for _, p := range []store.Page{{Filter: bad}, {Filter: bad, IDs: []string{}}, {Filter: bad, PopulationIDs: []string{}}} {
			q0 := s.Queries()
			_, err := l.list(ctx, s, uuid.NewString(), p)
			if se := (*scim.Error)(nil); !errors.As(err, &se) || se.Message != `Unsupported attribute "colour" in filter` {
				t.Errorf("%s with %+v: error %v, want the unsupported attribute", l.name, p, err)
			}
			if n := s.Queries() - q0; n != 0 {
				t.Errorf("%s with %+v ran %d queries, want none", l.name, p, n)
			}
		}
		if l.name == "users" {
			continue
		}
		q0 := s.Queries()
		if _, err := l.list(ctx, s, uuid.NewString(), store.Page{PopulationIDs: []string{uuid.NewString()}}); err == nil {
			t.Errorf("%s with PopulationIDs: no error", l.name)
		}
		if n := s.Queries() - q0; n != 0 {
			t.Errorf("%s with PopulationIDs ran %d queries, want none", l.name, n)
		}
	}
}

// fuzzSchema allows every attribute the filter mentions, with a kind derived
// from the name, so that compilation exercises every kind and both the
// success and type-mismatch paths.
func fuzzSchema(e scim.Expr, allString bool) *filterSchema {
	s := &filterSchema{attrs: map[string]filterAttr{}, valuePaths: map[string]valuePathSchema{}}
	add := func(name string) {
		h := fnv.New32a()
		h.Write([]byte(name))
		n := h.Sum32()
		a := filterAttr{column: "t.c" + strconv.Itoa(len(s.attrs)), kind: attrKind(n % 4), fold: n&4 != 0}
		if allString {
			a.kind = stringAttr
		}
		s.attrs[name] = a
	}
	var walk func(scim.Expr)
	walk = func(e scim.Expr) {
		switch x := e.(type) {
		case *scim.Compare:
			add(x.Attr)
		case *scim.Present:
			add(x.Attr)
		case *scim.Logical:
			walk(x.Left)
			walk(x.Right)
		case *scim.Not:
			walk(x.X)
		case *scim.ValuePath:
			s.valuePaths[x.Attr] = valuePathSchema{
				template: "EXISTS (SELECT 1 FROM v WHERE v.p = t.id AND %s)",
				inner:    fuzzSchema(x.Filter, allString),
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

// FuzzCompile compiles whatever parses, against a schema that takes every
// attribute it names and against the real lists' schemas, and checks the SQL
// stays well formed: one argument per placeholder, balanced parentheses, and
// no value in the text. The seeds are every list's attributes with each
// operator, and shapes no list takes yet (value paths, numbers, wildcards).
func FuzzCompile(f *testing.F) {
	for _, l := range filterLists {
		for _, s := range sampleFilters(l.schema) {
			f.Add(s)
		}
	}
	for _, s := range []string{`memberOfGroups[id eq "g1" or value co "50%_off"] and not (emails pr)`,
		`n ge -1.5e3 and n lt 42 or (x eq null and y ne null)`, `a eq "a\"b\\c\u00e9\ud83d\ude00" or s sw "\udbff\udfff"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		e, err := scim.Parse(filter)
		if err != nil {
			return // FuzzParse in internal/scim covers what does not parse
		}
		schemas := []*filterSchema{fuzzSchema(e, false), fuzzSchema(e, true)}
		for _, l := range filterLists {
			schemas = append(schemas, l.schema)
		}
		for _, schema := range schemas {
			sql, args, err := schema.compile(e)
			if err != nil {
				var se *scim.Error
				if !errors.As(err, &se) {
					t.Fatalf("compile(%q): error %v (%T) is not a *scim.Error", filter, err, err)
				}
				continue
			}
			if n := strings.Count(sql, "?"); n != len(args) {
				t.Fatalf("compile(%q) = %q: %d placeholders, %d args", filter, sql, n, len(args))
			}
			if !balanced(sql) {
				t.Fatalf("compile(%q) = %q: unbalanced parentheses", filter, sql)
			}
			// Values travel only as arguments; the only quote characters in
			// the SQL are the fixed literals the compiler writes.
			rest := strings.NewReplacer(`ESCAPE '\'`, "", `<> ''`, "").Replace(sql)
			if strings.ContainsAny(rest, `'"`) {
				t.Fatalf("compile(%q) = %q: unexpected quote in SQL", filter, sql)
			}
			for _, a := range args {
				if tm, ok := a.(time.Time); ok && tm.Location() != time.UTC {
					t.Fatalf("compile(%q): time argument %v is not UTC", filter, a)
				}
			}
		}
	})
}
