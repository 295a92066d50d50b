package saml

import (
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	crewjam "github.com/crewjam/saml"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/federation"
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

// idpInitiated is an unsolicited Response: not served yet.
func (p *Protocol) idpInitiated(w http.ResponseWriter, r *http.Request, s *federation.Service, appID, target string) {
	wire.WriteErrorCtx(r.Context(), w, wire.RequestFailed("IdP-initiated sign-on is not supported yet."))
}
