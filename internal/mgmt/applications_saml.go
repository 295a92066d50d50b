package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// SAML applications: Gatehouse is their identity provider. They share the
// applications' routes with OpenID Connect ones; a body with protocol SAML
// comes here. The settings are PingOne's (its SDK's ApplicationSAML), kept
// in the application's JSON column beside the members every application
// has, under PingOne's names (wire.ApplicationSAMLData), where the SAML
// runtime reads them through config.Application.SAML.
//
// Every reference is checked against the environment in the write's
// transaction: the signing key (idpSigning.key) must be one of its SIGNING
// keys, with an algorithm that fits it; the certificates that verify
// AuthnRequests (spVerification.certificates) must be its SIGNING
// certificates. An application is made with its CORE saml_subject
// mapping (${user.id}), as PingOne makes it.

var (
	samlAppTypes = []string{"WEB_APP", "CUSTOM_APP"}
	samlBindings = []string{wire.SAMLBindingPost, wire.SAMLBindingRedirect}
	// samlNameIDFormats are the Subject NameID formats PingOne offers.
	samlNameIDFormats = []string{
		"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
	}
	// samlAttrNameFormats are the NameFormats of a SAML attribute.
	samlAttrNameFormats = []string{
		"urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
		"urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
		"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
	}
)

const (
	// maxEntityID bounds entity ids: they are URIs, and each AuthnRequest
	// names one.
	maxEntityID = 1024
	maxAcsURLs  = 100
	// maxSAMLCertificates bounds the certificates trusted at once (a
	// partner rolls over with two or three).
	maxSAMLCertificates = 20
	// maxSloWindow is PingOne's: hours.
	maxSloWindow = 24

	coreSAMLSubjectName  = "saml_subject"
	coreSAMLSubjectValue = "${user.id}"
)

// samlAppRecord is what a SAML application keeps in its JSON column: the
// members every application has, under the names ApplicationData reads
// (config.Application.Settings), and its SAML settings
// (config.Application.SAML). No OpenID Connect member is written.
type samlAppRecord struct {
	Description         string              `json:"description,omitempty"`
	HiddenFromAppPortal bool                `json:"hiddenFromAppPortal"`
	LoginPageURL        string              `json:"loginPageUrl,omitempty"`
	HomePageURL         string              `json:"homePageUrl,omitempty"`
	Icon                *wire.Icon          `json:"icon,omitempty"`
	AccessControl       *wire.AccessControl `json:"accessControl,omitempty"`
	CorsSettings        *wire.CorsSettings  `json:"corsSettings,omitempty"`
	wire.ApplicationSAMLData
}

// isSAMLRequest reports whether a create or replace body is a SAML
// application's.
func isSAMLRequest(req *wire.ApplicationRequest) bool {
	return req.Protocol != nil && *req.Protocol == wire.ProtocolSAML
}

// samlDefaults fills in PingOne's defaults where d has none, so that what
// is stored (and what the runtime reads) is what GET shows.
func samlDefaults(d *wire.ApplicationSAMLData) {
	if d.AcsURLs == nil {
		d.AcsURLs = []string{}
	}
	if d.AssertionSigned == nil {
		t := true
		d.AssertionSigned = &t
	}
	if d.ResponseSigned == nil {
		f := false
		d.ResponseSigned = &f
	}
	if d.SloBinding == "" {
		d.SloBinding = wire.SAMLBindingPost
	}
	if d.SpVerification != nil && d.SpVerification.Certificates == nil {
		d.SpVerification.Certificates = []wire.Ref{}
	}
}

