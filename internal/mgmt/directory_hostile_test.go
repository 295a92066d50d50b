package mgmt_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestDirectoryHostileInput sends every route of the directory resources
// (groups, memberships, nesting, group role assignments, schemas and
// attributes, agreements, languages, revisions, consents, user sessions,
// session settings) what a careless or hostile caller sends: a wrong
// content type, malformed or non-object JSON, wrong member types, an
// oversized body, ids that are not UUIDs or carry SQL, bad filters and
// query parameters. Each answer is PingOne's error body with a 4xx status,
// never a 5xx, and the resources are unchanged afterwards.
func TestDirectoryHostileInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testDirectoryHostileInput(t, s)
		})
	}
}

func testDirectoryHostileInput(t *testing.T, s *apptest.Server) {
	c := groupAPI{newCfgAPI(t, s, "Hostile")}
	g := c.create(t, map[string]any{"name": "Staff"})
	parent := c.create(t, map[string]any{"name": "Parents"})
	u := c.user(t, "hostile", "")
	c.ok(t, "POST", "/users/"+u+"/memberOfGroups", map[string]any{"id": g}, http.StatusCreated)
	c.ok(t, "POST", "/groups/"+g+"/memberOfGroups", map[string]any{"id": parent}, http.StatusCreated)
	schema := userSchema(t, s, c.env)
	attr := checkID(t, c.ok(t, "POST", "/schemas/"+schema+"/attributes", sdkSchemaAttribute("shirtSize"), http.StatusCreated), "id")
	agr := newAgreementFixture(t, c.cfgAPI, "Terms")

	// What the environment holds before, read back after the sweep.
	snapshot := func() []string {
		var out []string
		for _, p := range []string{"/groups/" + g + "?include=totalMemberCounts", "/groups/" + parent, "/users/" + u,
			"/users/" + u + "/memberOfGroups", "/groups/" + g + "/memberOfGroups", "/schemas/" + schema + "/attributes/" + attr,
			agr.base, agr.enPath, agr.revisionsP, "/sessionSettings", "/users/" + u + "/agreementConsents"} {
			r := c.do(t, "GET", p, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", p, r.Status, trimBody(r.Body))
			}
			out = append(out, string(withoutAggregation(t, r.Body)))
		}
		return out
	}
	before := snapshot()

	writes := []struct{ method, path string }{
		{"POST", "/groups"},
		{"PUT", "/groups/" + g},
		{"POST", "/groups/" + g + "/memberOfGroups"},
		{"POST", "/groups/" + g + "/roleAssignments"},
		{"POST", "/users/" + u + "/memberOfGroups"},
		{"POST", "/schemas/" + schema + "/attributes"},
		{"PUT", "/schemas/" + schema + "/attributes/" + attr},
		{"PATCH", "/schemas/" + schema + "/attributes/" + attr},
		{"POST", "/agreements"},
		{"PUT", agr.base},
		{"POST", agr.base + "/languages"},
		{"PUT", agr.enPath},
		{"POST", agr.revisionsP},
		{"PUT", "/sessionSettings"},
	}
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, w := range writes {
		for _, body := range []struct {
			name, ct string
			body     any
			status   int
		}{
			{"text/plain", "text/plain", `{"name":"x"}`, http.StatusUnsupportedMediaType},
			{"no content type", "-", `{"name":"x"}`, http.StatusUnsupportedMediaType},
			{"malformed", "", `{"name":`, http.StatusBadRequest},
			{"trailing data", "", `{"name":"x"} {}`, http.StatusBadRequest},
			{"an array", "", `[]`, http.StatusBadRequest},
			{"a string", "", `"x"`, http.StatusBadRequest},
			{"null", "", `null`, http.StatusBadRequest},
			{"empty", "", ``, http.StatusBadRequest},
			{"wrong member types", "", `{"name":5,"id":{},"enabled":"yes","population":"p","type":[],"locale":1,"text":false,
"effectiveAt":"yesterday","idleTimeoutInMinutes":"ten","maxLifetimeInMinutes":-1,"role":{"id":7},"scope":{"id":[],"type":{}},
"enumeratedValues":"S","regexValidation":"(","customData":[1]}`, http.StatusBadRequest},
			{"NUL", "", `{"name":"a\u0000b","id":"a\u0000b","locale":"e\u0000n","text":"\u0000"}`, http.StatusBadRequest},
			{"oversized", "", big, http.StatusRequestEntityTooLarge},
		} {
			req := apptest.Request{Method: w.method, URL: c.url(w.path), Token: c.tok, Body: body.body, ContentType: body.ct}
			if w.method == "PATCH" && body.ct == "" {
				req.ContentType = "application/json"
			}
			r := doNo5xx(t, s, req)
			if r.Status != body.status {
				t.Errorf("%s %s (%s): %d, want %d: %s", w.method, w.path, body.name, r.Status, body.status, trimBody(r.Body))
				continue
			}
			checkErrorShape(t, w.method+" "+w.path+" ("+body.name+")", r)
		}
	}

	// Ids that are no UUID, are another resource's, or carry SQL: 404
	// (or PingOne's 400 for a body id), never a 5xx.
	for _, bad := range []string{"nope", "' OR '1'='1", "00000000-0000-0000-0000-000000000000", strings.Repeat("a", 5000),
		url.PathEscape(`"); DROP TABLE users; --`), g + "%00"} {
		for _, r := range []struct{ method, path string }{
			{"GET", "/groups/" + bad}, {"PUT", "/groups/" + bad}, {"DELETE", "/groups/" + bad},
			{"GET", "/groups/" + bad + "/memberOfGroups"}, {"GET", "/groups/" + g + "/memberOfGroups/" + bad},
			{"DELETE", "/groups/" + g + "/memberOfGroups/" + bad}, {"GET", "/groups/" + bad + "/roleAssignments"},
			{"GET", "/users/" + bad + "/memberOfGroups"}, {"GET", "/users/" + u + "/memberOfGroups/" + bad},
			{"DELETE", "/users/" + u + "/memberOfGroups/" + bad}, {"GET", "/schemas/" + bad},
			{"GET", "/schemas/" + schema + "/attributes/" + bad}, {"DELETE", "/schemas/" + schema + "/attributes/" + bad},
			{"GET", "/agreements/" + bad}, {"DELETE", "/agreements/" + bad}, {"GET", agr.base + "/languages/" + bad},
			{"GET", agr.revisionsP + "/" + bad}, {"GET", agr.revisionsP + "/" + bad + "/text"},
			{"GET", "/users/" + u + "/agreementConsents/" + bad}, {"GET", "/users/" + bad + "/sessions"},
			{"GET", "/users/" + u + "/sessions/" + bad}, {"DELETE", "/users/" + u + "/sessions/" + bad},
		} {
			var body any
			if r.method == "PUT" {
				body = map[string]any{"name": "Renamed"}
			}
			resp := doNo5xx(t, s, apptest.Request{Method: r.method, URL: c.url(r.path), Token: c.tok, Body: body})
			if resp.Status != http.StatusNotFound && resp.Status != http.StatusBadRequest {
				t.Errorf("%s %s: %d, want 404 (or 400): %s", r.method, r.path, resp.Status, trimBody(resp.Body))
				continue
			}
			checkErrorShape(t, r.method+" "+r.path, resp)
		}
		for _, p := range []string{"/groups/" + g + "/memberOfGroups", "/users/" + u + "/memberOfGroups"} {
			resp := doNo5xx(t, s, apptest.Request{Method: "POST", URL: c.url(p), Token: c.tok, Body: map[string]any{"id": bad}})
			if resp.Status != http.StatusBadRequest && resp.Status != http.StatusNotFound {
				t.Errorf("POST %s id %q: %d, want 400: %s", p, bad, resp.Status, trimBody(resp.Body))
			}
		}
	}

	// Bad filters and query parameters on every list.
	for _, list := range []string{"/groups", "/users", "/users/" + u + "/memberOfGroups", "/groups/" + g + "/memberOfGroups",
		"/schemas", "/schemas/" + schema + "/attributes", "/agreements", agr.base + "/languages", agr.revisionsP,
		"/users/" + u + "/agreementConsents", "/users/" + u + "/sessions"} {
		for _, q := range []string{"filter=" + url.QueryEscape(`name eq`), "filter=" + url.QueryEscape(`(name eq "x"`),
			"filter=" + url.QueryEscape(`name eq "x' OR 1=1 --"`), "filter=" + url.QueryEscape(`memberOfGroups[id eq "`+g+`' OR 1=1"]`),
			"filter=" + url.QueryEscape(`memberOfGroups[name eq "x"]`), "filter=" + url.QueryEscape(`shirtSize eq "S') OR 1=1 --"`),
			"filter=" + url.QueryEscape(`shirt'Size eq "S"`), "filter=" + url.QueryEscape(strings.Repeat(`(`, 5000)),
			"limit=-1", "limit=abc", "limit=99999999999999999999", "cursor=" + url.QueryEscape("'; --"), "expand=" + url.QueryEscape("'x"),
			"include=" + url.QueryEscape("'x"), "filter=" + url.QueryEscape(`id eq "`+strings.Repeat("€", 3000)+`"`)} {
			resp := doNo5xx(t, s, apptest.Request{Method: "GET", URL: c.url(list + "?" + q), Token: c.tok})
			if resp.Status != http.StatusOK && resp.Status != http.StatusBadRequest {
				t.Errorf("GET %s?%s: %d, want 200 or 400: %s", list, q, resp.Status, trimBody(resp.Body))
			} else if resp.Status == http.StatusBadRequest {
				checkErrorShape(t, "GET "+list+"?"+q, resp)
			}
		}
	}

	// A consent revoke with another media type, a body, or for an
	// unknown agreement.
	for _, r := range []struct {
		ct     string
		path   string
		status int
	}{
		{"application/json", "/users/" + u + "/agreementConsents/" + agr.id, http.StatusUnsupportedMediaType},
		{"text/plain", "/users/" + u + "/agreementConsents/" + agr.id, http.StatusUnsupportedMediaType},
		{"application/vnd.pingidentity.consent.revoke+json", "/users/" + u + "/agreementConsents/nope", http.StatusNotFound},
	} {
		resp := doNo5xx(t, s, apptest.Request{Method: "POST", URL: c.url(r.path), Token: c.tok, Headers: http.Header{"Content-Type": {r.ct}}})
		if resp.Status != r.status {
			t.Errorf("revoke %s %s: %d, want %d: %s", r.ct, r.path, resp.Status, r.status, trimBody(resp.Body))
		}
	}

	time.Sleep(10 * time.Millisecond)
	after := snapshot()
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("changed by refused requests:\n%s\n%s", before[i], after[i])
		}
	}
}

// checkErrorShape asserts PingOne's error body: id, code and message.
func checkErrorShape(t *testing.T, what string, r *apptest.Response) {
	t.Helper()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%s: content type %q", what, r.Header.Get("Content-Type"))
		return
	}
	m := r.JSON(t)
	for _, k := range []string{"id", "code", "message"} {
		if v, _ := m[k].(string); v == "" {
			t.Errorf("%s: error body without %s: %s", what, k, trimBody(r.Body))
		}
	}
}
