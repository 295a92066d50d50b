package mgmt

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mapping"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Resources, their scopes and their attribute mappings. The openid and
// PingOne API resources come with every environment and are read-only (a
// PUT of what GET returned is accepted and changes nothing); only CUSTOM
// resources are created, replaced and deleted. Their scopes and attributes
// follow PingOne's rules per resource type (see each handler).

const (
	resourceOpenID  = "OPENID_CONNECT"
	resourcePingOne = "PINGONE_API"
	resourceCustom  = "CUSTOM"

	attrCore       = "CORE"
	attrCustom     = "CUSTOM"
	attrPredefined = "PREDEFINED"

	// PingOne's limits on a resource's access token lifetime.
	minTokenValidity     = 300
	maxTokenValidity     = 2592000
	defaultTokenValidity = 3600
)

var introspectAuthMethods = []string{"CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE"}

var (
	// Custom PingOne API scopes are sub-scopes of the user scopes:
	// p1:read:user:{suffix} and p1:update:user:{suffix}.
	pingOneSubScopeRE = regexp.MustCompile(`^p1:(read|update):user:[A-Za-z0-9_-]+$`)
	// A scope is one RFC 6749 scope-token: printable ASCII without space,
	// double quote or backslash.
	scopeTokenRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	claimNameRE  = regexp.MustCompile(`^[^\s\x00-\x1f]+$`)
)

func (a *API) resourceRoutes(mux router) {
	base := "/v1/environments/{envID}/resources"
	mux.Handle("GET "+base, a.handle(a.listResources))
	mux.Handle("POST "+base, a.handle(a.createResource))
	mux.Handle("GET "+base+"/{resourceID}", a.handle(a.getResource))
	mux.Handle("PUT "+base+"/{resourceID}", a.handle(a.updateResource))
	mux.Handle("DELETE "+base+"/{resourceID}", a.handle(a.deleteResource))

	mux.Handle("GET "+base+"/{resourceID}/scopes", a.handle(a.listScopes))
	mux.Handle("POST "+base+"/{resourceID}/scopes", a.handle(a.createScope))
	mux.Handle("GET "+base+"/{resourceID}/scopes/{scopeID}", a.handle(a.getScope))
	mux.Handle("PUT "+base+"/{resourceID}/scopes/{scopeID}", a.handle(a.updateScope))
	mux.Handle("DELETE "+base+"/{resourceID}/scopes/{scopeID}", a.handle(a.deleteScope))

	mux.Handle("GET "+base+"/{resourceID}/attributes", a.handle(a.listResourceAttributes))
	mux.Handle("POST "+base+"/{resourceID}/attributes", a.handle(a.createResourceAttribute))
	mux.Handle("GET "+base+"/{resourceID}/attributes/{attrID}", a.handle(a.getResourceAttribute))
	mux.Handle("PUT "+base+"/{resourceID}/attributes/{attrID}", a.handle(a.updateResourceAttribute))
	mux.Handle("DELETE "+base+"/{resourceID}/attributes/{attrID}", a.handle(a.deleteResourceAttribute))
}

// ---- shared helpers of the configuration endpoints

// confRange is INVALID_VALUE for a number outside [min, max].
func confRange(target string, min, max int64) wire.Detail {
	return wire.Detail{Code: wire.DetailInvalidValue, Target: target,
		Message:    "The value must be from " + itoa64(min) + " to " + itoa64(max) + ".",
		InnerError: &wire.InnerError{RangeMinimumValue: &min, RangeMaximumValue: &max}}
}

func itoa64(n int64) string { return itoa(int(n)) }

// confName checks a required name: present, not blank, at most max bytes.
func confName(details []wire.Detail, target string, v *string, max int64) []wire.Detail {
	if v == nil || strings.TrimSpace(*v) == "" {
		return append(details, wire.Required(target))
	}
	if int64(len(*v)) > max {
		return append(details, sizeLimit(target, max))
	}
	return details
}

func confDescription(details []wire.Detail, v *string) []wire.Detail {
	if v != nil && len(*v) > 1024 {
		return append(details, sizeLimit("description", 1024))
	}
	return details
}

// readOnly is PingOne's answer to writing what it keeps for itself.
func readOnly(msg string) error { return wire.RequestFailed(msg) }

// ---- resources

func (a *API) resourceHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/resources/" + id
}

