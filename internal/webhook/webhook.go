// Package webhook delivers audit activities to the environments'
// subscriptions (PingOne's webhooks).
//
// Each subscription has a cursor in the store: the Seq of the last
// activity it dealt with. The dispatcher reads the activities after it,
// in Seq order, and posts each one its filters match, one at a time: a
// subscription has at most one request in flight, and a failure holds
// its later activities back until the failed one is delivered (PingOne's
// order). A failed activity is tried again after an exponential back-off
// with jitter; after MaxAttempts it is dead-lettered (recorded on the
// subscription) and the cursor moves past it. A new subscription starts
// at the last activity written: it gets no history.
//
// Several nodes may run a dispatcher over one database: a subscription is
// delivered by the node holding its lease (a row update with an expiry),
// and every write of its delivery state is conditional on holding the
// lease and on the cursor read, so two nodes never deliver one
// subscription at once, and a node that lost its lease writes nothing.
//
// Delivery runs on the dispatcher's own goroutines, a bounded number at
// once, each request bounded in time: nothing a receiver does reaches the
// audit recorder, a sign-on or a token request. Every request goes
// through the outbound guard.
package webhook

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Defaults of Options.
const (
	DefaultPoll        = time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultConcurrency = 8
	DefaultBatchSize   = 256
	// maxPerRun bounds the activities one run of a subscription reads,
	// so that a subscription far behind does not keep a worker (and
	// configuration changes wait) for long.
	maxPerRun = 4096
)

// Options configure a Dispatcher.
type Options struct {
	// Client is the outbound guard's client (required).
	Client *outbound.Client
	// Sealer opens the subscriptions' headers (required when any has
	// headers).
	Sealer *secrets.Sealer
	// Render is the ACTIVITY format's body of an activity: the activity
	// as the activities API shows it (nil: this package's rendering).
	Render func(*store.Activity) any
	// Host names this server in the SPLUNK format's host member.
	Host string
	// Node names this dispatcher's leases (default: random).
	Node string
	// Poll is how often the dispatcher looks for work without a nudge.
	Poll time.Duration
	// Timeout bounds each delivery request.
	Timeout time.Duration
	// MaxAttempts is how many times an activity is tried before it is
	// dead-lettered.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the wait before a retry: BaseBackoff
	// doubled per failed attempt, at most MaxBackoff, jittered.
	BaseBackoff, MaxBackoff time.Duration
	// Lease is how long a node holds a subscription without renewing it
	// (default: 3 × Timeout + 10s; it is renewed after every delivery).
	Lease time.Duration
	// Concurrency bounds the subscriptions delivered at once.
	Concurrency int
	// BatchSize is how many activities one read takes.
	BatchSize int
	Log       *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Stores are what the dispatcher reads and writes.
type Stores struct {
	Subscriptions store.SubscriptionStore
	Activities    store.ActivityStore
}

// Dispatcher delivers activities to subscriptions.
type Dispatcher struct {
	st    Stores
	o     Options
	nudge chan struct{}
	sem   chan struct{}

	mu       sync.Mutex
	inflight map[string]bool // subscription ids this node is delivering
	started  bool
	stop     chan struct{}
	cancel   context.CancelFunc
	ctx      context.Context
	wg       sync.WaitGroup
}

// New builds a Dispatcher; Start starts it.
func New(st Stores, o Options) *Dispatcher {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Lease <= 0 {
		o.Lease = 3*o.Timeout + 10*time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Render == nil {
		o.Render = Render
	}
	if o.Node == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		o.Node = hex.EncodeToString(b)
	}
	o.Client = o.Client.WithTimeout(o.Timeout)
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{st: st, o: o, nudge: make(chan struct{}, 1), sem: make(chan struct{}, o.Concurrency),
		inflight: map[string]bool{}, stop: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// Start runs the dispatcher's loop until Close.
func (d *Dispatcher) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return
	}
	d.started = true
	d.wg.Add(1)
	go d.loop()
}

// Nudge tells the dispatcher there are new activities. It never blocks:
// the audit recorder calls it after each batch it writes.
func (d *Dispatcher) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Close stops taking work and waits for the deliveries in flight until
// ctx ends, then cancels them. What is not delivered stays behind its
// subscription's cursor in the store, for the next start (or another
// node) to deliver.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return ctx.Err()
	}
}

func (d *Dispatcher) loop() {
	defer d.wg.Done()
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		d.tick()
		select {
		case <-d.stop:
			return
		case <-d.nudge:
		case <-t.C:
		}
	}
}

