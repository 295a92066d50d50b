// Package password hashes and verifies user passwords and checks them against
// PingOne password policies.
//
// Hashing is argon2id with a fresh salt per password, encoded in the PHC
// string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so that the
// parameters travel with the hash and can change without a migration. Every
// hash and verification runs in a bounded pool (one slot per CPU): a storm of
// sign-ons queues there instead of taking every core from the token endpoint
// and the rest of the server, and the queue itself is bounded in length, in
// waiting time and in order (see Hasher).
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/internal/telemetry"
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

// ErrBusy is the answer of a hash or verification that found no slot in
// the pool in time: too many were waiting (and it ranked last), or its
// wait ran out. It is a server at capacity, not a wrong password: the flow
// and management APIs answer 503 with Retry-After.
var ErrBusy = errors.New("password: too many password checks are waiting; try again shortly")

// Defaults of PoolOptions.
const (
	DefaultMaxWaitingPerWorker = 32
	DefaultMaxWait             = time.Second
)

// PoolOptions bound the hashing pool. Anyone can make the server hash (a
// wrong password costs one), so both the callers waiting and their wait
// are bounded: past them a caller gets ErrBusy at once rather than a slot
// seconds later.
type PoolOptions struct {
	// Workers is how many hashes run at once (< 1: one per CPU).
	Workers int
	// MaxWaiting is how many callers may wait for a slot (< 1:
	// DefaultMaxWaitingPerWorker per worker).
	MaxWaiting int
	// MaxWait is how long a caller may wait for a slot (<= 0:
	// DefaultMaxWait).
	MaxWait time.Duration
}

// Hasher hashes and verifies passwords in a bounded pool. Waiters are
// served by priority (WithPriority; lower first), so that a sign-on's first
// password does not queue behind the guesses of flows that have already
// failed many times. Within a priority they are served in arrival order
// while the queue moves; once the oldest of them has waited a tenth of
// MaxWait, the newest first (adaptive LIFO): a burst then costs its own
// waiters their wait, and those arriving after it are served at once. When
// the queue is full a newcomer that ranks before the last waiter takes its
// place (the last gets ErrBusy), else the newcomer does. With two workers or
// more one is kept for priority 0 (see limit).
type Hasher struct {
	params     Params
	workers    int
	maxWaiting int
	maxWait    time.Duration
	lifoAfter  time.Duration

	mu    sync.Mutex
	busy  int       // slots in use
	queue []*waiter // in arrival order
}

// NewHasher returns a Hasher running at most workers hashes at once
// (workers < 1 means one per CPU), with the default bounds on waiting.
func NewHasher(p Params, workers int) *Hasher {
	return NewPool(p, PoolOptions{Workers: workers})
}

