// Package roles defines PingOne's built-in administrator roles that matter to
// Gatehouse and decides whether an actor's role assignments allow an action.
// Role ids are fixed so that they are the same on every Gatehouse install,
// as PingOne's are across environments.
package roles

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Scope types of a role assignment.
const (
	ScopeOrganization = "ORGANIZATION"
	ScopeEnvironment  = "ENVIRONMENT"
	ScopePopulation   = "POPULATION"
	ScopeApplication  = "APPLICATION"
)

// Permissions, named like PingOne's classifiers.
const (
	ReadOrganization  = "orgmgt:read:organization"
	ReadLicense       = "licensing:read:license"
	CreateEnvironment = "orgmgt:create:environment"
	ReadEnvironment   = "orgmgt:read:environment"
	UpdateEnvironment = "orgmgt:update:environment"
	DeleteEnvironment = "orgmgt:delete:environment"
	ReadPopulation    = "identity:read:population"
	WritePopulation   = "identity:write:population"
	ReadUser          = "identity:read:user"
	WriteUser         = "identity:write:user"
	ReadGroup         = "identity:read:group"  // groups, their nesting and memberships
	WriteGroup        = "identity:write:group" // PingOne: Identity Data Admin; the others read
	ReadApplication   = "applications:read:application"
	WriteApplication  = "applications:write:application"
	ReadConfig        = "config:read:configuration" // policies, resources, keys, identity providers
	WriteConfig       = "config:write:configuration"
	ReadRole          = "rolemgt:read:role"
	WriteRoleAssign   = "rolemgt:write:roleAssignment"
	// ReadActivity reads audit activities (PingOne's
	// audit_reporting:read:activity): the environment-wide
	// administrators, read-only ones included, hold it.
	ReadActivity = "audit_reporting:read:activity"
)

// Role is a built-in role.
type Role struct {
	ID           string
	Name         string
	Description  string
	ApplicableTo []string
	Permissions  []string
}

var (
	EnvironmentAdmin = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e01", Name: "Environment Admin",
		Description:  "Manages environments: their configuration, applications, identity data and roles.",
		ApplicableTo: []string{ScopeOrganization, ScopeEnvironment},
		Permissions: []string{ReadOrganization, ReadLicense, CreateEnvironment, ReadEnvironment, UpdateEnvironment, DeleteEnvironment,
			ReadPopulation, WritePopulation, ReadUser, WriteUser, ReadGroup, WriteGroup, ReadApplication, WriteApplication, ReadConfig,
			WriteConfig, ReadRole, WriteRoleAssign, ReadActivity},
	}
	OrganizationAdmin = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e02", Name: "Organization Admin",
		Description:  "Manages the organization and its environments.",
		ApplicableTo: []string{ScopeOrganization},
		Permissions:  []string{ReadOrganization, ReadLicense, CreateEnvironment, ReadEnvironment, UpdateEnvironment, DeleteEnvironment, ReadRole, WriteRoleAssign},
	}
	IdentityDataAdmin = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e03", Name: "Identity Data Admin",
		Description:  "Manages users and populations.",
		ApplicableTo: []string{ScopeEnvironment, ScopePopulation},
		// It may assign the identity-data roles (PingOne's "Can Assign").
		Permissions: []string{ReadOrganization, ReadEnvironment, ReadPopulation, WritePopulation, ReadUser, WriteUser, ReadGroup, WriteGroup,
			ReadRole, WriteRoleAssign, ReadActivity},
	}
	IdentityDataReadOnly = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e04", Name: "Identity Data Read Only",
		Description:  "Reads users and populations.",
		ApplicableTo: []string{ScopeEnvironment, ScopePopulation},
		Permissions:  []string{ReadOrganization, ReadEnvironment, ReadPopulation, ReadUser, ReadGroup, ReadRole, ReadActivity},
	}
	ClientApplicationDeveloper = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e05", Name: "Client Application Developer",
		Description:  "Manages applications, resources and their grants.",
		ApplicableTo: []string{ScopeEnvironment},
		Permissions:  []string{ReadOrganization, ReadEnvironment, ReadGroup, ReadApplication, WriteApplication, ReadConfig, ReadRole},
	}
	ConfigurationReadOnly = Role{
		ID: "5e2a4a1c-5bd1-4bd2-9c1b-6f0d0a8c2e06", Name: "Configuration Read Only",
		Description:  "Reads an environment's configuration.",
		ApplicableTo: []string{ScopeEnvironment},
		Permissions:  []string{ReadOrganization, ReadEnvironment, ReadPopulation, ReadApplication, ReadConfig, ReadRole, ReadActivity},
	}
)

// All lists the built-in roles.
var All = []Role{EnvironmentAdmin, OrganizationAdmin, IdentityDataAdmin, IdentityDataReadOnly, ClientApplicationDeveloper, ConfigurationReadOnly}

// ByID finds a built-in role.
func ByID(id string) (Role, bool) {
	for _, r := range All {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// Target is what a request touches: an environment of an organization, and
// within it, for identity data, a population. An organization-level action
// (creating an environment) leaves EnvID empty; an action on the whole
// environment leaves PopulationID empty.
type Target struct {
	OrgID        string
	EnvID        string
	PopulationID string
}

// Allowed reports whether any of the assignments grants perm over t. An
// organization-scoped assignment covers every environment of that
// organization; an environment-scoped one covers only its environment and
// never organization-level actions; a population-scoped one covers only
// actions on that population's identity data (a Target with its
// PopulationID).
func Allowed(assignments []store.RoleAssignment, perm string, t Target) bool {
	for _, a := range assignments {
		role, ok := ByID(a.RoleID)
		if !ok || !slices.Contains(role.Permissions, perm) {
			continue
		}
		switch a.ScopeType {
		case ScopeOrganization:
			if a.ScopeID == t.OrgID {
				return true
			}
		case ScopeEnvironment:
			if t.EnvID != "" && a.ScopeID == t.EnvID {
				return true
			}
		case ScopePopulation:
			if t.PopulationID != "" && a.ScopeID == t.PopulationID {
				return true
			}
		}
	}
	return false
}

// VisibleEnvironments returns nil when the assignments reach every
// environment of orgID with perm, else the ids of the environments they reach.
func VisibleEnvironments(assignments []store.RoleAssignment, perm, orgID string) []string {
	ids := []string{}
	for _, a := range assignments {
		role, ok := ByID(a.RoleID)
		if !ok || !slices.Contains(role.Permissions, perm) {
			continue
		}
		switch a.ScopeType {
		case ScopeOrganization:
			if a.ScopeID == orgID {
				return nil
			}
		case ScopeEnvironment:
			if !slices.Contains(ids, a.ScopeID) {
				ids = append(ids, a.ScopeID)
			}
		}
	}
	return ids
}

// GrantedPopulations returns the ids of the populations that the
// assignments' population-scoped roles reach with perm. The ids are not
// checked against any environment: the caller keeps those of the
// environment at hand.
func GrantedPopulations(assignments []store.RoleAssignment, perm string) []string {
	var ids []string
	for _, a := range assignments {
		role, ok := ByID(a.RoleID)
		if !ok || !slices.Contains(role.Permissions, perm) || a.ScopeType != ScopePopulation {
			continue
		}
		if !slices.Contains(ids, a.ScopeID) {
			ids = append(ids, a.ScopeID)
		}
	}
	return ids
}
