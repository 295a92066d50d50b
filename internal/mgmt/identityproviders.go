package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// External identity providers and their attribute mappings.
//
// OPENID_CONNECT and SAML providers are served (SAML ones' own settings in
// identityproviders_saml.go); PingOne's social types are refused by name
// until the runtime can sign users on with them. A provider is made with
// its CORE mapping, username from the provider's subject (the sub claim,
// the assertion's NameID), as PingOne makes it.
//
// The client secret is kept sealed with the master key ("idp:"+id) and
// returned in clear on every answer that carries a provider (create, read,
// list, replace), as PingOne returns it: PingOne's Terraform provider reads
// client_secret back and compares it with its configuration, and a
// provider without it would fail every apply and be planned for
// replacement on every run. Only actors that may read the environment's
// configuration (roles.ReadConfig: identity providers) reach those
// answers. A replace that sends the secret back keeps it working; one
// without it, or with it empty, keeps the stored one.

const (
	idpOIDC = "OPENID_CONNECT"

	mappingCore   = "CORE"
	mappingCustom = "CUSTOM"

	maxIDPScopes = 50
)

var (
	// idpTypes are PingOne's provider types; those but OPENID_CONNECT are
	// refused as not supported yet rather than as unknown.
	idpTypes          = []string{"FACEBOOK", "GOOGLE", "LINKEDIN", "LINKEDIN_OIDC", "APPLE", "TWITTER", "AMAZON", "YAHOO", "MICROSOFT", "PAYPAL", "GITHUB", idpOIDC, "SAML"}
	idpSupportedTypes = []string{idpOIDC, wire.IDPTypeSAML}
	idpAuthMethods    = []string{"CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE"}
	idpPKCEMethods    = []string{"NONE", "S256"}
	mappingUpdates    = []string{"EMPTY_ONLY", "ALWAYS"}

	// idpUserAttributes are the user attributes a provider mapping (and a
	// link's attributes) may write: the core and profile attributes the
	// sign-on flow knows how to set.
	idpUserAttributes = identity.AttributeNames
	// idpReservedAttributes are the attributes PingOne names as never
	// mapped.
	idpReservedAttributes = []string{"account", "id", "created", "updated", "lifecycle", "mfaEnabled", "enabled"}

	// A mapping's value is one placeholder of a claim of the provider, by
	// its (dotted) path: ${providerAttributes.email},
	// ${providerAttributes.address.country}. PingOne documents this form
	// for OPENID_CONNECT; expressions around it are not accepted.
	providerAttrRE = regexp.MustCompile(`^\$\{providerAttributes\.[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*\}$`)
)

func (a *API) identityProviderRoutes(mux router) {
	base := "/v1/environments/{envID}/identityProviders"
	mux.Handle("GET "+base, a.handle(a.listIdentityProviders))
	mux.Handle("POST "+base, a.handle(a.createIdentityProvider))
	mux.Handle("GET "+base+"/{idpID}", a.handle(a.getIdentityProvider))
	mux.Handle("PUT "+base+"/{idpID}", a.handle(a.updateIdentityProvider))
	mux.Handle("DELETE "+base+"/{idpID}", a.handle(a.deleteIdentityProvider))

	mux.Handle("GET "+base+"/{idpID}/attributes", a.handle(a.listIDPAttributes))
	mux.Handle("POST "+base+"/{idpID}/attributes", a.handle(a.createIDPAttribute))
	mux.Handle("GET "+base+"/{idpID}/attributes/{attrID}", a.handle(a.getIDPAttribute))
	mux.Handle("PUT "+base+"/{idpID}/attributes/{attrID}", a.handle(a.updateIDPAttribute))
	mux.Handle("DELETE "+base+"/{idpID}/attributes/{attrID}", a.handle(a.deleteIDPAttribute))
}

// ---- rendering

func (a *API) idpHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/identityProviders/" + id
}

