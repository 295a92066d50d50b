package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Configuration changes between nodes on PostgreSQL. A transaction that
// bumps configuration versions also sends, with pg_notify, one
// notification per environment it changed; PostgreSQL delivers them when
// it commits (never when it rolls back). Every node listens on its own
// connection and tells its watchers (the configuration cache, which the
// signing keys follow) as soon as a notification arrives, so another
// node's write is seen within milliseconds rather than at the next version
// check.
//
// The notifications are an accelerator, not the contract: a node that was
// not listening when one was sent (its connection broke, or it is still
// connecting) misses it, and its caches still compare versions at least
// once a second (config.Cache), which is what bounds how stale a node can
// be. SQLite has no notifications and relies on that check alone.
//
// The channel is named after the schema (tests run many schemas in one
// database), and a payload names the node that sent it, so that a node
// does not hear its own writes twice (its watchers heard them at commit).

// listener is the state of a node's listening connection.
type listener struct {
	node    string // this node's id in payloads
	channel string
	stop    context.CancelFunc
	done    chan struct{}
}

// listenRetry bounds the wait before reconnecting after a failure.
const (
	listenRetryMin = 250 * time.Millisecond
	listenRetryMax = 10 * time.Second
	// listenReady bounds how long Open waits for the first LISTEN.
	listenReady = 5 * time.Second
)

// startListening starts the listening connection and waits for its first
// LISTEN (or failure, the version checks then covering for it).
func (db *DB) startListening(ctx context.Context, dsn string) error {
	var schema string
	if err := db.writer.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(schema))
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &listener{node: hex.EncodeToString(id[:]), channel: "gatehouse_config_" + hex.EncodeToString(sum[:8]), stop: cancel,
		done: make(chan struct{})}
	db.listen = l
	ready := make(chan struct{})
	go db.listenLoop(lctx, dsn, l, ready)
	select {
	case <-ready:
	case <-time.After(listenReady):
	case <-ctx.Done():
	}
	return nil
}

// stopListening ends the listening connection and waits for it.
func (db *DB) stopListening() {
	if db.listen == nil {
		return
	}
	db.listen.stop()
	<-db.listen.done
}

func (db *DB) listenLoop(ctx context.Context, dsn string, l *listener, ready chan struct{}) {
	defer close(l.done)
	signalReady := func() {
		if ready != nil {
			close(ready)
			ready = nil
		}
	}
	defer signalReady()
	wait := listenRetryMin
	for ctx.Err() == nil {
		listened := db.listenOnce(ctx, dsn, l, signalReady)
		signalReady()
		if listened {
			wait = listenRetryMin
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listenOnce connects, listens and passes notifications on until the
// connection fails or ctx ends. It reports whether LISTEN succeeded.
func (db *DB) listenOnce(ctx context.Context, dsn string, l *listener, listening func()) bool {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		if c, ok := parseChange(n.Payload, l.node); ok {
			db.notify([]store.ConfigChange{c})
		}
	}
}

// announce sends, inside the transaction, a notification for each change
// it will report once committed.
func (s *SQLStore) announce(ctx context.Context, changes []store.ConfigChange) error {
	l := s.db.listen
	if l == nil {
		return nil
	}
	for _, c := range changes {
		v := strconv.FormatInt(c.Version, 10)
		if c.Deleted {
			v = "deleted"
		}
		if _, err := s.exec(ctx, `SELECT pg_notify(?, ?)`, l.channel, l.node+" "+c.EnvironmentID+" "+v); err != nil {
			return err
		}
	}
	return nil
}

// parseChange reads a notification's payload: "node environment version"
// or "node environment deleted". A node's own notifications, and anything
// else, are not a change to pass on.
func parseChange(payload, self string) (store.ConfigChange, bool) {
	f := strings.Fields(payload)
	if len(f) != 3 || f[0] == self {
		return store.ConfigChange{}, false
	}
	if f[2] == "deleted" {
		return store.ConfigChange{EnvironmentID: f[1], Deleted: true}, true
	}
	v, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return store.ConfigChange{}, false
	}
	return store.ConfigChange{EnvironmentID: f[1], Version: v}, true
}
