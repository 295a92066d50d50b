// Package oidc is OpenID Connect as a federation protocol: the
// authorization request to an OPENID_CONNECT provider (state and nonce
// bound to the flow, PKCE when the provider's pkceMethod is S256), and at
// /rp/callback/openid_connect the code exchanged with the provider's
// client authentication, the ID token verified (go-oidc: the provider's
// JWKS cached per URL, issuer, client id, expiry) with its nonce, and
// userinfo read when the provider has it.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Protocol is OpenID Connect.
type Protocol struct {
	Sealer   *secrets.Sealer
	AuthPath string // base URL, no trailing slash
	// Timeout bounds each call to a provider (token, userinfo, keys).
	Timeout time.Duration
	Log     *slog.Logger
	// Client makes every call to a provider (nil: a guarded client with
	// the defaults): a provider's endpoints are whatever a tenant
	// administrator typed.
	Client *outbound.Client

	once   sync.Once
	client *http.Client
	mu     sync.Mutex
	keys   map[string]*keySetEntry // by JWKS URL
	// now is the clock of the key sets' last use (nil: time.Now).
	now func() time.Time
}

// keySetEntry is a provider's key set and when a sign-on last used it.
type keySetEntry struct {
	ks     *oidc.RemoteKeySet
	usedAt time.Time
}

// keySetIdle is how long a key set no sign-on uses stays cached.
const keySetIdle = 5 * time.Minute

var _ federation.Protocol = (*Protocol)(nil)

func (*Protocol) Types() []string { return []string{"OPENID_CONNECT"} }

func (*Protocol) Callback() string { return "openid_connect" }

// CallbackURL is the redirect URI a provider sends users back to.
func (p *Protocol) CallbackURL(envID string) string {
	return p.AuthPath + "/" + envID + "/rp/callback/" + p.Callback()
}

func (p *Protocol) httpClient() *http.Client {
	p.once.Do(func() {
		c := p.Client
		if c == nil {
			c = outbound.New(outbound.Options{Log: p.Log})
		}
		p.client = c.WithTimeout(p.Timeout).HTTP()
	})
	return p.client
}

func (p *Protocol) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// remembered is what the callback must check the provider's answer
// against.
type remembered struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier,omitempty"`
}

// Start builds the provider's authorization request.
func (p *Protocol) Start(_ context.Context, prov *federation.Provider, b *external.Begun, h federation.Hints) (federation.Redirect, any, error) {
	c := &prov.Settings
	target, err := url.Parse(c.AuthorizationEndpoint)
	if err != nil || (target.Scheme != "https" && target.Scheme != "http") {
		return federation.Redirect{}, nil, wire.RequestFailed("The identity provider's authorization endpoint is not a valid URL.")
	}
	rem := remembered{Nonce: secrets.Random(32)}
	params := target.Query()
	params.Set("response_type", "code")
	params.Set("client_id", c.ClientID)
	params.Set("redirect_uri", p.CallbackURL(prov.EnvironmentID))
	params.Set("scope", scopes(c.Scopes))
	params.Set("state", b.State)
	params.Set("nonce", rem.Nonce)
	if usePKCE(prov) {
		rem.Verifier = secrets.Random(48)
		params.Set("code_challenge", oauth2.S256ChallengeFromVerifier(rem.Verifier))
		params.Set("code_challenge_method", "S256")
	}
	if v := firstNonEmpty(h.ACRValues, b.ACRValues); v != "" {
		params.Set("acr_values", v)
	}
	if v := firstNonEmpty(h.LoginHint, b.LoginHint); v != "" {
		params.Set("login_hint", v)
	}
	target.RawQuery = params.Encode()
	return federation.Redirect{URL: target.String()}, rem, nil
}

// State is the state query parameter.
func (*Protocol) State(r *http.Request) string { return r.URL.Query().Get("state") }

