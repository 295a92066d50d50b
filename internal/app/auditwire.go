package app

import (
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authsvc"
	"github.com/gatehouse-id/gatehouse/internal/deviceauth"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
)

// wireAudit hands the recorder of activities to everything that records
// them: the management API (every write), the flow engine (every sign-on
// step; its methods and federation record through it), the auth service
// (tokens issued and revoked, sign-off) and device authentications.
// cfg.AuditRecorder, when set, takes the activities instead of the log
// (tests).
// With auditing off nothing is wired: the emitters then build no
// activity at all.
func wireAudit(cfg Config, log *audit.Log, api *mgmt.API, flows *flow.Engine, auth *authsvc.Service, dev *deviceauth.Service) {
	var rec audit.Recorder
	switch {
	case cfg.AuditRecorder != nil:
		rec = cfg.AuditRecorder
	case log != nil && !cfg.Audit.Disabled:
		rec = log
	default:
		return // nil fields record nothing
	}
	api.Audit, flows.Audit, auth.Audit, dev.Audit = rec, rec, rec, rec
}
