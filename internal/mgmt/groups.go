package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's groups (…/groups), the groups a group is nested in
// (…/groups/{id}/memberOfGroups), users' memberships
// (…/users/{id}/memberOfGroups) and groups' role assignments. Groups are
// identity data: an actor whose roles reach only some populations sees and
// changes the groups of those populations alone (environment-wide groups
// are beyond it), as it sees only their users.
//
// A group's userFilter is kept (its syntax checked), but no user joins a
// group through it: memberships are the direct ones and those through
// nested groups.

// PingOne's limits.
const (
	groupNameMax        = 256
	groupDescriptionMax = 1024
	groupExternalIDMax  = 1024
	groupUserFilterMax  = 4096
)

// Membership types (PingOne's EnumGroupMembershipType).
const (
	membershipDirect   = "DIRECT"
	membershipIndirect = "INDIRECT"
)

func (a *API) groupRoutes(mux router) {
	base := "/v1/environments/{envID}/groups"
	one := base + "/{groupID}"
	mux.Handle("GET "+base, a.handle(a.listGroups))
	mux.Handle("POST "+base, a.handle(a.createGroup))
	mux.Handle("GET "+one, a.handle(a.getGroup))
	mux.Handle("PUT "+one, a.handle(a.updateGroup))
	mux.Handle("DELETE "+one, a.handle(a.deleteGroup))
	mux.Handle("GET "+one+"/memberOfGroups", a.handle(a.listGroupNestings))
	mux.Handle("POST "+one+"/memberOfGroups", a.handle(a.createGroupNesting))
	mux.Handle("GET "+one+"/memberOfGroups/{parentID}", a.handle(a.getGroupNesting))
	mux.Handle("DELETE "+one+"/memberOfGroups/{parentID}", a.handle(a.deleteGroupNesting))
	users := "/v1/environments/{envID}/users/{userID}/memberOfGroups"
	mux.Handle("GET "+users, a.handle(a.listUserMemberships))
	mux.Handle("POST "+users, a.handle(a.addUserMembership))
	mux.Handle("GET "+users+"/{groupID}", a.handle(a.getUserMembership))
	mux.Handle("DELETE "+users+"/{groupID}", a.handle(a.removeUserMembership))
	a.roleAssignmentRoutes(mux, groupActor)
}

var groupActor = roleActor{Type: "GROUP", Segment: "groups", Param: "groupID", Field: "group",
	Exists: func(ctx context.Context, st store.Store, envID, id string) error {
		_, err := st.GetGroup(ctx, envID, id)
		return err
	}}

// groupScope authorizes perm on the path environment's groups, as
// userScope does users: the whole environment, or the groups of the
// populations the actor's population-scoped roles reach. A path group
// outside the scope is 404.
func (a *API) groupScope(r *http.Request, perm string) (*store.Environment, *popScope, *store.Group, error) {
	ctx := r.Context()
	env, err := a.pathEnvironment(r)
	if err != nil {
		return nil, nil, nil, err
	}
	var scope *popScope
	if !roles.Allowed(actorFrom(ctx).Assignments, perm, roles.Target{OrgID: env.OrganizationID, EnvID: env.ID}) {
		if scope, err = a.grantedScope(ctx, env, perm); err != nil {
			return nil, nil, nil, err
		}
	}
	var g *store.Group
	if id := r.PathValue("groupID"); id != "" {
		if g, err = a.scopedGroup(ctx, env.ID, scope, id); err != nil {
			return nil, nil, nil, err
		}
	}
	return env, scope, g, nil
}

// scopedGroup reads a group the scope reaches; ErrNotFound otherwise.
func (a *API) scopedGroup(ctx context.Context, envID string, scope *popScope, id string) (*store.Group, error) {
	g, err := a.Store.GetGroup(ctx, envID, id)
	if err != nil {
		return nil, err
	}
	if !scope.allows(g.PopulationID) {
		return nil, store.ErrNotFound
	}
	return g, nil
}

// ---- rendering

func (a *API) groupHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/groups/" + id
}