// tick starts a run for each due subscription this node can lease, as
// many as there are free workers.
func (d *Dispatcher) tick() {
	ctx := d.ctx
	head, err := d.st.Activities.LastActivitySeq(ctx)
	if err != nil {
		d.logErr("reading the last activity failed", err)
		return
	}
	now := d.o.Now()
	due, err := d.st.Subscriptions.DueSubscriptions(ctx, head, now, 2*d.o.Concurrency)
	if err != nil {
		d.logErr("reading due subscriptions failed", err)
		return
	}
	for i := range due {
		s := due[i]
		d.mu.Lock()
		busy := d.inflight[s.ID]
		d.mu.Unlock()
		if busy {
			continue
		}
		select {
		case d.sem <- struct{}{}:
		default:
			return // every worker is busy; the rest wait for the next tick
		}
		until := now.Add(d.o.Lease)
		if err := d.st.Subscriptions.LeaseSubscription(ctx, s.EnvironmentID, s.ID, d.o.Node, now, until); err != nil {
			<-d.sem
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				d.logErr("leasing a subscription failed", err)
			}
			continue
		}
		s.Delivery.LeaseOwner, s.Delivery.LeaseUntil = d.o.Node, until
		d.mu.Lock()
		d.inflight[s.ID] = true
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-d.sem }()
			defer func() {
				d.mu.Lock()
				delete(d.inflight, s.ID)
				d.mu.Unlock()
				// It may be behind still (a long backlog): look again.
				d.Nudge()
			}()
			d.run(ctx, &s, head)
		}()
	}
}

func (d *Dispatcher) logErr(msg string, err error) {
	if d.ctx.Err() == nil {
		d.o.Log.Warn("webhooks: "+msg, "err", err)
	}
}

// run delivers what s has waiting, in order, until it is caught up, a
// delivery fails, the run's bound is reached or the dispatcher closes; it
// then releases the lease. head is the last Seq written when the tick
// began: every activity up to it was committed then (activities commit in
// Seq order), so once s's environment has none left to read, its cursor
// moves up to head, and s is not due again until another activity is
// written.
func (d *Dispatcher) run(ctx context.Context, s *store.Subscription, head int64) {
	var data struct {
		FilterOptions wire.SubscriptionFilterOptions `json:"filterOptions"`
	}
	if err := json.Unmarshal(s.Data, &data); err != nil {
		d.logErr("a subscription's filter options do not decode", err)
		return
	}
	var headers map[string]string
	if len(s.HeadersSealed) > 0 {
		b, err := d.o.Sealer.Open(s.HeadersSealed, "subscription:"+s.ID)
		if err == nil {
			err = json.Unmarshal(b, &headers)
		}
		if err != nil {
			d.logErr("a subscription's headers do not open", err)
			return
		}
	}
	client := d.o.Client
	if !s.VerifyTLS {
		client = client.SkipTLSVerify()
	}
	f := newFilter(data.FilterOptions)
	stored := s.Delivery.Cursor // the cursor as the store has it
	cur := s.Delivery
	save := func() bool {
		cur.LeaseUntil = d.o.Now().Add(d.o.Lease)
		// A delivery made is recorded even when the dispatcher is closing.
		err := d.st.Subscriptions.SaveSubscriptionDelivery(context.WithoutCancel(ctx), s.EnvironmentID, s.ID, d.o.Node, stored, cur)
		if err != nil {
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				d.logErr("saving a subscription's delivery failed", err)
			}
			return false
		}
		stored = cur.Cursor
		return true
	}
	// release gives the lease up with the cursor where it is.
	release := func() {
		cur.LeaseOwner = ""
		err := d.st.Subscriptions.SaveSubscriptionDelivery(context.WithoutCancel(ctx), s.EnvironmentID, s.ID, d.o.Node, stored, withoutLease(cur))
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			d.logErr("releasing a subscription failed", err)
		}
	}
	read := 0
	for read < maxPerRun {
		batch, err := d.st.Subscriptions.EnvironmentActivitiesAfter(ctx, s.EnvironmentID, cur.Cursor, d.o.BatchSize)
		if err != nil {
			d.logErr("reading activities failed", err)
			release()
			return
		}
		for i := range batch {
			a := &batch[i]
			if a.EnvironmentID != s.EnvironmentID || !f.match(a) {
				cur.Cursor = a.Seq
				continue
			}
			if ctx.Err() != nil {
				release()
				return
			}
			err := d.deliver(ctx, client, s, headers, a)
			now := d.o.Now()
			if err == nil {
				telemetry.WebhookDeliveries.WithLabelValues("success").Inc()
				cur.Cursor, cur.Attempts, cur.NextAttemptAt, cur.LastDeliveredAt = a.Seq, 0, time.Time{}, now
				if !save() {
					return
				}
				continue
			}
			if ctx.Err() != nil {
				// Closing: the attempt was cut short, not failed.
				release()
				return
			}
			telemetry.WebhookDeliveries.WithLabelValues("failure").Inc()
			cur.Attempts++
			cur.LastError, cur.LastErrorAt = err.Error(), now
			if cur.Attempts < d.o.MaxAttempts {
				cur.NextAttemptAt = now.Add(d.backoff(cur.Attempts))
				release()
				return
			}
			// Given up: dead-letter it and move on.
			telemetry.WebhookDeliveries.WithLabelValues("dead").Inc()
			dl := &store.SubscriptionDeadLetter{ID: newID(), EnvironmentID: s.EnvironmentID, SubscriptionID: s.ID, ActivityID: a.ID,
				Seq: a.Seq, Attempts: cur.Attempts, Error: err.Error(), CreatedAt: now}
			cur.Cursor, cur.Attempts, cur.NextAttemptAt = a.Seq, 0, time.Time{}
			cur.DeadLetters++
			cur.LastDeadLetterAt = now
			cur.LeaseUntil = now.Add(d.o.Lease)
			if err := d.st.Subscriptions.DeadLetterSubscription(context.WithoutCancel(ctx), dl, d.o.Node, stored, cur); err != nil {
				if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
					d.logErr("dead-lettering an activity failed", err)
				}
				return
			}
			d.o.Log.Warn("webhooks: an activity was dead-lettered", "subscription", s.ID, "environment", s.EnvironmentID,
				"activity", a.ID, "attempts", dl.Attempts, "err", dl.Error)
			stored = cur.Cursor
		}
		read += len(batch)
		if len(batch) < d.o.BatchSize {
			// Caught up: nothing of s's environment is left up to head.
			cur.Cursor = max(cur.Cursor, head)
			break
		}
	}
	release()
}

