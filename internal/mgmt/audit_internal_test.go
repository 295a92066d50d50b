package mgmt

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// patternMux is a ServeMux that keeps the patterns registered on it.
type patternMux struct {
	*http.ServeMux
	patterns []string
}

func (m *patternMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// TestWriteActionsCoverRoutes holds the table of write actions and the
// routes to each other, both ways: each key is a route the API registers
// (the mux picks exactly that pattern for a request to it) and each
// action type is one Gatehouse knows; and each write route the API
// registers (POST, PUT, PATCH, DELETE under /v1) has an entry, or is a
// read by POST, so a new write route without one fails here.
func TestWriteActionsCoverRoutes(t *testing.T) {
	mux := &patternMux{ServeMux: http.NewServeMux()}
	(&API{}).routes(mux)
	covered := map[string]bool{}
	for key := range writeActions {
		pattern, _, _ := strings.Cut(key, ";")
		covered[pattern] = true
	}
	writes := 0
	for _, pattern := range mux.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		writes++
		switch {
		case covered[pattern] && readsByPost[pattern]:
			t.Errorf("%s is both a write with an action and a read by POST", pattern)
		case !covered[pattern] && !readsByPost[pattern]:
			t.Errorf("write route %s has no entry in writeActions (nor in readsByPost)", pattern)
		}
	}
	// Not vacuous: the routes were seen.
	if writes < len(covered) {
		t.Fatalf("%d write routes registered, fewer than the %d the table names", writes, len(covered))
	}
	for pattern := range readsByPost {
		if method, _, _ := strings.Cut(pattern, " "); method != http.MethodPost {
			t.Errorf("read by POST %s: not a POST", pattern)
		}
		if !slices.Contains(mux.patterns, pattern) {
			t.Errorf("read by POST %s: not a registered route", pattern)
		}
	}

	param := regexp.MustCompile(`\{[^}]+\}`)
	for key, wa := range writeActions {
		pattern, _, _ := strings.Cut(key, ";")
		method, path, _ := strings.Cut(pattern, " ")
		r := httptest.NewRequest(method, param.ReplaceAllString(path, "x"), nil)
		if _, got := mux.Handler(r); got != pattern {
			t.Errorf("%s: the mux serves %s with %q", key, path, got)
		}
		for _, typ := range []string{wa.typ, wa.failed} {
			if _, ok := audit.Actions[typ]; typ != "" && !ok {
				t.Errorf("%s: unknown action type %s", key, typ)
			}
		}
		if wa.id != "" && !strings.Contains(path, "{"+wa.id+"}") {
			t.Errorf("%s: no path parameter %s", key, wa.id)
		}
	}
}

func TestVendorType(t *testing.T) {
	for in, want := range map[string]string{
		"application/vnd.pingidentity.password.set+json":                     "password.set",
		"application/vnd.pingidentity.password.forceChange":                  "password.forcechange",
		"application/json, application/vnd.pingidentity.account.unlock+json": "account.unlock",
		"application/json":  "",
		"not a media type;": "",
	} {
		if got := vendorType([]string{in}); got != want {
			t.Errorf("vendorType(%q) = %q, want %q", in, got, want)
		}
	}
}
