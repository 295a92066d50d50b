package wire

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PingOne's notifications: phone delivery settings
// ({apiPath}/environments/{envId}/notificationsSettings/phoneDeliverySettings)
// and notification templates and their contents
// ({apiPath}/environments/{envId}/templates/{templateName}/contents), as
// PingOne's SDK models them (management.NotificationsSettingsPhoneDelivery
// Settings*, management.Template, management.TemplateContent*).

// Phone delivery providers.
const (
	PhoneProviderCustom    = "CUSTOM_PROVIDER"
	PhoneProviderTwilio    = "CUSTOM_TWILIO"
	PhoneProviderSyniverse = "CUSTOM_SYNIVERSE"
)

// Limits of phone delivery settings.
const (
	PhoneNameMax     = 256
	PhoneURLMax      = 2048
	PhoneBodyMax     = 8192
	PhoneHeadersMax  = 20
	PhoneHeaderMax   = 1024
	PhoneTagMax      = 256
	PhoneNumbersMax  = 50
	PhoneCredMax     = 1024
	PhoneCountriesMx = 250
)

// PhoneDeliverySettingsRequest is the body of a POST or PUT: a custom
// provider (name, requests, authentication, numbers) or a Twilio account
// (sid, authToken, numbers). Read-only members a client echoes back
// (_links, id, environment, createdAt, updatedAt) are ignored.
type PhoneDeliverySettingsRequest struct {
	Provider       string                     `json:"provider"`
	Name           string                     `json:"name"`
	Requests       []PhoneDeliveryHTTPRequest `json:"requests"`
	Authentication *PhoneDeliveryAuthRequest  `json:"authentication"`
	Numbers        []PhoneDeliveryNumber      `json:"numbers"`
	Sid            string                     `json:"sid"`
	AuthToken      string                     `json:"authToken"`
}

// PhoneDeliveryHTTPRequest is one request a custom provider is sent: for
// SMS or for voice.
type PhoneDeliveryHTTPRequest struct {
	DeliveryMethod    string            `json:"deliveryMethod"`
	URL               string            `json:"url"`
	Method            string            `json:"method"`
	Body              string            `json:"body,omitempty"`
	Headers           map[string]string `json:"headers,omitempty"`
	PhoneNumberFormat string            `json:"phoneNumberFormat"`
	BeforeTag         string            `json:"beforeTag,omitempty"`
	AfterTag          string            `json:"afterTag,omitempty"`
}

