package sqlstore

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/scim"
)

// This file turns a parsed SCIM filter (store.Page.Filter) into a
// parameterised WHERE fragment. The management API hands the store the
// filter as scim parsed it; which attributes a list takes, the columns behind
// them, their operators and case folding are the store's business alone, so
// renaming a column is a change here and nowhere else.
//
// Filters are untrusted input, so compilation works from an allow-list: each
// list has a [filterSchema] that maps the attribute paths it exposes to SQL
// column expressions. Attribute names never reach SQL, and every value is
// passed as a "?" argument. (scim.Parse bounds the filter's length, nesting
// and number of comparisons, so the fragment stays small.) Everything the
// filter's author got wrong is a *scim.Error, which the HTTP layer answers as
// PingOne's 400 INVALID_REQUEST / INVALID_FILTER; a mistake in a schema
// below is a plain error instead, because it is a bug of ours, not the
// client's.
//
// The same SQL text is used on SQLite and PostgreSQL, so it sticks to syntax
// both accept. "sw" (starts with) compiles to a half-open range rather than
// LIKE 'prefix%' because a plain B-tree index serves a range on both
// databases, whereas PostgreSQL only uses an index for LIKE under the C
// collation or with a text_pattern_ops index, and SQLite only when its LIKE
// case-sensitivity matches the index collation.
//
// Two properties of the stored columns keep results identical on both
// databases, and the migrations are responsible for them:
//   - Range and ordering comparisons (sw, gt, ge, lt, le) assume byte-wise
//     ordering. That is SQLite's default BINARY collation; on PostgreSQL the
//     columns need COLLATE "C" (or a C-collated database).
//   - SQLite's LIKE ignores ASCII case and PostgreSQL's does not, so co and
//     ew agree only on columns holding a lower-cased copy ([filterAttr].fold).

// attrKind is the type of the column behind an attribute; it decides which
// operators and values make sense.
type attrKind int

const (
	stringAttr attrKind = iota
	boolAttr
	numberAttr
	timeAttr
)

// filterAttr describes one filterable attribute.
type filterAttr struct {
	column string // SQL column or expression, e.g. "u.username_lc"
	kind   attrKind
	fold   bool     // stringAttr only: the column stores a lower-cased copy; compare against strings.ToLower(value)
	ops    []string // allowed operators (lower-case, incl. "pr"); nil = every operator valid for kind
}

// filterSchema is the allow-list of one list.
type filterSchema struct {
	// attrs maps attribute paths, matched case-insensitively, to columns.
	attrs map[string]filterAttr
	// valuePaths handles attr[filter]: template contains exactly one %s that
	// receives the compiled inner filter, e.g.
	// "EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND %s)",
	// compiled with inner.
	valuePaths map[string]valuePathSchema
}

// valuePathSchema describes one attribute usable as attr[filter].
type valuePathSchema struct {
	template string
	// postgres, when set, replaces template on PostgreSQL: the same
	// rows, in a form its planner estimates well.
	postgres string
	inner    *filterSchema
}

// allOps is the canonical order in which SupportedOperators are reported.
var allOps = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}

var kindOps = map[attrKind][]string{
	stringAttr: allOps,
	boolAttr:   {"eq", "ne", "pr"},
	numberAttr: {"eq", "ne", "gt", "ge", "lt", "le", "pr"},
	timeAttr:   {"eq", "ne", "gt", "ge", "lt", "le", "pr"},
}

var sqlOps = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// errSchema marks mistakes in a filterSchema rather than in the filter.
var errSchema = errors.New("sqlstore: invalid filter schema")

func schemaErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errSchema}, args...)...)
}

// filterErrorf is a mistake of the filter's author, worded for API clients.
func filterErrorf(format string, args ...any) *scim.Error {
	return &scim.Error{Message: fmt.Sprintf(format, args...)}
}

// compile turns e into a WHERE fragment (no leading WHERE) and its arguments,
// one per "?" in order. The SQL is the same for SQLite and PostgreSQL; the
// store rebinds "?" to "$n" for PostgreSQL.
func (s *filterSchema) compile(e scim.Expr) (sql string, args []any, err error) {
	return s.compileFor(e, false)
}

// compileFor is compile for PostgreSQL when pg is set: value paths that
// have a PostgreSQL form take it.
func (s *filterSchema) compileFor(e scim.Expr, pg bool) (sql string, args []any, err error) {
	c := &compiler{pg: pg}
	frag, _, err := c.expr(s, e)
	if err != nil {
		return "", nil, err
	}
	return frag, c.args, nil
}

type compiler struct {
	args []any
	pg   bool
}

func (c *compiler) arg(v any) { c.args = append(c.args, v) }

