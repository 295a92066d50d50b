// Package mapping compiles and evaluates PingOne attribute mapping
// expressions: the value of a resource's or an application's attribute
// mapping, e.g. "${user.email}", "Hello ${user.name.given}!",
// "${#string.upperCase(user.name.family) + ', ' + user.name.given}".
//
// PingOne's expression language is SpEL with libraries of its own. This
// package understands the part of it that mappings reach for most — paths
// into the user and the client, literals, string concatenation, the
// ternary and Elvis operators, equality, and a closed list of functions —
// and refuses everything else when the mapping is configured, so that a
// mapping never fails silently at token time. Evaluation is bounded: no
// loops, no reflection, a compiled tree of at most maxNodes nodes over a
// value of at most MaxLength bytes.
package mapping

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// MaxLength is the longest mapping value accepted.
const MaxLength = 4096

// maxNodes bounds a compiled expression's tree (and so its evaluation).
const maxNodes = 256

// Roots are the sources an expression reads.
type Roots uint8

const (
	// RootUser is ${user.…}: a token about a user.
	RootUser Roots = 1 << iota
	// RootClient is ${client.…} / ${application.…}: the application the
	// token is issued to.
	RootClient
	// RootGroups is ${user.memberOfGroupNames} / ${user.memberOfGroupIDs}:
	// the groups the user belongs to, which are not in the user's document
	// and are read only for an expression that names them (set with
	// RootUser).
	RootGroups
)

// The user attributes that list the groups a user belongs to, directly or
// through nested groups (PingOne's group membership claims).
const (
	GroupNames = "memberOfGroupNames"
	GroupIDs   = "memberOfGroupIDs"
)

// Data is what an expression is evaluated against. User is the user's
// document (identity.Document), nil when the token has no user; Client
// holds the application's id and name.
type Data struct {
	User   map[string]any
	Client map[string]any
}

// Expr is a compiled mapping value.
type Expr struct {
	// parts alternate literal text and placeholders; a value that is one
	// placeholder keeps the type of what it evaluates to.
	parts []part
	roots Roots
}

type part struct {
	text string
	node node // nil for text
}

// Roots reports which sources e reads.
func (e *Expr) Roots() Roots { return e.roots }

// Error is a compile error: what is wrong and where.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Compile parses a mapping value. A value without ${ is a literal.
func Compile(value string) (*Expr, error) {
	if len(value) > MaxLength {
		return nil, errorf("The expression is longer than %d characters.", MaxLength)
	}
	e := &Expr{}
	rest := value
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			e.parts = append(e.parts, part{text: rest})
			break
		}
		if i > 0 {
			e.parts = append(e.parts, part{text: rest[:i]})
		}
		p := &parser{src: rest[i+2:]}
		n, err := p.placeholder()
		if err != nil {
			return nil, err
		}
		e.parts = append(e.parts, part{node: n})
		e.roots |= p.roots
		rest = rest[i+2+p.pos:]
	}
	return e, nil
}

// Eval evaluates e against d. It reports false when the mapping yields
// nothing: a path to no value, an empty string, a null.
func (e *Expr) Eval(d *Data) (any, bool) {
	if len(e.parts) == 1 {
		p := e.parts[0]
		if p.node == nil {
			return p.text, p.text != ""
		}
		return present(p.node.eval(&scope{d: d}))
	}
	var b strings.Builder
	found := false
	for _, p := range e.parts {
		if p.node == nil {
			b.WriteString(p.text)
			continue
		}
		if v, ok := present(p.node.eval(&scope{d: d})); ok {
			b.WriteString(stringify(v))
			found = true
		}
	}
	if !found {
		// Text around placeholders that all yield nothing is nothing.
		return nil, false
	}
	return b.String(), true
}

// present turns what evaluated into a claim value: nothing for nil and
// empty strings; times as PingOne writes them.
func present(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, x != ""
	case time.Time:
		if x.IsZero() {
			return nil, false
		}
		return x.UTC().Format(wire.TimeFormat), true
	}
	return v, true
}

func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return x.UTC().Format(wire.TimeFormat)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- the tree

type scope struct {
	d *Data
}

type node interface {
	eval(s *scope) any
}

type literal struct{ v any }

func (n literal) eval(*scope) any { return n.v }

// path is a root and the property names below it.
type path struct {
	root  Roots
	names []string
}

func (n *path) eval(s *scope) any {
	var cur any
	switch n.root {
	case RootUser:
		cur = s.d.User
	case RootClient:
		cur = s.d.Client
	}
	for _, name := range n.names {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[name]
	}
	if m, ok := cur.(map[string]any); ok && m == nil {
		return nil
	}
	return cur
}

// index is a[b]: a property of an object by name.
type index struct{ obj, key node }

func (n *index) eval(s *scope) any {
	m, ok := n.obj.eval(s).(map[string]any)
	if !ok {
		return nil
	}
	k, ok := n.key.eval(s).(string)
	if !ok {
		return nil
	}
	return m[k]
}

type concat struct{ ops []node }

func (n *concat) eval(s *scope) any {
	var b strings.Builder
	for _, op := range n.ops {
		b.WriteString(stringify(op.eval(s)))
	}
	return b.String()
}

type equal struct {
	a, b   node
	negate bool
}

func (n *equal) eval(s *scope) any {
	return same(n.a.eval(s), n.b.eval(s)) != n.negate
}

// same is SpEL's ==: null equals only null, numbers by value whatever
// their type, strings and booleans by value; other values (objects,
// arrays) are never equal.
func same(x, y any) bool {
	x, y = normNum(x), normNum(y)
	switch a := x.(type) {
	case nil:
		return y == nil
	case string:
		b, ok := y.(string)
		return ok && a == b
	case float64:
		b, ok := y.(float64)
		return ok && a == b
	case bool:
		b, ok := y.(bool)
		return ok && a == b
	}
	return false
}

func normNum(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return v
}

type not struct{ x node }

func (n *not) eval(s *scope) any { return !truthy(n.x.eval(s)) }

type logical struct {
	a, b node
	and  bool
}

func (n *logical) eval(s *scope) any {
	if n.and {
		return truthy(n.a.eval(s)) && truthy(n.b.eval(s))
	}
	return truthy(n.a.eval(s)) || truthy(n.b.eval(s))
}

type ternary struct{ cond, yes, no node }

func (n *ternary) eval(s *scope) any {
	if truthy(n.cond.eval(s)) {
		return n.yes.eval(s)
	}
	return n.no.eval(s)
}

// elvis is a ?: b — SpEL's: b when a is null or an empty string.
type elvis struct{ a, b node }

func (n *elvis) eval(s *scope) any {
	v := n.a.eval(s)
	if v == nil || v == "" {
		return n.b.eval(s)
	}
	return v
}

func truthy(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

// call is a library function or a method of a string, from a closed list.
type call struct {
	fn   *function
	args []node
}

func (n *call) eval(s *scope) any {
	vals := make([]any, len(n.args))
	for i, a := range n.args {
		vals[i] = a.eval(s)
	}
	return n.fn.run(vals)
}
