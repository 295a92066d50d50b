package mfa

import "strings"

// MaskEmail hides most of an address's local part as PingOne shows a
// device's address ("ab****@example.com"): at most two of its characters,
// and at most half of them, stay.
func MaskEmail(e string) string {
	if e == "" {
		return ""
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok {
		return "****"
	}
	r := []rune(local)
	keep := min(2, (len(r)+1)/2)
	if len(r) <= 1 {
		keep = 0
	}
	return string(r[:keep]) + "****@" + domain
}

// MaskPhone keeps a number's last two digits ("*******01").
func MaskPhone(p string) string {
	if p == "" {
		return ""
	}
	r := []rune(p)
	keep := min(2, len(r)-1)
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}