func withoutLease(d store.SubscriptionDelivery) store.SubscriptionDelivery {
	d.LeaseOwner, d.LeaseUntil = "", time.Time{}
	return d
}

// backoff is the wait before attempt n+1: BaseBackoff doubled n-1 times,
// at most MaxBackoff, of which the upper half is random (so that
// subscriptions failing together do not retry together).
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.o.BaseBackoff
	for i := 1; i < n && w < d.o.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.o.MaxBackoff)
	half := w / 2
	return half + time.Duration(mrand.Int64N(int64(half)+1))
}

// deliver posts a to s's endpoint; an error says why it failed in words
// that may be shown to the environment's administrators (no addresses).
func (d *Dispatcher) deliver(ctx context.Context, c *outbound.Client, s *store.Subscription, headers map[string]string, a *store.Activity) error {
	body, err := d.body(s.Format, a)
	if err != nil {
		return fmt.Errorf("the activity could not be encoded")
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("the endpoint URL is not valid")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks")
	resp, err := c.Do(req)
	if err != nil {
		return describe(err, d.o.Timeout)
	}
	// Read a little of the body so the connection can be reused; the
	// client bounds it anyway.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// describe words a request's failure without naming addresses.
func describe(err error, timeout time.Duration) error {
	if re, ok := outbound.Refused(err); ok {
		return errors.New("refused by the outbound request guard: " + re.Rule)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("the endpoint did not answer within %s", timeout)
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return errors.New("the endpoint's TLS certificate could not be verified")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("the connection to the endpoint failed (%s)", oe.Op)
	}
	return errors.New("the request to the endpoint failed")
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// filter is a subscription's filterOptions, ready to match.
type filter struct {
	actions, apps, pops map[string]bool
	tags                []string
}

func newFilter(o wire.SubscriptionFilterOptions) *filter {
	set := func(vs []string) map[string]bool {
		m := make(map[string]bool, len(vs))
		for _, v := range vs {
			m[v] = true
		}
		return m
	}
	refs := func(rs []wire.Ref) map[string]bool {
		m := make(map[string]bool, len(rs))
		for _, r := range rs {
			m[r.ID] = true
		}
		return m
	}
	return &filter{actions: set(o.IncludedActionTypes), apps: refs(o.IncludedApplications), pops: refs(o.IncludedPopulations), tags: o.IncludedTags}
}

// match: the action type is included; when applications are listed, the
// acting client is one of them; when populations are listed, a resource
// the activity acted on is in one of them (PingOne: the users acted on,
// not the actor), or, for an activity naming no resource's population,
// the acting user is; when tags are listed, the activity has one.
func (f *filter) match(a *store.Activity) bool {
	if !f.actions[a.ActionType] {
		return false
	}
	if len(f.apps) > 0 && (a.Client == nil || !f.apps[a.Client.ID]) {
		return false
	}
	if len(f.pops) > 0 {
		found, named := false, false
		for _, r := range a.Resources {
			if r.PopulationID != "" {
				named = true
				found = found || f.pops[r.PopulationID]
			}
		}
		if !named && a.User != nil {
			found = f.pops[a.User.PopulationID]
		}
		if !found {
			return false
		}
	}
	if len(f.tags) > 0 && !slices.ContainsFunc(f.tags, func(t string) bool { return slices.Contains(a.Tags, t) }) {
		return false
	}
	return true
}
