package httpx

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// plainHandler answers what arrives in plain HTTP on a TLS port. A CONNECT
// to the base URL's own host and port is what an HTTPS_PROXY client sends
// to reach https://<base host>: it becomes a tunnel to the TLS server in
// this process. Nothing is ever dialled, so Gatehouse cannot be used as a
// proxy to anywhere else: every other CONNECT target is refused.
//
// Any other plain request is a client that forgot https. GET and HEAD are
// sent to the same path on the base URL (a browser follows); other methods
// get 400, so that a client posting credentials learns at once rather than
// having a redirect silently turn its POST into something else.
type plainHandler struct {
	base   string // the base URL, no trailing slash
	target string // the host:port a CONNECT may name, canonical
	tunnel func(net.Conn) error
	log    *slog.Logger
}

func newPlainHandler(base *url.URL, tunnel func(net.Conn) error, log *slog.Logger) *plainHandler {
	port := base.Port()
	if port == "" {
		port = "443"
		if base.Scheme == "http" {
			port = "80"
		}
	}
	target, _ := canonicalTarget(net.JoinHostPort(base.Hostname(), port))
	return &plainHandler{base: strings.TrimSuffix(base.String(), "/"), target: target, tunnel: tunnel, log: log}
}

// canonicalTarget spells host:port one way: host names in lower case, IP
// addresses in their shortest form, the port as a number.
func canonicalTarget(hostport string) (string, bool) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" {
		return "", false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().WithZone("").String()
	} else {
		host = strings.ToLower(host)
	}
	return net.JoinHostPort(host, strconv.FormatUint(p, 10)), true
}

func (h *plainHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		h.connect(w, r)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		// Only a path (and query) is carried over to the base URL: the
		// other request-target forms ("http:.example.com/", "*") appended
		// to it would name another host.
		uri := r.URL.RequestURI()
		if r.URL.Opaque != "" || !strings.HasPrefix(uri, "/") {
			uri = "/"
		}
		http.Redirect(w, r, h.base+uri, http.StatusPermanentRedirect)
		return
	}
	wire.WriteError(w, &wire.Error{Status: http.StatusBadRequest, Code: wire.CodeInvalidRequest,
		Message: "The request could not be completed. This port serves HTTPS: send the request to " + h.base + "."})
}

func (h *plainHandler) connect(w http.ResponseWriter, r *http.Request) {
	// For CONNECT the request target is the authority; a Host header does
	// not count.
	if t, ok := canonicalTarget(r.URL.Host); !ok || t != h.target {
		h.log.Info("CONNECT refused: only the base URL's host and port are tunnelled", "target", r.URL.Host, "remote", r.RemoteAddr)
		w.Header().Set("Connection", "close")
		wire.WriteError(w, &wire.Error{Status: http.StatusForbidden, Code: wire.CodeAccessFailed,
			Message: "The request could not be completed. Gatehouse tunnels CONNECT only to its own base URL, " + h.target + "."})
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		wire.WriteError(w, wire.Unexpected())
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		h.log.Warn("CONNECT: hijack failed", "err", err)
		return
	}
	// The plain server's deadlines were for reading this request; the TLS
	// server sets its own on the tunnel.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	var c net.Conn = conn
	// A client may send its ClientHello without waiting for the answer:
	// what the plain server read past the request belongs to the tunnel.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c = &prefixConn{Conn: conn, prefix: append([]byte(nil), b...)}
	}
	h.log.Debug("CONNECT tunnel opened", "target", r.URL.Host, "remote", r.RemoteAddr)
	h.tunnel(c)
}