func (a *API) renderSAMLApp(app *config.Application) wire.ApplicationSAML {
	self := a.appHref(app.EnvironmentID, app.ID)
	d := app.SAML
	samlDefaults(&d)
	s := app.Settings
	return wire.ApplicationSAML{
		Links: wire.Links{"self": {Href: self}, "environment": {Href: a.APIPath + "/environments/" + app.EnvironmentID},
			"attributes": {Href: self + "/attributes"}, "signOnPolicyAssignments": {Href: self + "/signOnPolicyAssignments"}},
		Environment: wire.Ref{ID: app.EnvironmentID}, ID: app.ID, Name: app.Name, Description: s.Description, Enabled: app.Enabled,
		Type: app.Type, Protocol: app.Protocol, CreatedAt: wire.Time(app.CreatedAt), UpdatedAt: wire.Time(app.UpdatedAt),
		HiddenFromAppPortal: s.HiddenFromAppPortal, LoginPageURL: s.LoginPageURL, HomePageURL: s.HomePageURL, Icon: s.Icon,
		AccessControl: s.AccessControl, CorsSettings: s.CorsSettings, ApplicationSAMLData: d,
	}
}

// coreSAMLSubject is the mapping PingOne makes with a SAML application:
// the assertion's Subject NameID is the user's id. It is stored, unlike
// OpenID Connect's sub: its value may be remapped (${user.email}…), and the
// identity provider reads it with the application's other mappings.
func coreSAMLSubject(app *store.Application) *store.ApplicationAttribute {
	return &store.ApplicationAttribute{ID: uuid.NewString(), EnvironmentID: app.EnvironmentID, ApplicationID: app.ID,
		Name: coreSAMLSubjectName, Value: coreSAMLSubjectValue, MappingType: attrMappingCore, Required: true,
		CreatedAt: app.CreatedAt, UpdatedAt: app.CreatedAt}
}

func (a *API) createSAMLApplication(w http.ResponseWriter, r *http.Request, env *store.Environment, req *wire.ApplicationRequest) error {
	ctx := r.Context()
	now := store.Now()
	app := &store.Application{ID: uuid.NewString(), EnvironmentID: env.ID, Protocol: wire.ProtocolSAML,
		TokenEndpointAuthMethod: "NONE", CreatedAt: now, UpdatedAt: now}
	err := a.Store.Tx(ctx, func(tx store.Store) error {
		rec, err := validateSAMLApplication(ctx, tx, env.ID, req, nil)
		if err != nil {
			return err
		}
		if err := checkAccessGroups(ctx, tx, env.ID, req.AccessControl); err != nil {
			return err
		}
		app.Name, app.Enabled, app.Type, app.Data = strings.TrimSpace(*req.Name), *req.Enabled, *req.Type, mustJSON(rec)
		if err := tx.CreateApplication(ctx, app); err != nil {
			return err
		}
		return tx.CreateApplicationAttribute(ctx, coreSAMLSubject(app))
	})
	if err != nil {
		return spEntityIDTaken(err)
	}
	return writeDecoded(w, http.StatusCreated, app, config.DecodeApplication, a.renderApp)
}

func (a *API) updateSAMLApplication(w http.ResponseWriter, r *http.Request, env *store.Environment, req *wire.ApplicationRequest) error {
	ctx := r.Context()
	var app *store.Application
	err := a.Store.Tx(ctx, func(tx store.Store) error {
		var err error
		if app, err = tx.GetApplication(ctx, env.ID, r.PathValue("appID")); err != nil {
			return err
		}
		if app.Protocol != wire.ProtocolSAML {
			return wire.InvalidData(wire.InvalidValue("protocol", "The protocol of an application cannot be changed."))
		}
		current, err := config.DecodeApplication(app)
		if err != nil {
			return err
		}
		rec, err := validateSAMLApplication(ctx, tx, env.ID, req, current)
		if err != nil {
			return err
		}
		if err := checkAccessGroups(ctx, tx, env.ID, req.AccessControl); err != nil {
			return err
		}
		app.Name, app.Enabled, app.Data, app.UpdatedAt = strings.TrimSpace(*req.Name), *req.Enabled, mustJSON(rec), store.Now()
		return tx.UpdateApplication(ctx, app)
	})
	if err != nil {
		return spEntityIDTaken(err)
	}
	return writeDecoded(w, http.StatusOK, app, config.DecodeApplication, a.renderApp)
}

