package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Resource grants and sign-on policy assignments of an application.

func (a *API) appSubRoutes(mux router) {
	const base = "/v1/environments/{envID}/applications/{appID}"
	mux.Handle("GET "+base+"/grants", a.handle(a.listGrants))
	mux.Handle("POST "+base+"/grants", a.handle(a.createGrant))
	mux.Handle("GET "+base+"/grants/{grantID}", a.handle(a.getGrant))
	mux.Handle("PUT "+base+"/grants/{grantID}", a.handle(a.updateGrant))
	mux.Handle("DELETE "+base+"/grants/{grantID}", a.handle(a.deleteGrant))
	mux.Handle("GET "+base+"/signOnPolicyAssignments", a.handle(a.listSOPAssignments))
	mux.Handle("POST "+base+"/signOnPolicyAssignments", a.handle(a.createSOPAssignment))
	mux.Handle("GET "+base+"/signOnPolicyAssignments/{assignmentID}", a.handle(a.getSOPAssignment))
	mux.Handle("PUT "+base+"/signOnPolicyAssignments/{assignmentID}", a.handle(a.updateSOPAssignment))
	mux.Handle("DELETE "+base+"/signOnPolicyAssignments/{assignmentID}", a.handle(a.deleteSOPAssignment))
}

// appOf authorises perm over the path's environment and loads the path's
// application from it.
func (a *API) appOf(r *http.Request, perm string) (*store.Environment, *store.Application, error) {
	env, err := a.environment(r, perm)
	if err != nil {
		return nil, nil, err
	}
	app, err := a.Store.GetApplication(r.Context(), env.ID, r.PathValue("appID"))
	if err != nil {
		return nil, nil, err
	}
	return env, app, nil
}

// ---- grants

func (a *API) renderGrant(g *store.ApplicationGrant) wire.ApplicationGrant {
	app := a.appHref(g.EnvironmentID, g.ApplicationID)
	scopes := make([]wire.Ref, len(g.ScopeIDs))
	for i, id := range g.ScopeIDs {
		scopes[i] = wire.Ref{ID: id}
	}
	return wire.ApplicationGrant{
		Links: wire.Links{"self": {Href: app + "/grants/" + g.ID}, "application": {Href: app},
			"resource": {Href: a.APIPath + "/environments/" + g.EnvironmentID + "/resources/" + g.ResourceID}},
		ID: g.ID, Environment: wire.Ref{ID: g.EnvironmentID}, Application: wire.Ref{ID: g.ApplicationID},
		Resource: wire.Ref{ID: g.ResourceID}, Scopes: scopes, CreatedAt: wire.Time(g.CreatedAt), UpdatedAt: wire.Time(g.UpdatedAt),
	}
}

