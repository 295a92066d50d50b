package console_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/console"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	console.New(console.Options{EnvironmentID: "11111111-1111-4111-8111-111111111111", ClientID: "22222222-2222-4222-8222-222222222222",
		BaseURL: "https://gatehouse.example"}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServes(t *testing.T) {
	srv := server(t)
	cases := []struct {
		path, status, contentType string
		body                      string
	}{
		{"/console/", "200", "text/html; charset=utf-8", `<script type="module" src="/console/assets/js/main.js?v=`},
		{"/console/assets/console.css", "200", "text/css; charset=utf-8", "--primary"},
		{"/console/assets/js/main.js", "200", "text/javascript; charset=utf-8", "import * as auth"},
		{"/console/assets/js/screens/index.js", "200", "text/javascript; charset=utf-8", "export default"},
		{"/console/assets/nope.js", "404", "application/json", `"code":"NOT_FOUND"`},
		{"/console/assets/index.html", "404", "application/json", `"code":"NOT_FOUND"`},
	}
	for _, c := range cases {
		res, body := get(t, srv.URL+c.path)
		if got := res.Status[:3]; got != c.status {
			t.Errorf("%s: status %s, want %s", c.path, got, c.status)
			continue
		}
		if c.contentType != "" && res.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%s: Content-Type %q, want %q", c.path, res.Header.Get("Content-Type"), c.contentType)
		}
		if !strings.Contains(body, c.body) {
			t.Errorf("%s: body lacks %q", c.path, c.body)
		}
		if res.StatusCode == 200 {
			if got := res.Header.Get("Content-Security-Policy"); got != console.CSP {
				t.Errorf("%s: CSP %q", c.path, got)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s: security headers %v", c.path, res.Header)
			}
		}
	}
	res, _ := get(t, srv.URL+"/console?x=1")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/?x=1" {
		t.Errorf("/console: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestConfig(t *testing.T) {
	srv := server(t)
	res, body := get(t, srv.URL+"/console/config.json")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("config: %d %v", res.StatusCode, res.Header)
	}
	var c map[string]string
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"environmentId": "11111111-1111-4111-8111-111111111111", "clientId": "22222222-2222-4222-8222-222222222222",
		"authPath": "https://gatehouse.example", "apiPath": "https://gatehouse.example/v1"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %q, want %q", k, c[k], v)
		}
	}
	if len(c["version"]) != 12 {
		t.Errorf("version %q", c["version"])
	}
}

// The CSP allows no inline script or style: the assets must need none,
// and must load nothing from elsewhere (no CDN, no web fonts).
func TestAssetsNeedNoInlineCodeOrOtherOrigins(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:[^>](?:[^s]|s[^r]|sr[^c]))*?>\s*[^<\s]`)
	checks := []struct {
		ext  string
		bad  *regexp.Regexp
		what string
	}{
		{".html", regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=|<style|javascript:`), "inline style or handler"},
		{".html", inlineScript, "inline script"},
		{".js", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('style'|localStorage`), "unsafe DOM or storage use"},
		{"", regexp.MustCompile(`https?://(?:[a-z0-9-]+\.)+(?:com|net|org|io)(?:/|")`), "another origin"},
		{".css", regexp.MustCompile(`@import|@font-face|url\(`), "an import, font or remote asset"},
	}
	n := 0
	err := filepath.WalkDir("assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, c := range checks {
			if c.ext != "" && filepath.Ext(p) != c.ext {
				continue
			}
			if m := c.bad.Find(b); m != nil {
				t.Errorf("%s holds %s: %q", p, c.what, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("only %d assets found", n)
	}
}
