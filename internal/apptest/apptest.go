// Package apptest starts a real Gatehouse (the same app.New the binary
// uses) on 127.0.0.1 for HTTP tests, on SQLite or PostgreSQL, and talks to
// it the way PingOne's clients do.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// SDKUserAgent is what PingOne's Go SDK sends.
const SDKUserAgent = "pingtools PingOne-GOLANG-SDK-management/0.70.0 go"

// Server is a running Gatehouse.
type Server struct {
	*app.Server
	URL     string // base URL: authPath
	APIPath string
	HTTP    *httptest.Server // nil when the server runs its own listener (TLS)
	Addr    string           // the listener's address
	Dir     string
	// Client makes the requests of Do and TokenFor (default
	// http.DefaultClient; with TLS, one that trusts the server's CA).
	Client *http.Client
	// Mail holds the recovery and verification codes the server sent.
	Mail  *notify.MemoryNotifier
	token string
	stop  func()
}

// Stop ends the server before the test does (a restart on the same
// database); it runs once.
func (s *Server) Stop() { s.stop() }

// Options tune Start.
type Options struct {
	DSN       string // default: a fresh SQLite file
	MasterKey []byte // default: random
	Dir       string // where the bootstrap file goes; default t.TempDir()
	// FederationTimeout bounds calls to external identity providers.
	FederationTimeout time.Duration

	// With TLS options the server runs as the binary runs it, app.Serve on
	// its own listener (TLS, CONNECT, certificate reload), instead of
	// httptest. RootCAs is what Client trusts with given files; with
	// TLSDev it trusts the development CA. When the base URL's host is not
	// the listener's address, Client reaches it through the listener as
	// its HTTPS proxy (CONNECT).
	TLSCertFile, TLSKeyFile string
	TLSDev                  bool
	TLSReloadInterval       time.Duration
	RootCAs                 *x509.CertPool
	Timeouts                httpx.Timeouts
	// BaseURL overrides http(s):// + the listener's address.
	BaseURL string

	// GuardOutbound runs the server as production does, its outbound
	// requests refused at loopback and private addresses and plain http.
	// Off by default: tests' fake identity providers and key servers run
	// on 127.0.0.1, so the server starts with --allow-private-outbound
	// unless a test of the guard asks for it.
	GuardOutbound bool
	// MFASender and MFAPolicies are app.Config's.
	MFASender   mfa.Sender
	MFAPolicies mgmt.MFAPolicies
	// OutboundAllow lets the guard pass these addresses (a fake provider
	// whose other endpoints the test points at refused addresses).
	OutboundAllow []netip.AddrPort
	// OutboundRootCAs is what outbound requests trust (a test's https
	// key server); nil: the system's roots.
	OutboundRootCAs *x509.CertPool
	// SAMLAllowSHA1 is --saml-allow-sha1.
	SAMLAllowSHA1 bool
	// Limits replace the default rate limits (tests that probe a limit set
	// a tight one); TrustedProxies are believed in X-Forwarded-For.
	Limits         *ratelimit.Config
	TrustedProxies httpx.TrustedProxies
	// MaxFlowPasswordAttempts and PasswordPool are app.Config's. A zero
	// PasswordPool.MaxWait is a minute here, not the server's second: a
	// test machine running many test binaries at once can keep a hash
	// waiting that long, and only the tests of the pool's bounds want it
	// refused.
	MaxFlowPasswordAttempts int
	PasswordPool            password.PoolOptions
	// FlowClock is app.Config's: the sign-on clock (flows, sessions, the
	// auth service).
	FlowClock func() time.Time
	// Logger gets the server's log (default: discarded).
	Logger *slog.Logger
	// Webhooks, when set, tunes the webhook dispatcher and runs it (a
	// server served by httptest runs none otherwise).
	Webhooks *webhook.Options
	// AuditRecorder is app.Config's: it takes the audit activities. Audit
	// configures the audit log otherwise.
	AuditRecorder audit.Recorder
	Audit         audit.Options
	// AdminUsername is app.Config's (GATEHOUSE_ADMIN_USERNAME).
	AdminUsername string
}

