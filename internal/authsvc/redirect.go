package authsvc

import (
	"net/url"
	"slices"
	"strings"
)

// redirectAllowed reports whether uri is one of an application's
// registered redirect (or post-logout) URIs. Matching is exact, except
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
	if !allowWildcard || uri == "" {
		return false
	}
	if _, err := url.Parse(uri); err != nil || strings.ContainsAny(uri, "#\\") {
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
		if middle := uri[len(prefix) : len(uri)-len(suffix)]; !strings.Contains(middle, "..") {
			return true
		}
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
