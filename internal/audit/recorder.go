package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// Options configure a Log. Zero values take the defaults.
type Options struct {
	Disabled      bool          // auditing off: New returns a log that records nothing
	QueueSize     int           // bounded queue (default 4096)
	BatchSize     int           // rows per write (default 256)
	FlushInterval time.Duration // longest an activity waits in the queue (default 200ms)
	Retention     time.Duration // activities older are purged in batches (default 90 days)
}

// The defaults of Options.
const (
	DefaultQueueSize     = 4096
	DefaultBatchSize     = 256
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultRetention     = 90 * 24 * time.Hour
)

// writeAttempts and writeBackoff bound how long the writer insists on a
// batch the store refuses (a database restarting): about 1.5 s in all,
// while the queue takes what comes meanwhile.
var (
	writeAttempts = 3
	writeBackoff  = 250 * time.Millisecond
	// writeTimeout bounds one write of a batch.
	writeTimeout = 10 * time.Second
)

// Outcomes counted in telemetry.AuditActivities (a fixed set).
const (
	outcomeRecorded = "recorded" // stored
	outcomeFailed   = "failed"   // the store refused it after every retry: lost
	outcomeOverflow = "overflow" // the queue was full: its caller wrote it (also counted recorded or failed)
)

// Log is the Recorder the server runs: Record queues an activity and
// returns; one goroutine writes the queue in batches (BatchSize rows, or
// whatever FlushInterval gathered), so that a sign-on or a token request
// pays a channel send, not a database write.
//
// Nothing is dropped silently. When the queue is full (the database
// slower than the traffic), Record writes the activity itself, at once:
// its caller is slowed by one insert, and nothing is lost under overload
// (telemetry.AuditActivities counts these as "overflow"). A batch the
// store refuses is retried a few times, then written row by row so that
// only the rows the store refuses (an environment deleted meanwhile) are
// lost; each is logged and counted "failed".
//
// Close writes everything queued before it returns: a clean shutdown
// loses nothing. A crash loses what was queued and not yet written: at
// most QueueSize activities, and in steady traffic about FlushInterval's
// worth.
type Log struct {
	st   store.ActivityStore
	opts Options
	log  *slog.Logger

	// mu orders Record against Close: Record sends under the read lock
	// and only while open, so once Close holds the write lock nothing
	// enters the queue that the writer's last drain would miss.
	mu     sync.RWMutex
	closed bool
	queue  chan *store.Activity
	flush  chan chan struct{}
	stop   chan struct{}
	done   chan struct{}

	hooksMu sync.RWMutex
	hooks   []func()
}

// New starts a Log writing to st (with Disabled, a Log that records
// nothing).
func New(st store.ActivityStore, opts Options, log *slog.Logger) *Log {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Log{st: st, opts: opts, log: log}
	if opts.Disabled {
		l.closed = true
		return l
	}
	l.queue = make(chan *store.Activity, opts.QueueSize)
	l.flush = make(chan chan struct{})
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.run()
	return l
}

// Options returns the options in force (defaults filled in).
func (l *Log) Options() Options { return l.opts }

// Record fills in what a is missing (ID, RecordedAt in UTC milliseconds,
// CorrelationID from the request's id) and queues it. a belongs to the
// log from then on: the caller neither changes nor reads it. a.EnvironmentID
// must be set, to an environment that exists (an activity of a deleted
// environment is refused by the store, and lost).
//
// Call Record after the write it reports has committed, never inside a
// store transaction: when the queue is full Record stores a itself, and on
// SQLite the transaction holds the one writer it would wait for.
func (l *Log) Record(ctx context.Context, a *store.Activity) {
	if l == nil || l.opts.Disabled || a == nil {
		return
	}
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	if a.RecordedAt.IsZero() {
		a.RecordedAt = time.Now()
	}
	a.RecordedAt = a.RecordedAt.UTC().Truncate(time.Millisecond)
	if a.CorrelationID == "" {
		a.CorrelationID = httpx.RequestID(ctx)
	}
	l.mu.RLock()
	if !l.closed {
		select {
		case l.queue <- a:
			l.mu.RUnlock()
			return
		default:
		}
	}
	l.mu.RUnlock()
	// The queue is full (or the log closed): write it now, on the
	// caller's time, rather than lose it.
	telemetry.AuditActivities.WithLabelValues(outcomeOverflow).Inc()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	l.store(wctx, []*store.Activity{a})
}