// renderGroup renders g with the counts given (nil: none).
func (a *API) renderGroup(g *store.Group, direct, total *int) wire.Group {
	envHref := a.APIPath + "/environments/" + g.EnvironmentID
	self := a.groupHref(g.EnvironmentID, g.ID)
	var d wire.GroupData
	_ = json.Unmarshal(g.Data, &d) // a damaged row still renders its columns
	out := wire.Group{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "memberOfGroups": {Href: self + "/memberOfGroups"},
			"roleAssignments": {Href: self + "/roleAssignments"}},
		ID: g.ID, Environment: wire.Ref{ID: g.EnvironmentID}, Name: g.Name, Description: d.Description,
		ExternalID: g.ExternalID, UserFilter: d.UserFilter, CustomData: d.CustomData,
	}
	if g.PopulationID != "" {
		out.Population = &wire.Ref{ID: g.PopulationID}
		out.Links["population"] = wire.Href{Href: envHref + "/populations/" + g.PopulationID}
	}
	if direct != nil {
		out.DirectMemberCounts = &wire.GroupUserCounts{Users: *direct}
	}
	if total != nil {
		out.TotalMemberCounts = &wire.GroupUserCounts{Users: *total}
	}
	return out
}

// groupCounts renders g with its direct member count, and its total one
// when total is set.
func (a *API) groupWithCounts(ctx context.Context, g *store.Group, total bool) (wire.Group, error) {
	counts, err := a.Store.CountGroupMembers(ctx, g.EnvironmentID, []string{g.ID}, total)
	if err != nil {
		return wire.Group{}, err
	}
	c := counts[g.ID]
	var t *int
	if total {
		t = &c.Total
	}
	return a.renderGroup(g, &c.Direct, t), nil
}

// includeTotal reads ?include=: totalMemberCounts is the one value.
func includeTotal(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("include")
	if v == "" {
		return false, nil
	}
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) != "totalMemberCounts" {
			return false, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "include",
				Message: "Unsupported include value.", InnerError: &wire.InnerError{AllowedValues: []string{"totalMemberCounts"}}})
		}
	}
	return true, nil
}

// expandGroup reads ?expand=: group is the one expansion of memberships.
func expandGroup(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("expand")
	if v == "" {
		return false, nil
	}
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) != "group" {
			return false, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "expand",
				Message: "Unsupported expand value.", InnerError: &wire.InnerError{AllowedValues: []string{"group"}}})
		}
	}
	return true, nil
}

