package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

var (
	environmentTypes = []string{"PRODUCTION", "SANDBOX"}
	// Regions as PingOne's environment API names them (licenses use
	// NORTH_AMERICA for NA).
	regions      = []string{"NA", "EU", "AP", "CA", "AU", "SG"}
	solutionTyps = []string{"WORKFORCE", "CUSTOMER", "CIAM_TRIAL", "WF_TRIAL"}
	// Products PingOne's bill of materials knows, with its descriptions.
	products = map[string]string{
		"PING_ONE_BASE": "PingOne Base", "PING_ONE_MFA": "PingOne MFA", "PING_ONE_RISK": "PingOne Risk",
		"PING_ONE_PROVISIONING": "PingOne Provisioning", "PING_ONE_VERIFY": "PingOne Verify",
		"PING_ONE_AUTHORIZE": "PingOne Authorize", "PING_ONE_DAVINCI": "PingOne DaVinci",
		"PING_ONE_CREDENTIALS": "PingOne Credentials", "PING_ONE_ID": "PingOne ID",
		"PING_ONE_FRAUD": "PingOne Fraud", "PING_ONE_PROVISIONING_WITH_GROUPS": "PingOne Provisioning with Groups",
		"PING_FEDERATE": "PingFederate", "PING_ACCESS": "PingAccess", "PING_DIRECTORY": "PingDirectory",
		"PING_AUTHORIZE": "PingAuthorize", "PING_CENTRAL": "PingCentral", "PING_INTELLIGENCE": "PingIntelligence",
	}
)

