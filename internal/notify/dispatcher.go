package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/outbound"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/templates"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Source is where a Dispatcher reads an environment's notification
// configuration: config.Cache in the server (both are read on every send).
type Source interface {
	PhoneDeliverySettings(ctx context.Context, envID string) ([]store.PhoneDeliverySettings, error)
	TemplateContents(ctx context.Context, envID, template string) ([]store.TemplateContent, error)
}

// Dispatcher is the mfa.Sender of the server: it words a passcode with
// the environment's notification template content for the template,
// delivery method, locale and variant (an administrator's content, else
// the predefined text) and delivers it: email through Email, SMS and
// voice through the environment's phone delivery settings (its custom
// provider or Twilio account, over the guarded outbound client), or
// through Phone when it has none.
type Dispatcher struct {
	Source Source
	Sealer *secrets.Sealer
	Email  Notifier
	// Phone delivers SMS and voice for environments without phone
	// delivery settings (default LogPhoneSender).
	Phone PhoneSender
	// Client sends the providers' requests: tenant-configured URLs.
	Client *outbound.Client
	// TwilioBaseURL is Twilio's API (default DefaultTwilioBaseURL); tests
	// point it at their own server.
	TwilioBaseURL string
	Log           *slog.Logger
}

// NewDispatcher builds the Dispatcher the server gives mfa.Service as its
// Sender: src is the configuration cache, email the notifier of
// recovery codes, client the outbound client; SMS and voice go to the
// log where an environment has no phone delivery settings.
func NewDispatcher(src Source, sealer *secrets.Sealer, email Notifier, client *outbound.Client, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{Source: src, Sealer: sealer, Email: email, Phone: LogPhoneSender{Log: log}, Client: client, Log: log}
}

var _ mfa.Sender = (*Dispatcher)(nil)

// DeliveryError is a passcode that could not be delivered: the provider
// refused it, did not answer in time, or is misconfigured. Callers answer
// with PingOne's error; the message names no credential and no passcode.
type DeliveryError struct {
	Channel  string
	Provider string // CUSTOM_PROVIDER, CUSTOM_TWILIO, SMTP, …
	// Status is the provider's HTTP status, 0 when none came back.
	Status int
	Err    error
}

func (e *DeliveryError) Error() string {
	s := "notify: " + e.Channel + " delivery through " + e.Provider + " failed"
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// ErrUnknownTemplate is an OTP naming no template Gatehouse has.
var ErrUnknownTemplate = errors.New("notify: unknown notification template")

// methodOf maps a device type to a content's delivery method.
var methodOf = map[string]string{mfa.TypeEmail: templates.Email, mfa.TypeSMS: templates.SMS, mfa.TypeVoice: templates.Voice}

// SendOTP words and delivers m.
func (d *Dispatcher) SendOTP(ctx context.Context, m mfa.OTP) error {
	t, ok := templates.Lookup(m.Template)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTemplate, m.Template)
	}
	method, ok := methodOf[m.Channel]
	if !ok || !t.Offers(method) {
		return fmt.Errorf("notify: the %s template has no %s content", m.Template, m.Channel)
	}
	recs, err := d.Source.TemplateContents(ctx, m.EnvironmentID, t.Name)
	if err != nil {
		return err
	}
	custom := make([]templates.Content, len(recs))
	for i, r := range recs {
		custom[i] = templates.Content{ID: r.ID, Template: r.Template, DeliveryMethod: r.DeliveryMethod, Locale: r.Locale, Variant: r.Variant,
			Fields: templates.DecodeFields(r.Data)}
	}
	c, ok := templates.Select(custom, templates.Defaults(m.EnvironmentID, t.Name), method, m.Locale, m.Variant)
	if !ok {
		return fmt.Errorf("notify: the %s template has no %s content", m.Template, method)
	}
	f := templates.WithDefaults(method, c.Fields)
	vars := map[string]string{}
	maps.Copy(vars, m.Vars)
	vars["otp"] = m.Code
	if _, ok := vars["code"]; !ok {
		vars["code"] = m.Code
	}
	if m.Locale != "" {
		vars["locale"] = m.Locale
	} else {
		vars["locale"] = c.Locale
	}
	if method == templates.Email {
		msg := Message{Kind: t.Name, To: m.To, Subject: templates.Render(f.Subject, vars), Text: templates.Render(f.Body, vars),
			Code: m.Code, EnvironmentID: m.EnvironmentID, UserID: m.UserID, ContentType: f.ContentType}
		if err := d.Email.Notify(ctx, msg); err != nil {
			return &DeliveryError{Channel: mfa.TypeEmail, Provider: "EMAIL", Err: err}
		}
		return nil
	}
	vars["voice"] = f.Voice
	pm := PhoneMessage{EnvironmentID: m.EnvironmentID, UserID: m.UserID, Channel: m.Channel, To: m.To, Code: m.Code,
		Text: templates.Render(f.Content, vars), Template: f.Content, Vars: vars, Locale: vars["locale"], Sender: f.Sender, Voice: f.Voice}
	return d.phoneSender(ctx, m.EnvironmentID, m.Channel).SendPhone(ctx, pm)
}

// phoneSender is the sender of channel in envID: its oldest phone
// delivery settings that carry the channel, else Phone. Settings that
// cannot be read (damaged, or sealed under another key) fail the send
// rather than fall back to the log: the administrator configured a
// provider, and codes must not leave through another path.
func (d *Dispatcher) phoneSender(ctx context.Context, envID, channel string) PhoneSender {
	list, err := d.Source.PhoneDeliverySettings(ctx, envID)
	if err != nil {
		return failing{err}
	}
	for _, p := range list {
		var c wire.PhoneDeliveryConfig
		if err := json.Unmarshal(p.Data, &c); err != nil {
			return failing{&DeliveryError{Channel: channel, Provider: p.Provider, Err: errors.New("the phone delivery settings do not decode")}}
		}
		switch p.Provider {
		case wire.PhoneProviderCustom:
			for _, q := range c.Requests {
				if q.DeliveryMethod == channel {
					sec, err := d.secret(&p)
					if err != nil {
						return failing{&DeliveryError{Channel: channel, Provider: p.Provider, Err: err}}
					}
					return &customProvider{client: d.Client, cfg: c, req: q, secret: sec, log: d.Log}
				}
			}
		case wire.PhoneProviderTwilio:
			sec, err := d.secret(&p)
			if err != nil {
				return failing{&DeliveryError{Channel: channel, Provider: p.Provider, Err: err}}
			}
			base := d.TwilioBaseURL
			if base == "" {
				base = DefaultTwilioBaseURL
			}
			return &twilio{client: d.Client, base: strings.TrimSuffix(base, "/"), cfg: c, token: sec.AuthToken, log: d.Log}
		}
	}
	if d.Phone == nil {
		return LogPhoneSender{Log: d.Log}
	}
	return d.Phone
}

func (d *Dispatcher) secret(p *store.PhoneDeliverySettings) (wire.PhoneDeliverySecret, error) {
	var sec wire.PhoneDeliverySecret
	if len(p.Secret) == 0 {
		return sec, nil
	}
	b, err := d.Sealer.Open(p.Secret, wire.PhoneSecretAAD(p.EnvironmentID, p.ID))
	if err != nil {
		return sec, errors.New("the provider's credentials do not open")
	}
	if err := json.Unmarshal(b, &sec); err != nil {
		return sec, errors.New("the provider's credentials do not decode")
	}
	return sec, nil
}

type failing struct{ err error }

func (f failing) SendPhone(context.Context, PhoneMessage) error { return f.err }
