package roles_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func ra(role roles.Role, scopeType, scopeID string) store.RoleAssignment {
	return store.RoleAssignment{RoleID: role.ID, ScopeType: scopeType, ScopeID: scopeID}
}

func TestAllowed(t *testing.T) {
	orgAdmin := []store.RoleAssignment{ra(roles.EnvironmentAdmin, roles.ScopeOrganization, "org")}
	envAdmin := []store.RoleAssignment{ra(roles.EnvironmentAdmin, roles.ScopeEnvironment, "envA")}
	reader := []store.RoleAssignment{ra(roles.IdentityDataReadOnly, roles.ScopeEnvironment, "envA")}
	popAdmin := []store.RoleAssignment{ra(roles.IdentityDataAdmin, roles.ScopePopulation, "popP")}
	popReader := []store.RoleAssignment{ra(roles.IdentityDataReadOnly, roles.ScopePopulation, "popP")}
	unknownRole := []store.RoleAssignment{{RoleID: "not-a-role", ScopeType: roles.ScopeOrganization, ScopeID: "org"}}
	cases := []struct {
		name string
		as   []store.RoleAssignment
		perm string
		t    roles.Target
		want bool
	}{
		{"org admin, any env", orgAdmin, roles.UpdateEnvironment, roles.Target{OrgID: "org", EnvID: "envZ"}, true},
		{"org admin, create env", orgAdmin, roles.CreateEnvironment, roles.Target{OrgID: "org"}, true},
		{"org admin of another org", orgAdmin, roles.ReadEnvironment, roles.Target{OrgID: "org2", EnvID: "envZ"}, false},
		{"env admin, own env", envAdmin, roles.WritePopulation, roles.Target{OrgID: "org", EnvID: "envA"}, true},
		{"env admin, other env", envAdmin, roles.ReadEnvironment, roles.Target{OrgID: "org", EnvID: "envB"}, false},
		{"env admin cannot act at org level", envAdmin, roles.CreateEnvironment, roles.Target{OrgID: "org"}, false},
		{"reader reads", reader, roles.ReadPopulation, roles.Target{OrgID: "org", EnvID: "envA"}, true},
		{"reader cannot write", reader, roles.WritePopulation, roles.Target{OrgID: "org", EnvID: "envA"}, false},
		{"population admin, own population", popAdmin, roles.WriteUser, roles.Target{OrgID: "org", EnvID: "envA", PopulationID: "popP"}, true},
		{"population admin, other population", popAdmin, roles.WriteUser, roles.Target{OrgID: "org", EnvID: "envA", PopulationID: "popQ"}, false},
		{"population admin, whole environment", popAdmin, roles.ReadUser, roles.Target{OrgID: "org", EnvID: "envA"}, false},
		{"population admin, population id as env", popAdmin, roles.ReadUser, roles.Target{OrgID: "org", EnvID: "popP"}, false},
		{"population reader reads", popReader, roles.ReadUser, roles.Target{OrgID: "org", EnvID: "envA", PopulationID: "popP"}, true},
		{"population reader cannot write", popReader, roles.WriteUser, roles.Target{OrgID: "org", EnvID: "envA", PopulationID: "popP"}, false},
		{"env reader covers populations", reader, roles.ReadUser, roles.Target{OrgID: "org", EnvID: "envA", PopulationID: "popP"}, true},
		{"unknown role grants nothing", unknownRole, roles.ReadEnvironment, roles.Target{OrgID: "org", EnvID: "envA"}, false},
		{"no assignments", nil, roles.ReadEnvironment, roles.Target{OrgID: "org", EnvID: "envA"}, false},
	}
	for _, c := range cases {
		if got := roles.Allowed(c.as, c.perm, c.t); got != c.want {
			t.Errorf("%s: Allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVisibleEnvironments(t *testing.T) {
	if got := roles.VisibleEnvironments([]store.RoleAssignment{ra(roles.EnvironmentAdmin, roles.ScopeOrganization, "org")}, roles.ReadEnvironment, "org"); got != nil {
		t.Fatalf("org admin sees %v, want every environment (nil)", got)
	}
	as := []store.RoleAssignment{
		ra(roles.EnvironmentAdmin, roles.ScopeEnvironment, "envA"),
		ra(roles.IdentityDataAdmin, roles.ScopeEnvironment, "envA"),
		ra(roles.ConfigurationReadOnly, roles.ScopeEnvironment, "envB"),
		ra(roles.EnvironmentAdmin, roles.ScopeOrganization, "other-org"),
	}
	got := roles.VisibleEnvironments(as, roles.ReadEnvironment, "org")
	slices.Sort(got)
	if !slices.Equal(got, []string{"envA", "envB"}) {
		t.Fatalf("visible %v", got)
	}
	if got := roles.VisibleEnvironments(nil, roles.ReadEnvironment, "org"); got == nil || len(got) != 0 {
		t.Fatalf("no assignments: %v, want an empty non-nil list", got)
	}
}

func TestRoleIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range roles.All {
		if seen[r.ID] || seen[r.Name] {
			t.Fatalf("duplicate role %s %s", r.ID, r.Name)
		}
		seen[r.ID], seen[r.Name] = true, true
		if _, ok := roles.ByID(r.ID); !ok {
			t.Fatalf("ByID(%s)", r.ID)
		}
	}
}

func TestGrantedPopulations(t *testing.T) {
	as := []store.RoleAssignment{
		ra(roles.IdentityDataAdmin, roles.ScopePopulation, "popP"),
		ra(roles.IdentityDataReadOnly, roles.ScopePopulation, "popQ"),
		ra(roles.IdentityDataReadOnly, roles.ScopePopulation, "popP"),
		ra(roles.EnvironmentAdmin, roles.ScopeEnvironment, "envA"),
	}
	if got := roles.GrantedPopulations(as, roles.ReadUser); !slices.Equal(got, []string{"popP", "popQ"}) {
		t.Errorf("read: %v", got)
	}
	if got := roles.GrantedPopulations(as, roles.WriteUser); !slices.Equal(got, []string{"popP"}) {
		t.Errorf("write: %v", got)
	}
	if got := roles.GrantedPopulations(nil, roles.ReadUser); len(got) != 0 {
		t.Errorf("none: %v", got)
	}
}