func productTypes() []string {
	out := make([]string, 0, len(products))
	for k := range products {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func (a *API) organizationRoutes(mux router) {
	mux.Handle("GET /v1/organizations", a.handle(a.listOrganizations))
	mux.Handle("GET /v1/organizations/{orgID}", a.handle(a.getOrganization))
	mux.Handle("GET /v1/organizations/{orgID}/licenses", a.handle(a.listLicenses))
	mux.Handle("GET /v1/organizations/{orgID}/licenses/{licenseID}", a.handle(a.getLicense))
}

func (a *API) environmentRoutes(mux router) {
	mux.Handle("GET /v1/environments", a.handle(a.listEnvironments))
	mux.Handle("POST /v1/environments", a.handle(a.createEnvironment))
	mux.Handle("GET /v1/environments/{envID}", a.handle(a.getEnvironment))
	mux.Handle("PUT /v1/environments/{envID}", a.handle(a.updateEnvironment))
	mux.Handle("DELETE /v1/environments/{envID}", a.handle(a.deleteEnvironment))
	mux.Handle("PUT /v1/environments/{envID}/type", a.handle(a.updateEnvironmentType))
	mux.Handle("GET /v1/environments/{envID}/billOfMaterials", a.handle(a.getBillOfMaterials))
	mux.Handle("PUT /v1/environments/{envID}/billOfMaterials", a.handle(a.updateBillOfMaterials))
}

// ---- organizations and licenses

func (a *API) orgLinks(id string) wire.Links {
	return wire.Links{"self": {Href: a.APIPath + "/organizations/" + id}, "licenses": {Href: a.APIPath + "/organizations/" + id + "/licenses"}}
}

func (a *API) renderOrg(o *store.Organization) wire.Organization {
	return wire.Organization{Links: a.orgLinks(o.ID), ID: o.ID, Name: o.Name, Type: o.Type,
		CreatedAt: wire.Time(o.CreatedAt), UpdatedAt: wire.Time(o.UpdatedAt)}
}

func (a *API) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	orgs, err := a.Store.ListOrganizations(r.Context())
	if err != nil {
		return err
	}
	items := []any{}
	for i := range orgs {
		if requireOrg(r, roles.ReadOrganization, orgs[i].ID) == nil {
			items = append(items, a.renderOrg(&orgs[i]))
		}
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/organizations", "organizations", items))
	return nil
}

func (a *API) organization(r *http.Request) (*store.Organization, error) {
	o, err := a.Store.GetOrganization(r.Context(), r.PathValue("orgID"))
	if err != nil {
		return nil, err
	}
	if err := requireOrg(r, roles.ReadOrganization, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func (a *API) getOrganization(w http.ResponseWriter, r *http.Request) error {
	o, err := a.organization(r)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderOrg(o))
	return nil
}

// licenseView is a license with the number of environments that use it.
type licenseView struct {
	*store.License
	environments int
}

// renderLicense shows a license. assignedEnvironmentsCount is always
// there: PingOne's data model lists it as the read-only count of the
// environments a license is assigned to.
func (a *API) renderLicense(v *licenseView) wire.License {
	l := v.License
	n := v.environments
	out := wire.License{
		Links: wire.Links{"self": {Href: a.APIPath + "/organizations/" + l.OrganizationID + "/licenses/" + l.ID},
			"organization": {Href: a.APIPath + "/organizations/" + l.OrganizationID}},
		ID: l.ID, Name: l.Name, Package: l.Package, Status: l.Status, Organization: wire.Ref{ID: l.OrganizationID},
		BeginsAt: wire.Time(l.CreatedAt), AssignedEnvironmentsCount: &n,
	}
	_ = json.Unmarshal(l.Data, &struct {
		Environments *wire.LicenseEnvironments `json:"environments"`
	}{&out.Environments})
	if out.Environments.Regions == nil {
		out.Environments.Regions = []string{}
	}
	return out
}

func (a *API) listLicenses(w http.ResponseWriter, r *http.Request) error {
	o, err := a.organization(r)
	if err != nil {
		return err
	}
	ls, err := a.Store.ListLicenses(r.Context(), o.ID)
	if err != nil {
		return err
	}
	counts, err := a.Store.CountEnvironmentsByLicense(r.Context(), o.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(ls))
	for i := range ls {
		items[i] = a.renderLicense(&licenseView{License: &ls[i], environments: counts[ls[i].ID]})
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/organizations/"+o.ID+"/licenses", "licenses", items))
	return nil
}

func (a *API) getLicense(w http.ResponseWriter, r *http.Request) error {
	o, err := a.organization(r)
	if err != nil {
		return err
	}
	l, err := a.Store.GetLicense(r.Context(), o.ID, r.PathValue("licenseID"))
	if err != nil {
		return err
	}
	counts, err := a.Store.CountEnvironmentsByLicense(r.Context(), o.ID)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderLicense(&licenseView{License: l, environments: counts[l.ID]}))
	return nil
}

// ---- environments

func (a *API) envLinks(e *store.Environment) wire.Links {
	base := a.APIPath + "/environments/" + e.ID
	l := wire.Links{
		"self":         {Href: base},
		"organization": {Href: a.APIPath + "/organizations/" + e.OrganizationID},
		"license":      {Href: a.APIPath + "/organizations/" + e.OrganizationID + "/licenses/" + e.LicenseID},
	}
	for _, sub := range []string{"populations", "users", "applications", "resources", "passwordPolicies", "signOnPolicies", "keys", "billOfMaterials"} {
		l[sub] = wire.Href{Href: base + "/" + sub}
	}
	return l
}

func (a *API) renderEnv(e *config.Environment) wire.Environment {
	d := e.Settings
	return wire.Environment{
		Links: a.envLinks(&e.Environment), ID: e.ID, Name: e.Name, Description: e.Description,
		Organization: wire.Ref{ID: e.OrganizationID}, Type: e.Type, Region: e.Region, License: wire.Ref{ID: e.LicenseID},
		Icon: d.Icon, CreatedAt: wire.Time(e.CreatedAt), UpdatedAt: wire.Time(e.UpdatedAt), BillOfMaterials: bomOf(e),
	}
}

// bomOf is an environment's bill of materials with what PingOne always
// shows of one: products ([] when none) and its times. Every environment
// is made with a bill; one stored without (or without its times) shows
// the environment's.
func bomOf(e *config.Environment) *wire.BillOfMaterials {
	b := wire.BillOfMaterials{Products: []wire.Product{}}
	if e.Settings.BillOfMaterials != nil {
		b = *e.Settings.BillOfMaterials
	}
	if b.Products == nil {
		b.Products = []wire.Product{}
	}
	if b.CreatedAt == nil {
		b.CreatedAt = wire.TimePtr(e.CreatedAt)
	}
	if b.UpdatedAt == nil {
		b.UpdatedAt = wire.TimePtr(e.UpdatedAt)
	}
	return &b
}

func (a *API) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	actor := actorFrom(r.Context())
	org := actor.Claims.Org
	visible := roles.VisibleEnvironments(actor.Assignments, roles.ReadEnvironment, org)
	list, err := pageOf(r, a.APIPath+"/environments", "environments", visible,
		decodedPage(func(p store.Page) ([]store.Environment, int, error) {
			return a.Store.ListEnvironments(r.Context(), org, p)
		}, config.DecodeEnvironment),
		func(e *config.Environment) string { return e.ID },
		func(e *config.Environment) any { return a.renderEnv(e) })
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadEnvironment)
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, a.renderEnv)
}

