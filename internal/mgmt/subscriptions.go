package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Webhook subscriptions (PingOne's Subscriptions API). The dispatcher
// (internal/webhook) delivers them; here is their configuration. PingOne
// grants them to the Environment Admin; Gatehouse reads them with the
// configuration readers' permission and writes them with the
// configuration writers' (which only the Environment Admin holds).

// Bounds of a subscription (PingOne's where it documents one).
const (
	maxSubscriptions       = 50 // PingOne: a 51st is refused with 403
	maxSubscriptionIDs     = 10 // includedApplications, includedPopulations
	maxSubscriptionActions = 100
	maxSubscriptionHeaders = 20
	maxSubscriptionURL     = 2048
	// deadLettersShown is how many of the latest dead letters GET of one
	// subscription lists.
	deadLettersShown = 10
)

func (a *API) subscriptionRoutes(mux router) {
	mux.Handle("GET /v1/environments/{envID}/subscriptions", a.handle(a.listSubscriptions))
	mux.Handle("POST /v1/environments/{envID}/subscriptions", a.handle(a.createSubscription))
	mux.Handle("GET /v1/environments/{envID}/subscriptions/{subID}", a.handle(a.getSubscription))
	mux.Handle("PUT /v1/environments/{envID}/subscriptions/{subID}", a.handle(a.updateSubscription))
	mux.Handle("DELETE /v1/environments/{envID}/subscriptions/{subID}", a.handle(a.deleteSubscription))
}

// SubscriptionData is what a subscription's Data holds.
type SubscriptionData struct {
	FilterOptions wire.SubscriptionFilterOptions `json:"filterOptions"`
}

// subscriptionAAD binds a subscription's sealed headers to it.
func subscriptionAAD(id string) string { return "subscription:" + id }

func (a *API) renderSubscription(x *store.Subscription, dead []store.SubscriptionDeadLetter) (wire.Subscription, error) {
	envHref := a.APIPath + "/environments/" + x.EnvironmentID
	var d SubscriptionData
	if err := json.Unmarshal(x.Data, &d); err != nil {
		return wire.Subscription{}, fmt.Errorf("subscription %s: %w", x.ID, err)
	}
	if d.FilterOptions.IncludedActionTypes == nil {
		d.FilterOptions.IncludedActionTypes = []string{}
	}
	var headers wire.SubscriptionHeaders
	if len(x.HeadersSealed) > 0 {
		b, err := a.Sealer.Open(x.HeadersSealed, subscriptionAAD(x.ID))
		if err != nil {
			return wire.Subscription{}, fmt.Errorf("subscription %s: headers: %w", x.ID, err)
		}
		if err := json.Unmarshal(b, &headers); err != nil {
			return wire.Subscription{}, fmt.Errorf("subscription %s: headers: %w", x.ID, err)
		}
	}
	dl := x.Delivery
	status := "ACTIVE"
	switch {
	case !x.Enabled:
		status = "DISABLED"
	case dl.Attempts > 0:
		status = "RETRYING"
	}
	ds := &wire.SubscriptionDelivery{Status: status, LastDeliveredAt: wire.TimePtr(dl.LastDeliveredAt), Attempts: dl.Attempts,
		LastError: dl.LastError, LastErrorAt: wire.TimePtr(dl.LastErrorAt), DeadLetterCount: dl.DeadLetters,
		LastDeadLetterAt: wire.TimePtr(dl.LastDeadLetterAt)}
	if dl.Attempts > 0 {
		ds.NextAttemptAt = wire.TimePtr(dl.NextAttemptAt)
	}
	for _, l := range dead {
		ds.DeadLetters = append(ds.DeadLetters, wire.SubscriptionDeadLetter{Activity: wire.Ref{ID: l.ActivityID}, Attempts: l.Attempts,
			Error: l.Error, CreatedAt: wire.Time(l.CreatedAt)})
	}
	return wire.Subscription{
		Links: wire.Links{"self": {Href: envHref + "/subscriptions/" + x.ID}, "environment": {Href: envHref}},
		ID:    x.ID, Environment: wire.Ref{ID: x.EnvironmentID}, Name: x.Name, Enabled: x.Enabled, Protocol: wire.SubscriptionProtocolHTTPS,
		HTTPEndpoint:          wire.SubscriptionHTTPEndpoint{URL: x.URL, Headers: headers},
		ConnectionDetails:     &wire.SubscriptionHTTPEndpoint{URL: x.URL, Headers: headers},
		VerifyTLSCertificates: x.VerifyTLS, Format: x.Format, FilterOptions: d.FilterOptions,
		CreatedAt: wire.Time(x.CreatedAt), UpdatedAt: wire.Time(x.UpdatedAt), DeliveryStatus: ds,
	}, nil
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	list, err := a.Store.ListSubscriptions(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(list))
	for i := range list {
		if items[i], err = a.renderSubscription(&list[i], nil); err != nil {
			return err
		}
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/subscriptions", "subscriptions", items))
	return nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	return a.writeStoredSubscription(w, r, env.ID, r.PathValue("subID"))
}

// writeStoredSubscription answers 200 with the subscription as stored,
// its delivery state and latest dead letters included.
func (a *API) writeStoredSubscription(w http.ResponseWriter, r *http.Request, envID, id string) error {
	x, err := a.Store.GetSubscription(r.Context(), envID, id)
	if err != nil {
		return err
	}
	dead, err := a.Store.ListSubscriptionDeadLetters(r.Context(), envID, x.ID, deadLettersShown)
	if err != nil {
		return err
	}
	out, err := a.renderSubscription(x, dead)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, out)
	return nil
}

// applySubscription validates req and writes it over x (PUT replaces:
// absent optional members reset).
func (a *API) applySubscription(req *wire.SubscriptionRequest, x *store.Subscription) error {
	var details []wire.Detail
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		details = append(details, wire.Required("name"))
	} else if len(*req.Name) > 256 {
		details = append(details, sizeLimit("name", 256))
	}
	if req.Enabled == nil {
		details = append(details, wire.Required("enabled"))
	}
	// format is optional (pingone_webhook's minimal configuration sends
	// none and reads none back); absent, deliveries are ACTIVITY's.
	format := ""
	if req.Format != nil && *req.Format != "" {
		format = *req.Format
		if !slices.Contains(wire.SubscriptionFormats, format) {
			details = append(details, wire.OneOf("format", wire.SubscriptionFormats))
		}
	}
	if req.Protocol != nil && *req.Protocol != wire.SubscriptionProtocolHTTPS {
		details = append(details, wire.OneOf("protocol", []string{wire.SubscriptionProtocolHTTPS}))
	}
	// connectionDetails is httpEndpoint's newer name; a GET answers both,
	// and a PUT of it is read through httpEndpoint.
	if req.HTTPEndpoint == nil {
		req.HTTPEndpoint = req.ConnectionDetails
	}
	var headers wire.SubscriptionHeaders
	if req.HTTPEndpoint == nil || req.HTTPEndpoint.URL == nil || *req.HTTPEndpoint.URL == "" {
		details = append(details, wire.Required("httpEndpoint.url"))
	} else {
		details = append(details, checkSubscriptionURL(*req.HTTPEndpoint.URL)...)
		headers = req.HTTPEndpoint.Headers
		details = append(details, checkSubscriptionHeaders(headers)...)
	}
	if req.TLSClientAuthKeyPair != nil {
		details = append(details, wire.InvalidValue("tlsClientAuthKeyPair", "TLS client authentication of webhooks is not supported."))
	}
	if len(req.PayloadOptions) > 0 && string(req.PayloadOptions) != "null" {
		details = append(details, wire.InvalidValue("payloadOptions", "Payload options are not supported: each delivery carries one activity."))
	}
	var fo wire.SubscriptionFilterOptions
	if req.FilterOptions == nil {
		details = append(details, wire.Required("filterOptions.includedActionTypes"))
	} else {
		f := req.FilterOptions
		details = append(details, checkSubscriptionFilters(f)...)
		fo = wire.SubscriptionFilterOptions{IncludedActionTypes: f.IncludedActionTypes, IncludedApplications: f.IncludedApplications,
			IncludedPopulations: f.IncludedPopulations, IncludedTags: f.IncludedTags,
			IPAddressExposed: f.IPAddressExposed != nil && *f.IPAddressExposed, UserAgentExposed: f.UserAgentExposed != nil && *f.UserAgentExposed}
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	x.Name, x.Enabled, x.Format, x.URL = strings.TrimSpace(*req.Name), *req.Enabled, format, *req.HTTPEndpoint.URL
	// Verification is on unless turned off (PingOne's SDK always sends it).
	x.VerifyTLS = req.VerifyTLSCertificates == nil || *req.VerifyTLSCertificates
	x.HeadersSealed = nil
	if len(headers) > 0 {
		x.HeadersSealed = a.Sealer.Seal(mustJSON(headers), subscriptionAAD(x.ID))
	}
	x.Data = mustJSON(SubscriptionData{FilterOptions: fo})
	return nil
}

// checkSubscriptionURL: an absolute https URL (PingOne's rule; where it
// may go is the outbound guard's to say, at delivery, after resolution).
func checkSubscriptionURL(raw string) []wire.Detail {
	if len(raw) > maxSubscriptionURL {
		return []wire.Detail{sizeLimit("httpEndpoint.url", maxSubscriptionURL)}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return []wire.Detail{wire.InvalidValue("httpEndpoint.url", "The URL must be an absolute https URL.")}
	}
	if u.User != nil {
		return []wire.Detail{wire.InvalidValue("httpEndpoint.url", "The URL must not carry credentials: send them in httpEndpoint.headers.")}
	}
	return nil
}

// reservedHeaders are the transport's, set by the delivery itself.
// Content-Type is not among them: PingOne keeps it (pingone_webhook's own
// tests configure "Content-Type: application/json"); the delivery sends
// its own, application/json, whatever is configured.
var reservedHeaders = []string{"content-length", "host", "transfer-encoding", "connection", "te", "upgrade", "trailer", "expect"}

func checkSubscriptionHeaders(h wire.SubscriptionHeaders) []wire.Detail {
	if len(h) > maxSubscriptionHeaders {
		return []wire.Detail{sizeLimit("httpEndpoint.headers", maxSubscriptionHeaders)}
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var details []wire.Detail
	for _, k := range names {
		v := h[k]
		switch {
		case !validHeaderName(k):
			details = append(details, wire.InvalidValue("httpEndpoint.headers", "A header name must be an HTTP token."))
		case slices.Contains(reservedHeaders, strings.ToLower(k)):
			details = append(details, wire.InvalidValue("httpEndpoint.headers."+k, "The header is set by the delivery and may not be configured."))
		case len(v) > 4096 || !validHeaderValue(v):
			details = append(details, wire.InvalidValue("httpEndpoint.headers."+k, "A header value must be at most 4096 characters without line breaks or other control characters."))
		}
	}
	return details
}

// validHeaderValue: no control character but tab (HTTP's field-value).
// Go's client refuses to send any other, so a value taken here would fail
// every delivery of the subscription.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

func checkSubscriptionFilters(f *wire.SubscriptionFilterRequest) []wire.Detail {
	var details []wire.Detail
	switch {
	case len(f.IncludedActionTypes) == 0:
		details = append(details, wire.Required("filterOptions.includedActionTypes"))
	case len(f.IncludedActionTypes) > maxSubscriptionActions:
		details = append(details, sizeLimit("filterOptions.includedActionTypes", maxSubscriptionActions))
	case slices.ContainsFunc(f.IncludedActionTypes, func(s string) bool { return strings.TrimSpace(s) == "" || len(s) > 256 }):
		details = append(details, wire.InvalidValue("filterOptions.includedActionTypes", "An action type must not be empty."))
	}
	for _, ids := range []struct {
		target string
		refs   []wire.Ref
	}{{"filterOptions.includedApplications", f.IncludedApplications}, {"filterOptions.includedPopulations", f.IncludedPopulations}} {
		if len(ids.refs) > maxSubscriptionIDs {
			details = append(details, sizeLimit(ids.target, maxSubscriptionIDs))
			continue
		}
		for _, r := range ids.refs {
			if uuid.Validate(r.ID) != nil {
				details = append(details, wire.InvalidValue(ids.target, "Each entry must be {\"id\": \"<uuid>\"}."))
				break
			}
		}
	}
	for _, tag := range f.IncludedTags {
		if tag != wire.SubscriptionTagAdmin {
			details = append(details, wire.OneOf("filterOptions.includedTags", []string{wire.SubscriptionTagAdmin}))
			break
		}
	}
	return details
}

func (a *API) createSubscription(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SubscriptionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := store.Now()
	x := &store.Subscription{ID: uuid.NewString(), EnvironmentID: env.ID, CreatedAt: now, UpdatedAt: now}
	if err := a.applySubscription(&req, x); err != nil {
		return err
	}
	// Count and create as a unit: two creates at once must not both see
	// room for the last one.
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockSubscriptions(r.Context(), env.ID); err != nil {
			return err
		}
		n, err := tx.CountSubscriptions(r.Context(), env.ID)
		if err != nil {
			return err
		}
		if n >= maxSubscriptions {
			max := int64(maxSubscriptions)
			return &wire.Error{Status: http.StatusForbidden, Code: wire.CodeAccessFailed,
				Message: fmt.Sprintf("The request could not be completed. An environment may have at most %d subscriptions.", maxSubscriptions),
				Details: []wire.Detail{{Code: wire.DetailSizeLimit, Target: "subscriptions", Message: fmt.Sprintf("An environment may have at most %d subscriptions.", maxSubscriptions),
					InnerError: &wire.InnerError{MaximumValue: &max}}}}
		}
		// A new subscription starts after the last activity written: it
		// gets no history.
		if x.Delivery.Cursor, err = tx.LastActivitySeq(r.Context()); err != nil {
			return err
		}
		return tx.CreateSubscription(r.Context(), x)
	})
	if err != nil {
		return err
	}
	out, err := a.renderSubscription(x, nil)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, out)
	return nil
}

func (a *API) updateSubscription(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.SubscriptionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	x, err := a.Store.GetSubscription(r.Context(), env.ID, r.PathValue("subID"))
	if err != nil {
		return err
	}
	if err := a.applySubscription(&req, x); err != nil {
		return err
	}
	x.UpdatedAt = store.Now()
	if err := a.Store.UpdateSubscription(r.Context(), x); err != nil {
		return err
	}
	// Read back: the delivery state is the store's.
	return a.writeStoredSubscription(w, r, env.ID, x.ID)
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteSubscription(r.Context(), env.ID, r.PathValue("subID")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// RenderActivity is an activity as GET …/activities/{id} answers it: the
// body of a webhook's ACTIVITY format.
func (a *API) RenderActivity(x *store.Activity) any { return a.renderActivity(x) }
