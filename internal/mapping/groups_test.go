package mapping

import (
	"reflect"
	"testing"
)

// TestGroupRoots: an expression that names the user's groups says so, in
// every spelling that reaches them, and keeps their list as the claim.
func TestGroupRoots(t *testing.T) {
	for _, c := range []struct {
		expr   string
		groups bool
	}{
		{"${user.memberOfGroupNames}", true},
		{"${user.memberOfGroupIDs}", true},
		{"${user['memberOfGroupNames']}", true},
		{"${#root.user.memberOfGroupIDs}", true},
		{"${user.memberOfGroupNames ?: 'none'}", true},
		{"${user.name.memberOfGroupNames}", false},
		{"${user.email}", false},
		{"${client.name}", false},
		{"memberOfGroupNames", false},
	} {
		e, err := Compile(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := e.Roots()&RootGroups != 0; got != c.groups {
			t.Errorf("%s: reads groups = %v, want %v", c.expr, got, c.groups)
		}
	}
	e, _ := Compile("${user.memberOfGroupNames}")
	names := []any{"Admins", "Staff"}
	v, ok := e.Eval(&Data{User: map[string]any{GroupNames: names}})
	if !ok || !reflect.DeepEqual(v, names) {
		t.Errorf("Eval = %v %v, want the list", v, ok)
	}
	if _, ok := e.Eval(&Data{User: map[string]any{}}); ok {
		t.Error("a user in no group yields a claim")
	}
}
