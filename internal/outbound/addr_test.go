package outbound

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		addr string
		want string // "" allowed
	}{
		// Globally reachable.
		{"1.1.1.1", ""},
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4001:80b::200e", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8

		// IPv4.
		{"0.0.0.0", "an unspecified address"},
		{"0.1.2.3", `a "this network" address`},
		{"10.0.0.1", "a private address"},
		{"10.255.255.255", "a private address"},
		{"100.64.0.1", "a shared (CGNAT) address"},
		{"100.127.255.255", "a shared (CGNAT) address"},
		{"127.0.0.1", "a loopback address"},
		{"127.255.255.254", "a loopback address"},
		{"169.254.169.254", "a link-local address"},
		{"172.16.0.1", "a private address"},
		{"172.31.255.255", "a private address"},
		{"192.0.0.8", "an IETF protocol assignment"},
		{"192.0.2.1", "a documentation address"},
		{"192.88.99.1", "a 6to4 relay anycast address"},
		{"192.168.1.1", "a private address"},
		{"198.18.0.1", "a benchmarking address"},
		{"198.19.255.255", "a benchmarking address"},
		{"198.51.100.7", "a documentation address"},
		{"203.0.113.9", "a documentation address"},
		{"224.0.0.1", "a multicast address"},
		{"239.255.255.250", "a multicast address"},
		{"240.0.0.1", "a reserved address"},
		{"255.255.255.255", "the broadcast address"},

		// IPv6.
		{"::", "an unspecified address"},
		{"::1", "a loopback address"},
		{"::127.0.0.1", "an IPv4-compatible IPv6 address"},
		{"::8.8.8.8", "an IPv4-compatible IPv6 address"},
		{"fc00::1", "a private (unique local) address"},
		{"fd12:3456:789a::1", "a private (unique local) address"},
		{"fe80::1", "a link-local address"},
		{"fe80::1%eth0", "a link-local address"},
		{"febf::1", "a link-local address"},
		{"fec0::1", "a site-local address"},
		{"ff02::1", "a multicast address"},
		{"100::1", "a discard-only address"},
		{"2001:db8::1", "a documentation address"},
		{"2001::1", "an IETF protocol assignment"}, // Teredo
		{"2002:7f00:1::1", "a 6to4 address"},
		{"3fff::1", "a documentation address"},
		{"64:ff9b:1::a00:1", "a local-use NAT64 address"},

		// IPv4 addresses in IPv6 forms are judged as IPv4.
		{"::ffff:127.0.0.1", "a loopback address (IPv4-mapped)"},
		{"::ffff:10.0.0.1", "a private address (IPv4-mapped)"},
		{"::ffff:169.254.169.254", "a link-local address (IPv4-mapped)"},
		{"::ffff:100.64.0.1", "a shared (CGNAT) address (IPv4-mapped)"},
		{"::ffff:0.0.0.0", "an unspecified address (IPv4-mapped)"},
		{"::ffff:7f00:1", "a loopback address (IPv4-mapped)"},
		{"64:ff9b::127.0.0.1", "a loopback address (NAT64)"},
		{"64:ff9b::a00:1", "a private address (NAT64)"},
		{"64:ff9b::a9fe:a9fe", "a link-local address (NAT64)"},
	}
	for _, c := range cases {
		ip, err := netip.ParseAddr(c.addr)
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		if got := Classify(ip); got != c.want {
			t.Errorf("Classify(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
	if got := Classify(netip.Addr{}); got != "an invalid address" {
		t.Errorf("Classify(zero) = %q", got)
	}
}

func TestOddNumericHost(t *testing.T) {
	cases := []struct {
		host string
		want bool
	}{
		{"2130706433", true},
		{"127.1", true},
		{"127.0.1", true},
		{"0x7f.0.0.1", true},
		{"0x7f000001", true},
		{"0177.0.0.1", true},
		{"017700000001", true},
		{"10.1", true},
		{"127.0.0.1.", true},

		{"127.0.0.1", false}, // a dotted quad: judged at dial time
		{"10.0.0.1", false},
		{"::1", false},
		{"example.com", false},
		{"1.example.com", false},
		{"123.456.example", false},
		{"0x", false},
		{"0xg1", false},
		{"", false},
	}
	for _, c := range cases {
		if got := oddNumericHost(c.host); got != c.want {
			t.Errorf("oddNumericHost(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}
