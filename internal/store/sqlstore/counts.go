package sqlstore

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// countMemo remembers the totals of list pages on SQLite. A page of a
// broad filter walks a hundred rows in id order, but its exact COUNT(*)
// reads every match (twenty thousand index entries for a third of the
// page's time), and paging the same filter counts the same rows again.
//
// A total is kept only while no write has run: every write of this
// process counts as one, begun and ended around the statement or the
// transaction (SQLite's readers are query_only, so the writer pool sees
// every write). A total is remembered only when no write was under way
// while it was counted, and used only while none has ended or is under
// way since — so a page never shows a total older than a write that
// returned before the page was asked for. Another process on the same
// file (not a supported set-up: nodes share PostgreSQL, where totals are
// never remembered) is bounded by maxAge, as the configuration cache is.
type countMemo struct {
	pending atomic.Int64 // writes under way
	ended   atomic.Int64 // writes ended

	mu sync.Mutex
	m  map[string]countEntry
}

type countEntry struct {
	total int
	ended int64
	at    time.Time
}

const (
	countMemoMax    = 1024
	countMemoMaxAge = time.Second
)

func newCountMemo() *countMemo { return &countMemo{m: map[string]countEntry{}} }

// writing marks a write under way; call what it returns when it has
// committed or failed (after its rows are read, for a RETURNING write).
func (c *countMemo) writing() func() {
	if c == nil {
		return func() {}
	}
	c.pending.Add(1)
	return func() {
		c.ended.Add(1)
		c.pending.Add(-1)
	}
}

// countToken is what a lookup saw, for remembering what it then counts.
type countToken struct {
	ended int64
	ok    bool
}

func (c *countMemo) get(key string) (int, countToken, bool) {
	if c == nil || c.pending.Load() != 0 {
		return 0, countToken{}, false
	}
	tok := countToken{ended: c.ended.Load(), ok: true}
	c.mu.Lock()
	e, found := c.m[key]
	c.mu.Unlock()
	if found && e.ended == tok.ended && time.Since(e.at) < countMemoMaxAge {
		return e.total, tok, true
	}
	return 0, tok, false
}

func (c *countMemo) put(key string, tok countToken, total int) {
	if c == nil || !tok.ok || c.pending.Load() != 0 || c.ended.Load() != tok.ended {
		return // a write ran meanwhile: the total may be either side of it
	}
	c.mu.Lock()
	if len(c.m) >= countMemoMax {
		clear(c.m)
	}
	c.m[key] = countEntry{total: total, ended: tok.ended, at: time.Now()}
	c.mu.Unlock()
}

// countKey is a count's query and arguments, typed, so that "1" and 1
// differ.
func countKey(query string, a []any) string {
	var b strings.Builder
	b.WriteString(query)
	for _, v := range a {
		fmt.Fprintf(&b, "\x00%T:%v", v, v)
	}
	return b.String()
}
