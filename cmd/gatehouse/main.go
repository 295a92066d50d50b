// Command gatehouse runs the Gatehouse identity server.
//
//	gatehouse [serve] [flags]   migrate the schema and serve (default)
//	gatehouse version           print the version
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)

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
		base = "http://" + ln.Addr().String()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := app.Config{
		Listen: *listen, DB: *db, BaseURL: base, BootstrapFile: *bootstrapFile,
		AdminClientID: os.Getenv("GATEHOUSE_ADMIN_CLIENT_ID"), AdminClientSecret: os.Getenv("GATEHOUSE_ADMIN_CLIENT_SECRET"),
		MasterKey: key, Logger: logger,
	}
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
	return srv.Serve(ctx, ln)
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
