package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// SecretChecker is a method some of whose actions check a secret the
// user types: a password, a one-time code. The engine bounds how often
// those actions may fail, per source address and per username (Limits),
// and refuses them before they run once a bound is spent, so that a flood
// of guesses costs no password hashes.
type SecretChecker interface {
	ChecksSecret(action string) bool
}

// Limits bound what callers who have not signed on can make flows do. A
// nil *Limits limits nothing. The state is this node's own.
type Limits struct {
	// CheckFailuresPerAddress and CheckFailuresPerUser count the failed
	// actions of SecretCheckers (any 4xx answer but a 429).
	CheckFailuresPerAddress, CheckFailuresPerUser *ratelimit.Limiter
	// FlowsPerAddress counts the flows a source address has started and
	// not finished: Start takes a token, Finish gives it back.
	FlowsPerAddress *ratelimit.Limiter
	// CodeSendsPerAddress and CodeSendsPerUser count the codes flows send
	// (SendCode), per source address and per recipient username.
	CodeSendsPerAddress, CodeSendsPerUser *ratelimit.Limiter
	// RegistrationsPerAddress counts the registrations that hash a
	// password and store a user (BeginRegistration).
	RegistrationsPerAddress *ratelimit.Limiter
	live                    *liveFlows // nil: no cap
}

// NewLimits makes the limits c sets.
func NewLimits(c ratelimit.Config) *Limits {
	l := &Limits{
		CheckFailuresPerAddress: ratelimit.New(c.CheckFailuresPerAddress, c.MaxKeys),
		CheckFailuresPerUser:    ratelimit.New(c.CheckFailuresPerUser, c.MaxKeys),
		FlowsPerAddress:         ratelimit.New(c.FlowsPerAddress, c.MaxKeys),
		CodeSendsPerAddress:     ratelimit.New(c.CodeSendsPerAddress, c.MaxKeys),
		CodeSendsPerUser:        ratelimit.New(c.CodeSendsPerUser, c.MaxKeys),
		RegistrationsPerAddress: ratelimit.New(c.RegistrationsPerAddress, c.MaxKeys),
	}
	if c.LiveFlowsPerEnvironment > 0 {
		l.live = &liveFlows{max: c.LiveFlowsPerEnvironment, envs: map[string]*envFlows{}}
	}
	return l
}

// What each refusal tells the caller.
const (
	whyChecksFromAddress = "Too many failed sign-on attempts from this address."
	whyChecksForUser     = "Too many failed sign-on attempts for this user."
	whyFlowsFromAddress  = "Too many sign-ons in progress from this address."
	whyLiveFlows         = "Too many sign-ons are in progress in this environment."
	whySendsFromAddress  = "Too many codes sent from this address."
	whySendsToUser       = "Too many codes sent to this user."
	whyRegistrations     = "Too many registrations from this address."
)

// sourceKey is the request's source address as limits key it; "" when
// the context carries none (a caller outside the HTTP server), which no
// per-address limit counts.
func sourceKey(ctx context.Context) string {
	a, ok := httpx.SourceFrom(ctx)
	if !ok {
		return ""
	}
	return httpx.SourceKey(a)
}

// checkGuard is one secret-checking action under the limits: the keys it
// counts against.
type checkGuard struct {
	l          *Limits
	addr, user string
}

// beforeCheck refuses the action when its source address or its user has
// no failures left. The user is the flow's user once it has one (never
// what the body names: a second factor's guesses all count against the
// user who signed on), else the username the action sends, else the one
// the flow was given: keyed alike whether or not it names a user, so that
// the limit tells nothing about which usernames exist.
func (l *Limits) beforeCheck(ctx context.Context, v *View, body []byte, now time.Time) (*checkGuard, error) {
	if l == nil {
		return nil, nil
	}
	g := &checkGuard{l: l, addr: sourceKey(ctx), user: checkSubject(v, body)}
	if g.addr != "" {
		if ok, wait := l.CheckFailuresPerAddress.Check(g.addr, now); !ok {
			return nil, &ratelimit.Error{What: whyChecksFromAddress, RetryAfter: wait}
		}
	}
	if g.user != "" {
		if ok, wait := l.CheckFailuresPerUser.Check(g.user, now); !ok {
			return nil, &ratelimit.Error{What: whyChecksForUser, RetryAfter: wait}
		}
	}
	return g, nil
}

