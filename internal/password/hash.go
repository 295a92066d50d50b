// Package password hashes and verifies user passwords and checks them against
// PingOne password policies.
//
// Hashing is argon2id with a fresh salt per password, encoded in the PHC
// string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so that the
// parameters travel with the hash and can change without a migration. Every
// hash and verification runs in a bounded pool (one slot per CPU): a storm of
// sign-ons queues there instead of taking every core from the token endpoint
// and the rest of the server.
//
// Passwords imported "pre-encoded" (PingOne accepts hashes on import and on
// password.set) are verified in their own scheme: bcrypt and the salted SHA
// family of LDAP directories ({SSHA}, {SSHA256}, {SSHA512}).
package password

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams are OWASP's argon2id baseline (19 MiB, 1 lane) with a third
// pass, which costs about 30 ms of one core on the machine Gatehouse was
// sized on: slow enough to make guessing expensive, cheap enough that a
// sign-on stays interactive. Memory stays modest because the pool runs one
// hash per CPU at once.
var DefaultParams = Params{Memory: 19 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read from stored or imported hashes, so that an
// imported hash cannot make every verification allocate gigabytes or run
// for minutes.
const (
	maxMemory     = 256 * 1024 // KiB
	maxTime       = 16
	maxThreads    = 16
	maxBcryptCost = 14
)

// ErrMalformed means an encoded hash could not be parsed.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords in a bounded pool.
type Hasher struct {
	params Params
	slots  chan struct{}
}

// NewHasher returns a Hasher running at most workers hashes at once
// (workers < 1 means one per CPU).
func NewHasher(p Params, workers int) *Hasher {
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	return &Hasher{params: p, slots: make(chan struct{}, workers)}
}

// Default is the process-wide hasher: one slot per CPU, DefaultParams.
var Default = NewHasher(DefaultParams, 0)

// run executes fn in a pool slot, or gives up when ctx ends while queued
// (the client went away: its hash would be wasted work).
func (h *Hasher) run(ctx context.Context, fn func()) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	fn()
	return nil
}

// Hash returns the PHC-encoded argon2id hash of plain with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	if err := h.run(ctx, func() { key = argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }); err != nil {
		return "", err
	}
	return encodeArgon2(p, salt, key), nil
}

func encodeArgon2(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether plain matches encoded. The comparison takes the
// same time wherever the two differ.
func (h *Hasher) Verify(ctx context.Context, plain, encoded string) (bool, error) {
	sch, err := parse(encoded)
	if err != nil {
		return false, err
	}
	var ok bool
	if err := h.run(ctx, func() { ok = sch.verify([]byte(plain)) }); err != nil {
		return false, err
	}
	return ok, nil
}

// VerifyNone spends the time of one verification and reports false. Callers
// that found no user (or no password) use it so that the answer does not
// reveal that by being fast.
func (h *Hasher) VerifyNone(ctx context.Context, plain string) error {
	p := h.params
	return h.run(ctx, func() { argon2.IDKey([]byte(plain), make([]byte, p.SaltLen), p.Time, p.Memory, p.Threads, p.KeyLen) })
}

// NeedsRehash reports whether encoded is not argon2id with the hasher's
// current parameters (an imported hash, or older parameters).
func (h *Hasher) NeedsRehash(encoded string) bool {
	sch, err := parse(encoded)
	if err != nil {
		return true
	}
	a, ok := sch.(*argon2Hash)
	p := h.params
	return !ok || a.memory != p.Memory || a.time != p.Time || a.threads != p.Threads || len(a.key) != int(p.KeyLen)
}

// IsEncoded reports whether v is a password hash Gatehouse can verify
// (rather than a cleartext password). PingOne stores pre-encoded values on
// import and password.set without checking them against the policy.
func IsEncoded(v string) bool {
	_, err := parse(v)
	return err == nil
}

type scheme interface{ verify(plain []byte) bool }

func parse(encoded string) (scheme, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || cost > maxBcryptCost {
			return nil, ErrMalformed
		}
		return bcryptHash(encoded), nil
	case strings.HasPrefix(encoded, "{"):
		return parseSSHA(encoded)
	}
	return nil, ErrMalformed
}

type argon2Hash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, ErrMalformed
	}
	var a argon2Hash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return nil, ErrMalformed
		}
		switch k {
		case "m":
			a.memory = uint32(n)
		case "t":
			a.time = uint32(n)
		case "p":
			if n > maxThreads {
				return nil, ErrMalformed
			}
			a.threads = uint8(n)
		default:
			return nil, ErrMalformed
		}
	}
	var err1, err2 error
	a.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	a.key, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || a.memory < 8*uint32(a.threads) || a.memory > maxMemory || a.time < 1 || a.time > maxTime ||
		a.threads < 1 || len(a.salt) < 8 || len(a.salt) > 64 || len(a.key) < 16 || len(a.key) > 64 {
		return nil, ErrMalformed
	}
	return &a, nil
}

func (a *argon2Hash) verify(plain []byte) bool {
	got := argon2.IDKey(plain, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

type bcryptHash string

func (b bcryptHash) verify(plain []byte) bool {
	// bcrypt limits passwords to 72 bytes; longer ones are an error there,
	// and simply a mismatch here.
	return bcrypt.CompareHashAndPassword([]byte(b), plain) == nil
}

// sshaHash is an LDAP salted SHA: {SCHEME}base64(digest(password+salt)+salt).
type sshaHash struct {
	newHash func() hash.Hash
	digest  []byte
	salt    []byte
}

func parseSSHA(s string) (*sshaHash, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return nil, ErrMalformed
	}
	var h func() hash.Hash
	switch strings.ToUpper(s[1:end]) {
	case "SSHA":
		h = sha1.New
	case "SSHA256":
		h = sha256.New
	case "SSHA512":
		h = sha512.New
	default:
		return nil, ErrMalformed
	}
	raw, err := base64.StdEncoding.DecodeString(s[end+1:])
	size := h().Size()
	if err != nil || len(raw) < size+4 {
		return nil, ErrMalformed
	}
	return &sshaHash{newHash: h, digest: raw[:size], salt: raw[size:]}, nil
}

func (x *sshaHash) verify(plain []byte) bool {
	d := x.newHash()
	d.Write(plain)
	d.Write(x.salt)
	return subtle.ConstantTimeCompare(d.Sum(nil), x.digest) == 1
}

// MatchesAny reports whether plain matches one of encoded (a password
// history). Hashes it cannot parse are skipped: an unreadable old entry
// must not block every new password.
func (h *Hasher) MatchesAny(ctx context.Context, plain string, encoded []string) (bool, error) {
	for _, e := range encoded {
		ok, err := h.Verify(ctx, plain, e)
		if errors.Is(err, ErrMalformed) {
			continue
		}
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
