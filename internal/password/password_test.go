package password

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cheap keeps unit tests fast; the encoding and the comparison are the same
// as with DefaultParams.
var cheap = NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	a, err := cheap.Hash(ctx, "Tr0ub4dor&3")
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(a) {
		t.Fatalf("hash %q is not a PHC argon2id string", a)
	}
	b, _ := cheap.Hash(ctx, "Tr0ub4dor&3")
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not fresh")
	}
	for _, c := range []struct {
		plain string
		want  bool
	}{{"Tr0ub4dor&3", true}, {"tr0ub4dor&3", false}, {"Tr0ub4dor&3 ", false}, {"", false}} {
		ok, err := cheap.Verify(ctx, c.plain, a)
		if err != nil || ok != c.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", c.plain, ok, err, c.want)
		}
	}
	if cheap.NeedsRehash(a) {
		t.Error("a fresh hash needs rehashing")
	}
	if !Default.NeedsRehash(a) {
		t.Error("a hash with other parameters does not need rehashing")
	}
}

func TestDefaultParamsVerify(t *testing.T) {
	ctx := context.Background()
	h, err := Default.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=3,p=1$") {
		t.Errorf("default hash %q", h)
	}
	if ok, _ := Default.Verify(ctx, "correct horse", h); !ok {
		t.Error("default hash does not verify")
	}
}

func ssha(d hash.Hash, prefix, pw string, salt []byte) string {
	d.Write([]byte(pw))
	d.Write(salt)
	return prefix + base64.StdEncoding.EncodeToString(append(d.Sum(nil), salt...))
}

func TestImportedHashes(t *testing.T) {
	ctx := context.Background()
	bc, err := bcrypt.GenerateFromPassword([]byte("imported-Pass1"), 4)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	s256 := ssha(sha256.New(), "{SSHA256}", "imported-Pass1", salt)
	s512 := ssha(sha512.New(), "{ssha512}", "imported-Pass1", salt)
	for _, enc := range []string{string(bc), s256, s512} {
		if !IsEncoded(enc) {
			t.Errorf("IsEncoded(%q) = false", enc)
		}
		if ok, err := cheap.Verify(ctx, "imported-Pass1", enc); !ok || err != nil {
			t.Errorf("Verify(right, %q) = %v, %v", enc, ok, err)
		}
		if ok, err := cheap.Verify(ctx, "imported-Pass2", enc); ok || err != nil {
			t.Errorf("Verify(wrong, %q) = %v, %v", enc, ok, err)
		}
		if !cheap.NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = false", enc)
		}
	}
	// Cleartext, and hashes Gatehouse refuses to trust.
	for _, v := range []string{"Passw0rd!", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SSHA}AAAA", "$argon2id$v=19$m=9999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$", "$2a$31$" + strings.Repeat("a", 53), "$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		if IsEncoded(v) {
			t.Errorf("IsEncoded(%q) = true", v)
		}
		if _, err := cheap.Verify(ctx, "x", v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(_, %q) err = %v, want ErrMalformed", v, err)
		}
	}
}

func TestMatchesAny(t *testing.T) {
	ctx := context.Background()
	var hist []string
	for _, pw := range []string{"one-Pass1", "two-Pass2", "three-Pass3"} {
		h, _ := cheap.Hash(ctx, pw)
		hist = append(hist, h)
	}
	hist = append([]string{"garbage"}, hist...)
	if ok, err := cheap.MatchesAny(ctx, "two-Pass2", hist); !ok || err != nil {
		t.Errorf("MatchesAny(in history) = %v, %v", ok, err)
	}
	if ok, err := cheap.MatchesAny(ctx, "four-Pass4", hist); ok || err != nil {
		t.Errorf("MatchesAny(not in history) = %v, %v", ok, err)
	}
}

// TestPoolBound: no more hashes run at once than the pool has slots, and a
// caller whose context ends while queued leaves without hashing.
func TestPoolBound(t *testing.T) {
	h := NewHasher(Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			h.run(context.Background(), "test", func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				running.Add(-1)
			})
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}

	// Fill the pool, then queue a caller with a short deadline.
	release := make(chan struct{})
	for range 2 {
		go h.run(context.Background(), "test", func() { <-release })
	}
	waitFor(t, h, 2, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "queued"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash while the pool is full = %v, want DeadlineExceeded", err)
	}
	close(release)
}

