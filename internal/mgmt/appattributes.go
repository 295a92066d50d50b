package mgmt

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mapping"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Application attribute mappings: the claims an OpenID Connect
// application's ID tokens and userinfo carry besides the openid
// resource's. PingOne gives every OpenID Connect application a CORE
// mapping, sub = ${user.id}, that may be remapped (and must stay
// required) but not deleted; the rest are CUSTOM.

// coreSubRemapped refuses a new value for a CORE sub mapping: Gatehouse
// names a token's user by id everywhere (sessions, revocation,
// introspection, userinfo), so a sub mapped to anything else would be
// accepted and then not served.
const coreSubRemapped = "Gatehouse's tokens name the user by id: the value of the CORE sub mapping must be ${user.id}."

const (
	attrMappingCore   = "CORE"
	attrMappingCustom = "CUSTOM"
	coreSubName       = "sub"
	coreSubValue      = "${user.id}"
)

// coreSubNS names the CORE sub mappings' ids: one per application, the
// same on every node, so that two first reads cannot make two.
var coreSubNS = uuid.MustParse("6f1c2f8e-58a4-4b8e-9d36-1f1b7c0b6a11")

func coreSubID(appID string) string { return uuid.NewSHA1(coreSubNS, []byte(appID)).String() }

func (a *API) appAttributeRoutes(mux router) {
	const base = "/v1/environments/{envID}/applications/{appID}/attributes"
	mux.Handle("GET "+base, a.handle(a.listAppAttributes))
	mux.Handle("POST "+base, a.handle(a.createAppAttribute))
	mux.Handle("GET "+base+"/{attrID}", a.handle(a.getAppAttribute))
	mux.Handle("PUT "+base+"/{attrID}", a.handle(a.updateAppAttribute))
	mux.Handle("DELETE "+base+"/{attrID}", a.handle(a.deleteAppAttribute))
}

// renderAppAttribute renders a mapping of app: an OpenID Connect
// application's custom mappings carry their delivery (idToken, userInfo,
// oidcScopes), a SAML application's their nameFormat.
func (a *API) renderAppAttribute(owner *store.Application) func(*store.ApplicationAttribute) wire.ApplicationAttribute {
	return func(x *store.ApplicationAttribute) wire.ApplicationAttribute { return a.renderAppAttributeOf(owner, x) }
}

func (a *API) renderAppAttributeOf(owner *store.Application, x *store.ApplicationAttribute) wire.ApplicationAttribute {
	app := a.appHref(x.EnvironmentID, x.ApplicationID)
	out := wire.ApplicationAttribute{
		Links: wire.Links{"self": {Href: app + "/attributes/" + x.ID}, "application": {Href: app},
			"environment": {Href: a.APIPath + "/environments/" + x.EnvironmentID}},
		ID: x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Application: wire.Ref{ID: x.ApplicationID},
		Name: x.Name, Value: x.Value, Required: x.Required, MappingType: x.MappingType,
		CreatedAt: wire.Time(x.CreatedAt), UpdatedAt: wire.Time(x.UpdatedAt),
	}
	if owner.Protocol == wire.ProtocolSAML {
		out.NameFormat = x.NameFormat
		return out
	}
	if x.MappingType != attrMappingCore {
		idt, ui := x.IDToken, x.UserInfo
		out.IDToken, out.UserInfo, out.OIDCScopes = &idt, &ui, x.OIDCScopes
	}
	return out
}

// coreSub is an OpenID Connect application's CORE sub mapping. It is not
// stored: its name, value and requirement are fixed (a token's subject is
// the user's id throughout Gatehouse), so it is the application's from its
// creation, never written, and reading it costs nothing.
func coreSub(app *store.Application) *store.ApplicationAttribute {
	return &store.ApplicationAttribute{ID: coreSubID(app.ID), EnvironmentID: app.EnvironmentID, ApplicationID: app.ID,
		Name: coreSubName, Value: coreSubValue, MappingType: attrMappingCore, Required: true, IDToken: true, UserInfo: true,
		CreatedAt: app.CreatedAt, UpdatedAt: app.CreatedAt}
}

