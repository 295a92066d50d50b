package scim

import (
	"strconv"
	"strings"
)

// Expr is a node of a parsed filter. Implementations: *Compare, *Present,
// *Logical, *Not, *ValuePath.
//
// Every node also has a String method returning a canonical filter in which
// each logical operation is parenthesised, so the tree's shape is visible
// and Parse(e.String()) yields an equal tree (unless the added parentheses
// exceed the nesting limit).
type Expr interface{ isExpr() }

// Compare is "attr op value".
type Compare struct {
	Attr  string
	Op    string // lower-case: eq ne co sw ew gt ge lt le
	Value Value
}

// Present is "attr pr".
type Present struct {
	Attr string
}

// Logical is "left and right" or "left or right".
type Logical struct {
	Op          string // "and" | "or"
	Left, Right Expr
}

// Not is "not (x)".
type Not struct {
	X Expr
}

// ValuePath is "attr[filter]"; the attributes inside Filter are relative to
// Attr.
type ValuePath struct {
	Attr   string
	Filter Expr
}

func (*Compare) isExpr()   {}
func (*Present) isExpr()   {}
func (*Logical) isExpr()   {}
func (*Not) isExpr()       {}
func (*ValuePath) isExpr() {}

// ValueKind is the JSON type of a comparison value.
type ValueKind int

const (
	StringValue ValueKind = iota
	NumberValue
	BoolValue
	NullValue
)

// Value is the literal on the right of a comparison. Only the field matching
// Kind is meaningful.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// String renders v as filter syntax, so it parses back to the same Value.
func (v Value) String() string {
	switch v.Kind {
	case StringValue:
		return quote(v.Str)
	case NumberValue:
		// 'g' with -1 precision is the shortest text that round-trips, and its
		// exponent form (1e+21) is valid JSON number syntax.
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case BoolValue:
		return strconv.FormatBool(v.Bool)
	case NullValue:
		return "null"
	}
	return "?"
}

// quote writes s as a JSON string literal. encoding/json is avoided because it
// escapes <, > and &, which would make canonical forms needlessly noisy.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				const hex = "0123456789abcdef"
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (c *Compare) String() string { return c.Attr + " " + c.Op + " " + c.Value.String() }
func (p *Present) String() string { return p.Attr + " pr" }
func (l *Logical) String() string {
	return "(" + exprString(l.Left) + " " + l.Op + " " + exprString(l.Right) + ")"
}

// Not and ValuePath bring their own brackets, so a Logical operand is
// rendered without its parentheses to avoid adding a nesting level.
func (n *Not) String() string       { return "not (" + bare(n.X) + ")" }
func (v *ValuePath) String() string { return v.Attr + "[" + bare(v.Filter) + "]" }

func bare(e Expr) string {
	if l, ok := e.(*Logical); ok && l != nil {
		s := l.String()
		return s[1 : len(s)-1]
	}
	return exprString(e)
}

func exprString(e Expr) string {
	if s, ok := e.(interface{ String() string }); ok && e != nil {
		return s.String()
	}
	return "<nil>"
}