// spEntityIDTaken answers a write that lost its spEntityId to another
// application of the environment: an AuthnRequest names its application
// by it. The database's unique index decides (migration 29), so two
// concurrent writes cannot both take one.
func spEntityIDTaken(err error) error {
	var ue *store.UniqueError
	if errors.As(err, &ue) && ue.Field == "spEntityId" {
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "spEntityId",
			Message: "Another application of the environment has this spEntityId."})
	}
	return err
}

// oidcOnlyMembers are the members of an OpenID Connect application's body
// that a SAML application has no use for: set on one, they are refused
// rather than dropped.
func oidcOnlyMembers(req *wire.ApplicationRequest) []string {
	var out []string
	set := func(name string, ok bool) {
		if ok {
			out = append(out, name)
		}
	}
	nonEmpty := func(s *string) bool { return s != nil && *s != "" }
	set("grantTypes", len(req.GrantTypes) > 0)
	set("responseTypes", len(req.ResponseTypes) > 0)
	set("redirectUris", len(req.RedirectURIs) > 0)
	set("postLogoutRedirectUris", len(req.PostLogoutRedirectURIs) > 0)
	set("tokenEndpointAuthMethod", nonEmpty(req.TokenEndpointAuthMethod))
	set("pkceEnforcement", nonEmpty(req.PkceEnforcement))
	set("parRequirement", nonEmpty(req.ParRequirement))
	set("jwks", nonEmpty(req.Jwks))
	set("jwksUrl", nonEmpty(req.JwksURL))
	set("devicePathId", nonEmpty(req.DevicePathID))
	set("initiateLoginUri", nonEmpty(req.InitiateLoginURI))
	set("targetLinkUri", nonEmpty(req.TargetLinkURI))
	set("refreshTokenDuration", req.RefreshTokenDuration != nil)
	set("refreshTokenRollingDuration", req.RefreshTokenRollingDuration != nil)
	set("mobile", present(req.Mobile))
	set("signing", present(req.Signing))
	set("kerberos", present(req.Kerberos))
	return out
}

// refuseSAMLMembers refuses SAML settings on an OpenID Connect
// application's body.
func refuseSAMLMembers(v *appValidator, req *wire.ApplicationRequest) {
	s := req
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"acsUrls", len(s.AcsURLs) > 0}, {"spEntityId", s.SpEntityID != nil}, {"assertionDuration", s.AssertionDuration != nil},
		{"idpSigning", s.IdpSigning != nil}, {"spVerification", s.SpVerification != nil}, {"nameIdFormat", s.NameIDFormat != nil},
		{"spEncryption", present(s.SpEncryption)},
	} {
		if m.set {
			v.add(wire.InvalidValue(m.name, m.name+" applies to SAML applications only."))
		}
	}
}

