// Package federation is the relying party side of external identity
// provider sign-on, whatever the provider's protocol:
// /{envId}/rp/authenticate sends the browser to a provider the flow
// offers, and /{envId}/rp/callback/{protocol} takes the provider's answer
// back to the flow, maps the provider's attributes to user attributes,
// and signs on the linked user, registers a new one just in time, or asks
// the user to link a local account. A protocol (OpenID Connect in
// federation/oidc; SAML next) is a Protocol registered with the service:
// it builds the redirect and turns the callback into a verified identity,
// and nothing else here knows its messages.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Protocol signs users on at providers of some types.
type Protocol interface {
	// Types are the identity provider types it serves (OPENID_CONNECT…).
	Types() []string
	// Callback names its callback: {authPath}/{envId}/rp/callback/{name}.
	Callback() string
	// Start builds the browser's way to provider p for a sign-on the
	// flow has begun (b.State binds the answer to the flow). remember is
	// what Finish needs again (a nonce, a PKCE verifier, a request id):
	// the flow keeps it. hints are the request's own acrValues and
	// loginHint, which win over the flow's.
	Start(ctx context.Context, p *Provider, b *external.Begun, hints Hints) (to Redirect, remember any, err error)
	// State reads the flow's state from a callback request ("" if none).
	State(r *http.Request) string
	// Finish verifies the provider's answer to the callback request r and
	// returns the identity it asserts. A provider that refused the user
	// or could not be used answers a *Failure; other errors are
	// Gatehouse's own.
	Finish(ctx context.Context, p *Provider, r *http.Request, remembered json.RawMessage) (*Assertion, error)
}

// Redirect is how the browser is sent to a provider: a GET of URL, or,
// when Form is set, a POST of Form to URL (SAML's HTTP-POST binding).
type Redirect struct {
	URL  string
	Form url.Values
}

// Router is a Protocol that serves endpoints of its own beside the
// callback (SAML's assertion consumer service and metadata): Routes
// registers them, and they hand answers to s.Complete.
type Router interface {
	Routes(mux *http.ServeMux, s *Service)
}

// Hints are what the request to /rp/authenticate passes on to the
// provider.
type Hints struct{ ACRValues, LoginHint string }

// Provider is an identity provider with its typed settings.
type Provider = config.IdentityProvider

// Assertion is what a provider vouched for: the user's subject at the
// provider and the claims its mappings read
// (${providerAttributes.<claim>}).
type Assertion struct {
	Subject string
	Claims  map[string]any
}

// Failure is a provider sign-on that cannot go on: the flow fails with it
// and resume reports it to the application.
type Failure struct{ Code, Description string }

func (f *Failure) Error() string { return f.Code + ": " + f.Description }

// Service serves the relying party endpoints.
type Service struct {
	Store store.Store
	// Config serves the providers and their attribute mappings.
	Config   *config.Cache
	Flows    *flow.Engine
	External *external.Method
	Cookies  session.Cookies
	Log      *slog.Logger

	byType     map[string]Protocol
	byCallback map[string]Protocol
}

// Register adds protocols; a type or callback served twice is a
// programming error.
func (s *Service) Register(ps ...Protocol) {
	if s.byType == nil {
		s.byType, s.byCallback = map[string]Protocol{}, map[string]Protocol{}
	}
	for _, p := range ps {
		for _, t := range p.Types() {
			if s.byType[t] != nil {
				panic("federation: provider type " + t + " registered twice")
			}
			s.byType[t] = p
		}
		if s.byCallback[p.Callback()] != nil {
			panic("federation: callback " + p.Callback() + " registered twice")
		}
		s.byCallback[p.Callback()] = p
	}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Routes registers the relying party endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{envID}/rp/authenticate", s.authenticate)
	mux.HandleFunc("GET /{envID}/rp/callback/{protocol}", s.callback)
	seen := map[Protocol]bool{}
	for _, p := range s.byCallback {
		if r, ok := p.(Router); ok && !seen[p] {
			seen[p] = true
			r.Routes(mux, s)
		}
	}
}

