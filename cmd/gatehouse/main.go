// Command gatehouse runs the Gatehouse identity server.
//
//	gatehouse [serve] [flags]   migrate the schema and serve (default)
//	gatehouse version           print the version
//	gatehouse bench [flags]     measure a running server (benchrun.go)
//	gatehouse bench SCENARIO    run a load scenario in process and print figures (bench.go)
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "version") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" {
		fmt.Println("gatehouse", version)
		return
	}
	if len(args) > 0 && args[0] == "bench" {
		if err := bench(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return
			}
			fmt.Fprintln(os.Stderr, "gatehouse bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(args); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	listen := fs.String("listen", env("GATEHOUSE_LISTEN", "127.0.0.1:8080"), "listen address (GATEHOUSE_LISTEN)")
	db := fs.String("db", env("GATEHOUSE_DB", "sqlite:gatehouse.db"), "database: sqlite:PATH, sqlite::memory: or postgres://… (GATEHOUSE_DB)")
	baseURL := fs.String("base-url", env("GATEHOUSE_BASE_URL", ""), "public base URL (GATEHOUSE_BASE_URL); default http:// + listen address")
	bootstrapFile := fs.String("bootstrap-file", env("GATEHOUSE_BOOTSTRAP_FILE", "gatehouse-admin.json"), "admin bootstrap file (GATEHOUSE_BOOTSTRAP_FILE)")
	keyFile := fs.String("master-key-file", env("GATEHOUSE_MASTER_KEY_FILE", "gatehouse-master.key"),
		"file holding the master key that seals secrets at rest, created on first start (GATEHOUSE_MASTER_KEY_FILE); GATEHOUSE_MASTER_KEY (base64) takes precedence")
	smtpAddr := fs.String("smtp-addr", env("GATEHOUSE_SMTP_ADDR", ""),
		"SMTP server host:port for recovery and verification codes (GATEHOUSE_SMTP_ADDR); empty logs the codes instead")
	smtpFrom := fs.String("smtp-from", env("GATEHOUSE_SMTP_FROM", "gatehouse@localhost"), "sender address of mail (GATEHOUSE_SMTP_FROM)")
	tlsCert := fs.String("tls-cert", env("GATEHOUSE_TLS_CERT", ""), "TLS certificate chain, PEM (GATEHOUSE_TLS_CERT); with --tls-key the listener serves https")
	tlsKey := fs.String("tls-key", env("GATEHOUSE_TLS_KEY", ""), "TLS private key, PEM (GATEHOUSE_TLS_KEY)")
	devDefault, err := envBool("GATEHOUSE_TLS_DEV")
	if err != nil {
		return err
	}
	tlsDev := fs.Bool("tls-dev", devDefault,
		"serve https with a development CA and certificate for the base URL's host, made beside the database (GATEHOUSE_TLS_DEV=true)")
	privateDefault, err := envBool("GATEHOUSE_ALLOW_PRIVATE_OUTBOUND")
	if err != nil {
		return err
	}
	allowPrivateOutbound := fs.Bool("allow-private-outbound", privateDefault,
		"let outbound requests (identity providers, jwksUrl) reach loopback and private addresses and use plain http: development and tests only (GATEHOUSE_ALLOW_PRIVATE_OUTBOUND=true)")
	sha1Default, err := envBool("GATEHOUSE_SAML_ALLOW_SHA1")
	if err != nil {
		return err
	}
	samlAllowSHA1 := fs.Bool("saml-allow-sha1", sha1Default,
		"accept SAML messages signed with SHA-1 (rsa-sha1, sha1 digests) from partners that cannot sign otherwise; refused by default (GATEHOUSE_SAML_ALLOW_SHA1=true)")
	limits := registerLimitFlags(fs)
	passwordLimits, err := passwordFlags(fs)
	if err != nil {
		return err
	}
	auditOptions, err := auditFlags(fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	limitCfg, trustedProxies, err := limits.read()
	if err != nil {
		return err
	}
	var pw app.Config
	if err := passwordLimits(&pw); err != nil {
		return err
	}
	if err := auditOptions(&pw); err != nil {
		return err
	}
	// Checked before anything starts, in the flags' own words.
	if *tlsDev && (*tlsCert != "" || *tlsKey != "") {
		return errors.New("--tls-dev makes its own certificate: use --tls-dev or --tls-cert with --tls-key, not both")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: set both (GATEHOUSE_TLS_CERT, GATEHOUSE_TLS_KEY) or neither")
	}
	useTLS := *tlsDev || *tlsCert != ""
	if useTLS && *baseURL != "" && !strings.HasPrefix(*baseURL, "https://") {
		return fmt.Errorf("--base-url must be https://… when TLS is on (--tls-cert or --tls-dev), not %q", *baseURL)
	}
	// Every request logs a line: batched, they cost no system call each.
	// Close runs on every return, so a clean shutdown loses none.
	logs := httpx.NewLogBuffer(os.Stderr, httpx.LogBufferOptions{})
	defer logs.Close()
	// Lines logged within a traced request carry its trace_id and span_id.
	logger := slog.New(telemetry.LogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	slog.SetDefault(logger)
	// OTLP tracing when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set; the
	// spans still buffered are flushed once the server has drained.
	stopTracing, err := app.StartTracing(context.Background(), logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	// SIGHUP reloads the certificate (the files are also watched). It is
	// caught from here on, since the start can take a while (migrations, a
	// development CA): a renewal's reload signal then waits for the server
	// rather than ending the process. Without TLS it keeps its default: it
	// ends the process.
	var hup chan os.Signal
	if useTLS {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}

	key, err := masterKey(*db, *keyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := *baseURL
	if base == "" {
		scheme := "http://"
		if useTLS {
			scheme = "https://"
		}
		base = scheme + ln.Addr().String()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := app.Config{
		Listen: *listen, DB: *db, BaseURL: base, BootstrapFile: *bootstrapFile,
		AdminClientID: os.Getenv("GATEHOUSE_ADMIN_CLIENT_ID"), AdminClientSecret: os.Getenv("GATEHOUSE_ADMIN_CLIENT_SECRET"),
		AdminUsername: os.Getenv("GATEHOUSE_ADMIN_USERNAME"), AdminPassword: os.Getenv("GATEHOUSE_ADMIN_PASSWORD"),
		MasterKey: key, Logger: logger,
		TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, TLSDev: *tlsDev,
		Limits: limitCfg, TrustedProxies: trustedProxies,
		MaxFlowPasswordAttempts: pw.MaxFlowPasswordAttempts, PasswordPool: pw.PasswordPool,
		Audit: pw.Audit,
	}
	cfg.Outbound.AllowPrivate = *allowPrivateOutbound
	cfg.SAMLAllowSHA1 = *samlAllowSHA1
	if *smtpAddr != "" {
		// The SMTP credentials come from the environment only, never a
		// flag: flags show in process listings.
		cfg.Notifier = notify.SMTPNotifier{Addr: *smtpAddr, From: *smtpFrom,
			Username: os.Getenv("GATEHOUSE_SMTP_USERNAME"), Password: os.Getenv("GATEHOUSE_SMTP_PASSWORD")}
	}
	srv, err := app.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	if hup != nil {
		go func() {
			for range hup {
				srv.ReloadTLS("SIGHUP")
			}
		}()
	}
	return srv.Serve(ctx, ln)
}

// envBool reads a boolean env var; unset or empty is false.
func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, not %q", name, v)
	}
	return b, nil
}

// masterKey resolves the key that seals secrets: GATEHOUSE_MASTER_KEY, else
// the key file (created on first start). An in-memory database lives and
// dies with the process, and so may its key.
func masterKey(db, file string) ([]byte, error) {
	if v := os.Getenv("GATEHOUSE_MASTER_KEY"); v != "" {
		return secrets.ParseKey(v)
	}
	if db == "sqlite::memory:" {
		if _, err := os.Stat(file); err != nil {
			k := make([]byte, secrets.KeySize)
			_, err := rand.Read(k)
			return k, err
		}
	}
	return secrets.LoadOrCreateKeyFile(file)
}
