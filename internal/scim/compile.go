package scim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the type of the column behind an attribute; it decides which
// operators and values make sense.
type Kind int

const (
	String Kind = iota
	Bool
	Number
	Time
)

// Attribute describes one filterable attribute.
type Attribute struct {
	Column string // SQL column or expression, e.g. "u.username_lc"
	Kind   Kind
	Fold   bool     // String only: the column stores a lower-cased copy; compare against strings.ToLower(value)
	Ops    []string // allowed operators (lower-case, incl. "pr"); nil = every operator valid for Kind
}

// Schema is the allow-list for one resource.
type Schema struct {
	// Attributes maps attribute paths, matched case-insensitively, to columns.
	Attributes map[string]Attribute
	// ValuePaths handles attr[filter]: Template contains exactly one %s that
	// receives the compiled inner filter, e.g.
	// "EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND %s)",
	// compiled with Inner.
	ValuePaths map[string]ValuePathSchema
}

// ValuePathSchema describes one attribute usable as attr[filter].
type ValuePathSchema struct {
	Template string
	Inner    *Schema
}

// allOps is the canonical order in which SupportedOperators are reported.
var allOps = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}

var kindOps = map[Kind][]string{
	String: allOps,
	Bool:   {"eq", "ne", "pr"},
	Number: {"eq", "ne", "gt", "ge", "lt", "le", "pr"},
	Time:   {"eq", "ne", "gt", "ge", "lt", "le", "pr"},
}

var sqlOps = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// errSchema marks mistakes in the Schema rather than in the filter.
var errSchema = errors.New("scim: invalid schema")

func schemaErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errSchema}, args...)...)
}

// CompileString = Parse + Compile.
func (s *Schema) CompileString(filter string) (string, []any, error) {
	e, err := Parse(filter)
	if err != nil {
		return "", nil, err
	}
	return s.Compile(e)
}

// Compile turns e into a WHERE fragment (no leading WHERE) and its arguments,
// one per "?" in order. The SQL is the same for SQLite and PostgreSQL; callers
// rebind "?" to "$n" for PostgreSQL.
func (s *Schema) Compile(e Expr) (sql string, args []any, err error) {
	c := &compiler{}
	frag, _, err := c.expr(s, e)
	if err != nil {
		return "", nil, err
	}
	return frag, c.args, nil
}

type compiler struct {
	args []any
}

func (c *compiler) arg(v any) { c.args = append(c.args, v) }

// expr compiles one node. grouped reports whether the fragment is already
// enclosed in its own parentheses, so NOT need not add a second pair.
func (c *compiler) expr(s *Schema, e Expr) (frag string, grouped bool, err error) {
	switch x := e.(type) {
	case *Compare:
		if x != nil {
			return c.compare(s, x)
		}
	case *Present:
		if x != nil {
			return c.present(s, x)
		}
	case *Logical:
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
			return "", false, fmt.Errorf("scim: invalid logical operator %q", x.Op)
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
	case *Not:
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
	case *ValuePath:
		if x != nil {
			return c.valuePath(s, x)
		}
	}
	return "", false, fmt.Errorf("scim: invalid filter expression %T", e)
}

func (c *compiler) valuePath(s *Schema, x *ValuePath) (string, bool, error) {
	var vps map[string]ValuePathSchema
	if s != nil {
		vps = s.ValuePaths
	}
	name, vp, ok := lookup(vps, x.Attr)
	if !ok {
		return "", false, s.unknownAttribute(x.Attr)
	}
	if strings.Count(vp.Template, "%s") != 1 || strings.Contains(vp.Template, "?") {
		// A "?" in the template would shift every argument after it.
		return "", false, schemaErrorf("value path %q: template must contain exactly one %%s and no ?", name)
	}
	inner, _, err := c.expr(vp.Inner, x.Filter)
	if err != nil {
		return "", false, err
	}
	// Parenthesised because the template is opaque: it may contain OR.
	return "(" + strings.Replace(vp.Template, "%s", inner, 1) + ")", true, nil
}

