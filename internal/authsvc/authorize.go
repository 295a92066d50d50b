package authsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/agreement"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// authorizeRoutes registers authorize, pushed authorization requests and
// resume.
func (s *Service) authorizeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{envID}/as/par", s.par)
	mux.HandleFunc("GET /{envID}/as/authorize", s.authorize)
	mux.HandleFunc("POST /{envID}/as/authorize", s.authorize)
	mux.HandleFunc("GET /{envID}/as/resume", s.resume)
	s.deviceRoutes(mux)
}

// authzError is an authorize error once the redirect URI is trusted: it
// goes back to the client (redirect, or JSON for pi.flow).
type authzError struct {
	code, description string
	// internal marks Gatehouse's own failure (the store), the one case a
	// pi.flow client gets a 500: a flow that failed is a 400 whatever its
	// code, since retrying it cannot help.
	internal bool
}

func (e *authzError) Error() string { return e.code + ": " + e.description }

// oauth is e as the endpoints that answer RFC 6749 §5.2 bodies (token,
// par, device_authorization) give it: 400 with its code, or server_error
// for Gatehouse's own failure.
func (e *authzError) oauth() *oauthError {
	if e.internal {
		return serverError()
	}
	return &oauthError{status: http.StatusBadRequest, code: e.code, description: e.description}
}

// tokenScopes is e as the grants that issue one custom resource's token
// (client_credentials, token exchange) refuse scopes: several resources
// are never allowed there, whatever the application's setting.
func (e *authzError) tokenScopes() *oauthError {
	if !e.internal && e.description == multiResourceDesc {
		return invalidScope(errMultipleResources)
	}
	return e.oauth()
}

// authorizeParams reads the request's parameters: the query for GET, the
// form for POST. Repeated parameters are refused (RFC 6749 §3.1).
func authorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	var v url.Values
	if r.Method == http.MethodPost {
		form, oe := parseForm(w, r)
		if oe != nil {
			return nil, wire.InvalidRequest(wire.Detail{Code: wire.DetailInvalidValue, Message: oe.description})
		}
		v = form
	} else {
		v = r.URL.Query()
	}
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, wire.InvalidRequest(wire.InvalidValue(k, "Parameter "+k+" is repeated."))
		}
	}
	return v, nil
}

// client is the authorize request's client and where it may be sent back
// to.
type authzClient struct {
	app      *config.Application
	redirect string // the effective redirect URI
}

// authorizeClient checks client_id and redirect_uri. Until both are
// known good nothing is redirected: the user sees an error instead.
func (s *Service) authorizeClient(ctx context.Context, envID string, p url.Values, piFlow bool) (*authzClient, error) {
	app, err := s.authorizeApp(ctx, envID, p.Get("client_id"))
	if err != nil {
		return nil, err
	}
	c := &authzClient{app: app}
	uris := app.Settings.RedirectURIs
	ru := p.Get("redirect_uri")
	switch {
	case ru != "":
		if !redirectAllowed(uris, app.Settings.AllowWildcardInRedirectURIs, ru) {
			return nil, wire.InvalidRequest(wire.InvalidValue("redirect_uri", "The redirect_uri is not registered for the application."))
		}
		c.redirect = ru
	case piFlow:
		// pi.flow answers with JSON: no redirect is needed.
		c.redirect = defaultRedirect(uris)
	case len(uris) == 1 && defaultRedirect(uris) != "":
		// RFC 6749 §3.1.2.3: one registered URI may be left out (a
		// wildcard pattern is not a URI to send anyone to).
		c.redirect = uris[0]
	default:
		return nil, wire.InvalidRequest(wire.Required("redirect_uri"))
	}
	return c, nil
}

