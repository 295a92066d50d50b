package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/templates"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Bounds of one provider request: its time (on top of the outbound
// client's own) and how much of the answer is read. A send is one
// request, never retried: a retry after a timeout could deliver the
// same passcode twice, and an unauthenticated caller would multiply the
// provider's traffic.
const (
	ProviderTimeout      = 10 * time.Second
	ProviderResponseRead = 64 << 10
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// customProvider sends through a CUSTOM_PROVIDER's request for one
// channel: its url and body with PingOne's placeholders (${to},
// ${from}, ${message}, ${otp}, ${voice}, ${locale}, ${user.…} and the
// dynamic variables) replaced, its headers, and its authentication.
type customProvider struct {
	client *outbound.Client
	cfg    wire.PhoneDeliveryConfig
	req    wire.PhoneDeliveryHTTPRequest
	secret wire.PhoneDeliverySecret
	log    *slog.Logger
}

func (p *customProvider) SendPhone(ctx context.Context, m PhoneMessage) error {
	fail := func(status int, err error) error {
		return &DeliveryError{Channel: m.Channel, Provider: wire.PhoneProviderCustom, Status: status, Err: err}
	}
	vars := map[string]string{}
	for k, v := range m.Vars {
		vars[k] = v
	}
	to := m.To
	if p.req.PhoneNumberFormat == "NUMBER_ONLY" {
		to = strings.TrimPrefix(to, "+")
	}
	vars["to"] = to
	vars["from"] = fromNumber(p.cfg.Numbers, m.Channel, m.Sender)
	message := m.Text
	if m.Channel == "VOICE" && (p.req.BeforeTag != "" || p.req.AfterTag != "") {
		// The provider's tags go around each digit of the passcode, so
		// that a voice reads it out one digit at a time.
		var b strings.Builder
		for _, r := range m.Code {
			b.WriteString(p.req.BeforeTag + string(r) + p.req.AfterTag)
		}
		withTags := map[string]string{}
		for k, v := range m.Vars {
			withTags[k] = v
		}
		withTags["otp"] = b.String()
		message = templates.Render(m.Template, withTags)
	}
	vars["message"] = message
	u := substitute(p.req.URL, vars, url.QueryEscape)
	var body io.Reader
	if p.req.Method == http.MethodPost && p.req.Body != "" {
		var esc func(string) string
		switch wire.PhoneBodyEscaping(p.req.Headers) {
		case "json":
			esc = jsonEscape
		case "form":
			esc = url.QueryEscape
		default:
			// Settings stored before the management API required the
			// type: unescaped variables could alter the request, so
			// nothing is sent.
			return fail(0, fmt.Errorf("the provider's POST body has no JSON or form Content-Type"))
		}
		body = strings.NewReader(substitute(p.req.Body, vars, esc))
	}
	ctx, cancel := context.WithTimeout(ctx, ProviderTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, p.req.Method, u, body)
	if err != nil {
		return fail(0, fmt.Errorf("the provider's url does not make a request"))
	}
	for k, v := range p.req.Headers {
		req.Header.Set(k, v)
	}
	switch p.cfg.AuthMethod {
	case "BASIC":
		req.SetBasicAuth(p.cfg.Username, p.secret.Password)
	case "BEARER":
		req.Header.Set("Authorization", "Bearer "+p.secret.AuthToken)
	}
	return do(p.client, req, p.log, fail)
}

// twilio sends through a CUSTOM_TWILIO account: a message (SMS) or a
// call whose TwiML says the text (VOICE), from the account's selected
// number for the channel.
type twilio struct {
	client *outbound.Client
	base   string
	cfg    wire.PhoneDeliveryConfig
	token  string
	log    *slog.Logger
}

func (t *twilio) SendPhone(ctx context.Context, m PhoneMessage) error {
	fail := func(status int, err error) error {
		return &DeliveryError{Channel: m.Channel, Provider: wire.PhoneProviderTwilio, Status: status, Err: err}
	}
	from := fromNumber(t.cfg.Numbers, m.Channel, "")
	if from == "" {
		return fail(0, fmt.Errorf("the Twilio account has no number for %s", m.Channel))
	}
	form := url.Values{"To": {m.To}, "From": {from}}
	endpoint := "/Messages.json"
	if m.Channel == "VOICE" {
		endpoint = "/Calls.json"
		voice := strings.ToLower(m.Voice)
		form.Set("Twiml", `<Response><Say voice="`+html.EscapeString(voice)+`">`+html.EscapeString(m.Text)+`</Say></Response>`)
	} else {
		form.Set("Body", m.Text)
	}
	ctx, cancel := context.WithTimeout(ctx, ProviderTimeout)
	defer cancel()
	u := t.base + "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.Sid) + endpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(0, fmt.Errorf("the Twilio URL does not make a request"))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(t.cfg.Sid, t.token)
	return do(t.client, req, t.log, fail)
}

// do sends req once and reads a bounded part of the answer; anything but
// 2xx is a failure.
func do(c *outbound.Client, req *http.Request, log *slog.Logger, fail func(int, error) error) error {
	resp, err := c.Do(req)
	if err != nil {
		if re, ok := outbound.Refused(err); ok {
			return fail(0, fmt.Errorf("%s", re.Rule))
		}
		if req.Context().Err() != nil {
			return fail(0, fmt.Errorf("the provider did not answer in time"))
		}
		return fail(0, fmt.Errorf("the provider could not be reached"))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, ProviderResponseRead))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		log.WarnContext(req.Context(), "phone provider refused a message", "host", req.URL.Host, "status", resp.StatusCode)
		return fail(resp.StatusCode, fmt.Errorf("the provider answered %d", resp.StatusCode))
	}
	return nil
}

// fromNumber picks the number to send channel from: a selected number
// able to carry it, else any number able to, else fallback (an SMS
// content's sender id).
func fromNumber(ns []wire.PhoneDeliveryNumber, channel, fallback string) string {
	able := func(n wire.PhoneDeliveryNumber) bool {
		return len(n.Capabilities) == 0 || slices.Contains(n.Capabilities, channel)
	}
	for _, n := range ns {
		if n.Selected != nil && *n.Selected && able(n) {
			return n.Number
		}
	}
	for _, n := range ns {
		if able(n) {
			return n.Number
		}
	}
	return fallback
}

// substitute replaces ${name} in s with esc(vars[name]); names without a
// value become "".
func substitute(s string, vars map[string]string, esc func(string) string) string {
	escaped := make(map[string]string, len(vars))
	for k, v := range vars {
		escaped[k] = esc(v)
	}
	return templates.Render(s, escaped)
}

// jsonEscape is s as the inside of a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
