package outbound

import (
	"net/netip"
	"strings"
)

// A refused range and what to call an address in it. Sources: the IANA
// IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and later).
// Whatever is not globally reachable is refused, and so are forms that
// embed an IPv4 address a router may turn back into a private one.
type special struct {
	prefix netip.Prefix
	what   string
}

var specialV4 = []special{
	{netip.MustParsePrefix("0.0.0.0/32"), "an unspecified address"},
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
}

var specialV6 = []special{
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	// ::a.b.c.d: deprecated (RFC 4291 §2.5.5.1); nothing legitimate uses it.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	// Teredo, benchmarking, ORCHID and the rest of the IETF's block.
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "a private (unique local) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits are an
// IPv4 address the translator connects to, so they are judged as one.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Classify says why an outbound connection to ip is refused ("a loopback
// address", "a private address (IPv4-mapped)"…), or "" when ip is a
// globally reachable address.
func Classify(ip netip.Addr) string {
	ip = ip.WithZone("")
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip.Is4():
		return classify4(ip)
	case ip.Is4In6():
		if why := classify4(ip.Unmap()); why != "" {
			return why + " (IPv4-mapped)"
		}
		return ""
	case nat64.Contains(ip):
		b := ip.As16()
		if why := classify4(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); why != "" {
			return why + " (NAT64)"
		}
		return ""
	}
	for _, s := range specialV6 {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	return ""
}

func classify4(ip netip.Addr) string {
	for _, s := range specialV4 {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	return ""
}

// oddNumericHost reports whether host is a number-only name that is not
// a dotted-quad IPv4 address: 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1.
// C resolvers read these as IPv4 addresses (inet_aton), Go's as names;
// either way nobody means them for a real server, so they are refused
// before anything is resolved.
func oddNumericHost(host string) bool {
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		l := strings.ToLower(label)
		if strings.HasPrefix(l, "0x") {
			l = l[2:]
			if l == "" || strings.Trim(l, "0123456789abcdef") != "" {
				return false
			}
			continue
		}
		if l == "" || strings.Trim(l, "0123456789") != "" {
			return false
		}
	}
	return true
}
