// Package audit records who did what, when: PingOne's audit activities.
// Emitters (the management API, the sign-on flows, the auth service)
// hand a store.Activity to a Recorder; the recorder stamps it, queues it
// and writes it in batches, off the caller's path.
package audit

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Recorder takes activities to keep. Record never fails its caller and
// never holds a sign-on or a token request for long: a recorder fills in
// what the caller left empty (ID, RecordedAt, CorrelationID from the
// request's id) and writes asynchronously.
type Recorder interface {
	Record(ctx context.Context, a *store.Activity)
}

// Nop records nothing: auditing off.
type Nop struct{}

// Record drops a.
func (Nop) Record(context.Context, *store.Activity) {}
