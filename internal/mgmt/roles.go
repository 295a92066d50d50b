package mgmt

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

var roleScopeTypes = []string{roles.ScopeOrganization, roles.ScopeEnvironment, roles.ScopePopulation, roles.ScopeApplication}

// assignable is PingOne's "Can Assign" table of its built-in admin roles:
// an Organization Admin may assign Environment Admin, an Environment Admin
// every role but Organization Admin, an Identity Data Admin the identity
// data roles; the other roles assign nothing. Holding a role is not enough
// to assign it (a Client Application Developer cannot make another).
var assignable = func() map[string][]string {
	envAdmin := []string{}
	for _, r := range roles.All {
		if r.ID != roles.OrganizationAdmin.ID {
			envAdmin = append(envAdmin, r.ID)
		}
	}
	return map[string][]string{
		roles.OrganizationAdmin.ID: {roles.EnvironmentAdmin.ID},
		roles.EnvironmentAdmin.ID:  envAdmin,
		roles.IdentityDataAdmin.ID: {roles.IdentityDataAdmin.ID, roles.IdentityDataReadOnly.ID},
	}
}()

// roleActor is a kind of actor whose role assignments are served at
// /v1/environments/{envID}/{Segment}/{Param}/roleAssignments: applications
// (applicationActor) and users (userActor).
type roleActor struct {
	Type    string // store.RoleAssignment.ActorType
	Segment string // the collection in the path: applications, users
	Param   string // the path wildcard naming the actor
	Field   string // the member naming the actor in responses: application, user
	// Exists returns store.ErrNotFound unless envID holds the actor.
	Exists func(ctx context.Context, st store.Store, envID, id string) error
}

var applicationActor = roleActor{Type: "APPLICATION", Segment: "applications", Param: "appID", Field: "application",
	Exists: func(ctx context.Context, st store.Store, envID, id string) error {
		_, err := st.GetApplication(ctx, envID, id)
		return err
	}}

func (a *API) roleRoutes(mux router) {
	mux.Handle("GET /v1/roles", a.handle(a.listRoles))
	mux.Handle("GET /v1/roles/{roleID}", a.handle(a.getRole))
}

// roleAssignmentRoutes registers list, create, read and delete (role
// assignments have no PUT) for one kind of actor.
func (a *API) roleAssignmentRoutes(mux router, k roleActor) {
	base := "/v1/environments/{envID}/" + k.Segment + "/{" + k.Param + "}/roleAssignments"
	mux.Handle("GET "+base, a.handle(a.listRoleAssignments(k)))
	mux.Handle("POST "+base, a.handle(a.createRoleAssignment(k)))
	mux.Handle("GET "+base+"/{raID}", a.handle(a.getRoleAssignment(k)))
	mux.Handle("DELETE "+base+"/{raID}", a.handle(a.deleteRoleAssignment(k)))
}

// ---- built-in roles

func permissionDescription(p string) string {
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return p
	}
	var noun strings.Builder
	for _, r := range parts[2] {
		if unicode.IsUpper(r) {
			noun.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		noun.WriteRune(r)
	}
	verb := []rune(parts[1])
	verb[0] = unicode.ToUpper(verb[0])
	return string(verb) + " " + noun.String()
}

func (a *API) renderRole(r roles.Role) wire.Role {
	perms := make([]wire.Permission, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		perms = append(perms, wire.Permission{ID: p, Classifier: p, Description: permissionDescription(p)})
	}
	return wire.Role{Links: wire.Links{"self": {Href: a.APIPath + "/roles/" + r.ID}}, ID: r.ID, Name: r.Name,
		Description: r.Description, ApplicableTo: slices.Clone(r.ApplicableTo), Permissions: perms}
}

// Built-in roles are the same for everyone, so any authenticated actor
// may read them (PingOne's Terraform provider looks roles up by name with
// whatever worker it runs as).
func (a *API) listRoles(w http.ResponseWriter, r *http.Request) error {
	items := make([]any, 0, len(roles.All))
	for _, role := range roles.All {
		items = append(items, a.renderRole(role))
	}
	wire.Write(w, http.StatusOK, wire.List{Links: wire.Links{"self": {Href: a.APIPath + "/roles"}},
		Embedded: map[string]any{"roles": items}, Count: len(items), Size: len(items)})
	return nil
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request) error {
	role, ok := roles.ByID(r.PathValue("roleID"))
	if !ok {
		return wire.NotFound("")
	}
	wire.Write(w, http.StatusOK, a.renderRole(role))
	return nil
}

// ---- who may assign what

// scopeTarget is a role assignment's scope, placed in its environment and
// organization.
type scopeTarget struct {
	Type, ID, EnvID, OrgID string
}

