package saml

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// reposted marks an ACS form the ACS's own page posted again (see acs).
const reposted = "gatehouseRepost"

// Routes serves PingOne's service provider endpoints.
func (p *Protocol) Routes(mux *http.ServeMux, s *federation.Service) {
	mux.HandleFunc("POST /{envID}/saml20/sp/acs", func(w http.ResponseWriter, r *http.Request) { p.acs(w, r, s) })
	mux.HandleFunc("GET /{envID}/saml20/sp/metadata/{idpID}", func(w http.ResponseWriter, r *http.Request) { p.metadata(w, r, s) })
	mux.HandleFunc("GET /{envID}/saml20/sp/sso", func(w http.ResponseWriter, r *http.Request) { s.Authenticate(w, r, "idpId") })
	mux.HandleFunc("GET /{envID}/"+ResumePath, func(w http.ResponseWriter, r *http.Request) { p.resume(w, r, s) })
}

// acs is the assertion consumer service: a Response to an AuthnRequest
// (RelayState is the flow's state) goes back to its flow; an unsolicited
// one (RelayState applicationId=…) signs the user on to that application.
//
// The identity provider's page posts here from another site, and the ST
// cookie that binds the flow to the browser is SameSite=Lax over plain
// http: the browser leaves it off such a POST. A form without it is
// posted again, at once, by a page of this origin, whose POST carries
// it; the form is not read for meaning before that.
func (p *Protocol) acs(w http.ResponseWriter, r *http.Request, s *federation.Service) {
	ctx := r.Context()
	if _, err := s.Config.Environment(ctx, r.PathValue("envID")); err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		wire.WriteErrorCtx(ctx, w, wire.UnsupportedMediaType(r.Header.Get("Content-Type")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxResponseBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			wire.WriteErrorCtx(ctx, w, wire.TooLarge(MaxResponseBytes))
			return
		}
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("body", "The form cannot be read.")))
		return
	}
	if r.PostForm.Has("SAMLart") {
		// crewjam would resolve an artifact at the provider: the
		// HTTP-Artifact binding is not served.
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("SAMLart", "The HTTP-Artifact binding is not supported: post the SAMLResponse.")))
		return
	}
	if r.PostForm.Get("SAMLResponse") == "" {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Required("SAMLResponse")))
		return
	}
	if _, err := decodeResponse(r.PostForm.Get("SAMLResponse")); err != nil {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("SAMLResponse", err.Error()+".")))
		return
	}
	relay := r.PostForm.Get("RelayState")
	if appID, target, ok := unsolicited(relay); ok {
		p.idpInitiated(w, r, s, appID, target)
		return
	}
	if relay == "" {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Required("RelayState")))
		return
	}
	if s.Cookies.Token(r) == "" && r.PostForm.Get(reposted) == "" {
		httpx.FormPost(w, p.ACSURL(r.PathValue("envID")), url.Values{
			"SAMLResponse": {r.PostForm.Get("SAMLResponse")}, "RelayState": {relay}, reposted: {"1"}})
		return
	}
	s.Complete(w, r, p)
}

// unsolicited reads PingOne's RelayState of an IdP-initiated sign-on:
// applicationId=<id>[&applicationUrl=<url>].
func unsolicited(relay string) (appID, target string, ok bool) {
	if !strings.HasPrefix(relay, "applicationId=") {
		return "", "", false
	}
	q, err := url.ParseQuery(relay)
	if err != nil {
		return "", "", true
	}
	return q.Get("applicationId"), q.Get("applicationUrl"), true
}

