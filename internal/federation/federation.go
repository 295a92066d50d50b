// Package federation is the relying party side of external identity
// provider sign-on: /rp/authenticate sends the browser to an OpenID
// Connect provider with state, nonce and PKCE bound to the flow, and
// /rp/callback/openid_connect exchanges the code, verifies the ID token,
// maps the provider's claims to user attributes, and signs on the linked
// user, registers a new one, or asks the user to link a local account.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Service serves the relying party endpoints.
type Service struct {
	Store    store.Store
	Sealer   *secrets.Sealer
	Flows    *flow.Engine
	Cookies  session.Cookies
	AuthPath string
	// Timeout bounds each call to a provider (token, userinfo, keys).
	Timeout time.Duration
	Log     *slog.Logger

	once   sync.Once
	client *http.Client
	mu     sync.Mutex
	keys   map[string]*oidc.RemoteKeySet // by JWKS URL
}

func (s *Service) httpClient() *http.Client {
	s.once.Do(func() {
		t := s.Timeout
		if t == 0 {
			t = 10 * time.Second
		}
		s.client = &http.Client{Timeout: t}
	})
	return s.client
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
	mux.HandleFunc("GET /{envID}/rp/callback/{providerType}", s.callback)
}

// CallbackURL is the redirect URI a provider sends users back to.
func (s *Service) CallbackURL(envID string) string {
	return s.AuthPath + "/" + envID + "/rp/callback/openid_connect"
}

// oidcConfig is an OPENID_CONNECT provider's settings, as the management
// API stores them in the provider's Data.
type oidcConfig = wire.IdentityProviderData

// provider loads an enabled OPENID_CONNECT provider of the environment.
func (s *Service) provider(ctx context.Context, envID, id string) (*store.IdentityProvider, *oidcConfig, error) {
	if uuid.Validate(id) != nil || len(id) != 36 {
		return nil, nil, store.ErrNotFound
	}
	p, err := s.Store.GetIdentityProvider(ctx, envID, id)
	if err != nil {
		return nil, nil, err
	}
	var c oidcConfig
	if err := json.Unmarshal(p.Data, &c); err != nil {
		return nil, nil, fmt.Errorf("identity provider %s: %w", p.ID, err)
	}
	return p, &c, nil
}

func (s *Service) environment(w http.ResponseWriter, r *http.Request) (*store.Environment, bool) {
	env, err := s.Store.GetEnvironment(r.Context(), r.PathValue("envID"))
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return nil, false
	}
	return env, true
}

// authenticate sends the browser to the provider's authorization endpoint.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, ok := s.environment(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("flowId") == "" || q.Get("providerId") == "" {
		var ds []wire.Detail
		for _, k := range []string{"providerId", "flowId"} {
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
	p, c, err := s.provider(ctx, env.ID, q.Get("providerId"))
	if errors.Is(err, store.ErrNotFound) {
		// Another environment's provider is no provider here.
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.InvalidValue("providerId", "The environment has no such identity provider.")))
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
	if p.Type != "OPENID_CONNECT" {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed("Sign-on with "+p.Type+" providers is not supported yet."))
		return
	}
	x, err := s.Flows.BeginExternal(ctx, f, p.ID)
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	target, err := url.Parse(c.AuthorizationEndpoint)
	if err != nil || (target.Scheme != "https" && target.Scheme != "http") {
		wire.WriteErrorCtx(ctx, w, wire.RequestFailed("The identity provider's authorization endpoint is not a valid URL."))
		return
	}
	params := target.Query()
	params.Set("response_type", "code")
	params.Set("client_id", c.ClientID)
	params.Set("redirect_uri", s.CallbackURL(env.ID))
	params.Set("scope", scopes(c.Scopes))
	params.Set("state", x.State)
	params.Set("nonce", x.Nonce)
	if usePKCE(c) {
		params.Set("code_challenge", oauth2.S256ChallengeFromVerifier(x.Verifier))
		params.Set("code_challenge_method", "S256")
	}
	if v := firstNonEmpty(q.Get("acrValues"), x.ACRValues); v != "" {
		params.Set("acr_values", v)
	}
	if v := firstNonEmpty(q.Get("loginHint"), x.LoginHint); v != "" {
		params.Set("login_hint", v)
	}
	target.RawQuery = params.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// usePKCE: the provider's pkceMethod S256 adds PKCE. PingOne's default is
