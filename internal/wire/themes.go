package wire

import (
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// Branding themes: PingOne's {apiPath}/environments/{envId}/themes. A theme
// is a template (default, focus, mural, slate, split) with a configuration
// of colours, a logo, a background and a footer; one theme of an
// environment is its default, the look of its hosted pages. Gatehouse keeps
// the configuration as given (colours keep their case: PingOne's Terraform
// provider compares them as written) and fills what a create leaves out
// from the template.

// Theme template names and the enumerations of a configuration.
const (
	ThemeLogoImage = "IMAGE"
	ThemeLogoNone  = "NONE"

	ThemeBackgroundNone    = "NONE"
	ThemeBackgroundColor   = "COLOR"
	ThemeBackgroundImage   = "IMAGE"
	ThemeBackgroundDefault = "DEFAULT"
)

var (
	ThemeTemplateNames   = []string{"default", "focus", "mural", "slate", "split"}
	ThemeLogoTypes       = []string{ThemeLogoImage, ThemeLogoNone}
	ThemeBackgroundTypes = []string{ThemeBackgroundNone, ThemeBackgroundColor, ThemeBackgroundImage, ThemeBackgroundDefault}
)

// ThemeTemplate is what a template brings: its display name, its colours
// and its own background colour ("" for the templates whose background is
// an image of PingOne's, which the sign-on page does not load).
type ThemeTemplate struct {
	DisplayName                                                       string
	Button, ButtonText, BodyText, HeadingText, Link, Card, Background string
}

// ThemeTemplates are PingOne's templates with the values PingOne documents
// for them.
var ThemeTemplates = map[string]ThemeTemplate{
	"default": {DisplayName: "Ping Default", Button: "#2996cc", ButtonText: "#ffffff", BodyText: "#686f77", HeadingText: "#686f77",
		Link: "#2996cc", Card: "#ffffff", Background: "#ededed"},
	"focus": {DisplayName: "Focus", Button: "#cb0020", ButtonText: "#ffffff", BodyText: "#4a4a4a", HeadingText: "#cb0020",
		Link: "#2996cc", Card: "#fcfcfc", Background: "#ededed"},
	"mural": {DisplayName: "Mural", Button: "#61b375", ButtonText: "#ffffff", BodyText: "#000000", HeadingText: "#000000",
		Link: "#2996cc", Card: "#fcfcfc"},
	"slate": {DisplayName: "Slate", Button: "#fcfcfc", ButtonText: "#4a4a4a", BodyText: "#4a4a4a", HeadingText: "#4a4a4a",
		Link: "#4a4a4a", Card: "#fcfcfc"},
	"split": {DisplayName: "Split", Button: "#263956", ButtonText: "#ffffff", BodyText: "#263956", HeadingText: "#686f77",
		Link: "#263956", Card: "#fcfcfc", Background: "#263956"},
}

// ThemeImage is a logo or background image: its URL and its id in
// PingOne's Images service (Gatehouse has none; the id is kept as given).
type ThemeImage struct {
	Href string `json:"href"`
	ID   string `json:"id"`
}

// ThemeConfiguration is what a theme looks like; themes keep it as their
// settings and answer it as "configuration". The colours, logoType and
// backgroundType are always there; the rest only when set.
type ThemeConfiguration struct {
	Name             string      `json:"name"`
	LogoType         string      `json:"logoType"`
	Logo             *ThemeImage `json:"logo,omitempty"`
	BackgroundType   string      `json:"backgroundType"`
	BackgroundColor  string      `json:"backgroundColor,omitempty"`
	BackgroundImage  *ThemeImage `json:"backgroundImage,omitempty"`
	BodyTextColor    string      `json:"bodyTextColor"`
	ButtonColor      string      `json:"buttonColor"`
	ButtonTextColor  string      `json:"buttonTextColor"`
	CardColor        string      `json:"cardColor"`
	HeadingTextColor string      `json:"headingTextColor"`
	LinkTextColor    string      `json:"linkTextColor"`
	Footer           string      `json:"footer,omitempty"`
}

// Theme is a theme as the API answers it.
type Theme struct {
	Links         Links              `json:"_links"`
	ID            string             `json:"id"`
	Environment   Ref                `json:"environment"`
	Template      string             `json:"template"`
	Default       bool               `json:"default"`
	Configuration ThemeConfiguration `json:"configuration"`
}

// ThemeDefault is {apiPath}/environments/{envId}/themes/{id}/default, how
// PingOne's Terraform provider makes a theme the default.
type ThemeDefault struct {
	Links   Links `json:"_links"`
	Default bool  `json:"default"`
}

// ThemeDefaultRequest is the body of a PUT of …/themes/{id}/default.
type ThemeDefaultRequest struct {
	Default *bool `json:"default"`
}

// ThemeRequest is the body of a POST or PUT of a theme. PingOne's SDK
// echoes _links, id and environment back; they are ignored.
type ThemeRequest struct {
	Template      *string                    `json:"template"`
	Default       *bool                      `json:"default"`
	Configuration *ThemeConfigurationRequest `json:"configuration"`
}

type ThemeConfigurationRequest struct {
	Name             *string            `json:"name"`
	LogoType         *string            `json:"logoType"`
	Logo             *ThemeImageRequest `json:"logo"`
	BackgroundType   *string            `json:"backgroundType"`
	BackgroundColor  *string            `json:"backgroundColor"`
	BackgroundImage  *ThemeImageRequest `json:"backgroundImage"`
	BodyTextColor    *string            `json:"bodyTextColor"`
	ButtonColor      *string            `json:"buttonColor"`
	ButtonTextColor  *string            `json:"buttonTextColor"`
	CardColor        *string            `json:"cardColor"`
	HeadingTextColor *string            `json:"headingTextColor"`
	LinkTextColor    *string            `json:"linkTextColor"`
	Footer           *string            `json:"footer"`
}

type ThemeImageRequest struct {
	Href *string `json:"href"`
	ID   *string `json:"id"`
}

// hexColorPattern is the colour PingOne's clients send: #rgb or #rrggbb.
const hexColorPattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"

// Normalize checks a theme's body and returns its template and its
// configuration, with what the body leaves out taken from the template (a
// PUT replaces: absent members reset). details name every broken rule, with
// targets as the JSON paths of the body.
func (r *ThemeRequest) Normalize() (string, ThemeConfiguration, []Detail) {
	var details []Detail
	template := ""
	var tpl ThemeTemplate
	switch {
	case r.Template == nil || *r.Template == "":
		details = append(details, Required("template"))
	case ThemeTemplates[*r.Template] == (ThemeTemplate{}):
		details = append(details, OneOf("template", ThemeTemplateNames))
	default:
		template, tpl = *r.Template, ThemeTemplates[*r.Template]
	}
	c := r.Configuration
	if c == nil {
		return template, ThemeConfiguration{}, append(details, Required("configuration"))
	}
	const p = "configuration."
	out := ThemeConfiguration{Name: strings.TrimSpace(deref(c.Name)), Footer: deref(c.Footer)}
	if out.Name == "" {
		out.Name = tpl.DisplayName
	} else if strings.ContainsFunc(out.Name, unicode.IsControl) {
		details = append(details, InvalidValue(p+"name", "configuration.name must not contain control characters."))
	}

	switch lt := deref(c.LogoType); {
	case lt == "":
		details = append(details, Required(p+"logoType"))
	case lt != ThemeLogoImage && lt != ThemeLogoNone:
		details = append(details, OneOf(p+"logoType", ThemeLogoTypes))
	default:
		out.LogoType = lt
		if lt == ThemeLogoImage && c.Logo == nil {
			details = append(details, Required(p+"logo"))
		}
	}
	var d []Detail
	out.Logo, d = themeImage(p+"logo", c.Logo)
	details = append(details, d...)

	switch bt := deref(c.BackgroundType); {
	case bt == "":
		details = append(details, Required(p+"backgroundType"))
	case !oneOfStrings(bt, ThemeBackgroundTypes):
		details = append(details, OneOf(p+"backgroundType", ThemeBackgroundTypes))
	default:
		out.BackgroundType = bt
		if bt == ThemeBackgroundColor && deref(c.BackgroundColor) == "" {
			details = append(details, Required(p+"backgroundColor"))
		}
		if bt == ThemeBackgroundImage && c.BackgroundImage == nil {
			details = append(details, Required(p+"backgroundImage"))
		}
	}
	if bg := deref(c.BackgroundColor); bg != "" {
		if _, ok := normalizeColor(bg); !ok {
			details = append(details, colorDetail(p+"backgroundColor"))
		}
		out.BackgroundColor = bg
	}
	out.BackgroundImage, d = themeImage(p+"backgroundImage", c.BackgroundImage)
	details = append(details, d...)

	for _, f := range []struct {
		name string
		in   *string
		out  *string
		def  string
	}{
		{"bodyTextColor", c.BodyTextColor, &out.BodyTextColor, tpl.BodyText},
		{"buttonColor", c.ButtonColor, &out.ButtonColor, tpl.Button},
		{"buttonTextColor", c.ButtonTextColor, &out.ButtonTextColor, tpl.ButtonText},
		{"cardColor", c.CardColor, &out.CardColor, tpl.Card},
		{"headingTextColor", c.HeadingTextColor, &out.HeadingTextColor, tpl.HeadingText},
		{"linkTextColor", c.LinkTextColor, &out.LinkTextColor, tpl.Link},
	} {
		v := deref(f.in)
		if v == "" {
			*f.out = f.def
			continue
		}
		if _, ok := normalizeColor(v); !ok {
			details = append(details, colorDetail(p+f.name))
		}
		*f.out = v
	}
	return template, out, details
}

// themeImage checks an image reference: an https URL (http for loopback
// hosts) the sign-on page may load, and an id of PingOne's form (a UUID).
func themeImage(target string, in *ThemeImageRequest) (*ThemeImage, []Detail) {
	if in == nil {
		return nil, nil
	}
	var details []Detail
	out := &ThemeImage{Href: deref(in.Href), ID: deref(in.ID)}
	if out.Href == "" {
		details = append(details, Required(target+".href"))
	} else if msg := checkImageHref(target+".href", out.Href); msg != "" {
		details = append(details, InvalidValue(target+".href", msg))
	}
	if out.ID == "" {
		details = append(details, Required(target+".id"))
	} else if uuid.Validate(out.ID) != nil || len(out.ID) != 36 {
		details = append(details, InvalidValue(target+".id", target+".id must be a resource id (a UUID)."))
	}
	return out, details
}

func colorDetail(target string) Detail {
	return Detail{Code: DetailInvalidValue, Target: target, Message: target + " must be a hexadecimal colour: #rgb or #rrggbb.",
		InnerError: &InnerError{AllowedPattern: hexColorPattern}}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func oneOfStrings(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// ThemeLook is what the hosted sign-on page takes from a theme: colours in
// canonical form ("#rrggbb", lower case) and URLs the page may load, each ""
// when the theme sets none or breaks a rule the API enforces. Stored themes
// are checked again here: only what the API would have accepted reaches
// CSS or an attribute.
type ThemeLook struct {
	Button, ButtonText, BodyText, HeadingText, Link, Card string
	// Background is the page's colour: the theme's own (COLOR), or its
	// template's (DEFAULT). BackgroundImage is an image URL (IMAGE).
	Background, BackgroundImage string
	Logo                        string // the logo's URL (logoType IMAGE)
	Footer                      string
}

// LookOf is the look of a theme of template with configuration c.
func LookOf(template string, c ThemeConfiguration) ThemeLook {
	color := func(s string) string {
		v, _ := normalizeColor(s)
		return v
	}
	image := func(target string, img *ThemeImage) string {
		if img == nil || checkImageHref(target, img.Href) != "" {
			return ""
		}
		return img.Href
	}
	l := ThemeLook{Button: color(c.ButtonColor), ButtonText: color(c.ButtonTextColor), BodyText: color(c.BodyTextColor),
		HeadingText: color(c.HeadingTextColor), Link: color(c.LinkTextColor), Card: color(c.CardColor), Footer: c.Footer}
	switch c.BackgroundType {
	case ThemeBackgroundColor:
		l.Background = color(c.BackgroundColor)
	case ThemeBackgroundDefault:
		l.Background = color(ThemeTemplates[template].Background)
	case ThemeBackgroundImage:
		l.BackgroundImage = image("backgroundImage.href", c.BackgroundImage)
	}
	if c.LogoType == ThemeLogoImage {
		l.Logo = image("logo.href", c.Logo)
	}
	return l
}
