package main_test

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// benchJSON is what `gatehouse bench --json` prints.
type benchJSON struct {
	URL             string
	EnvironmentID   string
	CPUs            int
	GOMAXPROCS      int
	DurationSeconds float64
	Concurrency     int
	SigningAlg      string
	Floors          []struct {
		Name      string
		PerSecond float64
		Samples   []float64
	}
	Scenarios []struct {
		Scenario                      string
		Requests, Errors, RateLimited int64
		PerSecond, P50Ms, P99Ms       float64
		Floor                         string
		FloorPerSecond, Ratio         float64
		ErrorKinds                    map[string]int64
	}
	Hints []string
}

// benchServer is a live server for the bench to measure, its flow limit
// per address lifted as the bench's help tells operators to.
func benchServer(t *testing.T, limits func(*ratelimit.Config)) *apptest.Server {
	cfg := ratelimit.Defaults()
	cfg.FlowsPerAddress = ratelimit.Rate{}
	if limits != nil {
		limits(&cfg)
	}
	return apptest.Start(t, apptest.Options{Limits: &cfg})
}

// benchEnvironments are the environments the bench left behind.
func benchEnvironments(t *testing.T, s *apptest.Server) []string {
	t.Helper()
	res := s.Do(t, apptest.Request{Method: "GET", URL: "/environments", Token: s.AdminToken(t)})
	var list struct {
		Embedded struct{ Environments []struct{ ID, Name string } } `json:"_embedded"`
	}
	res.Decode(t, &list)
	var left []string
	for _, e := range list.Embedded.Environments {
		if e.Name != "Administrators" {
			left = append(left, e.Name+" "+e.ID)
		}
	}
	return left
}

func runBench(t *testing.T, s *apptest.Server, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"bench", "--bootstrap-file", filepath.Join(s.Dir, "gatehouse-admin.json")}, args...)...)
	cmd.Dir = t.TempDir()
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// TestBenchRun runs every scenario briefly against a live server: each
// makes requests and none fails, the JSON holds every figure, each
// crypto-bound scenario its floor and ratio, and the environment the
// bench made is gone.
func TestBenchRun(t *testing.T) {
	s := benchServer(t, nil)
	stdout, stderr, exit := runBench(t, s, "--duration", "300ms", "--concurrency", "2", "--floor-duration", "50ms", "--json")
	if exit != 0 {
		t.Fatalf("exit %d\n%s\n%s", exit, stdout, stderr)
	}
	var rep benchJSON
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if rep.URL != s.URL || rep.EnvironmentID == "" || rep.CPUs < 1 || rep.GOMAXPROCS < 1 || rep.DurationSeconds != 0.3 || rep.Concurrency != 2 ||
		rep.SigningAlg != "RS256" || rep.Hints == nil || len(rep.Hints) != 0 {
		t.Errorf("report head: %+v", rep)
	}
	floors := map[string]float64{}
	for _, f := range rep.Floors {
		floors[f.Name] = f.PerSecond
		if len(f.Samples) != 2 || f.PerSecond != max(f.Samples[0], f.Samples[1]) {
			t.Errorf("floor %s: %v/s of samples %v", f.Name, f.PerSecond, f.Samples)
		}
	}
	for _, name := range []string{"RS256 sign", "RS256 verify", "ES256 sign", "ES256 verify", "argon2id hash"} {
		if floors[name] <= 0 {
			t.Errorf("floor %q: %v (floors %+v)", name, floors[name], rep.Floors)
		}
	}
	wantFloor := map[string]string{"client_credentials": "RS256 sign", "introspection": "RS256 verify", "signon": "argon2id hash"}
	var names []string
	for _, sc := range rep.Scenarios {
		names = append(names, sc.Scenario)
		if sc.Requests <= 0 || sc.Errors != 0 || sc.RateLimited != 0 || sc.ErrorKinds != nil || sc.PerSecond <= 0 || sc.P50Ms <= 0 || sc.P99Ms < sc.P50Ms {
			t.Errorf("%s: %+v", sc.Scenario, sc)
		}
		f := wantFloor[sc.Scenario]
		if sc.Floor != f || (f == "") != (sc.Ratio == 0) || sc.FloorPerSecond != floors[f] || (f != "" && math.Abs(sc.Ratio-sc.PerSecond/sc.FloorPerSecond) > 0.001) {
			t.Errorf("%s: floor %q %v ratio %v, want floor %q", sc.Scenario, sc.Floor, sc.FloorPerSecond, sc.Ratio, f)
		}
		if !regexp.MustCompile(`(?m)^` + sc.Scenario + ` [\d,]+ ops/s, 0 errors$`).MatchString(stderr) {
			t.Errorf("stderr lacks %s's last progress line:\n%s", sc.Scenario, stderr)
		}
	}
	if want := []string{"client_credentials", "introspection", "signon", "user_create", "user_get", "user_list", "authorize"}; !slices.Equal(names, want) {
		t.Errorf("scenarios %v, want %v", names, want)
	}
	if left := benchEnvironments(t, s); len(left) != 0 {
		t.Errorf("environments left: %v", left)
	}
	if res := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + rep.EnvironmentID, Token: s.AdminToken(t)}); res.Status != http.StatusNotFound {
		t.Errorf("the bench's environment: %d", res.Status)
	}
}