// covers reports whether an assignment held over h's scope reaches t: the
// organization reaches everything in it, an environment everything in it
// but the organization, a population or application only itself.
func covers(h *store.RoleAssignment, t scopeTarget) bool {
	switch h.ScopeType {
	case roles.ScopeOrganization:
		return h.ScopeID == t.OrgID
	case roles.ScopeEnvironment:
		return t.Type != roles.ScopeOrganization && t.EnvID != "" && h.ScopeID == t.EnvID
	default:
		return h.ScopeType == t.Type && h.ScopeID == t.ID
	}
}

// mayAssign reports whether an actor holding held may assign roleID over t.
func mayAssign(held []store.RoleAssignment, roleID string, t scopeTarget) bool {
	for i := range held {
		if slices.Contains(assignable[held[i].RoleID], roleID) && covers(&held[i], t) {
			return true
		}
	}
	return false
}

// assignmentView judges role assignments as one actor sees them: PingOne's
// readOnly means "this actor cannot delete it".
type assignmentView struct {
	actor  *Actor
	orgID  string
	scopes map[string]store.RoleScope
}

// assignmentView resolves, in one query, where the scopes of ras live.
func (a *API) assignmentView(ctx context.Context, env *store.Environment, actor *Actor, ras []store.RoleAssignment) (*assignmentView, error) {
	var ids []string
	for _, ra := range ras {
		if ra.ScopeType == roles.ScopePopulation || ra.ScopeType == roles.ScopeApplication {
			ids = append(ids, ra.ScopeID)
		}
	}
	scopes, err := a.Store.ResolveRoleScopes(ctx, env.OrganizationID, ids)
	if err != nil {
		return nil, err
	}
	return &assignmentView{actor: actor, orgID: env.OrganizationID, scopes: scopes}, nil
}

func (v *assignmentView) target(ra *store.RoleAssignment) scopeTarget {
	t := scopeTarget{Type: ra.ScopeType, ID: ra.ScopeID, OrgID: v.orgID}
	switch ra.ScopeType {
	case roles.ScopeEnvironment:
		t.EnvID = ra.ScopeID
	case roles.ScopePopulation, roles.ScopeApplication:
		t.EnvID = v.scopes[ra.ScopeID].EnvironmentID
	}
	return t
}

func (v *assignmentView) readOnly(ra *store.RoleAssignment) bool {
	return ra.ReadOnly || !mayAssign(v.actor.Assignments, ra.RoleID, v.target(ra))
}

// resolveTarget finds the scope a new assignment names, within env's
// organization; ok is false when there is no such scope.
func (a *API) resolveTarget(ctx context.Context, env *store.Environment, typ, id string) (scopeTarget, bool, error) {
	t := scopeTarget{Type: typ, ID: id, OrgID: env.OrganizationID}
	if typ == roles.ScopeOrganization {
		return t, id == env.OrganizationID, nil
	}
	if uuid.Validate(id) != nil {
		return t, false, nil
	}
	found, err := a.Store.ResolveRoleScopes(ctx, env.OrganizationID, []string{id})
	if err != nil {
		return t, false, err
	}
	rs, ok := found[id]
	if !ok || rs.Type != typ {
		return t, false, nil
	}
	t.EnvID = rs.EnvironmentID
	return t, true, nil
}

// ---- role assignments

func (a *API) renderRA(k roleActor, ra *store.RoleAssignment, readOnly bool) wire.RoleAssignment {
	envHref := a.APIPath + "/environments/" + ra.EnvironmentID
	actorHref := envHref + "/" + k.Segment + "/" + ra.ActorID
	out := wire.RoleAssignment{
		Links: wire.Links{"self": {Href: actorHref + "/roleAssignments/" + ra.ID}, k.Field: {Href: actorHref},
			"role": {Href: a.APIPath + "/roles/" + ra.RoleID}, "environment": {Href: envHref}},
		ID: ra.ID, Role: wire.Ref{ID: ra.RoleID}, Scope: wire.RoleAssignmentScope{ID: ra.ScopeID, Type: ra.ScopeType},
		Environment: wire.Ref{ID: ra.EnvironmentID}, ReadOnly: readOnly,
	}
	switch k.Field {
	case "application":
		out.Application = &wire.Ref{ID: ra.ActorID}
	case "user":
		out.User = &wire.Ref{ID: ra.ActorID}
	case "group":
		out.Group = &wire.Ref{ID: ra.ActorID}
	}
	return out
}

// raActor authorises perm over the environment in the path and checks
// that it holds the actor. An actor may always read its own role
// assignments, with no role to read roles: that is how a console tells
// which controls to show the administrator signed on to it.
func (a *API) raActor(r *http.Request, k roleActor, perm string) (*store.Environment, string, error) {
	id := r.PathValue(k.Param)
	var env *store.Environment
	var err error
	if perm == roles.ReadRole && actorFrom(r.Context()).is(k, r.PathValue("envID"), id) {
		env, err = a.pathEnvironment(r)
	} else {
		env, err = a.environment(r, perm)
	}
	if err != nil {
		return nil, "", err
	}
	if err := k.Exists(r.Context(), a.Store, env.ID, id); err != nil {
		return nil, "", err
	}
	return env, id, nil
}