// none, and its documented workflow depends on that: the client there
// rebuilds the provider's authorize request from state and nonce alone,
// so a verifier sent at the token endpoint would match no challenge.
// State and nonce still bind the answer to the flow.
func usePKCE(c *oidcConfig) bool { return c.PkceMethod == "S256" }

func scopes(sc []string) string {
	out := []string{"openid"}
	for _, s := range sc {
		if s != "openid" && s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func firstNonEmpty(v ...string) string {
	for _, x := range v {
		if x != "" {
			return x
		}
	}
	return ""
}

// failure is a provider sign-on that cannot go on: the flow fails with it.
type failure struct{ code, description string }

func (f *failure) Error() string { return f.code + ": " + f.description }

// callback takes the provider's answer back to the flow.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, ok := s.environment(w, r)
	if !ok {
		return
	}
	if r.PathValue("providerType") != "openid_connect" {
		wire.WriteErrorCtx(ctx, w, wire.NotFound(""))
		return
	}
	q := r.URL.Query()
	if q.Get("state") == "" {
		wire.WriteErrorCtx(ctx, w, wire.InvalidRequest(wire.Required("state")))
		return
	}
	f, pending, err := s.Flows.ExternalCallback(ctx, env.ID, q.Get("state"), s.Cookies.Token(r))
	if err != nil {
		wire.WriteErrorCtx(ctx, w, err)
		return
	}
	token, err := s.finish(ctx, env, f, pending, q)
	var fl *failure
	switch {
	case errors.As(err, &fl):
		s.log().InfoContext(ctx, "external sign-on failed", "environmentId", env.ID, "flowId", f.ID, "providerId", pending.ProviderID,
			"error", fl.code, "description", fl.description)
		if err := s.Flows.ExternalFailed(ctx, f, fl.code, fl.description); err != nil {
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
	target := s.Flows.SignOnPageURL(env.ID, f.ID)
	if flow.PiFlow(f) {
		target = s.Flows.FlowURL(env.ID, f.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// finish completes a provider sign-on: the code exchanged, the ID token
// verified, claims mapped, and the user signed on, registered or asked to
// link. Errors that end the flow are *failure.
func (s *Service) finish(ctx context.Context, env *store.Environment, f *store.Flow, pending *flow.ExternalPending, q url.Values) (string, error) {
	p, c, err := s.provider(ctx, env.ID, pending.ProviderID)
	if errors.Is(err, store.ErrNotFound) {
		return "", &failure{"access_denied", "The identity provider was deleted during sign-on."}
	}
	if err != nil {
		return "", err
	}
	if !p.Enabled {
		return "", &failure{"access_denied", "The identity provider " + p.Name + " is disabled."}
	}
	if e := q.Get("error"); e != "" {
		desc := "The identity provider " + p.Name + " answered " + e
		if d := strings.TrimRight(q.Get("error_description"), ". "); d != "" {
			desc += ": " + d
		}
		return "", &failure{"access_denied", desc + "."}
	}
	code := q.Get("code")
	if code == "" {
		return "", &failure{"access_denied", "The identity provider " + p.Name + " sent no authorization code."}
	}
	claims, err := s.exchange(ctx, env.ID, p, c, pending, code)
	if err != nil {
		return "", err
	}
	sub, _ := claims["sub"].(string)
	attrs, err := s.mapAttributes(ctx, env.ID, p.ID, claims)
	if err != nil {
		return "", err
	}
	// The user is known only below (signed on, registered, or linked
	// later): every value a sign-on could write is checked now, so that
	// each way fails alike. The username is written only by a
	// registration, which checks it.
	if err := identity.CheckAttributes(attrs, false); err != nil {
		return "", refused(p, err)
	}
	id := flow.ExternalIdentity{ProviderID: p.ID, Subject: sub, Attributes: attrs}
	link, err := s.Store.FindLinkedAccount(ctx, env.ID, p.ID, sub)
	if err == nil {
		u, err := s.Store.GetUser(ctx, env.ID, link.UserID)
		if err != nil {
			return "", err
		}
		return s.Flows.ExternalSignOn(ctx, f, u, attrs)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if register, regPop := flow.RegisterPopulation(f); register {
		u, err := s.register(ctx, env.ID, p, c, regPop, id)
		if err != nil {
			return "", err
		}
		if u != nil {
			return s.Flows.ExternalSignOn(ctx, f, u, nil)
		}
	}
	return "", s.Flows.ExternalLinkRequired(ctx, f, id)
}

// register provisions a user just in time, in the provider's registration
// population (else the action's, else the default), linked to the
// external identity. A username already taken leaves the user to link
// that account instead (nil user); attributes the user rules refuse fail
// the sign-on.
func (s *Service) register(ctx context.Context, envID string, p *store.IdentityProvider, c *oidcConfig, actionPop string, id flow.ExternalIdentity) (*store.User, error) {
	pop := actionPop
	if c.Registration != nil && c.Registration.Population != nil && c.Registration.Population.ID != "" {
		pop = c.Registration.Population.ID
	}
	now := store.Now()
	u, err := identity.NewExternal(ctx, s.Store, envID, pop, identity.External{ProviderType: p.Type, ProviderID: p.ID,
		Subject: id.Subject, Attributes: id.Attributes}, now)
	switch {
	case errors.Is(err, identity.ErrNoPopulation):
		return nil, &failure{"server_error", "Registration has no population to put new users in."}
	case err != nil:
		return nil, refused(p, err)
	}
	err = s.Store.Tx(ctx, func(tx store.Store) error {
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
func refused(p *store.IdentityProvider, err error) error {
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
	return &failure{"server_error", "The identity provider " + p.Name + " gave " + what + " not accept: " + strings.Join(why, " ")}
}

// exchange redeems the code at the provider and returns the verified ID
// token's claims, merged with userinfo's when the provider has it.
func (s *Service) exchange(ctx context.Context, envID string, p *store.IdentityProvider, c *oidcConfig, pending *flow.ExternalPending, code string) (map[string]any, error) {
	secret := ""
	// NONE is a public client: its secret, if one was stored, must not
	// travel (x/oauth2 sends a non-empty one in the body).
	if len(p.ClientSecretSealed) > 0 && c.TokenEndpointAuthMethod != "NONE" {
		b, err := s.Sealer.Open(p.ClientSecretSealed, "idp:"+p.ID)
		if err != nil {
			return nil, fmt.Errorf("identity provider %s secret: %w", p.ID, err)
		}
		secret = string(b)
	}
	style := oauth2.AuthStyleInHeader
	if c.TokenEndpointAuthMethod == "CLIENT_SECRET_POST" || c.TokenEndpointAuthMethod == "NONE" {
		style = oauth2.AuthStyleInParams
	}
	conf := oauth2.Config{ClientID: c.ClientID, ClientSecret: secret, RedirectURL: s.CallbackURL(envID),
		Endpoint: oauth2.Endpoint{TokenURL: c.TokenEndpoint, AuthStyle: style}}
	hctx := oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, s.httpClient()), s.httpClient())
	var opts []oauth2.AuthCodeOption
	if usePKCE(c) {
		opts = append(opts, oauth2.VerifierOption(pending.Verifier))
	}
	tok, err := conf.Exchange(hctx, code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, &failure{"access_denied", fmt.Sprintf("The identity provider %s refused the authorization code (%s).", p.Name, firstNonEmpty(re.ErrorCode, strconv.Itoa(re.Response.StatusCode)))}
		}
		// The cause (an address, a DNS name) is for the log, not for the
		// user's browser or the application.
		s.log().WarnContext(ctx, "identity provider unreachable", "providerId", p.ID, "endpoint", c.TokenEndpoint, "err", err)
		return nil, &failure{"temporarily_unavailable", fmt.Sprintf("The identity provider %s could not be reached%s.", p.Name, timedOut(err))}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &failure{"server_error", "The identity provider " + p.Name + " returned no ID token."}
	}
	v := oidc.NewVerifier(c.Issuer, s.keySet(c.JwksEndpoint), &oidc.Config{ClientID: c.ClientID,
		SupportedSigningAlgs: []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}})
	idt, err := v.Verify(hctx, raw)
	if err != nil {
		return nil, &failure{"server_error", fmt.Sprintf("The ID token of the identity provider %s is not valid: %v", p.Name, err)}
	}
	if !secrets.Equal(idt.Nonce, pending.Nonce) {
		return nil, &failure{"server_error", "The ID token of the identity provider " + p.Name + " does not carry the nonce of this sign-on."}
	}
	if idt.Subject == "" {
		return nil, &failure{"server_error", "The ID token of the identity provider " + p.Name + " has no subject."}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, &failure{"server_error", "The ID token's claims could not be read."}
	}
	if c.UserInfoEndpoint != "" {
		ui, err := s.userinfo(hctx, c.UserInfoEndpoint, tok.AccessToken)
		if err != nil {
			s.log().WarnContext(ctx, "identity provider userinfo failed", "providerId", p.ID, "endpoint", c.UserInfoEndpoint, "err", err)
			var ue *url.Error
			if errors.As(err, &ue) {
				// A network failure: its cause is for the log only.
				return nil, &failure{"temporarily_unavailable", fmt.Sprintf("The userinfo endpoint of the identity provider %s could not be reached%s.", p.Name, timedOut(err))}
			}
			return nil, &failure{"temporarily_unavailable", fmt.Sprintf("The userinfo endpoint of the identity provider %s failed: %v", p.Name, err)}
		}
		if sub, _ := ui["sub"].(string); sub != idt.Subject {
			// OIDC Core §5.3.2: userinfo of another subject must not be used.
			return nil, &failure{"server_error", "The identity provider's userinfo names another subject than its ID token."}
		}
		for k, v := range ui {
			claims[k] = v
		}
	}
	return claims, nil
}

// timedOut says so when err is a timeout.
func timedOut(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return ": the request timed out"
	}
	return ""
}

// keySet is the provider's JWKS, cached by URL: go-oidc keeps the keys and
// refetches on an unknown kid.
func (s *Service) keySet(jwksURL string) *oidc.RemoteKeySet {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]*oidc.RemoteKeySet{}
	}
	ks, ok := s.keys[jwksURL]
	if !ok {
		ks = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), s.httpClient()), jwksURL)
		s.keys[jwksURL] = ks
	}
	return ks
}