// provider loads an identity provider of the environment with its
// settings.
func (s *Service) provider(ctx context.Context, envID, id string) (*Provider, error) {
	if uuid.Validate(id) != nil || len(id) != 36 {
		return nil, store.ErrNotFound
	}
	return s.Config.IdentityProvider(ctx, envID, id)
}

func (s *Service) environment(w http.ResponseWriter, r *http.Request) (*store.Environment, bool) {
	env, err := s.Config.Environment(r.Context(), r.PathValue("envID"))
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return nil, false
	}
	return &env.Environment, true
}

// authenticate sends the browser to the provider.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) {
	s.Authenticate(w, r, "providerId")
}

// Authenticate sends the browser to the provider that the query
// parameter idParam names, for the flow that flowId names: the body of
// /rp/authenticate (providerId) and of SAML's saml20/sp/sso (idpId).
func (s *Service) Authenticate(w http.ResponseWriter, r *http.Request, idParam string) {
	ctx := r.Context()
	env, ok := s.environment(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("flowId") == "" || q.Get(idParam) == "" {
		var ds []wire.Detail
		for _, k := range []string{idParam, "flowId"} {
			if q.Get(k) == "" {
				ds = append(ds, wire.Required(k))
			}
		}
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(ds...))
		return
	}
	f, err := s.Flows.Load(ctx, env.ID, q.Get("flowId"), s.Cookies.Token(r))
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	p, err := s.provider(ctx, env.ID, q.Get(idParam))
	if errors.Is(err, store.ErrNotFound) {
		// Another environment's provider is no provider here.
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue(idParam, "The environment has no such identity provider.")))
		return
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if !p.Enabled {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed("The identity provider "+p.Name+" is disabled."))
		return
	}
	proto := s.byType[p.Type]
	if proto == nil {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed("Sign-on with "+p.Type+" providers is not supported yet."))
		return
	}
	var to Redirect
	err = s.External.Begin(ctx, f, p.ID, func(b *external.Begun) (any, error) {
		t, remember, err := proto.Start(ctx, p, b, Hints{ACRValues: q.Get("acrValues"), LoginHint: q.Get("loginHint")})
		to = t
		return remember, err
	})
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if to.Form != nil {
		httpx.FormPost(w, to.URL, to.Form)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to.URL, http.StatusFound)
}

// callback takes the provider's answer back to the flow.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	proto := s.byCallback[r.PathValue("protocol")]
	if proto == nil {
		wire.WriteErrorCtx(r.Context(), w, wire.NotFound(""))
		return
	}
	s.Complete(w, r, proto)
}

// Complete takes a provider's answer to a sign-on that proto began (the
// request r is the callback; its path names the environment as envID)
// back to the flow its state names, and sends the browser on.
func (s *Service) Complete(w http.ResponseWriter, r *http.Request, proto Protocol) {
	ctx := r.Context()
	env, ok := s.environment(w, r)
	if !ok {
		return
	}
	state := proto.State(r)
	if state == "" {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Required("state")))
		return
	}
	f, at, err := s.External.Callback(ctx, env.ID, state, s.Cookies.Token(r))
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	s.conclude(w, r, env, f, at, proto, false)
}

