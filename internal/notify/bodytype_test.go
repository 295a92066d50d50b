package notify

import "testing"

func TestBodyType(t *testing.T) {
	for in, want := range map[string]string{"": "text/plain", "text/html": "text/html", " TEXT/HTML ": "text/html",
		"text/plain": "text/plain", "text/html\r\nBcc: x@example.com": "text/plain", "application/json": "text/plain"} {
		if got := bodyType(in); got != want {
			t.Errorf("bodyType(%q) = %q, want %q", in, got, want)
		}
	}
}
