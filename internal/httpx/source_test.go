package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "", want: nil},
		{in: " , ", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: "10.1.2.3/8, 192.0.2.7 ,fd00::/8", want: []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8"}},
		{in: "::ffff:192.0.2.7", want: []string{"192.0.2.7/32"}},
		{in: "2001:db8::1", want: []string{"2001:db8::1/128"}},
		{in: "10.0.0.0/33", bad: true},
		{in: "proxy.internal", bad: true},
		{in: "10.0.0.0/8;", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTrustedProxies(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseTrustedProxies(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if len(s) != len(tc.want) {
				t.Fatalf("got %v, want %v", s, tc.want)
			}
			for i := range s {
				if s[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", s, tc.want)
				}
			}
		})
	}
}

// TestSource: X-Forwarded-For is believed only when the peer is a trusted
// proxy, and then only up to the right-most hop that is not one.
func TestSource(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trusted TrustedProxies
		remote  string
		xff     []string // one header line each
		want    string
	}{
		{"no proxies trusted: XFF ignored", nil, "198.51.100.9:4711", []string{"203.0.113.5"}, "198.51.100.9"},
		{"untrusted peer: XFF ignored", trusted, "198.51.100.9:4711", []string{"203.0.113.5"}, "198.51.100.9"},
		{"trusted peer without XFF", trusted, "10.0.0.2:4711", nil, "10.0.0.2"},
		{"trusted peer: the client it names", trusted, "10.0.0.2:4711", []string{"203.0.113.5"}, "203.0.113.5"},
		{"forged left part is skipped", trusted, "10.0.0.2:4711", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"a chain of trusted proxies", trusted, "10.0.0.2:4711", []string{"1.2.3.4, 203.0.113.5, 10.9.9.9, 10.0.0.7"}, "203.0.113.5"},
		{"several header lines, last is nearest", trusted, "10.0.0.2:4711", []string{"1.2.3.4", "203.0.113.5, 10.0.0.7"}, "203.0.113.5"},
		{"several header lines, untrusted in the last", trusted, "10.0.0.2:4711", []string{"10.0.0.9", "203.0.113.5"}, "203.0.113.5"},
		{"only trusted hops: the left-most", trusted, "10.0.0.2:4711", []string{"10.0.0.8, 10.0.0.7"}, "10.0.0.8"},
		{"garbage right of the client stops at its proxy", trusted, "10.0.0.2:4711", []string{"203.0.113.5, not-an-ip, 10.0.0.7"}, "10.0.0.7"},
		{"garbage as the only hop", trusted, "10.0.0.2:4711", []string{"unknown"}, "10.0.0.2"},
		{"garbage left of the client is never read", trusted, "10.0.0.2:4711", []string{"<script>, 203.0.113.5"}, "203.0.113.5"},
		{"entries with ports", trusted, "10.0.0.2:4711", []string{"203.0.113.5:5555, 10.0.0.7:80"}, "203.0.113.5"},
		{"IPv6 peer and client", trusted, "[2001:db8:ffff::1]:443", []string{"[2001:db8:1:2::77]:5555"}, "2001:db8:1:2::77"},
		{"IPv4-mapped peer is the IPv4 proxy", trusted, "[::ffff:10.0.0.2]:443", []string{"203.0.113.5"}, "203.0.113.5"},
		{"IPv4-mapped client", trusted, "10.0.0.2:1", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"peer without port", nil, "198.51.100.9", nil, "198.51.100.9"},
		{"unparseable peer", trusted, "pipe", []string{"203.0.113.5"}, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.trusted.Source(r).String(); got != tc.want {
				t.Errorf("Source = %s, want %s", got, tc.want)
			}
			// Through the middleware, as handlers read it.
			var seen netip.Addr
			WithSource(tc.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = SourceOf(r) })).
				ServeHTTP(httptest.NewRecorder(), r)
			if seen.String() != tc.want {
				t.Errorf("SourceOf through WithSource = %s, want %s", seen, tc.want)
			}
		})
	}
	// Without the middleware SourceOf is the peer, whatever XFF says.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	if got := SourceOf(r).String(); got != "10.0.0.2" {
		t.Errorf("SourceOf without WithSource = %s, want the peer", got)
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := SourceKey(netip.MustParseAddr(tc.in)); got != tc.want {
			t.Errorf("SourceKey(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := SourceKey(netip.Addr{}); got != "" {
		t.Errorf("SourceKey(zero) = %q, want empty", got)
	}
}
