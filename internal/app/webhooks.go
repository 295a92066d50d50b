package app

import (
	"context"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mgmt"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// newWebhooks builds the dispatcher of the environments' subscriptions:
// through the outbound guard's client, on its own goroutines. Serve
// starts it and stops it on shutdown; until then it delivers nothing.
func newWebhooks(cfg Config, st store.Store, sealer *secrets.Sealer, out *outbound.Client, auditLog *audit.Log, api *mgmt.API) *webhook.Dispatcher {
	o := cfg.Webhooks
	o.Client, o.Sealer, o.Render = out, sealer, api.RenderActivity
	if o.Log == nil {
		o.Log = cfg.Logger
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil && o.Host == "" {
		o.Host = u.Hostname()
	}
	d := webhook.New(webhook.Stores{Subscriptions: st, Activities: st}, o)
	// Each batch the audit log stores wakes the dispatcher (Nudge never
	// blocks the writer).
	auditLog.OnWrite(d.Nudge)
	return d
}

// StartWebhooks starts delivering webhooks (Serve does; tests that serve
// through httptest call it).
func (s *Server) StartWebhooks() {
	if s.Webhooks != nil {
		s.Webhooks.Start()
	}
}

// StopWebhooks stops delivering: the deliveries in flight get until ctx
// ends; what is left stays behind the subscriptions' cursors in the
// store for the next start.
func (s *Server) StopWebhooks(ctx context.Context) error {
	if s.Webhooks == nil {
		return nil
	}
	return s.Webhooks.Close(ctx)
}

// stopWebhooks is Serve's stop: deliveries in flight get a few seconds.
func (s *Server) stopWebhooks() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.StopWebhooks(ctx); err != nil {
		s.log.Warn("webhook deliveries were cut short by the shutdown; they resume from the store on the next start", "err", err)
	}
}