func (a *API) renderResource(x *config.Resource) wire.Resource {
	envHref := a.APIPath + "/environments/" + x.EnvironmentID
	self := a.resourceHref(x.EnvironmentID, x.ID)
	d := x.Settings
	if d.IntrospectEndpointAuthMethod == "" {
		d.IntrospectEndpointAuthMethod = "CLIENT_SECRET_BASIC"
	}
	if d.ApplicationPermissionsSettings == nil {
		d.ApplicationPermissionsSettings = &wire.ApplicationPermissionsSettings{}
	}
	validity := x.AccessTokenValiditySeconds
	if validity == 0 {
		validity = defaultTokenValidity
	}
	return wire.Resource{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: envHref}, "scopes": {Href: self + "/scopes"}, "attributes": {Href: self + "/attributes"}},
		ID:    x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Name: x.Name, Description: x.Description, Type: x.Type,
		Audience: x.Audience, AccessTokenValiditySeconds: validity, IntrospectEndpointAuthMethod: d.IntrospectEndpointAuthMethod,
		ApplicationPermissionsSettings: d.ApplicationPermissionsSettings, CreatedAt: wire.Time(x.CreatedAt), UpdatedAt: wire.Time(x.UpdatedAt),
	}
}

func (a *API) listResources(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	rs, err := a.Store.ListResources(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(rs, config.DecodeResource, a.renderResource)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/resources", "resources", items))
	return nil
}

func (a *API) getResource(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetResource(r.Context(), env.ID, r.PathValue("resourceID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, x, config.DecodeResource, a.renderResource)
}

// applyResource validates req and writes it over x (PUT replaces: absent
// optional fields take their defaults). The type is PingOne's to set: a
// create may name CUSTOM, a replace may echo the type back unchanged.
func applyResource(req *wire.ResourceRequest, x *store.Resource) error {
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	details = confDescription(details, req.Description)
	if req.Type != nil && *req.Type != x.Type {
		if x.Type == resourceCustom {
			details = append(details, wire.OneOf("type", []string{resourceCustom}))
		} else {
			details = append(details, wire.InvalidValue("type", "The type of a resource cannot be changed."))
		}
	}
	audience := ""
	if req.Audience != nil {
		audience = strings.TrimSpace(*req.Audience)
	}
	if audience == "" && req.Name != nil {
		audience = strings.TrimSpace(*req.Name)
	}
	if lc := strings.ToLower(audience); strings.Contains(lc, "pingone") || strings.Contains(lc, "pingidentity") {
		details = append(details, wire.InvalidValue("audience", "The audience must not contain \"pingone\" or \"pingidentity\"."))
	} else if strings.Contains(audience, "#") {
		details = append(details, wire.InvalidValue("audience", "The audience must not contain a fragment."))
	} else if len(audience) > 1024 {
		details = append(details, sizeLimit("audience", 1024))
	}
	validity := int64(defaultTokenValidity)
	if req.AccessTokenValiditySeconds != nil {
		validity = *req.AccessTokenValiditySeconds
		if validity < minTokenValidity || validity > maxTokenValidity {
			details = append(details, confRange("accessTokenValiditySeconds", minTokenValidity, maxTokenValidity))
		}
	}
	d := wire.ResourceData{IntrospectEndpointAuthMethod: "CLIENT_SECRET_BASIC", ApplicationPermissionsSettings: &wire.ApplicationPermissionsSettings{}}
	if req.IntrospectEndpointAuthMethod != nil {
		if !oneOf(*req.IntrospectEndpointAuthMethod, introspectAuthMethods) {
			details = append(details, wire.OneOf("introspectEndpointAuthMethod", introspectAuthMethods))
		}
		d.IntrospectEndpointAuthMethod = *req.IntrospectEndpointAuthMethod
	}
	if p := req.ApplicationPermissionsSettings; p != nil && p.ClaimEnabled != nil {
		d.ApplicationPermissionsSettings.ClaimEnabled = *p.ClaimEnabled
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Name, x.Description, x.Audience = strings.TrimSpace(*req.Name), str(req.Description), audience
	x.AccessTokenValiditySeconds, x.Data = int(validity), mustJSON(d)
	return nil
}

func (a *API) createResource(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ResourceRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.Resource{ID: uuid.NewString(), EnvironmentID: env.ID, Type: resourceCustom, CreatedAt: now, UpdatedAt: now}
	if err := applyResource(&req, x); err != nil {
		return err
	}
	// A custom resource's tokens always carry sub: PingOne makes the CORE
	// mapping with the resource.
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.CreateResource(r.Context(), x); err != nil {
			return err
		}
		return tx.CreateResourceAttribute(r.Context(), &provision.DefaultResourceAttributes(x, now)[0])
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, x, config.DecodeResource, a.renderResource)
}

func (a *API) updateResource(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ResourceRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	x, err := a.Store.GetResource(r.Context(), env.ID, r.PathValue("resourceID"))
	if err != nil {
		return err
	}
	if x.Type != resourceCustom {
		cur, err := config.DecodeResource(x)
		if err != nil {
			return err
		}
		// A PUT of what GET returned is accepted and changes nothing, as
		// PingOne's clients write back what they read; any change is
		// refused.
		if !a.sameResource(&req, cur) {
			return readOnly("The " + x.Name + " resource is built in and cannot be changed.")
		}
		wire.Write(w, http.StatusOK, a.renderResource(cur))
		return nil
	}
	if err := applyResource(&req, x); err != nil {
		return err
	}
	x.UpdatedAt = store.Now()
	if err := a.Store.UpdateResource(r.Context(), x); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, x, config.DecodeResource, a.renderResource)
}

// sameResource reports whether req, a PUT body, holds what x reads as:
// its name, description and type, and the settings it sends as they are.
func (a *API) sameResource(req *wire.ResourceRequest, x *config.Resource) bool {
	cur := a.renderResource(x)
	same := func(p *string, v string) bool { return p == nil || *p == v }
	ok := req.Name != nil && strings.TrimSpace(*req.Name) == cur.Name && str(req.Description) == cur.Description &&
		same(req.Type, cur.Type) && same(req.Audience, cur.Audience) &&
		same(req.IntrospectEndpointAuthMethod, cur.IntrospectEndpointAuthMethod) &&
		(req.AccessTokenValiditySeconds == nil || *req.AccessTokenValiditySeconds == int64(cur.AccessTokenValiditySeconds))
	if p := req.ApplicationPermissionsSettings; ok && p != nil && p.ClaimEnabled != nil {
		ok = *p.ClaimEnabled == cur.ApplicationPermissionsSettings.ClaimEnabled
	}
	return ok
}

func (a *API) deleteResource(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetResource(r.Context(), env.ID, r.PathValue("resourceID"))
	if err != nil {
		return err
	}
	if x.Type != resourceCustom {
		return readOnly("The " + x.Name + " resource is built in and cannot be deleted.")
	}
	if err := a.Store.DeleteResource(r.Context(), env.ID, x.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// resourceIn loads the resource named in the path, after the permission check.
func (a *API) resourceIn(r *http.Request, perm string) (*store.Resource, error) {
	env, err := a.environment(r, perm)
	if err != nil {
		return nil, err
	}
	return a.Store.GetResource(r.Context(), env.ID, r.PathValue("resourceID"))
}

// ---- scopes

// predefinedScope reports whether name is one of the scopes PingOne puts in
// the resource; those cannot be deleted or renamed.
func predefinedScope(res *store.Resource, name string) bool {
	var list []struct{ Name, Description string }
	switch res.Type {
	case resourceOpenID:
		list = provision.OpenIDScopes
	case resourcePingOne:
		list = provision.PingOneScopes
	}
	for _, s := range list {
		if s.Name == name {
			return true
		}
	}
	return false
}

// fixedScope reports whether name is a predefined PingOne API scope that
// takes no changes at all (the user scopes take schema attributes).
func fixedScope(res *store.Resource, name string) bool {
	return res.Type == resourcePingOne && predefinedScope(res, name) && !userScope(name)
}

// userScope is a PingOne API scope whose schemaAttributes limit the user
// attributes it reads or updates.
func userScope(name string) bool {
	return name == "p1:read:user" || name == "p1:update:user" || pingOneSubScopeRE.MatchString(name)
}

func (a *API) renderScope(s *config.Scope) wire.Scope {
	resHref := a.resourceHref(s.EnvironmentID, s.ResourceID)
	d := s.Settings
	if len(d.SchemaAttributes) == 0 && (s.Name == "p1:read:user" || s.Name == "p1:update:user") {
		// The predefined user scopes reach every attribute until limited.
		d.SchemaAttributes = []string{"*"}
	}
	return wire.Scope{
		Links: wire.Links{"self": {Href: resHref + "/scopes/" + s.ID}, "environment": {Href: a.APIPath + "/environments/" + s.EnvironmentID},
			"resource": {Href: resHref}},
		ID: s.ID, Environment: wire.Ref{ID: s.EnvironmentID}, Resource: wire.Ref{ID: s.ResourceID}, Name: s.Name, Description: s.Description,
		SchemaAttributes: d.SchemaAttributes, MappedClaims: d.MappedClaims, CreatedAt: wire.Time(s.CreatedAt), UpdatedAt: wire.Time(s.UpdatedAt),
	}
}

func (a *API) listScopes(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ss, err := a.Store.ListScopes(r.Context(), res.EnvironmentID, res.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(ss, config.DecodeScope, a.renderScope)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.resourceHref(res.EnvironmentID, res.ID)+"/scopes", "scopes", items))
	return nil
}

func (a *API) getScope(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	s, err := a.Store.GetScope(r.Context(), res.EnvironmentID, res.ID, r.PathValue("scopeID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, s, config.DecodeScope, a.renderScope)
}

// applyScope validates req for res and writes it over s; current is nil on
// create. Predefined scopes keep their name: openid's take a description
// and mapped claims, the PingOne API user scopes take schema attributes.
func (a *API) applyScope(ctx context.Context, st store.Store, res *store.Resource, req *wire.ScopeRequest, s *store.Scope, current *store.Scope) error {
	if current != nil && fixedScope(res, current.Name) {
		// What GET returned may be PUT back: it changes nothing.
		if !sameBuiltinScope(req, current) {
			return readOnly("The scope " + current.Name + " of the PingOne API is built in and cannot be changed.")
		}
		*s = *current
		return nil
	}
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	details = confDescription(details, req.Description)
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	predefined := current != nil && predefinedScope(res, current.Name)
	switch {
	case name == "":
	case predefined && name != current.Name:
		details = append(details, wire.InvalidValue("name", "The name of a predefined scope cannot be changed."))
	case predefined:
	case res.Type == resourcePingOne && !pingOneSubScopeRE.MatchString(name):
		details = append(details, wire.Detail{Code: wire.DetailInvalidValue, Target: "name",
			Message:    "A PingOne API scope must be named p1:read:user:{suffix} or p1:update:user:{suffix}.",
			InnerError: &wire.InnerError{AllowedPattern: pingOneSubScopeRE.String()}})
	case !scopeTokenRE.MatchString(name):
		details = append(details, wire.Detail{Code: wire.DetailInvalidValue, Target: "name",
			Message:    "A scope name is printable ASCII without spaces, double quotes or backslashes.",
			InnerError: &wire.InnerError{AllowedPattern: scopeTokenRE.String()}})
	}
	description := str(req.Description)
	if predefined && res.Type == resourcePingOne {
		// PingOne keeps its own words for its scopes.
		if req.Description != nil && *req.Description != current.Description {
			details = append(details, wire.InvalidValue("description", "The description of a predefined scope cannot be changed."))
		}
		description = current.Description
	}
	var d wire.ScopeData
	if req.SchemaAttributes != nil {
		if res.Type != resourcePingOne || !userScope(name) {
			details = append(details, wire.InvalidValue("schemaAttributes", "Only the PingOne API's user scopes take schema attributes."))
		} else {
			for i, at := range req.SchemaAttributes {
				if strings.TrimSpace(at) == "" {
					details = append(details, wire.InvalidValue("schemaAttributes["+itoa(i)+"]", "A schema attribute path must not be empty."))
				}
			}
			if slices.Contains(req.SchemaAttributes, "*") && len(req.SchemaAttributes) > 1 {
				details = append(details, wire.InvalidValue("schemaAttributes", "The wildcard * cannot be combined with other attributes."))
			}
			d.SchemaAttributes = req.SchemaAttributes
		}
	}
	if req.MappedClaims != nil {
		if res.Type != resourceOpenID {
			details = append(details, wire.InvalidValue("mappedClaims", "Only the openid resource's scopes map claims."))
		} else if len(req.MappedClaims) > 0 {
			attrs, err := st.ListResourceAttributes(ctx, res.EnvironmentID, res.ID)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for i, id := range req.MappedClaims {
				if !slices.ContainsFunc(attrs, func(x store.ResourceAttribute) bool { return x.ID == id }) {
					details = append(details, wire.InvalidValue("mappedClaims["+itoa(i)+"]", "The attribute does not exist in the openid resource."))
				} else if !seen[id] {
					seen[id] = true
					d.MappedClaims = append(d.MappedClaims, id)
				}
			}
		}
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	s.Name, s.Description, s.Data = name, description, mustJSON(d)
	return nil
}

// sameBuiltinScope reports whether req, a PUT body, holds what a built-in
// PingOne API scope reads as: its name and description, and no schema
// attributes or mapped claims.
func sameBuiltinScope(req *wire.ScopeRequest, cur *store.Scope) bool {
	return req.Name != nil && strings.TrimSpace(*req.Name) == cur.Name &&
		(req.Description == nil || *req.Description == cur.Description) &&
		len(req.SchemaAttributes) == 0 && len(req.MappedClaims) == 0
}

func (a *API) createScope(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ScopeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	s := &store.Scope{ID: uuid.NewString(), EnvironmentID: res.EnvironmentID, ResourceID: res.ID, CreatedAt: now, UpdatedAt: now}
	if err := a.applyScope(r.Context(), a.Store, res, &req, s, nil); err != nil {
		return err
	}
	if err := a.Store.CreateScope(r.Context(), s); err != nil {
		return err
	}
	return writeDecoded(w, http.StatusCreated, s, config.DecodeScope, a.renderScope)
}

func (a *API) updateScope(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ScopeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var s *store.Scope
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if s, err = tx.GetScope(r.Context(), res.EnvironmentID, res.ID, r.PathValue("scopeID")); err != nil {
			return err
		}
		current := *s
		if err := a.applyScope(r.Context(), tx, res, &req, s, &current); err != nil {
			return err
		}
		if fixedScope(res, current.Name) {
			return nil // an identical PUT: nothing to write
		}
		s.UpdatedAt = store.Now()
		return tx.UpdateScope(r.Context(), s)
	})
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, s, config.DecodeScope, a.renderScope)
}

func (a *API) deleteScope(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	s, err := a.Store.GetScope(r.Context(), res.EnvironmentID, res.ID, r.PathValue("scopeID"))
	if err != nil {
		return err
	}
	if predefinedScope(res, s.Name) {
		return readOnly("The scope " + s.Name + " is built in and cannot be deleted.")
	}
	if err := a.Store.DeleteScope(r.Context(), res.EnvironmentID, res.ID, s.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- resource attributes

func (a *API) renderResourceAttribute(res *store.Resource, x *store.ResourceAttribute) wire.ResourceAttribute {
	resHref := a.resourceHref(x.EnvironmentID, x.ResourceID)
	out := wire.ResourceAttribute{
		Links: wire.Links{"self": {Href: resHref + "/attributes/" + x.ID}, "environment": {Href: a.APIPath + "/environments/" + x.EnvironmentID},
			"resource": {Href: resHref}},
		ID: x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Resource: wire.Ref{ID: x.ResourceID}, Name: x.Name, Value: x.Value, Type: x.Type,
		CreatedAt: wire.Time(x.CreatedAt), UpdatedAt: wire.Time(x.UpdatedAt),
	}
	if res.Type == resourceOpenID {
		// ID token and userinfo delivery exist for the openid resource only.
		idt, ui := x.IDToken, x.UserInfo
		out.IDToken, out.UserInfo = &idt, &ui
	}
	return out
}

func (a *API) listResourceAttributes(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	attrs, err := a.Store.ListResourceAttributes(r.Context(), res.EnvironmentID, res.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(attrs))
	for i := range attrs {
		items[i] = a.renderResourceAttribute(res, &attrs[i])
	}
	wire.Write(w, http.StatusOK, wholeList(a.resourceHref(res.EnvironmentID, res.ID)+"/attributes", "attributes", items))
	return nil
}

// resourceAttribute loads the attribute named in the path.
func (a *API) resourceAttribute(r *http.Request, perm string) (*store.Resource, *store.ResourceAttribute, error) {
	res, err := a.resourceIn(r, perm)
	if err != nil {
		return nil, nil, err
	}
	x, err := a.Store.GetResourceAttribute(r.Context(), res.EnvironmentID, res.ID, r.PathValue("attrID"))
	if err != nil {
		return nil, nil, err
	}
	return res, x, nil
}

func (a *API) getResourceAttribute(w http.ResponseWriter, r *http.Request) error {
	res, x, err := a.resourceAttribute(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderResourceAttribute(res, x))
	return nil
}

// expressionDetail checks a mapping's value when it is configured: a
// literal, or text whose ${…} expressions the mapping engine compiles. An
// expression Gatehouse cannot evaluate is refused here, never dropped
// silently from tokens later. nil when the value is good.
func expressionDetail(target, v string) *wire.Detail {
	if _, err := mapping.Compile(v); err != nil {
		d := wire.InvalidValue(target, "The value is not a valid expression: "+err.Error())
		return &d
	}
	return nil
}

// applyResourceAttribute validates req and writes it over x; current is
// nil on create. CORE and PREDEFINED mappings keep their name; a
// PREDEFINED one may map to nothing (an empty value).
func applyResourceAttribute(res *store.Resource, req *wire.ResourceAttributeRequest, x *store.ResourceAttribute, current *store.ResourceAttribute) error {
	if res.Type == resourcePingOne {
		return readOnly("The PingOne API resource has no attribute mappings.")
	}
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	builtIn := current != nil && current.Type != attrCustom
	switch lc := strings.ToLower(name); {
	case name == "":
	case builtIn && name != current.Name:
		details = append(details, wire.InvalidValue("name", "The name of a "+current.Type+" attribute cannot be changed."))
	case builtIn:
	case mapping.Reserved(lc):
		details = append(details, wire.InvalidValue("name", "The claim name "+name+" is reserved."))
	case !claimNameRE.MatchString(name):
		details = append(details, wire.InvalidValue("name", "A claim name must not contain spaces or control characters."))
	}
	value := ""
	if req.Value != nil {
		value = strings.TrimSpace(*req.Value)
	}
	switch {
	case value == "" && !(builtIn && current.Type == attrPredefined):
		details = append(details, wire.Required("value"))
	case len(value) > mapping.MaxLength:
		details = append(details, sizeLimit("value", mapping.MaxLength))
	default:
		if d := expressionDetail("value", value); d != nil {
			details = append(details, *d)
		}
	}
	if builtIn && current.Type == attrCore && current.Name == coreSubName && value != "" && value != coreSubValue {
		details = append(details, wire.InvalidValue("value", coreSubRemapped))
	}
	idToken, userInfo := true, true
	if res.Type == resourceOpenID {
		if req.IDToken != nil {
			idToken = *req.IDToken
		}
		if req.UserInfo != nil {
			userInfo = *req.UserInfo
		}
		if !idToken && !userInfo {
			details = append(details, wire.InvalidValue("idToken", "idToken and userInfo cannot both be false."))
		}
	}
	// Elsewhere idToken and userInfo do not apply; as the SDK may send
	// them, they are ignored rather than refused.
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Name, x.Value, x.IDToken, x.UserInfo = name, value, idToken, userInfo
	return nil
}

func (a *API) createResourceAttribute(w http.ResponseWriter, r *http.Request) error {
	res, err := a.resourceIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ResourceAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.ResourceAttribute{ID: uuid.NewString(), EnvironmentID: res.EnvironmentID, ResourceID: res.ID, Type: attrCustom, CreatedAt: now, UpdatedAt: now}
	if err := applyResourceAttribute(res, &req, x, nil); err != nil {
		return err
	}
	if err := a.Store.CreateResourceAttribute(r.Context(), x); err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderResourceAttribute(res, x))
	return nil
}

func (a *API) updateResourceAttribute(w http.ResponseWriter, r *http.Request) error {
	res, x, err := a.resourceAttribute(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.ResourceAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	current := *x
	if err := applyResourceAttribute(res, &req, x, &current); err != nil {
		return err
	}
	x.UpdatedAt = store.Now()
	if err := a.Store.UpdateResourceAttribute(r.Context(), x); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderResourceAttribute(res, x))
	return nil
}

func (a *API) deleteResourceAttribute(w http.ResponseWriter, r *http.Request) error {
	res, x, err := a.resourceAttribute(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	if x.Type != attrCustom {
		return readOnly("The " + x.Type + " attribute " + x.Name + " cannot be deleted; set its value instead.")
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if res.Type == resourceOpenID {
			// A scope that maps the claim would point at nothing.
			scopes, err := tx.ListScopes(r.Context(), res.EnvironmentID, res.ID)
			if err != nil {
				return err
			}
			decoded, err := config.DecodeAll(scopes, config.DecodeScope)
			if err != nil {
				return err
			}
			for _, s := range decoded {
				if slices.Contains(s.Settings.MappedClaims, x.ID) {
					return wire.RequestFailed("The attribute is mapped by the scope " + s.Name + "; remove it from the scope's mappedClaims first.")
				}
			}
		}
		return tx.DeleteResourceAttribute(r.Context(), res.EnvironmentID, res.ID, x.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// configRoutes registers an environment's configuration: resources,
// password policies, sign-on policies and keys.
func (a *API) configRoutes(mux router) {
	a.resourceRoutes(mux)
	a.passwordPolicyRoutes(mux)
	a.signOnPolicyRoutes(mux)
	a.keyRoutes(mux)
}
