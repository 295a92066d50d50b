package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// benchUsage is the head of `gatehouse bench --help`; the flags follow it.
const benchUsage = `usage: gatehouse bench [flags]
       gatehouse bench signon-flood [flags]   (a flood against a server it starts itself)

Measures a RUNNING Gatehouse for capacity planning. With the admin
credentials of the bootstrap file it creates an environment of its own
(a population, a WORKER application, a WEB_APP with a redirect URI, a user
with a password), runs each scenario for --duration with --concurrency
clients, deletes the environment (also on error or Ctrl-C), and prints a
table. Before and after the scenarios it measures the crypto floors of the
machine it runs on, all cores, through the libraries the server uses:
RS256 (RSA-2048) and ES256 JWT signing and verification (go-jose), and
argon2id hashing with the server's default parameters. A floor is what
the cores can do: operations per CPU-second of this process times the
cores (GOMAXPROCS), so other work on the machine barely moves it; the
higher of the two samples counts.

Scenarios (an op is one HTTP request, except signon):
  client_credentials  POST /as/token, grant_type=client_credentials (WORKER)
  introspection       POST /as/introspect of a signed-on user's access token
  signon              a whole headless sign-on: authorize with
                      response_mode=pi.flow, usernamePassword.check, resume
                      to the code (three requests, one password check)
  user_create         POST /v1/environments/{id}/users (no password)
  user_get            GET  /v1/environments/{id}/users/{userId}
  user_list           GET  /v1/environments/{id}/users?filter=username sw "bench."&limit=100
  authorize           GET  /as/authorize (response_type=code), answered 302

Columns: ops/s counts successful ops a second, p50 and p99 are their
latencies; ops counts every op sent, errors those that failed (429s,
503s and transport errors among them). ratio is ops/s over the floor that
bounds the scenario on one machine of this size:
  client_credentials  signing rate of the access token's alg (one signature
                      per token): 0.8 means 80 % of the cores' signing
                      capacity turned into tokens
  introspection       verification rate of that alg (one verification per
                      token, unless the server caches verified tokens:
                      then it can exceed 1)
  signon              argon2id hash rate (one password check per sign-on)
  the others          none: they cost database work, not crypto
The floors are measured in this process while the server is idle; when
the server runs on this machine, the load generator shares its cores, and
on a busy machine the ratios show the share of the cores the server got.

Rate limits: the server's defaults bound unfinished sign-on flows per
address (500/1m) and unexpired flows per environment (100000), which the
authorize scenario (flows never finished) spends; a benchmark from one
address can hit these and any limit an operator set. 429s are counted as
errors and the bench names the server flag to relax, e.g.
--limit-flows-per-address off (see README, Rate limits).

Flags:
`

// benchScenarioNames are the scenarios in the order they run: user_list
// pages through what user_create made, authorize leaves flows unfinished
// and so runs last.
var benchScenarioNames = []string{"client_credentials", "introspection", "signon", "user_create", "user_get", "user_list", "authorize"}

type benchRunOptions struct {
	admin         app.Admin
	duration      time.Duration
	concurrency   int
	scenarios     []string
	json          bool
	floorDuration time.Duration
	signingKey    string
}

