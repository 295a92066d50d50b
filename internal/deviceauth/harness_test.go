package deviceauth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// clock is the time the service and the MFA domain see; tests move it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running device authentication service over a real Gatehouse
// (the store, the management API, the token endpoint) on one backend.
type env struct {
	t     *testing.T
	srv   *apptest.Server
	svc   *deviceauth.Service
	base  string // the service's authPath
	envID string
	popID string
	token string // an Identity Data Admin worker's token of the environment
	clock *clock
	mfa   *mfaFixture
}

type harnessOptions struct {
	limits *ratelimit.Config
}

// eachBackend runs fn on SQLite and PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	eachBackendWith(t, harnessOptions{}, fn)
}

func eachBackendWith(t *testing.T, o harnessOptions, fn func(t *testing.T, e *env)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, newEnv(t, b.DSN(t), o))
		})
	}
}

func newEnv(t *testing.T, dsn string, o harnessOptions) *env {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{DSN: dsn})
	x := srv.NewSignOn(t, apptest.SignOnOptions{})
	w := srv.CreateWorker(t, x.EnvID, "CLIENT_SECRET_BASIC", [3]string{roles.IdentityDataAdmin.ID, roles.ScopeEnvironment, x.EnvID})
	conf := config.New(srv.Store, config.Options{})
	verifier := &authsvc.Service{Store: srv.Store, Keys: srv.Keys, Sealer: srv.Sealer, AuthPath: srv.URL, Config: conf}
	c := &clock{t: time.Now().UTC()}
	e := &env{t: t, srv: srv, envID: x.EnvID, popID: x.PopulationID, token: srv.Token(t, w), clock: c}
	e.mfa = newMFAFixture(t, e, conf)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	e.base = hs.URL
	// Policy and Settings are left to the configuration cache, as the
	// server wires them.
	e.svc = &deviceauth.Service{Store: srv.Store, Config: conf, Tokens: verifier, MFA: e.mfa.port(), AuthPath: hs.URL, Now: c.Now}
	if o.limits != nil {
		e.svc.Limits = deviceauth.NewLimits(*o.limits)
	}
	e.svc.Routes(mux)
	return e
}

// user makes a user of the environment with MFA enabled.
func (e *env) user(name string) string {
	e.t.Helper()
	id := e.srv.CreateUser(e.t, e.envID, e.popID, name, name+"@example.com", "Ada", "Lovelace", "Gatehouse-Test-Pass-9!")
	r := e.srv.Do(e.t, apptest.Request{Method: "PUT", URL: "/environments/" + e.envID + "/users/" + id + "/mfaEnabled",
		Token: e.srv.AdminToken(e.t), Body: map[string]any{"mfaEnabled": true}})
	if r.Status != http.StatusOK {
		e.t.Fatalf("enable MFA: %d %s", r.Status, r.Body)
	}
	return id
}

// resp is an answer of the service.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// call sends body (JSON unless []byte or string) with content type ct
// ("" none) and the environment's worker token unless token is given.
func (e *env) call(method, path, ct string, body any, token ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	tok := e.token
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

const (
	ctJSON   = "application/json"
	ctSelect = "application/vnd.pingidentity.device.select+json"
	ctOTP    = "application/vnd.pingidentity.otp.check+json"
	ctCancel = "application/vnd.pingidentity.cancel.push.authentication+json"
)

// start starts a device authentication of userID.
func (e *env) start(body map[string]any) *resp {
	e.t.Helper()
	return e.call("POST", "/"+e.envID+"/deviceAuthentications", ctJSON, body)
}

func (e *env) startFor(userID string) map[string]any {
	e.t.Helper()
	r := e.start(map[string]any{"user": map[string]any{"id": userID}})
	if r.status != http.StatusCreated {
		e.t.Fatalf("start: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

func (e *env) path(id string) string { return "/" + e.envID + "/deviceAuthentications/" + id }

func (e *env) checkOTP(id, otp string) *resp {
	e.t.Helper()
	return e.call("POST", e.path(id), ctOTP, map[string]any{"otp": otp})
}

func (e *env) selectDevice(id, deviceID string) *resp {
	e.t.Helper()
	return e.call("POST", e.path(id), ctSelect, map[string]any{"device": map[string]any{"id": deviceID}})
}

// wantError checks a PingOne error body: status, code, and the first
// detail's code and target ("" for none).
func wantError(t *testing.T, r *resp, status int, code, detail, target string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["code"] != code || m["id"] == nil || m["message"] == nil {
		t.Fatalf("error = %s, want code %s with id and message", r.body, code)
	}
	if detail == "" {
		return m
	}
	ds, _ := m["details"].([]any)
	if len(ds) == 0 {
		t.Fatalf("error %s has no details, want %s", r.body, detail)
	}
	d := ds[0].(map[string]any)
	if d["code"] != detail || (target != "" && d["target"] != target) {
		t.Fatalf("detail = %v, want code %s target %q", d, detail, target)
	}
	return d
}
