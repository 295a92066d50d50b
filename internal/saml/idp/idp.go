// Package idp is Gatehouse as the SAML 2.0 identity provider of an
// environment's SAML applications, on PingOne's paths:
//
//	GET|POST {authPath}/{envId}/saml20/idp/sso       SP-initiated sign-on (HTTP-Redirect and HTTP-POST)
//	GET      {authPath}/{envId}/saml20/idp/startsso  IdP-initiated sign-on (?spEntityId=…&applicationUrl=…)
//	GET      {authPath}/{envId}/saml20/resume         the answer once the flow ends (?flowId=…)
//	GET      {authPath}/{envId}/saml20/metadata/{appId}  the IdP's metadata for one application
//
// A SAML request is one more way into the ordinary sign-on flow: sso
// checks the AuthnRequest (crewjam/saml does the XML and signatures),
// starts a flow whose resume is saml20/resume and sends the browser to the
// sign-on page; resume turns the completed flow into a signed Response,
// posted only to an assertion consumer service the application registers.
package idp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// ResumePath is where a SAML sign-on's flow returns (flow.Request.Resume).
const ResumePath = "saml20/resume"

// Bounds on what an unauthenticated caller can make the server read.
const (
	// maxBody bounds an HTTP-POST AuthnRequest's form.
	maxBody = 64 << 10
	// maxMessage bounds the SAMLRequest parameter as sent (base64, and
	// deflated for HTTP-Redirect). crewjam/saml also stops inflating at
	// 1 MiB, so a deflate bomb ends there at the latest.
	maxMessage = 32 << 10
	// maxRelayState is SAML's own bound (saml-bindings §3.4.3, §3.5.3).
	maxRelayState = 80
	// maxRequestID bounds an AuthnRequest's ID (crewjam's are 41 bytes);
	// the message bounds alone would let it inflate to 1 MiB.
	maxRequestID = 256
	// maxTarget bounds an IdP-initiated applicationUrl.
	maxTarget = 2048
)

// DefaultAssertionDuration is an assertion's life when the application
// names none (seconds).
const DefaultAssertionDuration = 60

// Service serves the SAML identity provider's endpoints.
type Service struct {
	Store    store.Store
	Config   *config.Cache
	Flows    *flow.Engine
	Keys     *keys.Manager
	Cookies  session.Cookies
	AuthPath string // base URL, no trailing slash
	// AllowSHA1 accepts AuthnRequests signed with SHA-1 algorithms
	// (--saml-allow-sha1); off, they are refused.
	AllowSHA1 bool
	Now       func() time.Time
	Log       *slog.Logger

	mu    sync.Mutex
	index map[string]entityIndex // by environment id
}

// Routes registers the endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{envID}/saml20/idp/sso", s.sso)
	mux.HandleFunc("POST /{envID}/saml20/idp/sso", s.sso)
	mux.HandleFunc("GET /{envID}/saml20/idp/startsso", s.startSSO)
	mux.HandleFunc("GET /{envID}/saml20/resume", s.resume)
	mux.HandleFunc("GET /{envID}/saml20/metadata/{appID}", s.metadata)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// EntityID is the environment's IdP entity id, PingOne's
// {authPath}/{envId}: the Issuer of its responses and assertions.
func (s *Service) EntityID(envID string) string { return s.AuthPath + "/" + envID }

// SSOURL is the environment's single sign-on service, the Destination a
// signed AuthnRequest must name.
func (s *Service) SSOURL(envID string) string { return s.AuthPath + "/" + envID + "/saml20/idp/sso" }

// provider is crewjam's identity provider for envID, answering for the
// environment's SAML applications (found by spEntityId through spp).
func (s *Service) provider(envID string, spp saml.ServiceProviderProvider) *saml.IdentityProvider {
	entity, _ := url.Parse(s.EntityID(envID))
	sso, _ := url.Parse(s.SSOURL(envID))
	return &saml.IdentityProvider{
		MetadataURL:             *entity,
		SSOURL:                  *sso,
		ServiceProviderProvider: spp,
		RejectSHA1Signatures:    !s.AllowSHA1,
	}
}

// serviceProviders finds an environment's SAML application by the entity
// id of its AuthnRequests, and remembers it for the handler.
type serviceProviders struct {
	s     *Service
	ctx   context.Context
	envID string
	app   *config.Application
	meta  *saml.EntityDescriptor
	// err is the lookup's own failure (the store), kept apart from an
	// unknown entity id.
	err error
}

// GetServiceProvider implements saml.ServiceProviderProvider.
func (p *serviceProviders) GetServiceProvider(_ *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	app, err := p.s.appByEntityID(p.ctx, p.envID, entityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		p.err = err
		return nil, err
	}
	meta, err := p.s.spMetadata(p.ctx, app)
	if err != nil {
		p.err = err
		return nil, err
	}
	p.app, p.meta = app, meta
	return meta, nil
}

// appByEntityID is envID's SAML application whose spEntityId is entityID
// (unique per environment); store.ErrNotFound when there is none.
func (s *Service) appByEntityID(ctx context.Context, envID, entityID string) (*config.Application, error) {
	if entityID == "" {
		return nil, store.ErrNotFound
	}
	ids, err := s.entityIDs(ctx, envID)
	if err != nil {
		return nil, err
	}
	id, ok := ids[entityID]
	if !ok {
		return nil, store.ErrNotFound
	}
	a, err := s.Config.Application(ctx, envID, id)
	if err != nil {
		return nil, err
	}
	if a.Protocol != wire.ProtocolSAML || a.SAML.SpEntityID != entityID {
		// Changed since the index was read: a later request sees it.
		return nil, store.ErrNotFound
	}
	return a, nil
}

