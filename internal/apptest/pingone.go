package apptest

import (
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

// resumeExample is PingOne's documented response of GET /as/resume for a
// pi.flow flow (the seed's step 8), byte for byte.
//
//go:embed testdata/resume.piflow.response.json
var resumeExample []byte

// resumeOrder is the order PingOne prints the resume body's members in.
var resumeOrder = regexp.MustCompile(`(?s)^\{"_links":.*"_embedded":.*"id":.*"environment":.*"session":.*"resumeUrl":.*"status":.*"createdAt":.*"expiresAt":.*"authorizeResponse":`)

// CheckResumeShape checks a resume body against PingOne's example: the
// same key paths with the same JSON kinds, in PingOne's member order.
// extra names key paths the body may add (authorizeResponse.state when
// the request sent a state).
func CheckResumeShape(t testing.TB, body []byte, extra ...string) {
	t.Helper()
	var seed, got any
	if err := json.Unmarshal(resumeExample, &seed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("resume body is not JSON: %s", body)
	}
	want, have := map[string]string{}, map[string]string{}
	KeyPaths("", seed, want)
	KeyPaths("", got, have)
	for _, k := range extra {
		want[k] = "string"
	}
	if !reflect.DeepEqual(want, have) {
		t.Errorf("resume keys differ from PingOne's example:\n got %v\nwant %v", slices.Sorted(maps.Keys(have)), slices.Sorted(maps.Keys(want)))
	}
	if !resumeOrder.Match(body) {
		t.Errorf("member order differs from PingOne's: %s", body)
	}
}

// KeyPaths records every key path of a JSON value ("a.b", "a.c[]") and
// the kind of its value.
func KeyPaths(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = reflect.TypeOf(c).Kind().String()
			KeyPaths(p, c, out)
		}
	case []any:
		for _, c := range x {
			KeyPaths(prefix+"[]", c, out)
		}
	}
}

// Browser is an HTTP client with a cookie jar that does not follow
// redirects, so that each hop of a sign-on can be checked.
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
