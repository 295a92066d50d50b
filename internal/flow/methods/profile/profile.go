// Package profile is the sign-on method of PingOne's PROGRESSIVE_PROFILING
// action: once an earlier action has signed the user on, it asks for the
// action's attributes the user has no value for (PROFILE_DATA_REQUIRED),
// and user.update writes them to the user through the identity rules
// every writer of users follows. A required attribute cannot be skipped;
// optional ones can, and a user who skipped them is not asked again in
// the same browser's session before the action's promptIntervalSeconds.
// preventMultiplePromptsPerFlow passes the action when another
// progressive profiling action has already asked in the flow. A user
// with every attribute is never asked.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Name keys the method's state in flows.
const Name = "profile"

// ActionType is the sign-on policy action the method runs.
const ActionType = "PROGRESSIVE_PROFILING"

// promptKind keys the time of the last prompt in the session
// (session.PromptedAt): any progressive profiling action's, as PingOne
// counts the interval across them.
const promptKind = "progressiveProfiling"

// Method is the PROGRESSIVE_PROFILING method.
type Method struct{}

// State is what the method keeps in a flow, across its actions
// (Resetter): whether one of them has asked the user.
type State struct {
	Shown bool `json:"shown,omitempty"`
}

func (*Method) Name() string { return Name }

func (*Method) Statuses() []flow.Status {
	return []flow.Status{{Name: wire.StatusProfileDataRequired, Authenticated: true}}
}

func (*Method) Actions() []string { return []string{wire.ActionUserUpdate} }

func (*Method) Begins() []string { return []string{ActionType} }

// Collects: what the user gives outlives the sign-on, so a user the
// application refuses is refused before being asked (flow.Collector).
func (*Method) Collects() {}

func (*Method) BeginStatus(*flow.PolicyAction) string { return wire.StatusProfileDataRequired }

// SatisfiedBy: never by a session alone. Whether the user is asked
// depends on their attributes, which Enter reads (PingOne ignores
// conditions on this action too).
func (*Method) SatisfiedBy(*flow.PolicyAction, *store.Session) bool { return false }

// Reset keeps the method's state: preventMultiplePromptsPerFlow counts
// the prompts of the whole flow.
func (*Method) Reset(*flow.View) {}

func (*Method) Offers(v *flow.View) []string {
	if v.Status() == wire.StatusProfileDataRequired {
		return []string{wire.ActionUserUpdate}
	}
	return nil
}

// missing are the attributes of action a that u has no value for, with
// the schema's display names and allowed values. An attribute the schema
// no longer lets a flow ask for (a custom attribute disabled since) is
// left out: the user could not give it. st may be a transaction.
func missing(ctx context.Context, st store.Store, u *store.User, a *flow.PolicyAction) ([]wire.FlowProfileAttribute, error) {
	schema, err := identity.ProfileAttributes(ctx, st, u.EnvironmentID)
	if err != nil {
		return nil, err
	}
	var out []wire.FlowProfileAttribute
	for _, at := range a.Settings.Attributes {
		i := slices.IndexFunc(schema, func(sa wire.SchemaAttribute) bool { return sa.Name == at.Name })
		if i < 0 {
			continue
		}
		v, err := identity.Value(u, at.Name)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(v) != "" {
			continue
		}
		sa := schema[i]
		fa := wire.FlowProfileAttribute{Name: at.Name, DisplayName: sa.DisplayName, Required: at.Required}
		if fa.DisplayName == "" {
			fa.DisplayName = at.Name
		}
		for _, ev := range sa.EnumeratedValues {
			if !ev.Archived {
				fa.EnumeratedValues = append(fa.EnumeratedValues, ev.Value)
			}
		}
		out = append(out, fa)
	}
	return out, nil
}

func anyRequired(as []wire.FlowProfileAttribute) bool {
	for _, a := range as {
		if a.Required {
			return true
		}
	}
	return false
}

// errNoUser fails a flow whose policy puts the action before any action
// that signs a user on: there is nobody to ask (PingOne's console refuses
// such a policy).
const errNoUser = "The sign-on policy asks for profile data before any of its actions has signed the user on."

// Enter asks u for the attributes they lack, or passes the action.
func (m *Method) Enter(ctx context.Context, s *flow.Step, u *store.User) error {
	if u == nil {
		return s.Fail(ctx, "invalid_request", errNoUser)
	}
	a := s.Action()
	miss, err := missing(ctx, s.Engine().Store, u, a)
	if err != nil {
		return err
	}
	st, err := flow.MethodState[State](s.View, Name)
	if err != nil {
		return err
	}
	if len(miss) == 0 || (isTrue(a.Settings.PreventMultiplePromptsPerFlow) && st.Shown) {
		return s.Pass(ctx, u)
	}
	if !anyRequired(miss) {
		recent, err := m.recentlyAsked(ctx, s, u, a)
		if err != nil {
			return err
		}
		// A prompt the user may skip is never worth a failed silent
		// sign-on.
		if recent || s.Silent() {
			return s.Pass(ctx, u)
		}
	}
	if s.Silent() {
		// A required attribute is missing: the user must be asked, which
		// prompt=none forbids (login_required).
		return nil
	}
	st.Shown = true
	s.SetStatus(wire.StatusProfileDataRequired)
	return s.Save(ctx)
}

