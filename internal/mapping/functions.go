package mapping

import (
	"strings"
	"time"
	"unicode/utf8"
)

// function is one function an expression may call: a library function
// (#string.upperCase(x)) or a method of a string (x.toUpperCase()), whose
// receiver is its first argument. Every function answers nil for a nil
// input, as PingOne's libraries do.
type function struct {
	name  string
	arity []int // the numbers of arguments it takes, receiver included
	run   func(args []any) any
}

func str(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

func integer(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

func stringFn(f func(string) any) func([]any) any {
	return func(a []any) any {
		s, ok := str(a[0])
		if !ok {
			return nil
		}
		return f(s)
	}
}

// substring is #string.substring: rune positions, negative ones counted
// from the end, "" when start is not left of end.
func substring(a []any) any {
	s, ok := str(a[0])
	if !ok {
		return nil
	}
	r := []rune(s)
	n := len(r)
	start, ok := integer(a[1])
	if !ok {
		return nil
	}
	end := n
	if len(a) > 2 {
		if end, ok = integer(a[2]); !ok {
			return nil
		}
	}
	fix := func(i int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, end = fix(start), fix(end)
	if start >= end {
		return ""
	}
	return string(r[start:end])
}

// toUnixTimestamp is #datetime.toUnixTimestamp: seconds since the epoch
// of an ISO 8601 date.
func toUnixTimestamp(a []any) any {
	switch t := a[0].(type) {
	case time.Time:
		return t.Unix()
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02Z07:00", "2006-01-02"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.Unix()
			}
		}
	}
	return nil
}

// The string functions PingOne's library and Java's string methods share.
var (
	upperCase = stringFn(func(s string) any { return strings.ToUpper(s) })
	lowerCase = stringFn(func(s string) any { return strings.ToLower(s) })
	trim      = stringFn(func(s string) any { return strings.TrimSpace(s) })
)

// libraries are PingOne's custom library functions Gatehouse serves, by
// "#library.function".
var libraries = map[string]*function{
	"#string.upperCase":         {arity: []int{1}, run: upperCase},
	"#string.lowerCase":         {arity: []int{1}, run: lowerCase},
	"#string.trim":              {arity: []int{1}, run: trim},
	"#string.substring":         {arity: []int{2, 3}, run: substring},
	"#string.isNotEmpty":        {arity: []int{1}, run: func(a []any) any { s, _ := str(a[0]); return s != "" }},
	"#string.isNotBlank":        {arity: []int{1}, run: func(a []any) any { s, _ := str(a[0]); return strings.TrimSpace(s) != "" }},
	"#datetime.toUnixTimestamp": {arity: []int{1}, run: toUnixTimestamp},
}

// methods are the methods of a string (Java's) an expression may call.
var methods = map[string]*function{
	"toUpperCase": {arity: []int{1}, run: upperCase},
	"toLowerCase": {arity: []int{1}, run: lowerCase},
	"trim":        {arity: []int{1}, run: trim},
	"isEmpty": {arity: []int{1}, run: func(a []any) any {
		s, ok := str(a[0])
		return !ok || s == ""
	}},
	"length":    {arity: []int{1}, run: stringFn(func(s string) any { return int64(utf8.RuneCountInString(s)) })},
	"substring": {arity: []int{2, 3}, run: substring},
}

func init() {
	for name, f := range libraries {
		f.name = name
	}
	for name, f := range methods {
		f.name = "." + name
	}
}
