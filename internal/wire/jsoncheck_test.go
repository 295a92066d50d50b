package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func nested(open, close string, n int, inner string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

func TestCheckJSON(t *testing.T) {
	max := float64(wire.MaxJSONDepth)
	deep := map[string]any{"maximumValue": max}
	for _, tc := range []struct {
		name   string
		body   string
		target string         // "" with ok: accepted
		ok     bool           // accepted
		inner  map[string]any // the detail's innerError
	}{
		{"plain", `{"username":"zoë","tags":["a","b"],"n":1.5e3,"t":true,"x":null}`, "", true, nil},
		{"escapes", `{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, "", true, nil},
		{"U+FFFD itself", `{"s":"\ufffd` + "\uFFFD" + `"}`, "", true, nil},
		{"not JSON is the decoder's", `{"username":`, "", true, nil},
		{"empty", ``, "", true, nil},

		{"invalid byte in a value", "{\"username\":\"ab\xffc\"}", "username", false, nil},
		{"truncated sequence", "{\"a\":1,\"username\":\"x\xc3\"}", "username", false, nil},
		{"encoded surrogate", "{\"username\":\"\xed\xa0\x80\"}", "username", false, nil},
		{"overlong encoding", "{\"username\":\"\xc0\xaf\"}", "username", false, nil},
		{"lone high surrogate escape", `{"username":"a\ud800b"}`, "username", false, nil},
		{"high surrogate at the end", `{"username":"a\ud800"}`, "username", false, nil},
		{"lone low surrogate escape", `{"username":"\udc00"}`, "username", false, nil},
		{"reversed pair", `{"username":"\ude00\ud83d"}`, "username", false, nil},
		{"nested member", "{\"address\":{\"locality\":\"ok\",\"region\":\"\xfe\"}}", "address.region", false, nil},
		{"array element", "{\"prefs\":{\"colors\":[\"red\",\"\xff\"]}}", "prefs.colors[1]", false, nil},
		{"object in an array", "{\"emails\":[{\"v\":\"a\"},{\"v\":\"\xff\"}]}", "emails[1].v", false, nil},
		{"member name", "{\"ok\":1,\"pr\xffefs\":1}", "pr\uFFFDefs", false, nil},
		{"escaped name", "{\"\\u0061b\":\"\xff\"}", "ab", false, nil},
		{"top-level string", "\"\xff\"", "", false, nil},
		{"after a deep but allowed value", `{"a":` + nested("[", "]", 10, "") + ",\"b\":\"\xff\"}", "b", false, nil},

		{"64 levels", nested("[", "]", wire.MaxJSONDepth, ""), "", true, nil},
		{"65 levels", nested("[", "]", wire.MaxJSONDepth+1, ""), "[0]", false, deep},
		{"64 levels in a member", `{"a":1,"nested":` + nested(`{"x":`, "}", wire.MaxJSONDepth-1, "1") + "}", "", true, nil},
		{"65 levels in a member", `{"a":1,"nested":` + nested(`{"x":`, "}", wire.MaxJSONDepth, "1") + "}", "nested", false, deep},
		{"9,000 levels", `{"username":"u","nested":` + nested("[", "]", 9000, "") + "}", "nested", false, deep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wire.CheckJSON([]byte(tc.body))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var we *wire.Error
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want INVALID_DATA", err)
			}
			if we.Status != 400 || we.Code != wire.CodeInvalidData || len(we.Details) != 1 {
				t.Fatalf("%d %s %+v, want one 400 INVALID_DATA detail", we.Status, we.Code, we.Details)
			}
			d := we.Details[0]
			if d.Code != wire.DetailInvalidValue || d.Target != tc.target || d.Message == "" {
				t.Errorf("detail %+v, want INVALID_VALUE at %q", d, tc.target)
			}
			var inner map[string]any
			if d.InnerError != nil {
				b, _ := json.Marshal(d.InnerError)
				json.Unmarshal(b, &inner)
			}
			if !reflect.DeepEqual(inner, tc.inner) {
				t.Errorf("innerError %v, want %v", inner, tc.inner)
			}
		})
	}
}

func TestGoldenCheckJSON(t *testing.T) {
	for name, body := range map[string]string{
		"error.400.invalid_data.not_utf8": "{\"address\":{\"locality\":\"\xff\"}}",
		"error.400.invalid_data.too_deep": `{"nested":` + nested("[", "]", 100, "") + "}",
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			wire.WriteError(rec, wire.CheckJSON([]byte(body)))
			if rec.Code != 400 {
				t.Fatalf("status %d", rec.Code)
			}
			compareGolden(t, name, idRE.ReplaceAll(rec.Body.Bytes(), []byte(`"id":"00000000-0000-0000-0000-000000000000"`)))
		})
	}
}

// jsonDepth is the nesting of a valid JSON text, by the standard decoder.
func jsonDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, max := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return max
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			max = maxInt(max, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// FuzzCheckJSON: on valid JSON, CheckJSON refuses exactly the texts that
// are not UTF-8 (outside strings, valid JSON is ASCII) or nest too deep,
// when no \u escape is involved; it never panics on anything.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":\"\xff\"}", `[[[]]]`, `{"a":{"b":[1,"\u00e9"]}}`, `"\ud800"`, `{"x":"\`,
		nested("[", "]", 70, ""), "{\"\xff\":1}", `{"a":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := wire.CheckJSON(b)
		if !json.Valid(b) || bytes.Contains(b, []byte(`\u`)) {
			return
		}
		want := !utf8.Valid(b) || jsonDepth(b) > wire.MaxJSONDepth
		if (err != nil) != want {
			t.Fatalf("CheckJSON(%q) = %v, want refused %v", b, err, want)
		}
	})
}