// authorizeApp finds the enabled OpenID Connect application client_id
// names.
func (s *Service) authorizeApp(ctx context.Context, envID, id string) (*config.Application, error) {
	if id == "" {
		return nil, wire.InvalidRequest(wire.Required("client_id"))
	}
	bad := wire.InvalidRequest(wire.InvalidValue("client_id", "The client_id names no enabled OpenID Connect application of this environment."))
	if uuid.Validate(id) != nil || len(id) != 36 {
		return nil, bad
	}
	app, err := s.Config.Application(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !app.Enabled || app.Protocol != "OPENID_CONNECT" {
		return nil, bad
	}
	return app, nil
}

var responseModes = []string{"query", "fragment", "form_post", "pi.flow"}

func (s *Service) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	env, err := s.Config.Environment(ctx, envID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	p, err := authorizeParams(w, r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	pushed := p.Has("request_uri")
	signedObject := false // the parameters came in a signed request object
	switch {
	case pushed:
		if p, err = s.pushedParams(ctx, env.ID, p); err != nil {
			s.errorPage(w, r, err)
			return
		}
	case p.Has("request"):
		obj, done := s.authorizeRequestObject(w, r, env, p)
		if done {
			return
		}
		p, signedObject = obj.params, obj.signed
	}
	mode := p.Get("response_mode")
	c, err := s.authorizeClient(ctx, env.ID, p, mode == "pi.flow")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	req := flow.Request{ResponseMode: mode, RedirectURI: p.Get("redirect_uri"), State: p.Get("state")}
	fail := func(e *authzError) { s.authorizeError(w, r, c.redirect, &req, e) }
	if !pushed && c.app.Settings.ParRequirement == "REQUIRED" {
		req.ResponseMode = errorMode(p)
		fail(&authzError{code: "invalid_request", description: parRequiredDesc})
		return
	}
	// A pushed request was held to this when it was pushed.
	if !pushed && !signedObject && c.app.Settings.RequireSignedRequestObject {
		req.ResponseMode = errorMode(p)
		fail(&authzError{code: "invalid_request", description: signedRequestObjectRequiredDesc})
		return
	}
	if e := s.checkAuthorizeParams(ctx, env, c, p, &req); e != nil {
		fail(e)
		return
	}
	var acr []string
	if v := strings.TrimSpace(p.Get("acr_values")); v != "" {
		acr = strings.Fields(v)
	}
	req.SetLanguages(append(strings.Fields(p.Get("ui_locales")), agreement.AcceptLanguage(r.Header.Get("Accept-Language"))...)...)
	started, err := s.Flows.Start(ctx, flow.Start{Env: &env.Environment, App: &c.app.Application, Request: req, ACRValues: acr, Token: s.Cookies.Token(r)})
	var se *flow.StartError
	if errors.As(err, &se) {
		fail(&authzError{code: se.Code, description: se.Description})
		return
	}
	var rl *ratelimit.Error
	if errors.As(err, &rl) {
		// Answered here, never redirected: the client would lose the 429.
		s.limitedPage(w, r, rl)
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.Cookies.Set(w, env.ID, started.Token)
	f := started.Flow
	switch {
	case (f.Status == flow.StatusCompleted || f.Status == flow.StatusFailed) && !req.PiFlow():
		// Single sign-on: the session satisfies the policy (or its user is
		// not admitted to the application, which then hears so).
		s.answer(w, r, &env.Environment, f)
	case req.PiFlow():
		out, err := s.Flows.Render(ctx, f, nil)
		if err != nil {
			s.errorPage(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		wire.Write(w, http.StatusOK, out)
	default:
		target := s.Flows.SignOnPageURL(env.ID, f.ID)
		if c.app.Settings.LoginPageURL != "" {
			target = appendParams(c.app.Settings.LoginPageURL, url.Values{"environmentId": {env.ID}, "flowId": {f.ID}}, false)
		}
		http.Redirect(w, r, target, http.StatusFound)
	}
}

// authorizeRequestObject replaces an authorize request's parameters with
// those of its request object (RFC 9101 §6.3: only the object's count,
// and its client_id must be the request's). An object that fails is not
// trusted for anything: its error goes to the redirect URI the request
// itself names, checked as ever, with the request's own state, or is
// shown when that URI is not known good. done reports that w was
// answered.
func (s *Service) authorizeRequestObject(w http.ResponseWriter, r *http.Request, env *config.Environment, p url.Values) (obj *requestObject, done bool) {
	ctx := r.Context()
	app, err := s.authorizeApp(ctx, env.ID, p.Get("client_id"))
	if err != nil {
		s.errorPage(w, r, err)
		return nil, true
	}
	// An HS* object is keyed with the client secret, and authorize needs
	// no authentication: each object would test a guess of the secret.
	// Such guesses share the token endpoint's budget of failed client
	// authentications, by address and by client.
	var keys limitKeys
	if secretSigned(p.Get("request")) {
		keys = limitKeys{addr: httpx.SourceKey(httpx.SourceOf(r)), client: ClientKey(env.ID, app.ID)}
		if rl := s.Limits.secretGate(keys, s.now()); rl != nil {
			s.limitedPage(w, r, rl)
			return nil, true
		}
	}
	obj, why := s.verifyRequestObject(ctx, env.ID, app, p.Get("request"))
	if why == "" {
		return obj, false
	}
	if why == whyBadSecretSignature {
		s.Limits.failed(keys, s.now())
	}
	mode := p.Get("response_mode")
	c, err := s.authorizeClient(ctx, env.ID, p, mode == "pi.flow")
	if err != nil {
		s.errorPage(w, r, wire.InvalidRequest(wire.InvalidValue("request", why)))
		return nil, true
	}
	req := flow.Request{ResponseMode: errorMode(p), State: p.Get("state")}
	s.authorizeError(w, r, c.redirect, &req, &authzError{code: "invalid_request_object", description: why})
	return nil, true
}

// errorMode is where an authorize error goes before the request's
// parameters are checked: the response_mode asked for when Gatehouse
// serves it, the query when it does not, and with none the response
// type's default — the fragment once the request asks for a token.
func errorMode(p url.Values) string {
	switch m := p.Get("response_mode"); {
	case m == "":
		rt, _ := lookupResponseType(p.Get("response_type"))
		return rt.defaultMode()
	case slices.Contains(responseModes, m):
		return m
	}
	return "query"
}

// parRequiredDesc refuses an authorization request that was not pushed
// to an application whose parRequirement is REQUIRED.
const parRequiredDesc = "The application requires pushed authorization requests: send a request_uri from /as/par."

// checkAuthorizeParams validates the authorization request's parameters
// after its client into req, for authorize and for /as/par alike.
func (s *Service) checkAuthorizeParams(ctx context.Context, env *config.Environment, c *authzClient, p url.Values, req *flow.Request) *authzError {
	if req.ResponseMode != "" && !slices.Contains(responseModes, req.ResponseMode) {
		req.ResponseMode = "query"
		return &authzError{code: "invalid_request", description: "response_mode must be query, fragment, form_post or pi.flow."}
	}
	rt, e := checkResponseType(p, c, req)
	if e != nil {
		return e
	}
	req.ResponseType = rt.name
	return s.authorizeParamsInto(ctx, env, c, p, req, rt)
}

// checkResponseType checks response_type against what Gatehouse serves
// and the application allows, and the parameters the response type
// itself requires; it settles the response mode.
func checkResponseType(p url.Values, c *authzClient, req *flow.Request) (responseType, *authzError) {
	v := p.Get("response_type")
	rt, ok := lookupResponseType(v)
	if req.ResponseMode == "" {
		// An error about the response type itself goes back as the
		// request's words would have: the query unless a token was asked.
		req.ResponseMode = rt.defaultMode()
	}
	switch {
	case v == "":
		return rt, &authzError{code: "invalid_request", description: "response_type is required."}
	case !ok:
		return rt, &authzError{code: "unsupported_response_type", description: "response_type must be one of " + strings.Join(responseTypeNames(), ", ") + "."}
	}
	if why := rt.allowedBy(c.app.Settings.ResponseTypes, c.app.Settings.GrantTypes); why != "" {
		return rt, &authzError{code: "unauthorized_client", description: why}
	}
	if rt.frontChannel() && req.ResponseMode == "query" {
		// Multiple Response Types §2.1: tokens never go in a query
		// string, where logs and Referer headers keep them.
		return rt, &authzError{code: "invalid_request", description: "response_mode query cannot carry tokens: use fragment, form_post or pi.flow."}
	}
	if rt.idToken {
		// OpenID Connect Core §3.2.2.1, §3.3.2.11: an ID token from the
		// authorization endpoint is bound to the client's request by the
		// nonce alone, and it is for OpenID Connect requests only.
		if !slices.Contains(strings.Fields(p.Get("scope")), "openid") {
			return rt, &authzError{code: "invalid_scope", description: "response_type id_token requires the openid scope."}
		}
		if p.Get("nonce") == "" {
			return rt, &authzError{code: "invalid_request", description: "nonce is required when response_type includes id_token."}
		}
	}
	if rt.code && rt.token && !rt.idToken && p.Get("nonce") == "" && slices.Contains(strings.Fields(p.Get("scope")), "openid") {
		// §3.3.2.11: the nonce is required throughout the hybrid flow,
		// code token too, whose ID token the token endpoint issues.
		return rt, &authzError{code: "invalid_request", description: "nonce is required for the hybrid response_type code token with the openid scope."}
	}
	return rt, nil
}

// authorizeParamsInto validates the rest of the request into req.
func (s *Service) authorizeParamsInto(ctx context.Context, env *config.Environment, c *authzClient, p url.Values, req *flow.Request, rt responseType) *authzError {
	req.Nonce = p.Get("nonce")
	req.LoginHint = p.Get("login_hint")
	if len(req.State) > 2048 || len(req.Nonce) > 2048 || len(req.LoginHint) > 256 {
		return &authzError{code: "invalid_request", description: "state and nonce have at most 2048 characters, login_hint 256."}
	}
	// prompt
	for _, v := range strings.Fields(p.Get("prompt")) {
		switch v {
		case "none", "login":
			if req.Prompt != "" && req.Prompt != v {
				return &authzError{code: "invalid_request", description: "prompt=none cannot be combined with prompt=login."}
			}
			req.Prompt = v
		case "consent", "select_account":
			// Gatehouse asks no consent and keeps one session per browser.
		default:
			return &authzError{code: "invalid_request", description: "Unsupported prompt value " + strconv.Quote(v) + "."}
		}
	}
	if v := p.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &authzError{code: "invalid_request", description: "max_age must be a non-negative integer."}
		}
		req.MaxAge = &n
	}
	// PKCE
	req.CodeChallenge, req.CodeChallengeMethod = p.Get("code_challenge"), p.Get("code_challenge_method")
	if req.CodeChallenge != "" {
		if req.CodeChallengeMethod == "" {
			req.CodeChallengeMethod = "plain" // RFC 7636 §4.3
		}
		if req.CodeChallengeMethod != "S256" && req.CodeChallengeMethod != "plain" {
			return &authzError{code: "invalid_request", description: "code_challenge_method must be S256 or plain."}
		}
		if !validVerifier(req.CodeChallenge) {
			return &authzError{code: "invalid_request", description: "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]."}
		}
	} else if req.CodeChallengeMethod != "" {
		return &authzError{code: "invalid_request", description: "code_challenge_method was sent without code_challenge."}
	}
	// PKCE binds a code to its client: a response without a code has
	// nothing for it to bind.
	switch enf := c.app.Settings.PkceEnforcement; {
	case !rt.code:
	case req.CodeChallenge == "" && (enf == "REQUIRED" || enf == "S256_REQUIRED"):
		return &authzError{code: "invalid_request", description: "The application requires PKCE: send code_challenge."}
	case req.CodeChallenge == "" && c.app.TokenEndpointAuthMethod == "NONE":
		// A public client has no secret: only PKCE binds the code to it.
		return &authzError{code: "invalid_request", description: "A public client (tokenEndpointAuthMethod NONE) must use PKCE."}
	case enf == "S256_REQUIRED" && req.CodeChallenge != "" && req.CodeChallengeMethod != "S256":
		return &authzError{code: "invalid_request", description: "The application requires code_challenge_method S256."}
	}
	scope := strings.Join(strings.Fields(p.Get("scope")), " ")
	if scope == "" {
		return &authzError{code: "invalid_scope", description: "scope is required."}
	}
	aud, ttl, e := s.resolveScopes(ctx, env.ID, c.app, strings.Fields(scope))
	if e != nil {
		return e
	}
	req.Scope, req.Audience, req.AccessTokenTTL = scope, aud, ttl
	return nil
}

// multiResourceDesc refuses scopes of several resources to an application
// that does not allow them.
const multiResourceDesc = "The scopes belong to more than one resource; the application does not allow that."

// resolveScopes maps the requested scopes to their resources: the openid
// resource's scopes are every application's, other scopes need a grant.
// Tokens are for one resource (besides openid) unless the application
// allows several. It returns the audience and the access token lifetime.
// A damaged resource or scope fails only the applications it is offered
// to: the openid resource's fail every one.
func (s *Service) resolveScopes(ctx context.Context, envID string, app *config.Application, names []string) ([]string, int, *authzError) {
	// The client learns nothing of Gatehouse's own failures: the log is
	// where the operator finds them (a damaged row, the store).
	unexpected := func(err error) ([]string, int, *authzError) {
		slog.ErrorContext(ctx, "authorize: the requested scopes cannot be resolved", "environment", envID, "application", app.ID, "err", err)
		return nil, 0, &authzError{code: "server_error", description: "An unexpected error occurred.", internal: true}
	}
	catalog, err := s.Config.Resources(ctx, envID)
	if err != nil {
		return unexpected(err)
	}
	grants, err := s.Config.ApplicationGrants(ctx, envID, app.ID)
	if err != nil {
		return unexpected(err)
	}
	// scope name → resource ids offering it to this application.
	offered := map[string][]string{}
	offer := func(resID string, ids []string) error {
		scopes, err := catalog.Scopes(resID)
		if err != nil {
			return err
		}
		for _, sc := range scopes {
			if ids == nil || slices.Contains(ids, sc.ID) {
				offered[sc.Name] = append(offered[sc.Name], resID)
			}
		}
		return nil
	}
	openid, err := catalog.OpenID()
	if err != nil {
		return unexpected(err)
	}
	if openid != nil {
		if err := offer(openid.ID, nil); err != nil {
			return unexpected(err)
		}
	}
	for _, g := range grants {
		if openid != nil && g.ResourceID == openid.ID {
			continue
		}
		if err := offer(g.ResourceID, g.ScopeIDs); err != nil {
			return unexpected(err)
		}
	}
	var used []string // resources other than openid, in request order
	for _, n := range names {
		ids := offered[n]
		if len(ids) == 0 {
			return nil, 0, &authzError{code: "invalid_scope", description: fmt.Sprintf("The scope %s is not granted to the application.", n)}
		}
		if openid != nil && slices.Contains(ids, openid.ID) {
			continue
		}
		if !slices.Contains(used, ids[0]) {
			used = append(used, ids[0])
		}
	}
	if len(used) > 1 && !app.Settings.RequestScopesForMultipleResourcesEnabled {
		return nil, 0, &authzError{code: "invalid_scope", description: multiResourceDesc}
	}
	ttl := 3600
	if openid != nil && openid.AccessTokenValiditySeconds > 0 {
		ttl = openid.AccessTokenValiditySeconds
	}
	if len(used) == 0 {
		return []string{provision.PingOneAPIAudience}, ttl, nil
	}
	var aud []string
	for i, id := range used {
		// Offered scopes come from resources the catalog holds decoded.
		r, err := catalog.Resource(id)
		if err != nil {
			return unexpected(err)
		}
		if !slices.Contains(aud, r.Audience) {
			aud = append(aud, r.Audience)
		}
		if i == 0 || r.AccessTokenValiditySeconds < ttl {
			ttl = r.AccessTokenValiditySeconds
		}
	}
	return aud, ttl, nil
}

// authorizeError sends an error to the client: pi.flow gets JSON, the
// others a redirect to their (checked) redirect URI.
func (s *Service) authorizeError(w http.ResponseWriter, r *http.Request, redirect string, req *flow.Request, e *authzError) {
	params := url.Values{"error": {e.code}, "error_description": {e.description}}
	if req.State != "" {
		params.Set("state", req.State)
	}
	if req.PiFlow() || redirect == "" {
		// pi.flow clients read JSON; OAuth's error codes tell them why.
		status := http.StatusBadRequest
		if e.internal {
			status = http.StatusInternalServerError
		}
		writeJSONNoStore(w, status, map[string]string{"error": e.code, "error_description": e.description})
		return
	}
	s.sendToClient(w, r, redirect, req.ResponseMode, params)
}

// sendToClient delivers an authorization response by response mode.
func (s *Service) sendToClient(w http.ResponseWriter, r *http.Request, redirect, mode string, params url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	switch mode {
	case "form_post":
		formPost(w, redirect, params)
	case "fragment":
		http.Redirect(w, r, appendParams(redirect, params, true), http.StatusFound)
	default:
		http.Redirect(w, r, appendParams(redirect, params, false), http.StatusFound)
	}
}

// appendParams adds params to a URI's query (or fragment), keeping the
// query it already has.
func appendParams(uri string, params url.Values, fragment bool) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	if fragment {
		// The parameters are encoded once, as a browser's location.hash
		// is decoded once: setting u.Fragment would escape their escapes.
		u.Fragment, u.RawFragment = "", ""
		return u.String() + "#" + params.Encode()
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}
