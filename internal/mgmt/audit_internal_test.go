package mgmt

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// TestWriteActionsCoverRoutes holds the table of write actions to the
// routes: each key is a route the API registers (the mux picks exactly
// that pattern for a request to it), and each action type is one
// Gatehouse knows.
func TestWriteActionsCoverRoutes(t *testing.T) {
	mux := http.NewServeMux()
	(&API{}).Routes(mux)
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
