// Package outbound is the one HTTP client for requests to URLs a tenant
// configured: identity providers' token, userinfo and JWKS endpoints,
// applications' jwksUrl, and whatever comes later (webhooks). A tenant
// administrator must not be able to make Gatehouse call what only
// Gatehouse can reach (server-side request forgery), so the client
//
//   - checks the address of every connection when it is made, after DNS
//     resolution (net.Dialer's ControlContext, before connect): loopback,
//     private, link-local, CGNAT, unspecified, multicast and other special
//     addresses are refused, in IPv4, IPv4-mapped and NAT64 forms alike, so
//     a name that resolves to 127.0.0.1 fails the same as 127.0.0.1 and a
//     second, different answer (DNS rebinding) is checked again;
//   - refuses plain http and number-only host names other than dotted quads
//     (2130706433, 127.1) before anything is resolved or sent;
//   - never uses a proxy from the environment (HTTPS_PROXY would otherwise
//     connect somewhere the check never saw);
//   - checks redirects the same way (each hop is a new request through the
//     same transport), follows at most a few, and follows none for a POST:
//     a token request's body carries a client secret;
//   - bounds every request's time and every response's size.
//
// Every refusal happens before a byte of the request leaves, so a secret
// in it goes nowhere. Options.AllowPrivate (--allow-private-outbound)
// lifts the address and scheme rules for development and tests.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// Defaults of Options.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	// MaxRedirects is how many redirects one request follows.
	MaxRedirects = 5
)

// Options configure a Client.
type Options struct {
	// AllowPrivate lets requests reach loopback, private and other special
	// addresses, over plain http too: development and tests only.
	AllowPrivate bool
	// Allow lists addresses (ip:port) let through though they would be
	// refused, over plain http too: a test's fake provider on 127.0.0.1,
	// beside which the guard must still refuse every other address.
	Allow []netip.AddrPort
	// Timeout bounds each request, redirects and reading the body included
	// (default DefaultTimeout).
	Timeout time.Duration
	// MaxResponseBytes bounds each response body (default
	// DefaultMaxResponseBytes); reading past it fails with *TooLargeError.
	MaxResponseBytes int64
	// RootCAs verify servers' certificates (nil: the system's).
	RootCAs *x509.CertPool
	// Resolver looks names up (nil: net.DefaultResolver).
	Resolver *net.Resolver
	// Log gets a warning for every refusal (nil: slog.Default()).
	Log *slog.Logger
}

// Client makes outbound requests. Its methods are safe for concurrent use.
type Client struct {
	hc   *http.Client
	opts Options
	// unverified is hc trusting any server certificate, every other rule
	// kept (SkipTLSVerify); nil in the Client it returns.
	unverified *http.Client
}

// New builds a Client.
func New(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	g := &guard{opts: o, allow: map[netip.AddrPort]bool{}}
	for _, a := range o.Allow {
		g.allow[netip.AddrPortFrom(a.Addr().Unmap(), a.Port())] = true
	}
	g.dialer = net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Resolver: o.Resolver}
	g.base = &http.Transport{
		// Never http.ProxyFromEnvironment: the proxy would make the
		// connection, and the check below would only see the proxy.
		Proxy:                  nil,
		DialContext:            g.dial,
		TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  o.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	// A second transport for requests that skip certificate verification:
	// its own connections, so that a connection made without verifying
	// is never reused for a request that verifies.
	u := &guard{opts: g.opts, allow: g.allow, dialer: g.dialer, base: g.base.Clone()}
	u.base.DialContext = u.dial
	u.base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	return &Client{opts: o, hc: &http.Client{Transport: g, Timeout: o.Timeout, CheckRedirect: checkRedirect},
		unverified: &http.Client{Transport: u, Timeout: o.Timeout, CheckRedirect: checkRedirect}}
}

// SkipTLSVerify is c trusting whatever certificate a server presents (a
// webhook whose verifyTlsCertificates is false). Every other rule holds:
// the addresses, the scheme, redirects, the time and size bounds.
func (c *Client) SkipTLSVerify() *Client {
	if c.unverified == nil {
		return c
	}
	hc := *c.unverified
	return &Client{hc: &hc, opts: c.opts}
}

// HTTP is the client as an *http.Client, for libraries that take one
// (x/oauth2, go-oidc). It carries every rule of the package.
func (c *Client) HTTP() *http.Client { return c.hc }

// Do sends req.
func (c *Client) Do(req *http.Request) (*http.Response, error) { return c.hc.Do(req) }

// WithTimeout is c with another bound on each request's time; it shares
// c's connections and rules.
func (c *Client) WithTimeout(d time.Duration) *Client {
	if d <= 0 {
		return c
	}
	hc := *c.hc
	hc.Timeout = d
	o := c.opts
	o.Timeout = d
	out := &Client{hc: &hc, opts: o}
	if c.unverified != nil {
		u := *c.unverified
		u.Timeout = d
		out.unverified = &u
	}
	return out
}

