package authsvc

import (
	"crypto/sha256"
	"strconv"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
)

// TestVerifiedTokensBounded: however many live tokens arrive, the cache
// keeps at most maxVerifiedTokens, and an expired one is never returned.
func TestVerifiedTokensBounded(t *testing.T) {
	var v verifiedTokens
	const now = 1_000_000
	put := func(i int, exp int64) [sha256.Size]byte {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		v.put(&sum, &verifiedToken{envID: "e", kid: "k", claims: accesstoken.Claims{ID: strconv.Itoa(i), ExpiresAt: exp}}, now)
		return sum
	}
	first := put(-1, now+1)
	if got := v.get(&first, now); got == nil || got.claims.ID != "-1" {
		t.Fatalf("get after put = %+v", got)
	}
	if got := v.get(&first, now+1); got != nil {
		t.Errorf("an expired token was returned: %+v", got)
	}
	for i := range 3 * maxVerifiedTokens {
		put(i, now+3600)
		if n := v.len(); n > maxVerifiedTokens {
			t.Fatalf("after %d tokens the cache holds %d, more than %d", i+1, n, maxVerifiedTokens)
		}
	}
	if n := v.len(); n < maxVerifiedTokens/2 {
		t.Errorf("the cache holds %d of %d", n, maxVerifiedTokens)
	}
	last := put(-2, now+3600)
	v.drop(&last)
	if v.get(&last, now) != nil {
		t.Error("a dropped token was returned")
	}
}

// TestIsIssuer: isIssuer answers as comparing with Issuer does.
func TestIsIssuer(t *testing.T) {
	s := &Service{AuthPath: "https://gatehouse.example"}
	env := "8c4e5a3e-6f0e-4c59-9a3e-1f2d3c4b5a69"
	for _, iss := range []string{
		s.Issuer(env), s.Issuer(env) + "/", s.Issuer(env)[1:], "https://gatehouse.example/" + env + "/aS",
		"https://gatehouse.example/" + env + "xas", "https://gatehouse.example." + env + "/as",
		"https://gatehouse.example/" + env, "https://gatehouse.example", "", s.Issuer("other"),
		"https://gatehouse.example/8c4e5a3e-6f0e-4c59-9a3e-1f2d3c4b5a6/as", "https://gatehouse.exampl/" + env + "/as",
	} {
		if got, want := s.isIssuer(iss, env), iss == s.Issuer(env); got != want {
			t.Errorf("isIssuer(%q) = %v, want %v", iss, got, want)
		}
	}
}
