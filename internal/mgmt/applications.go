package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Gatehouse serves OIDC and SAML applications (SAML ones in
// applications_saml.go). WS-Federation and external-link applications are
// refused with INVALID_VALUE naming the protocols allowed; PingOne's own
// system applications (PING_ONE_PORTAL…) cannot be created through the API
// in PingOne either.
var (
	appProtocols            = []string{"OPENID_CONNECT", wire.ProtocolSAML}
	unsupportedAppProtocols = []string{"WS_FED", "EXTERNAL_LINK"}
	appTypes                = []string{"WEB_APP", "NATIVE_APP", "SINGLE_PAGE_APP", "WORKER", "SERVICE", "CUSTOM_APP"}
	appGrantTypes           = []string{"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "DEVICE_CODE", "TOKEN_EXCHANGE", "CIBA"}
	appResponseTypes        = []string{"CODE", "TOKEN", "ID_TOKEN"}
	appAuthMethods          = []string{"NONE", "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "CLIENT_SECRET_JWT", "PRIVATE_KEY_JWT"}
	confidentialMethods     = []string{"CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "CLIENT_SECRET_JWT", "PRIVATE_KEY_JWT"}
	pkceModes               = []string{"OPTIONAL", "REQUIRED", "S256_REQUIRED"}
	parModes                = []string{"OPTIONAL", "REQUIRED"}
	corsBehaviors           = []string{"ALLOW_NO_ORIGINS", "ALLOW_SPECIFIC_ORIGINS"}
	accessControlGroupTypes = []string{"ANY_GROUP", "ALL_GROUPS"}

	// appTypeGrants is which grant types each application type may hold.
	// (?) PingOne documents the defaults per type (WORKER client_credentials,
	// WEB_APP authorization_code, SINGLE_PAGE_APP implicit, NATIVE_APP
	// authorization_code + implicit) and that device authorization is for
	// native and custom applications; the rest of the matrix is our reading
	// of its admin console: public browser apps never get client_credentials,
	// workers only the grants an administrator's tool needs.
	appTypeGrants = map[string][]string{
		"WEB_APP":         {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "TOKEN_EXCHANGE", "CIBA"},
		"NATIVE_APP":      {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "DEVICE_CODE", "TOKEN_EXCHANGE", "CIBA"},
		"SINGLE_PAGE_APP": {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"},
		"WORKER":          {"CLIENT_CREDENTIALS", "AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"},
		"SERVICE":         {"CLIENT_CREDENTIALS", "AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "TOKEN_EXCHANGE"},
		"CUSTOM_APP":      appGrantTypes,
	}
	// publicAppTypes may be public clients (tokenEndpointAuthMethod NONE):
	// they cannot keep a secret. A single-page app can only be one.
	publicAppTypes = []string{"NATIVE_APP", "SINGLE_PAGE_APP", "CUSTOM_APP"}
	// refreshableGrants are the grants that issue refresh tokens.
	refreshableGrants = []string{"AUTHORIZATION_CODE", "DEVICE_CODE"}
	// devicePathId is PingOne's short name of an application in its device
	// verification URI: /{envId}/device/{devicePathId}.
	devicePathID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,50}$`)
)

// PingOne's defaults and ranges for OIDC applications.
const (
	defaultRefreshTokenDuration        = 2592000  // 30 days
	defaultRefreshTokenRollingDuration = 15552000 // 180 days
	maxDuration                        = 2147483647
	maxPreviousSecretLifetime          = 30 * 24 * time.Hour
	maxURILength                       = 2048
)

// defaultMobile is what PingOne gives every NATIVE_APP (its example
// response shows it on a create that did not send any).
var defaultMobile = json.RawMessage(`{"integrityDetection":{"mode":"DISABLED"},"passcodeRefreshDuration":{"duration":30,"timeUnit":"SECONDS"},"passcodeGracePeriod":5}`)

// mobileDefaults are defaultMobile's members one by one: a NATIVE_APP's
// mobile settings that lack one of them read with PingOne's value.
var mobileDefaults = []struct {
	name  string
	value json.RawMessage
}{
	{"integrityDetection", json.RawMessage(`{"mode":"DISABLED"}`)},
	{"passcodeRefreshDuration", json.RawMessage(`{"duration":30,"timeUnit":"SECONDS"}`)},
	{"passcodeGracePeriod", json.RawMessage(`5`)},
}

// applicationRoutes registers applications and everything under them,
// and the built-in roles.
func (a *API) applicationRoutes(mux router) {
	const base = "/v1/environments/{envID}/applications"
	mux.Handle("GET "+base, a.handle(a.listApplications))
	mux.Handle("POST "+base, a.handle(a.createApplication))
	mux.Handle("GET "+base+"/{appID}", a.handle(a.getApplication))
	mux.Handle("PUT "+base+"/{appID}", a.handle(a.updateApplication))
	mux.Handle("DELETE "+base+"/{appID}", a.handle(a.deleteApplication))
	mux.Handle("GET "+base+"/{appID}/secret", a.handle(a.getApplicationSecret))
	mux.Handle("POST "+base+"/{appID}/secret", a.handle(a.rotateApplicationSecret))
	mux.Handle("DELETE "+base+"/{appID}/secret", a.handle(a.deletePreviousSecret))
	a.appSubRoutes(mux)
	a.appAttributeRoutes(mux)
	a.roleRoutes(mux)
	a.roleAssignmentRoutes(mux, applicationActor)
}

func (a *API) appHref(envID, appID string) string {
	return a.APIPath + "/environments/" + envID + "/applications/" + appID
}

// appData is an application's long tail with PingOne's defaults filled
// in, so rows written before a field existed (the bootstrap admin's) read
// like new ones. The defaults are what the runtime assumes when a field is
// absent (PKCE optional, refresh-token replay protection on), so a PUT of
// what GET returned stores what the runtime already did.
func appData(typ string, d wire.ApplicationData) wire.ApplicationData {
	if d.GrantTypes == nil {
		d.GrantTypes = []string{}
	}
	if typ == "NATIVE_APP" {
		d.Mobile = withMobileDefaults(d.Mobile)
	}
	refreshDefaults(&d)
	if d.PkceEnforcement == "" {
		d.PkceEnforcement = "OPTIONAL"
	}
	if d.ParRequirement == "" {
		d.ParRequirement = "OPTIONAL"
	}
	if d.ParTimeout == 0 {
		d.ParTimeout = 60
	}
	if d.DeviceTimeout == 0 {
		d.DeviceTimeout = 600
	}
	if d.DevicePollingInterval == 0 {
		d.DevicePollingInterval = 5
	}
	if d.AdditionalRefreshTokenReplayProtectionEnabled == nil {
		t := true
		d.AdditionalRefreshTokenReplayProtectionEnabled = &t
	}
	return d
}

// renderApp renders an application by its protocol: PingOne's SDK picks
// the model (ApplicationOIDC, ApplicationSAML) by protocol.
func (a *API) renderApp(app *config.Application) any {
	if app.Protocol == wire.ProtocolSAML {
		return a.renderSAMLApp(app)
	}
	return a.renderOIDCApp(app)
}

func (a *API) renderOIDCApp(app *config.Application) wire.Application {
	self := a.appHref(app.EnvironmentID, app.ID)
	links := wire.Links{
		"self":                    {Href: self},
		"environment":             {Href: a.APIPath + "/environments/" + app.EnvironmentID},
		"grants":                  {Href: self + "/grants"},
		"signOnPolicyAssignments": {Href: self + "/signOnPolicyAssignments"},
		"roleAssignments":         {Href: self + "/roleAssignments"},
	}
	if app.TokenEndpointAuthMethod != "NONE" {
		links["secret"] = wire.Href{Href: self + "/secret"}
	}
	return wire.Application{
		Links: links, Environment: wire.Ref{ID: app.EnvironmentID}, ID: app.ID, Name: app.Name, Enabled: app.Enabled,
		Type: app.Type, Protocol: app.Protocol, CreatedAt: wire.Time(app.CreatedAt), UpdatedAt: wire.Time(app.UpdatedAt),
		ClientID: app.ID, TokenEndpointAuthMethod: app.TokenEndpointAuthMethod, ApplicationData: appData(app.Type, app.Settings),
	}
}

// withMobileDefaults adds PingOne's defaults to a NATIVE_APP's mobile
// settings where they lack them; settings that have them all come back as
// stored, byte for byte.
func withMobileDefaults(raw json.RawMessage) json.RawMessage {
	if !present(raw) {
		return defaultMobile
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	added := false
	for _, def := range mobileDefaults {
		if _, ok := m[def.name]; !ok {
			m[def.name], added = def.value, true
		}
	}
	if !added {
		return raw
	}
	return mustJSON(m)
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	list, err := pageOf(r, a.APIPath+"/environments/"+env.ID+"/applications", "applications", nil,
		decodedPage(func(p store.Page) ([]store.Application, int, error) {
			return a.Store.ListApplicationsPage(r.Context(), env.ID, p)
		}, config.DecodeApplication),
		func(x *config.Application) string { return x.ID },
		func(x *config.Application) any { return a.renderApp(x) })
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, list)
	return nil
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadApplication)
	if err != nil {
		return err
	}
	app, err := a.Store.GetApplication(r.Context(), env.ID, r.PathValue("appID"))
	if err != nil {
		return err
	}
	return writeDecoded(w, http.StatusOK, app, config.DecodeApplication, a.renderApp)
}

// newSecret makes a client secret: 48 random bytes, 64 characters, the
// length PingOne's secrets have (HS512 needs at least 64).
func (a *API) newSecret(appID string) (plain string, sealed []byte) {
	plain = secrets.Random(48)
	return plain, a.Sealer.Seal([]byte(plain), "app:"+appID)
}

func (a *API) createApplication(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if isSAMLRequest(&req) {
		return a.createSAMLApplication(w, r, env, &req)
	}
	now := store.Now()
	app := &store.Application{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := validateApplication(&req, nil); err != nil {
		return err
	}
	d := applyApplication(&req, app)
	// PingOne's documented default: a WORKER made without
	// assignActorRoles:false holds the roles of the actor that made it,
	// so that a tool can create a worker and use it at once.
	d.AssignActorRoles = app.Type == "WORKER" && (req.AssignActorRoles == nil || *req.AssignActorRoles)
	app.Data = mustJSON(d)
	if app.TokenEndpointAuthMethod != "NONE" {
		_, app.SecretSealed = a.newSecret(app.ID)
	}
	var inherited []store.RoleAssignment
	if d.AssignActorRoles {
		// A user actor's roles are its own and its groups': the same role
		// over the same scope may come twice, and is given once.
		type held struct{ role, scopeType, scopeID string }
		seen := map[held]bool{}
		for _, ra := range actorFrom(r.Context()).Assignments {
			k := held{ra.RoleID, ra.ScopeType, ra.ScopeID}
			if seen[k] {
				continue
			}
			seen[k] = true
			inherited = append(inherited, store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: env.ID, ActorType: applicationActor.Type,
				ActorID: app.ID, RoleID: ra.RoleID, ScopeType: ra.ScopeType, ScopeID: ra.ScopeID, CreatedAt: now})
		}
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := checkAccessGroups(r.Context(), tx, env.ID, req.AccessControl); err != nil {
			return err
		}
		if err := tx.CreateApplication(r.Context(), app); err != nil {
			return err
		}
		for i := range inherited {
			if err := tx.CreateRoleAssignment(r.Context(), &inherited[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return devicePathTaken(err)
	}
	return writeDecoded(w, http.StatusCreated, app, config.DecodeApplication, a.renderApp)
}

func (a *API) updateApplication(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	var req wire.ApplicationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if isSAMLRequest(&req) {
		return a.updateSAMLApplication(w, r, env, &req)
	}
	var app *store.Application
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if app, err = tx.GetApplication(r.Context(), env.ID, r.PathValue("appID")); err != nil {
			return err
		}
		if err := validateApplication(&req, app); err != nil {
			return err
		}
		if err := checkAccessGroups(r.Context(), tx, env.ID, req.AccessControl); err != nil {
			return err
		}
		prev, err := config.DecodeApplication(app)
		if err != nil {
			return err
		}
		d := applyApplication(&req, app)
		// assignActorRoles acts once, on create; PingOne ignores it on PUT.
		d.AssignActorRoles = prev.Settings.AssignActorRoles
		app.Data, app.UpdatedAt = mustJSON(d), store.Now()
		dropPrevious := false
		switch {
		case app.TokenEndpointAuthMethod == "NONE":
			// A public client has no secret; keeping one would let it
			// authenticate as a confidential client after a switch back.
			dropPrevious = len(app.SecretSealed) > 0
			app.SecretSealed = nil
		case len(app.SecretSealed) == 0:
			_, app.SecretSealed = a.newSecret(app.ID)
		}
		if err := tx.UpdateApplication(r.Context(), app); err != nil {
			return err
		}
		if dropPrevious {
			return tx.ClearApplicationPreviousSecret(r.Context(), env.ID, app.ID)
		}
		return nil
	})
	if err != nil {
		return devicePathTaken(err)
	}
	return writeDecoded(w, http.StatusOK, app, config.DecodeApplication, a.renderApp)
}

func (a *API) deleteApplication(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteApplication)
	if err != nil {
		return err
	}
	id := r.PathValue("appID")
	if c := actorFrom(r.Context()).Claims; c.Env == env.ID && c.ClientID == id {
		return wire.RequestFailed("An application cannot delete itself: use a token of another application.")
	}
	if err := a.Store.DeleteApplication(r.Context(), env.ID, id); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// ---- validation

// devicePathTaken answers a write that lost its devicePathId to another
// application of the environment: PingOne's device verification page
// names one application by it. The database's unique index decides
// (migration 15), so two concurrent writes cannot both take one path;
// the transaction, and all it wrote, is rolled back.
func devicePathTaken(err error) error {
	var ue *store.UniqueError
	if errors.As(err, &ue) && ue.Field == "devicePathId" {
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "devicePathId",
			Message: "Another application of the environment has this devicePathId."})
	}
	return err
}

// validateApplication checks a create (current nil) or replace body.
func validateApplication(req *wire.ApplicationRequest, current *store.Application) error {
	v := &appValidator{}
	v.text("name", req.Name, 256, true)
	v.text("description", req.Description, 1024, false)
	if req.Enabled == nil {
		v.add(wire.Required("enabled"))
	}
	switch {
	case req.Protocol == nil:
		v.add(wire.Required("protocol"))
	case slices.Contains(unsupportedAppProtocols, *req.Protocol):
		v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "protocol",
			Message:    *req.Protocol + " applications are not supported by Gatehouse: only OPENID_CONNECT and SAML applications are.",
			InnerError: &wire.InnerError{AllowedValues: appProtocols}})
	case *req.Protocol != "OPENID_CONNECT":
		v.add(wire.OneOf("protocol", appProtocols))
	case current != nil && current.Protocol != *req.Protocol:
		v.add(wire.InvalidValue("protocol", "The protocol of an application cannot be changed."))
	}
	typ := v.enum("type", req.Type, appTypes, true)
	if typ != "" && current != nil && current.Type != typ {
		v.add(wire.InvalidValue("type", "The type of an application cannot be changed."))
		typ = ""
	}
	method := v.enum("tokenEndpointAuthMethod", req.TokenEndpointAuthMethod, appAuthMethods, true)
	grants, grantsOK := v.enumList("grantTypes", req.GrantTypes, appGrantTypes, true)
	responses, responsesOK := v.enumList("responseTypes", req.ResponseTypes, appResponseTypes, false)
	allowWildcard := req.AllowWildcardInRedirectURIs != nil && *req.AllowWildcardInRedirectURIs
	for i, u := range req.RedirectURIs {
		v.redirectURI(fmt.Sprintf("redirectUris[%d]", i), u, allowWildcard)
	}
	for i, u := range req.PostLogoutRedirectURIs {
		v.redirectURI(fmt.Sprintf("postLogoutRedirectUris[%d]", i), u, allowWildcard)
	}

	if typ != "" && grantsOK {
		allowed := appTypeGrants[typ]
		for _, g := range grants {
			if !slices.Contains(allowed, g) {
				v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "grantTypes",
					Message: typ + " applications cannot use the " + g + " grant type.", InnerError: &wire.InnerError{AllowedValues: allowed}})
				break
			}
		}
	}
	if grantsOK {
		has := func(g string) bool { return slices.Contains(grants, g) }
		if has("REFRESH_TOKEN") && !slices.ContainsFunc(refreshableGrants, has) {
			v.add(wire.InvalidValue("grantTypes", "REFRESH_TOKEN requires AUTHORIZATION_CODE (or DEVICE_CODE), the grants that issue refresh tokens."))
		}
		if responsesOK {
			hasResp := func(t string) bool { return slices.Contains(responses, t) }
			switch {
			case has("AUTHORIZATION_CODE") && !hasResp("CODE"):
				v.add(wire.InvalidValue("responseTypes", "The AUTHORIZATION_CODE grant type requires the CODE response type."))
			case has("IMPLICIT") && !hasResp("TOKEN") && !hasResp("ID_TOKEN"):
				v.add(wire.InvalidValue("responseTypes", "The IMPLICIT grant type requires the TOKEN or ID_TOKEN response type."))
			case hasResp("CODE") && !has("AUTHORIZATION_CODE"):
				v.add(wire.InvalidValue("responseTypes", "The CODE response type requires the AUTHORIZATION_CODE grant type."))
			case (hasResp("TOKEN") || hasResp("ID_TOKEN")) && !has("IMPLICIT"):
				v.add(wire.InvalidValue("responseTypes", "The TOKEN and ID_TOKEN response types require the IMPLICIT grant type."))
			}
		}
		if (has("AUTHORIZATION_CODE") || has("IMPLICIT")) && len(req.RedirectURIs) == 0 {
			v.add(wire.Detail{Code: wire.DetailRequiredValue, Target: "redirectUris",
				Message: "At least one redirect URI is required for the AUTHORIZATION_CODE and IMPLICIT grant types."})
		}
		if method == "NONE" && has("CLIENT_CREDENTIALS") {
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "tokenEndpointAuthMethod",
				Message: "The CLIENT_CREDENTIALS grant type needs a client that authenticates: tokenEndpointAuthMethod cannot be NONE.", InnerError: &wire.InnerError{AllowedValues: confidentialMethods}})
		}
		// PingOne: token exchange needs CLIENT_SECRET_BASIC, CLIENT_SECRET_POST,
		// PRIVATE_KEY_JWT or CLIENT_SECRET_JWT.
		if method == "NONE" && has("TOKEN_EXCHANGE") {
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "tokenEndpointAuthMethod",
				Message: "The TOKEN_EXCHANGE grant type needs a client that authenticates: tokenEndpointAuthMethod cannot be NONE.", InnerError: &wire.InnerError{AllowedValues: confidentialMethods}})
		}
	}
	if typ != "" && method != "" {
		switch {
		case typ == "SINGLE_PAGE_APP" && method != "NONE":
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "tokenEndpointAuthMethod",
				Message: "A SINGLE_PAGE_APP cannot keep a secret: its tokenEndpointAuthMethod must be NONE.", InnerError: &wire.InnerError{AllowedValues: []string{"NONE"}}})
		case method == "NONE" && typ == "WORKER" && str(req.PkceEnforcement) == "S256_REQUIRED":
			// A Gatehouse extension: a WORKER used only with user-based
			// grants acts with its users' roles, never its own, so it may be
			// a public client when PKCE S256 is required — the admin
			// console's application is one (client_credentials is refused
			// above for a public client).
		case method == "NONE" && !slices.Contains(publicAppTypes, typ):
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "tokenEndpointAuthMethod",
				Message: "NONE is allowed only for NATIVE_APP, SINGLE_PAGE_APP and CUSTOM_APP applications, and for a WORKER that requires PKCE S256.", InnerError: &wire.InnerError{AllowedValues: confidentialMethods}})
		}
	}
	refuseUnserved(v, req)
	if flag(req.RequireSignedRequestObject) && flag(req.SupportUnsignedRequestObject) {
		v.add(wire.InvalidValue("supportUnsignedRequestObject", "requireSignedRequestObject and supportUnsignedRequestObject cannot both be true."))
	}
	hasJwks := req.Jwks != nil && *req.Jwks != ""
	hasJwksURL := req.JwksURL != nil && *req.JwksURL != ""
	switch {
	case hasJwks && hasJwksURL:
		v.add(wire.InvalidValue("jwks", "Set jwks or jwksUrl, not both."))
	case hasJwks:
		if len(*req.Jwks) > 50000 {
			v.add(sizeLimit("jwks", 50000))
		} else if why := jwksProblem(*req.Jwks); why != "" {
			v.add(wire.InvalidValue("jwks", why))
		}
	case hasJwksURL:
		v.url("jwksUrl", req.JwksURL, true)
	case method == "PRIVATE_KEY_JWT":
		v.add(wire.Detail{Code: wire.DetailRequiredValue, Target: "jwksUrl", Message: "PRIVATE_KEY_JWT needs the client's keys: set jwks or jwksUrl."})
	case method == "NONE" && flag(req.RequireSignedRequestObject):
		// A public client has no secret to sign with (HS*): without keys
		// every authorization request it could send would be refused.
		v.add(wire.InvalidValue("requireSignedRequestObject", "A public client (tokenEndpointAuthMethod NONE) can sign request objects only with its own keys: set jwks or jwksUrl."))
	}
	v.enum("pkceEnforcement", req.PkceEnforcement, pkceModes, false)
	v.enum("parRequirement", req.ParRequirement, parModes, false)
	v.intRange("parTimeout", req.ParTimeout, 1, 600)
	if p := req.DevicePathID; p != nil && *p != "" {
		switch {
		case !devicePathID.MatchString(*p):
			v.add(wire.InvalidValue("devicePathId", "devicePathId has 1 to 50 letters, digits, '_' and '-'."))
		case len(*p) == 36 && uuid.Validate(*p) == nil:
			// /device/{appIdentifier} reads a UUID as an application id
			// first (authsvc.deviceApp), so such a path would name
			// another application, or none.
			v.add(wire.InvalidValue("devicePathId", "devicePathId cannot be a UUID: the device verification page reads a UUID as an application id."))
		}
	}
	v.url("deviceCustomVerificationUri", req.DeviceCustomVerificationURI, false)
	v.intRange("deviceTimeout", req.DeviceTimeout, 1, 3600)
	v.intRange("devicePollingInterval", req.DevicePollingInterval, 1, 60)
	v.intRange("refreshTokenDuration", req.RefreshTokenDuration, 60, maxDuration)
	v.intRange("refreshTokenRollingDuration", req.RefreshTokenRollingDuration, 60, maxDuration)
	v.intRange("refreshTokenRollingGracePeriodDuration", req.RefreshTokenRollingGracePeriodDuration, 0, 86400)
	if req.RefreshTokenDuration != nil && req.RefreshTokenRollingDuration != nil && *req.RefreshTokenRollingDuration < *req.RefreshTokenDuration {
		v.add(wire.InvalidValue("refreshTokenRollingDuration", "refreshTokenRollingDuration must be at least refreshTokenDuration."))
	}
	v.url("initiateLoginUri", req.InitiateLoginURI, true)
	v.url("targetLinkUri", req.TargetLinkURI, false)
	v.appCommon(req)
	refuseSAMLMembers(v, req)
	if len(req.Mobile) > 0 && !bytes.Equal(req.Mobile, []byte("null")) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(req.Mobile, &obj) != nil {
			v.add(wire.InvalidValue("mobile", "mobile must be an object."))
		}
	}
	if len(v.details) > 0 {
		return wire.InvalidData(v.details...)
	}
	return nil
}

// appCommon checks the members every application has, whatever its
// protocol: its pages, CORS settings, icon and access control.
func (v *appValidator) appCommon(req *wire.ApplicationRequest) {
	v.url("loginPageUrl", req.LoginPageURL, false)
	v.url("homePageUrl", req.HomePageURL, false)
	if c := req.CorsSettings; c != nil {
		switch {
		case c.Behavior == "":
			v.add(wire.Required("corsSettings.behavior"))
		case !slices.Contains(corsBehaviors, c.Behavior):
			v.add(wire.OneOf("corsSettings.behavior", corsBehaviors))
		case c.Behavior == "ALLOW_SPECIFIC_ORIGINS" && len(c.Origins) == 0:
			v.add(wire.Required("corsSettings.origins"))
		}
		if len(c.Origins) > 20 {
			max := int64(20)
			v.add(wire.Detail{Code: wire.DetailSizeLimit, Target: "corsSettings.origins", Message: "At most 20 origins are allowed.",
				InnerError: &wire.InnerError{MaximumValue: &max}})
		}
		for i, o := range c.Origins {
			if u, err := url.Parse(strings.Replace(o, "*.", "x.", 1)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(o) > maxURILength {
				v.add(wire.InvalidValue(fmt.Sprintf("corsSettings.origins[%d]", i), "An origin is an http or https URL (a leading *. wildcard is allowed)."))
			}
		}
	}
	if req.Icon != nil {
		if req.Icon.ID == "" {
			v.add(wire.Required("icon.id"))
		}
		if req.Icon.Href == "" {
			v.add(wire.Required("icon.href"))
		} else {
			v.url("icon.href", &req.Icon.Href, false)
		}
	}
	if ac := req.AccessControl; ac != nil {
		if ac.Role != nil && ac.Role.Type != "ADMIN_USERS_ONLY" {
			v.add(wire.OneOf("accessControl.role.type", []string{"ADMIN_USERS_ONLY"}))
		}
		if g := ac.Group; g != nil {
			if !slices.Contains(accessControlGroupTypes, g.Type) {
				v.add(wire.OneOf("accessControl.group.type", accessControlGroupTypes))
			}
			if len(g.Groups) == 0 {
				v.add(wire.Required("accessControl.group.groups"))
			}
			for i, ref := range g.Groups {
				if uuid.Validate(ref.ID) != nil {
					v.add(wire.InvalidValue(fmt.Sprintf("accessControl.group.groups[%d].id", i), "A group id is a UUID."))
				}
			}
		}
	}
}

// applyApplication writes a validated body over app (PUT replaces: absent
// optional members reset to PingOne's defaults) and returns the long tail.
func applyApplication(req *wire.ApplicationRequest, app *store.Application) wire.ApplicationData {
	app.Name, app.Enabled, app.Protocol, app.Type = strings.TrimSpace(*req.Name), *req.Enabled, *req.Protocol, *req.Type
	app.TokenEndpointAuthMethod = *req.TokenEndpointAuthMethod
	d := wire.ApplicationData{
		Description:                              str(req.Description),
		HiddenFromAppPortal:                      flag(req.HiddenFromAppPortal),
		LoginPageURL:                             str(req.LoginPageURL),
		HomePageURL:                              str(req.HomePageURL),
		Icon:                                     req.Icon,
		AccessControl:                            req.AccessControl,
		GrantTypes:                               dedupe(req.GrantTypes),
		ResponseTypes:                            dedupe(req.ResponseTypes),
		RedirectURIs:                             dedupe(req.RedirectURIs),
		PostLogoutRedirectURIs:                   dedupe(req.PostLogoutRedirectURIs),
		AllowWildcardInRedirectURIs:              flag(req.AllowWildcardInRedirectURIs),
		PkceEnforcement:                          str(req.PkceEnforcement),
		RequestScopesForMultipleResourcesEnabled: flag(req.RequestScopesForMultipleResourcesEnabled),
		RefreshTokenDuration:                     req.RefreshTokenDuration,
		RefreshTokenRollingDuration:              req.RefreshTokenRollingDuration,
		RefreshTokenRollingGracePeriodDuration:   req.RefreshTokenRollingGracePeriodDuration,
		AdditionalRefreshTokenReplayProtectionEnabled: req.AdditionalRefreshTokenReplayProtectionEnabled,
		IdpSignoff:                   flag(req.IdpSignoff),
		ParRequirement:               str(req.ParRequirement),
		InitiateLoginURI:             str(req.InitiateLoginURI),
		TargetLinkURI:                str(req.TargetLinkURI),
		CorsSettings:                 req.CorsSettings,
		Jwks:                         str(req.Jwks),
		JwksURL:                      str(req.JwksURL),
		RequireSignedRequestObject:   flag(req.RequireSignedRequestObject),
		SupportUnsignedRequestObject: flag(req.SupportUnsignedRequestObject),
		IncludeX5t:                   flag(req.IncludeX5t),
		OpSessionCheckEnabled:        flag(req.OpSessionCheckEnabled),
		RefreshTokenType:             str(req.RefreshTokenType),
	}
	if req.ParTimeout != nil {
		d.ParTimeout = *req.ParTimeout
	}
	d.DevicePathID, d.DeviceCustomVerificationURI = str(req.DevicePathID), str(req.DeviceCustomVerificationURI)
	if req.DeviceTimeout != nil {
		d.DeviceTimeout = *req.DeviceTimeout
	}
	if req.DevicePollingInterval != nil {
		d.DevicePollingInterval = *req.DevicePollingInterval
	}
	if d.CorsSettings != nil && d.CorsSettings.Behavior == "ALLOW_NO_ORIGINS" {
		d.CorsSettings.Origins = nil
	}
	refreshDefaults(&d)
	if len(req.Mobile) > 0 && !bytes.Equal(req.Mobile, []byte("null")) {
		d.Mobile = req.Mobile
	} else if app.Type == "NATIVE_APP" {
		d.Mobile = defaultMobile
	}
	return d
}

// refreshDefaults gives an application with refresh tokens PingOne's
// lifetimes where it has none; they show only where refresh tokens exist,
// as on PingOne, unless the client set them. The lifetimes are the ones
// the token endpoint uses when none is stored.
func refreshDefaults(d *wire.ApplicationData) {
	if !slices.Contains(d.GrantTypes, "REFRESH_TOKEN") {
		return
	}
	if d.RefreshTokenDuration == nil {
		n := defaultRefreshTokenDuration
		d.RefreshTokenDuration = &n
	}
	if d.RefreshTokenRollingDuration == nil {
		n := max(defaultRefreshTokenRollingDuration, *d.RefreshTokenDuration)
		d.RefreshTokenRollingDuration = &n
	}
}

// flag reads an optional boolean: absent is false.
func flag(p *bool) bool { return p != nil && *p }

func dedupe(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// appValidator gathers details in the order fields are checked.
type appValidator struct{ details []wire.Detail }

func (v *appValidator) add(d ...wire.Detail) { v.details = append(v.details, d...) }

func (v *appValidator) text(target string, s *string, max int64, required bool) {
	switch {
	case s == nil || strings.TrimSpace(*s) == "":
		if required {
			v.add(wire.Required(target))
		}
	case int64(len(*s)) > max:
		v.add(sizeLimit(target, max))
	}
}

// enum checks an optional or required enumerated value and returns it when
// valid.
func (v *appValidator) enum(target string, s *string, allowed []string, required bool) string {
	switch {
	case s == nil:
		if required {
			v.add(wire.Required(target))
		}
		return ""
	case !slices.Contains(allowed, *s):
		v.add(wire.OneOf(target, allowed))
		return ""
	}
	return *s
}

// enumList checks each element of a list of enumerated values.
func (v *appValidator) enumList(target string, list []string, allowed []string, required bool) ([]string, bool) {
	if len(list) == 0 {
		if required {
			v.add(wire.Required(target))
			return nil, false
		}
		return nil, true
	}
	ok := true
	for i, s := range list {
		if !slices.Contains(allowed, s) {
			v.add(wire.OneOf(fmt.Sprintf("%s[%d]", target, i), allowed))
			ok = false
		}
	}
	return list, ok
}

func (v *appValidator) intRange(target string, n *int, lo, hi int64) {
	if n == nil || (int64(*n) >= lo && int64(*n) <= hi) {
		return
	}
	v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: target,
		Message: fmt.Sprintf("%s must be from %d to %d.", target, lo, hi), InnerError: &wire.InnerError{RangeMinimumValue: &lo, RangeMaximumValue: &hi}})
}

// url checks an optional absolute http(s) URL.
func (v *appValidator) url(target string, s *string, httpsOnly bool) {
	if s == nil || *s == "" {
		return
	}
	if int64(len(*s)) > maxURILength {
		v.add(sizeLimit(target, maxURILength))
		return
	}
	u, err := url.Parse(*s)
	ok := err == nil && u.Host != "" && !hasSpaceOrControl(*s)
	if httpsOnly {
		ok = ok && u.Scheme == "https"
	} else {
		ok = ok && (u.Scheme == "http" || u.Scheme == "https")
	}
	if !ok {
		msg := "The value must be an absolute http or https URL."
		if httpsOnly {
			msg = "The value must be an absolute https URL."
		}
		v.add(wire.InvalidValue(target, msg))
	}
}

// redirectURI checks a redirect URI: absolute (a native app's private
// scheme such as com.example.app:/cb counts), no fragment (RFC 6749
// §3.1.2), no script schemes, and a * only where wildcards are allowed.
// Matching against requests is exact (RFC 9700 §4.1.3).
func (v *appValidator) redirectURI(target, s string, allowWildcard bool) {
	if int64(len(s)) > maxURILength {
		v.add(sizeLimit(target, maxURILength))
		return
	}
	if strings.Contains(s, "*") && !allowWildcard {
		v.add(wire.InvalidValue(target, "Wildcards in redirect URIs need allowWildcardInRedirectUris."))
		return
	}
	// PingOne's wildcard rules: one *, after the authority, so that a
	// pattern never matches another host.
	if strings.Count(s, "*") > 1 {
		v.add(wire.InvalidValue(target, "Only one wildcard is allowed in a redirect URI."))
		return
	}
	if strings.Contains(s, "*") && !wildcardAfterAuthority(s) {
		v.add(wire.InvalidValue(target, "A wildcard is allowed only in the path and query of a redirect URI, not in its scheme, host or port."))
		return
	}
	u, err := url.Parse(strings.ReplaceAll(s, "*", "x"))
	switch {
	case err != nil || s == "" || hasSpaceOrControl(s) || u.Scheme == "" || (u.Host == "" && u.Path == "" && u.Opaque == ""):
		v.add(wire.InvalidValue(target, "A redirect URI must be an absolute URI."))
	case u.Fragment != "" || strings.Contains(s, "#"):
		v.add(wire.InvalidValue(target, "A redirect URI must not contain a fragment."))
	case slices.Contains([]string{"javascript", "data", "vbscript", "file"}, strings.ToLower(u.Scheme)):
		v.add(wire.InvalidValue(target, "The "+u.Scheme+" scheme is not allowed in redirect URIs."))
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		v.add(wire.InvalidValue(target, "An http or https redirect URI must name a host."))
	}
}

// wildcardAfterAuthority reports whether the * of s comes after its
// scheme and authority (scheme://authority, or scheme: alone for a
// native app's private scheme).
func wildcardAfterAuthority(s string) bool {
	star := strings.IndexByte(s, '*')
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		end := strings.IndexAny(s[i+3:], "/?")
		if end < 0 {
			return false
		}
		start = i + 3 + end
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		start = i + 1
	}
	return star >= start
}

func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// ---- the client secret

// secretApp loads the application whose secret the request is about and
// applies PingOne's rules against escalation: the actor needs
// WriteApplication (a secret lets its holder act as the application), may
// not touch its own secret, and must be able to manage every role the
// application holds (none of its role assignments read-only to the actor).
func (a *API) secretApp(r *http.Request) (*store.Environment, *store.Application, error) {
	env, err := a.environment(r, roles.WriteApplication)
	if err != nil {
		return nil, nil, err
	}
	app, err := a.Store.GetApplication(r.Context(), env.ID, r.PathValue("appID"))
	if err != nil {
		return nil, nil, err
	}
	actor := actorFrom(r.Context())
	if actor.Claims.Env == env.ID && actor.Claims.ClientID == app.ID {
		return nil, nil, wire.Forbidden()
	}
	ras, err := a.Store.ListRoleAssignments(r.Context(), env.ID, app.ID)
	if err != nil {
		return nil, nil, err
	}
	if len(ras) > 0 {
		view, err := a.assignmentView(r.Context(), env, actor, ras)
		if err != nil {
			return nil, nil, err
		}
		for i := range ras {
			if view.readOnly(&ras[i]) {
				return nil, nil, wire.Forbidden()
			}
		}
	}
	if app.TokenEndpointAuthMethod == "NONE" || len(app.SecretSealed) == 0 {
		return nil, nil, wire.RequestFailed("The application has no secret: its tokenEndpointAuthMethod is NONE.")
	}
	return env, app, nil
}

func (a *API) renderSecret(app *store.Application, plain string, prev *store.PreviousSecret, prevPlain string) wire.ApplicationSecret {
	self := a.appHref(app.EnvironmentID, app.ID)
	out := wire.ApplicationSecret{
		Links: wire.Links{"self": {Href: self + "/secret"}, "environment": {Href: a.APIPath + "/environments/" + app.EnvironmentID},
			"application": {Href: self}},
		Environment: wire.Ref{ID: app.EnvironmentID}, Secret: plain,
	}
	if prev != nil {
		out.Previous = &wire.PreviousSecret{Secret: prevPlain, ExpiresAt: wire.Time(prev.ExpiresAt), LastUsed: wire.TimePtr(prev.LastUsed)}
	}
	return out
}

func (a *API) openSecret(app *store.Application, sealed []byte) (string, error) {
	b, err := a.Sealer.Open(sealed, "app:"+app.ID)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// livePrevious returns the application's previous secret while it is
// still accepted.
func (a *API) livePrevious(ctx context.Context, app *store.Application) (*store.PreviousSecret, string, error) {
	prev, err := a.Store.GetApplicationPreviousSecret(ctx, app.EnvironmentID, app.ID)
	if err != nil || prev == nil || !time.Now().Before(prev.ExpiresAt) {
		return nil, "", err
	}
	plain, err := a.openSecret(app, prev.Sealed)
	if err != nil {
		return nil, "", err
	}
	return prev, plain, nil
}

func (a *API) getApplicationSecret(w http.ResponseWriter, r *http.Request) error {
	_, app, err := a.secretApp(r)
	if err != nil {
		return err
	}
	plain, err := a.openSecret(app, app.SecretSealed)
	if err != nil {
		return err
	}
	prev, prevPlain, err := a.livePrevious(r.Context(), app)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSecret(app, plain, prev, prevPlain))
	return nil
}

// rotateApplicationSecret generates a new secret. With
// {"previous":{"expiresAt":…}} the old one stays valid until then (at most
// 30 days, PingOne's limit); without a body it stops working at once.
func (a *API) rotateApplicationSecret(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.secretApp(r)
	if err != nil {
		return err
	}
	keepUntil, err := previousExpiry(r)
	if err != nil {
		return err
	}
	oldPlain, err := a.openSecret(app, app.SecretSealed)
	if err != nil {
		return err
	}
	plain, sealed := a.newSecret(app.ID)
	if err := a.Store.RotateApplicationSecret(r.Context(), env.ID, app.ID, sealed, keepUntil); err != nil {
		return err
	}
	var prev *store.PreviousSecret
	if !keepUntil.IsZero() {
		prev = &store.PreviousSecret{ExpiresAt: keepUntil}
	}
	wire.Write(w, http.StatusOK, a.renderSecret(app, plain, prev, oldPlain))
	return nil
}

// previousExpiry reads the optional body of a rotation: zero time when
// there is none (the SDK may send no body, and then no Content-Type).
func previousExpiry(r *http.Request) (time.Time, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return time.Time{}, wire.TooLarge(MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return time.Time{}, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req wire.ApplicationSecretRequest
	if err := decode(r, &req); err != nil {
		return time.Time{}, err
	}
	if req.Previous == nil {
		return time.Time{}, nil
	}
	if req.Previous.ExpiresAt == nil {
		return time.Time{}, wire.InvalidData(wire.Required("previous.expiresAt"))
	}
	t, err := time.Parse(time.RFC3339Nano, *req.Previous.ExpiresAt)
	now := time.Now()
	switch {
	case err != nil:
		return time.Time{}, wire.InvalidData(wire.InvalidValue("previous.expiresAt", "expiresAt must be an RFC 3339 date-time, e.g. 2026-01-02T03:04:05.000Z."))
	case !t.After(now):
		return time.Time{}, wire.InvalidData(wire.InvalidValue("previous.expiresAt", "expiresAt must be in the future."))
	case t.After(now.Add(maxPreviousSecretLifetime + time.Minute)): // a minute for clock skew
		return time.Time{}, wire.InvalidData(wire.InvalidValue("previous.expiresAt", "The previous secret can be kept for at most 30 days."))
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// deletePreviousSecret ends the previous secret's grace period early.
// (?) PingOne has an applications:delete:secret permission and its CLI a
// "delete previous secret" step; DELETE on the secret is our reading of
// the endpoint behind them.
func (a *API) deletePreviousSecret(w http.ResponseWriter, r *http.Request) error {
	env, app, err := a.secretApp(r)
	if err != nil {
		return err
	}
	if err := a.Store.ClearApplicationPreviousSecret(r.Context(), env.ID, app.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
