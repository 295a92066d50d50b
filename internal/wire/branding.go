package wire

import (
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Branding settings: PingOne's {apiPath}/environments/{envId}/brandingSettings,
// one per environment (its id is the environment's), with companyName and
// logo {href, id}. Gatehouse keeps them in the environment's JSON column under
// "branding" and shows them on the hosted sign-on page.

// Limits of the branding settings, in characters.
const (
	BrandingCompanyNameMax = 256
	BrandingLogoHrefMax    = 1024
	BrandingLogoIDMax      = 256
)

// BrandingSettings is what an environment keeps (Data["branding"]) and what
// the sign-on page reads. It is also the body of a PUT: PingOne's SDK echoes
// _links, id and environment back, and unknown members are ignored.
type BrandingSettings struct {
	CompanyName string        `json:"companyName,omitempty"`
	Logo        *BrandingLogo `json:"logo,omitempty"`
	// PrimaryColor is a Gatehouse extension (PingOne's branding settings
	// have no colour; its themes do): "#rrggbb", lower case, the accent of
	// the hosted sign-on page where the environment's default theme sets
	// no button colour (the theme's wins, as on PingOne's pages). A PUT
	// may send "#rgb" or upper case.
	PrimaryColor string `json:"primaryColor,omitempty"`
}

// BrandingLogo is PingOne's logo reference. PingOne requires id (an image of
// its Images service); Gatehouse has no image store, so id is optional and
// kept as given.
type BrandingLogo struct {
	Href string `json:"href"`
	ID   string `json:"id,omitempty"`
}

// BrandingSettingsResponse is the resource as GET and PUT answer it.
// companyName is always there, "" when none was set: PingOne's Terraform
// provider defaults company_name to "" and reads it back, so an absent one
// would be an inconsistent result. The logo's id is always there with its
// href, as in PingOne's SDK (both plain strings).
type BrandingSettingsResponse struct {
	Links        Links                 `json:"_links"`
	ID           string                `json:"id"`
	Environment  Ref                   `json:"environment"`
	CompanyName  string                `json:"companyName"`
	Logo         *BrandingLogoResponse `json:"logo,omitempty"`
	PrimaryColor string                `json:"primaryColor,omitempty"`
}

// BrandingLogoResponse is a logo as responses show it.
type BrandingLogoResponse struct {
	Href string `json:"href"`
	ID   string `json:"id"`
}

// EnvironmentBranding decodes Data["branding"] of an environment. It answers
// the zero value when the key is absent, or when the stored value is damaged
// or breaks the rules a PUT enforces: the page renders only what the API
// would have accepted.
func EnvironmentBranding(envData []byte) BrandingSettings {
	var d struct {
		Branding *BrandingSettings `json:"branding"`
	}
	if json.Unmarshal(envData, &d) != nil {
		return BrandingSettings{}
	}
	return ShownBranding(d.Branding)
}

// ShownBranding is stored branding as the sign-on page shows it: the zero
// value when there is none, or when it breaks the rules a PUT enforces.
func ShownBranding(b *BrandingSettings) BrandingSettings {
	if b == nil {
		return BrandingSettings{}
	}
	out, details := b.Normalize()
	if len(details) > 0 {
		return BrandingSettings{}
	}
	return out
}

// Normalize checks b and returns it with the colour in canonical form;
// details name every broken rule, with targets as the JSON paths of a PUT.
func (b BrandingSettings) Normalize() (BrandingSettings, []Detail) {
	var details []Detail
	out := BrandingSettings{CompanyName: b.CompanyName}
	switch {
	case utf8.RuneCountInString(b.CompanyName) > BrandingCompanyNameMax:
		details = append(details, InvalidValue("companyName", "companyName must be at most 256 characters."))
	case strings.ContainsFunc(b.CompanyName, unicode.IsControl):
		details = append(details, InvalidValue("companyName", "companyName must not contain control characters."))
	}
	if b.Logo != nil {
		out.Logo = &BrandingLogo{Href: b.Logo.Href, ID: b.Logo.ID}
		if b.Logo.Href == "" {
			details = append(details, Required("logo.href"))
		} else if msg := checkImageHref("logo.href", b.Logo.Href); msg != "" {
			details = append(details, InvalidValue("logo.href", msg))
		}
		switch {
		case utf8.RuneCountInString(b.Logo.ID) > BrandingLogoIDMax:
			details = append(details, InvalidValue("logo.id", "logo.id must be at most 256 characters."))
		case strings.ContainsFunc(b.Logo.ID, unicode.IsControl):
			details = append(details, InvalidValue("logo.id", "logo.id must not contain control characters."))
		}
	}
	if b.PrimaryColor != "" {
		c, ok := normalizeColor(b.PrimaryColor)
		if !ok {
			details = append(details, Detail{Code: DetailInvalidValue, Target: "primaryColor",
				Message:    "primaryColor must be a hex colour: #rgb or #rrggbb.",
				InnerError: &InnerError{AllowedPattern: "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}})
		}
		out.PrimaryColor = c
	}
	return out, details
}

// checkImageHref answers why href, the URL at target, is not an image URL
// the sign-on page may load, or "". Plain http would be mixed content on an
// https page and open to tampering in transit; loopback hosts are the
// exception for local development. Quotes, backslashes and angle brackets,
// which a URL must percent-encode anyway, are refused outright: none of
// them can then end the CSS url("…") a background image is written in.
func checkImageHref(target, href string) string {
	msg := target + " must be an absolute https URL (http is allowed for loopback hosts only)."
	if utf8.RuneCountInString(href) > BrandingLogoHrefMax {
		return target + " must be at most 1024 characters."
	}
	if strings.ContainsFunc(href, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"\<>`, r)
	}) {
		return msg
	}
	u, err := url.Parse(href)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return msg
	}
	// Credentials in a URL every visitor's browser fetches would leak them.
	if u.User != nil {
		return target + " must not carry user information."
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
	}
	return msg
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normalizeColor turns "#rgb" or "#rrggbb" (any case) into "#rrggbb" in
// lower case.
func normalizeColor(s string) (string, bool) {
	hex, ok := strings.CutPrefix(s, "#")
	if !ok || (len(hex) != 3 && len(hex) != 6) {
		return "", false
	}
	for i := 0; i < len(hex); i++ {
		if !isHexDigit(hex[i]) {
			return "", false
		}
	}
	hex = strings.ToLower(hex)
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	return "#" + hex, true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
