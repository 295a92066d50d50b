package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the networks of the reverse proxies in front of the
// server. X-Forwarded-For is believed only from them: anyone else can
// write any address there.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or
// single addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"); "" is none.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (t TrustedProxies) contains(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Source is the address a request comes from: the peer's, unless the
// peer is a trusted proxy; then the right-most address of
// X-Forwarded-For that is not a trusted proxy (each proxy appends the
// address it received from, so everything left of the first untrusted
// hop may be forged). An entry that does not parse ends the walk at the
// hop that vouched for it. The zero Addr when the peer's address does not
// parse.
func (t TrustedProxies) Source(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !t.contains(peer) {
		return peer
	}
	src := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := forwardedAddr(parts[j])
			if !a.IsValid() {
				return src
			}
			src = a
			if !t.contains(a) {
				return a
			}
		}
	}
	// Every hop is a trusted proxy: the left-most is as near the client
	// as anything says.
	return src
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// forwardedAddr reads one X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func forwardedAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

type sourceKey struct{}

// WithSource stores each request's source address (see
// TrustedProxies.Source) in its context, for SourceOf.
func WithSource(trusted TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := trusted.Source(r)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sourceKey{}, a)))
		})
	}
}

// SourceOf is the request's source address: as WithSource found it, else
// the peer's (no proxy is trusted).
func SourceOf(r *http.Request) netip.Addr {
	if a, ok := SourceFrom(r.Context()); ok {
		return a
	}
	return peerAddr(r.RemoteAddr)
}

// SourceFrom is the source address WithSource stored in a request's
// context, for code that has the context and not the request.
func SourceFrom(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(sourceKey{}).(netip.Addr)
	return a, ok
}

// SourceKey is how rate limits name a source: an IPv4 address as it is,
// an IPv6 address by its /64, the smallest network a host is usually
// given (one host could otherwise take a fresh address per request).
// "" when there is no address.
func SourceKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return ""
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
