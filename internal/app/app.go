// Package app wires Gatehouse together: store, master key, signing keys,
// the auth service, the sign-on flow engine with its methods, federation
// with its protocols, the management API, health and metrics, and the
// HTTP server's lifecycle.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/console"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/federation/oidc"
	samlsp "github.com/gatehouse-id/gatehouse/internal/federation/saml"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/fido2"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	samlidp "github.com/gatehouse-id/gatehouse/internal/saml/idp"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/signon"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Config is the server's contract (see the README): flags and env vars
// land here.
type Config struct {
	Listen            string
	DB                string
	BaseURL           string // no trailing slash; default http:// + Listen
	BootstrapFile     string
	AdminClientID     string
	AdminClientSecret string
	// AdminUsername and AdminPassword name the administrator user the
	// first start makes (default admin and a random one-time password).
	AdminUsername string
	AdminPassword string
	// MasterKey seals client secrets and private keys at rest.
	MasterKey []byte
	Logger    *slog.Logger
	// Notifier sends recovery and verification codes; nil logs them (see
	// SMTPConfig for mail).
	Notifier notify.Notifier
	// MFASender delivers MFA passcodes; nil words them with the
	// environment's notification templates and sends them by email through
	// Notifier and by SMS and voice through the environment's phone
	// delivery settings (or PhoneSender). MFAPolicies gives the MFA
	// settings and device authentication policies (nil: the
	// environment's own).
	MFASender   mfa.Sender
	MFAPolicies mgmt.MFAPolicies
	// FederationTimeout bounds each call to an external identity provider
	// (default 10 s).
	FederationTimeout time.Duration
	// TLSCertFile and TLSKeyFile (PEM) make the listener serve https;
	// TLSDev makes a development CA and a certificate for the base URL's
	// host instead, kept beside the database. Either needs an https
	// BaseURL.
	TLSCertFile, TLSKeyFile string
	TLSDev                  bool
	// TLSReloadInterval is how often the certificate files are checked for
	// a change (default 5 s).
	TLSReloadInterval time.Duration
	// Timeouts bound connections (see httpx.Timeouts for the defaults).
	Timeouts httpx.Timeouts
	// Outbound configures the one client of requests to URLs tenants
	// configure (identity providers, jwksUrl); AllowPrivate is
	// --allow-private-outbound.
	Outbound outbound.Options
	// SAMLAllowSHA1 lets SAML partners sign with SHA-1 algorithms
	// (--saml-allow-sha1); refused by default.
	SAMLAllowSHA1 bool

	// Limits are the rate limits (see the README's "Rate limits"); nil
	// is ratelimit.Defaults(). TrustedProxies are the reverse proxies
	// whose X-Forwarded-For names the source address limits count.
	Limits         *ratelimit.Config
	TrustedProxies httpx.TrustedProxies

	// FlowClock is the sign-on clock: the flows' (their steps, expiries
	// and FIDO2 challenges), the sessions' (idle timeout and maximum
	// lifetime) and the auth service's, which judges sessions and dates
	// the tokens issued in them; nil is the system's. Tests move it on.
	FlowClock func() time.Time

	// MaxFlowPasswordAttempts caps the failed password checks of one
	// sign-on flow: the one that reaches it fails the flow (0:
	// flow.DefaultMaxPasswordAttempts; negative: no cap).
	MaxFlowPasswordAttempts int
	// PasswordPool bounds password hashing: workers, waiting callers and
	// their wait (zero values: password's defaults).
	PasswordPool password.PoolOptions

	// PhoneSender delivers SMS and voice passcodes of environments
	// without phone delivery settings; nil logs them. TwilioBaseURL
	// replaces Twilio's API for CUSTOM_TWILIO settings (tests).
	PhoneSender   notify.PhoneSender
	TwilioBaseURL string

	// Audit configures the audit log (see audit.Options and the README's
	// "Audit").
	Audit audit.Options
	// Webhooks tunes the webhook dispatcher (its Client, Sealer and Log
	// are the server's).
	Webhooks webhook.Options
	// AuditRecorder, when set, takes the audit activities instead of the
	// audit log (tests capture them).
	AuditRecorder audit.Recorder
}

