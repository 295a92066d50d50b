package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The error bodies and list envelope are what PingOne's SDK decodes: their
// bytes are pinned in testdata. Regenerate deliberately with
//
//	go test ./internal/wire -update
var update = flag.Bool("update", false, "rewrite golden files")

var idRE = regexp.MustCompile(`"id":"[0-9a-f-]{36}"`)

func TestGoldenErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		header map[string]string
	}{
		{"error.400.invalid_data.required", wire.InvalidData(wire.Required("name")), 400, nil},
		{"error.400.invalid_data.one_of", wire.InvalidData(wire.OneOf("type", []string{"PRODUCTION", "SANDBOX"})), 400, nil},
		{"error.400.invalid_request", wire.InvalidRequest(wire.InvalidValue("priority", "Invalid value for attribute.")), 400, nil},
		{"error.400.request_failed", wire.RequestFailed("The default population cannot be deleted."), 400, nil},
		{"error.401", wire.Unauthorized(), 401, nil},
		{"error.403", wire.Forbidden(), 403, nil},
		{"error.404", wire.NotFound(""), 404, nil},
		{"error.405", wire.MethodNotAllowed("GET, POST"), 405, map[string]string{"Allow": "GET, POST"}},
		{"error.413", wire.TooLarge(1 << 20), 413, nil},
		{"error.415", wire.UnsupportedMediaType("text/plain"), 415, nil},
		{"error.429", wire.RequestLimited("Too many failed sign-on attempts from this address.", 7,
			time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)), 429, map[string]string{"Retry-After": "7"}},
		{"error.500", errors.New("database exploded: secret internals"), 500, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			wire.WriteError(rec, c.err)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			for k, v := range c.header {
				if rec.Header().Get(k) != v {
					t.Errorf("%s = %q, want %q", k, rec.Header().Get(k), v)
				}
			}
			body := rec.Body.Bytes()
			if !idRE.Match(body) {
				t.Fatalf("no uuid id: %s", body)
			}
			compareGolden(t, c.name, idRE.ReplaceAll(body, []byte(`"id":"00000000-0000-0000-0000-000000000000"`)))
		})
	}
}

func TestGoldenList(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	l := wire.List{
		Links:    wire.Links{"self": {Href: "http://127.0.0.1:8080/v1/environments?limit=1"}, "next": {Href: wire.NextHref("http://127.0.0.1:8080/v1/environments", map[string][]string{"limit": {"1"}}, "b2c1")}},
		Embedded: map[string]any{"environments": []any{map[string]any{"id": "b2c1", "createdAt": wire.Time(ts)}}},
		Count:    2, Size: 1,
	}
	rec := httptest.NewRecorder()
	wire.Write(rec, 200, l)
	compareGolden(t, "list", rec.Body.Bytes())
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, pretty.Bytes(), want)
	}
}
