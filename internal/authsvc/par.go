package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// requestURIPrefix begins every request_uri /as/par hands out (RFC 9126 §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// defaultPARTimeout is PingOne's default lifetime of a request_uri, for an
// application stored without parTimeout.
const defaultPARTimeout = 60

// clientAuthParams authenticate the client at /as/par; they are no part
// of the authorization request it pushes.
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// pushedRequestResponse is RFC 9126 §2.2's answer.
type pushedRequestResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

const whyPushesFromAddress = "Too many authorization requests from this address."

// par is POST /{envId}/as/par: the client authenticates as at the token
// endpoint, and its authorization request is checked as authorize checks
// it, then kept for one use at authorize.
func (s *Service) par(w http.ResponseWriter, r *http.Request) {
	resp, oe := s.pushRequest(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	writeJSONNoStore(w, http.StatusCreated, resp)
}

func (s *Service) pushRequest(w http.ResponseWriter, r *http.Request) (*pushedRequestResponse, *oauthError) {
	cr, oe := s.readClientRequest(w, r)
	if oe != nil {
		return nil, oe
	}
	if oe := s.authenticate(cr); oe != nil {
		return nil, oe
	}
	if cr.client.method == methodNone && s.Flows != nil && s.Flows.Limits != nil {
		// A public client's push needs no secret: anyone may make one, so
		// each counts as a sign-on flow started from its address, and
		// what an address can make the server keep stays bounded.
		if ok, wait := s.Flows.Limits.FlowsPerAddress.Allow(httpx.SourceKey(httpx.SourceOf(r)), s.now()); !ok {
			return nil, limitedOAuth(&ratelimit.Error{What: whyPushesFromAddress, RetryAfter: wait})
		}
	}
	ctx := r.Context()
	app := cr.client.app
	p := url.Values{}
	for k, v := range cr.form {
		p[k] = v
	}
	for _, k := range clientAuthParams {
		p.Del(k)
	}
	if id := p.Get("client_id"); id != "" && id != app.ID {
		return nil, invalidRequest("client_id does not name the authenticated client.")
	}
	p.Set("client_id", app.ID)
	if p.Has("request_uri") {
		// RFC 9126 §2.1: a pushed request cannot point at another one.
		return nil, invalidRequest("request_uri is not allowed in a pushed authorization request.")
	}
	signedObject := false
	if p.Has("request") {
		// RFC 9126 §3: a pushed request may be a request object, whose
		// parameters are then the request's.
		obj, why := s.verifyRequestObject(ctx, cr.env.ID, app, p.Get("request"))
		if why != "" {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_request_object", description: why}
		}
		p, signedObject = obj.params, obj.signed
	}
	if app.Settings.RequireSignedRequestObject && !signedObject {
		return nil, invalidRequest(signedRequestObjectRequiredDesc)
	}
	env, err := s.Config.Environment(ctx, cr.env.ID)
	if err != nil {
		return nil, serverError()
	}
	if e := s.checkAuthorizeRequest(ctx, env, p); e != nil {
		return nil, e
	}
	ttl := app.Settings.ParTimeout
	if ttl <= 0 {
		ttl = defaultPARTimeout
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, serverError()
	}
	uri := requestURIPrefix + secrets.Random(32)
	now := s.now()
	err = s.Store.CreatePushedRequest(ctx, &store.PushedRequest{URIHash: hashSecret(uri), EnvironmentID: env.ID, ApplicationID: app.ID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second)})
	if err != nil {
		slog.ErrorContext(ctx, "par: the pushed request cannot be stored", "environment", env.ID, "application", app.ID, "err", err)
		return nil, serverError()
	}
	return &pushedRequestResponse{RequestURI: uri, ExpiresIn: ttl}, nil
}

// checkAuthorizeRequest checks pushed parameters exactly as authorize
// would check them, answering in the token endpoint's error format.
func (s *Service) checkAuthorizeRequest(ctx context.Context, env *config.Environment, p url.Values) *oauthError {
	mode := p.Get("response_mode")
	c, err := s.authorizeClient(ctx, env.ID, p, mode == "pi.flow")
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) && len(we.Details) > 0 {
			return invalidRequest(we.Details[0].Message)
		}
		return serverError()
	}
	e := s.checkAuthorizeParams(ctx, env, c, p, &flow.Request{ResponseMode: mode, RedirectURI: p.Get("redirect_uri"), State: p.Get("state")})
	if e == nil {
		return nil
	}
	return e.oauth()
}

// pushedParams replaces an authorize request naming a request_uri with the
// parameters pushed for it, taking them (once). RFC 9126 §4: only client_id
// and request_uri are read from the request itself. Nothing is redirected
// on failure: until the pushed request is found no redirect URI is known.
func (s *Service) pushedParams(ctx context.Context, envID string, p url.Values) (url.Values, error) {
	app, err := s.authorizeApp(ctx, envID, p.Get("client_id"))
	if err != nil {
		return nil, err
	}
	bad := wire.InvalidRequest(wire.InvalidValue("request_uri", "The request_uri is unknown, expired or already used."))
	uri := p.Get("request_uri")
	if !strings.HasPrefix(uri, requestURIPrefix) {
		return nil, bad
	}
	pr, err := s.Store.TakePushedRequest(ctx, envID, app.ID, hashSecret(uri))
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(pr.ExpiresAt) {
		return nil, bad
	}
	var pushed url.Values
	if err := json.Unmarshal(pr.Data, &pushed); err != nil {
		return nil, err
	}
	return pushed, nil
}