// applyGrant validates req against st and writes it over g. The resource
// is fixed once the grant exists (PingOne: read-only after create).
func applyGrant(ctx context.Context, st store.Store, envID string, req *wire.ApplicationGrantRequest, g *store.ApplicationGrant, creating bool) error {
	var details []wire.Detail
	if req.Resource == nil || req.Resource.ID == "" {
		details = append(details, wire.Required("resource.id"))
	}
	if len(req.Scopes) == 0 {
		details = append(details, wire.Required("scopes"))
	}
	for i, s := range req.Scopes {
		if s.ID == "" {
			details = append(details, wire.Required(fmt.Sprintf("scopes[%d].id", i)))
		}
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	resID := req.Resource.ID
	if !creating && resID != g.ResourceID {
		return wire.InvalidData(wire.InvalidValue("resource.id", "The resource of a grant cannot be changed: delete the grant and create another."))
	}
	if uuid.Validate(resID) != nil {
		return wire.InvalidData(wire.InvalidValue("resource.id", "The resource does not exist in this environment."))
	}
	if _, err := st.GetResource(ctx, envID, resID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return wire.InvalidData(wire.InvalidValue("resource.id", "The resource does not exist in this environment."))
		}
		return err
	}
	owned, err := st.ListScopes(ctx, envID, resID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(req.Scopes))
	for _, s := range req.Scopes {
		if slices.Contains(ids, s.ID) {
			continue
		}
		if !slices.ContainsFunc(owned, func(x store.Scope) bool { return x.ID == s.ID }) {
			details = append(details, wire.InvalidValue("scopes", "Scope "+s.ID+" is not a scope of resource "+resID+"."))
		}
		ids = append(ids, s.ID)
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	g.ResourceID, g.ScopeIDs = resID, ids
	return nil
}

func (a *API) listGrants(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	gs, err := a.Store.ListApplicationGrants(r.Context(), env.ID, app.ID)
	if err != nil {
		return err
	}
	items := renderAll(gs, a.renderGrant)
	wire.Write(w, http.StatusOK, wholeList(a.appHref(env.ID, app.ID)+"/grants", "grants", items))
	return nil
}

func (a *API) getGrant(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	g, err := a.Store.GetApplicationGrant(r.Context(), env.ID, app.ID, r.PathValue("grantID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderGrant(g))
	return nil
}

func (a *API) createGrant(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationGrantRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	g := &store.ApplicationGrant{ID: uuid.NewString(), EnvironmentID: env.ID, ApplicationID: app.ID, CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := applyGrant(r.Context(), tx, env.ID, &req, g, true); err != nil {
			return err
		}
		return tx.CreateApplicationGrant(r.Context(), g)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderGrant(g))
	return nil
}

func (a *API) updateGrant(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationGrantRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var g *store.ApplicationGrant
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if g, err = tx.GetApplicationGrant(r.Context(), env.ID, app.ID, r.PathValue("grantID")); err != nil {
			return err
		}
		if err := applyGrant(r.Context(), tx, env.ID, &req, g, false); err != nil {
			return err
		}
		g.UpdatedAt = store.Now()
		return tx.UpdateApplicationGrant(r.Context(), g)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderGrant(g))
	return nil
}

func (a *API) deleteGrant(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteApplicationGrant(r.Context(), env.ID, app.ID, r.PathValue("grantID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- sign-on policy assignments

func (a *API) renderSOPA(x *store.SignOnPolicyAssignment) wire.SignOnPolicyAssignment {
	app := a.appHref(x.EnvironmentID, x.ApplicationID)
	return wire.SignOnPolicyAssignment{
		Links: wire.Links{"self": {Href: app + "/signOnPolicyAssignments/" + x.ID}, "application": {Href: app},
			"signOnPolicy": {Href: a.APIPath + "/environments/" + x.EnvironmentID + "/signOnPolicies/" + x.SignOnPolicyID}},
		ID: x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Application: wire.Ref{ID: x.ApplicationID},
		SignOnPolicy: wire.Ref{ID: x.SignOnPolicyID}, Priority: x.Priority,
	}
}

// applySOPA validates req against st and writes it over x.
func applySOPA(ctx context.Context, st store.Store, envID string, req *wire.SignOnPolicyAssignmentRequest, x *store.SignOnPolicyAssignment) error {
	var details []wire.Detail
	switch {
	case req.Priority == nil:
		details = append(details, wire.Required("priority"))
	case *req.Priority < 1 || *req.Priority > maxDuration:
		lo, hi := int64(1), int64(maxDuration)
		details = append(details, wire.Detail{Code: wire.DetailInvalidValue, Target: "priority",
			Message: "priority must be a whole number from 1.", InnerError: &wire.InnerError{RangeMinimumValue: &lo, RangeMaximumValue: &hi}})
	}
	if req.SignOnPolicy == nil || req.SignOnPolicy.ID == "" {
		details = append(details, wire.Required("signOnPolicy.id"))
	} else if uuid.Validate(req.SignOnPolicy.ID) != nil {
		details = append(details, wire.InvalidValue("signOnPolicy.id", "The sign-on policy does not exist in this environment."))
	} else if _, err := st.GetSignOnPolicy(ctx, envID, req.SignOnPolicy.ID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		details = append(details, wire.InvalidValue("signOnPolicy.id", "The sign-on policy does not exist in this environment."))
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Priority, x.SignOnPolicyID = *req.Priority, req.SignOnPolicy.ID
	return nil
}

func (a *API) listSOPAssignments(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	xs, err := a.Store.ListSignOnPolicyAssignments(r.Context(), env.ID, app.ID)
	if err != nil {
		return err
	}
	items := renderAll(xs, a.renderSOPA)
	wire.Write(w, http.StatusOK, wholeList(a.appHref(env.ID, app.ID)+"/signOnPolicyAssignments", "signOnPolicyAssignments", items))
	return nil
}

func (a *API) getSOPAssignment(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	x, err := a.Store.GetSignOnPolicyAssignment(r.Context(), env.ID, app.ID, r.PathValue("assignmentID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSOPA(x))
	return nil
}

func (a *API) createSOPAssignment(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyAssignmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.SignOnPolicyAssignment{ID: uuid.NewString(), EnvironmentID: env.ID, ApplicationID: app.ID, CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := applySOPA(r.Context(), tx, env.ID, &req, x); err != nil {
			return err
		}
		return tx.CreateSignOnPolicyAssignment(r.Context(), x)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderSOPA(x))
	return nil
}

func (a *API) updateSOPAssignment(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.SignOnPolicyAssignmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var x *store.SignOnPolicyAssignment
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if x, err = tx.GetSignOnPolicyAssignment(r.Context(), env.ID, app.ID, r.PathValue("assignmentID")); err != nil {
			return err
		}
		if err := applySOPA(r.Context(), tx, env.ID, &req, x); err != nil {
			return err
		}
		x.UpdatedAt = store.Now()
		return tx.UpdateSignOnPolicyAssignment(r.Context(), x)
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSOPA(x))
	return nil
}

func (a *API) deleteSOPAssignment(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteSignOnPolicyAssignment(r.Context(), env.ID, app.ID, r.PathValue("assignmentID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
