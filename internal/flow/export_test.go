package flow

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ActionFor exposes actionFor to the registry's tests.
func (e *Engine) ActionFor(mediaType string) string { return e.actionFor(mediaType) }

// Actions lists every action the registered methods run.
func (e *Engine) Actions() []string {
	var out []string
	for a := range e.reg.byAction {
		out = append(out, a)
	}
	return out
}

// Allowed is what a flow in status allows at policy action a (nil: past
// the policy's end).
func (e *Engine) Allowed(t *testing.T, status string, a *PolicyAction) []string {
	st := state{Version: stateVersion}
	if a != nil {
		st.Actions = []PolicyAction{*a}
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.view(&store.Flow{ID: "f", Status: status, Data: b})
	if err != nil {
		t.Fatal(err)
	}
	return e.allowed(v)
}
