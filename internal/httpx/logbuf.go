package httpx

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// LogBuffer is the writer under the server's log. Every request logs a
// line; written straight to stderr each costs a system call on the
// request's goroutine (a few per cent of the CPU at high request rates).
// LogBuffer keeps lines in memory and writes them out in batches from its
// own goroutine: every Interval, sooner once Size bytes wait, and all of
// them on Flush and Close.
//
// Lines are written whole and in order. The buffer is bounded: when Max
// bytes wait (the output is slow or stuck), writers wait for the batch
// being written, as they would have waited on the output itself, rather
// than drop lines or grow without bound. A batch the output refuses (an
// error) is dropped and counted, and the next one is tried: an output that
// fails never holds requests up. Lines written after Close go straight to
// the output. What waits in memory is lost only if the process dies
// without Close.
type LogBuffer struct {
	out  io.Writer
	size int
	max  int

	// writing is held while a batch goes to out, so that batches (and
	// writes after Close) reach it one at a time and in order. It is
	// taken before mu, never while mu is held.
	writing sync.Mutex

	mu     sync.Mutex
	drain  *sync.Cond // broadcast when a batch has been taken out
	buf    []byte
	spare  []byte // the last batch's memory, for the next one
	closed bool

	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	failed    atomic.Int64
}

// LogBufferOptions tune NewLogBuffer; zero values take the defaults.
type LogBufferOptions struct {
	// Interval bounds how long a line waits in memory. Default 100 ms.
	Interval time.Duration
	// Size is how many waiting bytes start a batch before the interval
	// ends. Default 32 KiB.
	Size int
	// Max bounds the waiting bytes. Default 1 MiB; at least Size.
	Max int
}

// NewLogBuffer starts buffering writes to out. Close it before the
// process exits.
func NewLogBuffer(out io.Writer, o LogBufferOptions) *LogBuffer {
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Size <= 0 {
		o.Size = 32 << 10
	}
	if o.Max <= 0 {
		o.Max = 1 << 20
	}
	o.Max = max(o.Max, o.Size)
	b := &LogBuffer{out: out, size: o.Size, max: o.Max,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	b.drain = sync.NewCond(&b.mu)
	go b.run(o.Interval)
	return b
}

// Write keeps p for the next batch. slog's handlers write a record in one
// call, so a line is never split between batches.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	for !b.closed && len(b.buf) > 0 && len(b.buf)+len(p) > b.max {
		b.signal()
		b.drain.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		b.writing.Lock()
		defer b.writing.Unlock()
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.size {
		b.signal()
	}
	b.mu.Unlock()
	return len(p), nil
}

// signal asks the goroutine for a batch now. Callers hold mu.
func (b *LogBuffer) signal() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *LogBuffer) run(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.kick:
		case <-b.stop:
			return
		}
		_ = b.Flush()
	}
}

// Flush writes out every line written before it was called. Its error is
// the output's; the lines it refused are dropped (see Failed).
func (b *LogBuffer) Flush() error {
	b.writing.Lock()
	defer b.writing.Unlock()
	b.mu.Lock()
	batch := b.buf
	b.buf, b.spare = b.spare[:0], nil
	b.mu.Unlock()

	var err error
	if len(batch) > 0 {
		if _, err = b.out.Write(batch); err != nil {
			b.failed.Add(1)
		}
	}

	b.mu.Lock()
	// The batch's memory serves the next one, unless a line far beyond
	// the bound grew it.
	if cap(batch) <= 2*b.max {
		b.spare = batch[:0]
	}
	b.drain.Broadcast()
	b.mu.Unlock()
	return err
}

// Failed is how many batches the output refused.
func (b *LogBuffer) Failed() int64 { return b.failed.Load() }

// Close stops the goroutine and writes out what waits; later writes go
// straight to the output. It returns the last batch's error.
func (b *LogBuffer) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		b.writing.Lock()
		defer b.writing.Unlock()
		b.mu.Lock()
		batch := b.buf
		b.buf, b.spare, b.closed = nil, nil, true
		b.drain.Broadcast()
		b.mu.Unlock()
		if len(batch) > 0 {
			if _, b.closeErr = b.out.Write(batch); b.closeErr != nil {
				b.failed.Add(1)
			}
		}
	})
	return b.closeErr
}