// PhoneDeliveryAuthRequest is a custom provider's authentication as a
// request sends it.
type PhoneDeliveryAuthRequest struct {
	Method    string `json:"method"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	AuthToken string `json:"authToken"`
}

// PhoneDeliveryAuth is a custom provider's authentication as responses
// show it: the method and the username, never the password or token
// (PingOne's Terraform provider keeps those from its own configuration).
type PhoneDeliveryAuth struct {
	Method   string `json:"method"`
	Username string `json:"username,omitempty"`
}

// PhoneDeliveryNumber is a number (or short code) messages are sent from.
type PhoneDeliveryNumber struct {
	Number             string   `json:"number"`
	Type               string   `json:"type"`
	Selected           *bool    `json:"selected,omitempty"`
	Available          *bool    `json:"available,omitempty"`
	Capabilities       []string `json:"capabilities,omitempty"`
	SupportedCountries []string `json:"supportedCountries,omitempty"`
}

// PhoneDeliveryConfig is what the store keeps of phone delivery settings,
// credentials aside (they are sealed apart, PhoneDeliverySecret).
type PhoneDeliveryConfig struct {
	Name       string                     `json:"name,omitempty"`
	Requests   []PhoneDeliveryHTTPRequest `json:"requests,omitempty"`
	AuthMethod string                     `json:"authMethod,omitempty"`
	Username   string                     `json:"username,omitempty"`
	Numbers    []PhoneDeliveryNumber      `json:"numbers,omitempty"`
	Sid        string                     `json:"sid,omitempty"`
}

// PhoneDeliverySecret is the sealed part: a BASIC password, a BEARER
// token or a Twilio auth token.
type PhoneDeliverySecret struct {
	Password  string `json:"password,omitempty"`
	AuthToken string `json:"authToken,omitempty"`
}

// PhoneDeliverySettings is the resource as responses show it.
type PhoneDeliverySettings struct {
	Links          Links                      `json:"_links"`
	ID             string                     `json:"id"`
	Environment    Ref                        `json:"environment"`
	Provider       string                     `json:"provider"`
	Name           string                     `json:"name,omitempty"`
	Requests       []PhoneDeliveryHTTPRequest `json:"requests,omitempty"`
	Authentication *PhoneDeliveryAuth         `json:"authentication,omitempty"`
	Numbers        []PhoneDeliveryNumber      `json:"numbers,omitempty"`
	Sid            string                     `json:"sid,omitempty"`
	CreatedAt      Time                       `json:"createdAt"`
	UpdatedAt      Time                       `json:"updatedAt"`
}

// Normalize checks a body and returns what to keep. prev is the stored
// configuration of an update (nil on a create), prevProvider its
// provider. The secret is nil when the body sends no credential and the
// stored one still applies (a PUT of what a GET returned, which never
// shows credentials).
func (r *PhoneDeliverySettingsRequest) Normalize(prev *PhoneDeliveryConfig, prevProvider string) (PhoneDeliveryConfig, *PhoneDeliverySecret, []Detail) {
	var ds []Detail
	bad := func(target, msg string) { ds = append(ds, InvalidValue(target, msg)) }
	var c PhoneDeliveryConfig
	switch {
	case r.Provider == "":
		return c, nil, []Detail{Required("provider")}
	case r.Provider == PhoneProviderSyniverse:
		return c, nil, []Detail{InvalidValue("provider", "CUSTOM_SYNIVERSE is not supported; use CUSTOM_PROVIDER or CUSTOM_TWILIO.")}
	case r.Provider != PhoneProviderCustom && r.Provider != PhoneProviderTwilio:
		return c, nil, []Detail{OneOf("provider", []string{PhoneProviderCustom, PhoneProviderTwilio})}
	case prev != nil && r.Provider != prevProvider:
		return c, nil, []Detail{InvalidValue("provider", "provider cannot be changed; create new phone delivery settings instead.")}
	}
	c.Numbers, ds = normalizeNumbers(r.Numbers, ds)
	var sec *PhoneDeliverySecret
	if r.Provider == PhoneProviderTwilio {
		c.Sid = strings.TrimSpace(r.Sid)
		if c.Sid == "" {
			ds = append(ds, Required("sid"))
		} else if len(c.Sid) > PhoneCredMax || !printable(c.Sid) {
			bad("sid", "sid is not a valid account id.")
		} else if prev != nil && c.Sid != prev.Sid {
			bad("sid", "sid cannot be changed; create new phone delivery settings instead.")
		}
		switch {
		case r.AuthToken != "":
			if len(r.AuthToken) > PhoneCredMax || !printable(r.AuthToken) {
				bad("authToken", "authToken is not a valid token.")
			}
			sec = &PhoneDeliverySecret{AuthToken: r.AuthToken}
		case prev == nil:
			ds = append(ds, Required("authToken"))
		}
		return c, sec, ds
	}

	c.Name = strings.TrimSpace(r.Name)
	switch {
	case c.Name == "":
		ds = append(ds, Required("name"))
	case utf8.RuneCountInString(c.Name) > PhoneNameMax || !printable(c.Name):
		bad("name", "name must be at most 256 printable characters.")
	}
	if len(r.Requests) == 0 {
		ds = append(ds, Required("requests"))
	}
	if len(r.Requests) > 2 {
		bad("requests", "requests holds at most one request for SMS and one for VOICE.")
	}
	seen := map[string]bool{}
	for i, q := range r.Requests {
		if i >= 2 {
			break
		}
		var d []Detail
		q, d = normalizeHTTPRequest(q, "requests["+strconv.Itoa(i)+"]")
		ds = append(ds, d...)
		if seen[q.DeliveryMethod] && q.DeliveryMethod != "" {
			bad("requests["+strconv.Itoa(i)+"].deliveryMethod", "requests holds one request per deliveryMethod.")
		}
		seen[q.DeliveryMethod] = true
		c.Requests = append(c.Requests, q)
	}
	a := r.Authentication
	if a == nil {
		return c, nil, append(ds, Required("authentication"))
	}
	c.AuthMethod = a.Method
	samePrev := prev != nil && prev.AuthMethod == a.Method
	switch a.Method {
	case "":
		ds = append(ds, Required("authentication.method"))
	case "BASIC":
		c.Username = a.Username
		if a.Username == "" {
			ds = append(ds, Required("authentication.username"))
		} else if len(a.Username) > PhoneCredMax || strings.Contains(a.Username, ":") || !printable(a.Username) {
			bad("authentication.username", "username must be printable and must not contain a colon.")
		}
		switch {
		case a.Password != "":
			if len(a.Password) > PhoneCredMax || !printable(a.Password) {
				bad("authentication.password", "password must be printable.")
			}
			sec = &PhoneDeliverySecret{Password: a.Password}
		case !samePrev:
			ds = append(ds, Required("authentication.password"))
		}
	case "BEARER":
		switch {
		case a.AuthToken != "":
			if len(a.AuthToken) > PhoneCredMax || !printable(a.AuthToken) {
				bad("authentication.authToken", "authToken must be printable.")
			}
			sec = &PhoneDeliverySecret{AuthToken: a.AuthToken}
		case !samePrev:
			ds = append(ds, Required("authentication.authToken"))
		}
	default:
		ds = append(ds, OneOf("authentication.method", []string{"BASIC", "BEARER"}))
	}
	return c, sec, ds
}

func normalizeHTTPRequest(q PhoneDeliveryHTTPRequest, at string) (PhoneDeliveryHTTPRequest, []Detail) {
	var ds []Detail
	bad := func(target, msg string) { ds = append(ds, InvalidValue(at+"."+target, msg)) }
	switch q.DeliveryMethod {
	case "SMS", "VOICE":
	case "":
		ds = append(ds, Required(at+".deliveryMethod"))
	default:
		ds = append(ds, OneOf(at+".deliveryMethod", []string{"SMS", "VOICE"}))
	}
	switch q.Method {
	case "GET", "POST":
	case "":
		ds = append(ds, Required(at+".method"))
	default:
		ds = append(ds, OneOf(at+".method", []string{"GET", "POST"}))
	}
	switch q.PhoneNumberFormat {
	case "":
		q.PhoneNumberFormat = "FULL"
	case "FULL", "NUMBER_ONLY":
	default:
		ds = append(ds, OneOf(at+".phoneNumberFormat", []string{"FULL", "NUMBER_ONLY"}))
	}
	if q.URL == "" {
		ds = append(ds, Required(at+".url"))
	} else if u, err := url.Parse(strings.NewReplacer("${", "", "}", "").Replace(q.URL)); err != nil || len(q.URL) > PhoneURLMax ||
		(u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) || u.Host == "" || u.User != nil {
		bad("url", "url must be an absolute https URL (http only for localhost) without credentials, at most 2048 characters.")
	}
	if len(q.Body) > PhoneBodyMax {
		bad("body", "body must be at most 8192 bytes.")
	}
	if q.Method == "GET" && q.Body != "" {
		bad("body", "A GET request has no body: put ${to} and ${message} in the url.")
	}
	both := q.URL + q.Body
	for _, v := range []string{"${to}", "${message}"} {
		if !strings.Contains(both, v) {
			bad(map[bool]string{true: "url", false: "body"}[q.Method == "GET"], "The request must use the variable "+v+".")
		}
	}
	if len(q.Headers) > PhoneHeadersMax {
		bad("headers", "headers holds at most 20 headers.")
	}
	for k, v := range q.Headers {
		if !token(k) || len(v) > PhoneHeaderMax || strings.ContainsAny(v, "\r\n\x00") {
			bad("headers", "headers must be valid HTTP header names and one-line values.")
			break
		}
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
			bad("headers", "headers must not set "+k+": authentication sets the credentials.")
			break
		}
	}
	if q.Method == "POST" && q.Body != "" && PhoneBodyEscaping(q.Headers) == "" {
		// PingOne's custom provider takes a POST body that is JSON or
		// form encoded, named by the Content-Type header: the variables
		// (a user's name among them) are escaped for it, and for nothing
		// else.
		bad("headers", "A POST request with a body needs a Content-Type header of application/json or application/x-www-form-urlencoded.")
	}
	if len(q.BeforeTag) > PhoneTagMax || len(q.AfterTag) > PhoneTagMax {
		bad("beforeTag", "beforeTag and afterTag must be at most 256 characters.")
	}
	if q.DeliveryMethod != "VOICE" && (q.BeforeTag != "" || q.AfterTag != "") {
		bad("beforeTag", "beforeTag and afterTag are for VOICE requests only.")
	}
	return q, ds
}

func normalizeNumbers(ns []PhoneDeliveryNumber, ds []Detail) ([]PhoneDeliveryNumber, []Detail) {
	if len(ns) > PhoneNumbersMax {
		return nil, append(ds, InvalidValue("numbers", "numbers holds at most 50 numbers."))
	}
	var out []PhoneDeliveryNumber
	for i, n := range ns {
		at := "numbers[" + strconv.Itoa(i) + "]"
		if n.Number == "" {
			ds = append(ds, Required(at+".number"))
		} else if len(n.Number) > 32 || !phoneChars(n.Number) {
			ds = append(ds, InvalidValue(at+".number", "number must be a phone number or short code."))
		}
		switch n.Type {
		case "PHONE_NUMBER", "SHORT_CODE", "TOLL_FREE":
		case "":
			ds = append(ds, Required(at+".type"))
		default:
			ds = append(ds, OneOf(at+".type", []string{"PHONE_NUMBER", "SHORT_CODE", "TOLL_FREE"}))
		}
		for _, c := range n.Capabilities {
			if c != "SMS" && c != "VOICE" {
				ds = append(ds, OneOf(at+".capabilities", []string{"SMS", "VOICE"}))
				break
			}
		}
		if len(n.SupportedCountries) > PhoneCountriesMx {
			ds = append(ds, InvalidValue(at+".supportedCountries", "supportedCountries is too long."))
		}
		for _, c := range n.SupportedCountries {
			if len(c) != 2 || strings.ToUpper(c) != c {
				ds = append(ds, InvalidValue(at+".supportedCountries", "supportedCountries holds ISO 3166 country codes such as US."))
				break
			}
		}
		out = append(out, n)
	}
	return out, ds
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func phoneChars(s string) bool {
	for i, r := range s {
		if !(r >= '0' && r <= '9') && !(r == '+' && i == 0) {
			return false
		}
	}
	return true
}

// token reports whether s is an HTTP header name.
func token(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// Template is one predefined notification template.
type Template struct {
	Links                 Links          `json:"_links"`
	ID                    string         `json:"id"`
	DisplayName           string         `json:"displayName"`
	Description           string         `json:"description"`
	DeliveryMethods       []string       `json:"deliveryMethods"`
	Variables             map[string]any `json:"variables"`
	AllowDynamicVariables bool           `json:"allowDynamicVariables"`
}

// TemplateAddress is an email content's from or replyTo.
type TemplateAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// TemplateContentRequest is the body of a content's POST or PUT; the
// members that apply depend on deliveryMethod (Email: subject, body,
// from, replyTo, charset, emailContentType; SMS: content, sender; Voice:
// content, voice). Read-only members a client echoes back (_links, id,
// default, createdAt, updatedAt) are ignored.
type TemplateContentRequest struct {
	Locale           string           `json:"locale"`
	DeliveryMethod   string           `json:"deliveryMethod"`
	Variant          *string          `json:"variant"`
	Subject          *string          `json:"subject"`
	Body             *string          `json:"body"`
	From             *TemplateAddress `json:"from"`
	ReplyTo          *TemplateAddress `json:"replyTo"`
	Charset          *string          `json:"charset"`
	EmailContentType *string          `json:"emailContentType"`
	Content          *string          `json:"content"`
	Sender           *string          `json:"sender"`
	Voice            *string          `json:"voice"`
}

// TemplateContent is a content as responses show it: the common members
// and those of its delivery method.
type TemplateContent struct {
	Links          Links  `json:"_links"`
	ID             string `json:"id"`
	Template       Ref    `json:"template"`
	Environment    Ref    `json:"environment"`
	CreatedAt      Time   `json:"createdAt"`
	UpdatedAt      Time   `json:"updatedAt"`
	Default        bool   `json:"default"`
	Locale         string `json:"locale"`
	DeliveryMethod string `json:"deliveryMethod"`
	Variant        string `json:"variant,omitempty"`
	// Email
	Subject          *string          `json:"subject,omitempty"`
	Body             *string          `json:"body,omitempty"`
	From             *TemplateAddress `json:"from,omitempty"`
	ReplyTo          *TemplateAddress `json:"replyTo,omitempty"`
	Charset          *string          `json:"charset,omitempty"`
	EmailContentType *string          `json:"emailContentType,omitempty"`
	// SMS and Voice
	Content *string `json:"content,omitempty"`
	Sender  *string `json:"sender,omitempty"`
	Voice   *string `json:"voice,omitempty"`
}

// PhoneSecretAAD binds phone delivery settings' sealed credentials to
// their record, so that a sealed value copied to another record does not
// open.
func PhoneSecretAAD(envID, id string) string { return "phoneDelivery:" + envID + ":" + id }

// PhoneBodyEscaping is how a custom provider's POST body escapes the
// variables it holds, by the request's Content-Type header: "json" or
// "form", or "" when the type is neither (such a body is refused).
func PhoneBodyEscaping(headers map[string]string) string {
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Type") {
			continue
		}
		mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ";")
		switch mt = strings.TrimSpace(mt); {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			return "json"
		case mt == "application/x-www-form-urlencoded":
			return "form"
		}
	}
	return ""
}

// loopbackHost reports whether host is this machine, where a provider may
// take plain http (the outbound client refuses it anywhere else).
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}
