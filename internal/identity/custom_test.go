package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/identity"
)

// nestedValue is a JSON value nesting depth levels: objects and arrays in
// turn, a string at the bottom.
func nestedValue(depth int) json.RawMessage {
	var b strings.Builder
	for i := range depth {
		if i%2 == 0 {
			b.WriteString(`{"k":`)
		} else {
			b.WriteString(`[`)
		}
	}
	b.WriteString(`"v"`)
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(`}`)
		} else {
			b.WriteString(`]`)
		}
	}
	return json.RawMessage(b.String())
}

// customOfSize is one attribute, "blob", whose name and compact value
// take n bytes (n ≥ 6).
func customOfSize(n int) map[string]json.RawMessage {
	return map[string]json.RawMessage{"blob": json.RawMessage(`"` + strings.Repeat("x", n-len("blob")-2) + `"`)}
}

// TestCustomAttributeBounds: the rules every path that writes custom
// attributes goes through (Apply: the management API's create, replace,
// patch and import) bound their count, size and depth, at the documented
// edges, and name the attribute at fault.
func TestCustomAttributeBounds(t *testing.T) {
	many := func(n int) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := range n {
			m[fmt.Sprintf("attr%03d", i)] = json.RawMessage(`"1"`)
		}
		return m
	}
	spaced := customOfSize(identity.MaxCustomBytes)
	spaced["blob"] = json.RawMessage(" \n" + string(spaced["blob"]) + "\t ") // white space is not stored, not counted
	cases := []struct {
		name   string
		custom map[string]json.RawMessage
		want   []string // "CODE target"; none: accepted
		inner  int64    // the maximumValue of the first detail
	}{
		{"depth 32", map[string]json.RawMessage{"deep": nestedValue(identity.MaxCustomDepth)}, nil, 0},
		{"depth 33", map[string]json.RawMessage{"deep": nestedValue(identity.MaxCustomDepth + 1), "fine": json.RawMessage(`[{"k":1}]`)},
			[]string{"INVALID_VALUE deep"}, identity.MaxCustomDepth},
		{"200 attributes", many(identity.MaxCustomAttributes), nil, 0},
		{"201 attributes", many(identity.MaxCustomAttributes + 1), []string{"SIZE_LIMIT_EXCEEDED attr200"}, identity.MaxCustomAttributes},
		{"16 KiB", customOfSize(identity.MaxCustomBytes), nil, 0},
		{"16 KiB and white space", spaced, nil, 0},
		{"16 KiB and a byte", customOfSize(identity.MaxCustomBytes + 1), []string{"SIZE_LIMIT_EXCEEDED blob"}, identity.MaxCustomBytes},
		{"size names the largest", map[string]json.RawMessage{"a": json.RawMessage(`"` + strings.Repeat("y", 9000) + `"`),
			"b": json.RawMessage(`"` + strings.Repeat("z", 9000) + `0"`)}, []string{"SIZE_LIMIT_EXCEEDED b"}, identity.MaxCustomBytes},
		{"not UTF-8", map[string]json.RawMessage{"shirt": json.RawMessage("\"\xfe\"")}, []string{"INVALID_VALUE shirt"}, 0},
		{"every problem, in name order", map[string]json.RawMessage{"b": nestedValue(40), "a": json.RawMessage("\"\xff\"")},
			[]string{"INVALID_VALUE a", "INVALID_VALUE b"}, 0},
	}
	eachBackend(t, func(t *testing.T, ctx context.Context, w *world) {
		// The schema defines them all (the store does not count them).
		strs := []string{"blob", "a", "b", "shirt"}
		for i := range identity.MaxCustomAttributes + 1 {
			strs = append(strs, fmt.Sprintf("attr%03d", i))
		}
		defineCustom(t, ctx, w.st, w.env, "STRING", false, strs...)
		defineCustom(t, ctx, w.st, w.env, "JSON", false, "deep")
		defineCustom(t, ctx, w.st, w.env, "JSON", true, "fine")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				u := identity.New(w.env, t0)
				before := *u
				in := input(t, `{"username": "custom.bounds"}`)
				in.Custom = tc.custom
				err := identity.Apply(ctx, w.st, w.env, in, u)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					d, err := identity.Decode(u)
					if err != nil || len(d.Custom) != len(tc.custom) {
						t.Errorf("stored %d custom attributes (%v), want %d", len(d.Custom), err, len(tc.custom))
					}
					return
				}
				ds := wantDetails(t, err, tc.want...)
				if string(u.Data) != string(before.Data) || u.Username != before.Username {
					t.Errorf("a refused apply changed the user: %+v", u)
				}
				if tc.inner != 0 && (len(ds) == 0 || ds[0].InnerError == nil || ds[0].InnerError.MaximumValue == nil || *ds[0].InnerError.MaximumValue != tc.inner) {
					t.Errorf("details %+v, want maximumValue %d", ds, tc.inner)
				}
			})
		}
	})
}