// expr compiles one node. grouped reports whether the fragment is already
// enclosed in its own parentheses, so NOT need not add a second pair.
func (c *compiler) expr(s *filterSchema, e scim.Expr) (frag string, grouped bool, err error) {
	switch x := e.(type) {
	case *scim.Compare:
		if x != nil {
			return c.compare(s, x)
		}
	case *scim.Present:
		if x != nil {
			return c.present(s, x)
		}
	case *scim.Logical:
		if x == nil {
			break
		}
		var op string
		switch strings.ToLower(x.Op) {
		case "and":
			op = "AND"
		case "or":
			op = "OR"
		default:
			return "", false, fmt.Errorf("sqlstore: filter: invalid logical operator %q", x.Op)
		}
		l, _, err := c.expr(s, x.Left)
		if err != nil {
			return "", false, err
		}
		r, _, err := c.expr(s, x.Right)
		if err != nil {
			return "", false, err
		}
		return "(" + l + " " + op + " " + r + ")", true, nil
	case *scim.Not:
		if x == nil {
			break
		}
		inner, grouped, err := c.expr(s, x.X)
		if err != nil {
			return "", false, err
		}
		if !grouped {
			inner = "(" + inner + ")"
		}
		return "(NOT " + inner + ")", true, nil
	case *scim.ValuePath:
		if x != nil {
			return c.valuePath(s, x)
		}
	}
	return "", false, fmt.Errorf("sqlstore: invalid filter expression %T", e)
}

func (c *compiler) valuePath(s *filterSchema, x *scim.ValuePath) (string, bool, error) {
	var vps map[string]valuePathSchema
	if s != nil {
		vps = s.valuePaths
	}
	name, vp, ok := lookup(vps, x.Attr)
	if !ok {
		return "", false, s.unknownAttribute(x.Attr)
	}
	template := vp.template
	if c.pg && vp.postgres != "" {
		template = vp.postgres
	}
	if strings.Count(template, "%s") != 1 || strings.Contains(template, "?") {
		// A "?" in the template would shift every argument after it.
		return "", false, schemaErrorf("value path %q: template must contain exactly one %%s and no ?", name)
	}
	inner, _, err := c.expr(vp.inner, x.Filter)
	if err != nil {
		return "", false, err
	}
	// Parenthesised because the template is opaque: it may contain OR.
	return "(" + strings.Replace(template, "%s", inner, 1) + ")", true, nil
}

func (c *compiler) present(s *filterSchema, x *scim.Present) (string, bool, error) {
	_, a, err := s.attribute(x.Attr, "pr")
	if err != nil {
		return "", false, err
	}
	if a.kind == stringAttr {
		// SCIM treats an empty string as unassigned, and the store keeps
		// optional strings as either NULL or "" depending on history.
		return "(" + a.column + " IS NOT NULL AND " + a.column + " <> '')", true, nil
	}
	return a.column + " IS NOT NULL", false, nil
}

func (c *compiler) compare(s *filterSchema, x *scim.Compare) (string, bool, error) {
	op := strings.ToLower(x.Op)
	name, a, err := s.attribute(x.Attr, op)
	if err != nil {
		return "", false, err
	}
	col := a.column
	v := x.Value

	if v.Kind == scim.NullValue {
		switch op {
		case "eq":
			return col + " IS NULL", false, nil
		case "ne":
			return col + " IS NOT NULL", false, nil
		}
		return "", false, filterErrorf("Operator %q cannot be used with null (attribute %q)", op, name)
	}

	switch a.kind {
	case stringAttr:
		if v.Kind != scim.StringValue {
			return "", false, filterErrorf("Attribute %q expects a string value", name)
		}
		str := v.Str
		if a.fold {
			str = strings.ToLower(str)
		}
		if err := checkText(str); err != nil {
			return "", false, err
		}
		return c.compareString(col, op, str)

	case boolAttr:
		if v.Kind != scim.BoolValue {
			return "", false, filterErrorf("Attribute %q expects a boolean value (true or false)", name)
		}
		c.arg(v.Bool)
		return col + " " + sqlOps[op] + " ?", false, nil

	case numberAttr:
		if v.Kind != scim.NumberValue {
			return "", false, filterErrorf("Attribute %q expects a number value", name)
		}
		// Integral values go in as int64 so integer columns compare exactly
		// and drivers do not send a float to an integer parameter.
		if v.Num == math.Trunc(v.Num) && v.Num >= math.MinInt64 && v.Num < -math.MinInt64 {
			c.arg(int64(v.Num))
		} else {
			c.arg(v.Num)
		}
		return compareScalar(col, op)

	case timeAttr:
		if v.Kind != scim.StringValue {
			return "", false, filterErrorf("Attribute %q expects a date-time string value", name)
		}
		t, err := time.Parse(time.RFC3339, v.Str)
		if err != nil {
			return "", false, filterErrorf("Attribute %q expects an RFC 3339 date-time such as \"2024-01-02T03:04:05.000Z\"", name)
		}
		c.arg(t.UTC())
		return compareScalar(col, op)
	}
	return "", false, fmt.Errorf("sqlstore: filter: unhandled kind %d", a.kind)
}

