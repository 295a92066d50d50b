package access

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func TestGroupRule(t *testing.T) {
	refs := func(ids ...string) []wire.Ref {
		out := make([]wire.Ref, len(ids))
		for i, id := range ids {
			out[i] = wire.Ref{ID: id}
		}
		return out
	}
	member := map[string]bool{"a": true, "b": true}
	for _, c := range []struct {
		name string
		rule wire.AccessControlGroup
		want bool
	}{
		{"any: one of them", wire.AccessControlGroup{Type: AnyGroup, Groups: refs("x", "b")}, true},
		{"any: none of them", wire.AccessControlGroup{Type: AnyGroup, Groups: refs("x", "y")}, false},
		{"all: every one", wire.AccessControlGroup{Type: AllGroups, Groups: refs("a", "b")}, true},
		{"all: one missing", wire.AccessControlGroup{Type: AllGroups, Groups: refs("a", "x")}, false},
		{"no groups admits nobody", wire.AccessControlGroup{Type: AllGroups}, false},
	} {
		if got := inGroups(&c.rule, member); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		ac   *wire.AccessControl
		want bool
	}{
		{"none", nil, false},
		{"empty", &wire.AccessControl{}, false},
		{"role", &wire.AccessControl{Role: &wire.AccessControlRole{Type: AdminUsersOnly}}, true},
		{"group", &wire.AccessControl{Group: &wire.AccessControlGroup{Type: AnyGroup, Groups: refs("a")}}, true},
	} {
		if got := Restricted(c.ac); got != c.want {
			t.Errorf("Restricted(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}