// Finish reads the authorization response and returns the verified ID
// token's claims, merged with userinfo's when the provider has it.
func (p *Protocol) Finish(ctx context.Context, prov *federation.Provider, r *http.Request, raw json.RawMessage) (*federation.Assertion, error) {
	var rem remembered
	if err := json.Unmarshal(raw, &rem); err != nil {
		return nil, fmt.Errorf("identity provider %s sign-on state: %w", prov.ID, err)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		desc := "The identity provider " + prov.Name + " answered " + e
		if d := strings.TrimRight(q.Get("error_description"), ". "); d != "" {
			desc += ": " + d
		}
		return nil, &federation.Failure{Code: "access_denied", Description: desc + "."}
	}
	code := q.Get("code")
	if code == "" {
		return nil, &federation.Failure{Code: "access_denied", Description: "The identity provider " + prov.Name + " sent no authorization code."}
	}
	claims, err := p.exchange(ctx, prov, &rem, code)
	if err != nil {
		return nil, err
	}
	sub, _ := claims["sub"].(string)
	return &federation.Assertion{Subject: sub, Claims: claims}, nil
}

// usePKCE: the provider's pkceMethod S256 adds PKCE. PingOne's default is
// none, and its documented workflow depends on that: the client there
// rebuilds the provider's authorize request from state and nonce alone,
// so a verifier sent at the token endpoint would match no challenge.
// State and nonce still bind the answer to the flow.
func usePKCE(p *federation.Provider) bool { return p.Settings.PkceMethod == "S256" }

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

func failure(code, format string, a ...any) *federation.Failure {
	return &federation.Failure{Code: code, Description: fmt.Sprintf(format, a...)}
}

// exchange redeems the code at the provider and returns the verified ID
// token's claims, merged with userinfo's when the provider has it.
func (p *Protocol) exchange(ctx context.Context, prov *federation.Provider, rem *remembered, code string) (map[string]any, error) {
	c := &prov.Settings
	secret := ""
	// NONE is a public client: its secret, if one was stored, must not
	// travel (x/oauth2 sends a non-empty one in the body).
	if len(prov.ClientSecretSealed) > 0 && c.TokenEndpointAuthMethod != "NONE" {
		b, err := p.Sealer.Open(prov.ClientSecretSealed, "idp:"+prov.ID)
		if err != nil {
			return nil, fmt.Errorf("identity provider %s secret: %w", prov.ID, err)
		}
		secret = string(b)
	}
	style := oauth2.AuthStyleInHeader
	if c.TokenEndpointAuthMethod == "CLIENT_SECRET_POST" || c.TokenEndpointAuthMethod == "NONE" {
		style = oauth2.AuthStyleInParams
	}
	conf := oauth2.Config{ClientID: c.ClientID, ClientSecret: secret, RedirectURL: p.CallbackURL(prov.EnvironmentID),
		Endpoint: oauth2.Endpoint{TokenURL: c.TokenEndpoint, AuthStyle: style}}
	hctx := oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, p.httpClient()), p.httpClient())
	var opts []oauth2.AuthCodeOption
	if usePKCE(prov) {
		opts = append(opts, oauth2.VerifierOption(rem.Verifier))
	}
	tok, err := conf.Exchange(hctx, code, opts...)
	if f := p.outboundFailure(ctx, prov, "token endpoint", err); f != nil {
		return nil, f
	}
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, failure("access_denied", "The identity provider %s refused the authorization code (%s).", prov.Name, firstNonEmpty(re.ErrorCode, strconv.Itoa(re.Response.StatusCode)))
		}
		// The cause (an address, a DNS name) is for the log, not for the
		// user's browser or the application.
		p.log().WarnContext(ctx, "identity provider unreachable", "providerId", prov.ID, "endpoint", c.TokenEndpoint, "err", err)
		return nil, failure("temporarily_unavailable", "The identity provider %s could not be reached%s.", prov.Name, timedOut(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, failure("server_error", "The identity provider %s returned no ID token.", prov.Name)
	}
	keys := &keyFetch{KeySet: p.keySet(c.JwksEndpoint)}
	v := oidc.NewVerifier(c.Issuer, keys, &oidc.Config{ClientID: c.ClientID,
		SupportedSigningAlgs: []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}})
	idt, err := v.Verify(hctx, raw)
	if f := p.outboundFailure(ctx, prov, "JWKS endpoint", keys.err); f != nil {
		return nil, f
	}
	if err != nil {
		return nil, failure("server_error", "The ID token of the identity provider %s is not valid: %v", prov.Name, err)
	}
	if !secrets.Equal(idt.Nonce, rem.Nonce) {
		return nil, failure("server_error", "The ID token of the identity provider %s does not carry the nonce of this sign-on.", prov.Name)
	}
	if idt.Subject == "" {
		return nil, failure("server_error", "The ID token of the identity provider %s has no subject.", prov.Name)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, failure("server_error", "The ID token's claims could not be read.")
	}
	if c.UserInfoEndpoint != "" {
		ui, err := p.userinfo(hctx, c.UserInfoEndpoint, tok.AccessToken)
		if f := p.outboundFailure(ctx, prov, "userinfo endpoint", err); f != nil {
			return nil, f
		}
		if err != nil {
			p.log().WarnContext(ctx, "identity provider userinfo failed", "providerId", prov.ID, "endpoint", c.UserInfoEndpoint, "err", err)
			var ue *url.Error
			if errors.As(err, &ue) {
				// A network failure: its cause is for the log only.
				return nil, failure("temporarily_unavailable", "The userinfo endpoint of the identity provider %s could not be reached%s.", prov.Name, timedOut(err))
			}
			return nil, failure("temporarily_unavailable", "The userinfo endpoint of the identity provider %s failed: %v", prov.Name, err)
		}
		if sub, _ := ui["sub"].(string); sub != idt.Subject {
			// OIDC Core §5.3.2: userinfo of another subject must not be used.
			return nil, failure("server_error", "The identity provider's userinfo names another subject than its ID token.")
		}
		for k, v := range ui {
			claims[k] = v
		}
	}
	return claims, nil
}