// Server is an assembled Gatehouse.
type Server struct {
	Handler http.Handler
	Store   store.Store
	Sealer  *secrets.Sealer
	Keys    *keys.Manager
	Admin   *Admin
	Config  Config
	// Audit records audit activities; Serve closes it once requests have
	// drained.
	Audit *audit.Log
	// OTPSender words and delivers MFA passcodes (mfa.Sender): email
	// through the notifier, SMS and voice through the environment's phone
	// delivery settings.
	OTPSender *notify.Dispatcher
	// Webhooks delivers activities to subscriptions (see webhooks.go).
	Webhooks *webhook.Dispatcher
	log      *slog.Logger
	tls      *httpx.Certificates // nil: plain http
}

// New opens the store, bootstraps the admin and builds the handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	sealer, err := secrets.New(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	certs, caFile, err := setupTLS(cfg, time.Now())
	if err != nil {
		return nil, err
	}
	raw, err := sqlstore.Open(ctx, cfg.DB, sqlstore.WithLogger(cfg.Logger))
	if err != nil {
		return nil, err
	}
	st := observeStore(raw)
	auditLog := audit.New(st, cfg.Audit, cfg.Logger)
	fail := func(err error) (*Server, error) {
		auditLog.Close(ctx)
		st.Close()
		return nil, err
	}
	if err := checkMasterKey(ctx, st, sealer); err != nil {
		return fail(err)
	}
	admin, created, err := bootstrap(ctx, st, sealer, cfg)
	if err != nil {
		return fail(fmt.Errorf("bootstrap: %w", err))
	}
	admin.CAFile = caFile
	consoleCreated, err := bootstrapConsole(ctx, st, cfg, admin)
	if err != nil {
		return fail(fmt.Errorf("bootstrap the console: %w", err))
	}
	wrote, err := writeBootstrapFile(cfg.BootstrapFile, admin, created)
	if err != nil {
		return fail(fmt.Errorf("write bootstrap file: %w", err))
	}
	if wrote {
		cfg.Logger.Info("admin credentials written; get a token with client_credentials at "+admin.AuthPath+"/"+admin.EnvironmentID+"/as/token",
			"file", cfg.BootstrapFile, "environmentId", admin.EnvironmentID, "clientId", admin.ClientID)
	} else if cfg.BootstrapFile != "" {
		set := []bootstrapMember{{"authPath", admin.AuthPath}, {"apiPath", admin.APIPath},
			{"consoleUrl", admin.ConsoleURL}, {"consoleClientId", admin.ConsoleClientID}, {"username", admin.Username}}
		if consoleCreated {
			// A database bootstrapped by an older version: the
			// administrator was made now, its password is known now only.
			set = append(set, bootstrapMember{"password", admin.Password})
		}
		if caFile != "" {
			set = append(set, bootstrapMember{"caFile", caFile})
		}
		if err := updateBootstrapFile(cfg.BootstrapFile, set); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// The log names the base URL and the CA too: a bootstrap file
			// the user edited into something else is not worth failing for.
			cfg.Logger.Warn("could not update the bootstrap file", "file", cfg.BootstrapFile, "err", err)
		}
	}
	if consoleCreated {
		// The issue asks for the one-time password in the log: it is how
		// a first start without a bootstrap file is signed on to, and the
		// first sign-on replaces it.
		cfg.Logger.Info("administrator created: sign on to the admin console at "+admin.ConsoleURL+" and change the one-time password",
			"consoleUrl", admin.ConsoleURL, "username", admin.Username, "password", admin.Password)
	} else {
		cfg.Logger.Info("admin console at "+admin.ConsoleURL, "consoleUrl", admin.ConsoleURL, "username", admin.Username)
	}

	wire.SetClassifier(classify)
	km := keys.NewManager(st, sealer, 10*time.Second)
	conf := config.New(st, config.Options{})
	out := newOutbound(cfg)
	// Signing keys follow the configuration version as the cache sees it:
	// another node's key change is seen within a second.
	km.Follow(conf)
	auth := &authsvc.Service{Store: st, Keys: km, Sealer: sealer, AuthPath: cfg.BaseURL, AccessTokenTTL: time.Hour, Config: conf,
		Outbound: out, Now: cfg.FlowClock}
	creds := &credential.Service{Store: st, Hasher: password.NewPool(password.DefaultParams, cfg.PasswordPool)}
	notifier := cfg.Notifier
	if notifier == nil {
		// Codes in the log let anyone who reads it recover any password:
		// fine on a developer's machine or in CI, not in production.
		cfg.Logger.Warn("no SMTP server is configured: password recovery and verification codes are written to this log; set --smtp-addr (GATEHOUSE_SMTP_ADDR) in production")
		notifier = notify.LogNotifier{Log: cfg.Logger}
	}
	otpSender := notify.NewDispatcher(conf, sealer, notifier, out, cfg.Logger)
	otpSender.TwilioBaseURL = cfg.TwilioBaseURL
	if cfg.PhoneSender != nil {
		otpSender.Phone = cfg.PhoneSender
	}
	cookies := session.Cookies{Secure: strings.HasPrefix(cfg.BaseURL, "https://")}
	flows := &flow.Engine{Store: st, Config: conf, Credentials: creds, Notifier: notifier, AuthPath: cfg.BaseURL, Cookies: cookies, Log: cfg.Logger,
		MaxPasswordAttempts: cfg.MaxFlowPasswordAttempts, Now: cfg.FlowClock}
	// The sign-on methods, in the order the flow offers their actions.
	ext := external.New(flows)
	mfaMethod := &otp.Method{Sealer: sealer}
	fidoMethod := &fido2.Method{}
	flows.Register(methods.Standard(ext, mfaMethod, fidoMethod)...)
	auth.Flows, auth.Cookies = flows, cookies
	fed := &federation.Service{Store: st, Config: conf, Flows: flows, External: ext, Cookies: cookies, Log: cfg.Logger}
	// The federation protocols, one per kind of identity provider.
	fed.Register(&oidc.Protocol{Sealer: sealer, AuthPath: cfg.BaseURL, Timeout: cfg.FederationTimeout, Log: cfg.Logger, Client: out},
		&samlsp.Protocol{Store: st, Keys: km, AuthPath: cfg.BaseURL, AllowSHA1: cfg.SAMLAllowSHA1, Log: cfg.Logger, Now: cfg.FlowClock})
	var mfaSender mfa.Sender = otpSender
	if cfg.MFASender != nil {
		mfaSender = cfg.MFASender
	}
	mfaSvc := &mfa.Service{Store: st, Sealer: sealer, Sender: mfaSender}
	wireMFAFlow(mfaMethod, fidoMethod, mfaSvc, conf)
	api := &mgmt.API{Store: st, Keys: km, Sealer: sealer, Tokens: auth, APIPath: cfg.BaseURL + "/v1", Credentials: creds,
		Config: conf, MFA: mfaSvc, MFAPolicies: cfg.MFAPolicies}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpx.NewMetrics(reg)
	if err := telemetry.Register(reg); err != nil {
		return fail(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		wire.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			cfg.Logger.Warn("readiness: store unreachable", "err", err)
			wire.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		wire.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	auth.Routes(mux)
	flows.Routes(mux)
	fed.Routes(mux)
	signon.New(st, conf, flows, cookies, cfg.Logger).Routes(mux)
	// Gatehouse as the SAML identity provider of its SAML applications.
	(&samlidp.Service{Store: st, Config: conf, Flows: flows, Keys: km, Cookies: cookies, AuthPath: cfg.BaseURL,
		AllowSHA1: cfg.SAMLAllowSHA1, Now: cfg.FlowClock, Log: cfg.Logger}).Routes(mux)
	console.New(console.Options{EnvironmentID: admin.EnvironmentID, ClientID: admin.ConsoleClientID, BaseURL: cfg.BaseURL}).Routes(mux)
	api.Routes(mux)
	// Device authentications: PingOne's MFA-only flow, beside the auth
	// service's routes, over the same MFA domain as the flows'.
	devAuth := &deviceauth.Service{Store: st, Config: conf, Tokens: auth, MFA: mfaSvc, AuthPath: cfg.BaseURL}
	devAuth.Routes(mux)
	wireAudit(cfg, auditLog, api, flows, auth, devAuth)

	limits := applyLimits(cfg, auth, flows, api, devAuth)
	return &Server{Handler: httpx.Router(mux, metrics, cfg.Logger, limits...), Store: st, Sealer: sealer, Keys: km, Admin: admin, Config: cfg,
		OTPSender: otpSender, Audit: auditLog, Webhooks: newWebhooks(cfg, st, sealer, out, auditLog, api), log: cfg.Logger, tls: certs}, nil
}

// newOutbound builds the one client of requests to URLs tenants
// configure, shared by federation and the auth service.
func newOutbound(cfg Config) *outbound.Client {
	o := cfg.Outbound
	if o.Log == nil {
		o.Log = cfg.Logger
	}
	if o.AllowPrivate {
		cfg.Logger.Warn("outbound requests may reach loopback and private addresses and use plain http (--allow-private-outbound): " +
			"any tenant administrator can make this server call its own network; use only for development and tests")
	}
	return outbound.New(o)
}

// classify maps domain errors to PingOne's error bodies.
func classify(err error) *wire.Error {
	var ue *store.UniqueError
	var se *scim.Error
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &rl):
		return wire.RequestLimited(rl.What, rl.Seconds(), time.Now())
	case errors.As(err, &ue):
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: ue.Field,
			Message: "A " + ue.Resource + " with this " + ue.Field + " already exists."})
	case errors.Is(err, store.ErrNotFound):
		return wire.NotFound("")
	case errors.Is(err, store.ErrReferenced):
		return wire.RequestFailed("The request could not be completed. The resource is referenced by, or refers to, a resource that does not allow it.")
	case errors.As(err, &se):
		return wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidFilter, Target: "filter", Message: se.Message,
			InnerError: innerFilter(se)})
	case errors.Is(err, password.ErrBusy):
		return wire.Unavailable("Too many password checks are waiting. Try again shortly.", 1)
	case errors.Is(err, context.Canceled):
		// The client went away; nothing will read this.
		return &wire.Error{Status: 499, Code: wire.CodeInvalidRequest, Message: "The request was cancelled."}
	}
	return nil
}

