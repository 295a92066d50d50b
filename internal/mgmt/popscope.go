package mgmt

import (
	"context"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// popScope is the reach of an actor whose user permission comes only from
// population-scoped roles (PingOne's Identity Data Admin and Read Only can
// be assigned over a population): the users of those populations. A nil
// popScope is the whole environment.
type popScope struct{ ids []string }

// allows reports whether the scope reaches populationID's users.
func (s *popScope) allows(populationID string) bool {
	return s == nil || slices.Contains(s.ids, populationID)
}

// reach answers a user outside the scope as one that does not exist, as a
// user of another environment would be: the actor learns nothing of it.
func (s *popScope) reach(u *store.User) error {
	if !s.allows(u.PopulationID) {
		return store.ErrNotFound
	}
	return nil
}

// restrict narrows a page of users to the scope. The copy is never nil, so
// a scope without populations matches no user rather than every one.
func (s *popScope) restrict(p store.Page) store.Page {
	if s != nil {
		p.PopulationIDs = append([]string{}, s.ids...)
	}
	return p
}

// userScope authorizes a request on the path environment's users: 404 for
// an unknown environment, then the whole environment when the actor holds
// perm over it, else the populations of that environment its
// population-scoped roles reach with perm, else 403. When the path names a
// user outside the scope, it answers 404.
func (a *API) userScope(r *http.Request, perm string) (*store.Environment, *popScope, error) {
	ctx := r.Context()
	env, err := a.pathEnvironment(r)
	if err != nil {
		return nil, nil, err
	}
	assignments := actorFrom(ctx).Assignments
	var scope *popScope
	if !roles.Allowed(assignments, perm, roles.Target{OrgID: env.OrganizationID, EnvID: env.ID}) {
		if scope, err = a.grantedScope(ctx, env, perm); err != nil {
			return nil, nil, err
		}
		if id := r.PathValue("userID"); id != "" {
			u, err := a.Store.GetUser(ctx, env.ID, id)
			if err != nil {
				return nil, nil, err
			}
			if err := scope.reach(u); err != nil {
				return nil, nil, err
			}
		}
	}
	if id := r.PathValue("userID"); id != "" && perm == roles.WriteUser {
		if err := a.mayManageUser(ctx, env, id); err != nil {
			return nil, nil, err
		}
	}
	return env, scope, nil
}

// mayManageUser refuses (403) a write to a user who holds roles — its own
// or its groups' — that the actor could not assign: setting its password,
// linking an account or a device to it, changing its email or username
// would let the actor sign on as it and act with those roles (an Identity
// Data Admin taking over the Environment Admin's account). A user may
// always write itself: it holds its roles already.
func (a *API) mayManageUser(ctx context.Context, env *store.Environment, userID string) error {
	actor := actorFrom(ctx)
	if actor.is(userActor, env.ID, userID) {
		return nil
	}
	held, err := a.userRoles(ctx, env.ID, userID, false)
	if err != nil || len(held) == 0 {
		return err
	}
	view, err := a.assignmentView(ctx, env, actor, held)
	if err != nil {
		return err
	}
	for i := range held {
		if !mayAssign(actor.Assignments, held[i].RoleID, view.target(&held[i])) {
			return wire.Forbidden()
		}
	}
	return nil
}

// grantedScope is the populations of env that the actor's
// population-scoped roles reach with perm; 403 when there are none.
func (a *API) grantedScope(ctx context.Context, env *store.Environment, perm string) (*popScope, error) {
	scope := &popScope{}
	if ids := roles.GrantedPopulations(actorFrom(ctx).Assignments, perm); len(ids) > 0 {
		// Only the populations of this environment count.
		pops, _, err := a.Store.ListPopulations(ctx, env.ID, store.Page{IDs: ids, Limit: len(ids)})
		if err != nil {
			return nil, err
		}
		for _, p := range pops {
			scope.ids = append(scope.ids, p.ID)
		}
	}
	if len(scope.ids) == 0 {
		return nil, wire.Forbidden()
	}
	return scope, nil
}