func isOIDC(app *store.Application) bool { return app.Protocol == "OPENID_CONNECT" }

func (a *API) listAppAttributes(w http.ResponseWriter, r *http.Request) error {
	_, app, err := a.appOf(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	stored, err := a.Store.ListApplicationAttributes(r.Context(), app.EnvironmentID, app.ID)
	if err != nil {
		return err
	}
	// In the store's order (by name, then id), with the CORE sub among
	// them; a CORE row an earlier build stored is the same mapping.
	attrs := stored
	if isOIDC(app) {
		attrs = slices.DeleteFunc(stored, func(x store.ApplicationAttribute) bool { return x.MappingType == attrMappingCore })
		attrs = append(attrs, *coreSub(app))
		slices.SortStableFunc(attrs, func(x, y store.ApplicationAttribute) int {
			return cmp.Or(strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), strings.Compare(x.ID, y.ID))
		})
	}
	wire.Write(w, http.StatusOK, wholeList(a.appHref(app.EnvironmentID, app.ID)+"/attributes", "attributes", renderAll(attrs, a.renderAppAttribute(app))))
	return nil
}

func (a *API) appAttribute(r *http.Request, perm string) (*store.Application, *store.ApplicationAttribute, error) {
	_, app, err := a.appOf(r, perm)
	if err != nil {
		return nil, nil, err
	}
	if id := r.PathValue("attrID"); isOIDC(app) && id == coreSubID(app.ID) {
		return app, coreSub(app), nil
	}
	x, err := a.Store.GetApplicationAttribute(r.Context(), app.EnvironmentID, app.ID, r.PathValue("attrID"))
	if err != nil {
		return nil, nil, err
	}
	return app, x, nil
}

func (a *API) getAppAttribute(w http.ResponseWriter, r *http.Request) error {
	app, x, err := a.appAttribute(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderAppAttributeOf(app, x))
	return nil
}

// applyAppAttribute validates req and writes it over x; current is nil on
// create. The CORE sub mapping takes a new value only: its name stays, it
// stays required, and the OpenID Connect delivery settings do not apply.
func (a *API) applyAppAttribute(ctx context.Context, app *store.Application, req *wire.ApplicationAttributeRequest, x, current *store.ApplicationAttribute) error {
	switch app.Protocol {
	case wire.ProtocolSAML:
		return applySAMLAttribute(req, x, current)
	case "OPENID_CONNECT":
	default:
		return readOnly("Attribute mappings are served for OpenID Connect and SAML applications only.")
	}
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	core := current != nil && current.MappingType == attrMappingCore
	switch lc := strings.ToLower(name); {
	case name == "":
	case core && !strings.EqualFold(name, current.Name):
		details = append(details, wire.InvalidValue("name", "The name of the CORE attribute "+current.Name+" cannot be changed."))
	case core:
		name = current.Name
	case lc != coreSubName && mapping.Reserved(lc): // a second sub is a uniqueness violation
		details = append(details, wire.InvalidValue("name", "The claim name "+name+" is reserved."))
	case !claimNameRE.MatchString(name):
		details = append(details, wire.InvalidValue("name", "A claim name must not contain spaces or control characters."))
	}
	value := ""
	if req.Value != nil {
		value = strings.TrimSpace(*req.Value)
	}
	switch {
	case value == "":
		details = append(details, wire.Required("value"))
	case len(value) > mapping.MaxLength:
		details = append(details, sizeLimit("value", mapping.MaxLength))
	default:
		if d := expressionDetail("value", value); d != nil {
			details = append(details, *d)
		}
	}
	if core && value != "" && value != coreSubValue {
		details = append(details, wire.InvalidValue("value", coreSubRemapped))
	}
	required := core
	if req.Required != nil {
		required = *req.Required
	}
	if core && !required {
		details = append(details, wire.InvalidValue("required", "The CORE attribute "+current.Name+" must be required."))
	}
	if req.NameFormat != nil && *req.NameFormat != "" {
		details = append(details, wire.InvalidValue("nameFormat", "nameFormat applies to SAML applications only."))
	}
	idToken, userInfo := true, true
	var scopes []string
	if !core {
		if req.IDToken != nil {
			idToken = *req.IDToken
		}
		if req.UserInfo != nil {
			userInfo = *req.UserInfo
		}
		if !idToken && !userInfo {
			details = append(details, wire.InvalidValue("idToken", "idToken and userInfo cannot both be false."))
		}
		var err error
		if scopes, details, err = a.checkOIDCScopes(ctx, app, req.OIDCScopes, details); err != nil {
			return err
		}
	}
	// On the CORE mapping idToken, userInfo and oidcScopes do not apply;
	// the SDK may send them back, so they are ignored rather than refused.
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Name, x.Value, x.Required, x.IDToken, x.UserInfo, x.OIDCScopes = name, value, required, idToken, userInfo, scopes
	return nil
}