// benchRun parses `gatehouse bench [flags]` and runs it.
func benchRun(args []string) error {
	fs := flag.NewFlagSet("gatehouse bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	bootstrapFile := fs.String("bootstrap-file", env("GATEHOUSE_BOOTSTRAP_FILE", "gatehouse-admin.json"),
		"the server's admin bootstrap file: environmentId, clientId, clientSecret, authPath, apiPath, caFile (GATEHOUSE_BOOTSTRAP_FILE); without it, GATEHOUSE_ADMIN_ENVIRONMENT_ID, GATEHOUSE_ADMIN_CLIENT_ID, GATEHOUSE_ADMIN_CLIENT_SECRET and --url")
	base := fs.String("url", "", "the server's base URL (authPath; apiPath is it + /v1); default the bootstrap file's")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs")
	concurrency := fs.Int("concurrency", 2*runtime.GOMAXPROCS(0), "clients sending requests at once, each waiting for its answer (default two per core: enough to keep the server busy, few enough that the sign-ons from one address stay within its password pool)")
	scenarios := fs.String("scenarios", strings.Join(benchScenarioNames, ","), "comma-separated scenarios to run")
	asJSON := fs.Bool("json", false, "print the figures as JSON instead of a table")
	signingKey := fs.String("signing-key", "RS256", "the bench environment's default signing key: RS256 (the RSA-2048 key every environment starts with) or ES256 (an EC P-256 key the bench creates and makes the default)")
	floorDuration := fs.Duration("floor-duration", time.Second, "how long each signing floor is measured (hashing: twice that); 0 skips the floors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; scenarios: signon-flood, or flags only (gatehouse bench --help)", fs.Arg(0))
	}
	o := benchRunOptions{duration: *duration, concurrency: *concurrency, json: *asJSON, floorDuration: *floorDuration, signingKey: *signingKey}
	if o.signingKey != "RS256" && o.signingKey != "ES256" {
		return fmt.Errorf("--signing-key is RS256 or ES256, not %q", o.signingKey)
	}
	if o.duration <= 0 || o.duration > time.Hour || o.concurrency < 1 || o.concurrency > 10000 || o.floorDuration < 0 || o.floorDuration > time.Minute {
		return errors.New("--duration must be above 0 and at most an hour, --concurrency 1 to 10000, --floor-duration 0 to a minute")
	}
	for s := range strings.SplitSeq(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(benchScenarioNames, s) {
			return fmt.Errorf("unknown scenario %q in --scenarios; scenarios: %s", s, strings.Join(benchScenarioNames, ", "))
		}
		if !slices.Contains(o.scenarios, s) {
			o.scenarios = append(o.scenarios, s)
		}
	}
	if len(o.scenarios) == 0 {
		return errors.New("--scenarios names none")
	}
	// Run them in the order that lets each find what it needs.
	slices.SortFunc(o.scenarios, func(a, b string) int {
		return slices.Index(benchScenarioNames, a) - slices.Index(benchScenarioNames, b)
	})
	var err error
	if o.admin, err = benchAdmin(*bootstrapFile, *base); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runBench(ctx, stop, o)
	if rep != nil {
		rep.applyFloors()
		if o.json {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			rep.printTable(os.Stdout)
		}
	}
	return err
}

// benchAdmin reads the admin credentials and the server's paths.
func benchAdmin(file, base string) (app.Admin, error) {
	var a app.Admin
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &a); err != nil {
			return a, fmt.Errorf("bootstrap file %s: %w", file, err)
		}
	case errors.Is(err, os.ErrNotExist) && base != "" && os.Getenv("GATEHOUSE_ADMIN_CLIENT_ID") != "":
		a = app.Admin{EnvironmentID: os.Getenv("GATEHOUSE_ADMIN_ENVIRONMENT_ID"),
			ClientID: os.Getenv("GATEHOUSE_ADMIN_CLIENT_ID"), ClientSecret: os.Getenv("GATEHOUSE_ADMIN_CLIENT_SECRET")}
	default:
		return a, fmt.Errorf("reading the admin credentials: %w (give the server's bootstrap file with --bootstrap-file, or --url with GATEHOUSE_ADMIN_ENVIRONMENT_ID, GATEHOUSE_ADMIN_CLIENT_ID and GATEHOUSE_ADMIN_CLIENT_SECRET)", err)
	}
	if base != "" {
		base = strings.TrimSuffix(base, "/")
		a.AuthPath, a.APIPath = base, base+"/v1"
	}
	if a.EnvironmentID == "" || a.ClientID == "" || a.ClientSecret == "" || a.AuthPath == "" || a.APIPath == "" {
		return a, errors.New("the admin credentials lack an environment id, client id, client secret or the server's URL")
	}
	return a, nil
}

// benchTarget is the running server and the environment the bench made
// in it.
type benchTarget struct {
	admin     app.Admin
	client    *http.Client // follows no redirects
	tr        *http.Transport
	tag       string
	envID     string
	popID     string
	worker    benchApp
	web       benchApp
	redirect  string
	userID    string
	username  string
	password  string
	userToken string // the user's access token, for introspection
	alg       string // the alg of the environment's access tokens
}

