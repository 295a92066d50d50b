// Package ratelimit bounds how often a key (a source address, a client,
// a username) may do something: a keyed limiter with the generic cell
// rate algorithm (GCRA, a token bucket kept as one timestamp per key),
// whose memory is bounded by a fixed number of keys. A key whose bucket
// has refilled is forgotten at the next sweep; when the limiter is full,
// the key used least recently makes room.
//
// State is per process: each node of a cluster limits on its own.
package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate allows N events per Per, in bursts of up to N: the bucket holds N
// tokens and refills one every Per/N. The zero Rate is off: it limits
// nothing.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

// String is the form ParseRate reads: "100/10s", or "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + shortDuration(r.Per)
}

// shortDuration drops the zero units time.Duration.String keeps ("1m"
// rather than "1m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRate reads "N/DURATION" (100/10s, 20/10m, 5/s: N events per
// duration, in bursts of up to N), or "off" (also "0" and "").
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "off", "0":
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/DURATION (such as 100/10s) or off", s)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: the count must be a whole number of at least 1", s)
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per // "5/s" is 5 per second
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: the period must be a positive duration such as 10s, 1m or 1h", s)
	}
	if d/time.Duration(count) <= 0 {
		return Rate{}, fmt.Errorf("rate %q: more than one event per nanosecond", s)
	}
	return Rate{N: count, Per: d}, nil
}

// Set makes *Rate a flag.Value.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Error is a refusal: what was limited, in a sentence a client may read,
// and how long until a retry can pass.
type Error struct {
	What       string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return "rate limited: " + e.What }

// Seconds is RetryAfter in whole seconds, rounded up, at least 1: the
// Retry-After header's value.
func (e *Error) Seconds() int {
	s := int(math.Ceil(e.RetryAfter.Seconds()))
	return max(s, 1)
}

// ErrLimited is matched by every *Error (errors.Is).
var ErrLimited = errors.New("rate limited")

func (e *Error) Is(target error) bool { return target == ErrLimited }

// DefaultMaxKeys bounds the keys one limiter holds.
const DefaultMaxKeys = 50_000

const (
	shardCount = 16
	// sweepEvery is how often a shard, when touched, forgets the keys
	// whose buckets have refilled.
	sweepEvery = 10 * time.Second
)

// Limiter limits events per key at one Rate. A nil *Limiter allows
// everything, so an unset limit costs nothing.
type Limiter struct {
	interval int64 // ns between tokens: Per/N
	window   int64 // ns a full bucket covers: N × interval
	perShard int
	seed     maphash.Seed
	shards   [shardCount]shard
}

// shard is a part of the keys under one lock, with its entries in a list
// from most to least recently used.
type shard struct {
	mu         sync.Mutex
	m          map[uint64]*entry
	head, tail *entry
	sweptAt    int64
}

// entry is one key's bucket: tat is the GCRA's theoretical arrival time,
// the instant (ns) at which the bucket is full again. Keys are kept as a
// 64-bit hash under a random seed, so that a long key (a username, a
// client id) costs no more memory than a short one, and collisions cannot
// be aimed at.
type entry struct {
	hash       uint64
	tat        int64
	seen       int64 // the latest now the key was asked at
	prev, next *entry
}

// at is the instant a request at t is judged at: never before the latest
// one the key has seen. Callers read the clock before the work that ends
// in Allow, so concurrent requests reach it out of order by the time
// that work took; judged at its own earlier t, a request would find the
// bucket a little fuller than it is and be refused a token that is there
// (with a Retry-After of a millisecond).
func (e *entry) at(t int64) int64 {
	if e.seen > t {
		return e.seen
	}
	e.seen = t
	return t
}

// New returns a limiter of rate r holding at most maxKeys keys
// (DefaultMaxKeys when maxKeys < 1), or nil when r is off.
func New(r Rate, maxKeys int) *Limiter {
	if r.Off() {
		return nil
	}
	if maxKeys < 1 {
		maxKeys = DefaultMaxKeys
	}
	interval := int64(r.Per) / int64(r.N)
	l := &Limiter{interval: interval, window: interval * int64(r.N), perShard: max(maxKeys/shardCount, 1), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[uint64]*entry{}
	}
	return l
}

func (l *Limiter) shard(key string) (*shard, uint64) {
	h := maphash.String(l.seed, key)
	return &l.shards[h%shardCount], h
}

// Allow takes one token of key's bucket: false, with the time until one
// is back, when it is empty.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	t := now.UnixNano()
	s, h := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e != nil {
		t = e.at(t)
	}
	tat := t
	if e != nil && e.tat > t {
		tat = e.tat
	}
	next := tat + l.interval
	if next-t > l.window {
		s.touch(e)
		return false, time.Duration(next - t - l.window)
	}
	if e == nil {
		e = s.add(h, t, l.perShard)
	} else {
		s.touch(e)
	}
	e.tat = next
	return true, 0
}

// Charge takes a token whether or not one is left: it counts an event
// that has happened (a failure), so requests that passed Check together
// all count, and a bucket they overdraw stays empty until the debt is
// paid. The debt is capped at one more full bucket, so that a burst of
// others' failures cannot hold a key for long.
func (l *Limiter) Charge(key string, now time.Time) {
	if l == nil {
		return
	}
	t := now.UnixNano()
	s, h := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e == nil {
		e = s.add(h, t, l.perShard)
		e.tat = t
	} else {
		s.touch(e)
		t = e.at(t)
		e.tat = max(e.tat, t)
	}
	e.tat = min(e.tat+l.interval, t+2*l.window)
}

// Check reports what Allow would answer, taking nothing: callers that
// count only failures ask before the work and Charge after it fails. A
// key never limited costs no memory.
func (l *Limiter) Check(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	t := now.UnixNano()
	s, h := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e != nil {
		t = max(t, e.seen)
	}
	if e == nil || e.tat <= t {
		return true, 0
	}
	if next := e.tat + l.interval; next-t > l.window {
		return false, time.Duration(next - t - l.window)
	}
	return true, 0
}

// Return gives back a token Allow took (the work it stood for is undone:
// a stored flow was deleted). A full bucket stays full.
func (l *Limiter) Return(key string, now time.Time) {
	if l == nil {
		return
	}
	t := now.UnixNano()
	s, h := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e == nil {
		return
	}
	e.tat -= l.interval
	if e.tat <= max(t, e.seen) {
		s.remove(e)
	}
}

// Len is the number of keys held.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Sweep forgets every key whose bucket has refilled by now; Allow also
// does it, shard by shard, at most every sweepEvery.
func (l *Limiter) Sweep(now time.Time) {
	if l == nil {
		return
	}
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.sweep(now.UnixNano())
		s.mu.Unlock()
	}
}

// add inserts a new entry, first forgetting refilled keys when a sweep is
// due or the shard is full, then the least recently used key when it is
// still full.
func (s *shard) add(h uint64, now int64, limit int) *entry {
	if len(s.m) >= limit || now-s.sweptAt >= int64(sweepEvery) {
		s.sweep(now)
	}
	for len(s.m) >= limit {
		s.remove(s.tail)
	}
	e := &entry{hash: h, seen: now}
	s.m[h] = e
	s.pushFront(e)
	return e
}

func (s *shard) sweep(now int64) {
	s.sweptAt = now
	for e := s.tail; e != nil; {
		prev := e.prev
		if e.tat <= now {
			s.remove(e)
		}
		e = prev
	}
}

func (s *shard) touch(e *entry) {
	if e == nil || s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}

func (s *shard) pushFront(e *entry) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard) remove(e *entry) {
	s.unlink(e)
	delete(s.m, e.hash)
}