// compareScalar handles the operators shared by Number and Time. ne keeps rows
// where the attribute is unassigned, matching String, because SQL's
// three-valued logic would otherwise drop them silently.
func compareScalar(col, op string) (string, bool, error) {
	if op == "ne" {
		return "(" + col + " IS NULL OR " + col + " <> ?)", true, nil
	}
	return col + " " + sqlOps[op] + " ?", false, nil
}

// checkText rejects strings PostgreSQL cannot store in text, so a filter fails
// the same way on both databases instead of erroring only on PostgreSQL.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return filterErrorf("Filter values must be valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return filterErrorf("Filter values must not contain NUL characters")
	}
	return nil
}

func (c *compiler) compareString(col, op, str string) (string, bool, error) {
	switch op {
	case "eq", "gt", "ge", "lt", "le":
		c.arg(str)
		return col + " " + sqlOps[op] + " ?", false, nil
	case "ne":
		c.arg(str)
		return "(" + col + " IS NULL OR " + col + " <> ?)", true, nil
	case "sw":
		if str == "" {
			return col + " IS NOT NULL", false, nil
		}
		c.arg(str)
		hi, ok := prefixUpperBound(str)
		if !ok {
			return col + " >= ?", false, nil
		}
		c.arg(hi)
		return "(" + col + " >= ? AND " + col + " < ?)", true, nil
	case "co":
		c.arg("%" + escapeLike(str) + "%")
		return col + ` LIKE ? ESCAPE '\'`, false, nil
	case "ew":
		c.arg("%" + escapeLike(str))
		return col + ` LIKE ? ESCAPE '\'`, false, nil
	}
	return "", false, fmt.Errorf("sqlstore: filter: unhandled string operator %q", op)
}

// prefixUpperBound returns the smallest string greater than every string that
// starts with p, in code point (= UTF-8 byte) order. ok is false when no such
// string exists because every rune of p is utf8.MaxRune.
func prefixUpperBound(p string) (string, bool) {
	rs := []rune(p)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i] + 1
		if r >= 0xD800 && r <= 0xDFFF {
			// Surrogates cannot be encoded in UTF-8; the next encodable rune
			// is the first one after the surrogate block.
			r = 0xE000
		}
		if r <= utf8.MaxRune {
			rs[i] = r
			return string(rs[:i+1]), true
		}
	}
	return "", false
}

func escapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '%' || c == '_' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// attribute resolves name and checks that op is allowed for it, returning
// the schema's spelling of the name for messages.
func (s *filterSchema) attribute(name, op string) (string, filterAttr, error) {
	var attrs map[string]filterAttr
	if s != nil {
		attrs = s.attrs
	}
	key, a, ok := lookup(attrs, name)
	if !ok {
		return "", filterAttr{}, s.unknownAttribute(name)
	}
	if a.column == "" || strings.Contains(a.column, "?") {
		return "", filterAttr{}, schemaErrorf("attribute %q: column must be non-empty and contain no ?", key)
	}
	if _, ok := kindOps[a.kind]; !ok {
		return "", filterAttr{}, schemaErrorf("attribute %q has unknown kind %d", key, a.kind)
	}
	allowed := a.allowedOps()
	if !slices.Contains(allowed, op) {
		return "", filterAttr{}, &scim.Error{
			Message:            fmt.Sprintf("Unsupported operator %q for attribute %q", op, key),
			SupportedOperators: allowed,
		}
	}
	return key, a, nil
}

// allowedOps intersects ops with what the kind can compile, so a schema that
// lists an impossible operator still reports an honest SupportedOperators.
func (a filterAttr) allowedOps() []string {
	valid := kindOps[a.kind]
	if a.ops == nil {
		return slices.Clone(valid)
	}
	out := []string{}
	for _, op := range valid {
		if slices.ContainsFunc(a.ops, func(o string) bool { return strings.EqualFold(o, op) }) {
			out = append(out, op)
		}
	}
	return out
}

func (s *filterSchema) unknownAttribute(name string) *scim.Error {
	names := []string{}
	if s != nil {
		for k := range s.attrs {
			names = append(names, k)
		}
		for k := range s.valuePaths {
			if _, dup := s.attrs[k]; !dup {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return &scim.Error{
		Message:             fmt.Sprintf("Unsupported attribute %q in filter", name),
		SupportedAttributes: names,
	}
}

// lookup finds name case-insensitively. An exact match wins; otherwise the
// smallest matching key, so a schema with keys differing only in case still
// resolves deterministically.
func lookup[V any](m map[string]V, name string) (string, V, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	var (
		best  string
		bestV V
		found bool
	)
	for k, v := range m {
		if strings.EqualFold(k, name) && (!found || k < best) {
			best, bestV, found = k, v, true
		}
	}
	return best, bestV, found
}