// validateEnvironment checks a create or replace body; current is nil on
// create.
func (a *API) validateEnvironment(ctx context.Context, orgID string, req *wire.EnvironmentRequest, current *store.Environment) error {
	var details []wire.Detail
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		details = append(details, wire.Required("name"))
	} else if len(*req.Name) > 256 {
		details = append(details, sizeLimit("name", 256))
	}
	if req.Description != nil && len(*req.Description) > 1024 {
		details = append(details, sizeLimit("description", 1024))
	}
	if req.Type == nil {
		details = append(details, wire.Required("type"))
	} else if !oneOf(*req.Type, environmentTypes) {
		details = append(details, wire.OneOf("type", environmentTypes))
	}
	switch {
	case req.Region == nil:
		details = append(details, wire.Required("region"))
	case !oneOf(*req.Region, regions):
		details = append(details, wire.OneOf("region", regions))
	case current != nil && *req.Region != current.Region:
		details = append(details, wire.InvalidValue("region", "The region of an environment cannot be changed."))
	}
	if req.License == nil || req.License.ID == "" {
		details = append(details, wire.Required("license.id"))
	} else if l, err := a.Store.GetLicense(ctx, orgID, req.License.ID); err != nil || l.Status != "ACTIVE" {
		if err != nil && err != store.ErrNotFound {
			return err
		}
		details = append(details, wire.InvalidValue("license.id", "The license does not exist or is not active in this organization."))
	}
	if req.BillOfMaterials != nil {
		details = append(details, validateBOM("billOfMaterials.", req.BillOfMaterials)...)
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	return nil
}

func sizeLimit(target string, max int64) wire.Detail {
	return wire.Detail{Code: wire.DetailSizeLimit, Target: target, Message: "The value is too long.", InnerError: &wire.InnerError{MaximumValue: &max}}
}

func validateBOM(prefix string, b *wire.BillOfMaterials) []wire.Detail {
	var details []wire.Detail
	if b.SolutionType != "" && !oneOf(b.SolutionType, solutionTyps) {
		details = append(details, wire.OneOf(prefix+"solutionType", solutionTyps))
	}
	if len(b.Products) == 0 && b.SolutionType == "" {
		details = append(details, wire.Required(prefix+"products"))
	}
	for i, p := range b.Products {
		if _, ok := products[p.Type]; !ok {
			details = append(details, wire.OneOf(prefix+"products["+itoa(i)+"].type", productTypes()))
		}
	}
	return details
}

// normalizeBOM gives products the ids and descriptions PingOne adds. A
// bill that asks for what prev holds keeps prev's updatedAt: a PUT of what
// a GET returned changes nothing, its time of change included.
func normalizeBOM(b *wire.BillOfMaterials, prev *wire.BillOfMaterials, now time.Time) *wire.BillOfMaterials {
	if b == nil {
		b = &wire.BillOfMaterials{Products: []wire.Product{{Type: "PING_ONE_BASE"}}}
	}
	out := &wire.BillOfMaterials{SolutionType: b.SolutionType, Products: []wire.Product{}}
	prevIDs := map[string]string{}
	created := wire.Time(now)
	if prev != nil {
		for _, p := range prev.Products {
			prevIDs[p.Type] = p.ID
		}
		if prev.CreatedAt != nil {
			created = *prev.CreatedAt
		}
	}
	for _, p := range b.Products {
		p.ID = prevIDs[p.Type]
		if p.ID == "" {
			p.ID = uuid.NewString()
		}
		p.Description = products[p.Type]
		out.Products = append(out.Products, p)
	}
	updated := wire.Time(now)
	if prev != nil && prev.UpdatedAt != nil && prev.SolutionType == out.SolutionType &&
		bytes.Equal(mustJSON(prev.Products), mustJSON(out.Products)) {
		updated = *prev.UpdatedAt
	}
	out.CreatedAt, out.UpdatedAt = &created, &updated
	return out
}

