package signon

import (
	"html"
	"html/template"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The screens of the PROGRESSIVE_PROFILING action (the attributes the
// user lacks) and of the AGREEMENT action (the agreement's text to accept
// or decline).

// profileField is one attribute PROFILE_DATA_REQUIRED asks for, as an
// input: Name is its path (bodyOf nests name.given), ID an element id.
type profileField struct {
	Name, ID, Label, Type, Autocomplete string
	Required                            bool
	// Options are the values the schema allows: a choice, not free text.
	Options []string
}

// inputs are the input type and autocomplete token of attributes that
// have one; any other attribute is free text.
var inputs = map[string][2]string{
	"email":                {"email", "email"},
	"mobilePhone":          {"tel", "tel"},
	"primaryPhone":         {"tel", "tel"},
	"name.given":           {"text", "given-name"},
	"name.family":          {"text", "family-name"},
	"name.middle":          {"text", "additional-name"},
	"name.formatted":       {"text", "name"},
	"name.honorificPrefix": {"text", "honorific-prefix"},
	"name.honorificSuffix": {"text", "honorific-suffix"},
	"nickname":             {"text", "nickname"},
	"title":                {"text", "organization-title"},
	"preferredLanguage":    {"text", "language"},
	"photo.href":           {"url", "photo"},
}

// agreementView is the agreement AGREEMENT_CONSENT_REQUIRED shows: its
// text as HTML the page may hold (see agreementHTML).
type agreementView struct {
	Name           string
	Text           template.HTML
	DeclineAllowed bool
}

// fillActions sets the profiling and agreement screens' views.
func fillActions(v *view, out *wire.Flow) {
	e := out.Embedded
	if e == nil {
		return
	}
	if out.Status == wire.StatusProfileDataRequired {
		v.Message = e.PromptText
		v.ProfileSkippable = true
		for _, a := range e.Attributes {
			in, ok := inputs[a.Name]
			if !ok {
				in = [2]string{"text", "off"}
			}
			v.Profile = append(v.Profile, profileField{Name: a.Name, ID: "profile-" + strings.ReplaceAll(a.Name, ".", "-"),
				Label: a.DisplayName, Type: in[0], Autocomplete: in[1], Required: a.Required, Options: a.EnumeratedValues})
			if a.Required {
				v.ProfileSkippable = false
			}
		}
	}
	if a := e.Agreement; a != nil && out.Status == wire.StatusAgreementConsentRequired {
		v.Agreement = &agreementView{Name: a.Name, Text: agreementHTML(a.ContentType, a.Text), DeclineAllowed: a.DeclineAllowed}
	}
}

// keptTags are the HTML tags an agreement's text/html keeps, and only in
// their bare form (no attributes): everything else is shown as the text
// it is. An agreement is the administrator's, but the page is the user's
// and runs under a strict CSP: no markup that could carry a script, a
// style or a link reaches it.
var keptTags = regexp.MustCompile(`(?i)&lt;(/?)(p|br|b|i|u|strong|em|ul|ol|li|h2|h3|h4|blockquote)\s*/?&gt;`)

// agreementHTML is an agreement revision's text as the page shows it:
// plain text escaped (its line breaks kept by the stylesheet), text/html
// escaped but for the bare tags of keptTags, balanced (see balanced).
func agreementHTML(contentType, text string) template.HTML {
	esc := html.EscapeString(text)
	if !strings.EqualFold(strings.TrimSpace(contentType), "text/html") {
		return template.HTML(`<div class="agreement-text plain">` + esc + `</div>`)
	}
	return template.HTML(`<div class="agreement-text">` + balanced(esc) + `</div>`)
}

// balanced turns esc's kept tags back into markup, closing what the text
// leaves open at its end and leaving as text a closing tag that closes
// nothing the text opened: the agreement's markup stays inside its box
// (an unclosed <b> would otherwise embolden the page after it, and a
// parser reopens formatting tags past the box's end).
func balanced(esc string) string {
	var b strings.Builder
	var open []string
	last := 0
	for _, m := range keptTags.FindAllStringSubmatchIndex(esc, -1) {
		b.WriteString(esc[last:m[0]])
		last = m[1]
		closing, name := esc[m[2]:m[3]] == "/", strings.ToLower(esc[m[4]:m[5]])
		switch {
		case !closing && name == "br":
			b.WriteString("<br>")
		case !closing:
			open = append(open, name)
			b.WriteString("<" + name + ">")
		default:
			i := len(open) - 1 // the innermost open tag of that name
			for i >= 0 && open[i] != name {
				i--
			}
			if i < 0 {
				b.WriteString(esc[m[0]:m[1]])
				continue
			}
			for len(open) > i {
				b.WriteString("</" + open[len(open)-1] + ">")
				open = open[:len(open)-1]
			}
		}
	}
	b.WriteString(esc[last:])
	for len(open) > 0 {
		b.WriteString("</" + open[len(open)-1] + ">")
		open = open[:len(open)-1]
	}
	return b.String()
}
