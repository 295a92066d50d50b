package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Links encode exactly as encoding/json encodes the same map, with HTML
// escaping on (json.Marshal) and off (Write's encoder).
func TestLinksMarshalLikeAMap(t *testing.T) {
	cases := []struct {
		name  string
		links Links
	}{
		{"nil", nil},
		{"empty", Links{}},
		{"one", Links{"self": {Href: "https://gatehouse.example/v1/environments/e1"}}},
		{"sorted", Links{"self": {Href: "/a"}, "password.reset": {Href: "/p"}, "environment": {Href: "/e"}, "password": {Href: "/p"}}},
		{"query", Links{"next": {Href: "https://h/v1/x?limit=2&cursor=abc&filter=name%20sw%20%22a%22"}}},
		{"escapes", Links{"q\"\\": {Href: "<b>&\u2028\u00e9\x01\n\t\xff"}, "é": {Href: ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, html := range []bool{true, false} {
				got, want := encode(t, c.links, html), encode(t, map[string]Href(c.links), html)
				if got != want {
					t.Errorf("escapeHTML %v:\n got %s\nwant %s", html, got, want)
				}
				type inStruct struct {
					Links Links `json:"_links"`
				}
				type asMap struct {
					Links map[string]Href `json:"_links"`
				}
				got, want = encode(t, inStruct{c.links}, html), encode(t, asMap{c.links}, html)
				if got != want {
					t.Errorf("in a struct, escapeHTML %v:\n got %s\nwant %s", html, got, want)
				}
			}
		})
	}
}

func encode(t *testing.T, v any, html bool) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