// idpView is a provider as the management API shows it: its decoded
// settings and its client secret, opened.
type idpView struct {
	*config.IdentityProvider
	secret string
}

// decodeIdentityProvider decodes p's settings and opens its secret. A
// secret that does not open (another master key, a damaged row) fails the
// read like damaged settings do: showing it empty would tell PingOne's
// Terraform provider the secret had changed.
func (a *API) decodeIdentityProvider(p *store.IdentityProvider) (*idpView, error) {
	v, err := config.DecodeIdentityProvider(p)
	if err != nil {
		return nil, err
	}
	out := &idpView{IdentityProvider: v}
	if len(p.ClientSecretSealed) > 0 {
		b, err := a.Sealer.Open(p.ClientSecretSealed, "idp:"+p.ID)
		if err != nil {
			return nil, fmt.Errorf("identity provider %s: client secret: %w", p.ID, err)
		}
		out.secret = string(b)
	}
	return out, nil
}

// renderIdentityProvider renders a provider by its type: PingOne's SDK
// picks the model (IdentityProviderOIDC, IdentityProviderSAML) by type.
func (a *API) renderIdentityProvider(v *idpView) any {
	if v.Type == wire.IDPTypeSAML {
		return a.renderSAMLProvider(v.IdentityProvider)
	}
	return a.renderOIDCProvider(v)
}

func (a *API) renderOIDCProvider(v *idpView) wire.IdentityProvider {
	p := v.IdentityProvider
	self := a.idpHref(p.EnvironmentID, p.ID)
	d := p.Settings
	if d.PkceMethod == "" {
		d.PkceMethod = "NONE"
	}
	if d.Scopes == nil {
		d.Scopes = []string{}
	}
	return wire.IdentityProvider{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: a.APIPath + "/environments/" + p.EnvironmentID},
			"attributes": {Href: self + "/attributes"}},
		ID: p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Enabled: p.Enabled, Type: p.Type,
		IdentityProviderData: d, ClientSecret: v.secret, CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
	}
}

// writeIdentityProvider answers with p; ?expand=attributes embeds its
// attribute mappings, as PingOne does on create.
func (a *API) writeIdentityProvider(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, p *store.IdentityProvider) error {
	v, err := a.decodeIdentityProvider(p)
	if err != nil {
		return err
	}
	var embedded map[string]any
	if slices.Contains(strings.Split(r.URL.Query().Get("expand"), ","), "attributes") {
		attrs, err := a.Store.ListIdentityProviderAttributes(ctx, p.EnvironmentID, p.ID)
		if err != nil {
			return err
		}
		embedded = map[string]any{"attributes": renderAll(attrs, a.renderIDPAttribute)}
	}
	if v.Type == wire.IDPTypeSAML {
		out := a.renderSAMLProvider(v.IdentityProvider)
		out.Embedded = embedded
		wire.Write(w, status, out)
		return nil
	}
	out := a.renderOIDCProvider(v)
	out.Embedded = embedded
	wire.Write(w, status, out)
	return nil
}

// ---- providers

func (a *API) listIdentityProviders(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ps, err := a.Store.ListIdentityProviders(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items, err := renderDecoded(ps, a.decodeIdentityProvider, a.renderIdentityProvider)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/identityProviders", "identityProviders", items))
	return nil
}

func (a *API) getIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetIdentityProvider(r.Context(), env.ID, r.PathValue("idpID"))
	if err != nil {
		return err
	}
	return a.writeIdentityProvider(r.Context(), w, r, http.StatusOK, p)
}