// checkOIDCScopes checks an attribute's oidcScopes: ids of scopes the
// application may be granted — the openid resource's, or those of its
// resource grants.
func (a *API) checkOIDCScopes(ctx context.Context, app *store.Application, ids []string, details []wire.Detail) ([]string, []wire.Detail, error) {
	if len(ids) == 0 {
		return nil, details, nil
	}
	resources, err := a.Store.ListResources(ctx, app.EnvironmentID)
	if err != nil {
		return nil, nil, err
	}
	openid := map[string]bool{}
	for _, r := range resources {
		if r.Type == resourceOpenID {
			openid[r.ID] = true
		}
	}
	scopes, err := a.Store.ListEnvironmentScopes(ctx, app.EnvironmentID)
	if err != nil {
		return nil, nil, err
	}
	grants, err := a.Store.ListApplicationGrants(ctx, app.EnvironmentID, app.ID)
	if err != nil {
		return nil, nil, err
	}
	allowed := func(id string) bool {
		i := slices.IndexFunc(scopes, func(s store.Scope) bool { return s.ID == id })
		if i < 0 {
			return false
		}
		if openid[scopes[i].ResourceID] {
			return true
		}
		return slices.ContainsFunc(grants, func(g store.ApplicationGrant) bool {
			return g.ResourceID == scopes[i].ResourceID && (g.ScopeIDs == nil || slices.Contains(g.ScopeIDs, id))
		})
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		switch {
		case slices.Contains(out, id):
		case !allowed(id):
			details = append(details, wire.InvalidValue("oidcScopes["+itoa(i)+"]",
				"The scope "+id+" is neither an openid scope nor one granted to the application."))
		default:
			out = append(out, id)
		}
	}
	return out, details, nil
}

func (a *API) createAppAttribute(w http.ResponseWriter, r *http.Request) error {
	_, app, err := a.appOf(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.ApplicationAttribute{ID: uuid.NewString(), EnvironmentID: app.EnvironmentID, ApplicationID: app.ID,
		MappingType: attrMappingCustom, CreatedAt: now, UpdatedAt: now}
	if err := a.applyAppAttribute(r.Context(), app, &req, x, nil); err != nil {
		return err
	}
	if isOIDC(app) && strings.EqualFold(x.Name, coreSubName) {
		// The CORE sub holds the name, as a stored mapping would.
		return &store.UniqueError{Resource: "applicationAttribute", Field: "name"}
	}
	if err := a.Store.CreateApplicationAttribute(r.Context(), x); err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderAppAttributeOf(app, x))
	return nil
}

