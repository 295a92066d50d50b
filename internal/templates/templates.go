// Package templates is PingOne's notification templates: the predefined
// templates an environment can read (strong_authentication,
// device_pairing, …), their default contents, the contents an
// administrator adds per delivery method, locale and variant, the choice
// of the content a notification uses, and the rendering of its ${…}
// variables. The management API and the senders (internal/notify) both
// use it, so it depends on neither.
package templates

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Template names (PingOne's EnumTemplateName values Gatehouse serves).
const (
	StrongAuthentication = "strong_authentication"
	DevicePairing        = "device_pairing"
	RecoveryCode         = "recovery_code_template"
	VerificationCode     = "verification_code_template"
)

// Delivery methods, as contents name them.
const (
	Email = "Email"
	SMS   = "SMS"
	Voice = "Voice"
)

// DefaultLocale is the locale of the predefined contents and the one a
// notification falls back to.
const DefaultLocale = "en"

// Defaults PingOne fills in an email content that leaves them out (the
// Terraform provider sends the same values as its defaults and reads them
// back).
const (
	DefaultFromName    = "PingOne"
	DefaultFromAddress = "noreply@pingidentity.com"
	DefaultCharset     = "UTF-8"
	DefaultContentType = "text/html"
	DefaultVoice       = "Alice"
)

// Limits of a content, as PingOne documents them (an email body up to
// 100 kB, a subject up to 256 characters, an SMS sender up to 11
// alphanumeric characters, a variant up to 100 characters).
const (
	MaxEmailBody   = 100 * 1024
	MaxSubject     = 256
	MaxSMSSender   = 11
	MaxVariant     = 100
	MaxContent     = 4096 // SMS and voice texts: far over what PingOne sends
	MaxSenderField = 256  // email names and addresses, voice names
)

// Variable is one predefined variable of a template.
type Variable struct {
	Name     string
	Required bool
}

// Template is one predefined template.
type Template struct {
	Name            string
	DisplayName     string
	Description     string
	DeliveryMethods []string
	Variables       []Variable
	// Dynamic says whether contents may use variables beyond Variables.
	Dynamic bool
}

// userVars are the optional variables every template here offers.
var userVars = []Variable{{Name: "user.username"}, {Name: "user.name.given"}, {Name: "user.name.family"}}

var catalogue = []Template{
	{Name: DevicePairing, DisplayName: "Device Pairing", Description: "Users will receive this message to pair their device for strong authentication",
		DeliveryMethods: []string{Email, SMS, Voice}, Variables: append([]Variable{{Name: "otp", Required: true}}, userVars...), Dynamic: true},
	{Name: RecoveryCode, DisplayName: "Recovery Code", Description: "Users will receive this message when they reset their password",
		DeliveryMethods: []string{Email}, Variables: append([]Variable{{Name: "code", Required: true}}, userVars...)},
	{Name: StrongAuthentication, DisplayName: "Strong Authentication", Description: "Users will receive this message to authenticate with a one-time passcode",
		DeliveryMethods: []string{Email, SMS, Voice}, Variables: append([]Variable{{Name: "otp", Required: true}}, userVars...), Dynamic: true},
	{Name: VerificationCode, DisplayName: "Verification Code", Description: "Users will receive this message to verify their email address",
		DeliveryMethods: []string{Email}, Variables: append([]Variable{{Name: "code", Required: true}}, userVars...)},
}

// All returns the predefined templates by name.
func All() []Template { return catalogue }

// Lookup returns the predefined template name, if there is one.
func Lookup(name string) (*Template, bool) {
	for i := range catalogue {
		if catalogue[i].Name == name {
			return &catalogue[i], true
		}
	}
	return nil, false
}

// Offers reports whether t supports delivery method m.
func (t *Template) Offers(m string) bool {
	for _, x := range t.DeliveryMethods {
		if x == m {
			return true
		}
	}
	return false
}

// Fields are a content's own fields, by delivery method: Email's
// Subject, Body, From, ReplyTo, Charset and ContentType; SMS's Content and
// Sender; Voice's Content and Voice. This is what the store keeps as JSON.
type Fields struct {
	Subject     string   `json:"subject,omitempty"`
	Body        string   `json:"body,omitempty"`
	From        *Address `json:"from,omitempty"`
	ReplyTo     *Address `json:"replyTo,omitempty"`
	Charset     string   `json:"charset,omitempty"`
	ContentType string   `json:"emailContentType,omitempty"`
	Content     string   `json:"content,omitempty"`
	Sender      string   `json:"sender,omitempty"`
	Voice       string   `json:"voice,omitempty"`
}

// Address is an email sender or reply-to.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Content is one content of a template: a predefined default or one an
// administrator made.
type Content struct {
	ID             string
	Template       string
	DeliveryMethod string
	Locale         string
	Variant        string
	Default        bool
	Fields         Fields
}

// DecodeFields reads stored fields; damaged ones are empty (the default
// content then serves).
func DecodeFields(b []byte) Fields {
	var f Fields
	_ = json.Unmarshal(b, &f)
	return f
}

// defaultTexts are the predefined contents, in DefaultLocale; their
// emails are plain text.
var defaultTexts = map[string]map[string]Fields{
	StrongAuthentication: {
		Email: {ContentType: "text/plain", Subject: "Your sign-on passcode", Body: "Hello ${user.username},\n\nUse this passcode to finish signing on: ${otp}\n\nIf you did not try to sign on, ignore this message and consider changing your password."},
		SMS:   {Content: "Your sign-on passcode is ${otp}. Do not share it."},
		Voice: {Content: "Hello. Your sign-on passcode is ${otp}. Again, your passcode is ${otp}."},
	},
	DevicePairing: {
		Email: {ContentType: "text/plain", Subject: "Confirm your new authentication method", Body: "Hello ${user.username},\n\nUse this passcode to finish adding this email address as an authentication method: ${otp}\n\nIf you did not ask for this, ignore this message."},
		SMS:   {Content: "Your passcode to add this phone for sign-on is ${otp}."},
		Voice: {Content: "Hello. Your passcode to add this phone for sign-on is ${otp}. Again, your passcode is ${otp}."},
	},
	RecoveryCode: {
		Email: {ContentType: "text/plain", Subject: "Reset your password", Body: "Hello ${user.username},\n\nUse this code to reset your password: ${code}\n\nIf you did not ask to reset your password, ignore this message."},
	},
	VerificationCode: {
		Email: {ContentType: "text/plain", Subject: "Verify your email address", Body: "Hello ${user.username},\n\nUse this code to verify your email address: ${code}"},
	},
}

// namespace derives the predefined contents' ids: the same in every
// read, distinct per environment.
var namespace = uuid.MustParse("6f2b1c34-4a7e-4f0e-9d52-8b1e0c7d5a90")

// DefaultID is the id of the predefined content of template and method
// in envID.
func DefaultID(envID, template, method string) string {
	return uuid.NewSHA1(namespace, []byte(envID+"/"+template+"/"+method+"/"+DefaultLocale)).String()
}

// Defaults are template's predefined contents in envID, by delivery
// method.
func Defaults(envID, template string) []Content {
	t, ok := Lookup(template)
	if !ok {
		return nil
	}
	var out []Content
	for _, m := range t.DeliveryMethods {
		f, ok := defaultTexts[template][m]
		if !ok {
			continue
		}
		out = append(out, Content{ID: DefaultID(envID, template, m), Template: template, DeliveryMethod: m, Locale: DefaultLocale,
			Default: true, Fields: WithDefaults(m, f)})
	}
	return out
}

// WithDefaults is f with the values PingOne fills when a content leaves
// them out.
func WithDefaults(method string, f Fields) Fields {
	switch method {
	case Email:
		if f.From == nil {
			f.From = &Address{}
		}
		from := *f.From
		if from.Name == "" {
			from.Name = DefaultFromName
		}
		if from.Address == "" {
			from.Address = DefaultFromAddress
		}
		f.From = &from
		if f.Charset == "" {
			f.Charset = DefaultCharset
		}
		if f.ContentType == "" {
			f.ContentType = DefaultContentType
		}
	case Voice:
		if f.Voice == "" {
			f.Voice = DefaultVoice
		}
	}
	return f
}

// Select picks the content a notification of method in locale (and
// variant, "" for none) uses among an environment's contents of one
// template: the exact locale, then its language ("fr" for "fr-CA"), then
// DefaultLocale; a content of the variant asked for wins over one
// without; an administrator's content wins over the predefined one.
// custom are the administrator's contents; defaults the predefined ones.
func Select(custom, defaults []Content, method, locale, variant string) (Content, bool) {
	locales := []string{}
	if locale != "" {
		locales = append(locales, strings.ToLower(locale))
		if lang, _, ok := strings.Cut(locale, "-"); ok {
			locales = append(locales, strings.ToLower(lang))
		}
	}
	locales = append(locales, DefaultLocale)
	variants := []string{""}
	if variant != "" {
		variants = []string{strings.ToLower(variant), ""}
	}
	for _, set := range [][]Content{custom, defaults} {
		for _, l := range locales {
			for _, v := range variants {
				for _, c := range set {
					if c.DeliveryMethod == method && strings.ToLower(c.Locale) == l && strings.ToLower(c.Variant) == v {
						return c, true
					}
				}
			}
		}
	}
	return Content{}, false
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)\}`)

// Variables lists the ${…} variables text uses, sorted, without repeats.
func Variables(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range varRE.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// Render replaces every ${name} of text with vars[name]; a variable
// without a value renders as "" (PingOne leaves no placeholder in a
// message a user receives).
func Render(text string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(text, func(m string) string {
		return vars[m[2:len(m)-1]]
	})
}

// localeRE is an ISO language code with an optional region or script
// (en, en-GB, zh-Hant, en-GB-WLS, cmn-CN), as PingOne's locales are.
var localeRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z]{2,4})?(-[A-Z]{3})?$`)