func (a *API) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	org := actorFrom(r.Context()).Claims.Org
	if err := requireOrg(r, roles.CreateEnvironment, org); err != nil {
		return err
	}
	var req wire.EnvironmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := a.validateEnvironment(r.Context(), org, &req, nil); err != nil {
		return err
	}
	now := store.Now()
	env := &store.Environment{
		ID: uuid.NewString(), OrganizationID: org, Name: strings.TrimSpace(*req.Name), Description: str(req.Description),
		Type: *req.Type, Region: *req.Region, LicenseID: req.License.ID, Status: "ACTIVE", CreatedAt: now, UpdatedAt: now,
	}
	env.Data = mustJSON(wire.EnvironmentData{Icon: str(req.Icon), BillOfMaterials: normalizeBOM(req.BillOfMaterials, nil, now)})
	if err := a.provisionEnvironment(r.Context(), env); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, env, config.DecodeEnvironment, a.renderEnv)
}

// provisionEnvironment creates env with PingOne's default contents.
func (a *API) provisionEnvironment(ctx context.Context, env *store.Environment) error {
	key, err := keys.Generate(env.ID, keys.DefaultSigning(), a.Sealer, env.CreatedAt)
	if err != nil {
		return err
	}
	return a.Store.Tx(ctx, func(tx store.Store) error { return provision.NewEnvironment(ctx, tx, env, key) })
}

func (a *API) updateEnvironment(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.UpdateEnvironment)
	if err != nil {
		return err
	}
	var req wire.EnvironmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := a.validateEnvironment(r.Context(), env.OrganizationID, &req, env); err != nil {
		return err
	}
	now := store.Now()
	cur, err := config.DecodeEnvironment(env)
	if err != nil {
		return err
	}
	d := cur.Settings
	if req.BillOfMaterials != nil {
		d.BillOfMaterials = normalizeBOM(req.BillOfMaterials, d.BillOfMaterials, now)
	}
	d.Icon = str(req.Icon)
	env.Name, env.Description, env.Type, env.LicenseID = strings.TrimSpace(*req.Name), str(req.Description), *req.Type, req.License.ID
	env.Data, env.UpdatedAt = mustJSON(d), now
	if err := a.Store.UpdateEnvironment(r.Context(), env); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, a.renderEnv)
}

func (a *API) updateEnvironmentType(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.UpdateEnvironment)
	if err != nil {
		return err
	}
	var req wire.EnvironmentTypeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Type == nil {
		return wire.InvalidData(wire.Required("type"))
	}
	if !oneOf(*req.Type, environmentTypes) {
		return wire.InvalidData(wire.OneOf("type", environmentTypes))
	}
	env.Type, env.UpdatedAt = *req.Type, store.Now()
	if err := a.Store.UpdateEnvironment(r.Context(), env); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, a.renderEnv)
}

func (a *API) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.DeleteEnvironment)
	if err != nil {
		return err
	}
	if env.Type == "PRODUCTION" {
		return wire.RequestFailed("A PRODUCTION environment cannot be deleted. Change its type to SANDBOX first.")
	}
	if env.ID == actorFrom(r.Context()).Claims.Env {
		return wire.RequestFailed("An environment cannot be deleted with a token issued by that same environment.")
	}
	if err := a.Store.DeleteEnvironment(r.Context(), env.ID); err != nil {
		return err
	}
	a.Keys.Invalidate(env.ID)
	wire.NoContent(w)
	return nil
}

func (a *API) renderBOM(env *config.Environment) *wire.BillOfMaterials {
	b := bomOf(env)
	b.Links = wire.Links{"self": {Href: a.APIPath + "/environments/" + env.ID + "/billOfMaterials"},
		"environment": {Href: a.APIPath + "/environments/" + env.ID}}
	return b
}

func (a *API) getBillOfMaterials(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadEnvironment)
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, a.renderBOM)
}

func (a *API) updateBillOfMaterials(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.UpdateEnvironment)
	if err != nil {
		return err
	}
	var req wire.BillOfMaterials
	if err := decode(r, &req); err != nil {
		return err
	}
	if d := validateBOM("", &req); len(d) > 0 {
		return wire.InvalidData(d...)
	}
	now := store.Now()
	cur, err := config.DecodeEnvironment(env)
	if err != nil {
		return err
	}
	d := cur.Settings
	d.BillOfMaterials = normalizeBOM(&req, d.BillOfMaterials, now)
	env.Data, env.UpdatedAt = mustJSON(d), now
	if err := a.Store.UpdateEnvironment(r.Context(), env); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, env, config.DecodeEnvironment, a.renderBOM)
}
