package webhook

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// body is a delivery's JSON in the subscription's format.
//
//   - ACTIVITY: the activity as the activities API shows it (one activity
//     per request: PingOne retries "the current event" until it succeeds).
//   - SPLUNK: Splunk's HTTP Event Collector envelope as PingOne's Splunk
//     format documents it: {"event": <activity>, "host", "time" (epoch
//     milliseconds), "source" (the action type)}.
//   - NEWRELIC: PingOne documents no shape; Gatehouse sends a New Relic
//     Log API record: {"timestamp" (epoch milliseconds), "message" (the
//     action's description or type), "logtype": "pingone.activity",
//     "activity": <activity>} (New Relic flattens the nested attributes).
func (d *Dispatcher) body(format string, a *store.Activity) ([]byte, error) {
	act := d.o.Render(a)
	ms := a.RecordedAt.UnixMilli()
	switch format {
	case wire.SubscriptionFormatSplunk:
		return json.Marshal(struct {
			Event  any    `json:"event"`
			Host   string `json:"host"`
			Time   int64  `json:"time"`
			Source string `json:"source"`
		}{act, d.o.Host, ms, a.ActionType})
	case wire.SubscriptionFormatNewRelic:
		msg := a.ActionDescription
		if msg == "" {
			msg = a.ActionType
		}
		return json.Marshal(struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
			LogType   string `json:"logtype"`
			Activity  any    `json:"activity"`
		}{ms, msg, "pingone.activity", act})
	default:
		return json.Marshal(act)
	}
}

// Render is an activity in PingOne's activity shape, for a dispatcher
// given no renderer of the activities API's.
func Render(a *store.Activity) any {
	type env struct {
		ID string `json:"id"`
	}
	type actor struct {
		ID          string    `json:"id"`
		Name        string    `json:"name,omitempty"`
		Type        string    `json:"type"`
		Environment env       `json:"environment"`
		Population  *wire.Ref `json:"population,omitempty"`
	}
	mk := func(x *store.ActivityActor) *actor {
		if x == nil {
			return nil
		}
		o := &actor{ID: x.ID, Name: x.Name, Type: x.Type, Environment: env{x.EnvironmentID}}
		if x.PopulationID != "" {
			o.Population = &wire.Ref{ID: x.PopulationID}
		}
		return o
	}
	type resource = actor
	out := struct {
		ID            string    `json:"id"`
		RecordedAt    wire.Time `json:"recordedAt"`
		CreatedAt     wire.Time `json:"createdAt"`
		CorrelationID string    `json:"correlationId,omitempty"`
		Action        struct {
			Type        string `json:"type"`
			Description string `json:"description,omitempty"`
		} `json:"action"`
		Actors struct {
			Client *actor `json:"client,omitempty"`
			User   *actor `json:"user,omitempty"`
		} `json:"actors"`
		Resources []resource `json:"resources"`
		Result    struct {
			Status      string `json:"status"`
			Description string `json:"description,omitempty"`
		} `json:"result"`
		Tags    []string        `json:"tags,omitempty"`
		Details json.RawMessage `json:"details,omitempty"`
	}{ID: a.ID, RecordedAt: wire.Time(a.RecordedAt), CreatedAt: wire.Time(a.RecordedAt), CorrelationID: a.CorrelationID,
		Tags: a.Tags, Details: a.Details, Resources: []resource{}}
	out.Action.Type, out.Action.Description = a.ActionType, a.ActionDescription
	out.Actors.Client, out.Actors.User = mk(a.Client), mk(a.User)
	for i := range a.Resources {
		r := a.Resources[i]
		out.Resources = append(out.Resources, *mk(&store.ActivityActor{ID: r.ID, Name: r.Name, Type: r.Type, EnvironmentID: r.EnvironmentID, PopulationID: r.PopulationID}))
	}
	out.Result.Status, out.Result.Description = a.ResultStatus, a.ResultDescription
	return out
}