// maxUserInfoBytes bounds what a provider's userinfo may send.
const maxUserInfoBytes = 1 << 20

func (s *Service) userinfo(ctx context.Context, endpoint, accessToken string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUserInfoBytes)).Decode(&out); err != nil {
		return nil, errors.New("the response is not a JSON object")
	}
	return out, nil
}

// providerExpr finds ${providerAttributes.<path>} in a mapping's value.
var providerExpr = regexp.MustCompile(`\$\{providerAttributes\.([A-Za-z0-9_.:-]+)\}`)

// mapAttributes evaluates the provider's attribute mappings over claims.
func (s *Service) mapAttributes(ctx context.Context, envID, idpID string, claims map[string]any) ([]flow.MappedAttribute, error) {
	maps, err := s.Store.ListIdentityProviderAttributes(ctx, envID, idpID)
	if err != nil {
		return nil, err
	}
	out := make([]flow.MappedAttribute, 0, len(maps))
	for _, m := range maps {
		out = append(out, flow.MappedAttribute{Name: m.Name, Value: Evaluate(m.Value, claims), Update: m.Update})
	}
	return out, nil
}

// Evaluate replaces each ${providerAttributes.<path>} of expr by the
// claim at path (dots walk into objects); a missing claim is empty.
func Evaluate(expr string, claims map[string]any) string {
	return providerExpr.ReplaceAllStringFunc(expr, func(m string) string {
		path := providerExpr.FindStringSubmatch(m)[1]
		var cur any = claims
		for _, p := range strings.Split(path, ".") {
			obj, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = obj[p]
		}
		switch v := cur.(type) {
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
	})
}
