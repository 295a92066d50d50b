package mgmt

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Audit activities (PingOne's Audit Activities API): read one, or a time
// range of them newest first, filtered with PingOne's SCIM filters, in the
// URL (GET) or, to keep personal data out of URLs and logs, in the body
// (POST). The store checks the filter: a time range is required, and only
// PingOne's attributes with eq are taken.

func (a *API) activityRoutes(mux router) {
	base := "/v1/environments/{envID}/activities"
	mux.Handle("GET "+base, a.handle(a.listActivities))
	mux.Handle("POST "+base, a.handle(a.searchActivities))
	mux.Handle("GET "+base+"/{activityID}", a.handle(a.getActivity))
}

func (a *API) getActivity(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadActivity)
	if err != nil {
		return err
	}
	act, err := a.Store.GetActivity(r.Context(), env.ID, r.PathValue("activityID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderActivity(act))
	return nil
}

func (a *API) listActivities(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadActivity)
	if err != nil {
		return err
	}
	return a.activityPage(w, r, env, r.URL.Query())
}

// searchActivities is the POST form: the body's filter, limit and cursor
// are read as the GET form's query parameters. Its next link is the GET
// form's, with the filter in it.
func (a *API) searchActivities(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadActivity)
	if err != nil {
		return err
	}
	var body wire.ActivitiesRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	q := url.Values{}
	if body.Filter != "" {
		q.Set("filter", body.Filter)
	}
	if body.Limit != nil {
		q.Set("limit", strconv.Itoa(*body.Limit))
	}
	if body.Cursor != "" {
		q.Set("cursor", body.Cursor)
	}
	return a.activityPage(w, r, env, q)
}

func (a *API) activityPage(w http.ResponseWriter, r *http.Request, env *store.Environment, q url.Values) error {
	p, err := listParams(q)
	if err != nil {
		return err
	}
	if p.After != "" {
		if _, _, ok := store.ParseActivityCursor(p.After); !ok {
			return wire.InvalidRequest(wire.InvalidValue("cursor", "The cursor is not valid."))
		}
	}
	if f := q.Get("filter"); f != "" {
		if p.Filter, err = scim.Parse(f); err != nil {
			return err
		}
	}
	limit := p.Limit
	p.Limit = limit + 1
	items, err := a.Store.ListActivities(r.Context(), env.ID, p)
	if err != nil {
		return err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	base := a.APIPath + "/environments/" + env.ID + "/activities"
	links := wire.Links{"self": {Href: wire.SelfHref(base, q)}}
	if more {
		links["next"] = wire.Href{Href: wire.NextHref(base, q, store.ActivityCursor(&items[len(items)-1]))}
	}
	out := make([]any, len(items))
	for i := range items {
		out[i] = a.renderActivity(&items[i])
	}
	// No total: counting a time range would read all of it. count and
	// size are the page's.
	wire.Write(w, http.StatusOK, wire.List{Links: links, Embedded: map[string]any{"activities": out}, Count: len(out), Size: len(out)})
	return nil
}

// activityPaths are the API collections of the resource types an
// activity names, for their hrefs.
var activityPaths = map[string]string{
	"USER": "users", "APPLICATION": "applications", "POPULATION": "populations", "GROUP": "groups",
	"IDENTITY_PROVIDER": "identityProviders", "RESOURCE": "resources", "SIGN_ON_POLICY": "signOnPolicies",
	"PASSWORD_POLICY": "passwordPolicies", "AGREEMENT": "agreements", "SUBSCRIPTION": "subscriptions",
}

func (a *API) activityHref(typ, envID, id string) string {
	if typ == "ENVIRONMENT" {
		return a.APIPath + "/environments/" + id
	}
	if seg, ok := activityPaths[typ]; ok && envID != "" && id != "" {
		return a.APIPath + "/environments/" + envID + "/" + seg + "/" + id
	}
	return ""
}

func refOrNil(id string) *wire.Ref {
	if id == "" {
		return nil
	}
	return &wire.Ref{ID: id}
}

func (a *API) renderActor(x *store.ActivityActor, typ, path string) *wire.ActivityActor {
	if x == nil {
		return nil
	}
	t := x.Type
	if t == "" {
		t = typ
	}
	return &wire.ActivityActor{ID: x.ID, Name: x.Name, Type: t, Environment: refOrNil(x.EnvironmentID), Population: refOrNil(x.PopulationID),
		Href: a.activityHref(path, x.EnvironmentID, x.ID)}
}

func (a *API) renderActivity(x *store.Activity) wire.Activity {
	res := make([]wire.ActivityResource, len(x.Resources))
	for i, r := range x.Resources {
		res[i] = wire.ActivityResource{Type: r.Type, ID: r.ID, Name: r.Name, Environment: refOrNil(r.EnvironmentID),
			Population: refOrNil(r.PopulationID), Href: a.activityHref(r.Type, r.EnvironmentID, r.ID)}
	}
	return wire.Activity{
		Links: wire.Links{"self": {Href: a.APIPath + "/environments/" + x.EnvironmentID + "/activities/" + x.ID}},
		ID:    x.ID, RecordedAt: wire.Time(x.RecordedAt), CreatedAt: wire.Time(x.RecordedAt), CorrelationID: x.CorrelationID,
		Actors:    wire.ActivityActors{Client: a.renderActor(x.Client, "CLIENT", "APPLICATION"), User: a.renderActor(x.User, "USER", "USER")},
		Action:    wire.ActivityAction{Type: x.ActionType, Description: x.ActionDescription},
		Resources: res, Result: wire.ActivityResult{Status: x.ResultStatus, Description: x.ResultDescription},
		Tags: x.Tags, Extra: x.Details,
	}
}