// NewPool returns a Hasher bounded by o.
func NewPool(p Params, o PoolOptions) *Hasher {
	if o.Workers < 1 {
		o.Workers = runtime.NumCPU()
	}
	if o.MaxWaiting < 1 {
		o.MaxWaiting = DefaultMaxWaitingPerWorker * o.Workers
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	return &Hasher{params: p, workers: o.Workers, maxWaiting: o.MaxWaiting, maxWait: o.MaxWait, lifoAfter: o.MaxWait / 10}
}

// Default is the process-wide hasher: one slot per CPU, DefaultParams.
var Default = NewHasher(DefaultParams, 0)

type priorityKey struct{}

// WithPriority ranks the hashes made under ctx in the pool's queue: lower
// runs first (the default is 0). A sign-on flow passes how many wrong
// passwords it has seen, so that guessing flows yield to fresh ones.
func WithPriority(ctx context.Context, p int) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priority(ctx context.Context) int {
	p, _ := ctx.Value(priorityKey{}).(int)
	return p
}

// waiter is a caller queued for a slot. ready gets nil when the slot is
// handed to it, ErrBusy when a better-ranked newcomer took its place.
type waiter struct {
	prio  int
	since time.Time
	ready chan error
}

// next is the index of the waiter to serve next: of the lowest priority,
// the oldest, or the newest once the oldest has waited lifoAfter.
func (h *Hasher) next(now time.Time) int {
	best := -1
	for i, w := range h.queue {
		if best < 0 || w.prio < h.queue[best].prio {
			best = i
		}
	}
	if best < 0 || now.Sub(h.queue[best].since) < h.lifoAfter {
		return best // the queue is in arrival order: the first is the oldest
	}
	for i := len(h.queue) - 1; i > best; i-- {
		if h.queue[i].prio == h.queue[best].prio {
			return i
		}
	}
	return best
}

// last is the index of the waiter that a newcomer of priority prio would
// displace from a full queue, or -1 when the newcomer ranks last itself:
// the oldest of the highest priority, when that priority is above prio,
// or equal to it while its waiters are served newest first.
func (h *Hasher) last(prio int, now time.Time) int {
	worst := -1
	for i, w := range h.queue {
		if worst < 0 || w.prio > h.queue[worst].prio {
			worst = i
		}
	}
	switch w := h.queue[worst]; {
	case w.prio > prio:
		return worst
	case w.prio == prio && now.Sub(w.since) >= h.lifoAfter:
		return worst
	}
	return -1
}

func (h *Hasher) remove(i int) *waiter {
	w := h.queue[i]
	h.queue = append(h.queue[:i], h.queue[i+1:]...)
	return w
}

// acquire takes a slot: at once when one is free and nobody waits, else
// in the queue until one is handed over, the wait runs out (ErrBusy) or
// ctx ends (the client went away: its hash would be wasted work).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	prio := priority(ctx)
	h.mu.Lock()
	if h.busy < h.limit(prio) && len(h.queue) == 0 {
		h.busy++
		h.mu.Unlock()
		return nil
	}
	now := time.Now()
	w := &waiter{prio: prio, since: now, ready: make(chan error, 1)}
	if len(h.queue) >= h.maxWaiting {
		i := h.last(w.prio, now)
		if i < 0 {
			h.mu.Unlock()
			return ErrBusy
		}
		h.remove(i).ready <- ErrBusy
	}
	h.queue = append(h.queue, w)
	// A slot kept for priority 0 may be free while others wait.
	h.dispatch(now)
	h.mu.Unlock()

	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	var err error
	select {
	case err := <-w.ready:
		return err
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = ErrBusy
	}
	h.mu.Lock()
	if i := slices.Index(h.queue, w); i >= 0 {
		h.remove(i)
		h.mu.Unlock()
		return err
	}
	h.mu.Unlock()
	// The slot was handed over, or the place taken, as the wait ended.
	if got := <-w.ready; got != nil {
		return got
	}
	if ctx.Err() != nil {
		h.release()
		return ctx.Err()
	}
	return nil
}

// release frees a slot and hands what is free to those waiting.
func (h *Hasher) release() {
	h.mu.Lock()
	h.busy--
	h.dispatch(time.Now())
	h.mu.Unlock()
}

// limit is how many slots may be in use for a caller of priority prio to
// take one: with two workers or more, one is kept for priority 0 (fresh
// sign-ons, administrators), so that a flood of guesses in flows that have
// failed before never holds every core, nor keeps a fresh sign-on waiting
// for a hash to end.
func (h *Hasher) limit(prio int) int {
	if prio > 0 && h.workers > 1 {
		return h.workers - 1
	}
	return h.workers
}

// dispatch hands free slots to waiters, next first, while the next may
// take one. h.mu is held.
func (h *Hasher) dispatch(now time.Time) {
	for len(h.queue) > 0 {
		i := h.next(now)
		if h.busy >= h.limit(h.queue[i].prio) {
			return // the others rank after it and may take no more
		}
		h.busy++
		h.remove(i).ready <- nil
	}
}

// run executes fn in a pool slot. The wait for the slot is observed into
// telemetry.PasswordHashWait, refused waits included (their wait is what
// an operator sizing the pool needs to see); while tracing is on, a span
// named op covers the wait and the work.
func (h *Hasher) run(ctx context.Context, op string, fn func()) error {
	var span trace.Span
	if telemetry.Tracing() {
		ctx, span = telemetry.Tracer().Start(ctx, op)
		defer span.End()
	}
	start := time.Now()
	err := h.acquire(ctx)
	wait := time.Since(start)
	telemetry.PasswordHashWait.Observe(wait.Seconds())
	if span != nil {
		span.SetAttributes(attribute.Float64("gatehouse.password.wait_seconds", wait.Seconds()))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "")
		}
	}
	if err != nil {
		return err
	}
	defer h.release()
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
	if err := h.run(ctx, "password.Hash", func() { key = argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }); err != nil {
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
	if err := h.run(ctx, "password.Verify", func() { ok = sch.verify([]byte(plain)) }); err != nil {
		return false, err
	}
	return ok, nil
}

// VerifyNone spends the time of one verification and reports false. Callers
// that found no user (or no password) use it so that the answer does not
// reveal that by being fast.
func (h *Hasher) VerifyNone(ctx context.Context, plain string) error {
	p := h.params
	return h.run(ctx, "password.VerifyNone", func() { argon2.IDKey([]byte(plain), make([]byte, p.SaltLen), p.Time, p.Memory, p.Threads, p.KeyLen) })
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