// isLoopback reports whether host is this machine, where plain http is
// allowed: a provider on the same host (tests, a local upstream) has no
// network for TLS to protect.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// idpURL checks a provider endpoint: an absolute https URL (PingOne
// requires https; http only for a loopback host), without a fragment.
func (v *appValidator) idpURL(target string, s *string, required bool) string {
	if s == nil || strings.TrimSpace(*s) == "" {
		if required {
			v.add(wire.Required(target))
		}
		return ""
	}
	if int64(len(*s)) > maxURILength {
		v.add(sizeLimit(target, maxURILength))
		return ""
	}
	u, err := url.Parse(*s)
	ok := err == nil && u.Host != "" && u.Fragment == "" && !strings.Contains(*s, "#") && !hasSpaceOrControl(*s) && u.User == nil &&
		(u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())))
	if !ok {
		v.add(wire.InvalidValue(target, "The value must be an absolute https URL (http only for localhost) without a fragment."))
		return ""
	}
	return *s
}

// icon checks an icon object: both id and href.
func (v *appValidator) icon(target string, in *wire.IdentityProviderIconRequest) *wire.IdentityProviderIcon {
	if in == nil {
		return nil
	}
	out := &wire.IdentityProviderIcon{}
	if in.ID == nil || strings.TrimSpace(*in.ID) == "" {
		v.add(wire.Required(target + ".id"))
	} else if len(*in.ID) > maxAttribute {
		v.add(sizeLimit(target+".id", maxAttribute))
	} else {
		out.ID = *in.ID
	}
	if in.Href == nil || strings.TrimSpace(*in.Href) == "" {
		v.add(wire.Required(target + ".href"))
	} else {
		v.url(target+".href", in.Href, false)
		out.Href = *in.Href
	}
	return out
}

// idpType reads the type: required, OPENID_CONNECT or SAML.
func idpType(v *appValidator, t *string) string {
	switch {
	case t == nil || *t == "":
		v.add(wire.Required("type"))
	case slices.Contains(idpSupportedTypes, *t):
		return *t
	case slices.Contains(idpTypes, *t):
		v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "type",
			Message:    "Identity providers of type " + *t + " are not supported yet: only OPENID_CONNECT and SAML are.",
			InnerError: &wire.InnerError{AllowedValues: idpSupportedTypes}})
	default:
		v.add(wire.OneOf("type", idpSupportedTypes))
	}
	return ""
}

// idpInput is a validated create or replace body.
type idpInput struct {
	name    string
	enabled bool
	typ     string
	data    wire.IdentityProviderData
	saml    wire.IdentityProviderSAMLData // type SAML
	secret  string                        // "" keeps the stored secret on a replace
}

// record is what the provider keeps in its JSON column.
func (in *idpInput) record() []byte {
	if in.typ == wire.IDPTypeSAML {
		return mustJSON(samlProviderRecord{Description: in.data.Description, Registration: in.data.Registration,
			Icon: in.data.Icon, LoginButtonIcon: in.data.LoginButtonIcon, IdentityProviderSAMLData: in.saml})
	}
	return mustJSON(in.data)
}

