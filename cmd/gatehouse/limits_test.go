package main_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLimitFlags: the rate limits and trusted proxies reach the server
// from env vars and flags (a flag overriding its env var), and bad values
// stop the start with a message naming them.
func TestLimitFlags(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	// Two failures per address from the env; the flag trusts the local
	// proxy, so each X-Forwarded-For address has its own two.
	p := start(t, dir, []string{"GATEHOUSE_LIMIT_CLIENT_AUTH_FAILURES_PER_ADDRESS=2/1h", "GATEHOUSE_TRUSTED_PROXIES=192.0.2.0/24"},
		"--listen", addr, "--trusted-proxies", "127.0.0.1/32")
	waitReady(t, p, base)
	admin, _ := readAdmin(t, filepath.Join(dir, "gatehouse-admin.json"))
	wrong := func(from string) int {
		req, _ := http.NewRequest("POST", base+"/"+admin.EnvironmentID+"/as/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		req.SetBasicAuth(url.QueryEscape(admin.ClientID), "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "1800" {
			t.Errorf("Retry-After %q, want 1800", resp.Header.Get("Retry-After"))
		}
		return resp.StatusCode
	}
	var got []int
	for _, from := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"} {
		got = append(got, wrong(from))
	}
	if want := []int{401, 401, 429, 401}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	stop(t, p)

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad rate flag", nil, []string{"--limit-flows-per-address", "lots"}, `invalid value "lots" for flag -limit-flows-per-address`},
		{"bad rate env", []string{"GATEHOUSE_LIMIT_CHECK_FAILURES_PER_USER=5/fortnight"}, nil, "GATEHOUSE_LIMIT_CHECK_FAILURES_PER_USER"},
		{"bad code-send rate env", []string{"GATEHOUSE_LIMIT_CODE_SENDS_PER_USER=five/10m"}, nil, "GATEHOUSE_LIMIT_CODE_SENDS_PER_USER"},
		{"bad registration rate flag", nil, []string{"--limit-registrations-per-address", "20/eon"}, `invalid value "20/eon" for flag -limit-registrations-per-address`},
		{"bad count env", []string{"GATEHOUSE_LIMIT_LIVE_FLOWS_PER_ENVIRONMENT=many"}, nil, "GATEHOUSE_LIMIT_LIVE_FLOWS_PER_ENVIRONMENT must be a whole number"},
		{"negative count", nil, []string{"--limit-max-keys", "-1"}, "cannot be negative"},
		{"bad proxy", []string{"GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8,proxy.internal"}, nil, `--trusted-proxies: trusted proxy "proxy.internal"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"--listen", freeAddr(t)}, c.args...)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
				t.Fatalf("exit: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
		})
	}
}
