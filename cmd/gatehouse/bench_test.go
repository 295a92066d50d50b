package main_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestBenchCommand runs the sign-on flood scenario briefly: it starts its
// own server, signs on, floods, and prints each phase's figures and the
// flood's mix. Its figures are read, not judged here.
func TestBenchCommand(t *testing.T) {
	out, err := exec.Command(binary, "bench", "signon-flood", "--baseline", "300ms", "--duration", "700ms", "--flooders", "3", "--flood-addresses", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		`(?m)^gatehouse bench signon-flood: SQLite, \d+ CPUs .*password pool: \d+ workers, \d+ waiting, 1s wait; a flow fails at 10 failed checks; default rate limits; flooders from 2 address\(es\), the real user from its own$`,
		`(?m)^real sign-on, baseline, no flood \(300ms\): [1-9]\d* completed .* 0 failed; p50 \d+ ms  p90 \d+ ms  p99 \d+ ms  max \d+ ms$`,
		`(?m)^real sign-on, under flood, 3 flooders \(700ms\): \d+ completed .*; p50 `,
		`(?m)^flood: [1-9]\d* requests in .*: [1-9]\d* authorize, [1-9]\d* usernamePassword.check$`,
		`(?m)^ +\d+ × check 400 INVALID_DATA INVALID_CREDENTIALS$`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestBenchBadArguments(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no bootstrap file", nil, []string{"bench"}, "reading the admin credentials"},
		{"unknown run scenario", nil, []string{"bench", "--scenarios", "signon,nope"}, `unknown scenario "nope" in --scenarios`},
		{"no concurrency", nil, []string{"bench", "--concurrency", "0"}, "--concurrency 1 to 10000"},
		{"unknown signing key", nil, []string{"bench", "--signing-key", "PS256"}, `--signing-key is RS256 or ES256, not "PS256"`},
		{"stray argument", nil, []string{"bench", "--json", "run"}, `unexpected argument "run"`},
		{"unknown scenario", nil, []string{"bench", "nope"}, `unknown bench scenario "nope"`},
		{"negative flooders", nil, []string{"bench", "signon-flood", "--flooders", "-1"}, "--flooders 0 to 10000"},
		{"no flood addresses", nil, []string{"bench", "signon-flood", "--flood-addresses", "0"}, "--flood-addresses 1 to 65536"},
		{"bad wait in the environment", []string{"GATEHOUSE_PASSWORD_HASH_WAIT=soon"}, []string{"bench", "signon-flood"}, "GATEHOUSE_PASSWORD_HASH_WAIT must be a duration"},
		{"bad attempts for serve", []string{"GATEHOUSE_MAX_FLOW_PASSWORD_ATTEMPTS=ten"}, nil, "GATEHOUSE_MAX_FLOW_PASSWORD_ATTEMPTS must be a whole number"},
		{"negative queue for serve", nil, []string{"--password-hash-queue", "-1"}, "must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binary, c.args...)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, out)
			}
		})
	}
}