func (o Options) tls() bool { return o.TLSDev || o.TLSCertFile != "" }

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.DSN == "" {
		o.DSN = sqltest.SQLite(t)
	}
	if o.MasterKey == nil {
		o.MasterKey = make([]byte, 32)
		rand.Read(o.MasterKey)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	base := o.BaseURL
	if base == "" {
		base = "http://" + addr
		if o.tls() {
			base = "https://" + addr
		}
	}
	base = strings.TrimSuffix(base, "/")
	mail := &notify.MemoryNotifier{}
	pool := o.PasswordPool
	if pool.MaxWait == 0 {
		pool.MaxWait = time.Minute
	}
	cfg := app.Config{
		Listen: addr, DB: o.DSN, BaseURL: base, BootstrapFile: filepath.Join(o.Dir, "gatehouse-admin.json"),
		MasterKey: o.MasterKey, Logger: o.Logger, Notifier: mail,
		FederationTimeout: o.FederationTimeout,
		TLSCertFile:       o.TLSCertFile, TLSKeyFile: o.TLSKeyFile, TLSDev: o.TLSDev, TLSReloadInterval: o.TLSReloadInterval,
		Outbound:      outbound.Options{AllowPrivate: !o.GuardOutbound, Allow: o.OutboundAllow, RootCAs: o.OutboundRootCAs},
		SAMLAllowSHA1: o.SAMLAllowSHA1,
		Timeouts:      o.Timeouts, Limits: o.Limits, TrustedProxies: o.TrustedProxies,
		MaxFlowPasswordAttempts: o.MaxFlowPasswordAttempts, PasswordPool: pool,
		MFASender: o.MFASender, MFAPolicies: o.MFAPolicies, FlowClock: o.FlowClock, AuditRecorder: o.AuditRecorder,
		Audit: o.Audit, AdminUsername: o.AdminUsername,
	}
	if o.Webhooks != nil {
		cfg.Webhooks = *o.Webhooks
	}
	srv, err := app.New(context.Background(), cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("start gatehouse: %v", err)
	}
	s := &Server{Server: srv, URL: base, APIPath: base + "/v1", Addr: addr, Dir: o.Dir, Mail: mail, Client: http.DefaultClient}
	if !o.tls() {
		hs := httptest.NewUnstartedServer(srv.Handler)
		hs.Listener.Close()
		hs.Listener = ln
		hs.Start()
		if o.Webhooks != nil {
			srv.StartWebhooks()
		}
		s.stop = sync.OnceFunc(func() {
			hs.Close()
			srv.Close()
		})
		t.Cleanup(s.stop)
		s.HTTP = hs
		if u, err := url.Parse(base); err == nil && u.Host != addr {
			// Several nodes share one base URL (behind a load balancer in
			// production): this node's Client reaches it at its own address.
			s.Client = &http.Client{Transport: DialTo(addr)}
		}
		return s
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	s.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	t.Cleanup(s.stop)
	roots := o.RootCAs
	if o.TLSDev {
		roots = x509.NewCertPool()
		pem, err := os.ReadFile(srv.Admin.CAFile)
		if err != nil || !roots.AppendCertsFromPEM(pem) {
			t.Fatalf("development CA %q: %v", srv.Admin.CAFile, err)
		}
	}
	s.Client = TLSClient(roots, base, addr)
	return s
}

// DialTo is a transport that sends every request to addr, whatever host
// the URL names: a node of several sharing one base URL.
func DialTo(addr string) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return tr
}

// TLSClient trusts only roots. When the base URL's host and port are not
// the listener's address (addr), it reaches them through the listener as
// its HTTPS proxy (CONNECT), as HTTPS_PROXY=http://addr does.
func TLSClient(roots *x509.CertPool, base, addr string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	tr.Proxy = nil
	if u, err := url.Parse(base); err == nil && u.Host != addr {
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr})
	}
	return &http.Client{Transport: tr}
}

