package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Bounds of a user's custom attributes (the members of a user body that
// are not PingOne's). PingOne documents two: an environment has at most
// 200 custom attributes ("User Attributes", PingOne admin guide), and a
// user profile at most 16 KB in all ("Schemas", PingOne Platform API).
// Gatehouse has no schema of custom attributes, so both bound each user:
// at most 200 of them, their names and compact JSON values together at
// most 16 KiB. PingOne documents no depth for JSON attributes; 32 levels
// of objects and arrays is Gatehouse's, deeper than structured data needs.
const (
	MaxCustomAttributes = 200
	MaxCustomBytes      = 16 << 10
	MaxCustomDepth      = 32
)

// checkCustom is every problem of a user's custom attributes, each
// reported at an attribute's name, in name order: values that are not
// UTF-8 text or nest too deep, then one attribute too many, then the total
// size (at the largest attribute, the one to shrink).
func checkCustom(custom map[string]json.RawMessage) []wire.Detail {
	if len(custom) == 0 {
		return nil
	}
	names := make([]string, 0, len(custom))
	for k := range custom {
		names = append(names, k)
	}
	slices.Sort(names)
	var ds []wire.Detail
	total, largest, largestSize := 0, "", -1
	var buf bytes.Buffer
	for _, name := range names {
		raw := custom[name]
		if !utf8.Valid(raw) {
			ds = append(ds, wire.InvalidValue(name, "The value must be valid UTF-8 text."))
			continue
		}
		if jsonDepth(raw) > MaxCustomDepth {
			limit := int64(MaxCustomDepth)
			ds = append(ds, wire.Detail{Code: wire.DetailInvalidValue, Target: name,
				Message:    fmt.Sprintf("A custom attribute nests objects and arrays at most %d levels deep.", MaxCustomDepth),
				InnerError: &wire.InnerError{MaximumValue: &limit}})
			continue
		}
		buf.Reset()
		size := len(raw)
		if json.Compact(&buf, raw) == nil {
			size = buf.Len()
		}
		size += len(name)
		total += size
		if size > largestSize {
			largest, largestSize = name, size
		}
	}
	if len(names) > MaxCustomAttributes {
		limit := int64(MaxCustomAttributes)
		ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: names[MaxCustomAttributes],
			Message: fmt.Sprintf("A user has at most %d custom attributes, not %d: this is the first beyond them in name order.",
				MaxCustomAttributes, len(names)),
			InnerError: &wire.InnerError{MaximumValue: &limit}})
	}
	if total > MaxCustomBytes {
		limit := int64(MaxCustomBytes)
		ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: largest,
			Message: fmt.Sprintf("A user's custom attributes hold at most %d bytes (names and compact JSON values); these hold %d, this one the most.",
				MaxCustomBytes, total),
			InnerError: &wire.InnerError{MaximumValue: &limit}})
	}
	return ds
}

// jsonDepth is how deep a JSON value nests objects and arrays (a scalar is
// 0), read without decoding it.
func jsonDepth(raw []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
