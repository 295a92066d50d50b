package idp

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// request is what a SAML sign-on's flow keeps of the request that started
// it (flow.Request.Protocol), for resume to answer it: small, since every
// step of the flow stores it.
type request struct {
	// ID is the AuthnRequest's ID, the Response's InResponseTo; "" for an
	// IdP-initiated sign-on.
	ID string `json:"id,omitempty"`
	// SP is the application's spEntityId, the assertion's audience.
	SP string `json:"sp"`
	// ACS is where the Response goes: one of the application's acsUrls
	// (checked again at resume), or, when SignedACS, the URL a signed
	// AuthnRequest named and the application accepts from one
	// (enableAlwaysAcceptAcsUrlInSignedAuthnRequest).
	ACS       string `json:"acs"`
	SignedACS bool   `json:"signedAcs,omitempty"`
	// RelayState goes back with the Response as it came (≤ 80 bytes), or
	// is the deep link of an IdP-initiated sign-on.
	RelayState string `json:"relayState,omitempty"`
}

// sso is PingOne's saml20/idp/sso: an SP-initiated sign-on, the
// AuthnRequest in the query (HTTP-Redirect) or in a form (HTTP-POST).
// Until the AuthnRequest names a known, enabled application and one of
// its ACS URLs, nothing goes to the service provider: the browser gets
// PingOne's error.
func (s *Service) sso(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	params, err := readMessage(w, r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if params.Get("SAMLRequest") == "" {
		s.errorPage(w, r, wire.InvalidRequest(wire.Required("SAMLRequest")))
		return
	}
	if len(params.Get("SAMLRequest")) > maxMessage {
		s.errorPage(w, r, invalid("SAMLRequest", "The SAMLRequest is larger than %d bytes.", maxMessage))
		return
	}
	if len(params.Get("RelayState")) > maxRelayState {
		s.errorPage(w, r, invalid("RelayState", "The RelayState is longer than %d bytes.", maxRelayState))
		return
	}
	spp := &serviceProviders{s: s, ctx: ctx, envID: env.ID}
	idp := s.provider(env.ID, spp)
	req, err := saml.NewIdpAuthnRequest(idp, r)
	if err != nil {
		s.errorPage(w, r, invalid("SAMLRequest", "The SAMLRequest is not a SAML message Gatehouse can read."))
		return
	}
	err = req.Validate()
	if spp.err != nil {
		s.errorPage(w, r, spp.err)
		return
	}
	app := spp.app
	if err != nil && errors.Is(err, saml.ErrUnknownAssertionConsumerService) && app != nil && signedACS(app, req) {
		// The signature verified (crewjam checks it before the ACS): the
		// application takes any ACS URL a signed request names.
		req.ACSEndpoint = &saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: req.Request.AssertionConsumerServiceURL}
		err = nil
	}
	if err != nil {
		s.errorPage(w, r, validationError(err))
		return
	}
	if !app.Enabled {
		s.errorPage(w, r, invalid("Issuer", "The application %s is disabled.", app.Name))
		return
	}
	if len(req.Request.ID) > maxRequestID {
		// The ID is kept in the replay record and in every step of the
		// flow: no SAML library makes one this long.
		s.errorPage(w, r, invalid("ID", "The AuthnRequest's ID is longer than %d bytes.", maxRequestID))
		return
	}
	// An AuthnRequest is answered once: a replayed one (signed or not)
	// is refused until it would have expired anyway.
	key := "saml-authn " + app.ID + " " + req.Request.ID
	if err := s.Store.UseOnce(ctx, env.ID, key, req.Request.IssueInstant.Add(saml.MaxIssueDelay+saml.MaxClockSkew)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = invalid("ID", "The AuthnRequest %s was already used.", req.Request.ID)
		}
		s.errorPage(w, r, err)
		return
	}
	st := request{ID: req.Request.ID, SP: app.SAML.SpEntityID, ACS: req.ACSEndpoint.Location, RelayState: req.RelayState,
		SignedACS: !registeredACS(app, req.ACSEndpoint.Location)}
	force := req.Request.ForceAuthn != nil && *req.Request.ForceAuthn
	passive := req.Request.IsPassive != nil && *req.Request.IsPassive
	if force && passive {
		// A fresh sign-on without showing the user anything cannot be.
		s.sendStatus(w, r, env.ID, app, &st, saml.StatusNoPassive, "The sign-on needs the user: ForceAuthn and IsPassive were both requested.")
		return
	}
	prompt := ""
	switch {
	case force:
		prompt = "login"
	case passive:
		prompt = "none"
	}
	s.start(w, r, &env.Environment, app, &st, prompt)
}

// signedACS reports whether req may name an ACS URL app does not
// register: it is signed and the application accepts that.
func signedACS(app *config.Application, req *saml.IdpAuthnRequest) bool {
	if !app.SAML.EnableAlwaysAcceptAcsURLInSignedAuthnRequest {
		return false
	}
	// Only a signature crewjam verified counts: the enveloped one (it is
	// verified whenever present), or the query's of an HTTP-Redirect GET.
	// A Signature in a POST's query is read by no binding and verifies
	// nothing.
	signed := req.Request.Signature != nil ||
		(req.HTTPRequest.Method == http.MethodGet && req.HTTPRequest.URL.Query().Has("Signature"))
	u, err := url.Parse(req.Request.AssertionConsumerServiceURL)
	return signed && err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// readMessage reads a SAML binding's parameters: the query of a GET, the
// form of a POST (bounded, and only as a form). A parameter may not be
// repeated.
func readMessage(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	var v url.Values
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, wire.UnsupportedMediaType(ct)
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, wire.TooLarge(maxBody)
			}
			return nil, invalid("SAMLRequest", "The form does not parse.")
		}
		v = r.PostForm
	} else {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, invalid("SAMLRequest", "The query does not parse.")
		}
		v = q
	}
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, invalid(k, "Parameter %s is repeated.", k)
		}
	}
	return v, nil
}