// outboundFailure is the flow's failure when the outbound client refused
// a call to the provider's endpoint (what), or its answer was too large;
// nil for any other outcome. The message names the rule, not the address:
// it reaches the browser and the application.
func (p *Protocol) outboundFailure(ctx context.Context, prov *federation.Provider, what string, err error) *federation.Failure {
	if re, ok := outbound.Refused(err); ok {
		p.log().WarnContext(ctx, "identity provider call refused", "providerId", prov.ID, "endpoint", what, "err", re)
		return failure("server_error", "The request to the %s of the identity provider %s was stopped: %s.", what, prov.Name, re.Rule)
	}
	if te, ok := outbound.TooLarge(err); ok {
		p.log().WarnContext(ctx, "identity provider answer too large", "providerId", prov.ID, "endpoint", what, "err", te)
		return failure("server_error", "The %s of the identity provider %s answered with more than %d bytes.", what, prov.Name, te.Limit)
	}
	return nil
}

// keyFetch keeps the last error of the provider's key set: go-oidc's
// Verify flattens it into its message, and a refused fetch must be told
// apart.
type keyFetch struct {
	oidc.KeySet
	err error
}

func (k *keyFetch) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	b, err := k.KeySet.VerifySignature(ctx, jwt)
	k.err = err
	return b, err
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
func (p *Protocol) keySet(jwksURL string) *oidc.RemoteKeySet {
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = map[string]*keySetEntry{}
	}
	e, ok := p.keys[jwksURL]
	if !ok {
		// Tenant administrators may point providers at any JWKS URL, as
		// often as they like: key sets unused for keySetIdle go when a new
		// URL comes, so the map holds only those in use.
		for u, old := range p.keys {
			if now.Sub(old.usedAt) >= keySetIdle {
				delete(p.keys, u)
			}
		}
		e = &keySetEntry{ks: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.httpClient()), jwksURL)}
		p.keys[jwksURL] = e
	}
	e.usedAt = now
	return e.ks
}

func (p *Protocol) userinfo(ctx context.Context, endpoint, accessToken string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	// The outbound client bounds the body.
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		if _, ok := outbound.TooLarge(err); ok {
			return nil, err
		}
		return nil, errors.New("the response is not a JSON object")
	}
	return out, nil
}