// groupsByID loads groups of envID in one query.
func (a *API) groupsByID(ctx context.Context, envID string, ids []string) (map[string]*store.Group, error) {
	out := map[string]*store.Group{}
	if len(ids) == 0 {
		return out, nil
	}
	gs, _, err := a.Store.ListGroups(ctx, envID, store.Page{IDs: ids, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	for i := range gs {
		out[gs[i].ID] = &gs[i]
	}
	return out, nil
}

// ---- groups

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) error {
	env, scope, _, err := a.groupScope(r, roles.ReadGroup)
	if err != nil {
		return err
	}
	var counts map[string]store.GroupMemberCounts
	list, err := pageOf(r, a.APIPath+"/environments/"+env.ID+"/groups", "groups", nil,
		func(p store.Page) ([]store.Group, int, error) {
			gs, total, err := a.Store.ListGroups(r.Context(), env.ID, scope.restrict(p))
			if err != nil {
				return nil, 0, err
			}
			ids := make([]string, len(gs))
			for i := range gs {
				ids[i] = gs[i].ID
			}
			counts, err = a.Store.CountGroupMembers(r.Context(), env.ID, ids, false)
			return gs, total, err
		},
		func(g *store.Group) string { return g.ID },
		func(g *store.Group) any {
			n := counts[g.ID].Direct
			return a.renderGroup(g, &n, nil)
		})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) error {
	total, err := includeTotal(r)
	if err != nil {
		return err
	}
	_, _, g, err := a.groupScope(r, roles.ReadGroup)
	if err != nil {
		return err
	}
	out, err := a.groupWithCounts(r.Context(), g, total)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// applyGroup checks req and writes it into g. population.id is taken on
// create only: PingOne never moves a group, and a PUT that names another
// population is refused (one naming the group's own, as a GET returns it,
// is taken).
func (a *API) applyGroup(ctx context.Context, env *store.Environment, scope *popScope, req *wire.GroupRequest, g *store.Group, create bool) error {
	var details []wire.Detail
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	switch {
	case name == "":
		details = append(details, wire.Required("name"))
	case len(name) > groupNameMax:
		details = append(details, sizeLimit("name", groupNameMax))
	}
	if req.Description != nil && len(*req.Description) > groupDescriptionMax {
		details = append(details, sizeLimit("description", groupDescriptionMax))
	}
	if req.ExternalID != nil && len(*req.ExternalID) > groupExternalIDMax {
		details = append(details, sizeLimit("externalId", groupExternalIDMax))
	}
	custom := bytes.TrimSpace(req.CustomData)
	if bytes.Equal(custom, []byte("null")) {
		custom = nil
	}
	if len(custom) > 0 && custom[0] != '{' {
		details = append(details, wire.InvalidValue("customData", "customData must be a JSON object."))
	}
	filter := ""
	if req.UserFilter != nil {
		filter = strings.TrimSpace(*req.UserFilter)
	}
	if len(filter) > groupUserFilterMax {
		details = append(details, sizeLimit("userFilter", groupUserFilterMax))
	} else if filter != "" {
		details = append(details, checkUserFilter(filter)...)
	}
	popID := ""
	if req.Population != nil {
		if req.Population.ID == nil || *req.Population.ID == "" {
			details = append(details, wire.Required("population.id"))
		} else {
			popID = *req.Population.ID
		}
	}
	switch {
	case !create:
		if popID != "" && popID != g.PopulationID {
			details = append(details, wire.InvalidValue("population.id", "A group's population cannot be changed."))
		}
	case popID == "":
		// An environment-wide group is beyond an actor whose roles reach
		// only some populations.
		if scope != nil {
			return wire.Forbidden()
		}
	default:
		if _, err := a.Store.GetPopulation(ctx, env.ID, popID); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			details = append(details, wire.InvalidValue("population.id", "The population does not exist in this environment."))
		} else if !scope.allows(popID) {
			return wire.Forbidden()
		}
		g.PopulationID = popID
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	g.Name, g.ExternalID = name, str(req.ExternalID)
	g.Data = mustJSON(wire.GroupData{Description: str(req.Description), UserFilter: filter, CustomData: json.RawMessage(custom)})
	return nil
}

// checkUserFilter parses a userFilter. Its attributes are PingOne's user
// attributes, more than GET /users filters on here, and Gatehouse does not
// evaluate it, so the syntax is what is checked.
func checkUserFilter(filter string) []wire.Detail {
	if _, err := scim.Parse(filter); err != nil {
		msg := "The filter is not valid SCIM."
		var se *scim.Error
		if errors.As(err, &se) {
			msg = se.Message
		}
		return []wire.Detail{{Code: wire.DetailInvalidFilter, Target: "userFilter", Message: msg}}
	}
	return nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	env, scope, _, err := a.groupScope(r, roles.WriteGroup)
	if err != nil {
		return err
	}
	var req wire.GroupRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	g := &store.Group{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := a.applyGroup(r.Context(), env, scope, &req, g, true); err != nil {
		return err
	}
	if err := a.Store.CreateGroup(r.Context(), g); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			// The population went between the check and the write.
			return wire.InvalidData(wire.InvalidValue("population.id", "The population does not exist in this environment."))
		}
		if errors.Is(err, store.ErrGroupsFull) {
			limit := int64(store.MaxEnvironmentGroups)
			return wire.InvalidData(wire.Detail{Code: wire.DetailSizeLimit, Target: "name",
				Message: "An environment can hold at most " + strconv.FormatInt(limit, 10) + " groups.", InnerError: &wire.InnerError{MaximumValue: &limit}})
		}
		return err
	}
	zero := 0
	wire.Write(w, http.StatusCreated, a.renderGroup(g, &zero, nil))
	return nil
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) error {
	env, scope, g, err := a.groupScope(r, roles.WriteGroup)
	if err != nil {
		return err
	}
	var req wire.GroupRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := a.applyGroup(r.Context(), env, scope, &req, g, false); err != nil {
		return err
	}
	g.UpdatedAt = store.Now()
	if err := a.Store.UpdateGroup(r.Context(), g); err != nil {
		return err
	}
	out, err := a.groupWithCounts(r.Context(), g, false)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	env, _, g, err := a.groupScope(r, roles.WriteGroup)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteGroup(r.Context(), env.ID, g.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- nesting

// groupRefError turns what the store says of a group named in a body
// ({"id": …}) into PingOne's 400.
func groupRefError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return wire.InvalidData(wire.InvalidValue("id", "No group with this id exists in the environment."))
	case errors.Is(err, store.ErrGroupCycle):
		return wire.InvalidData(wire.InvalidValue("id",
			"The group cannot be nested in this group: it would become a member of itself (a circular reference)."))
	case errors.Is(err, store.ErrGroupLimit):
		limit := int64(store.MaxUserGroups)
		return wire.InvalidData(wire.Detail{Code: wire.DetailSizeLimit, Target: "id",
			Message: "A user can be a member of at most " + strconv.FormatInt(limit, 10) + " groups.", InnerError: &wire.InnerError{MaximumValue: &limit}})
	case errors.Is(err, store.ErrGroupPopulation):
		return wire.InvalidData(wire.InvalidValue("id",
			"A population group can contain only users and groups of its own population."))
	}
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		msg := "The group is already nested in this group."
		if ue.Resource == "groupMembership" {
			msg = "The user is already a member of this group."
		}
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "id", Message: msg})
	}
	return err
}