func (c *compiler) present(s *Schema, x *Present) (string, bool, error) {
	_, a, err := s.attribute(x.Attr, "pr")
	if err != nil {
		return "", false, err
	}
	if a.Kind == String {
		// SCIM treats an empty string as unassigned, and the store keeps
		// optional strings as either NULL or "" depending on history.
		return "(" + a.Column + " IS NOT NULL AND " + a.Column + " <> '')", true, nil
	}
	return a.Column + " IS NOT NULL", false, nil
}

func (c *compiler) compare(s *Schema, x *Compare) (string, bool, error) {
	op := strings.ToLower(x.Op)
	name, a, err := s.attribute(x.Attr, op)
	if err != nil {
		return "", false, err
	}
	col := a.Column
	v := x.Value

	if v.Kind == NullValue {
		switch op {
		case "eq":
			return col + " IS NULL", false, nil
		case "ne":
			return col + " IS NOT NULL", false, nil
		}
		return "", false, errorf("Operator %q cannot be used with null (attribute %q)", op, name)
	}

	switch a.Kind {
	case String:
		if v.Kind != StringValue {
			return "", false, errorf("Attribute %q expects a string value", name)
		}
		str := v.Str
		if a.Fold {
			str = strings.ToLower(str)
		}
		if err := checkText(str); err != nil {
			return "", false, err
		}
		return c.compareString(col, op, str)

	case Bool:
		if v.Kind != BoolValue {
			return "", false, errorf("Attribute %q expects a boolean value (true or false)", name)
		}
		c.arg(v.Bool)
		return col + " " + sqlOps[op] + " ?", false, nil

	case Number:
		if v.Kind != NumberValue {
			return "", false, errorf("Attribute %q expects a number value", name)
		}
		// Integral values go in as int64 so integer columns compare exactly
		// and drivers do not send a float to an integer parameter.
		if v.Num == math.Trunc(v.Num) && v.Num >= math.MinInt64 && v.Num < -math.MinInt64 {
			c.arg(int64(v.Num))
		} else {
			c.arg(v.Num)
		}
		return compareScalar(col, op)

	case Time:
		if v.Kind != StringValue {
			return "", false, errorf("Attribute %q expects a date-time string value", name)
		}
		t, err := time.Parse(time.RFC3339, v.Str)
		if err != nil {
			return "", false, errorf("Attribute %q expects an RFC 3339 date-time such as \"2024-01-02T03:04:05.000Z\"", name)
		}
		c.arg(t.UTC())
		return compareScalar(col, op)
	}
	return "", false, fmt.Errorf("scim: unhandled kind %d", a.Kind)
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
		return errorf("Filter values must be valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errorf("Filter values must not contain NUL characters")
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
	return "", false, fmt.Errorf("scim: unhandled string operator %q", op)
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
func (s *Schema) attribute(name, op string) (string, Attribute, error) {
	var attrs map[string]Attribute
	if s != nil {
		attrs = s.Attributes
	}
	key, a, ok := lookup(attrs, name)
	if !ok {
		return "", Attribute{}, s.unknownAttribute(name)
	}
	if a.Column == "" || strings.Contains(a.Column, "?") {
		return "", Attribute{}, schemaErrorf("attribute %q: column must be non-empty and contain no ?", key)
	}
	if _, ok := kindOps[a.Kind]; !ok {
		return "", Attribute{}, schemaErrorf("attribute %q has unknown kind %d", key, a.Kind)
	}
	allowed := a.allowedOps()
	if !slices.Contains(allowed, op) {
		return "", Attribute{}, &Error{
			Message:            fmt.Sprintf("Unsupported operator %q for attribute %q", op, key),
			SupportedOperators: allowed,
		}
	}
	return key, a, nil
}

// allowedOps intersects Ops with what the Kind can compile, so a schema that
// lists an impossible operator still reports an honest SupportedOperators.
func (a Attribute) allowedOps() []string {
	valid := kindOps[a.Kind]
	if a.Ops == nil {
		return slices.Clone(valid)
	}
	out := []string{}
	for _, op := range valid {
		if slices.ContainsFunc(a.Ops, func(o string) bool { return strings.EqualFold(o, op) }) {
			out = append(out, op)
		}
	}
	return out
}

func (s *Schema) unknownAttribute(name string) *Error {
	names := []string{}
	if s != nil {
		for k := range s.Attributes {
			names = append(names, k)
		}
		for k := range s.ValuePaths {
			if _, dup := s.Attributes[k]; !dup {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return &Error{
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
