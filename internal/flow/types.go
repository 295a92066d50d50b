package flow

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The statuses and the action the engine itself owns. Every other status
// and action belongs to a sign-on method (internal/flow/methods/…).
const (
	StatusCompleted = "COMPLETED"
	StatusFailed    = "FAILED"

	// ActionSessionReset starts the sign-on over, in every status a method
	// owns.
	ActionSessionReset = "session.reset"
)

// MediaType is the Content-Type that selects action: actions are chosen by
// vendor media type, application/vnd.pingidentity.<action>+json.
func MediaType(action string) string { return "application/vnd.pingidentity." + action + "+json" }

// Lifetimes.
const (
	// FlowIdle is how long a flow lives without a step (PingOne: "Flows
	// expire after 15 minutes of inactivity").
	FlowIdle = 15 * time.Minute
	// CodeLifetime bounds the one-time codes a flow sends.
	CodeLifetime = 15 * time.Minute
	// maxCodeAttempts wrong codes void the code: a new one must be sent.
	maxCodeAttempts = 5
	// DefaultMaxPasswordAttempts is the default cap of failed password
	// checks in one flow (Engine.MaxPasswordAttempts).
	DefaultMaxPasswordAttempts = 10
)

// Request is the authorize request a flow serves: what resume needs to
// answer the application. authsvc validates it before Start.
type Request struct {
	ResponseType        string `json:"responseType"`
	ResponseMode        string `json:"responseMode"`
	RedirectURI         string `json:"redirectUri,omitempty"` // as sent; "" when pi.flow sent none
	Scope               string `json:"scope"`
	State               string `json:"state,omitempty"`
	Nonce               string `json:"nonce,omitempty"`
	CodeChallenge       string `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string `json:"codeChallengeMethod,omitempty"`
	Prompt              string `json:"prompt,omitempty"`
	MaxAge              *int   `json:"maxAge,omitempty"`
	LoginHint           string `json:"loginHint,omitempty"`
	// Audience and AccessTokenTTL are resolved from the scopes' resource.
	Audience       []string `json:"aud"`
	AccessTokenTTL int      `json:"accessTokenTtl"`
	// Policy, when set, is the sign-on policy acr_values picked.
	Policy string `json:"policy,omitempty"`
	// UserCode is the user code a device flow was started with (from the
	// device's verification_uri_complete), offered to the user to confirm.
	UserCode string `json:"userCode,omitempty"`
	// Languages are the browser's languages, most preferred first
	// (ui_locales, then Accept-Language), for methods that show the user
	// text in their language (an agreement).
	Languages []string `json:"languages,omitempty"`
	// Resume is where the flow returns when it ends, under the
	// environment's auth path: "" is the authorization server's
	// (as/resume); a SAML sign-on names saml20/resume. Each protocol
	// answers only its own flows.
	Resume string `json:"resume,omitempty"`
	// Protocol is what a protocol other than OpenID Connect keeps of the
	// request that started the flow (a SAML AuthnRequest's id, ACS URL
	// and RelayState…), for its resume to answer it.
	Protocol json.RawMessage `json:"protocol,omitempty"`
}

// ResumeAS is the authorization server's resume path.
const ResumeAS = "as/resume"

// ResumePath is the path under the environment where the flow returns.
func (r *Request) ResumePath() string {
	if r.Resume == "" {
		return ResumeAS
	}
	return r.Resume
}

// MaxLanguages bounds Request.Languages, and maxLanguageLen each of them
// (a BCP 47 tag is short): a request cannot grow every flow's state.
const (
	MaxLanguages   = 16
	maxLanguageLen = 35
)

// SetLanguages sets r.Languages from tags, most preferred first, leaving
// out empty and overlong ones and duplicates, at most MaxLanguages.
func (r *Request) SetLanguages(tags ...string) {
	r.Languages = nil
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > maxLanguageLen || slices.Contains(r.Languages, t) {
			continue
		}
		if len(r.Languages) == MaxLanguages {
			return
		}
		r.Languages = append(r.Languages, t)
	}
}

// ResponseTypeDevice marks the flow of a device authorization grant: it
// ends with the device approved, not with an authorization response.
const ResponseTypeDevice = "device_code"

// Device reports whether the flow approves a device (RFC 8628).
func (r *Request) Device() bool { return r.ResponseType == ResponseTypeDevice }

// PiFlow reports whether the client drives the flow itself (200 JSON
// instead of redirects).
func (r *Request) PiFlow() bool { return r.ResponseMode == "pi.flow" }

// PolicyAction is one sign-on policy action as the flow runs it: a
// snapshot taken when the flow starts, so that an administrator editing
// the policy does not change a flow midway. Methods read their own
// settings from it.
type PolicyAction struct {
	ID       string                      `json:"id"`
	Type     string                      `json:"type"`
	Settings wire.SignOnPolicyActionData `json:"settings"`
}

// Registration reports whether the action lets new users register, and
// the population it puts them in ("" = the environment's default).
func (a *PolicyAction) Registration() (enabled bool, populationID string) {
	r := a.Settings.Registration
	if r == nil || !r.Enabled {
		return false, ""
	}
	if r.Population != nil {
		populationID = r.Population.ID
	}
	return true, populationID
}

// stateVersion marks the shape of a flow's Data. A flow of another shape
// (started before an upgrade, or by an older node sharing the database)
// is not read: it answers as an expired flow, and the user starts over.
const stateVersion = 2

// state is a flow's Data: what the engine keeps of every flow, and each
// method's own state under its name.
type state struct {
	Version    int            `json:"v"`
	Request    Request        `json:"request"`
	AppName    string         `json:"appName"`
	PolicyID   string         `json:"policyId"`
	PolicyName string         `json:"policyName"`
	Actions    []PolicyAction `json:"actions"`
	Step       int            `json:"step"` // index into Actions
	// Username is the username the user gave (user.lookup,
	// password.forgot), kept alike whether or not it names a user, so
	// that answers do not tell which usernames exist.
	Username string `json:"username,omitempty"`
	// SignedOn is the user the flow's completed actions signed on, at
	// AuthTime, with the methods of AMR. A later action that signs on
	// another user starts them over: one user's password is never
	// another's amr.
	SignedOn string   `json:"signedOn,omitempty"`
	AuthTime int64    `json:"authTime,omitempty"` // unix seconds of the sign-on
	AMR      []string `json:"amr,omitempty"`
	// Held is how the user authenticated while a method holds the
	// sign-on (Holder): Release completes it with these.
	Held []string `json:"held,omitempty"`
	// ForceAuth is set by prompt=login and max_age: the session's earlier
	// sign-on does not count.
	ForceAuth bool `json:"forceAuth,omitempty"`
	// Wrong counts the failed password checks of the flow, across
	// session.reset: the flow fails at the engine's cap.
	Wrong int `json:"wrong,omitempty"`
	// Refused is set once the password pool has refused one of the
	// flow's checks for want of capacity. Like a failed check it ranks
	// the flow's next checks behind fresh flows': a flow retrying into a
	// full pool must not keep the first rank, or a flood of such flows
	// would. It is written once, so that refusals (which are cheap) never
	// cost a write each.
	Refused bool `json:"refused,omitempty"`
	// Error is why a FAILED flow failed, as resume reports it.
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"errorDescription,omitempty"`
	// Source is the address that started the flow, as rate limits key it:
	// finishing the flow gives its token back.
	Source string `json:"source,omitempty"`
	// Methods holds each method's state, by method name.
	Methods map[string]json.RawMessage `json:"methods,omitempty"`
}

func (st *state) action() *PolicyAction {
	if st.Step < len(st.Actions) {
		return &st.Actions[st.Step]
	}
	return nil
}
