package httpx_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// TestCallerRequestID: a caller's X-Request-Id is the request's id only
// when it is 1 to 128 visible ASCII characters; anything else (bytes that
// are not UTF-8, controls, spaces, too long) is replaced by a fresh UUID,
// in the answer's header and in the handler's context alike.
func TestCallerRequestID(t *testing.T) {
	var seen string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { seen = httpx.RequestID(r.Context()) })
	h := httpx.Router(mux, nil, slog.New(slog.DiscardHandler))
	long := strings.Repeat("a", 128)
	cases := []struct {
		name, id string
		kept     bool
	}{
		{"plain", "req-1", true},
		{"128 characters", long, true},
		{"punctuation", "a:b/c=d_e.f~g", true},
		{"none", "", false},
		{"129 characters", long + "a", false},
		{"not UTF-8", "req-\xff\xfe", false},
		{"UTF-8 beyond ASCII", "req-é", false},
		{"tab", "req\t1", false},
		{"space", "req 1", false},
		{"DEL", "req\x7f", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = ""
			req := httptest.NewRequest("GET", "/x", nil)
			if tc.id != "" {
				req.Header["X-Request-Id"] = []string{tc.id}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			got := w.Header().Get("X-Request-Id")
			if got != seen {
				t.Fatalf("answered id %q, handler saw %q", got, seen)
			}
			if tc.kept {
				if got != tc.id {
					t.Errorf("id = %q, want the caller's %q", got, tc.id)
				}
				return
			}
			if uuid.Validate(got) != nil {
				t.Errorf("id = %q, want a fresh UUID instead of %q", got, tc.id)
			}
		})
	}
}
