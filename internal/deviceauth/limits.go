package deviceauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Limits bound what device authentications can be made to do. The
// application calling is authenticated, but what it relays is not: the
// passcodes come from whoever holds the user's screen, and each start or
// device selection mails or texts the user. The rates are the sign-on
// flow's (ratelimit.Config), counted apart from the flows': starts per
// source address as started flows, passcodes sent per address and per
// user as codes sign-on flows send, wrong passcodes per address and per
// user as failed secret checks. A nil *Limits limits nothing; the state
// is this node's own.
type Limits struct {
	StartsPerAddress                              *ratelimit.Limiter
	SendsPerAddress, SendsPerUser                 *ratelimit.Limiter
	CheckFailuresPerAddress, CheckFailuresPerUser *ratelimit.Limiter
}

// NewLimits makes the limits c sets.
func NewLimits(c ratelimit.Config) *Limits {
	return &Limits{
		StartsPerAddress:        ratelimit.New(c.FlowsPerAddress, c.MaxKeys),
		SendsPerAddress:         ratelimit.New(c.CodeSendsPerAddress, c.MaxKeys),
		SendsPerUser:            ratelimit.New(c.CodeSendsPerUser, c.MaxKeys),
		CheckFailuresPerAddress: ratelimit.New(c.CheckFailuresPerAddress, c.MaxKeys),
		CheckFailuresPerUser:    ratelimit.New(c.CheckFailuresPerUser, c.MaxKeys),
	}
}

// What each refusal tells the caller.
const (
	whyStarts        = "Too many device authentications started from this address."
	whySendsAddress  = "Too many passcodes sent from this address."
	whySendsUser     = "Too many passcodes sent to this user."
	whyChecksAddress = "Too many wrong passcodes from this address."
	whyChecksForUser = "Too many wrong passcodes for this user."
)

func sourceKey(ctx context.Context) string {
	a, ok := httpx.SourceFrom(ctx)
	if !ok {
		return ""
	}
	return httpx.SourceKey(a)
}

func userKey(envID, userID string) string { return envID + "/" + userID }

// start takes one start of the source address.
func (l *Limits) start(ctx context.Context, now time.Time) error {
	if l == nil {
		return nil
	}
	if a := sourceKey(ctx); a != "" {
		if ok, wait := l.StartsPerAddress.Allow(a, now); !ok {
			return &ratelimit.Error{What: whyStarts, RetryAfter: wait}
		}
	}
	return nil
}

// send takes one passcode send of the address and of the user, at once,
// before the passcode goes out; the returned func gives both back when it
// did not (the sender failed).
func (l *Limits) send(ctx context.Context, envID, userID string, now time.Time) (undo func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	addr, user := sourceKey(ctx), userKey(envID, userID)
	if addr != "" {
		if ok, wait := l.SendsPerAddress.Allow(addr, now); !ok {
			return nil, &ratelimit.Error{What: whySendsAddress, RetryAfter: wait}
		}
	}
	if ok, wait := l.SendsPerUser.Allow(user, now); !ok {
		if addr != "" {
			l.SendsPerAddress.Return(addr, now)
		}
		return nil, &ratelimit.Error{What: whySendsUser, RetryAfter: wait}
	}
	return func() {
		if addr != "" {
			l.SendsPerAddress.Return(addr, now)
		}
		l.SendsPerUser.Return(user, now)
	}, nil
}

// beforeCheck refuses a passcode check, before it costs anything, when
// the address or the user has no wrong passcodes left.
func (l *Limits) beforeCheck(ctx context.Context, envID, userID string, now time.Time) error {
	if l == nil {
		return nil
	}
	if a := sourceKey(ctx); a != "" {
		if ok, wait := l.CheckFailuresPerAddress.Check(a, now); !ok {
			return &ratelimit.Error{What: whyChecksAddress, RetryAfter: wait}
		}
	}
	if ok, wait := l.CheckFailuresPerUser.Check(userKey(envID, userID), now); !ok {
		return &ratelimit.Error{What: whyChecksForUser, RetryAfter: wait}
	}
	return nil
}

// afterCheck counts a refused passcode (an answer the caller caused: a
// 4xx, not a refusal of our own, 429, nor a fault of ours, 5xx).
func (l *Limits) afterCheck(ctx context.Context, envID, userID string, err error, now time.Time) {
	if l == nil || err == nil {
		return
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Status < 400 || we.Status >= 500 || we.Status == http.StatusTooManyRequests {
		return
	}
	if a := sourceKey(ctx); a != "" {
		l.CheckFailuresPerAddress.Charge(a, now)
	}
	l.CheckFailuresPerUser.Charge(userKey(envID, userID), now)
}
