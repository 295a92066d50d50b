package oidc

import (
	"fmt"
	"testing"
	"time"
)

// Key sets no sign-on uses leave the cache when a new URL comes: a tenant
// changing its provider's JWKS URL over and over cannot grow it.
func TestKeySetSweep(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Protocol{now: func() time.Time { return now }}
	kept := p.keySet("https://idp.example/keys")
	for i := range 100 {
		p.keySet(fmt.Sprintf("https://idp.example/keys/%d", i))
		now = now.Add(keySetIdle / 50)
		if i%10 == 0 && p.keySet("https://idp.example/keys") != kept {
			t.Fatal("a key set in use was replaced")
		}
	}
	p.mu.Lock()
	n := len(p.keys)
	p.mu.Unlock()
	// Within keySetIdle at most 50 new URLs came, plus the one in use.
	if n > 51 {
		t.Errorf("%d key sets cached, want at most 51", n)
	}
	if _, ok := p.keys["https://idp.example/keys/0"]; ok {
		t.Error("a key set unused for longer than keySetIdle is still cached")
	}
}
