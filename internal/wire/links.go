package wire

import (
	"bytes"
	"encoding/json"
	"slices"
)

// MarshalJSON writes the links as encoding/json writes a map, keys sorted,
// without its reflection: every resource carries links, a user a dozen,
// and the map encoder's per-entry copies were a good part of a response's
// allocations. The output is the same byte for byte: HTML escaping, when
// the caller's encoder wants it, is applied to what this returns.
func (l Links) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("null"), nil
	}
	keys := make([]string, 0, len(l))
	size := 2
	for k, v := range l {
		keys = append(keys, k)
		size += len(k) + len(v.Href) + 16
	}
	slices.Sort(keys)
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, k)
		out = append(out, `:{"href":`...)
		out = appendString(out, l[k].Href)
		out = append(out, '}')
	}
	return append(out, '}'), nil
}

// appendString appends s as a JSON string. Printable ASCII other than the
// quote and backslash stands for itself; anything else goes through
// encoding/json, so that its escapes stay the standard library's.
func appendString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(out, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}