type benchApp struct{ id, secret string }

func newBenchTransport(a app.Admin, conns int) (*http.Transport, error) {
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConns: conns + 8, MaxIdleConnsPerHost: conns + 8,
		IdleConnTimeout: time.Minute, TLSHandshakeTimeout: 10 * time.Second}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("the bootstrap file's caFile: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the bootstrap file's caFile %s holds no PEM certificate", a.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

// runBench measures the floors, sets the environment up, runs the
// scenarios and deletes the environment. The report is what was measured
// before any error. stop ends the signal handling, so that a second
// Ctrl-C during the clean-up ends the process.
func runBench(ctx context.Context, stop func(), o benchRunOptions) (rep *benchReport, err error) {
	tr, err := newBenchTransport(o.admin, o.concurrency)
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	t := &benchTarget{admin: o.admin, tr: tr, tag: uuid.NewString()[:8],
		client: &http.Client{Transport: tr, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	rep = &benchReport{URL: o.admin.AuthPath, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		DurationSeconds: o.duration.Seconds(), Concurrency: o.concurrency, Floors: []benchFloor{}, Scenarios: []scenarioResult{}, Hints: []string{}}
	progress := newProgress(os.Stderr)

	if o.floorDuration > 0 {
		if rep.Floors, err = measureFloors(ctx, o.floorDuration, progress); err != nil {
			return rep, err
		}
	}
	if ctx.Err() != nil {
		return rep, errors.New("interrupted")
	}
	defer func() {
		stop()
		if t.envID == "" {
			return
		}
		progress.line("deleting environment " + t.envID)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if derr := t.deleteEnvironment(cctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("deleting the bench's environment %s (delete it yourself): %w", t.envID, derr))
		}
		progress.done()
	}()
	progress.line("setting up environment gatehouse-bench-" + t.tag)
	if err := t.setup(ctx, o.signingKey); err != nil {
		return rep, fmt.Errorf("setting up: %w", err)
	}
	progress.done()
	rep.EnvironmentID, rep.SigningAlg = t.envID, t.alg
	for _, name := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		r, err := t.run(ctx, name, o, progress)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		rep.add(r)
	}
	if ctx.Err() != nil {
		return rep, errors.New("interrupted: the figures are those of the scenarios that finished")
	}
	if o.floorDuration > 0 {
		// Once more after the load: other work on the machine only ever
		// lowers a floor, and the higher of the two is the closer to what
		// the cores can do.
		after, err := measureFloors(ctx, o.floorDuration, progress)
		if err != nil {
			return rep, err
		}
		rep.Floors = mergeFloors(rep.Floors, after)
	}
	return rep, nil
}

// adminToken is a fresh token of the bootstrap admin (fetched per use
// that may come long after the last: a scenario can outlast a token).
func (t *benchTarget) adminToken(ctx context.Context) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err := t.tokenRequest(ctx, t.admin.EnvironmentID, benchApp{t.admin.ClientID, t.admin.ClientSecret}, url.Values{"grant_type": {"client_credentials"}}, &tok)
	return tok.AccessToken, err
}

func (t *benchTarget) tokenRequest(ctx context.Context, envID string, c benchApp, form url.Values, out any) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", t.admin.AuthPath+"/"+envID+"/as/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.id, c.secret)
	return benchJSON(t.client, req, http.StatusOK, out)
}

// api sends one management request as the admin.
func (t *benchTarget) api(ctx context.Context, token, method, path, ct string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, t.admin.APIPath+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	return benchJSON(t.client, req, want, out)
}