// decodeGroupRef reads {"id": …}, the body of both membership POSTs.
func decodeGroupRef(r *http.Request) (string, error) {
	var req wire.RefRequest
	if err := decode(r, &req); err != nil {
		return "", err
	}
	if req.ID == nil || strings.TrimSpace(*req.ID) == "" {
		return "", wire.InvalidData(wire.Required("id"))
	}
	return *req.ID, nil
}

func (a *API) renderNesting(envID, groupID string, parent string, embedded *store.Group) wire.GroupNesting {
	self := a.groupHref(envID, groupID)
	out := wire.GroupNesting{Links: wire.Links{"self": {Href: self + "/memberOfGroups/" + parent}, "group": {Href: self},
		"memberOfGroup": {Href: a.groupHref(envID, parent)}}, ID: parent, Type: membershipDirect}
	if embedded != nil {
		out.Embedded = &wire.GroupMembershipEmbedded{Group: a.renderGroup(embedded, nil, nil)}
	}
	return out
}

func (a *API) listGroupNestings(w http.ResponseWriter, r *http.Request) error {
	expand, err := expandGroup(r)
	if err != nil {
		return err
	}
	env, scope, g, err := a.groupScope(r, roles.ReadGroup)
	if err != nil {
		return err
	}
	ns, err := a.Store.ListGroupNestings(r.Context(), env.ID, g.ID)
	if err != nil {
		return err
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ParentID
	}
	parents, err := a.groupsByID(r.Context(), env.ID, ids)
	if err != nil {
		return err
	}
	items := []any{}
	for _, n := range ns {
		p := parents[n.ParentID]
		if p == nil || !scope.allows(p.PopulationID) {
			continue
		}
		if !expand {
			p = nil
		}
		items = append(items, a.renderNesting(env.ID, g.ID, n.ParentID, p))
	}
	wire.Write(w, http.StatusOK, wholeList(a.groupHref(env.ID, g.ID)+"/memberOfGroups", "groupMemberships", items))
	return nil
}

func (a *API) getGroupNesting(w http.ResponseWriter, r *http.Request) error {
	expand, err := expandGroup(r)
	if err != nil {
		return err
	}
	env, scope, g, err := a.groupScope(r, roles.ReadGroup)
	if err != nil {
		return err
	}
	parent, err := a.scopedGroup(r.Context(), env.ID, scope, r.PathValue("parentID"))
	if err != nil {
		return err
	}
	if _, err := a.Store.GetGroupNesting(r.Context(), env.ID, g.ID, parent.ID); err != nil {
		return err
	}
	if !expand {
		parent = nil
	}
	wire.Write(w, http.StatusOK, a.renderNesting(env.ID, g.ID, r.PathValue("parentID"), parent))
	return nil
}

