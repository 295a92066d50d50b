package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Timeouts bound each connection; zero fields take the defaults.
type Timeouts struct {
	// Peek bounds the wait for a TLS listener's connection to send its
	// first byte (default 10 s).
	Peek time.Duration
	// ReadHeader, Read, Write and Idle are http.Server's (default 10 s,
	// 30 s, 60 s and 120 s). A TLS handshake gets the shortest of the
	// first three.
	ReadHeader, Read, Write, Idle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Peek, 10*time.Second)
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Read, 30*time.Second)
	def(&t.Write, 60*time.Second)
	def(&t.Idle, 120*time.Second)
	return t
}

// ServerOptions describe a Server.
type ServerOptions struct {
	Handler http.Handler
	Log     *slog.Logger
	// TLS, when set, makes the listener serve Handler over TLS, and answer
	// plain HTTP on the same port: CONNECT to BaseURL's own host and port
	// (tunnelled to the TLS server), redirects or 400 for the rest.
	TLS      *Certificates
	BaseURL  string
	Timeouts Timeouts
}

// Server serves one listener: plain HTTP, or TLS with CONNECT beside it.
type Server struct {
	main    *http.Server
	plain   *http.Server // nil without TLS
	timeout Timeouts
	split   atomic.Pointer[split] // set by Serve, before any connection
}

// NewServer builds the server; Serve runs it.
func NewServer(o ServerOptions) (*Server, error) {
	t := o.Timeouts.withDefaults()
	errLog := slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn)
	s := &Server{timeout: t, main: &http.Server{
		Handler:           o.Handler,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
	}}
	if o.TLS == nil {
		return s, nil
	}
	base, err := url.Parse(o.BaseURL)
	if err != nil || base.Scheme != "https" || base.Hostname() == "" {
		return nil, fmt.Errorf("with TLS on, the base URL must be https://host[:port], not %q", o.BaseURL)
	}
	s.main.TLSConfig = o.TLS.Config()
	tunnel := func(c net.Conn) error { return s.split.Load().Tunnel(c) }
	// Plain connections carry one CONNECT, or a request to redirect: short
	// timeouts all round.
	s.plain = &http.Server{
		Handler:           newPlainHandler(base, tunnel, o.Log),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.ReadHeader,
		WriteTimeout:      t.ReadHeader,
		IdleTimeout:       t.ReadHeader,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errLog,
	}
	return s, nil
}

// Serve serves ln until Shutdown; it then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	if s.plain == nil {
		return s.main.Serve(ln)
	}
	sp := newSplit(ln, s.timeout.Peek)
	s.split.Store(sp)
	go sp.run()
	errs := make(chan error, 2)
	go func() { errs <- s.main.ServeTLS(&sp.tls, "", "") }()
	go func() { errs <- s.plain.Serve(&sp.plain) }()
	first := <-errs
	// Whatever stopped one side stops the other.
	sp.close(net.ErrClosed)
	second := <-errs
	if errors.Is(first, http.ErrServerClosed) || errors.Is(second, http.ErrServerClosed) {
		return http.ErrServerClosed
	}
	return first
}

// Shutdown stops accepting and waits for in-flight requests, tunnelled ones
// included, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.plain == nil {
		return s.main.Shutdown(ctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.plain.Shutdown(ctx) }()
	err := s.main.Shutdown(ctx)
	if perr := <-errc; err == nil {
		err = perr
	}
	return err
}