// validateSAMLApplication checks a SAML application's create (current
// nil) or replace body against the environment and returns what to store.
// PUT replaces: absent optional members take PingOne's defaults, except
// the signing key, which stays the one the application has (PingOne's
// Terraform provider reads it as computed and may leave it out).
func validateSAMLApplication(ctx context.Context, st store.Store, envID string, req *wire.ApplicationRequest, current *config.Application) (*samlAppRecord, error) {
	// The keys and certificates named below are read under the
	// environment's key lock, which their deletes take before looking for
	// users: a write and a delete cannot both succeed.
	if err := st.LockKeys(ctx, envID); err != nil {
		return nil, err
	}
	v := &appValidator{}
	v.text("name", req.Name, 256, true)
	v.text("description", req.Description, 1024, false)
	if req.Enabled == nil {
		v.add(wire.Required("enabled"))
	}
	typ := v.enum("type", req.Type, samlAppTypes, true)
	if typ != "" && current != nil && current.Type != typ {
		v.add(wire.InvalidValue("type", "The type of an application cannot be changed."))
	}
	for _, m := range oidcOnlyMembers(req) {
		v.add(wire.InvalidValue(m, m+" applies to OPENID_CONNECT applications only."))
	}
	v.appCommon(req)

	s := req
	rec := &samlAppRecord{Description: str(req.Description), HiddenFromAppPortal: flag(req.HiddenFromAppPortal),
		LoginPageURL: str(req.LoginPageURL), HomePageURL: str(req.HomePageURL), Icon: req.Icon,
		AccessControl: req.AccessControl, CorsSettings: req.CorsSettings}
	if rec.CorsSettings != nil && rec.CorsSettings.Behavior == "ALLOW_NO_ORIGINS" {
		rec.CorsSettings.Origins = nil
	}
	d := &rec.ApplicationSAMLData

	d.SpEntityID = v.entityID("spEntityId", s.SpEntityID)
	d.AcsURLs = v.acsURLs(s.AcsURLs)
	switch {
	case s.AssertionDuration == nil:
		v.add(wire.Required("assertionDuration"))
	default:
		v.intRange("assertionDuration", s.AssertionDuration, 1, maxDuration)
		d.AssertionDuration = *s.AssertionDuration
	}
	d.AssertionSigned, d.ResponseSigned = s.AssertionSigned, s.ResponseSigned
	if s.DefaultTargetURL != nil && *s.DefaultTargetURL != "" {
		// PingOne does not require a URL: the value is a deep link the
		// service provider reads as RelayState.
		switch {
		case len(*s.DefaultTargetURL) > maxURILength:
			v.add(sizeLimit("defaultTargetUrl", maxURILength))
		case hasSpaceOrControl(*s.DefaultTargetURL):
			v.add(wire.InvalidValue("defaultTargetUrl", "defaultTargetUrl must not contain spaces or control characters."))
		default:
			d.DefaultTargetURL = *s.DefaultTargetURL
		}
	}
	d.EnableRequestedAuthnContext = s.EnableRequestedAuthnContext
	d.EnableAlwaysAcceptAcsURLInSignedAuthnRequest = flag(s.EnableAlwaysAcceptAcsURLInSignedAuthnRequest)
	d.NameIDFormat = v.enum("nameIdFormat", s.NameIDFormat, samlNameIDFormats, false)
	v.intRange("sessionNotOnOrAfterDuration", s.SessionNotOnOrAfterDuration, 1, maxDuration)
	d.SessionNotOnOrAfterDuration = s.SessionNotOnOrAfterDuration
	d.SloBinding, d.SloEndpoint, d.SloResponseEndpoint, d.SloWindow = v.slo(s.SloBinding, s.SloEndpoint, s.SloResponseEndpoint, s.SloWindow, false)

	if present(s.SpEncryption) {
		v.add(wire.InvalidValue("spEncryption", "Assertion encryption is not supported by Gatehouse yet: leave spEncryption out."))
	}
	if present(s.VirtualServerIDSettings) {
		var vs struct {
			Enabled *bool `json:"enabled"`
		}
		if json.Unmarshal(s.VirtualServerIDSettings, &vs) != nil || flag(vs.Enabled) {
			v.add(wire.InvalidValue("virtualServerIdSettings", "Virtual server ids are not supported by Gatehouse."))
		}
	}

	var err error
	switch {
	case s.IdpSigning != nil:
		var was *wire.SAMLSigning
		if current != nil {
			was = current.SAML.IdpSigning
		}
		d.IdpSigning, err = v.signingKey(ctx, st, envID, "idpSigning", s.IdpSigning, was)
	case current != nil && current.SAML.IdpSigning != nil:
		d.IdpSigning = current.SAML.IdpSigning
	default:
		d.IdpSigning, err = defaultSigningKey(ctx, st, envID)
	}
	if err != nil {
		return nil, err
	}
	if sv := s.SpVerification; sv != nil {
		certs, err := v.certificates(ctx, st, envID, "spVerification.certificates", sv.Certificates, false)
		if err != nil {
			return nil, err
		}
		d.SpVerification = &wire.SAMLSPVerification{AuthnRequestSigned: flag(sv.AuthnRequestSigned), Certificates: certs}
		if d.SpVerification.AuthnRequestSigned && len(sv.Certificates) == 0 {
			v.add(wire.Detail{Code: wire.DetailRequiredValue, Target: "spVerification.certificates",
				Message: "Signed AuthnRequests need at least one certificate to verify them with."})
		}
	}
	if len(v.details) > 0 {
		return nil, wire.InvalidData(v.details...)
	}
	samlDefaults(d)
	return rec, nil
}

