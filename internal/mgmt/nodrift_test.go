package mgmt_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The no-drift suite does to every management resource what PingOne's
// Terraform provider does on refresh and plan: it reads a resource twice and
// expects the same bytes, writes back exactly what it read and expects
// nothing to change, and expects every field PingOne always returns to be
// there (false rather than absent, [] rather than absent where PingOne does
// so). A missing field is drift: the provider reads it as null where its
// plan said false, and fails the apply.
//
// Each file registers its resources with registerDrift from an init
// function, so the suite grows with the resources and stays one test.

// driftCase is one kind of resource.
type driftCase struct {
	name string
	// create makes one resource (and whatever it depends on) in envID with
	// the admin token and returns its URL, a path under /v1.
	create func(t *testing.T, s *apptest.Server, tok, envID string) string
	// always lists the paths PingOne always returns: "a.b" names a member
	// of an object; "a[].b" names a member of every element of array a;
	// "a[]" asks for a (possibly empty) array.
	always []string
	// noPut marks a resource PingOne reads but does not PUT (keys' PUT
	// changes only the status, role assignments and linked accounts are
	// create-and-delete only).
	noPut bool
	// put overrides the URL the GET body is PUT back to (for resources
	// whose read and write URLs differ); empty means the same URL.
	put string
	// volatile lists top-level members a PUT may change: updatedAt.
	volatile []string
}

var (
	driftMu    sync.Mutex
	driftCases []driftCase
)

// registerDrift adds cases to the suite; call it from init.
func registerDrift(cs ...driftCase) {
	driftMu.Lock()
	defer driftMu.Unlock()
	driftCases = append(driftCases, cs...)
}

func TestNoDrift(t *testing.T) {
	if len(driftCases) == 0 {
		t.Fatal("no resources registered")
	}
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			envID := newEnv(t, s, "No drift", "SANDBOX")
			for _, c := range driftCases {
				t.Run(c.name, func(t *testing.T) { checkDrift(t, s, tok, envID, c) })
			}
		})
	}
}

func checkDrift(t *testing.T, s *apptest.Server, tok, envID string, c driftCase) {
	url := c.create(t, s, tok, envID)
	first := driftGet(t, s, tok, url)
	var doc any
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if missing := missingPaths(doc, c.always); len(missing) > 0 {
		t.Errorf("GET %s lacks what PingOne always returns: %s\n%s", url, strings.Join(missing, ", "), trimBody(first))
	}
	if again := driftGet(t, s, tok, url); !bytes.Equal(first, again) {
		t.Fatalf("a second GET differs:\n%s\n%s", first, again)
	}
	if c.noPut {
		return
	}
	put := url
	if c.put != "" {
		put = c.put
	}
	r := doNo5xx(t, s, apptest.Request{Method: http.MethodPut, URL: put, Token: tok, Body: first})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT of what GET returned: %d %s", r.Status, trimBody(r.Body))
	}
	volatile := append([]string{"updatedAt"}, c.volatile...)
	if d := driftDiff(t, first, r.Body, volatile); d != "" {
		t.Errorf("the PUT answered something else than what was PUT: %s", d)
	}
	after := driftGet(t, s, tok, url)
	if d := driftDiff(t, first, after, volatile); d != "" {
		t.Errorf("a PUT of what GET returned changed the resource: %s", d)
	}
	if !bytes.Equal(after, driftGet(t, s, tok, url)) {
		t.Error("after the PUT, two GETs differ")
	}
	if put == url && !bytes.Equal(driftComparable(t, r.Body, nil), driftComparable(t, after, nil)) {
		t.Errorf("the PUT's answer and the next GET differ:\n%s\n%s", r.Body, after)
	}
}

func driftGet(t *testing.T, s *apptest.Server, tok, url string) []byte {
	t.Helper()
	r := doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: url, Token: tok})
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.Status, trimBody(r.Body))
	}
	return r.Body
}

// driftComparable re-encodes a body without its volatile top-level members.
func driftComparable(t *testing.T, body []byte, volatile []string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, trimBody(body))
	}
	for _, k := range volatile {
		delete(m, k)
	}
	out, _ := json.Marshal(m)
	return out
}

// driftDiff names the paths where a and b differ, ignoring volatile members.
func driftDiff(t *testing.T, a, b []byte, volatile []string) string {
	t.Helper()
	var x, y any
	json.Unmarshal(driftComparable(t, a, volatile), &x)
	json.Unmarshal(driftComparable(t, b, volatile), &y)
	var diffs []string
	diffValues("", x, y, &diffs)
	return strings.Join(diffs, "; ")
}

func diffValues(path string, x, y any, out *[]string) {
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if xok && yok {
		keys := map[string]bool{}
		for k := range xm {
			keys[k] = true
		}
		for k := range ym {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			xv, xin := xm[k]
			yv, yin := ym[k]
			switch {
			case !xin:
				*out = append(*out, p+" appeared")
			case !yin:
				*out = append(*out, p+" went missing")
			default:
				diffValues(p, xv, yv, out)
			}
		}
		return
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	if !bytes.Equal(xb, yb) {
		*out = append(*out, path+": "+string(xb)+" → "+string(yb))
	}
}

// missingPaths lists the paths of want that doc lacks.
func missingPaths(doc any, want []string) []string {
	var missing []string
	for _, p := range want {
		if !hasPath(doc, strings.Split(p, ".")) {
			missing = append(missing, p)
		}
	}
	return missing
}

func hasPath(v any, parts []string) bool {
	if len(parts) == 0 {
		return true
	}
	name, each := strings.CutSuffix(parts[0], "[]")
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	child, ok := m[name]
	if !ok {
		return false
	}
	if !each {
		return hasPath(child, parts[1:])
	}
	arr, ok := child.([]any)
	if !ok {
		return false
	}
	for _, el := range arr {
		if !hasPath(el, parts[1:]) {
			return false
		}
	}
	return true
}

func TestDriftPaths(t *testing.T) {
	var doc any
	json.Unmarshal([]byte(`{"a":{"b":false},"c":[{"d":1},{"d":2}],"e":[],"f":[{"d":1},{}],"n":null}`), &doc)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"a.b", true}, {"a", true}, {"a.x", false}, {"c[].d", true}, {"e[]", true}, {"e[].d", true},
		{"f[].d", false}, {"a[]", false}, {"n", true}, {"n.x", false}, {"z", false},
	} {
		if got := hasPath(doc, strings.Split(tc.path, ".")); got != tc.want {
			t.Errorf("hasPath(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	var diffs []string
	var x, y any
	json.Unmarshal([]byte(`{"a":1,"b":{"c":true,"d":[1]},"e":"x"}`), &x)
	json.Unmarshal([]byte(`{"a":1,"b":{"c":false,"d":[1]},"f":"x"}`), &y)
	diffValues("", x, y, &diffs)
	want := []string{"b.c: true → false", "e went missing", "f appeared"}
	if !slices.Equal(diffs, want) {
		t.Errorf("diff = %q, want %q", diffs, want)
	}
}

func init() {
	registerDrift(driftCase{
		name: "population",
		create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
			return "/environments/" + envID + "/populations/" + newPop(t, s, envID, "Drift population")
		},
		// PingOne gives every population its environment's default theme
		// unless it names one, and "en" unless it names a language.
		always: []string{"_links.self.href", "_links.environment.href", "_links.theme.href", "id", "environment.id", "name", "userCount",
			"createdAt", "updatedAt", "default", "preferredLanguage", "theme.id"},
	})
}
