package flow

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// Sign-on metric labels: the methods and results of
// telemetry.SignOns and telemetry.Lockouts (fixed sets).
const (
	MetricPassword     = "password"
	MetricOTP          = "otp"
	MetricTOTP         = "totp"
	MetricFIDO2        = "fido2"
	MetricExternal     = "external"
	MetricRegistration = "registration"
	MetricRecovery     = "recovery"
	MetricSession      = "session"

	ResultSuccess = "success"
	ResultFailure = "failure"
	ResultLocked  = "locked"

	// LockoutMFA is the Lockouts method of a passcode lockout.
	LockoutMFA = "mfa"
)

// Outcome is the outcome of a sign-on step: the audit activity it records
// and the sign-on metric it counts.
type Outcome struct {
	// Type is the activity's action type ("" records none).
	Type string
	// Method and Result are the telemetry.SignOns labels ("" counts none).
	Method, Result string
	// User is who the step was for; Username, when there is no user, the
	// name the user gave (a wrong password for no one).
	User     *store.User
	Username string
	// Failure, when set, makes the activity FAILED with this description.
	Failure string
	// Resources are the activity's resources beyond the user.
	Resources []store.ActivityResource
}

func (e *Engine) recorder() audit.Recorder { return audit.Or(e.Audit) }

// Record records o for the step's flow: its application is the client,
// its user the user. It reads nothing: what is not at hand is left out.
func (s *Step) Record(ctx context.Context, o Outcome) {
	s.e.record(ctx, s.Flow, s.st.AppName, o)
}

// Record records o for flow f, outside a step (an external provider's
// answer that fails the flow).
func (e *Engine) Record(ctx context.Context, f *store.Flow, o Outcome) {
	appName := ""
	if v, err := e.view(f); err == nil {
		appName = v.st.AppName
	}
	e.record(ctx, f, appName, o)
}

func (e *Engine) record(ctx context.Context, f *store.Flow, appName string, o Outcome) {
	if o.Method != "" {
		telemetry.SignOns.WithLabelValues(o.Method, o.Result).Inc()
	}
	if o.Type == "" || e.Audit == nil {
		return
	}
	a := audit.NewActivity(f.EnvironmentID, o.Type)
	a.Client = audit.ClientActor(f.EnvironmentID, f.ApplicationID, appName)
	switch {
	case o.User != nil:
		a.User = audit.UserActor(o.User)
		a.Resources = append(a.Resources, audit.UserResource(o.User))
	case o.Username != "":
		a.User = &store.ActivityActor{Name: o.Username, Type: audit.ActorUser, EnvironmentID: f.EnvironmentID}
	}
	a.Resources = append(a.Resources, o.Resources...)
	if o.Failure != "" {
		audit.Failure(a, o.Failure)
	}
	e.Audit.Record(ctx, a)
}

// userByID is a user known by id alone (the flow's, when a check refuses
// before loading it): enough for an activity's actor and resource.
func userByID(envID, id string) *store.User {
	return &store.User{ID: id, EnvironmentID: envID}
}