func (a *API) createGroupNesting(w http.ResponseWriter, r *http.Request) error {
	env, scope, g, err := a.groupScope(r, roles.WriteGroup)
	if err != nil {
		return err
	}
	parentID, err := decodeGroupRef(r)
	if err != nil {
		return err
	}
	if _, err := a.scopedGroup(r.Context(), env.ID, scope, parentID); err != nil {
		return groupRefError(err)
	}
	// The group's members take the parent's roles (and its parents').
	if err := a.mayGrantGroupRoles(r.Context(), env, parentID); err != nil {
		return err
	}
	if err := a.Store.NestGroup(r.Context(), env.ID, g.ID, parentID, store.Now()); err != nil {
		return groupRefError(err)
	}
	wire.Write(w, http.StatusCreated, a.renderNesting(env.ID, g.ID, parentID, nil))
	return nil
}

func (a *API) deleteGroupNesting(w http.ResponseWriter, r *http.Request) error {
	env, scope, g, err := a.groupScope(r, roles.WriteGroup)
	if err != nil {
		return err
	}
	if _, err := a.scopedGroup(r.Context(), env.ID, scope, r.PathValue("parentID")); err != nil {
		return err
	}
	if err := a.Store.UnnestGroup(r.Context(), env.ID, g.ID, r.PathValue("parentID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- users' memberships

// membershipScope is userScope for the memberships of the path user, who
// must exist for every actor.
func (a *API) membershipScope(r *http.Request, perm string) (*store.Environment, *popScope, error) {
	env, scope, err := a.userScope(r, perm)
	if err != nil {
		return nil, nil, err
	}
	if scope == nil {
		// userScope reads the path user only for a scoped actor.
		if _, err := a.Store.GetUser(r.Context(), env.ID, r.PathValue("userID")); err != nil {
			return nil, nil, err
		}
	}
	return env, scope, nil
}

func (a *API) renderMembership(envID, userID string, m *store.UserGroup, embedded *store.Group) wire.GroupMembership {
	user := a.userHref(envID, userID)
	typ := membershipIndirect
	if m.Direct {
		typ = membershipDirect
	}
	out := wire.GroupMembership{Links: wire.Links{"self": {Href: user + "/memberOfGroups/" + m.ID}, "user": {Href: user},
		"group": {Href: a.groupHref(envID, m.ID)}, "environment": {Href: a.APIPath + "/environments/" + envID}},
		ID: m.ID, Environment: wire.Ref{ID: envID}, Name: m.Name, Type: typ}
	if embedded != nil {
		out.Embedded = &wire.GroupMembershipEmbedded{Group: a.renderGroup(embedded, nil, nil)}
	}
	return out
}

// listUserMemberships pages the user's groups, direct and through nested
// groups, with PingOne's filters (type, id, name); expand=group embeds
// each group, read in one query per page.
func (a *API) listUserMemberships(w http.ResponseWriter, r *http.Request) error {
	expand, err := expandGroup(r)
	if err != nil {
		return err
	}
	env, scope, err := a.membershipScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	userID := r.PathValue("userID")
	var groups map[string]*store.Group
	list, err := pageOf(r, a.userHref(env.ID, userID)+"/memberOfGroups", "groupMemberships", nil,
		func(p store.Page) ([]store.UserGroup, int, error) {
			ms, total, err := a.Store.ListUserGroupsPage(r.Context(), env.ID, userID, scope.restrict(p))
			if err != nil || !expand {
				return ms, total, err
			}
			ids := make([]string, len(ms))
			for i := range ms {
				ids[i] = ms[i].ID
			}
			groups, err = a.groupsByID(r.Context(), env.ID, ids)
			return ms, total, err
		},
		func(m *store.UserGroup) string { return m.ID },
		func(m *store.UserGroup) any { return a.renderMembership(env.ID, userID, m, groups[m.ID]) })
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getUserMembership(w http.ResponseWriter, r *http.Request) error {
	expand, err := expandGroup(r)
	if err != nil {
		return err
	}
	env, scope, err := a.membershipScope(r, roles.ReadUser)
	if err != nil {
		return err
	}
	g, err := a.scopedGroup(r.Context(), env.ID, scope, r.PathValue("groupID"))
	if err != nil {
		return err
	}
	ms, err := a.Store.UserGroups(r.Context(), env.ID, r.PathValue("userID"))
	if err != nil {
		return err
	}
	for i := range ms {
		if ms[i].ID == g.ID {
			if !expand {
				g = nil
			}
			wire.Write(w, http.StatusOK, a.renderMembership(env.ID, r.PathValue("userID"), &ms[i], g))
			return nil
		}
	}
	return store.ErrNotFound
}

func (a *API) addUserMembership(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.membershipScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	groupID, err := decodeGroupRef(r)
	if err != nil {
		return err
	}
	g, err := a.scopedGroup(r.Context(), env.ID, scope, groupID)
	if err != nil {
		return groupRefError(err)
	}
	if err := a.mayGrantGroupRoles(r.Context(), env, g.ID); err != nil {
		return err
	}
	if err := a.Store.AddGroupMember(r.Context(), env.ID, r.PathValue("userID"), g.ID, store.Now()); err != nil {
		return groupRefError(err)
	}
	wire.Write(w, http.StatusCreated, a.renderMembership(env.ID, r.PathValue("userID"),
		&store.UserGroup{ID: g.ID, Name: g.Name, Direct: true}, nil))
	return nil
}

func (a *API) removeUserMembership(w http.ResponseWriter, r *http.Request) error {
	env, scope, err := a.membershipScope(r, roles.WriteUser)
	if err != nil {
		return err
	}
	if _, err := a.scopedGroup(r.Context(), env.ID, scope, r.PathValue("groupID")); err != nil {
		return err
	}
	if err := a.Store.RemoveGroupMember(r.Context(), env.ID, r.PathValue("userID"), r.PathValue("groupID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// includeGroups reads a user read's ?include= (PingOne's
// EnumUserRequestInclude): memberOfGroupIDs, memberOfGroupNames.
func includeGroups(r *http.Request) (ids, names bool, err error) {
	for _, v := range r.URL.Query()["include"] {
		for _, part := range strings.Split(v, ",") {
			switch strings.TrimSpace(part) {
			case "memberOfGroupIDs":
				ids = true
			case "memberOfGroupNames":
				names = true
			default:
				return false, false, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Target: "include",
					Message: "Unsupported include value.", InnerError: &wire.InnerError{AllowedValues: []string{"memberOfGroupIDs", "memberOfGroupNames"}}})
			}
		}
	}
	return ids, names, nil
}

// addUserGroups adds the groups the user belongs to, directly or nested,
// by name: one query.
func (a *API) addUserGroups(ctx context.Context, out *wire.User, ids, names bool) error {
	gs, err := a.Store.UserGroups(ctx, out.Environment.ID, out.ID)
	if err != nil {
		return err
	}
	idList, nameList := make([]string, len(gs)), make([]string, len(gs))
	for i, g := range gs {
		idList[i], nameList[i] = g.ID, g.Name
	}
	if ids {
		out.MemberOfGroupIDs = &idList
	}
	if names {
		out.MemberOfGroupNames = &nameList
	}
	return nil
}

// mayGrantGroupRoles refuses (403) a membership or a nesting that would
// give the actor's target roles the actor could not assign itself: a
// member holds the role assignments of groupID and of every group it is
// nested in, and a user's token acts with them. Without this an actor
// allowed to write users (Identity Data Admin) would add itself, or a user
// it signs on as, to a group holding Environment Admin — PingOne's rule
// that "an admin can only assign a role to a group if the admin has that
// role", kept when the group's roles reach a user through its membership.
func (a *API) mayGrantGroupRoles(ctx context.Context, env *store.Environment, groupID string) error {
	var ras []store.RoleAssignment
	seen := map[string]bool{groupID: true}
	for queue := []string{groupID}; len(queue) > 0; queue = queue[1:] {
		held, err := a.Store.ListRoleAssignments(ctx, env.ID, queue[0])
		if err != nil {
			return err
		}
		ras = append(ras, held...)
		parents, err := a.Store.ListGroupNestings(ctx, env.ID, queue[0])
		if err != nil {
			return err
		}
		for _, p := range parents {
			if !seen[p.ParentID] {
				seen[p.ParentID] = true
				queue = append(queue, p.ParentID)
			}
		}
	}
	if len(ras) == 0 {
		return nil
	}
	actor := actorFrom(ctx)
	view, err := a.assignmentView(ctx, env, actor, ras)
	if err != nil {
		return err
	}
	for i := range ras {
		if !mayAssign(actor.Assignments, ras[i].RoleID, view.target(&ras[i])) {
			return wire.Forbidden()
		}
	}
	return nil
}
