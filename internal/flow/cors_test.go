package flow_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestCORS: a custom sign-on page on an origin the application's
// corsSettings allow may call the flow API with the browser's cookies;
// any other origin gets no CORS headers, so the browser refuses it.
func TestCORS(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	e := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{
		"loginPageUrl": "https://login.example.com/signon",
		"corsSettings": map[string]any{"behavior": "ALLOW_SPECIFIC_ORIGINS", "origins": []string{"https://login.example.com", "https://*.apps.example.com"}}}})}
	other := &env{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
	f, _ := e.start(t, nil, "USERNAME_PASSWORD_REQUIRED")
	g, _ := other.start(t, nil, "USERNAME_PASSWORD_REQUIRED")

	preflight := func(flowURL, origin string) *resp {
		return send(t, f.c, "OPTIONS", flowURL, "", nil, "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type")
	}
	cases := []struct {
		name, url, origin string
		allowed           bool
	}{
		{"listed origin", f.url, "https://login.example.com", true},
		{"wildcard subdomain", f.url, "https://eu.apps.example.com", true},
		{"the bare wildcard domain", f.url, "https://apps.example.com", false},
		{"other scheme", f.url, "http://login.example.com", false},
		{"other port", f.url, "https://login.example.com:8443", false},
		{"unlisted origin", f.url, "https://evil.example.net", false},
		{"application without corsSettings", g.url, "https://login.example.com", false},
		{"unknown flow", e.base() + "/flows/00000000-0000-4000-8000-000000000000", "https://login.example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := preflight(tc.url, tc.origin)
			if r.status != http.StatusNoContent {
				t.Fatalf("preflight status %d", r.status)
			}
			got := r.header.Get("Access-Control-Allow-Origin")
			if tc.allowed != (got == tc.origin) || (!tc.allowed && got != "") {
				t.Fatalf("Allow-Origin %q for %s", got, tc.origin)
			}
			if tc.allowed {
				if r.header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
					!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "content-type") {
					t.Errorf("preflight headers %v", r.header)
				}
			}
		})
	}
	// The actual requests: allowed origins read the flow and its errors.
	r := send(t, f.c, "GET", f.url, "", nil, "Origin", "https://login.example.com")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://login.example.com" {
		t.Fatalf("GET: %d %v", r.status, r.header)
	}
	r = send(t, f.c, "POST", f.url, ctCheck, jsonBody(t, creds(e.fx.Username, "wrong-Password-1")), "Origin", "https://login.example.com")
	if r.status != 400 || r.header.Get("Access-Control-Allow-Origin") != "https://login.example.com" {
		t.Fatalf("POST error: %d %v", r.status, r.header)
	}
	r = send(t, f.c, "GET", f.url, "", nil, "Origin", "https://evil.example.net")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an unlisted origin was allowed: %v", r.header)
	}
}