// entityID checks a required SAML entity id: a URI-like name without
// spaces.
func (v *appValidator) entityID(target string, s *string) string {
	switch {
	case s == nil || strings.TrimSpace(*s) == "":
		v.add(wire.Required(target))
	case len(*s) > maxEntityID:
		v.add(sizeLimit(target, maxEntityID))
	case hasSpaceOrControl(*s):
		v.add(wire.InvalidValue(target, "An entity id must not contain spaces or control characters."))
	default:
		return *s
	}
	return ""
}

// acsURLs checks a SAML application's assertion consumer services: at
// least one, each an absolute http(s) URL without a fragment. A response
// is only ever posted to one of them, matched exactly.
func (v *appValidator) acsURLs(list []string) []string {
	if len(list) == 0 {
		v.add(wire.Required("acsUrls"))
		return nil
	}
	if len(list) > maxAcsURLs {
		v.add(sizeLimit("acsUrls", maxAcsURLs))
		return nil
	}
	for i, s := range list {
		target := fmt.Sprintf("acsUrls[%d]", i)
		if len(s) > maxURILength {
			v.add(sizeLimit(target, maxURILength))
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil ||
			strings.Contains(s, "#") || hasSpaceOrControl(s) {
			v.add(wire.InvalidValue(target, "An ACS URL is an absolute http or https URL without user information or a fragment."))
		}
	}
	return dedupe(list)
}

// slo checks the single logout settings (stored, not yet served): the
// binding (PingOne's default HTTP_POST), the endpoints, and the window in
// hours. Providers' endpoints follow the provider URL rules (idpURL).
func (v *appValidator) slo(binding, endpoint, response *string, window *int, provider bool) (string, string, string, *int) {
	b := v.enum("sloBinding", binding, samlBindings, false)
	if b == "" {
		b = wire.SAMLBindingPost
	}
	var ep, rep string
	if provider {
		ep = v.idpURL("sloEndpoint", endpoint, false)
		rep = v.idpURL("sloResponseEndpoint", response, false)
	} else {
		v.url("sloEndpoint", endpoint, false)
		v.url("sloResponseEndpoint", response, false)
		ep, rep = str(endpoint), str(response)
	}
	v.intRange("sloWindow", window, 0, maxSloWindow)
	return b, ep, rep, window
}

// samlKeyAlgorithms lists the signature algorithms a key may sign with: any
// RSA digest for an RSA key, the curve's own for an EC key (PingOne's key
// rules).
func samlKeyAlgorithms(k *store.Key) []string {
	if k.Algorithm == "RSA" {
		return rsaSigAlgs
	}
	if alg, ok := ecSigAlg[int64(k.KeyLength)]; ok {
		return []string{alg}
	}
	return []string{k.SignatureAlgorithm}
}

// signingKey checks a signing reference (an application's idpSigning, a
// provider's spSigning): key.id must be a SIGNING key of the environment
// that has not expired — unless it is the key already named (current), so
// that a PUT of what GET returned still passes once it has — and the
// algorithm, when given, one the key can sign with; absent, it is the
// key's own.
func (v *appValidator) signingKey(ctx context.Context, st store.Store, envID, target string, req *wire.SAMLSigningRequest, current *wire.SAMLSigning) (*wire.SAMLSigning, error) {
	if req.Key == nil || req.Key.ID == nil || strings.TrimSpace(*req.Key.ID) == "" {
		v.add(wire.Required(target + ".key.id"))
		return nil, nil
	}
	id := *req.Key.ID
	if uuid.Validate(id) != nil {
		v.add(wire.InvalidValue(target+".key.id", "A key id is a UUID."))
		return nil, nil
	}
	k, err := st.GetKey(ctx, envID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		v.add(wire.InvalidValue(target+".key.id", "The key does not exist in this environment."))
		return nil, nil
	case err != nil:
		return nil, err
	case k.UsageType != keyUsageSigning:
		v.add(wire.InvalidValue(target+".key.id", "The key is a "+k.UsageType+" key: SAML messages are signed with a SIGNING key."))
		return nil, nil
	case keys.Status(k, store.Now()) == "EXPIRED" && (current == nil || current.Key.ID != k.ID):
		v.add(wire.InvalidValue(target+".key.id", "The key has expired."))
		return nil, nil
	}
	out := &wire.SAMLSigning{Key: wire.Ref{ID: k.ID}, Algorithm: k.SignatureAlgorithm}
	if req.Algorithm != nil && *req.Algorithm != "" {
		allowed := samlKeyAlgorithms(k)
		if !slices.Contains(allowed, *req.Algorithm) {
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: target + ".algorithm",
				Message:    "The algorithm does not fit the " + k.Algorithm + " key.",
				InnerError: &wire.InnerError{AllowedValues: allowed}})
			return nil, nil
		}
		out.Algorithm = *req.Algorithm
	}
	return out, nil
}

