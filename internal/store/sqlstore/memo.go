package sqlstore

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// readMemo remembers, on SQLite, the answers of the reads that are asked
// again and again between writes: the totals of list pages (a broad
// filter's exact COUNT(*) reads every match, twenty thousand index
// entries for a third of the page's time, and paging the same filter
// counts the same rows again) and the liveness of access tokens (whether
// one is revoked, its session and user: read on every use of a token).
//
// An answer is kept only while no write has run: every write of this
// process counts as one, begun and ended around the statement or the
// transaction (SQLite's readers are query_only, so the writer pool sees
// every write). An answer is remembered only when no write was under way
// while it was read, and used only while none has ended or is under way
// since — so no read returns an answer older than a write that returned
// before the read was asked for. Another process on the same file (not a
// supported set-up: nodes share PostgreSQL, where nothing is remembered)
// is bounded by readMemoMaxAge, as the configuration cache is.
type readMemo struct {
	pending atomic.Int64 // writes under way
	ended   atomic.Int64 // writes ended

	mu sync.Mutex
	m  map[string]memoEntry
}

type memoEntry struct {
	value any
	ended int64
	at    time.Time
}

const (
	readMemoMax    = 1024
	readMemoMaxAge = time.Second
)

func newReadMemo() *readMemo { return &readMemo{m: map[string]memoEntry{}} }

// writing marks a write under way; call what it returns when it has
// committed or failed (after its rows are read, for a RETURNING write).
func (c *readMemo) writing() func() {
	if c == nil {
		return func() {}
	}
	c.pending.Add(1)
	return func() {
		c.ended.Add(1)
		c.pending.Add(-1)
	}
}

// memoToken is what a lookup saw, for remembering what it then reads.
type memoToken struct {
	ended int64
	ok    bool
}

func (c *readMemo) get(key string) (any, memoToken, bool) {
	if c == nil || c.pending.Load() != 0 {
		return nil, memoToken{}, false
	}
	tok := memoToken{ended: c.ended.Load(), ok: true}
	c.mu.Lock()
	e, found := c.m[key]
	c.mu.Unlock()
	if found && e.ended == tok.ended && time.Since(e.at) < readMemoMaxAge {
		return e.value, tok, true
	}
	return nil, tok, false
}

func (c *readMemo) put(key string, tok memoToken, value any) {
	if c == nil || !tok.ok || c.pending.Load() != 0 || c.ended.Load() != tok.ended {
		return // a write ran meanwhile: the total may be either side of it
	}
	c.mu.Lock()
	if len(c.m) >= readMemoMax {
		clear(c.m)
	}
	c.m[key] = memoEntry{value: value, ended: tok.ended, at: time.Now()}
	c.mu.Unlock()
}

// memoized is read's answer, remembered under key between writes; in a
// transaction, or on PostgreSQL, it is read every time. T must be a value
// its callers cannot change (a number, a struct copied out).
func memoized[T any](s *SQLStore, key string, read func() (T, error)) (T, error) {
	if s.tx != nil || s.db.reads == nil {
		return read()
	}
	v, tok, ok := s.db.reads.get(key)
	if ok {
		return v.(T), nil
	}
	t, err := read()
	if err == nil {
		s.db.reads.put(key, tok, t)
	}
	return t, err
}

// memoKey is a read's query and arguments, typed, so that "1" and 1
// differ.
func memoKey(query string, a ...any) string {
	var b strings.Builder
	b.WriteString(query)
	for _, v := range a {
		if t, ok := v.(time.Time); ok {
			v = ms(t) // as the query gets it: no monotonic reading, no zone
		}
		fmt.Fprintf(&b, "\x00%T:%v", v, v)
	}
	return b.String()
}