func standard() *Policy {
	p, err := ParsePolicy("std", []byte(`{
		"excludesProfileData": true, "notSimilarToCurrent": true, "excludesCommonlyUsed": true,
		"maxAgeDays": 182, "minAgeDays": 1.5, "maxRepeatedCharacters": 2, "minUniqueCharacters": 5,
		"history": {"count": 6, "retentionDays": 365}, "lockout": {"failureCount": 5, "durationSeconds": 900},
		"length": {"min": 8, "max": 255},
		"minCharacters": {"~!@#$%^&*()-_=+[]{}|;:,.<>/?": 1, "0123456789": 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ": 1, "abcdefghijklmnopqrstuvwxyz": 1}}`))
	if err != nil {
		panic(err)
	}
	return p
}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestPolicyCheck(t *testing.T) {
	p := standard()
	prof := Profile{Username: "jsmith", Email: "joe.smith@example.com", GivenName: "Joe", FamilyName: "Smithson", Nickname: "JJ"}
	for _, c := range []struct {
		name, pw, current string
		want              []string
	}{
		{"good", "Correct-Horse-42", "", nil},
		{"too short", "Ab1!xyz", "", []string{"length"}},
		{"too long", "Ab1!" + strings.Repeat("xyzw", 63), "", []string{"length"}},
		{"no digit", "Correct-Horse-x", "", []string{"minCharacters"}},
		{"nothing but lower case", "correcthorsebattery", "", []string{"minCharacters", "minCharacters", "minCharacters"}},
		{"three in a row", "Corrrect-Horse-42", "", []string{"maxRepeatedCharacters"}},
		{"few unique", "Aa1!Aa1!Aa1!", "", []string{"minUniqueCharacters"}},
		{"common (case ignored)", "Password1", "", []string{"minCharacters", "excludesCommonlyUsed"}},
		{"username inside", "xJSmith-2024!", "", []string{"excludesProfileData"}},
		{"email local part inside", "Joe.Smith#77", "", []string{"excludesProfileData"}},
		{"family name inside", "Mr-Smithson-9", "", []string{"excludesProfileData"}},
		{"short nickname does not count", "JJ-Correct-42", "", nil},
		{"similar to current", "Correct-Horse-43", "Correct-Horse-42", []string{"notSimilarToCurrent"}},
		{"far from current", "Battery-Staple-7", "Correct-Horse-42", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rules(p.Check(c.pw, prof, c.current)); !slices.Equal(got, c.want) {
				t.Errorf("Check(%q) rules = %v, want %v", c.pw, got, c.want)
			}
		})
	}
	// A common password that meets every other rule.
	basic, _ := ParsePolicy("b", []byte(`{"excludesCommonlyUsed": true, "length": {"min": 8}}`))
	if got := rules(basic.Check("baseball", Profile{}, "")); !slices.Equal(got, []string{"excludesCommonlyUsed"}) {
		t.Errorf("baseball: %v", got)
	}
	if got := rules(basic.Check("BaseBall", Profile{}, "")); !slices.Equal(got, []string{"excludesCommonlyUsed"}) {
		t.Errorf("BaseBall: %v", got)
	}
	// Messages name the rule, in PingOne's words.
	vs := p.Check("ab", prof, "")
	if vs[0].Message != "Password policy requirement 'length' not met: the password must be between 8 and 255 characters." {
		t.Errorf("length message %q", vs[0].Message)
	}
	if !strings.HasSuffix(vs[1].Message, "must have at least 1 of the following characters: 0123456789") {
		t.Errorf("minCharacters message %q", vs[1].Message)
	}
}

func TestPolicyTimes(t *testing.T) {
	p := standard()
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	// minAgeDays 1.5 is PingOne's float coercion: 1 day.
	if v := p.TooYoung(now.Add(-23*time.Hour), now); v == nil || v.Rule != "minAgeDays" {
		t.Errorf("changed 23h ago: %v", v)
	}
	if v := p.TooYoung(now.Add(-25*time.Hour), now); v != nil {
		t.Errorf("changed 25h ago: %v", v)
	}
	if p.Expired(now.Add(-181*24*time.Hour), now) || !p.Expired(now.Add(-182*24*time.Hour), now) {
		t.Error("maxAgeDays 182")
	}
	if n, d := p.LockoutAfter(); n != 5 || d != 15*time.Minute {
		t.Errorf("LockoutAfter = %d, %v", n, d)
	}
	if p.HistoryCount() != 6 || p.HistoryRetention() != 365*24*time.Hour {
		t.Errorf("history %d %v", p.HistoryCount(), p.HistoryRetention())
	}
	none, _ := ParsePolicy("n", nil)
	if none.TooYoung(now, now) != nil || none.Expired(time.Time{}, now) || none.HistoryCount() != 0 {
		t.Error("an empty policy enforces something")
	}
	if n, _ := none.LockoutAfter(); n != 0 {
		t.Error("an empty policy locks out")
	}
}

func TestComplexity(t *testing.T) {
	p, _ := ParsePolicy("pp", []byte(`{"minComplexity": 7}`))
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{"Ab1!Ab1!", false}, // 95^8: about a minute
		{"horse battery staple correct", true},
		{"aaaaaaaaaaa", false},
	} {
		if got := len(p.Check(c.pw, Profile{}, "")) == 0; got != c.ok {
			t.Errorf("%q: ok = %v, want %v (days %g)", c.pw, got, c.ok, haystackDays(c.pw))
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"kitten", "smitten", 2}, {"kitten", "sitting", 3}, {"", "abc", 3}, {"héllo", "hello", 1}, {"same", "same", 0}} {
		if got := levenshtein(c.a, c.b); got != c.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func TestCommonList(t *testing.T) {
	if n := len(common()); n < 3000 {
		t.Errorf("%d common passwords, want a few thousand", n)
	}
	for _, pw := range []string{"123456", "qwerty", "Dragon", "letmein"} {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false", pw)
		}
	}
	if IsCommon("gatehouse-7f3c9a") {
		t.Error("a random password is common")
	}
}

// BenchmarkHashDefault measures one argon2id hash with DefaultParams (the
// parameters are sized for 20–50 ms).
func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
