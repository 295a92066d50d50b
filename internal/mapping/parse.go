package mapping

import (
	"slices"
	"strconv"
	"strings"
)

// parser reads one placeholder's body, up to its closing brace, by
// recursive descent over this grammar (SpEL's precedence):
//
//	expr    = or [ "?" expr ":" expr | "?:" expr ]
//	or      = and { ("or" | "||") and }
//	and     = eq { ("and" | "&&") eq }
//	eq      = add [ ("==" | "!=") add ]
//	add     = unary { "+" unary }
//	unary   = "!" unary | "-" number | postfix
//	postfix = primary { "." name [ "(" args ")" ] | "[" expr "]" }
//	primary = string | number | true | false | null | "(" expr ")"
//	        | "#" library "." function "(" args ")" | "#root" "." path | path
type parser struct {
	src   string
	pos   int
	nodes int
	depth int
	roots Roots
}

// clientFields are what ${client.…} and ${application.…} reach.
var clientFields = []string{"id", "name"}

func (p *parser) placeholder() (node, error) {
	p.skip()
	if p.peek("}") {
		return nil, errorf("The expression ${} is empty.")
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos >= len(p.src) {
		return nil, errorf("The expression is not closed with }.")
	}
	if p.src[p.pos] != '}' {
		return nil, errorf("Unexpected %q at position %d of the expression.", p.rest(), p.pos+1)
	}
	p.pos++
	return n, nil
}

func (p *parser) rest() string {
	r := p.src[p.pos:]
	if i := strings.IndexByte(r, '}'); i >= 0 {
		r = r[:i]
	}
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *parser) skip() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) peek(tok string) bool {
	p.skip()
	return strings.HasPrefix(p.src[p.pos:], tok)
}

func (p *parser) eat(tok string) bool {
	if p.peek(tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// eatWord eats a word operator (and, or) not followed by a name character.
func (p *parser) eatWord(w string) bool {
	if !p.peek(w) {
		return false
	}
	end := p.pos + len(w)
	if end < len(p.src) && isNameByte(p.src[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) add(n node) (node, error) {
	p.nodes++
	if p.nodes > maxNodes {
		return nil, errorf("The expression is too complex.")
	}
	return n, nil
}

func (p *parser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 32 {
		return nil, errorf("The expression is nested too deeply.")
	}
	cond, err := p.or()
	if err != nil {
		return nil, err
	}
	switch {
	case p.eat("?:"):
		alt, err := p.expr()
		if err != nil {
			return nil, err
		}
		return p.add(&elvis{cond, alt})
	case p.eat("?"):
		yes, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.eat(":") {
			return nil, errorf("The conditional expression lacks its ':' part.")
		}
		no, err := p.expr()
		if err != nil {
			return nil, err
		}
		return p.add(&ternary{cond, yes, no})
	}
	return cond, nil
}

func (p *parser) or() (node, error) {
	a, err := p.and()
	for err == nil && (p.eatWord("or") || p.eat("||")) {
		var b node
		if b, err = p.and(); err == nil {
			a, err = p.add(&logical{a: a, b: b})
		}
	}
	return a, err
}

func (p *parser) and() (node, error) {
	a, err := p.eq()
	for err == nil && (p.eatWord("and") || p.eat("&&")) {
		var b node
		if b, err = p.eq(); err == nil {
			a, err = p.add(&logical{a: a, b: b, and: true})
		}
	}
	return a, err
}

func (p *parser) eq() (node, error) {
	a, err := p.concat()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!="} {
		if p.eat(op) {
			b, err := p.concat()
			if err != nil {
				return nil, err
			}
			return p.add(&equal{a: a, b: b, negate: op == "!="})
		}
	}
	return a, nil
}

func (p *parser) concat() (node, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	if !p.peek("+") {
		return a, nil
	}
	ops := []node{a}
	for p.eat("+") {
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		ops = append(ops, b)
	}
	// + concatenates strings; PingOne's mappings have no use for
	// arithmetic, and a sum of numbers is refused rather than joined.
	if !slices.ContainsFunc(ops, func(n node) bool { _, isNum := numberOf(n); return !isNum }) {
		return nil, errorf("Arithmetic is not supported: + concatenates strings.")
	}
	return p.add(&concat{ops})
}

func numberOf(n node) (any, bool) {
	l, ok := n.(literal)
	if !ok {
		return nil, false
	}
	switch l.v.(type) {
	case int64, float64:
		return l.v, true
	}
	return nil, false
}

func (p *parser) unary() (node, error) {
	if p.peek("!=") {
		return nil, errorf("Unexpected %q at position %d of the expression.", p.rest(), p.pos+1)
	}
	if p.eat("!") {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return p.add(&not{x})
	}
	if p.eat("-") {
		// A negative number (substring positions from the end).
		p.skip()
		if p.pos >= len(p.src) || p.src[p.pos] < '0' || p.src[p.pos] > '9' {
			return nil, errorf("Arithmetic is not supported: - only makes negative numbers.")
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		switch v := n.(literal).v.(type) {
		case int64:
			return literal{-v}, nil
		case float64:
			return literal{-v}, nil
		}
	}
	return p.postfix()
}

func (p *parser) postfix() (node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.eat("."):
			name := p.name()
			if name == "" {
				return nil, errorf("A property name is expected at position %d of the expression.", p.pos+1)
			}
			if p.eat("(") {
				fn := methods[name]
				if fn == nil {
					return nil, errorf("The method %s() is not supported.", name)
				}
				args, err := p.args(fn, n)
				if err != nil {
					return nil, err
				}
				if n, err = p.add(&call{fn: fn, args: args}); err != nil {
					return nil, err
				}
				continue
			}
			if n, err = p.property(n, name); err != nil {
				return nil, err
			}
		case p.eat("["):
			key, err := p.expr()
			if err != nil {
				return nil, err
			}
			if !p.eat("]") {
				return nil, errorf("The index is not closed with ].")
			}
			if l, ok := key.(literal); ok {
				if s, ok := l.v.(string); ok {
					if n, err = p.property(n, s); err != nil {
						return nil, err
					}
					continue
				}
			}
			if n, err = p.add(&index{obj: n, key: key}); err != nil {
				return nil, err
			}
		default:
			return n, nil
		}
	}
}

// property reads name below n: a path grows, checked against what its
// root offers; anything else is indexed.
func (p *parser) property(n node, name string) (node, error) {
	pa, ok := n.(*path)
	if !ok {
		return p.add(&index{obj: n, key: literal{name}})
	}
	switch {
	case pa.root == RootClient && len(pa.names) == 0 && !slices.Contains(clientFields, name):
		return nil, errorf("The client has no attribute %s: use id or name.", name)
	case pa.root == RootClient && len(pa.names) > 0:
		return nil, errorf("The client's %s has no attribute %s.", pa.names[0], name)
	case pa.root == RootUser && len(pa.names) == 0 && (name == GroupNames || name == GroupIDs):
		p.roots |= RootGroups
	}
	pa.names = append(pa.names, name)
	return pa, nil
}

func (p *parser) args(fn *function, recv node) ([]node, error) {
	var args []node
	if recv != nil {
		args = append(args, recv)
	}
	if !p.eat(")") {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.eat(")") {
				break
			}
			if !p.eat(",") {
				return nil, errorf("The arguments of %s are not closed with ).", fn.name)
			}
		}
	}
	if !slices.Contains(fn.arity, len(args)) {
		return nil, errorf("%s takes %s.", fn.name, arityText(fn.arity, recv != nil))
	}
	return args, nil
}

func arityText(ar []int, method bool) string {
	parts := make([]string, len(ar))
	for i, n := range ar {
		if method {
			n--
		}
		parts[i] = strconv.Itoa(n)
	}
	s := strings.Join(parts, " or ")
	if s == "1" {
		return "1 argument"
	}
	return s + " arguments"
}

func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *parser) name() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	if start < p.pos && p.src[start] >= '0' && p.src[start] <= '9' {
		p.pos = start
		return ""
	}
	return p.src[start:p.pos]
}

