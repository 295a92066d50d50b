package wire

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Webhook subscriptions: PingOne's …/environments/{envId}/subscriptions.

// Subscription formats and filter tags (PingOne's).
const (
	SubscriptionFormatActivity = "ACTIVITY"
	SubscriptionFormatSplunk   = "SPLUNK"
	SubscriptionFormatNewRelic = "NEWRELIC"
	SubscriptionTagAdmin       = "adminIdentityEvent"
	// SubscriptionProtocolHTTPS is the one delivery protocol Gatehouse
	// has; PingOne also has TCP_IP (syslog).
	SubscriptionProtocolHTTPS = "HTTPS"
)

// SubscriptionFormats are the formats a subscription may name.
var SubscriptionFormats = []string{SubscriptionFormatActivity, SubscriptionFormatSplunk, SubscriptionFormatNewRelic}

// Subscription is a subscription as PingOne answers it. The booleans are
// always there (false is not absent); headers and format are there when
// set.
// DeliveryStatus is Gatehouse's: where delivery stands (PingOne shows
// nothing of it); clients that do not know it ignore it, and a PUT that
// sends it back is not refused.
type Subscription struct {
	Links        Links                    `json:"_links"`
	ID           string                   `json:"id"`
	Environment  Ref                      `json:"environment"`
	Name         string                   `json:"name"`
	Enabled      bool                     `json:"enabled"`
	Protocol     string                   `json:"protocol"`
	HTTPEndpoint SubscriptionHTTPEndpoint `json:"httpEndpoint"`
	// ConnectionDetails is httpEndpoint again: PingOne fills it in for
	// HTTPS subscriptions, and pingone_webhook reads it into state.
	ConnectionDetails     *SubscriptionHTTPEndpoint `json:"connectionDetails,omitempty"`
	VerifyTLSCertificates bool                      `json:"verifyTlsCertificates"`
	Format                string                    `json:"format,omitempty"`
	FilterOptions         SubscriptionFilterOptions `json:"filterOptions"`
	CreatedAt             Time                      `json:"createdAt"`
	UpdatedAt             Time                      `json:"updatedAt"`
	DeliveryStatus        *SubscriptionDelivery     `json:"deliveryStatus,omitempty"`
}

// SubscriptionHTTPEndpoint is where events go and the headers sent with
// them (the receiver's credentials, typically).
type SubscriptionHTTPEndpoint struct {
	URL     string              `json:"url"`
	Headers SubscriptionHeaders `json:"headers,omitempty"`
}

// SubscriptionHeaders is httpEndpoint.headers: an object of names to
// values. It also reads the list of one-member objects older PingOne SDKs
// send ([{"Authorization": "Basic …"}]).
type SubscriptionHeaders map[string]string

func (h *SubscriptionHeaders) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []map[string]string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		out := SubscriptionHeaders{}
		for _, m := range list {
			for k, v := range m {
				if _, dup := out[k]; dup {
					return errors.New("a header is named twice")
				}
				out[k] = v
			}
		}
		*h = out
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*h = m
	return nil
}

// SubscriptionFilterOptions selects the activities a subscription gets.
type SubscriptionFilterOptions struct {
	IncludedActionTypes  []string `json:"includedActionTypes"`
	IncludedApplications []Ref    `json:"includedApplications,omitempty"`
	IncludedPopulations  []Ref    `json:"includedPopulations,omitempty"`
	IncludedTags         []string `json:"includedTags,omitempty"`
	IPAddressExposed     bool     `json:"ipAddressExposed"`
	UserAgentExposed     bool     `json:"userAgentExposed"`
}

// SubscriptionDelivery is Gatehouse's deliveryStatus of a subscription.
// status is ACTIVE (nothing waiting on a retry), RETRYING (the activity
// after the last one delivered failed attempts times and is tried again
// at nextAttemptAt) or DISABLED. deadLetterCount counts the activities
// given up on after the retries; GET of one subscription lists the latest
// of them.
type SubscriptionDelivery struct {
	Status           string                   `json:"status"`
	LastDeliveredAt  *Time                    `json:"lastDeliveredAt,omitempty"`
	Attempts         int                      `json:"attempts"`
	NextAttemptAt    *Time                    `json:"nextAttemptAt,omitempty"`
	LastError        string                   `json:"lastError,omitempty"`
	LastErrorAt      *Time                    `json:"lastErrorAt,omitempty"`
	DeadLetterCount  int64                    `json:"deadLetterCount"`
	LastDeadLetterAt *Time                    `json:"lastDeadLetterAt,omitempty"`
	DeadLetters      []SubscriptionDeadLetter `json:"deadLetters,omitempty"`
}

// SubscriptionDeadLetter is an activity a subscription gave up on.
type SubscriptionDeadLetter struct {
	Activity  Ref    `json:"activity"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error"`
	CreatedAt Time   `json:"createdAt"`
}

// SubscriptionRequest is a POST or PUT body. Pointers tell absent from
// zero; read-only members (id, environment, createdAt, _links,
// deliveryStatus) are ignored.
type SubscriptionRequest struct {
	Name                  *string                          `json:"name"`
	Enabled               *bool                            `json:"enabled"`
	Protocol              *string                          `json:"protocol"`
	HTTPEndpoint          *SubscriptionHTTPEndpointRequest `json:"httpEndpoint"`
	ConnectionDetails     *SubscriptionHTTPEndpointRequest `json:"connectionDetails"`
	VerifyTLSCertificates *bool                            `json:"verifyTlsCertificates"`
	Format                *string                          `json:"format"`
	FilterOptions         *SubscriptionFilterRequest       `json:"filterOptions"`
	TLSClientAuthKeyPair  *Ref                             `json:"tlsClientAuthKeyPair"`
	PayloadOptions        json.RawMessage                  `json:"payloadOptions"`
}

type SubscriptionHTTPEndpointRequest struct {
	URL     *string             `json:"url"`
	Headers SubscriptionHeaders `json:"headers"`
}

type SubscriptionFilterRequest struct {
	IncludedActionTypes  []string `json:"includedActionTypes"`
	IncludedApplications []Ref    `json:"includedApplications"`
	IncludedPopulations  []Ref    `json:"includedPopulations"`
	IncludedTags         []string `json:"includedTags"`
	IPAddressExposed     *bool    `json:"ipAddressExposed"`
	UserAgentExposed     *bool    `json:"userAgentExposed"`
}