func (a *API) listRoleAssignments(k roleActor) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, id, err := a.raActor(r, k, roles.ReadRole)
		if err != nil {
			return err
		}
		ras, err := a.Store.ListRoleAssignments(r.Context(), env.ID, id)
		if err != nil {
			return err
		}
		view, err := a.assignmentView(r.Context(), env, actorFrom(r.Context()), ras)
		if err != nil {
			return err
		}
		items := make([]any, len(ras))
		for i := range ras {
			items[i] = a.renderRA(k, &ras[i], view.readOnly(&ras[i]))
		}
		self := a.APIPath + "/environments/" + env.ID + "/" + k.Segment + "/" + id + "/roleAssignments"
		wire.Write(w, http.StatusOK, wire.List{Links: wire.Links{"self": {Href: self}},
			Embedded: map[string]any{"roleAssignments": items}, Count: len(items), Size: len(items)})
		return nil
	}
}

func (a *API) getRoleAssignment(k roleActor) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, id, err := a.raActor(r, k, roles.ReadRole)
		if err != nil {
			return err
		}
		ra, err := a.Store.GetRoleAssignment(r.Context(), env.ID, id, r.PathValue("raID"))
		if err != nil {
			return err
		}
		view, err := a.assignmentView(r.Context(), env, actorFrom(r.Context()), []store.RoleAssignment{*ra})
		if err != nil {
			return err
		}
		wire.Write(w, http.StatusOK, a.renderRA(k, ra, view.readOnly(ra)))
		return nil
	}
}

func (a *API) createRoleAssignment(k roleActor) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, id, err := a.raActor(r, k, roles.WriteRoleAssign)
		if err != nil {
			return err
		}
		var req wire.RoleAssignmentRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		var details []wire.Detail
		if req.Role == nil || req.Role.ID == "" {
			details = append(details, wire.Required("role.id"))
		}
		if req.Scope == nil || req.Scope.ID == nil || *req.Scope.ID == "" {
			details = append(details, wire.Required("scope.id"))
		}
		switch {
		case req.Scope == nil || req.Scope.Type == nil:
			details = append(details, wire.Required("scope.type"))
		case !slices.Contains(roleScopeTypes, *req.Scope.Type):
			details = append(details, wire.OneOf("scope.type", roleScopeTypes))
		}
		if len(details) > 0 {
			return wire.InvalidData(details...)
		}
		role, ok := roles.ByID(req.Role.ID)
		if !ok {
			return wire.InvalidData(wire.InvalidValue("role.id", "No role has this id: see GET /roles."))
		}
		scopeType, scopeID := *req.Scope.Type, *req.Scope.ID
		if !slices.Contains(role.ApplicableTo, scopeType) {
			return wire.InvalidData(wire.Detail{Code: wire.DetailInvalidValue, Target: "scope.type",
				Message:    "The " + role.Name + " role cannot be assigned over a scope of type " + scopeType + ".",
				InnerError: &wire.InnerError{AllowedValues: slices.Clone(role.ApplicableTo)}})
		}
		target, found, err := a.resolveTarget(r.Context(), env, scopeType, scopeID)
		if err != nil {
			return err
		}
		if !found {
			return wire.InvalidData(wire.InvalidValue("scope.id", "No "+strings.ToLower(scopeType)+" with this id exists in the organization."))
		}
		if !mayAssign(actorFrom(r.Context()).Assignments, role.ID, target) {
			return wire.Forbidden()
		}
		ra := &store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: env.ID, ActorType: k.Type, ActorID: id,
			RoleID: role.ID, ScopeType: scopeType, ScopeID: scopeID, CreatedAt: store.Now()}
		if err := a.Store.CreateRoleAssignment(r.Context(), ra); err != nil {
			return err
		}
		wire.Write(w, http.StatusCreated, a.renderRA(k, ra, false))
		return nil
	}
}

func (a *API) deleteRoleAssignment(k roleActor) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, id, err := a.raActor(r, k, roles.WriteRoleAssign)
		if err != nil {
			return err
		}
		ra, err := a.Store.GetRoleAssignment(r.Context(), env.ID, id, r.PathValue("raID"))
		if err != nil {
			return err
		}
		if ra.ReadOnly {
			// Not PingOne's "Role assignment … cannot be deleted as it is
			// read only": its SDK retries that message ten times.
			return wire.RequestFailed("A read-only role assignment cannot be deleted.")
		}
		view, err := a.assignmentView(r.Context(), env, actorFrom(r.Context()), []store.RoleAssignment{*ra})
		if err != nil {
			return err
		}
		if view.readOnly(ra) {
			return wire.Forbidden()
		}
		if err := a.Store.DeleteRoleAssignment(r.Context(), env.ID, id, ra.ID); err != nil {
			return err
		}
		wire.NoContent(w)
		return nil
	}
}
