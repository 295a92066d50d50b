package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxJSONDepth bounds the nesting of objects and arrays in every JSON body
// the server reads (the management API, the flow API). PingOne's deepest
// shapes nest about ten levels; a body nested thousands deep costs stack
// and time in every decode into a generic value and every walk over one.
const MaxJSONDepth = 64

// Messages of CheckJSON's details.
const (
	msgInvalidUTF8 = "The value must be valid UTF-8 text."
	msgTooDeep     = "The value nests objects and arrays more than 64 levels deep."
)

// CheckJSON looks at a JSON body before it is decoded: Go's decoder puts
// U+FFFD in place of invalid UTF-8 (and of escaped lone surrogates)
// without a word, and follows nesting ten thousand levels deep. A string
// that is not valid UTF-8 text is INVALID_DATA naming the member that holds
// it ("address.locality", "tags[1]"); nesting beyond MaxJSONDepth is
// INVALID_DATA naming the top-level member it starts in. What is not JSON
// at all is left to the decoder that follows.
func CheckJSON(body []byte) error {
	var stack []jsonFrame
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{', '[':
			if len(stack) == MaxJSONDepth {
				max := int64(MaxJSONDepth)
				return InvalidData(Detail{Code: DetailInvalidValue, Target: jsonPath(stack[:1]), Message: msgTooDeep,
					InnerError: &InnerError{MaximumValue: &max}})
			}
			stack = append(stack, jsonFrame{array: c == '[', wantName: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					stack[n-1].wantName = true
				}
			}
		case ':':
			if n := len(stack); n > 0 {
				stack[n-1].wantName = false
			}
		case '"':
			end, valid := scanString(body, i+1)
			if n := len(stack); n > 0 && stack[n-1].wantName {
				stack[n-1].name = body[i+1 : end]
			}
			if !valid {
				return InvalidData(InvalidValue(jsonPath(stack), msgInvalidUTF8))
			}
			i = end
		}
	}
	return nil
}

// jsonFrame is an open object or array: the element's index, or the raw
// name of the member being read.
type jsonFrame struct {
	array    bool
	index    int
	name     []byte
	wantName bool
}

// jsonPath names the member the frames lead to as details do:
// "address.locality", "tags[1]", "profile.emails[0].value".
func jsonPath(stack []jsonFrame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case f.name != nil:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(jsonName(f.name))
		}
	}
	return b.String()
}

// jsonName is a member name's text: its escapes read, and anything that
// is not UTF-8 shown as U+FFFD (the name may be what is at fault).
func jsonName(raw []byte) string {
	var s string
	if json.Unmarshal([]byte(`"`+string(raw)+`"`), &s) == nil {
		return s // the decoder has put U+FFFD in place of what is not UTF-8
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

// scanString reads a JSON string whose text starts at body[i] and returns
// the index of its closing quote (len(body) when it has none) and whether
// its text is valid: UTF-8 throughout, every \u escape of a surrogate one
// half of a pair.
func scanString(body []byte, i int) (int, bool) {
	valid := true
	for i < len(body) {
		c := body[i]
		switch {
		case c == '"':
			return i, valid
		case c == '\\':
			if i+1 < len(body) && body[i+1] == 'u' {
				r, ok := hex4(body, i+2)
				switch {
				case !ok:
					i += 2 // malformed: the decoder says so
					continue
				case r >= 0xD800 && r < 0xDC00:
					if lo, ok := hex4(body, i+8); ok && body[i+6] == '\\' && body[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
						i += 6
					} else {
						valid = false
					}
				case r >= 0xDC00 && r < 0xE000:
					valid = false
				}
				i += 6
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			i += size
		}
	}
	return len(body), valid
}

// hex4 reads four hex digits at body[i:].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