// defaultSigningKey names the environment's default SIGNING key, as
// PingOne fills idpSigning in on a create that sends none; nil when the
// environment has none (the runtime then finds none either).
func defaultSigningKey(ctx context.Context, st store.Store, envID string) (*wire.SAMLSigning, error) {
	ks, err := st.ListKeys(ctx, envID)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if k.UsageType == keyUsageSigning && k.Default {
			return &wire.SAMLSigning{Key: wire.Ref{ID: k.ID}, Algorithm: k.SignatureAlgorithm}, nil
		}
	}
	return nil, nil
}

// certificates checks a list of certificate references: each a SIGNING
// certificate of the environment (/certificates), listed once.
func (v *appValidator) certificates(ctx context.Context, st store.Store, envID, target string, refs []wire.RefRequest, required bool) ([]wire.Ref, error) {
	if len(refs) == 0 {
		if required {
			v.add(wire.Required(target))
		}
		return []wire.Ref{}, nil
	}
	if len(refs) > maxSAMLCertificates {
		v.add(sizeLimit(target, maxSAMLCertificates))
		return nil, nil
	}
	out := make([]wire.Ref, 0, len(refs))
	for i, ref := range refs {
		at := fmt.Sprintf("%s[%d].id", target, i)
		if ref.ID == nil || strings.TrimSpace(*ref.ID) == "" {
			v.add(wire.Required(at))
			continue
		}
		id := *ref.ID
		if uuid.Validate(id) != nil {
			v.add(wire.InvalidValue(at, "A certificate id is a UUID."))
			continue
		}
		if slices.ContainsFunc(out, func(r wire.Ref) bool { return r.ID == id }) {
			continue
		}
		c, err := st.GetCertificate(ctx, envID, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.add(wire.InvalidValue(at, "The certificate does not exist in this environment."))
			continue
		case err != nil:
			return nil, err
		case c.UsageType != keyUsageSigning:
			v.add(wire.InvalidValue(at, "The certificate's usageType is "+c.UsageType+": signatures are verified with SIGNING certificates."))
			continue
		}
		out = append(out, wire.Ref{ID: c.ID})
	}
	return out, nil
}
