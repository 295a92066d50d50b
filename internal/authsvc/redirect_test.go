package authsvc

import "testing"

// TestRedirectAllowed: exact matching always, loopback redirects on any
// port (RFC 8252 §7.3); a registered URI with one
// * matches around it only with allowWildcardInRedirectUris, and never
// lets the * stand for a fragment, a dot segment (plain or escaped), an
// escaped slash or a backslash.
func TestRedirectAllowed(t *testing.T) {
	registered := []string{"https://www.example.com/th*/callback", "https://app.example.com/cb?tenant=*", "https://exact.example.com/cb"}
	for _, c := range []struct {
		uri      string
		wildcard bool
		want     bool
	}{
		{"https://exact.example.com/cb", false, true},
		{"https://exact.example.com/cb", true, true},
		{"https://www.example.com/this/callback", true, true},
		{"https://www.example.com/that/callback", true, true},
		{"https://www.example.com/th/callback", true, true},
		{"https://www.example.com/this/callback", false, false},
		{"https://www.example.com/th*/callback", false, true}, // the registered string itself, exactly
		{"https://www.example.com/oidc/callback", true, false},
		{"https://www.example.com/this/callback/more", true, false},
		{"https://www.example.com/th/../admin/callback", true, false},
		{"https://www.example.com/th%2F..%2F/callback", true, false},      // two dots are refused, escaped or not
		{"https://www.example.com/th/%2e%2e/admin/callback", true, false}, // a browser reads %2e as a dot
		{"https://www.example.com/th/.%2E/admin/callback", true, false},
		{"https://www.example.com/th%2fx/callback", true, false},
		{"https://www.example.com/th%5cx/callback", true, false},
		{"https://www.example.com/th%252e%252e/callback", true, false},
		{"https://www.example.com/th%20x/callback", true, true}, // other escapes stay in the path
		{"https://www.example.com/this\\x/callback", true, false},
		{"https://www.example.com/this#x/callback", true, false},
		{"https://evil.example.com/this/callback", true, false},
		{"https://app.example.com/cb?tenant=acme", true, true},
		{"https://app.example.com/cb?tenant=", true, true},
		{"https://app.example.com/cb", true, false},
		{"https://exact.example.com/cb/", true, false},
		{"", true, false},
	} {
		if got := redirectAllowed(registered, c.wildcard, c.uri); got != c.want {
			t.Errorf("redirectAllowed(%q, wildcard %v) = %v, want %v", c.uri, c.wildcard, got, c.want)
		}
	}
	loopback := []string{"http://127.0.0.1/cb", "http://localhost:3000/callback?x=1", "http://[::1]:8080/cb"}
	for _, c := range []struct {
		uri  string
		want bool
	}{
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:51004/cb", true},
		{"http://localhost:3000/callback?x=1", true},
		{"http://localhost:49152/callback?x=1", true},
		{"http://[::1]:61023/cb", true},
		{"http://[::1]/cb", true},
		{"https://127.0.0.1:51004/cb", false},          // another scheme
		{"http://localhost:51004/cb", false},           // another host than the one registered
		{"http://127.0.0.1:51004/cb/more", false},      // another path
		{"http://localhost:49152/callback?x=2", false}, // another query
		{"http://user@127.0.0.1:51004/cb", false},
		{"http://127.0.0.1.evil.example:51004/cb", false},
	} {
		if got := redirectAllowed(loopback, false, c.uri); got != c.want {
			t.Errorf("redirectAllowed(loopback, %q) = %v, want %v", c.uri, got, c.want)
		}
	}
	if redirectAllowed([]string{"https://app.example.com/cb"}, false, "https://app.example.com:8443/cb") {
		t.Error("a port other than the registered one matches for a host that is not a loopback")
	}
	if got := defaultRedirect([]string{"https://a.example.com/*", "https://b.example.com/cb"}); got != "https://b.example.com/cb" {
		t.Errorf("defaultRedirect = %q, want the first URI that is not a pattern", got)
	}
	if got := defaultRedirect([]string{"https://a.example.com/*"}); got != "" {
		t.Errorf("defaultRedirect of patterns alone = %q, want none", got)
	}
}