func innerFilter(se *scim.Error) *wire.InnerError {
	if len(se.SupportedAttributes) == 0 && len(se.SupportedOperators) == 0 {
		return nil
	}
	return &wire.InnerError{SupportedAttributes: se.SupportedAttributes, SupportedOperators: se.SupportedOperators}
}

// Close writes what the audit log holds, stops the webhooks and releases
// the store.
func (s *Server) Close() error {
	s.closeAudit()
	s.stopWebhooks()
	return s.Store.Close()
}

// Serve listens on ln until ctx ends, then drains in-flight requests.
// With TLS on, ln also answers CONNECT to the base URL (see httpx.Server)
// and the certificate files are watched for a renewal.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv, err := httpx.NewServer(httpx.ServerOptions{Handler: s.Handler, Log: s.log, TLS: s.tls,
		BaseURL: s.Config.BaseURL, Timeouts: s.Config.Timeouts})
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	pctx, stopPurge := context.WithCancel(ctx)
	defer stopPurge()
	go s.purge(pctx, time.Minute)
	s.StartWebhooks()
	defer s.stopWebhooks() // last: after the audit log has written what it queued
	if s.tls != nil {
		every := s.Config.TLSReloadInterval
		if every <= 0 {
			every = 5 * time.Second
		}
		go s.tls.Watch(pctx, every, s.log)
	}
	s.log.Info("gatehouse listening", "addr", ln.Addr().String(), "baseUrl", s.Config.BaseURL, "tls", s.tls != nil)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	s.closeAudit()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// purgeBatch bounds one delete per table, so the purge never holds
// SQLite's one writer for long.
const purgeBatch = 1000

// purge deletes expired flows, sessions, codes, refresh tokens and
// revocations every interval, in batches, from the start: these tables
// grow with every sign-on.
func (s *Server) purge(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := s.Store.PurgeExpired(ctx, store.Now(), purgeBatch)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("purging expired auth state failed", "err", err)
				}
				break
			}
			if n > 0 {
				s.log.Debug("purged expired auth state", "rows", n)
			}
			if n < purgeBatch {
				break
			}
		}
		s.purgeActivities(ctx)
	}
}
