// Package audittest captures audit activities for tests: a Recorder that
// keeps what it is given, in order, instead of storing it.
package audittest

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Capture is an audit.Recorder that keeps every activity in memory.
type Capture struct {
	mu  sync.Mutex
	all []store.Activity
}

// Record keeps a copy of a.
func (c *Capture) Record(_ context.Context, a *store.Activity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *a
	cp.Resources = slices.Clone(a.Resources)
	c.all = append(c.all, cp)
}

// Take returns the activities recorded since the last Take, in order,
// and forgets them.
func (c *Capture) Take() []store.Activity {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.all
	c.all = nil
	return out
}

// Of returns the activities of environment envID recorded since the last
// Take (forgetting every environment's).
func (c *Capture) Of(envID string) []store.Activity {
	var out []store.Activity
	for _, a := range c.Take() {
		if a.EnvironmentID == envID {
			out = append(out, a)
		}
	}
	return out
}

// Brief is an activity in a line, for comparing in tests: type, result,
// the user actor's id and the resources' types and ids.
type Brief struct {
	Type, Result, Client, User string
	Resources                  string
}

// Briefs makes Briefs of as.
func Briefs(as []store.Activity) []Brief {
	out := make([]Brief, len(as))
	for i, a := range as {
		b := Brief{Type: a.ActionType, Result: a.ResultStatus}
		if a.Client != nil {
			b.Client = a.Client.ID
		}
		if a.User != nil {
			b.User = a.User.ID
			if b.User == "" {
				b.User = "name:" + a.User.Name
			}
		}
		for j, r := range a.Resources {
			if j > 0 {
				b.Resources += " "
			}
			b.Resources += r.Type + ":" + r.ID
		}
		out[i] = b
	}
	return out
}

// Count is the value of a counter (telemetry's collectors), for tests that
// count differences.
func Count(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