// metadata is the service provider's metadata for one identity provider:
// its entity ID, ACS, and the certificate of the key that signs its
// AuthnRequests.
func (p *Protocol) metadata(w http.ResponseWriter, r *http.Request, s *federation.Service) {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue("idpID")
	if _, err := s.Config.Environment(ctx, envID); err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if uuid.Validate(id) != nil || len(id) != 36 {
		wire.WriteErrorCtx(ctx, w, wire.NotFound(""))
		return
	}
	prov, err := s.Config.IdentityProvider(ctx, envID, id)
	if err == nil && prov.Type != wire.IDPTypeSAML {
		err = store.ErrNotFound
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	sp, err := p.serviceProvider(ctx, prov)
	var f *federation.Failure
	if errors.As(err, &f) {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed(f.Description))
		return
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	md := sp.Metadata()
	for i := range md.SPSSODescriptors {
		d := &md.SPSSODescriptors[i]
		signed := prov.SAML.AuthnRequestSigned
		d.AuthnRequestsSigned = &signed
		want := true
		d.WantAssertionsSigned = &want
		// Encryption is not served: only the signing key is published.
		var kds []crewjam.KeyDescriptor
		for _, kd := range d.KeyDescriptors {
			if kd.Use == "signing" {
				kds = append(kds, kd)
			}
		}
		d.KeyDescriptors = kds
		d.SingleLogoutServices = nil
		d.ArtifactResolutionServices = nil
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(xmlHeader))
	w.Write(b)
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// ResumePath is where an IdP-initiated sign-on's flow returns.
const ResumePath = "saml20/sp/resume"

// target is what an IdP-initiated sign-on's flow keeps: where the browser
// goes once the user is signed on.
type target struct {
	URL string `json:"target"`
}

// idpInitiated signs the user an unsolicited Response names on to the
// application PingOne's RelayState names, then sends the browser to the
// application: its targetLinkUri, else applicationUrl when it is one of
// the application's own URLs, else its home page. Everything is checked
// before a flow starts, so a refused Response leaves the browser's
// session as it was.
func (p *Protocol) idpInitiated(w http.ResponseWriter, r *http.Request, s *federation.Service, appID, applicationURL string) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	noApp := wire.InvalidRequest(wire.InvalidValue("RelayState", "The RelayState names no OpenID Connect application of the environment."))
	if uuid.Validate(appID) != nil || len(appID) != 36 {
		wire.WriteErrorCtx(ctx, w, noApp)
		return
	}
	app, err := s.Config.Application(ctx, envID, appID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && app.Protocol != "OPENID_CONNECT") {
		wire.WriteErrorCtx(ctx, w, noApp)
		return
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if !app.Enabled {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed("The application "+app.Name+" is disabled."))
		return
	}
	dest, derr := destination(app, applicationURL)
	if derr != nil {
		wire.WriteErrorCtx(ctx, w, derr)
		return
	}
	raw, _ := decodeResponse(r.PostForm.Get("SAMLResponse")) // checked by acs
	prov, err := p.providerByIssuer(r, s, envID, issuerOf(raw))
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	as, err := p.verify(ctx, prov, r, nil, true)
	var f *federation.Failure
	if errors.As(err, &f) {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed(f.Description))
		return
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	protocol, err := json.Marshal(target{URL: dest})
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	req := flow.Request{ResponseType: "code", ResponseMode: "query", Scope: "openid", Resume: ResumePath, Protocol: protocol}
	s.Unsolicited(w, r, p, prov, app, req, remembered{Unsolicited: as})
}

// destination is where an IdP-initiated sign-on ends (PingOne: the
// application's targetLinkUri, else applicationUrl), never a URL the
// application has not registered: applicationUrl must share the origin
// of one of its URLs (a deep link into it).
func destination(app *config.Application, applicationURL string) (string, error) {
	c := &app.Settings
	if c.TargetLinkURI != "" {
		return c.TargetLinkURI, nil
	}
	if applicationURL != "" {
		u, err := url.Parse(applicationURL)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil {
			for _, known := range append([]string{c.HomePageURL, c.InitiateLoginURI}, c.RedirectURIs...) {
				k, err := url.Parse(known)
				if err == nil && known != "" && strings.EqualFold(k.Scheme, u.Scheme) && strings.EqualFold(k.Host, u.Host) {
					return u.String(), nil
				}
			}
		}
		return "", wire.InvalidRequest(wire.InvalidValue("RelayState", "The applicationUrl is not a URL of the application "+app.Name+"."))
	}
	for _, u := range []string{c.HomePageURL, c.InitiateLoginURI} {
		if u != "" {
			return u, nil
		}
	}
	return "", wire.InvalidRequest(wire.InvalidValue("RelayState",
		"The application "+app.Name+" has no URL to send the user to: give it a targetLinkUri or a homePageUrl, or name one of its URLs as applicationUrl."))
}

// issuerOf reads a Response's Issuer, or its assertion's, unverified: it
// only picks the provider whose certificates then verify the Response.
func issuerOf(raw []byte) string {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
		return ""
	}
	for _, path := range []string{"./Issuer", "./Assertion/Issuer"} {
		if el := doc.Root().FindElement(path); el != nil {
			return strings.TrimSpace(el.Text())
		}
	}
	return ""
}

// providerByIssuer is the environment's enabled SAML provider whose
// idpEntityId is issuer.
func (p *Protocol) providerByIssuer(r *http.Request, s *federation.Service, envID, issuer string) (*federation.Provider, error) {
	ctx := r.Context()
	none := wire.InvalidRequest(wire.InvalidValue("SAMLResponse", "No SAML identity provider of the environment has the Response's issuer."))
	if issuer == "" {
		return nil, none
	}
	all, err := s.Store.ListIdentityProviders(ctx, envID)
	if err != nil {
		return nil, err
	}
	var disabled *federation.Provider
	for _, rec := range all {
		if rec.Type != wire.IDPTypeSAML {
			continue
		}
		prov, err := s.Config.IdentityProvider(ctx, envID, rec.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if prov.SAML.IdpEntityID != issuer {
			continue
		}
		if prov.Enabled {
			return prov, nil
		}
		disabled = prov
	}
	if disabled != nil {
		return nil, wire.RequestFailed("The identity provider " + disabled.Name + " is disabled.")
	}
	return nil, none
}

// resume ends an IdP-initiated sign-on's flow: completed, the browser goes
// to the application; failed, it gets the error; still going, back to
// the sign-on page.
func (p *Protocol) resume(w http.ResponseWriter, r *http.Request, s *federation.Service) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	if _, err := s.Config.Environment(ctx, envID); err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	id := r.URL.Query().Get("flowId")
	if id == "" {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Required("flowId")))
		return
	}
	f, err := s.Flows.Load(ctx, envID, id, s.Cookies.Token(r))
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	req, _, _, _, err := flow.RequestOf(f)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if req.ResumePath() != ResumePath {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("flowId", "The flow resumes at "+req.ResumePath()+", not "+ResumePath+".")))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch f.Status {
	case flow.StatusCompleted, flow.StatusFailed:
	default:
		http.Redirect(w, r, s.Flows.SignOnPageURL(envID, f.ID), http.StatusFound)
		return
	}
	if err := s.Flows.Finish(ctx, f); err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if f.Status == flow.StatusFailed {
		_, desc, err := flow.FailureOf(f)
		if err != nil {
			wire.WriteErrorCtx(ctx, w, err)
			return
		}
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed(desc))
		return
	}
	var t target
	if err := json.Unmarshal(req.Protocol, &t); err != nil || t.URL == "" {
		wire.WriteErrorCtx(ctx, w, fmt.Errorf("flow %s: no target: %v", f.ID, err))
		return
	}
	http.Redirect(w, r, t.URL, http.StatusFound)
}