// AllowsPrivate reports whether the operator lifted the address rules.
func (c *Client) AllowsPrivate() bool { return c.opts.AllowPrivate }

// RefusedError is a request the guard stopped before sending it.
type RefusedError struct {
	// URL is the request's, without query or credentials.
	URL string
	// Addr is the address refused at dial time ("127.0.0.1:443"), empty
	// when the URL itself was refused.
	Addr string
	// Rule says what was refused, without naming hosts or addresses, so
	// that it may go into messages that leave the server: "outbound
	// requests may not reach a loopback address".
	Rule string
}

func (e *RefusedError) Error() string {
	s := "outbound request to " + e.URL + " refused: " + e.Rule
	if e.Addr != "" {
		s += " (" + e.Addr + ")"
	}
	return s
}

// TooLargeError is a response body longer than the client's bound.
type TooLargeError struct {
	URL   string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("outbound response from %s is over %d bytes", e.URL, e.Limit)
}

// Refused returns the refusal err holds, if any.
func Refused(err error) (*RefusedError, bool) {
	var re *RefusedError
	ok := errors.As(err, &re)
	return re, ok
}

// TooLarge returns the oversized response err holds, if any.
func TooLarge(err error) (*TooLargeError, bool) {
	var te *TooLargeError
	ok := errors.As(err, &te)
	return te, ok
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return &RefusedError{URL: cleanURL(req.URL), Rule: "outbound requests do not follow redirects of a " + m}
	}
	if len(via) > MaxRedirects {
		return fmt.Errorf("outbound request to %s stopped after %d redirects", cleanURL(via[0].URL), MaxRedirects)
	}
	return nil
}

// guard is the transport: the URL's rules, then the dial's.
type guard struct {
	opts   Options
	allow  map[netip.AddrPort]bool
	dialer net.Dialer
	base   *http.Transport
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.checkURL(req.URL); err != nil {
		return nil, g.refused(req, err)
	}
	if telemetry.Tracing() {
		return g.tracedRoundTrip(req)
	}
	return g.roundTrip(req)
}

func (g *guard) roundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.base.RoundTrip(req)
	if err != nil {
		if re, ok := Refused(err); ok {
			re.URL = cleanURL(req.URL)
			g.log(req, re)
		}
		return nil, err
	}
	limit := g.opts.MaxResponseBytes
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, &TooLargeError{URL: cleanURL(req.URL), Limit: limit}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: limit, err: &TooLargeError{URL: cleanURL(req.URL), Limit: limit}}
	return resp, nil
}

// checkURL applies the rules a URL can be judged by before resolution.
func (g *guard) checkURL(u *url.URL) *RefusedError {
	if g.opts.AllowPrivate || g.allowed(u) {
		return nil
	}
	if u.Scheme != "https" {
		return &RefusedError{Rule: "outbound requests must use https"}
	}
	if oddNumericHost(u.Hostname()) {
		return &RefusedError{Rule: "outbound requests may not name a host by a number other than a dotted-quad IPv4 address"}
	}
	return nil
}

// allowed reports whether u names an Options.Allow address literally.
func (g *guard) allowed(u *url.URL) bool {
	if len(g.allow) == 0 {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(u.Hostname(), port))
	return err == nil && g.allow[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
}

func (g *guard) refused(req *http.Request, re *RefusedError) error {
	re.URL = cleanURL(req.URL)
	g.log(req, re)
	return re
}

func (g *guard) log(req *http.Request, re *RefusedError) {
	g.opts.Log.WarnContext(req.Context(), "outbound request refused", "url", re.URL, "addr", re.Addr, "rule", re.Rule)
}

// dial connects to addr, checking each address the name resolves to
// just before connecting to it.
func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := g.dialer
	d.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
		return g.checkAddr(network, address)
	}
	return d.DialContext(ctx, network, addr)
}

func (g *guard) checkAddr(network, address string) error {
	if network != "tcp4" && network != "tcp6" {
		return &RefusedError{Addr: address, Rule: "outbound requests use TCP only"}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Addr: address, Rule: "outbound requests may not reach an address that does not parse"}
	}
	if g.opts.AllowPrivate || g.allow[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] {
		return nil
	}
	if why := Classify(ap.Addr()); why != "" {
		return &RefusedError{Addr: address, Rule: "outbound requests may not reach " + why}
	}
	return nil
}

// cleanURL is u for logs and errors: no credentials, query or fragment.
func cleanURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment, c.ForceQuery = nil, "", "", "", false
	return c.String()
}

// limitedBody fails with err once more than its bound has been read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	// One byte past the bound tells a body of exactly the bound from a
	// longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n, b.left = int(b.left), -1
		return n, b.err
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
