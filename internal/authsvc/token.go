package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// maxFormBytes bounds token request bodies.
const maxFormBytes = 64 << 10

const formMediaType = "application/x-www-form-urlencoded"

// oauthError is an RFC 6749 error; the token endpoint never answers in
// PingOne's platform error shape.
type oauthError struct {
	status      int
	code        string
	description string
	basicAuth   bool // ask for Basic credentials again (invalid_client after Basic)
	retryAfter  int  // seconds, sent as Retry-After (429s)
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

// writeOAuthError is the one writer of RFC 6749 §5.2 error bodies.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basicAuth {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", error="invalid_client"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSONNoStore(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func writeJSONNoStore(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", description: desc}
}

func unauthorizedClient(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "unauthorized_client", description: desc}
}

func invalidScope(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_scope", description: desc}
}

func serverError() *oauthError {
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "An unexpected error occurred."}
}

// parseForm reads an application/x-www-form-urlencoded body, refusing
// repeated parameters as RFC 6749 §3.2 requires.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	// What clients send, exactly, skips the media type parser.
	if ct := r.Header.Get("Content-Type"); ct != formMediaType {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != formMediaType {
			return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded.")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := readPostForm(r); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invalidRequest("The request body is too large.")
		}
		return nil, invalidRequest("The request body is not a valid form.")
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, invalidRequest("Parameter " + k + " is repeated.")
		}
	}
	return form, nil
}

// tokenRequest is a token request as every grant sees it: parsed once,
// its grant type known to be served, its client authenticated and
// allowed that grant.
type tokenRequest struct {
	*clientRequest
	grantType string // the grant_type parameter
}

// token is POST /{envId}/as/token.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	resp, oe := s.exchangeToken(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	writeJSONNoStore(w, http.StatusOK, resp)
}

// exchangeToken runs the steps every grant shares, in this order, and
// then the grant: the form and the environment; grant_type, which is
// judged before the client so that an unserved grant costs no client
// lookup; the client's authentication; the application's grant types;
// the grant's required parameters. Only then does a grant see the
// request.
func (s *Service) exchangeToken(w http.ResponseWriter, r *http.Request) (*tokenResponse, *oauthError) {
	cr, oe := s.readClientRequest(w, r)
	if oe != nil {
		return nil, oe
	}
	req := &tokenRequest{clientRequest: cr, grantType: cr.form.Get("grant_type")}
	if req.grantType == "" {
		return nil, invalidRequest("grant_type is required.")
	}
	g, ok := grants[req.grantType]
	if !ok {
		return nil, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", description: "Unsupported grant type " + req.grantType + "."}
	}
	if oe := s.authenticate(cr); oe != nil {
		return nil, oe
	}
	allowClientOrigin(w, cr)
	if !slices.Contains(req.client.app.Settings.GrantTypes, g.allowedBy) {
		return nil, unauthorizedClient("The application does not have the " + req.grantType + " grant type.")
	}
	if g.confidential && req.client.method == methodNone {
		return nil, unauthorizedClient("A public client cannot use the " + req.grantType + " grant: it needs client authentication.")
	}
	for _, p := range g.requires {
		if req.form.Get(p) == "" {
			return nil, invalidRequest(p + " is required.")
		}
	}
	resp, oe := g.exchange(r.Context(), s, req)
	if oe == nil {
		s.recordTokens(r.Context(), cr.env.ID, cr.client.app, req.grantType, resp.user, resp.subject)
	}
	return resp, oe
}

// A grant issues the tokens of one grant_type (RFC 6749 §4), deciding
// only what that grant alone decides: exchangeToken has parsed the
// request, authenticated its client, checked that the application has
// the grant and that the grant's required parameters are there before it
// calls exchange, so no grant can skip those steps or answer them in its
// own words.
type grant interface {
	// exchange issues the grant's tokens, or the RFC 6749 §5.2 error
	// that refuses them.
	exchange(ctx context.Context, s *Service, req *tokenRequest) (*tokenResponse, *oauthError)
}

// servedGrant is a grant the token endpoint serves: the value of an
// application's grantTypes (PingOne's names) that allows it, the
// parameters it cannot do without, and whether only a client that proved
// itself may use it (a public client identifies itself and proves
// nothing).
type servedGrant struct {
	grant
	allowedBy    string
	requires     []string
	confidential bool
}

// grants are the grants the token endpoint serves, by grant_type. A new
// grant is a file set implementing grant and a line here.
var grants = map[string]servedGrant{
	"authorization_code": {grant: authorizationCodeGrant{}, allowedBy: "AUTHORIZATION_CODE", requires: []string{"code"}},
	"client_credentials": {grant: clientCredentialsGrant{}, allowedBy: "CLIENT_CREDENTIALS", confidential: true},
	"refresh_token":      {grant: refreshTokenGrant{}, allowedBy: "REFRESH_TOKEN", requires: []string{"refresh_token"}},
	tokenExchangeGrantType: {grant: tokenExchangeGrant{}, allowedBy: "TOKEN_EXCHANGE",
		requires: []string{"subject_token", "subject_token_type", "scope"}, confidential: true},
	deviceCodeGrantType: {grant: deviceCodeGrant{}, allowedBy: "DEVICE_CODE", requires: []string{"device_code"}},
}