func (a *API) updateAppAttribute(w http.ResponseWriter, r *http.Request) error {
	app, x, err := a.appAttribute(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	current := *x
	if err := a.applyAppAttribute(r.Context(), app, &req, x, &current); err != nil {
		return err
	}
	if isOIDC(app) && current.MappingType == attrMappingCore {
		// Nothing of the CORE sub can change: a valid PUT is answered as is.
		wire.Write(w, http.StatusOK, a.renderAppAttributeOf(app, coreSub(app)))
		return nil
	}
	if isOIDC(app) && strings.EqualFold(x.Name, coreSubName) {
		return &store.UniqueError{Resource: "applicationAttribute", Field: "name"}
	}
	x.UpdatedAt = store.Now()
	if err := a.Store.UpdateApplicationAttribute(r.Context(), x); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderAppAttributeOf(app, x))
	return nil
}

func (a *API) deleteAppAttribute(w http.ResponseWriter, r *http.Request) error {
	app, x, err := a.appAttribute(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	if x.MappingType == attrMappingCore {
		return readOnly("The CORE attribute " + x.Name + " cannot be deleted; set its value instead.")
	}
	if err := a.Store.DeleteApplicationAttribute(r.Context(), app.EnvironmentID, app.ID, x.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// applySAMLAttribute validates a SAML application's mapping and writes it
// over x; current is nil on create. The CORE saml_subject (the Subject's
// NameID) keeps its name and stays required; its value may change. A
// custom mapping is an Attribute of the assertion: its name is the SAML
// attribute's (a URI is fine), nameFormat its NameFormat. idToken,
// userInfo and oidcScopes do not apply and are ignored, as on the CORE sub.
func applySAMLAttribute(req *wire.ApplicationAttributeRequest, x, current *store.ApplicationAttribute) error {
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	core := current != nil && current.MappingType == attrMappingCore
	switch {
	case name == "":
	case core && !strings.EqualFold(name, current.Name):
		details = append(details, wire.InvalidValue("name", "The name of the CORE attribute "+current.Name+" cannot be changed."))
	case core:
		name = current.Name
	case strings.EqualFold(name, coreSAMLSubjectName):
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "name",
			Message: "saml_subject is the application's CORE mapping: set its value instead."})
	case !claimNameRE.MatchString(name):
		details = append(details, wire.InvalidValue("name", "A SAML attribute name must not contain spaces or control characters."))
	}
	value := ""
	if req.Value != nil {
		value = strings.TrimSpace(*req.Value)
	}
	switch {
	case value == "":
		details = append(details, wire.Required("value"))
	case len(value) > mapping.MaxLength:
		details = append(details, sizeLimit("value", mapping.MaxLength))
	default:
		if d := expressionDetail("value", value); d != nil {
			details = append(details, *d)
		}
	}
	required := core
	if req.Required != nil {
		required = *req.Required
	}
	if core && !required {
		details = append(details, wire.InvalidValue("required", "The CORE attribute "+current.Name+" must be required."))
	}
	// An attribute's format is an attrname-format. The subject's
	// (Terraform's saml_subject_nameformat) is one too as PingOne takes it
	// — its SDK calls nameFormat "a URI reference representing the
	// classification of the attribute", and PingOne's own Terraform test
	// sets attrname-format:uri on saml_subject — or a NameID format. The
	// NameID's Format itself is the application's nameIdFormat.
	formats := samlAttrNameFormats
	if core {
		formats = append(slices.Clone(samlAttrNameFormats), samlNameIDFormats...)
	}
	nameFormat := ""
	if req.NameFormat != nil && *req.NameFormat != "" {
		if !slices.Contains(formats, *req.NameFormat) {
			details = append(details, wire.OneOf("nameFormat", formats))
		}
		nameFormat = *req.NameFormat
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Name, x.Value, x.Required, x.NameFormat = name, value, required, nameFormat
	x.IDToken, x.UserInfo, x.OIDCScopes = false, false, nil
	return nil
}