// validateIdentityProvider checks a create (creating) or replace body. The
// registration population must exist in the environment.
// currentSAML is a SAML provider's settings on a replace (nil otherwise).
func validateIdentityProvider(ctx context.Context, st store.Store, envID string, req *wire.IdentityProviderRequest, creating bool, currentSAML *wire.IdentityProviderSAMLData) (*idpInput, error) {
	var v appValidator
	in := &idpInput{}
	v.details = confName(v.details, "name", req.Name, 256)
	v.details = confDescription(v.details, req.Description)
	in.typ = idpType(&v, req.Type)
	if req.Enabled != nil {
		in.enabled = bool(*req.Enabled)
	}
	d := &in.data
	d.Description = str(req.Description)
	if reg := req.Registration; reg != nil && reg.Population != nil {
		if reg.Population.ID == nil || strings.TrimSpace(*reg.Population.ID) == "" {
			v.add(wire.Required("registration.population.id"))
		} else {
			popID := *reg.Population.ID
			if _, err := st.GetPopulation(ctx, envID, popID); errors.Is(err, store.ErrNotFound) {
				v.add(wire.InvalidValue("registration.population.id", "The population does not exist in this environment."))
			} else if err != nil {
				return nil, err
			}
			d.Registration = &wire.IdentityProviderRegistration{Population: &wire.Ref{ID: popID}}
		}
	}
	d.Icon = v.icon("icon", req.Icon)
	d.LoginButtonIcon = v.icon("loginButtonIcon", req.LoginButtonIcon)

	if in.typ == idpOIDC {
		v.text("clientId", req.ClientID, maxAttribute, true)
		d.ClientID = str(req.ClientID)
		switch {
		case req.ClientSecret != nil && *req.ClientSecret != "":
			if len(*req.ClientSecret) > maxAttribute {
				v.add(sizeLimit("clientSecret", maxAttribute))
			}
			in.secret = *req.ClientSecret
		case creating:
			v.add(wire.Required("clientSecret"))
		}
		d.AuthorizationEndpoint = v.idpURL("authorizationEndpoint", req.AuthorizationEndpoint, true)
		d.TokenEndpoint = v.idpURL("tokenEndpoint", req.TokenEndpoint, true)
		d.UserInfoEndpoint = v.idpURL("userInfoEndpoint", req.UserInfoEndpoint, false)
		d.JwksEndpoint = v.idpURL("jwksEndpoint", req.JwksEndpoint, true)
		d.Issuer = v.idpURL("issuer", req.Issuer, true)
		d.DiscoveryEndpoint = v.idpURL("discoveryEndpoint", req.DiscoveryEndpoint, false)
		d.Scopes = idpScopes(&v, req.Scopes)
		d.TokenEndpointAuthMethod = v.enum("tokenEndpointAuthMethod", req.TokenEndpointAuthMethod, idpAuthMethods, true)
		d.PkceMethod = "NONE"
		if req.PkceMethod != nil {
			d.PkceMethod = v.enum("pkceMethod", req.PkceMethod, idpPKCEMethods, false)
		}
		refuseSAMLProviderMembers(&v, req)
	}
	if in.typ == wire.IDPTypeSAML {
		if err := validateSAMLProvider(ctx, st, envID, &v, req, &in.saml, currentSAML); err != nil {
			return nil, err
		}
	}
	if len(v.details) > 0 {
		return nil, wire.InvalidData(v.details...)
	}
	in.name = strings.TrimSpace(*req.Name)
	return in, nil
}

// idpScopes checks the scopes asked of the provider: scope tokens, openid
// among them (without it there is no ID token to sign the user on with).
func idpScopes(v *appValidator, scopes []string) []string {
	if len(scopes) == 0 {
		v.add(wire.Required("scopes"))
		return nil
	}
	if len(scopes) > maxIDPScopes {
		v.add(sizeLimit("scopes", maxIDPScopes))
		return nil
	}
	ok := true
	for i, s := range scopes {
		if !scopeTokenRE.MatchString(s) || len(s) > maxAttribute {
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "scopes[" + itoa(i) + "]", Message: "A scope is a non-empty token without spaces or quotes.",
				InnerError: &wire.InnerError{AllowedPattern: scopeTokenRE.String()}})
			ok = false
		}
	}
	if ok && !slices.Contains(scopes, "openid") {
		v.add(wire.InvalidValue("scopes", "The scopes must include openid."))
	}
	return dedupe(scopes)
}

func (a *API) sealIDPSecret(id, secret string) []byte {
	return a.Sealer.Seal([]byte(secret), "idp:"+id)
}

// coreUsernameMapping is the mapping PingOne makes with a provider:
// username from the provider's subject (an OPENID_CONNECT provider's sub
// claim, a SAML provider's NameID), filled only when empty.
func coreUsernameMapping(p *store.IdentityProvider) *store.IdentityProviderAttribute {
	value := "${providerAttributes.sub}"
	if p.Type == wire.IDPTypeSAML {
		value = "${samlAssertion.subject}"
	}
	return &store.IdentityProviderAttribute{ID: uuid.NewString(), EnvironmentID: p.EnvironmentID, IdentityProviderID: p.ID,
		Name: "username", Value: value, Update: "EMPTY_ONLY", MappingType: mappingCore,
		CreatedAt: p.CreatedAt, UpdatedAt: p.CreatedAt}
}