// validationError is PingOne's 400 for an AuthnRequest crewjam refused,
// naming the part at fault.
func validationError(err error) *wire.Error {
	switch {
	case errors.Is(err, saml.ErrUnknownServiceProvider):
		return invalid("Issuer", "No SAML application of this environment has the AuthnRequest's issuer as its spEntityId.")
	case errors.Is(err, saml.ErrUnknownAssertionConsumerService):
		return invalid("AssertionConsumerServiceURL", "The AssertionConsumerServiceURL is not one of the application's acsUrls.")
	case errors.Is(err, saml.ErrUnsupported):
		return invalid("SAMLRequest", "The AuthnRequest uses something Gatehouse does not accept (a SHA-1 signature, another SAML version, a binding).")
	case errors.Is(err, saml.ErrInvalidSignature), errors.Is(err, saml.ErrUntrustedCertificate):
		return invalid("Signature", "The AuthnRequest's signature is missing or does not verify with the application's verification certificates.")
	case errors.Is(err, saml.ErrDestinationMismatch):
		return invalid("Destination", "The AuthnRequest's Destination is not this environment's single sign-on URL.")
	case errors.Is(err, saml.ErrExpired), errors.Is(err, saml.ErrNotYetValid):
		return invalid("IssueInstant", "The AuthnRequest's IssueInstant is too old or in the future.")
	case errors.Is(err, saml.ErrMissingElement):
		return invalid("SAMLRequest", "The AuthnRequest lacks a required element (Issuer or ID).")
	default:
		return invalid("SAMLRequest", "The SAMLRequest is not a SAML AuthnRequest Gatehouse can read.")
	}
}

// start runs the flow of a sign-on for app, answered at saml20/resume
// with st: at once when the browser's session already satisfies the
// policy (single sign-on), else after the sign-on page.
func (s *Service) start(w http.ResponseWriter, r *http.Request, env *store.Environment, app *config.Application, st *request, prompt string) {
	ctx := r.Context()
	raw, err := json.Marshal(st)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	freq := flow.Request{Resume: ResumePath, Protocol: raw, Prompt: prompt}
	freq.SetLanguages(agreement.AcceptLanguage(r.Header.Get("Accept-Language"))...)
	started, err := s.Flows.Start(ctx, flow.Start{Env: env, App: &app.Application, Request: freq, Token: s.Cookies.Token(r)})
	var se *flow.StartError
	if errors.As(err, &se) {
		if se.Code == "login_required" {
			s.sendStatus(w, r, env.ID, app, st, saml.StatusNoPassive, "The user is not signed on and IsPassive was requested.")
			return
		}
		s.sendStatus(w, r, env.ID, app, st, saml.StatusRequestDenied, se.Description)
		return
	}
	var rl *ratelimit.Error
	if errors.As(err, &rl) {
		s.errorPage(w, r, wire.RequestLimited(rl.What, rl.Seconds(), time.Now()))
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.Cookies.Set(w, env.ID, started.Token)
	f := started.Flow
	if f.Status == flow.StatusCompleted || f.Status == flow.StatusFailed {
		s.answer(w, r, env, f)
		return
	}
	target := s.Flows.SignOnPageURL(env.ID, f.ID)
	if app.Settings.LoginPageURL != "" {
		target = withParams(app.Settings.LoginPageURL, url.Values{"environmentId": {env.ID}, "flowId": {f.ID}})
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// withParams adds params to u's query.
func withParams(u string, params url.Values) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for k, v := range params {
		q[k] = v
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// startSSO is PingOne's IdP-initiated sign-on:
// saml20/idp/startsso?spEntityId=…[&applicationUrl=…]. The Response goes
// to the application's first ACS URL with applicationUrl (else its
// defaultTargetUrl) as the RelayState.
func (s *Service) startSSO(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.errorPage(w, r, invalid("spEntityId", "The query does not parse."))
		return
	}
	for k, vals := range q {
		if len(vals) > 1 {
			s.errorPage(w, r, invalid(k, "Parameter %s is repeated.", k))
			return
		}
	}
	entityID := q.Get("spEntityId")
	if entityID == "" {
		s.errorPage(w, r, wire.InvalidRequest(wire.Required("spEntityId")))
		return
	}
	app, err := s.appByEntityID(ctx, env.ID, entityID)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, invalid("spEntityId", "No SAML application of this environment has this spEntityId."))
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if !app.Enabled {
		s.errorPage(w, r, invalid("spEntityId", "The application %s is disabled.", app.Name))
		return
	}
	if len(app.SAML.AcsURLs) == 0 {
		s.errorPage(w, r, invalid("spEntityId", "The application %s has no ACS URL.", app.Name))
		return
	}
	target := q.Get("applicationUrl")
	if target == "" {
		target = app.SAML.DefaultTargetURL
	}
	if len(target) > maxTarget {
		s.errorPage(w, r, invalid("applicationUrl", "The applicationUrl is longer than %d bytes.", maxTarget))
		return
	}
	st := request{SP: app.SAML.SpEntityID, ACS: app.SAML.AcsURLs[0], RelayState: target}
	s.start(w, r, &env.Environment, app, &st, "")
}