// TokenFor gets a client_credentials token with x/oauth2, as PingOne's SDK
// does (auth style auto-detected: Basic first, then the body).
func (s *Server) TokenFor(t testing.TB, envID, clientID, secret string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: s.URL + "/" + envID + "/as/token"}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, s.Client))
	if err != nil {
		t.Fatalf("client_credentials token: %v", err)
	}
	return tok.AccessToken
}

// AdminToken is a token of the bootstrap admin.
func (s *Server) AdminToken(t testing.TB) string {
	if s.token == "" {
		s.token = s.TokenFor(t, s.Admin.EnvironmentID, s.Admin.ClientID, s.Admin.ClientSecret)
	}
	return s.token
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response: %v\n%s", err, r.Body)
	}
}

// Request is one call as PingOne's SDK makes it.
type Request struct {
	Method  string
	URL     string // absolute, or a path under the API ("/environments")
	Body    any    // marshalled as JSON unless it is []byte or string
	Token   string // "" for none
	Headers http.Header
	// ContentType overrides application/json; "-" sends none.
	ContentType string
}

// Do sends r.
func (s *Server) Do(t testing.TB, r Request) *Response {
	t.Helper()
	url := r.URL
	if len(url) > 0 && url[0] == '/' {
		url = s.APIPath + url
	}
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(r.Method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", SDKUserAgent)
	if body != nil {
		switch r.ContentType {
		case "":
			req.Header.Set("Content-Type", "application/json")
		case "-":
		default:
			req.Header.Set("Content-Type", r.ContentType)
		}
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, vs := range r.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Backends are the databases HTTP tests run on.
func Backends() []sqltest.Backend { return sqltest.Backends() }

// Worker is a WORKER application made for a test.
type Worker struct {
	EnvironmentID, ClientID, Secret string
}

// CreateWorker adds an enabled WORKER application to envID, with one role
// assignment per grant (role id, scope type, scope id). Applications'
// management API is a later capability, so this writes through the store.
func (s *Server) CreateWorker(t testing.TB, envID, authMethod string, grants ...[3]string) Worker {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	id := uuid.NewString()
	secret := secrets.Random(48)
	app := &store.Application{ID: id, EnvironmentID: envID, Name: "worker-" + id[:8], Protocol: "OPENID_CONNECT", Type: "WORKER",
		Enabled: true, TokenEndpointAuthMethod: authMethod, SecretSealed: s.Sealer.Seal([]byte(secret), "app:"+id),
		Data: json.RawMessage(`{"grantTypes":["CLIENT_CREDENTIALS"]}`), CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateApplication(ctx, app); err != nil {
			return err
		}
		for _, g := range grants {
			if err := tx.CreateRoleAssignment(ctx, &store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: envID, ActorType: "APPLICATION",
				ActorID: id, RoleID: g[0], ScopeType: g[1], ScopeID: g[2], CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create worker: %v", err)
	}
	return Worker{EnvironmentID: envID, ClientID: id, Secret: secret}
}

// Token gets a token for w.
func (s *Server) Token(t testing.TB, w Worker) string {
	return s.TokenFor(t, w.EnvironmentID, w.ClientID, w.Secret)
}

// OrganizationID is the bootstrap organization.
func (s *Server) OrganizationID(t testing.TB) string {
	env, err := s.Store.GetEnvironment(context.Background(), s.Admin.EnvironmentID)
	if err != nil {
		t.Fatal(err)
	}
	return env.OrganizationID
}

// LicenseID is the bootstrap license, the id PingOne's SDK sends on every
// environment create.
func (s *Server) LicenseID(t testing.TB) string {
	ls, err := s.Store.ListLicenses(context.Background(), s.OrganizationID(t))
	if err != nil || len(ls) != 1 {
		t.Fatalf("licenses: %v %d", err, len(ls))
	}
	return ls[0].ID
}

// Queries is how many statements the server's store has run: benchmarks
// report it per request.
func (s *Server) Queries() int64 {
	if q, ok := s.Store.(interface{ Queries() int64 }); ok {
		return q.Queries()
	}
	return 0
}