func (a *API) createIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.IdentityProviderRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	p := &store.IdentityProvider{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		in, err := validateIdentityProvider(r.Context(), tx, env.ID, &req, true, nil)
		if err != nil {
			return err
		}
		p.Name, p.Enabled, p.Type, p.Data = in.name, in.enabled, in.typ, in.record()
		if in.typ == idpOIDC {
			p.ClientSecretSealed = a.sealIDPSecret(p.ID, in.secret)
		}
		if err := tx.CreateIdentityProvider(r.Context(), p); err != nil {
			return err
		}
		return tx.CreateIdentityProviderAttribute(r.Context(), coreUsernameMapping(p))
	})
	if err != nil {
		return err
	}
	return a.writeIdentityProvider(r.Context(), w, r, http.StatusCreated, p)
}

func (a *API) updateIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.IdentityProviderRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var p *store.IdentityProvider
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if p, err = tx.GetIdentityProvider(r.Context(), env.ID, r.PathValue("idpID")); err != nil {
			return err
		}
		if t := req.Type; t != nil && *t != p.Type && slices.Contains(idpSupportedTypes, *t) {
			// Its mappings, links and settings are the old type's.
			return wire.InvalidData(wire.InvalidValue("type", "The type of an identity provider cannot be changed."))
		}
		cur, err := config.DecodeIdentityProvider(p)
		if err != nil {
			return err
		}
		in, err := validateIdentityProvider(r.Context(), tx, env.ID, &req, false, &cur.SAML)
		if err != nil {
			return err
		}
		p.Name, p.Enabled, p.Type, p.Data, p.UpdatedAt = in.name, in.enabled, in.typ, in.record(), store.Now()
		if in.secret != "" {
			p.ClientSecretSealed = a.sealIDPSecret(p.ID, in.secret)
		}
		return tx.UpdateIdentityProvider(r.Context(), p)
	})
	if err != nil {
		return err
	}
	return a.writeIdentityProvider(r.Context(), w, r, http.StatusOK, p)
}