// Unsolicited signs a user on to application app with an identity
// provider's answer that no sign-on of Gatehouse asked for (SAML's
// IdP-initiated sign-on): a flow of the application starts, as for an
// authorize request req, with no session of the browser's (the answer
// names the user); its policy must offer provider p. remember is what
// proto's Finish is then given (what the protocol already verified); the
// flow goes on as after any provider's answer: signed on, registered,
// or linking, then resume.
func (s *Service) Unsolicited(w http.ResponseWriter, r *http.Request, proto Protocol, p *Provider, app *config.Application, req flow.Request, remember any) {
	ctx := r.Context()
	env, ok := s.environment(w, r)
	if !ok {
		return
	}
	started, err := s.Flows.Start(ctx, flow.Start{Env: env, App: &app.Application, Request: req})
	var se *flow.StartError
	if errors.As(err, &se) {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed(se.Description))
		return
	}
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	state := ""
	err = s.External.Begin(ctx, started.Flow, p.ID, func(b *external.Begun) (any, error) {
		state = b.State
		return remember, nil
	})
	if err != nil {
		// The application's policy does not offer the provider (or the
		// flow could not be written): the flow goes, unused.
		if ferr := s.Flows.Finish(ctx, started.Flow); ferr != nil && !errors.Is(ferr, flow.ErrFlowNotFound) {
			s.log().WarnContext(ctx, "dropping an unused flow failed", "flowId", started.Flow.ID, "err", ferr)
		}
		var we *wire.Error
		if errors.As(err, &we) && we.Code == wire.CodeInvalidRequest {
			err = wire.RequestFailed("The sign-on policy of the application " + app.Name + " does not offer the identity provider " + p.Name + ".")
		}
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	f, at, err := s.External.Callback(ctx, env.ID, state, started.Token)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	// The flow is this browser's from now on.
	s.Cookies.Set(w, env.ID, started.Token)
	s.conclude(w, r, env, f, at, proto, true)
}