// OnWrite adds f to run after each batch is stored (webhook deliveries
// are nudged this way). f runs on the goroutine that wrote (the log's
// writer, or a caller whose activity found the queue full) and must not
// block. Add callbacks before traffic starts.
func (l *Log) OnWrite(f func()) {
	l.hooksMu.Lock()
	l.hooks = append(l.hooks, f)
	l.hooksMu.Unlock()
}

// Flush waits until everything queued before it is stored (or could not
// be), or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	if l.opts.Disabled {
		return nil
	}
	reply := make(chan struct{})
	select {
	case l.flush <- reply:
	case <-l.done:
		return nil // closed: Close wrote everything
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking activities into the queue (a later Record writes
// its activity itself), writes everything queued, and returns; or
// returns ctx's error when ctx ends first (the writer goes on writing).
// Close is safe to call more than once.
func (l *Log) Close(ctx context.Context) error {
	if l.opts.Disabled {
		return nil
	}
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Purge deletes the activities older than the retention, in batches of
// batch rows, until none is left or ctx ends; it returns how many went.
func (l *Log) Purge(ctx context.Context, now time.Time, batch int) (int, error) {
	before := now.Add(-l.opts.Retention)
	total := 0
	for {
		n, err := l.st.PurgeActivities(ctx, before, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// run is the writer: it gathers the queue into batches and writes one
// when it is full, when its oldest activity has waited FlushInterval, on
// Flush, and at Close.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]*store.Activity, 0, l.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	write := func() {
		timer.Stop()
		if len(batch) > 0 {
			l.write(batch)
			batch = make([]*store.Activity, 0, l.opts.BatchSize)
		}
	}
	take := func(a *store.Activity) {
		if len(batch) == 0 {
			timer.Reset(l.opts.FlushInterval)
		}
		batch = append(batch, a)
		if len(batch) >= l.opts.BatchSize {
			write()
		}
	}
	// drain takes what the queue holds now (not what keeps arriving, so
	// that a flush under load ends).
	drain := func() {
		for n := len(l.queue); n > 0; n-- {
			take(<-l.queue)
		}
		write()
	}
	for {
		select {
		case a := <-l.queue:
			take(a)
		case <-timer.C:
			write()
		case reply := <-l.flush:
			drain()
			close(reply)
		case <-l.stop:
			// Record no longer sends (closed is set under the lock it
			// sends under), so this drain is the last.
			drain()
			return
		}
	}
}

// write stores a batch from the writer, retrying, then row by row.
func (l *Log) write(batch []*store.Activity) {
	var err error
	for attempt := range writeAttempts {
		if attempt > 0 {
			time.Sleep(writeBackoff * time.Duration(attempt))
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err = l.st.InsertActivities(ctx, batch)
		cancel()
		if err == nil {
			l.stored(len(batch))
			return
		}
	}
	if len(batch) == 1 {
		l.failed(batch, err)
		return
	}
	// One row the store refuses (its environment deleted since) must not
	// take the batch with it.
	l.log.Warn("audit: writing a batch of activities failed; writing them one by one", "activities", len(batch), "err", err)
	for _, a := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		l.store(ctx, []*store.Activity{a})
		cancel()
	}
}

// store writes as once (no retry) and counts the outcome.
func (l *Log) store(ctx context.Context, as []*store.Activity) {
	if err := l.st.InsertActivities(ctx, as); err != nil {
		l.failed(as, err)
		return
	}
	l.stored(len(as))
}

func (l *Log) stored(n int) {
	telemetry.AuditActivities.WithLabelValues(outcomeRecorded).Add(float64(n))
	l.hooksMu.RLock()
	hooks := l.hooks
	l.hooksMu.RUnlock()
	for _, f := range hooks {
		f()
	}
}

func (l *Log) failed(as []*store.Activity, err error) {
	telemetry.AuditActivities.WithLabelValues(outcomeFailed).Add(float64(len(as)))
	for _, a := range as {
		l.log.Error("audit: an activity could not be stored and is lost", "id", a.ID, "environmentId", a.EnvironmentID,
			"action", a.ActionType, "err", err)
	}
}

var _ Recorder = (*Log)(nil)