// TestBenchTable is the table an operator reads, for the scenarios asked
// in --scenarios (in the bench's own order), with no floors measured,
// the environment signing with an EC key the bench made its default.
func TestBenchTable(t *testing.T) {
	s := benchServer(t, nil)
	stdout, stderr, exit := runBench(t, s, "--duration", "200ms", "--concurrency", "2", "--floor-duration", "0", "--scenarios", "user_get, client_credentials",
		"--signing-key", "ES256")
	if exit != 0 {
		t.Fatalf("exit %d\n%s\n%s", exit, stdout, stderr)
	}
	for _, want := range []string{
		`^gatehouse bench: http://127\.0\.0\.1:\d+, ES256 access tokens; 0\.2 s per scenario, concurrency 2; this machine: \d+ CPUs \(GOMAXPROCS \d+\)\n\n`,
		`\n +scenario +ops/s +p50 +p99 +ops +errors +floor +ratio\n +client_credentials +[\d,]+ +[\d.]+ ms +[\d.]+ ms +[\d,]+ +0 +ES256 sign +-\n +user_get +[\d,]+ +[\d.]+ ms +[\d.]+ ms +[\d,]+ +0 +- +-\n$`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("output lacks %s:\n%s", want, stdout)
		}
	}
	if left := benchEnvironments(t, s); len(left) != 0 {
		t.Errorf("environments left: %v", left)
	}
}

// TestBenchRateLimited: with the server's default limit of unfinished
// flows per address (here a tight one), authorize meets 429s; the bench
// counts them as errors and names the flag that lifts the limit.
func TestBenchRateLimited(t *testing.T) {
	s := benchServer(t, func(c *ratelimit.Config) { c.FlowsPerAddress = ratelimit.Rate{N: 5, Per: time.Minute} })
	stdout, stderr, exit := runBench(t, s, "--duration", "300ms", "--concurrency", "2", "--floor-duration", "0", "--scenarios", "authorize", "--json")
	if exit != 0 {
		t.Fatalf("exit %d\n%s\n%s", exit, stdout, stderr)
	}
	var rep benchJSON
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rep.Scenarios) != 1 {
		t.Fatalf("scenarios: %+v", rep.Scenarios)
	}
	sc := rep.Scenarios[0]
	const refusal = "429 temporarily_unavailable: Too many sign-ons in progress from this address. Retry after the delay Retry-After gives."
	if sc.Scenario != "authorize" || sc.Requests <= sc.Errors || sc.Errors == 0 || sc.RateLimited != sc.Errors || sc.ErrorKinds[refusal] != sc.Errors {
		t.Errorf("authorize: %+v", sc)
	}
	want := []string{"authorize: 429s (sign-ons in progress from this address): for a benchmark from one address, start the server with --limit-flows-per-address off"}
	if !slices.Equal(rep.Hints, want) {
		t.Errorf("hints %q, want %q", rep.Hints, want)
	}
	if left := benchEnvironments(t, s); len(left) != 0 {
		t.Errorf("environments left: %v", left)
	}
}

// TestBenchInterrupted: Ctrl-C ends the scenario under way and the bench
// still deletes its environment.
func TestBenchInterrupted(t *testing.T) {
	s := benchServer(t, nil)
	p := start(t, t.TempDir(), nil, "bench", "--bootstrap-file", filepath.Join(s.Dir, "gatehouse-admin.json"), "--duration", "1m",
		"--concurrency", "2", "--floor-duration", "0", "--scenarios", "user_get")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr.String(), "user_get ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(benchEnvironments(t, s)) != 1 {
		t.Fatalf("no bench environment while it runs:\n%s", p.stderr)
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGINT:\n%s", p.stderr)
	}
	if ee, ok := p.err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(p.stderr.String(), "gatehouse bench: interrupted") {
		t.Errorf("exit %v:\n%s", p.err, p.stderr)
	}
	if left := benchEnvironments(t, s); len(left) != 0 {
		t.Errorf("environments left: %v", left)
	}
}

// TestBenchHelp: --help explains every scenario, ratio and the rate
// limits, exits 0, and is what the README shows.
func TestBenchHelp(t *testing.T) {
	out, err := exec.Command(binary, "bench", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```\n"+string(out)+"```\n") {
		t.Errorf("the README's Benchmarks section does not show this help verbatim:\n%s", out)
	}
	for _, want := range []string{"usage: gatehouse bench [flags]", "client_credentials", "introspection", "signon", "user_create", "user_get",
		"user_list", "authorize", "argon2id hash rate", "--limit-flows-per-address off", "-bootstrap-file", "-concurrency", "-duration",
		"-floor-duration", "-json", "-scenarios", "-url"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchURLAndEnvironment: with no bootstrap file, the admin
// credentials come from the environment and the server from --url.
func TestBenchURLAndEnvironment(t *testing.T) {
	s := benchServer(t, nil)
	cmd := exec.Command(binary, "bench", "--url", s.URL+"/", "--duration", "100ms", "--concurrency", "1", "--floor-duration", "0", "--scenarios", "user_get", "--json")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_ENVIRONMENT_ID="+s.Admin.EnvironmentID, "GATEHOUSE_ADMIN_CLIENT_ID="+s.Admin.ClientID,
		"GATEHOUSE_ADMIN_CLIENT_SECRET="+s.Admin.ClientSecret)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, &stderr)
	}
	var rep benchJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.URL != s.URL || len(rep.Scenarios) != 1 || rep.Scenarios[0].Requests == 0 || rep.Scenarios[0].Errors != 0 {
		t.Errorf("report: %+v", rep)
	}
}
