package scim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits that bound the work a single request can cause. They are far above
// anything PingOne clients send.
const (
	maxLength      = 4096
	maxDepth       = 32
	maxComparisons = 100
)

type tokenKind int

const (
	tEOF tokenKind = iota
	tLParen
	tRParen
	tLBrack
	tRBrack
	tString
	tNumber
	tWord
)

type token struct {
	kind tokenKind
	pos  int    // byte offset in the filter
	text string // source text; for tString the decoded value
	num  float64
}

// describe names a token for error messages, pointing at where it is.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return fmt.Sprintf("string at offset %d", t.pos)
	case tNumber:
		return fmt.Sprintf("number %s at offset %d", t.text, t.pos)
	}
	return fmt.Sprintf("%q at offset %d", t.text, t.pos)
}

// Parse parses a filter in PingOne's SCIM dialect. Errors are *Error.
func Parse(filter string) (Expr, error) {
	if len(filter) > maxLength {
		return nil, errorf("filter is longer than %d bytes", maxLength)
	}
	if strings.Trim(filter, " \t") == "" {
		return nil, errorf("filter is empty")
	}
	if !utf8.ValidString(filter) {
		return nil, errorf("filter is not valid UTF-8")
	}
	toks, err := lex(filter)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen || t.kind == tRBrack {
			return nil, errorf("unbalanced brackets: unexpected %s", t.describe())
		}
		return nil, errorf("expected \"and\", \"or\" or end of filter, found %s", t.describe())
	}
	return e, nil
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isWordChar(c byte) bool {
	return isWordStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, pos: i, text: "("})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, pos: i, text: ")"})
			i++
		case c == '[':
			toks = append(toks, token{kind: tLBrack, pos: i, text: "["})
			i++
		case c == ']':
			toks = append(toks, token{kind: tRBrack, pos: i, text: "]"})
			i++
		case c == '"':
			str, end, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, pos: i, text: str})
			i = end
		case c == '-' || c >= '0' && c <= '9':
			// Consume everything that could belong to the token so that "1and"
			// is reported as a bad number rather than silently split in two.
			j := i + 1
			for j < len(s) && (isWordChar(s[j]) || s[j] == '+') {
				j++
			}
			text := s[i:j]
			if !isJSONNumber(text) {
				return nil, errorf("invalid number %q at offset %d", text, i)
			}
			n, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, errorf("number %s at offset %d is out of range", text, i)
			}
			toks = append(toks, token{kind: tNumber, pos: i, text: text, num: n})
			i = j
		case isWordStart(c):
			j := i + 1
			for j < len(s) && isWordChar(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, pos: i, text: s[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, errorf("unexpected character %q at offset %d", r, i)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

// lexString decodes the JSON string starting at s[start] == '"' and returns
// it with the offset just past the closing quote.
func lexString(s string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(s) {
			return "", 0, errorf("unterminated string starting at offset %d", start)
		}
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c < 0x20:
			// JSON forbids raw control characters in strings; they must be escaped.
			return "", 0, errorf("unescaped control character in string at offset %d", i)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", 0, errorf("unterminated string starting at offset %d", start)
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", 0, errorf("invalid \\u escape in string at offset %d", i)
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A surrogate pair encodes one rune; a lone half decodes to
				// U+FFFD as encoding/json does, keeping values valid UTF-8.
				if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
			continue
		default:
			r, _ := utf8.DecodeRuneInString(s[i+1:])
			return "", 0, errorf("invalid escape \\%c in string at offset %d", r, i)
		}
		i += 2
	}
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// isJSONNumber checks RFC 8259 number syntax, which is stricter than
// strconv.ParseFloat (no leading zeros, hex, underscores, Inf or NaN).
func isJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

var compareOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "ge": true, "lt": true, "le": true,
}

type parser struct {
	toks        []token
	i           int
	depth       int
	comparisons int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i+n]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

// Chains are built iteratively and left-associatively, so long and/or chains
// cost no recursion depth.
func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseFactor()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		right, err := p.parseFactor()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "and", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseFactor() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		return p.group(t, tRParen, ")")
	case tWord:
		switch strings.ToLower(t.text) {
		case "not":
			p.next()
			open := p.peek()
			if open.kind != tLParen {
				return nil, errorf("expected \"(\" after \"not\", found %s", open.describe())
			}
			p.next()
			x, err := p.group(open, tRParen, ")")
			if err != nil {
				return nil, err
			}
			return &Not{X: x}, nil
		case "and", "or":
			// Reserved so that "a eq 1 and or b eq 2" reports the real mistake
			// instead of treating "or" as an attribute name.
			return nil, errorf("expected attribute name, found %s", t.describe())
		}
		return p.parseAttrExpr()
	}
	return nil, errorf("expected attribute name, \"(\" or \"not\", found %s", t.describe())
}

// group parses the filter inside an already-consumed opening bracket.
func (p *parser) group(open token, closeKind tokenKind, closeText string) (Expr, error) {
	p.depth++
	if p.depth > maxDepth {
		return nil, errorf("filter is nested more than %d levels deep", maxDepth)
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != closeKind {
		return nil, errorf("expected %q to close %q at offset %d, found %s", closeText, open.text, open.pos, t.describe())
	}
	p.next()
	p.depth--
	return x, nil
}

func validAttrPath(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" || !isWordStart(seg[0]) {
			return false
		}
	}
	return true
}

func (p *parser) parseAttrExpr() (Expr, error) {
	at := p.next()
	if !validAttrPath(at.text) {
		return nil, errorf("invalid attribute path %q at offset %d", at.text, at.pos)
	}
	if open := p.peek(); open.kind == tLBrack {
		p.next()
		inner, err := p.group(open, tRBrack, "]")
		if err != nil {
			return nil, err
		}
		return &ValuePath{Attr: at.text, Filter: inner}, nil
	}

	opTok := p.peek()
	if opTok.kind != tWord {
		return nil, errorf("expected an operator after %q, found %s", at.text, opTok.describe())
	}
	p.next()
	op := strings.ToLower(opTok.text)
	if op != "pr" && !compareOps[op] {
		return nil, errorf("unknown operator %q at offset %d", opTok.text, opTok.pos)
	}
	p.comparisons++
	if p.comparisons > maxComparisons {
		return nil, errorf("filter has more than %d comparisons", maxComparisons)
	}
	if op == "pr" {
		return &Present{Attr: at.text}, nil
	}

	vt := p.peek()
	var v Value
	switch vt.kind {
	case tString:
		v = Value{Kind: StringValue, Str: vt.text}
	case tNumber:
		v = Value{Kind: NumberValue, Num: vt.num}
	case tWord:
		switch strings.ToLower(vt.text) {
		case "true":
			v = Value{Kind: BoolValue, Bool: true}
		case "false":
			v = Value{Kind: BoolValue, Bool: false}
		case "null":
			v = Value{Kind: NullValue}
		default:
			return nil, errorf("invalid value %q at offset %d: expected a string, number, true, false or null", vt.text, vt.pos)
		}
	default:
		return nil, errorf("expected a value after %q, found %s", opTok.text, vt.describe())
	}
	p.next()
	return &Compare{Attr: at.text, Op: op, Value: v}, nil
}
