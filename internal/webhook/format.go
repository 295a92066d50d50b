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

// Render is an activity in PingOne's activity shape without links, for
// a dispatcher given no renderer of the activities API's.
func Render(a *store.Activity) any {
	ref := func(id string) *wire.Ref {
		if id == "" {
			return nil
		}
		return &wire.Ref{ID: id}
	}
	actor := func(x *store.ActivityActor, typ string) *wire.ActivityActor {
		if x == nil {
			return nil
		}
		if x.Type != "" {
			typ = x.Type
		}
		return &wire.ActivityActor{ID: x.ID, Name: x.Name, Type: typ, Environment: ref(x.EnvironmentID), Population: ref(x.PopulationID)}
	}
	res := make([]wire.ActivityResource, len(a.Resources))
	for i, r := range a.Resources {
		res[i] = wire.ActivityResource{Type: r.Type, ID: r.ID, Name: r.Name, Environment: ref(r.EnvironmentID), Population: ref(r.PopulationID)}
	}
	return wire.Activity{ID: a.ID, RecordedAt: wire.Time(a.RecordedAt), CreatedAt: wire.Time(a.RecordedAt), CorrelationID: a.CorrelationID,
		Actors:    wire.ActivityActors{Client: actor(a.Client, "CLIENT"), User: actor(a.User, "USER")},
		Action:    wire.ActivityAction{Type: a.ActionType, Description: a.ActionDescription},
		Resources: res, Result: wire.ActivityResult{Status: a.ResultStatus, Description: a.ResultDescription},
		Tags: a.Tags, Extra: a.Details}
}