// after counts the action's failure, if it failed: an answer the caller
// caused (4xx), not a refusal of our own (429) or a fault of ours (5xx).
func (g *checkGuard) after(err error, now time.Time) {
	if g == nil || err == nil {
		return
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Status < 400 || we.Status >= 500 || we.Status == http.StatusTooManyRequests {
		return
	}
	if g.addr != "" {
		g.l.CheckFailuresPerAddress.Charge(g.addr, now)
	}
	if g.user != "" {
		g.l.CheckFailuresPerUser.Charge(g.user, now)
	}
}

func checkSubject(v *View, body []byte) string {
	env := v.Flow.EnvironmentID
	if v.Flow.UserID != "" {
		// The flow has its user: the check is of that user's secret (a
		// second factor, say), whatever the body names, so a caller cannot
		// spread its guesses over keys of its choosing.
		return env + "/id/" + v.Flow.UserID
	}
	var b struct {
		Username any `json:"username"`
	}
	// A body that does not decode fails the action anyway; its failure
	// still counts against the flow's user.
	_ = json.Unmarshal(body, &b)
	name, _ := b.Username.(string)
	name = strings.TrimSpace(name)
	if name == "" {
		name = v.Identifier()
	}
	if name != "" {
		return env + "/name/" + strings.ToLower(name)
	}
	return ""
}

// recipientKey keys the code-send limits: the recipient's username, the
// same key whether or not it names a user (usernames are unique without
// regard to case), so that the limit tells nothing about which exist.
func recipientKey(envID, username string) string {
	username = strings.TrimSpace(username)
	if username == "" {
		return ""
	}
	return envID + "/name/" + strings.ToLower(username)
}

// sendCheck refuses a code send to recipient (a recipientKey) when its
// source address or its recipient has no sends left; take also takes a
// token of each, at once (of sends racing, no more pass than there are
// tokens). It returns the source address's key.
func (l *Limits) sendCheck(ctx context.Context, recipient string, take bool, now time.Time) (string, error) {
	if l == nil {
		return "", nil
	}
	addr := sourceKey(ctx)
	try := (*ratelimit.Limiter).Check
	if take {
		try = (*ratelimit.Limiter).Allow
	}
	if addr != "" {
		if ok, wait := try(l.CodeSendsPerAddress, addr, now); !ok {
			return "", &ratelimit.Error{What: whySendsFromAddress, RetryAfter: wait}
		}
	}
	if recipient != "" {
		if ok, wait := try(l.CodeSendsPerUser, recipient, now); !ok {
			if take && addr != "" {
				l.CodeSendsPerAddress.Return(addr, now)
			}
			return "", &ratelimit.Error{What: whySendsToUser, RetryAfter: wait}
		}
	}
	return addr, nil
}

// unsend gives back what sendCheck took for a code that was not sent.
func (l *Limits) unsend(addr, recipient string, now time.Time) {
	if l == nil {
		return
	}
	if addr != "" {
		l.CodeSendsPerAddress.Return(addr, now)
	}
	if recipient != "" {
		l.CodeSendsPerUser.Return(recipient, now)
	}
}

// BeginRegistration admits a registration of username: refused when the
// source address has no registrations left, or when the verification
// code it will send could not be sent (checked first, so that no user is
// stored whose code is then refused). It takes one registration, which
// is not given back: the password hash it pays for is spent whether or
// not the user is then stored.
func (s *Step) BeginRegistration(ctx context.Context, username string) error {
	l := s.e.Limits
	if l == nil {
		return nil
	}
	if _, err := l.sendCheck(ctx, recipientKey(s.Flow.EnvironmentID, username), false, s.Now); err != nil {
		return err
	}
	if addr := sourceKey(ctx); addr != "" {
		if ok, wait := l.RegistrationsPerAddress.Allow(addr, s.Now); !ok {
			return &ratelimit.Error{What: whyRegistrations, RetryAfter: wait}
		}
	}
	return nil
}

// startFlow takes what a new flow of envID costs: a token of its source
// address and a place under the environment's cap. release undoes it
// when the flow is not stored after all.
func (l *Limits) startFlow(ctx context.Context, st store.Store, envID string, now time.Time) (source string, release func(), err error) {
	if l == nil {
		return "", func() {}, nil
	}
	source = sourceKey(ctx)
	if source != "" {
		if ok, wait := l.FlowsPerAddress.Allow(source, now); !ok {
			return "", nil, &ratelimit.Error{What: whyFlowsFromAddress, RetryAfter: wait}
		}
	}
	if err := l.live.reserve(ctx, st, envID, now); err != nil {
		if source != "" {
			l.FlowsPerAddress.Return(source, now)
		}
		return "", nil, err
	}
	return source, func() { l.finishFlow(envID, source, now) }, nil
}

// finishFlow gives back what a flow took once it is deleted.
func (l *Limits) finishFlow(envID, source string, now time.Time) {
	if l == nil {
		return
	}
	if source != "" {
		l.FlowsPerAddress.Return(source, now)
	}
	l.live.release(envID)
}

// liveFlowsRecount is how often a node counts an environment's live flows
// in the store; in between it counts the flows it starts and finishes
// itself. Other nodes' flows are seen at the next count, so a cluster of
// n nodes may overshoot the cap by what the others start in a second.
const liveFlowsRecount = time.Second

// liveFlowsRetry is the Retry-After of a full environment: room comes
// back as flows finish or expire, which no one can predict.
const liveFlowsRetry = 10 * time.Second

// liveFlows caps the unexpired flows of each environment with a per-node
// counter reconciled with the store (CountLiveFlows, at most once per
// liveFlowsRecount per environment, bounded by the cap): a warm authorize
// costs no extra query.
type liveFlows struct {
	max     int
	mu      sync.Mutex
	envs    map[string]*envFlows
	sweptAt time.Time
}

type envFlows struct {
	mu        sync.Mutex
	n         int
	countedAt time.Time
	usedAt    time.Time // under liveFlows.mu
}

// reserve makes room for one more flow of envID, or refuses it.
func (l *liveFlows) reserve(ctx context.Context, st store.Store, envID string, now time.Time) error {
	if l == nil {
		return nil
	}
	c := l.env(envID, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.countedAt) >= liveFlowsRecount || now.Before(c.countedAt) {
		n, err := st.CountLiveFlows(ctx, envID, now, l.max)
		if err != nil {
			return err
		}
		c.n, c.countedAt = n, now
	}
	if c.n >= l.max {
		return &ratelimit.Error{What: whyLiveFlows, RetryAfter: liveFlowsRetry}
	}
	c.n++
	return nil
}

func (l *liveFlows) release(envID string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	c := l.envs[envID]
	l.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.n > 0 {
		c.n--
	}
	c.mu.Unlock()
}

// env is envID's counter. Counters unused for a minute are dropped (the
// next use counts again), so the map holds only the environments in use.
func (l *liveFlows) env(envID string, now time.Time) *envFlows {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweptAt) >= time.Minute {
		for id, c := range l.envs {
			if now.Sub(c.usedAt) >= time.Minute {
				delete(l.envs, id)
			}
		}
		l.sweptAt = now
	}
	c := l.envs[envID]
	if c == nil {
		c = &envFlows{}
		l.envs[envID] = c
	}
	c.usedAt = now
	return c
}
