package authsvc

import (
	"net/url"
	"slices"
	"strings"
)

// redirectAllowed reports whether uri is one of an application's
// registered redirect (or post-logout) URIs. Matching is exact, except
// for the port of a loopback redirect (loopbackAllowed), and except
// that with allowWildcardInRedirectUris a registered URI holding one *
// matches any URI that agrees with it around the * (PingOne's wildcard
// redirect URIs). The management API allows the * only after the
// authority, so a pattern can never reach another host; what the *
// stands for may not hold a fragment, a dot segment or a backslash, so
// it cannot climb out of the registered path either.
func redirectAllowed(registered []string, allowWildcard bool, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || uri == "" || strings.ContainsAny(uri, "#\\") {
		return false
	}
	if loopbackAllowed(registered, u) {
		return true
	}
	if !allowWildcard {
		return false
	}
	for _, pattern := range registered {
		prefix, suffix, ok := strings.Cut(pattern, "*")
		if !ok || strings.Contains(suffix, "*") {
			continue
		}
		if len(uri) < len(prefix)+len(suffix) || !strings.HasPrefix(uri, prefix) || !strings.HasSuffix(uri, suffix) {
			continue
		}
		if middle := uri[len(prefix) : len(uri)-len(suffix)]; !climbs(middle) {
			return true
		}
	}
	return false
}

// climbs reports whether what a wildcard stands for could leave the
// registered path: a dot segment, written plainly or percent-encoded (a
// browser reads %2e as a dot, WHATWG URL §4.4), an encoded slash or
// backslash, or an encoded percent that a second decoding would turn
// into one of those.
func climbs(middle string) bool {
	m := strings.ToLower(middle)
	return strings.Contains(m, "..") || strings.Contains(m, "%2e") || strings.Contains(m, "%2f") ||
		strings.Contains(m, "%5c") || strings.Contains(m, "%25")
}

// loopbackAllowed is RFC 8252 §7.3, which PingOne follows: a native
// app's loopback redirect (http or https to 127.0.0.1, [::1] or
// localhost) may name any port, the one its listener got from the
// system; scheme, host, path and query still match exactly.
func loopbackAllowed(registered []string, u *url.URL) bool {
	if !isLoopback(u) {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || strings.Contains(r, "*") || !isLoopback(ru) {
			continue
		}
		if ru.Scheme == u.Scheme && ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() &&
			ru.RawQuery == u.RawQuery && ru.ForceQuery == u.ForceQuery {
			return true
		}
	}
	return false
}

func isLoopback(u *url.URL) bool {
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && u.Opaque == ""
	}
	return false
}

// defaultRedirect is the registered URI a request that names none is
// sent back to: the first that is a URI and not a wildcard pattern.
func defaultRedirect(registered []string) string {
	for _, u := range registered {
		if !strings.Contains(u, "*") {
			return u
		}
	}
	return ""
}