// deleteIdentityProvider removes a provider with its mappings and the
// accounts linked to it. A provider a sign-on policy action offers is
// refused (REQUEST_FAILED naming the policy), as a policy assigned to an
// application is: removing it from the action silently would change how
// users sign on, and PingOne's Terraform provider would read the changed
// action as drift. Delete or change the action first.
func (a *API) deleteIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		// Reading the provider in the transaction locks it: an action being
		// written that names it (it reads the provider the same way) either
		// commits first, and is found below, or finds the provider gone.
		p, err := tx.GetIdentityProvider(r.Context(), env.ID, r.PathValue("idpID"))
		if err != nil {
			return err
		}
		policy, err := policyReferencing(r.Context(), tx, env.ID, p.ID)
		if err != nil {
			return err
		}
		if policy != nil {
			return wire.RequestFailed("The identity provider is used by sign-on policy " + policy.Name + " (" + policy.ID +
				"). Remove it from the policy's actions before deleting it.")
		}
		return tx.DeleteIdentityProvider(r.Context(), env.ID, p.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// policyReferencing finds a sign-on policy with an action that names the
// provider (social providers, discovery rules, or an IDENTITY_PROVIDER
// action), or nil.
func policyReferencing(ctx context.Context, st store.Store, envID, idpID string) (*store.SignOnPolicy, error) {
	policies, err := st.ListSignOnPolicies(ctx, envID)
	if err != nil {
		return nil, err
	}
	for i := range policies {
		recs, err := st.ListSignOnPolicyActions(ctx, envID, policies[i].ID)
		if err != nil {
			return nil, err
		}
		acts, err := config.DecodeAll(recs, config.DecodeSignOnPolicyAction)
		if err != nil {
			return nil, err
		}
		for _, x := range acts {
			if slices.Contains(actionProviders(&x.Settings), idpID) {
				return &policies[i], nil
			}
		}
	}
	return nil, nil
}

// actionProviders lists the provider ids an action names.
func actionProviders(d *wire.SignOnPolicyActionData) []string {
	var ids []string
	for _, sp := range d.SocialProviders {
		ids = append(ids, sp.ID)
	}
	for _, rule := range d.DiscoveryRules {
		ids = append(ids, rule.IdentityProvider.ID)
	}
	if d.IdentityProvider != nil {
		ids = append(ids, d.IdentityProvider.ID)
	}
	return ids
}

// providerExists reports whether id names a provider of the environment.
// Inside a transaction it locks the provider against a concurrent delete.
func providerExists(ctx context.Context, st store.Store, envID, id string) (bool, error) {
	_, err := st.GetIdentityProvider(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ---- attribute mappings

func (a *API) renderIDPAttribute(x *store.IdentityProviderAttribute) wire.IdentityProviderAttribute {
	idp := a.idpHref(x.EnvironmentID, x.IdentityProviderID)
	return wire.IdentityProviderAttribute{
		Links: wire.Links{"self": {Href: idp + "/attributes/" + x.ID}, "identityProvider": {Href: idp}},
		ID:    x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, IdentityProvider: wire.Ref{ID: x.IdentityProviderID},
		Name: x.Name, Value: x.Value, Update: x.Update, MappingType: x.MappingType,
		CreatedAt: wire.Time(x.CreatedAt), UpdatedAt: wire.Time(x.UpdatedAt),
	}
}

// idpIn loads the provider named in the path, after the permission check.
func (a *API) idpIn(r *http.Request, perm string) (*store.IdentityProvider, error) {
	env, err := a.environment(r, perm)
	if err != nil {
		return nil, err
	}
	return a.Store.GetIdentityProvider(r.Context(), env.ID, r.PathValue("idpID"))
}

func (a *API) listIDPAttributes(w http.ResponseWriter, r *http.Request) error {
	p, err := a.idpIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	attrs, err := a.Store.ListIdentityProviderAttributes(r.Context(), p.EnvironmentID, p.ID)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, wholeList(a.idpHref(p.EnvironmentID, p.ID)+"/attributes", "attributes", renderAll(attrs, a.renderIDPAttribute)))
	return nil
}

func (a *API) getIDPAttribute(w http.ResponseWriter, r *http.Request) error {
	p, err := a.idpIn(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetIdentityProviderAttribute(r.Context(), p.EnvironmentID, p.ID, r.PathValue("attrID"))
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderIDPAttribute(x))
	return nil
}

// userAttributeName resolves the user attribute a mapping (or a link)
// writes, ignoring case, to its canonical name; it adds a detail and
// returns "" when the attribute cannot be written.
func userAttributeName(v *appValidator, target string, name *string) string {
	if name == nil || strings.TrimSpace(*name) == "" {
		v.add(wire.Required(target))
		return ""
	}
	n := strings.TrimSpace(*name)
	for _, a := range idpUserAttributes {
		if strings.EqualFold(a, n) {
			return a
		}
	}
	for _, a := range idpReservedAttributes {
		if strings.EqualFold(a, n) {
			v.add(wire.InvalidValue(target, "The "+a+" attribute cannot be mapped from an identity provider."))
			return ""
		}
	}
	v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: target, Message: "The value must name a user attribute Gatehouse can write.",
		InnerError: &wire.InnerError{AllowedValues: idpUserAttributes}})
	return ""
}