// recentlyAsked reports whether u skipped a prompt in the flow's session
// less than the action's promptIntervalSeconds ago.
func (m *Method) recentlyAsked(ctx context.Context, s *flow.Step, u *store.User, a *flow.PolicyAction) (bool, error) {
	secs := a.Settings.PromptIntervalSeconds
	if secs == nil || *secs <= 0 || s.Flow.SessionID == "" {
		return false, nil
	}
	sess, err := session.ByID(ctx, s.Engine().Store, s.Flow.EnvironmentID, s.Flow.SessionID, s.Now)
	if err != nil || sess == nil || sess.UserID != u.ID {
		return false, err
	}
	at, ok := session.PromptedAt(sess, promptKind)
	return ok && s.Now.Sub(at) < time.Duration(*secs)*time.Second, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// Run is user.update: the values of the attributes the flow asks for, in
// the user resource's shape.
func (m *Method) Run(ctx context.Context, s *flow.Step, action string, body []byte) error {
	var raw map[string]json.RawMessage
	if err := flow.Decode(body, &raw); err != nil {
		return err
	}
	u, err := s.LoadUser(ctx)
	if err != nil {
		return err
	}
	miss, err := missing(ctx, s.Engine().Store, u, s.Action())
	if err != nil {
		return err
	}
	vals, details := values("", raw, map[string]string{}, nil)
	asked := map[string]bool{}
	for _, at := range miss {
		asked[at.Name] = true
	}
	for path := range vals {
		if !asked[path] {
			details = append(details, wire.InvalidValue(path, "The flow does not ask for "+path+"."))
		}
	}
	var attrs []identity.Attribute
	skipped := false
	for _, at := range miss {
		v := strings.TrimSpace(vals[at.Name])
		switch {
		case v != "":
			attrs = append(attrs, identity.Attribute{Name: at.Name, Value: v, Update: identity.Always})
		case at.Required:
			details = append(details, wire.Detail{Code: wire.DetailRequiredValue, Target: at.Name,
				Message: at.DisplayName + " is required."})
		default:
			skipped = true
		}
	}
	if len(details) > 0 {
		return wire.InvalidData(sortDetails(details)...)
	}
	err = s.Engine().Store.Tx(ctx, func(tx store.Store) error {
		// The schema's rules (a custom attribute's enumerated values or
		// pattern, a unique value) are checked in the write's transaction.
		changed, err := identity.ApplyAttributes(ctx, tx, u, attrs, false)
		if err != nil {
			return err
		}
		if changed {
			u.UpdatedAt = s.Now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
		}
		if !skipped || s.Flow.SessionID == "" {
			return nil
		}
		sess, err := session.ByID(ctx, tx, s.Flow.EnvironmentID, s.Flow.SessionID, s.Now)
		if err != nil || sess == nil || sess.UserID != u.ID {
			return err
		}
		if err := session.Prompted(sess, promptKind, s.Now); err != nil {
			return err
		}
		return tx.UpdateSession(ctx, sess)
	})
	if errors.Is(err, store.ErrNotFound) {
		return flow.ErrFlowNotFound
	}
	if err != nil {
		return err
	}
	return s.Pass(ctx, u)
}

// values flattens a user.update body into attribute paths and their text
// ("name": {"given": "Ada"} is name.given); a value that is neither text,
// an object nor null is an INVALID_VALUE at its path.
func values(prefix string, raw map[string]json.RawMessage, out map[string]string, details []wire.Detail) (map[string]string, []wire.Detail) {
	for k, b := range raw {
		path := prefix + k
		var obj map[string]json.RawMessage
		var str *string
		switch {
		case json.Unmarshal(b, &str) == nil:
			if str != nil {
				out[path] = *str
			}
		case json.Unmarshal(b, &obj) == nil && prefix == "":
			// One level: PingOne's string attributes nest no deeper.
			out, details = values(path+".", obj, out, details)
		default:
			details = append(details, wire.InvalidValue(path, "The value of "+path+" must be text."))
		}
	}
	return out, details
}

// sortDetails orders details by target, so that an answer does not
// depend on the order of a map.
func sortDetails(ds []wire.Detail) []wire.Detail {
	slices.SortStableFunc(ds, func(a, b wire.Detail) int { return strings.Compare(a.Target, b.Target) })
	return ds
}

// Embed adds the prompt and the attributes asked for.
func (*Method) Embed(ctx context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	u, a := v.User(), v.Action()
	if v.Status() != wire.StatusProfileDataRequired || u == nil || a == nil {
		return nil
	}
	miss, err := missing(ctx, v.Engine().Store, u, a)
	if err != nil {
		return err
	}
	out.PromptText, out.Attributes = a.Settings.PromptText, miss
	return nil
}