// setup creates the environment and what the scenarios use, as an
// administrator would through /v1, then signs the user on once for the
// token introspection reads.
func (t *benchTarget) setup(ctx context.Context, signingKey string) error {
	tok, err := t.adminToken(ctx)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	var adminEnv struct{ License struct{ ID string } }
	if err := t.api(ctx, tok, "GET", "/environments/"+t.admin.EnvironmentID, "", nil, http.StatusOK, &adminEnv); err != nil {
		return err
	}
	var env struct{ ID string }
	if err := t.api(ctx, tok, "POST", "/environments", "application/json", map[string]any{"name": "gatehouse-bench-" + t.tag, "type": "SANDBOX",
		"region": "NA", "description": "made by gatehouse bench, deleted when it ends", "license": map[string]string{"id": adminEnv.License.ID}},
		http.StatusCreated, &env); err != nil {
		return err
	}
	t.envID = env.ID
	e := "/environments/" + env.ID
	var pops struct {
		Embedded struct{ Populations []struct{ ID string } } `json:"_embedded"`
	}
	if err := t.api(ctx, tok, "GET", e+"/populations", "", nil, http.StatusOK, &pops); err != nil {
		return err
	}
	if len(pops.Embedded.Populations) == 0 {
		return errors.New("the new environment has no population")
	}
	t.popID = pops.Embedded.Populations[0].ID
	newApp := func(body map[string]any) (benchApp, error) {
		var a struct{ ID string }
		if err := t.api(ctx, tok, "POST", e+"/applications", "application/json", body, http.StatusCreated, &a); err != nil {
			return benchApp{}, err
		}
		var s struct{ Secret string }
		if err := t.api(ctx, tok, "GET", e+"/applications/"+a.ID+"/secret", "", nil, http.StatusOK, &s); err != nil {
			return benchApp{}, err
		}
		return benchApp{a.ID, s.Secret}, nil
	}
	if t.worker, err = newApp(map[string]any{"enabled": true, "name": "bench-worker", "type": "WORKER", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}); err != nil {
		return err
	}
	if signingKey == "ES256" {
		if err := t.api(ctx, tok, "POST", e+"/keys", "application/json", map[string]any{"name": "bench-es256", "algorithm": "EC", "keyLength": 256,
			"signatureAlgorithm": "SHA256withECDSA", "usageType": "SIGNING", "default": true, "subjectDN": "CN=gatehouse bench",
			"validityPeriod": 30}, http.StatusCreated, nil); err != nil {
			return fmt.Errorf("an ES256 signing key: %w", err)
		}
	}
	t.redirect = "https://app.example.com/callback"
	if t.web, err = newApp(map[string]any{"enabled": true, "name": "bench-web", "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "redirectUris": []string{t.redirect},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}); err != nil {
		return err
	}
	t.username, t.password = "bench.user."+t.tag, "Bench-Real-Pass-42!"
	var user struct{ ID string }
	if err := t.api(ctx, tok, "POST", e+"/users", "application/json", map[string]any{"username": t.username, "email": t.username + "@example.com",
		"population": map[string]string{"id": t.popID}}, http.StatusCreated, &user); err != nil {
		return err
	}
	t.userID = user.ID
	if err := t.api(ctx, tok, "PUT", e+"/users/"+user.ID+"/password", "application/vnd.pingidentity.password.set+json",
		map[string]any{"value": t.password, "forceChange": false}, http.StatusOK, nil); err != nil {
		return err
	}
	code, err := t.signOn(ctx)
	if err != nil {
		return fmt.Errorf("a first sign-on: %w", err)
	}
	var toks struct {
		AccessToken string `json:"access_token"`
	}
	if err := t.tokenRequest(ctx, t.envID, t.web, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {t.redirect}}, &toks); err != nil {
		return err
	}
	t.userToken = toks.AccessToken
	if t.alg = jwtAlg(toks.AccessToken); t.alg == "" {
		return errors.New("the access token is not a JWT")
	} else if t.alg != signingKey {
		return fmt.Errorf("the environment's access tokens are signed with %s, not the %s of --signing-key", t.alg, signingKey)
	}
	return nil
}

// jwtAlg is the alg in a JWT's header, "" when it has none.
func jwtAlg(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	json.Unmarshal(b, &h)
	return h.Alg
}

func (t *benchTarget) deleteEnvironment(ctx context.Context) error {
	tok, err := t.adminToken(ctx)
	if err != nil {
		return err
	}
	return t.api(ctx, tok, "DELETE", "/environments/"+t.envID, "", nil, http.StatusNoContent, nil)
}