// maxIndexed bounds the environments whose entity ids are kept.
const maxIndexed = 4096

// entityIndex is an environment's SAML applications by spEntityId, at a
// configuration version: an unauthenticated AuthnRequest must not cost a
// read of every application of the environment.
type entityIndex struct {
	version int64
	ids     map[string]string
}

// entityIDs is envID's index, read again once its configuration changed.
func (s *Service) entityIDs(ctx context.Context, envID string) (map[string]string, error) {
	v, err := s.Config.Version(ctx, envID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ix, ok := s.index[envID]
	s.mu.Unlock()
	if ok && ix.version == v {
		return ix.ids, nil
	}
	apps, err := s.Store.ListApplications(ctx, envID)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for i := range apps {
		if apps[i].Protocol != wire.ProtocolSAML {
			continue
		}
		a, err := config.DecodeApplication(&apps[i])
		if err != nil {
			continue // a damaged application answers no request
		}
		if a.SAML.SpEntityID != "" {
			ids[a.SAML.SpEntityID] = a.ID
		}
	}
	s.mu.Lock()
	if s.index == nil || len(s.index) >= maxIndexed {
		s.index = map[string]entityIndex{}
	}
	s.index[envID] = entityIndex{version: v, ids: ids}
	s.mu.Unlock()
	return ids, nil
}

// samlApp is envID's SAML application appID; store.ErrNotFound when there
// is none (or it is another protocol's).
func (s *Service) samlApp(ctx context.Context, envID, appID string) (*config.Application, error) {
	if uuid.Validate(appID) != nil || len(appID) != 36 {
		return nil, store.ErrNotFound
	}
	a, err := s.Config.Application(ctx, envID, appID)
	if err != nil {
		return nil, err
	}
	if a.Protocol != wire.ProtocolSAML {
		return nil, store.ErrNotFound
	}
	return a, nil
}

// spMetadata is the application as crewjam sees a service provider: its
// entity id, its ACS URLs (HTTP-POST: the only binding a Response with an
// assertion goes by), whether its AuthnRequests must be signed and the
// certificates that verify them.
func (s *Service) spMetadata(ctx context.Context, app *config.Application) (*saml.EntityDescriptor, error) {
	sp := saml.SPSSODescriptor{}
	sp.ProtocolSupportEnumeration = "urn:oasis:names:tc:SAML:2.0:protocol"
	for i, acs := range app.SAML.AcsURLs {
		sp.AssertionConsumerServices = append(sp.AssertionConsumerServices, saml.IndexedEndpoint{
			Binding: saml.HTTPPostBinding, Location: acs, Index: i})
	}
	if v := app.SAML.SpVerification; v != nil {
		signed := v.AuthnRequestSigned
		sp.AuthnRequestsSigned = &signed
		for _, ref := range v.Certificates {
			c, err := s.Store.GetCertificate(ctx, app.EnvironmentID, ref.ID)
			if errors.Is(err, store.ErrNotFound) {
				// Deleted since: it verifies nothing.
				continue
			}
			if err != nil {
				return nil, err
			}
			cert, err := x509.ParseCertificate(c.Certificate)
			if err != nil {
				s.log().Warn("saml: a verification certificate does not parse", "environment", app.EnvironmentID, "certificate", ref.ID, "err", err)
				continue
			}
			sp.KeyDescriptors = append(sp.KeyDescriptors, saml.KeyDescriptor{Use: "signing",
				KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: encodeCert(cert)}}}}})
		}
	}
	return &saml.EntityDescriptor{EntityID: app.SAML.SpEntityID, SPSSODescriptors: []saml.SPSSODescriptor{sp}}, nil
}

// registeredACS reports whether acs is one of app's ACS URLs (exactly:
// a Response goes nowhere else).
func registeredACS(app *config.Application, acs string) bool {
	return acs != "" && slices.Contains(app.SAML.AcsURLs, acs)
}

// ---- errors

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-on error</title></head>
<body><main><h1>Sign-on could not continue</h1><p>{{.Message}}</p>{{range .Details}}<p>{{.Message}}</p>{{end}}
<p>Error id: <code>{{.ID}}</code></p></main></body></html>
`))

// errorPage answers an error that must not go to the service provider
// (its ACS is not trusted, or there is none): PingOne's error JSON, or an
// HTML page when a browser asks for one, as the auth service does.
func (s *Service) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	var e *wire.Error
	if !errors.As(err, &e) {
		if errors.Is(err, store.ErrNotFound) {
			e = wire.NotFound("")
		} else {
			s.log().ErrorContext(r.Context(), "saml idp", "path", r.URL.Path, "err", err)
			e = wire.Unexpected()
		}
	}
	if e.ID == "" {
		c := *e
		c.ID = uuid.NewString()
		e = &c
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		wire.WriteErrorCtx(r.Context(), w, e)
		return
	}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	errorTmpl.Execute(w, e)
}

// invalid is the 400 of a SAML message that cannot be answered.
func invalid(target, format string, args ...any) *wire.Error {
	return wire.InvalidRequest(wire.InvalidValue(target, fmt.Sprintf(format, args...)))
}
