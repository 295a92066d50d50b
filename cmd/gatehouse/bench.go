package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
)

// bench measures a running server (benchrun.go), or runs a load scenario
// against a server it starts in this process, and prints what it
// measured.
//
//	gatehouse bench [--bootstrap-file F] [--duration 10s] [--concurrency N] [--scenarios a,b] [--json]
//	gatehouse bench signon-flood [--db DSN] [--duration 10s] [--baseline 5s] [--flooders 40]
func bench(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return benchRun(args)
	}
	scenario, args := args[0], args[1:]
	if scenario != "signon-flood" {
		return fmt.Errorf("unknown bench scenario %q; gatehouse bench [flags] measures a running server, gatehouse bench signon-flood a flood against one it starts (gatehouse bench --help)", scenario)
	}
	fs := flag.NewFlagSet("gatehouse bench signon-flood", flag.ContinueOnError)
	db := fs.String("db", "", "database (an empty one: the bench creates an environment, an application and a user); default a temporary SQLite file")
	duration := fs.Duration("duration", 12*time.Second, "how long the flood runs")
	baseline := fs.Duration("baseline", 5*time.Second, "how long the real sign-ons run alone first")
	flooders := fs.Int("flooders", 40, "clients looping wrong passwords")
	addresses := fs.Int("flood-addresses", 40, "source addresses the flooders come from (1: one attacker's address, which the rate limits stop; the flooders' count: a distributed flood, which only the password work bounds can absorb)")
	maxSignOns := fs.Int("max-signons", 10000, "at most this many real sign-ons per phase")
	passwordLimits, err := passwordFlags(fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg app.Config
	if err := passwordLimits(&cfg); err != nil {
		return err
	}
	if *duration <= 0 || *duration > time.Hour || *baseline < 0 || *baseline > time.Hour || *flooders < 0 || *flooders > 10000 ||
		*maxSignOns < 1 || *addresses < 1 || *addresses > 65536 {
		return errors.New("--duration and --baseline must be at most an hour, --flooders 0 to 10000, --flood-addresses 1 to 65536, --max-signons at least 1")
	}
	return signOnFlood(floodOptions{db: *db, duration: *duration, baseline: *baseline, flooders: *flooders, addresses: *addresses,
		maxSignOns: *maxSignOns, attempts: cfg.MaxFlowPasswordAttempts, pool: cfg.PasswordPool})
}

type floodOptions struct {
	db                 string
	duration, baseline time.Duration
	flooders           int
	addresses          int
	maxSignOns         int
	attempts           int
	pool               password.PoolOptions
}