func (p *parser) primary() (node, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, errorf("The expression is not closed with }.")
	}
	c := p.src[p.pos]
	switch {
	case c == '\'' || c == '"':
		s, err := p.quoted(c)
		if err != nil {
			return nil, err
		}
		return p.add(literal{s})
	case c >= '0' && c <= '9':
		return p.number()
	case c == '(':
		p.pos++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, errorf("A parenthesis is not closed.")
		}
		return n, nil
	case c == '#':
		p.pos++
		lib := p.name()
		if lib == "root" {
			if !p.peek(".") {
				return nil, errorf("#root alone is not supported: use #root.user.")
			}
			p.eat(".")
			switch p.name() {
			case "user":
				p.roots |= RootUser
				return p.add(&path{root: RootUser})
			case "context":
				// PingOne's request context (requestData, appConfig) is
				// not given to mappings here: refused now rather than
				// mapped to nothing in every token.
				return nil, errorf("Gatehouse does not evaluate the request context (#root.context): map user, client or application attributes.")
			}
			return nil, errorf("#root has no such attribute: use #root.user.")
		}
		if !p.eat(".") {
			return nil, errorf("The variable #%s is not supported.", lib)
		}
		fname := "#" + lib + "." + p.name()
		fn := libraries[fname]
		if fn == nil {
			return nil, errorf("The function %s is not supported.", fname)
		}
		if !p.eat("(") {
			return nil, errorf("%s is a function: call it with (…).", fname)
		}
		args, err := p.args(fn, nil)
		if err != nil {
			return nil, err
		}
		return p.add(&call{fn: fn, args: args})
	}
	name := p.name()
	switch name {
	case "":
		return nil, errorf("Unexpected %q at position %d of the expression.", p.rest(), p.pos+1)
	case "true", "false":
		return p.add(literal{name == "true"})
	case "null":
		return p.add(literal{nil})
	case "user":
		p.roots |= RootUser
		return p.add(&path{root: RootUser})
	case "client", "application":
		p.roots |= RootClient
		return p.add(&path{root: RootClient})
	}
	return nil, errorf("Unknown attribute source %s: expressions reference user, client or application.", name)
}

// quoted reads a string literal; a doubled quote stands for itself.
func (p *parser) quoted(q byte) (string, error) {
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		if c != q {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == q {
			b.WriteByte(q)
			p.pos++
			continue
		}
		return b.String(), nil
	}
	return "", errorf("A string literal is not closed.")
}

func (p *parser) number() (node, error) {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
		p.pos++
	}
	text := p.src[start:p.pos]
	if p.pos < len(p.src) && (p.src[p.pos] == 'L' || p.src[p.pos] == 'l') {
		p.pos++
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return p.add(literal{i})
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, errorf("%s is not a number.", text)
	}
	return p.add(literal{f})
}
