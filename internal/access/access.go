// Package access is an application's accessControl as PingOne enforces it:
// who may sign on to the application and have its tokens. accessControl.role
// ADMIN_USERS_ONLY admits users who hold an administrator role (directly or
// through a group); accessControl.group admits members of ANY_GROUP or
// ALL_GROUPS of its groups, directly or through nested groups. Both set,
// both must hold. The sign-on flow checks it when a sign-on completes, and
// every grant that issues a user's tokens checks it again, so that a user
// removed from a group can no longer refresh.
package access

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The OAuth error a refused user's sign-on reports to the application, and
// its description.
const (
	Code        = "access_denied"
	Description = "The user is not authorized to access the application."
)

// Group types and the role type of accessControl.
const (
	AnyGroup       = "ANY_GROUP"
	AllGroups      = "ALL_GROUPS"
	AdminUsersOnly = "ADMIN_USERS_ONLY"
)

// AdminRoleIDs are the roles ADMIN_USERS_ONLY admits, PingOne's list:
// Organization Admin, Environment Admin, Identity Data Admin and Client
// Application Developer. A read-only role does not count.
var AdminRoleIDs = []string{roles.OrganizationAdmin.ID, roles.EnvironmentAdmin.ID, roles.IdentityDataAdmin.ID,
	roles.ClientApplicationDeveloper.ID}

// Restricted says whether ac restricts anyone: an application without it
// costs no query.
func Restricted(ac *wire.AccessControl) bool {
	return ac != nil && ((ac.Role != nil && ac.Role.Type != "") || (ac.Group != nil && ac.Group.Type != ""))
}

// Allowed says whether userID may use an application whose accessControl
// is ac: at most one query per rule set.
func Allowed(ctx context.Context, st store.Store, envID string, ac *wire.AccessControl, userID string) (bool, error) {
	if !Restricted(ac) {
		return true, nil
	}
	if ac.Role != nil && ac.Role.Type == AdminUsersOnly {
		ok, err := st.UserHasRoleAssignment(ctx, envID, userID, AdminRoleIDs)
		if err != nil || !ok {
			return false, err
		}
	}
	if g := ac.Group; g != nil && g.Type != "" {
		groups, err := st.UserGroups(ctx, envID, userID)
		if err != nil {
			return false, err
		}
		member := make(map[string]bool, len(groups))
		for _, ug := range groups {
			member[ug.ID] = true
		}
		return inGroups(g, member), nil
	}
	return true, nil
}

// inGroups applies the group rule to the groups the user belongs to. A
// rule that names no group admits nobody (the management API refuses one).
func inGroups(g *wire.AccessControlGroup, member map[string]bool) bool {
	if len(g.Groups) == 0 {
		return false
	}
	for _, ref := range g.Groups {
		in := member[ref.ID]
		if g.Type == AnyGroup && in {
			return true
		}
		if g.Type == AllGroups && !in {
			return false
		}
	}
	return g.Type == AllGroups
}