// ValidLocale reports whether l has the shape of PingOne's locales.
func ValidLocale(l string) bool { return localeRE.MatchString(l) }

// Problem is one thing wrong with a content: the field and why.
type Problem struct {
	Field, Message string
}

// Check checks a content of template t: its locale, variant, the fields
// its delivery method requires, their limits, and its variables (each
// required variable present in the text that carries the passcode; no
// unknown variable where the template allows none beyond its own).
func Check(t *Template, c *Content) []Problem {
	var ps []Problem
	add := func(field, msg string) { ps = append(ps, Problem{field, msg}) }
	if !ValidLocale(c.Locale) {
		add("locale", "locale must be an ISO language code such as en or en-GB.")
	}
	if utf8.RuneCountInString(c.Variant) > MaxVariant {
		add("variant", "variant must be at most 100 characters.")
	}
	f := c.Fields
	var text string
	long := func(field, v string, max int) {
		if utf8.RuneCountInString(v) > max {
			add(field, field+" is too long.")
		}
	}
	switch c.DeliveryMethod {
	case Email:
		if strings.TrimSpace(f.Body) == "" {
			add("body", "body is required.")
		}
		if len(f.Body) > MaxEmailBody {
			add("body", "body must be at most 100 kB.")
		}
		if strings.ContainsAny(f.Subject, "\r\n") {
			add("subject", "subject must be one line.")
		}
		long("subject", f.Subject, MaxSubject)
		for _, a := range []struct {
			name string
			v    *Address
		}{{"from", f.From}, {"replyTo", f.ReplyTo}} {
			if a.v == nil {
				continue
			}
			long(a.name+".name", a.v.Name, MaxSenderField)
			long(a.name+".address", a.v.Address, MaxSenderField)
			if strings.ContainsAny(a.v.Name+a.v.Address, "\r\n") {
				add(a.name, a.name+" must be one line.")
			}
			if a.v.Address != "" && !strings.Contains(a.v.Address, "@") {
				add(a.name+".address", a.name+".address must be an email address.")
			}
		}
		long("charset", f.Charset, 64)
		long("emailContentType", f.ContentType, 128)
		text = f.Subject + "\n" + f.Body
	case SMS, Voice:
		if strings.TrimSpace(f.Content) == "" {
			add("content", "content is required.")
		}
		long("content", f.Content, MaxContent)
		if c.DeliveryMethod == SMS {
			if utf8.RuneCountInString(f.Sender) > MaxSMSSender || !senderRE.MatchString(f.Sender) {
				add("sender", "sender must be at most 11 letters, digits or spaces.")
			}
		} else {
			long("voice", f.Voice, MaxSenderField)
		}
		text = f.Content
	default:
		add("deliveryMethod", "deliveryMethod must be one of "+strings.Join(t.DeliveryMethods, ", ")+".")
		return ps
	}
	known := map[string]bool{}
	for _, v := range t.Variables {
		known[v.Name] = true
	}
	used := map[string]bool{}
	for _, v := range Variables(text) {
		used[v] = true
		if !known[v] && !t.Dynamic {
			add(fieldOf(c.DeliveryMethod), "The variable ${"+v+"} is not a variable of the "+t.Name+" template.")
		}
	}
	for _, v := range t.Variables {
		if v.Required && !used[v.Name] {
			add(fieldOf(c.DeliveryMethod), "The content must use the required variable ${"+v.Name+"}.")
		}
	}
	return ps
}

var senderRE = regexp.MustCompile(`^[A-Za-z0-9 ]*$`)

func fieldOf(method string) string {
	if method == Email {
		return "body"
	}
	return "content"
}