// signOnFlood measures a real user's headless sign-on (authorize with
// response_mode=pi.flow, usernamePassword.check, resume), one after
// another, first alone and then while flooders loop wrong passwords
// against flows of their own: each flooder starts a flow and sends wrong
// passwords for usernames that name no one (a new one each time, so that
// no lockout spares the hash) until the flow fails, then starts another.
func signOnFlood(o floodOptions) error {
	dir, err := os.MkdirTemp("", "gatehouse-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsn := o.db
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	key := make([]byte, secrets.KeySize)
	rand.Read(key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	srv, err := app.New(ctx, app.Config{Listen: ln.Addr().String(), DB: dsn, BaseURL: base, BootstrapFile: filepath.Join(dir, "admin.json"),
		MasterKey: key, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		MaxFlowPasswordAttempts: o.attempts, PasswordPool: o.pool,
		// Every client of the bench connects from 127.0.0.1; the source
		// address the rate limits count is the one each names in
		// X-Forwarded-For, as behind a reverse proxy.
		TrustedProxies: httpx.TrustedProxies{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { stop(); <-served }()

	tr := &http.Transport{MaxIdleConns: o.flooders + 8, MaxIdleConnsPerHost: o.flooders + 8, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	fx, err := benchFixture(tr, base, srv.Admin.EnvironmentID, srv.Admin.ClientID, srv.Admin.ClientSecret)
	if err != nil {
		return fmt.Errorf("setting up: %w", err)
	}
	p := o.pool
	if p.Workers < 1 {
		p.Workers = runtime.NumCPU()
	}
	if p.MaxWaiting < 1 {
		p.MaxWaiting = password.DefaultMaxWaitingPerWorker * p.Workers
	}
	if p.MaxWait <= 0 {
		p.MaxWait = password.DefaultMaxWait
	}
	capText := "no cap of failed checks per flow"
	if o.attempts >= 0 {
		capText = fmt.Sprintf("a flow fails at %d failed checks", cmp.Or(o.attempts, flow.DefaultMaxPasswordAttempts))
	}
	fmt.Printf("gatehouse bench signon-flood: %s, %d CPUs (GOMAXPROCS %d); password pool: %d workers, %d waiting, %s wait; %s; default rate limits; flooders from %d address(es), the real user from its own\n",
		dbKind(dsn), runtime.NumCPU(), runtime.GOMAXPROCS(0), p.Workers, p.MaxWaiting, p.MaxWait, capText, min(o.addresses, max(o.flooders, 1)))

	fx.signOn() // warm the caches and a connection
	if o.baseline > 0 {
		r := fx.signOns(o.baseline, o.maxSignOns, nil)
		r.print(fmt.Sprintf("baseline, no flood (%s)", o.baseline))
	}
	var f flood
	fctx, fstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range o.flooders {
		wg.Go(func() { f.run(fctx, fx, floodAddress(i%o.addresses)) })
	}
	start := time.Now()
	r := fx.signOns(o.duration, o.maxSignOns, fctx)
	fstop()
	wg.Wait()
	r.print(fmt.Sprintf("under flood, %d flooders (%s)", o.flooders, o.duration))
	f.print(time.Since(start))
	return nil
}

func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "PostgreSQL"
	}
	return "SQLite"
}

// fixture is the environment's application and user the bench made.
type fixture struct {
	tr                  *http.Transport
	username, pw        string
	authorize, flowsURL string
}

const benchCheck = "application/vnd.pingidentity.usernamePassword.check+json"

// benchFixture creates, through the management API as an administrator
// would, an environment, a web application and a user with a password.
func benchFixture(tr *http.Transport, base, adminEnv, clientID, secret string) (*fixture, error) {
	c := &http.Client{Transport: tr}
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, _ := http.NewRequest("POST", base+"/"+adminEnv+"/as/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := benchJSON(c, req, http.StatusOK, &tok); err != nil {
		return nil, err
	}
	api := func(method, path, ct string, body any, want int, out any) error {
		b, _ := json.Marshal(body)
		if body == nil {
			b = nil
		}
		req, _ := http.NewRequest(method, base+"/v1"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if body != nil {
			req.Header.Set("Content-Type", ct)
		}
		return benchJSON(c, req, want, out)
	}
	var adminEnvironment struct{ License struct{ ID string } }
	if err := api("GET", "/environments/"+adminEnv, "", nil, http.StatusOK, &adminEnvironment); err != nil {
		return nil, err
	}
	tag := uuid.NewString()[:8]
	var env struct{ ID string }
	if err := api("POST", "/environments", "application/json", map[string]any{"name": "Bench_" + tag, "type": "SANDBOX", "region": "NA",
		"license": map[string]string{"id": adminEnvironment.License.ID}}, http.StatusCreated, &env); err != nil {
		return nil, err
	}
	var pops struct {
		Embedded struct{ Populations []struct{ ID string } } `json:"_embedded"`
	}
	if err := api("GET", "/environments/"+env.ID+"/populations", "", nil, http.StatusOK, &pops); err != nil || len(pops.Embedded.Populations) == 0 {
		return nil, fmt.Errorf("populations: %v", err)
	}
	fx := &fixture{tr: tr, username: "real.user." + tag, pw: "Bench-Real-Pass-42!"}
	const redirectURI = "https://app.example.com/callback"
	var application struct{ ID string }
	if err := api("POST", "/environments/"+env.ID+"/applications", "application/json", map[string]any{"enabled": true, "name": "Bench_" + tag,
		"type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{redirectURI}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, http.StatusCreated, &application); err != nil {
		return nil, err
	}
	var user struct{ ID string }
	if err := api("POST", "/environments/"+env.ID+"/users", "application/json", map[string]any{"username": fx.username,
		"email": fx.username + "@example.com", "population": map[string]string{"id": pops.Embedded.Populations[0].ID}}, http.StatusCreated, &user); err != nil {
		return nil, err
	}
	if err := api("PUT", "/environments/"+env.ID+"/users/"+user.ID+"/password", "application/vnd.pingidentity.password.set+json",
		map[string]any{"value": fx.pw, "forceChange": false}, http.StatusOK, nil); err != nil {
		return nil, err
	}
	fx.authorize = base + "/" + env.ID + "/as/authorize?" + url.Values{"response_type": {"code"}, "client_id": {application.ID},
		"redirect_uri": {redirectURI}, "scope": {"openid"}, "response_mode": {"pi.flow"}}.Encode()
	fx.flowsURL = base + "/" + env.ID + "/flows/"
	return fx, nil
}

func benchJSON(c *http.Client, req *http.Request, want int, out any) error {
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// realUser is the real user's source address; floodAddress(i) is the
// i-th flooding one (both in ranges kept for documentation and benchmarks).
var realUser = netip.MustParseAddr("203.0.113.7")

func floodAddress(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
}

// fromAddress names a source address in X-Forwarded-For, which the bench's
// server believes of 127.0.0.1.
type fromAddress struct {
	base http.RoundTripper
	addr string
}

func (t fromAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", t.addr)
	return t.base.RoundTrip(r)
}

// browser is a client at addr with its own cookies (a new one per
// sign-on: a session would let the next sign-on skip the password).
func (fx *fixture) browser(addr netip.Addr) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: fromAddress{fx.tr, addr.String()}, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type flowBody struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	ResumeURL         string `json:"resumeUrl"`
	AuthorizeResponse *struct {
		Code string `json:"code"`
	} `json:"authorizeResponse"`
	Code    string `json:"code"`
	Details []struct {
		Code string `json:"code"`
	} `json:"details"`
}

// call sends one request and reads the flow (or error) it answers.
func call(c *http.Client, method, u, ct string, body []byte) (int, flowBody, error) {
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, flowBody{}, err
	}
	defer res.Body.Close()
	var fb flowBody
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &fb)
	return res.StatusCode, fb, nil
}

// signOn is one whole headless sign-on: "" when it got its code, else
// what went wrong.
func (fx *fixture) signOn() string {
	c := fx.browser(realUser)
	st, fl, err := call(c, "GET", fx.authorize, "", nil)
	if err != nil || st != http.StatusOK || fl.Status != "USERNAME_PASSWORD_REQUIRED" {
		return fmt.Sprintf("authorize: %d %s %v", st, fl.Status+fl.Code, err)
	}
	body, _ := json.Marshal(map[string]string{"username": fx.username, "password": fx.pw})
	st, fl, err = call(c, "POST", fx.flowsURL+fl.ID, benchCheck, body)
	if err != nil || st != http.StatusOK || fl.Status != "COMPLETED" {
		return fmt.Sprintf("usernamePassword.check: %d %s %v", st, fl.Status+fl.Code, err)
	}
	st, fl, err = call(c, "GET", fl.ResumeURL, "", nil)
	if err != nil || st != http.StatusOK || fl.AuthorizeResponse == nil || fl.AuthorizeResponse.Code == "" {
		return fmt.Sprintf("resume: %d %s %v", st, fl.Status+fl.Code, err)
	}
	return ""
}

// signOnResult is what one phase of real sign-ons measured.
type signOnResult struct {
	took     []time.Duration
	failures map[string]int
	elapsed  time.Duration
}

// signOns runs sign-ons one after another for d (at most max), or until
// ctx (when not nil) ends.
func (fx *fixture) signOns(d time.Duration, max int, ctx context.Context) signOnResult {
	r := signOnResult{failures: map[string]int{}}
	start := time.Now()
	for time.Since(start) < d && len(r.took)+len(r.failures) < max {
		if ctx != nil && ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		if msg := fx.signOn(); msg != "" {
			r.failures[msg]++
			continue
		}
		r.took = append(r.took, time.Since(t0))
	}
	r.elapsed = time.Since(start)
	return r
}

func (r signOnResult) print(phase string) {
	s := slices.Clone(r.took)
	slices.Sort(s)
	q := func(p float64) string {
		if len(s) == 0 {
			return "-"
		}
		return ms(s[min(len(s)-1, int(p*float64(len(s))))])
	}
	failed := 0
	for _, n := range r.failures {
		failed += n
	}
	fmt.Printf("real sign-on, %s: %d completed (%.1f/s), %d failed; p50 %s  p90 %s  p99 %s  max %s\n",
		phase, len(s), float64(len(s))/r.elapsed.Seconds(), failed, q(0.5), q(0.9), q(0.99), q(1))
	for _, k := range sortedKeys(r.failures) {
		fmt.Printf("    failed %5d × %s\n", r.failures[k], k)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

// flood counts what the flooders sent and got.
type flood struct {
	mu         sync.Mutex
	outcomes   map[string]int
	requests   atomic.Int64
	authorizes atomic.Int64
	checks     atomic.Int64
}

func (f *flood) count(outcome string) {
	f.mu.Lock()
	if f.outcomes == nil {
		f.outcomes = map[string]int{}
	}
	f.outcomes[outcome]++
	f.mu.Unlock()
}

// run is one flooder at addr: a flow, wrong passwords until it fails,
// another.
func (f *flood) run(ctx context.Context, fx *fixture, addr netip.Addr) {
	for ctx.Err() == nil {
		c := fx.browser(addr)
		f.requests.Add(1)
		f.authorizes.Add(1)
		st, fl, err := call(c, "GET", fx.authorize, "", nil)
		if err != nil || st != http.StatusOK {
			f.count(fmt.Sprintf("authorize %d %s", st, fl.Code))
			continue
		}
		for ctx.Err() == nil {
			body, _ := json.Marshal(map[string]string{"username": "ghost." + uuid.NewString()[:12], "password": "Wrong-Guess-123!"})
			f.requests.Add(1)
			f.checks.Add(1)
			st, got, err := call(c, "POST", fx.flowsURL+fl.ID, benchCheck, body)
			if err != nil {
				if ctx.Err() == nil {
					f.count("transport error")
				}
				break
			}
			outcome := fmt.Sprintf("check %d %s", st, got.Code)
			if len(got.Details) > 0 {
				outcome += " " + got.Details[0].Code
			}
			if st == http.StatusOK {
				outcome = "check 200 flow " + got.Status
			}
			f.count(outcome)
			if st != http.StatusBadRequest && st != http.StatusServiceUnavailable && st != http.StatusTooManyRequests {
				break // the flow failed (or something else happened): a new one
			}
			if got.Code == "INVALID_REQUEST" {
				break // the flow takes no more actions
			}
		}
	}
}

func (f *flood) print(elapsed time.Duration) {
	n := f.requests.Load()
	fmt.Printf("flood: %d requests in %s (%.0f/s): %d authorize, %d usernamePassword.check\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), f.authorizes.Load(), f.checks.Load())
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range sortedKeys(f.outcomes) {
		fmt.Printf("    %7d × %s\n", f.outcomes[k], k)
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