// mappingValue checks a mapping's placeholder: of a provider attribute for
// an OPENID_CONNECT provider, of the assertion for a SAML one.
func mappingValue(v *appValidator, value *string, typ string) string {
	switch {
	case value == nil || strings.TrimSpace(*value) == "":
		v.add(wire.Required("value"))
	case len(*value) > maxAttribute:
		v.add(sizeLimit("value", maxAttribute))
	case typ == wire.IDPTypeSAML && !samlAssertionRE.MatchString(*value):
		v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "value",
			Message:    "The value must be a placeholder of the SAML assertion, such as ${samlAssertion.subject} or ${samlAssertion.email}.",
			InnerError: &wire.InnerError{AllowedPattern: samlAssertionRE.String()}})
	case typ == wire.IDPTypeSAML:
		return *value
	case !providerAttrRE.MatchString(*value):
		v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "value",
			Message:    "The value must be a placeholder of a provider attribute, such as ${providerAttributes.email}.",
			InnerError: &wire.InnerError{AllowedPattern: providerAttrRE.String()}})
	default:
		return *value
	}
	return ""
}

// applyIDPAttribute validates req and writes it over x. A CORE mapping
// keeps its name and update policy (PingOne's Terraform provider echoes
// them); only its value changes.
func applyIDPAttribute(req *wire.IdentityProviderAttributeRequest, x *store.IdentityProviderAttribute, typ string) error {
	var v appValidator
	var name, update string
	if x.MappingType == mappingCore {
		name, update = x.Name, x.Update
		if req.Name != nil && !strings.EqualFold(strings.TrimSpace(*req.Name), x.Name) {
			v.add(wire.InvalidValue("name", "The name of a CORE attribute mapping cannot be changed."))
		}
		if req.Update != nil && *req.Update != x.Update {
			v.add(wire.InvalidValue("update", "The update policy of a CORE attribute mapping cannot be changed."))
		}
	} else {
		name = userAttributeName(&v, "name", req.Name)
	}
	value := mappingValue(&v, req.Value, typ)
	if x.MappingType != mappingCore {
		update = v.enum("update", req.Update, mappingUpdates, true)
	}
	if len(v.details) > 0 {
		return wire.InvalidData(v.details...)
	}
	x.Name, x.Value, x.Update = name, value, update
	return nil
}

func (a *API) createIDPAttribute(w http.ResponseWriter, r *http.Request) error {
	p, err := a.idpIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.IdentityProviderAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.IdentityProviderAttribute{ID: uuid.NewString(), EnvironmentID: p.EnvironmentID, IdentityProviderID: p.ID,
		MappingType: mappingCustom, CreatedAt: now, UpdatedAt: now}
	if err := applyIDPAttribute(&req, x, p.Type); err != nil {
		return err
	}
	if err := a.Store.CreateIdentityProviderAttribute(r.Context(), x); err != nil {
		if errors.Is(err, store.ErrReferenced) {
			return store.ErrNotFound // the provider went meanwhile
		}
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderIDPAttribute(x))
	return nil
}

func (a *API) updateIDPAttribute(w http.ResponseWriter, r *http.Request) error {
	p, err := a.idpIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.IdentityProviderAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	x, err := a.Store.GetIdentityProviderAttribute(r.Context(), p.EnvironmentID, p.ID, r.PathValue("attrID"))
	if err != nil {
		return err
	}
	if err := applyIDPAttribute(&req, x, p.Type); err != nil {
		return err
	}
	x.UpdatedAt = store.Now()
	if err := a.Store.UpdateIdentityProviderAttribute(r.Context(), x); err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderIDPAttribute(x))
	return nil
}

func (a *API) deleteIDPAttribute(w http.ResponseWriter, r *http.Request) error {
	p, err := a.idpIn(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	x, err := a.Store.GetIdentityProviderAttribute(r.Context(), p.EnvironmentID, p.ID, r.PathValue("attrID"))
	if err != nil {
		return err
	}
	if x.MappingType == mappingCore {
		return readOnly("A CORE attribute mapping cannot be deleted; replace its value instead.")
	}
	if err := a.Store.DeleteIdentityProviderAttribute(r.Context(), p.EnvironmentID, p.ID, x.ID); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
