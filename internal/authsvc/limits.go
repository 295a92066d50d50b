package authsvc

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Limits bound failed client authentications at the token, introspection
// and revocation endpoints, per source address and per client id, and,
// when an operator sets it, every request of an authenticated client. A
// nil *Limits limits nothing; the state is this node's own.
type Limits struct {
	FailuresPerAddress, FailuresPerClient *ratelimit.Limiter
	// RequestsPerClient is shared with the management API: one budget per
	// client (off by default).
	RequestsPerClient *ratelimit.Limiter
}

// NewLimits makes the failure limits c sets; RequestsPerClient is left
// for the caller to share.
func NewLimits(c ratelimit.Config) *Limits {
	return &Limits{
		FailuresPerAddress: ratelimit.New(c.ClientAuthFailuresPerAddress, c.MaxKeys),
		FailuresPerClient:  ratelimit.New(c.ClientAuthFailuresPerClient, c.MaxKeys),
	}
}

// What each refusal tells the caller.
const (
	whyAuthFromAddress = "Too many failed client authentications from this address."
	whyAuthOfClient    = "Too many failed authentications of this client."
	whyClientRequests  = "Too many requests from this client."
)

// ClientKey is how limits name a client: its environment and id.
func ClientKey(envID, clientID string) string { return envID + "/" + clientID }

// limitKeys are the keys a client-authenticated request counts against:
// its source address, and the client it claims to be when that can be a
// client id (a UUID; anything else names no client, and an attacker's
// choice of it must not take memory).
type limitKeys struct{ addr, client string }

func (s *Service) limitKeysOf(r *http.Request, form url.Values) limitKeys {
	k := limitKeys{addr: httpx.SourceKey(httpx.SourceOf(r))}
	if id := claimedClientID(r, form); len(id) == 36 && uuid.Validate(id) == nil {
		k.client = ClientKey(r.PathValue("envID"), id)
	}
	return k
}

// claimedClientID is the client a request says it is, before anything is
// verified: the Basic user, client_id, or the client assertion's subject.
func claimedClientID(r *http.Request, form url.Values) string {
	if id, _, ok := r.BasicAuth(); ok {
		if v, err := url.QueryUnescape(id); err == nil {
			return v
		}
		return id
	}
	if id := form.Get("client_id"); id != "" {
		return id
	}
	parts := strings.Split(form.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Subject string `json:"sub"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Subject
}

// gate refuses a client authentication before any work once its address
// or its client has no failures left. Correct credentials are refused
// too then: letting them through would tell a guesser when a guess is
// right.
func (l *Limits) gate(k limitKeys, now time.Time) *oauthError {
	if e := l.secretGate(k, now); e != nil {
		return limitedOAuth(e)
	}
	return nil
}

// secretGate is gate's refusal itself, for the paths that answer it in
// their own way (authorize shows a page to a browser).
func (l *Limits) secretGate(k limitKeys, now time.Time) *ratelimit.Error {
	if l == nil {
		return nil
	}
	if k.addr != "" {
		if ok, wait := l.FailuresPerAddress.Check(k.addr, now); !ok {
			return &ratelimit.Error{What: whyAuthFromAddress, RetryAfter: wait}
		}
	}
	if k.client != "" {
		if ok, wait := l.FailuresPerClient.Check(k.client, now); !ok {
			return &ratelimit.Error{What: whyAuthOfClient, RetryAfter: wait}
		}
	}
	return nil
}

// failed counts a failed client authentication.
func (l *Limits) failed(k limitKeys, now time.Time) {
	if l == nil {
		return
	}
	if k.addr != "" {
		l.FailuresPerAddress.Charge(k.addr, now)
	}
	if k.client != "" {
		l.FailuresPerClient.Charge(k.client, now)
	}
}

// request counts one request of an authenticated client, when the
// operator limits those.
func (l *Limits) request(envID, clientID string, now time.Time) *oauthError {
	if l == nil {
		return nil
	}
	if ok, wait := l.RequestsPerClient.Allow(ClientKey(envID, clientID), now); !ok {
		return limitedOAuth(&ratelimit.Error{What: whyClientRequests, RetryAfter: wait})
	}
	return nil
}

// limitedOAuth is a refusal as the auth service answers it: 429 with
// Retry-After and an OAuth error body. RFC 6749 names no error for it;
// temporarily_unavailable is its closest ("the authorization server is
// currently unable to handle the request").
func limitedOAuth(e *ratelimit.Error) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, code: "temporarily_unavailable",
		description: e.What + " Retry after the delay Retry-After gives.", retryAfter: e.Seconds()}
}

// WriteLimited answers a refusal on the auth service's paths, for limits
// applied in front of it (all requests of an address).
func WriteLimited(w http.ResponseWriter, e *ratelimit.Error) { writeOAuthError(w, limitedOAuth(e)) }

// limitedPage answers a refused authorize where it was asked: a page for
// a browser, the OAuth error body for anything else (pi.flow clients).
func (s *Service) limitedPage(w http.ResponseWriter, r *http.Request, e *ratelimit.Error) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Retry-After", strconv.Itoa(e.Seconds()))
		s.errorPage(w, r, wire.RequestLimited(e.What, e.Seconds(), s.now()))
		return
	}
	writeOAuthError(w, limitedOAuth(e))
}
