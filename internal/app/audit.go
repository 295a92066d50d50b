package app

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// auditCloseTimeout bounds how long a shutdown waits for the audit log to
// write what it holds (a few batches: far less, unless the database is
// gone, when nothing would help).
const auditCloseTimeout = 10 * time.Second

// closeAudit writes what the audit log still holds. Serve calls it once
// requests have drained, so nothing records after it but the odd late
// caller, which the closed log makes write its own activity.
func (s *Server) closeAudit() {
	if s.Audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
	defer cancel()
	if err := s.Audit.Close(ctx); err != nil {
		s.log.Error("the audit log could not write everything it held before shutdown", "err", err)
	}
}

// purgeActivities deletes the audit activities past their retention, in
// batches (see audit.Log.Purge).
func (s *Server) purgeActivities(ctx context.Context) {
	if s.Audit == nil {
		return
	}
	n, err := s.Audit.Purge(ctx, store.Now(), purgeBatch)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("purging old audit activities failed", "err", err)
	}
	if n > 0 {
		s.log.Debug("purged old audit activities", "rows", n)
	}
}
