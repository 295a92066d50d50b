package wire

import (
	"encoding/json"
	"slices"
)

// Activity is PingOne's audit activity (GET …/activities/{activityId}).
// recordedAt and createdAt are the same instant here: Gatehouse records
// an activity when it happens.
type Activity struct {
	Links         Links              `json:"_links"`
	ID            string             `json:"id"`
	RecordedAt    Time               `json:"recordedAt"`
	CreatedAt     Time               `json:"createdAt"`
	CorrelationID string             `json:"correlationId,omitempty"`
	Actors        ActivityActors     `json:"actors"`
	Action        ActivityAction     `json:"action"`
	Resources     []ActivityResource `json:"resources"`
	Result        ActivityResult     `json:"result"`
	Tags          []string           `json:"tags,omitempty"`
	// Extra holds members the emitter adds to some actions (a JSON
	// object): they are merged into the activity, never over the members
	// above.
	Extra json.RawMessage `json:"-"`
}

// ActivityActors are who acted: the client (application) and, when a
// user acted or signed on, the user.
type ActivityActors struct {
	Client *ActivityActor `json:"client,omitempty"`
	User   *ActivityActor `json:"user,omitempty"`
}

// ActivityActor is actors.client or actors.user.
type ActivityActor struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Type        string `json:"type"`
	Environment *Ref   `json:"environment,omitempty"`
	Population  *Ref   `json:"population,omitempty"`
	Href        string `json:"href,omitempty"`
}

// ActivityAction is what was done: PingOne's action type (USER.CREATED…)
// and its description.
type ActivityAction struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// ActivityResource is a resource the activity acted on.
type ActivityResource struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Environment *Ref   `json:"environment,omitempty"`
	Population  *Ref   `json:"population,omitempty"`
	Href        string `json:"href,omitempty"`
}

// ActivityResult is the outcome: SUCCESS or FAILED, and why.
type ActivityResult struct {
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

// MarshalJSON writes the activity with Extra's members merged in.
func (a Activity) MarshalJSON() ([]byte, error) {
	type plain Activity
	b, err := json.Marshal(plain(a))
	if err != nil || len(a.Extra) == 0 {
		return b, err
	}
	var extra map[string]json.RawMessage
	if json.Unmarshal(a.Extra, &extra) != nil || len(extra) == 0 {
		return b, nil // not an object: nothing to merge
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, taken := base[k]; !taken {
			base[k] = extra[k]
		}
	}
	return json.Marshal(base)
}

// ActivitiesRequest is the body of POST …/activities: the filter (and
// paging) in the body rather than the URL, which may hold personal data.
type ActivitiesRequest struct {
	Filter string `json:"filter"`
	Limit  *int   `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}
