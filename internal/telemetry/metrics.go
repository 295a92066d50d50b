// Package telemetry holds what operators watch: the business metrics
// (Prometheus collectors every package counts into) and the
// OpenTelemetry tracing set-up.
package telemetry

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// The collectors are process-wide, like the Go runtime's: one Gatehouse
// runs per process, and tests that count read differences. Label values
// come from fixed sets only (no ids, no user input), so that no caller
// can grow the series.
var (
	// SignOns counts sign-on step outcomes by method (password,
	// external, otp, fido2, registration, recovery, session, …) and
	// result (success, failure, locked).
	SignOns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_signon_steps_total", Help: "Sign-on step outcomes by method and result.",
	}, []string{"method", "result"})
	// Lockouts counts accounts locked by failed attempts, by method
	// (password, mfa, fido2).
	Lockouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_lockouts_total", Help: "Accounts locked after failed attempts, by method.",
	}, []string{"method"})
	// TokensIssued counts token responses by grant type
	// (authorization_code, client_credentials, refresh_token, implicit,
	// device_code, token_exchange).
	TokensIssued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_tokens_issued_total", Help: "Token responses by grant type.",
	}, []string{"grant"})
	// PasswordHashWait is how long a password check waited for a
	// hashing worker.
	PasswordHashWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "gatehouse_password_hash_wait_seconds", Help: "Time a password hash or check waited for a worker.",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	// WebhookDeliveries counts webhook delivery attempts by result
	// (success, failure, dead: given up and dead-lettered).
	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_webhook_deliveries_total", Help: "Webhook delivery attempts by result.",
	}, []string{"result"})
	// StoreLatency is the latency of store calls by operation (the Store
	// method's name).
	StoreLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatehouse_store_duration_seconds", Help: "Store call latency by operation.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op"})
	// AuditActivities counts activities by outcome: recorded (stored by
	// the writer), overflow (the queue was full: the caller stored it
	// itself) and failed (refused by the database: lost).
	AuditActivities = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_audit_activities_total", Help: "Audit activities by outcome (recorded, overflow, failed).",
	}, []string{"outcome"})
)

// Register adds the collectors to reg (again for each server a process
// builds: a second registration of the same collector on reg is fine).
func Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{SignOns, Lockouts, TokensIssued, PasswordHashWait, WebhookDeliveries, StoreLatency, AuditActivities} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}