// conclude hands the provider's answer to a flow whose provider sign-on
// at was just consumed, and sends the browser on.
// unsolicited says that no sign-on of this browser asked for the answer.
func (s *Service) conclude(w http.ResponseWriter, r *http.Request, env *store.Environment, f *store.Flow, at *external.Attempt, proto Protocol, unsolicited bool) {
	ctx := r.Context()
	token, err := s.finish(ctx, env, f, at, proto, r, unsolicited)
	var fl *Failure
	switch {
	case errors.As(err, &fl):
		s.log().InfoContext(ctx, "external sign-on failed", "environmentId", env.ID, "flowId", f.ID, "providerId", at.ProviderID,
			"error", fl.Code, "description", fl.Description)
		s.Flows.Record(ctx, f, flow.Outcome{Type: audit.ExternalAuthFailed, Method: flow.MetricExternal, Result: flow.ResultFailure,
			Failure: fl.Description, Resources: []store.ActivityResource{providerResource(env.ID, at.ProviderID, "")}})
		if err := s.External.Fail(ctx, f, fl.Code, fl.Description); err != nil {
			wire.WriteErrorCtx(ctx, w, err)
			return
		}
	case err != nil:
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	if token != "" {
		s.Cookies.Set(w, env.ID, token)
	}
	// Back to whoever drives the flow: the client itself (pi.flow) reads
	// the flow; a browser returns to the sign-on page, which resumes.
	piFlow, err := flow.PiFlow(f)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	target := s.Flows.SignOnPageURL(env.ID, f.ID)
	if piFlow {
		target = s.Flows.FlowURL(env.ID, f.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// finish completes a provider sign-on: the protocol verifies the answer,
// the claims are mapped, and the user signed on, registered or asked to
// link. Errors that end the flow are *Failure.
func (s *Service) finish(ctx context.Context, env *store.Environment, f *store.Flow, at *external.Attempt, proto Protocol, r *http.Request, unsolicited bool) (string, error) {
	p, err := s.provider(ctx, env.ID, at.ProviderID)
	if errors.Is(err, store.ErrNotFound) {
		return "", &Failure{"access_denied", "The identity provider was deleted during sign-on."}
	}
	if err != nil {
		return "", err
	}
	if !p.Enabled {
		return "", &Failure{"access_denied", "The identity provider " + p.Name + " is disabled."}
	}
	if s.byType[p.Type] != proto {
		// The answer came to another protocol's callback than the one the
		// sign-on began with.
		return "", &Failure{"server_error", "The identity provider " + p.Name + " answered at the wrong callback."}
	}
	as, err := proto.Finish(ctx, p, r, at.Protocol)
	if err != nil {
		return "", err
	}
	attrs, err := s.mapAttributes(ctx, env.ID, p.ID, as)
	if err != nil {
		return "", err
	}
	// A provider's value is checked by the user rules where it would be
	// written: on the linked user (a value the user keeps is not), on a
	// user registered just in time (all of them), and before linking a
	// local account (all of them: that user is not known yet). A value
	// the rules refuse fails the flow, naming it.
	id := external.Identity{ProviderID: p.ID, Subject: as.Subject, Attributes: attrs}
	link, err := s.Store.FindLinkedAccount(ctx, env.ID, p.ID, as.Subject)
	if err == nil {
		u, err := s.Store.GetUser(ctx, env.ID, link.UserID)
		if err != nil {
			return "", err
		}
		probe := *u
		if _, err := identity.ApplyAttributes(ctx, s.Store, &probe, attrs, false); err != nil {
			return "", refused(p, err)
		}
		return s.External.SignOn(ctx, f, providerResource(env.ID, p.ID, p.Name), u, attrs)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	register, regPop, err := s.External.Registration(f)
	if err != nil {
		return "", err
	}
	if register {
		u, err := s.register(ctx, env.ID, p, regPop, id)
		if err != nil {
			return "", err
		}
		if u != nil {
			idp := providerResource(env.ID, p.ID, p.Name)
			// Registered just in time, linked to the external identity.
			s.Flows.Record(ctx, f, flow.Outcome{Type: audit.UserCreated, User: u, Resources: []store.ActivityResource{idp}})
			return s.External.SignOn(ctx, f, idp, u, nil)
		}
	}
	if err := identity.CheckAttributes(attrs, false); err != nil {
		return "", refused(p, err)
	}
	if unsolicited {
		// Anyone can post an answer of their own provider account into
		// another's browser (IdP-initiated sign-on binds nothing to the
		// browser): offering to link it there would have that browser's
		// user attach the poster's identity to their own account with
		// their password. Linking needs a sign-on the browser started.
		return "", &Failure{"access_denied", "The identity provider " + p.Name + " signed on a user who has no account linked here. " +
			"Linking an account needs a sign-on started at the application, not at the identity provider."}
	}
	// The provider signed the user on; a local account must prove itself
	// before the sign-on goes on (ACCOUNT.LINKED then).
	s.Flows.Record(ctx, f, flow.Outcome{Type: audit.ExternalAuthSucceeded, Method: flow.MetricExternal, Result: flow.ResultSuccess,
		Resources: []store.ActivityResource{providerResource(env.ID, p.ID, p.Name)}})
	return "", s.External.LinkRequired(ctx, f, id)
}

// providerResource is identity provider id as an activity's resource.
func providerResource(envID, id, name string) store.ActivityResource {
	return store.ActivityResource{ID: id, Name: name, Type: audit.ResIdentityProvider, EnvironmentID: envID}
}

// register provisions a user just in time, in the provider's registration
// population (else the action's, else the default), linked to the
// external identity. A username already taken leaves the user to link
// that account instead (nil user); attributes the user rules refuse fail
// the sign-on.
func (s *Service) register(ctx context.Context, envID string, p *Provider, actionPop string, id external.Identity) (*store.User, error) {
	pop := actionPop
	if r := p.Settings.Registration; r != nil && r.Population != nil && r.Population.ID != "" {
		pop = r.Population.ID
	}
	now := store.Now()
	u, err := identity.NewExternal(ctx, s.Store, envID, pop, identity.External{ProviderType: p.Type, ProviderID: p.ID,
		Subject: id.Subject, Attributes: id.Attributes}, now)
	switch {
	case errors.Is(err, identity.ErrNoPopulation):
		return nil, &Failure{"server_error", "Registration has no population to put new users in."}
	case err != nil:
		return nil, refused(p, err)
	}
	if u.MFAEnabled, err = s.Config.NewUsersMFAEnabled(ctx, envID); err != nil {
		return nil, err
	}
	err = s.Store.Tx(ctx, func(tx store.Store) error {
		if err := identity.Claim(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateLinkedAccount(ctx, &store.LinkedAccount{ID: uuid.NewString(), EnvironmentID: envID, UserID: u.ID,
			IdentityProviderID: p.ID, ExternalID: id.Subject, CreatedAt: now, UpdatedAt: now})
	})
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		return nil, nil
	}
	return u, err
}

// refused is the failure of a sign-on whose provider gave values the
// user rules refuse (err is identity's INVALID_DATA; any other error is
// returned as it is): it names each attribute and why, for the
// administrator who maps them.
func refused(p *Provider, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) || len(we.Details) == 0 {
		return err
	}
	names := make([]string, len(we.Details))
	why := make([]string, len(we.Details))
	for i, d := range we.Details {
		names[i], why[i] = d.Target, d.Message
	}
	what := "the user attribute " + names[0] + " a value it does"
	if len(names) > 1 {
		what = "the user attributes " + strings.Join(names, ", ") + " values they do"
	}
	return &Failure{"server_error", "The identity provider " + p.Name + " gave " + what + " not accept: " + strings.Join(why, " ")}
}

// providerExpr finds ${providerAttributes.<path>} in a mapping's value.
var providerExpr = regexp.MustCompile(`\$\{providerAttributes\.([A-Za-z0-9_.:-]+)\}`)

// assertionExpr finds ${samlAssertion.<name>} and
// ${providerAttributes.<path>} in a mapping's value, in one pass (a value
// substituted is never read as an expression again). A SAML attribute's
// Name (or FriendlyName) may hold dots, colons and slashes (urn:oid:…,
// http://schemas…/emailaddress), so it is read whole.
var assertionExpr = regexp.MustCompile(`\$\{(?:samlAssertion\.([^{}\s]+)|providerAttributes\.([A-Za-z0-9_.:-]+))\}`)

// mapAttributes evaluates the provider's attribute mappings over what it
// asserted.
func (s *Service) mapAttributes(ctx context.Context, envID, idpID string, as *Assertion) ([]external.Attribute, error) {
	maps, err := s.Config.IdentityProviderAttributes(ctx, envID, idpID)
	if err != nil {
		return nil, err
	}
	out := make([]external.Attribute, 0, len(maps))
	for _, m := range maps {
		out = append(out, external.Attribute{Name: m.Name, Value: EvaluateAssertion(m.Value, as), Update: m.Update})
	}
	return out, nil
}

// EvaluateAssertion is Evaluate over an assertion, with SAML's
// expressions besides: ${samlAssertion.subject} is the NameID (the
// Subject) and ${samlAssertion.<name>} the attribute of that name.
func EvaluateAssertion(expr string, as *Assertion) string {
	return assertionExpr.ReplaceAllStringFunc(expr, func(m string) string {
		sub := assertionExpr.FindStringSubmatch(m)
		switch {
		case sub[1] == "subject":
			return as.Subject
		case sub[1] != "":
			return claimString(as.Claims[sub[1]])
		}
		return claimPath(as.Claims, sub[2])
	})
}

// Evaluate replaces each ${providerAttributes.<path>} of expr by the
// claim at path (dots walk into objects); a missing claim is empty.
func Evaluate(expr string, claims map[string]any) string {
	return providerExpr.ReplaceAllStringFunc(expr, func(m string) string {
		return claimPath(claims, providerExpr.FindStringSubmatch(m)[1])
	})
}

// claimPath is the claim at path (dots walk into objects) as text.
func claimPath(claims map[string]any, path string) string {
	var cur any = claims
	for _, p := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = obj[p]
	}
	return claimString(cur)
}

// claimString is a claim's value as a user attribute's text; objects and
// arrays are empty.
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return ""
}
