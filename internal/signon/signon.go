// Package signon is the hosted sign-on page: {authPath}/{envId}/signon/
// ?flowId=…, where /as/authorize sends browsers. It is rendered on the
// server for the flow's status; a small script submits each form to the
// flow API with the action's media type and shows the API's errors in
// words. Everything it needs is embedded: it works offline.
package signon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

// Service serves the sign-on page.
type Service struct {
	Store   store.Store
	Config  *config.Cache
	Flows   *flow.Engine
	Cookies session.Cookies
	Log     *slog.Logger

	tmpl    *template.Template
	assets  map[string][]byte
	version string // content hash: cache-busting for the assets
}

// New parses the templates and indexes the assets.
func New(st store.Store, conf *config.Cache, flows *flow.Engine, cookies session.Cookies, log *slog.Logger) *Service {
	s := &Service{Store: st, Config: conf, Flows: flows, Cookies: cookies, Log: log, assets: map[string][]byte{}}
	s.tmpl = template.Must(template.New("").Funcs(template.FuncMap{"has": func(m map[string]bool, k string) bool { return m[k] }}).
		ParseFS(templateFS, "templates/*.html"))
	h := sha256.New()
	names, _ := fs.Glob(assetFS, "assets/*")
	sort.Strings(names)
	for _, n := range names {
		b, _ := assetFS.ReadFile(n)
		s.assets[strings.TrimPrefix(n, "assets/")] = b
		h.Write(b)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]
	return s
}

// Routes registers the page, its assets and the environment's theme.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{envID}/signon/{$}", s.page)
	mux.HandleFunc("GET /{envID}/signon", func(w http.ResponseWriter, r *http.Request) {
		// Built from the escaped id, never from the request's path: an id
		// holding an encoded slash must not become "//host/…", a redirect
		// to another site.
		target := "/" + url.PathEscape(r.PathValue("envID")) + "/signon/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /{envID}/signon/assets/{name}", s.asset)
	mux.HandleFunc("GET /{envID}/signon/theme.css", s.theme)
}

// csp allows the page's own script and styles and nothing inline; logos
// may come from https URLs (the branding's logo.href).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The flow id is in the page's URL: no Referer carries it elsewhere.
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *Service) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := s.assets[name]
	if !ok {
		wire.WriteErrorCtx(r.Context(), w, wire.NotFound(""))
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	secureHeaders(w)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

var hexColor = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// look is what the environment's default theme gives the page; none when
// it has no default theme, or when the theme cannot be read (the page is
// then shown unthemed rather than not at all, and the failure logged).
func (s *Service) look(ctx context.Context, envID string) wire.ThemeLook {
	th, err := s.Config.DefaultTheme(ctx, envID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log().ErrorContext(ctx, "sign-on page: the default theme", "env", envID, "err", err)
		}
		return wire.ThemeLook{}
	}
	return th.Look
}

// theme is the environment's look as CSS: a stylesheet, since the
// Content-Security-Policy allows no inline style. The default theme wins
// where it sets something; the branding settings' colour (a Gatehouse
// extension) stands in for a theme's button colour only where there is
// none.
//
// A theme is a light look, so its colours apply to the light scheme; the
// dark scheme keeps its own colours but for the button, which takes the
// theme's (the text on it too: the button looks the same on either), and
// links, which take a lighter tint of the theme's on the dark card.
func (s *Service) theme(w http.ResponseWriter, r *http.Request) {
	env, err := s.Config.Environment(r.Context(), r.PathValue("envID"))
	if err != nil {
		wire.WriteErrorCtx(r.Context(), w, err)
		return
	}
	l := s.look(r.Context(), env.ID)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	secureHeaders(w)
	primary := l.Button
	if primary == "" {
		primary = strings.ToLower(env.Branding.PrimaryColor)
	}
	if hexColor.MatchString(primary) {
		on := l.ButtonText
		if !hexColor.MatchString(on) {
			// The text on the colour follows the colour, not the colour
			// scheme: the dark scheme's dark text is unreadable on a dark
			// brand colour.
			on = onColor(primary)
		}
		link := l.Link
		if !hexColor.MatchString(link) {
			link = primary
		}
		fmt.Fprintf(w, ":root{--primary:%s;--primary-hover:color-mix(in srgb,%s 85%%,#000);--on-primary:%s}\n"+
			"@media (prefers-color-scheme: dark){:root{--link:color-mix(in srgb,%s 50%%,#fff)}}\n", primary, primary, on, link)
	}
	var light []string
	for _, v := range []struct{ name, color string }{
		{"--link", l.Link}, {"--text", l.BodyText}, {"--heading", l.HeadingText}, {"--card", l.Card}, {"--bg", l.Background},
	} {
		if hexColor.MatchString(v.color) {
			light = append(light, v.name+":"+v.color)
		}
	}
	image := ""
	if cssURL(l.BackgroundImage) {
		image = `body{background-image:url("` + l.BackgroundImage + `");background-size:cover;background-position:center}`
	}
	if len(light) > 0 || image != "" {
		fmt.Fprintf(w, "@media (prefers-color-scheme: light){:root{%s}%s}\n", strings.Join(light, ";"), image)
	}
}

// cssURL reports whether u may go into url("…") as it is: an http(s) URL
// with nothing that could end the string (the API refuses such URLs; this
// keeps the stylesheet safe whatever is stored).
func cssURL(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) &&
		!strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(`"\<>`, r) })
}

// footerTag matches a tag of a theme's footer, which PingOne lets hold a
// little HTML.
var footerTag = regexp.MustCompile(`<[^>]*>`)

// footerText is a theme's footer as the page shows it: its text, without
// tags (the template escapes it like any other text).
func footerText(f string) string {
	return strings.Join(strings.Fields(html.UnescapeString(footerTag.ReplaceAllString(f, " "))), " ")
}

// onColor is the text colour that reads best on the colour c (#rrggbb):
// white, or the dark scheme's near-black, by WCAG contrast.
func onColor(c string) string {
	var l float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		x := float64(v) / 255
		if x <= 0.03928 {
			x /= 12.92
		} else {
			x = math.Pow((x+0.055)/1.055, 2.4)
		}
		l += weight * x
	}
	// #0b1020 has a relative luminance of about 0.0055.
	if 1.05/(l+0.05) >= (l+0.05)/0.0555 {
		return "#ffffff"
	}
	return "#0b1020"
}

// provider is an identity provider button.
type provider struct {
	Name, Href string
}

// rule is a password policy rule as the page lists it; Attrs feed the
// script that checks it as the user types.
type rule struct {
	Key, Text            string
	Min, Max, Set, Count string
}

// view is what the template renders.
type view struct {
	Title       string
	BrandName   string
	Footer      string // the default theme's footer ("": Gatehouse's)
	Initial     string // the brand's first letter, when it has no logo
	Themed      bool   // the environment exists: its theme.css applies
	LogoURL     string
	EnvID       string
	Version     string
	Status      string
	FlowURL     string
	ResumeURL   string
	AppName     string
	Username    string
	LoginHint   string
	UserCode    string // a device's user code, pre-filled
	Actions     map[string]bool
	Providers   []provider
	Provider    *provider
	Rules       []rule
	Heading     string
	Message     string
	StartAgain  string
	ErrorText   string
	SignedOnApp string
	// Form is the status's form (see pages), rendered; Submit labels its
	// button where the form serves several statuses.
	Form   template.HTML
	Submit string
	// ResetLabel labels the button that starts over ("": none).
	ResetLabel string
	form       string

	// The MFA screens (otp.go): the user's devices (the selected one
	// apart), the TOTP app being enrolled, and the kinds of device a user
	// without one may register; Others are the devices the passcode
	// screen offers instead of the selected one.
	Devices       []deviceView
	Selected      *deviceView
	Others        []deviceView
	Enrol         *enrolView
	Registrations []registrationView

	// The FIDO2 screens (fido2.go): the ceremony options the flow gives
	// the browser, as JSON strings ("": none).
	RequestOptions, CreationOptions string

	// The profiling and agreement screens (actions.go): the attributes
	// asked for (skippable when none is required), and the agreement.
	Profile          []profileField
	ProfileSkippable bool
	Agreement        *agreementView
}

func (s *Service) page(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if errors.Is(err, store.ErrNotFound) {
		s.render(w, http.StatusNotFound, &view{EnvID: url.PathEscape(r.PathValue("envID")), Heading: "Page not found", Message: "This sign-on page does not exist."})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.brand(env, s.look(ctx, env.ID))
	flowID := r.URL.Query().Get("flowId")
	if pg, ok := devicePages[r.URL.Query().Get("device")]; ok && flowID == "" {
		v.Heading, v.form = pg.Heading, pg.Form
		if pg.Message != nil {
			v.Message = pg.Message(v)
		}
		if r.URL.Query().Get("error") == "invalid" {
			v.ErrorText = "That code is invalid or has expired. Check it on your device and try again."
		}
		s.render(w, http.StatusOK, v)
		return
	}
	if flowID == "" {
		v.Heading, v.Message = "No sign-on in progress", "Return to the application you were using and sign on from there."
		s.render(w, http.StatusBadRequest, v)
		return
	}
	f, err := s.Flows.Load(ctx, env.ID, flowID, s.Cookies.Token(r))
	var out *wire.Flow
	if err == nil {
		// A flow of an older shape renders as not found: expired too.
		out, err = s.Flows.Render(ctx, f, nil)
	}
	var we *wire.Error
	switch {
	case errors.Is(err, flow.ErrFlowNotFound):
		v.Heading = "Your sign-on expired"
		v.Message = "For your security, a sign-on ends after 15 minutes without activity."
		v.StartAgain = s.startAgain(ctx, env.ID, flowID)
		if v.StartAgain == "" {
			v.Message += " Return to the application and sign on again."
		}
		s.render(w, http.StatusNotFound, v)
		return
	case errors.As(err, &we) && we.Status == http.StatusUnauthorized:
		v.Heading = "This sign-on belongs to another browser"
		v.Message = "It was started in another browser or your cookies were cleared. Return to the application and sign on again."
		s.render(w, http.StatusUnauthorized, v)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if out.Status == flow.StatusCompleted {
		// Nothing to ask: the application gets its answer.
		http.Redirect(w, r, out.ResumeURL, http.StatusFound)
		return
	}
	s.fill(v, out)
	s.render(w, http.StatusOK, v)
}

// brand starts a view with the environment's branding and the look of its
// default theme: the theme's logo wins over the branding settings' one.
func (s *Service) brand(env *config.Environment, l wire.ThemeLook) *view {
	b := env.Branding
	v := &view{EnvID: env.ID, Version: s.version, BrandName: env.Name, Actions: map[string]bool{}, Themed: true, Footer: footerText(l.Footer)}
	if b.CompanyName != "" {
		v.BrandName = b.CompanyName
	}
	if b.Logo != nil {
		v.LogoURL = b.Logo.Href
	}
	if l.Logo != "" {
		v.LogoURL = l.Logo
	}
	return v
}

// fill sets the view from the flow.
func (s *Service) fill(v *view, out *wire.Flow) {
	v.Status, v.FlowURL, v.ResumeURL = out.Status, out.Links["self"].Href, out.ResumeURL
	for k := range out.Links {
		v.Actions[k] = true
	}
	if e := out.Embedded; e != nil {
		if e.Application != nil {
			v.AppName = e.Application.Name
		}
		if e.User != nil {
			v.Username = e.User.Username
		}
		v.UserCode = e.UserCode
		for _, p := range e.SocialProviders {
			v.Providers = append(v.Providers, provider{Name: p.Name, Href: p.Links["authenticate"].Href})
		}
		if p := e.IdentityProvider; p != nil {
			v.Provider = &provider{Name: p.Name, Href: p.Links["authenticate"].Href}
		}
		v.Rules = rules(e.PasswordPolicy)
		if v.Actions[wire.ActionUserRegister] {
			// Only the registration form shows rules on these pages, and a
			// new account has no current or earlier passwords.
			v.Rules = slices.DeleteFunc(v.Rules, func(r rule) bool { return r.Key == "notSimilarToCurrent" || r.Key == "history" })
		}
	}
	s.fillMFA(v, out)
	v.RequestOptions, v.CreationOptions = out.PublicKeyCredentialRequestOptions, out.PublicKeyCredentialCreationOptions
	pg, ok := pages[out.Status]
	if !ok {
		pg = page{Heading: "Sign on"}
	}
	v.Heading, v.ResetLabel, v.Submit = pg.Heading, "Start over", pg.Submit
	if pg.HeadingOf != nil {
		v.Heading = pg.HeadingOf(v)
	}
	if pg.Message != nil {
		v.Message = pg.Message(v)
	}
	if pg.NoReset {
		v.ResetLabel = ""
	} else if pg.ResetLabel != "" {
		v.ResetLabel = pg.ResetLabel
	}
	if out.Status == flow.StatusFailed && out.Error != nil {
		v.ErrorText = out.Error.Message
	}
	fillActions(v, out)
	v.form = pg.Form
	v.Title = v.Heading + " · " + v.BrandName
}

// startAgain is where a user whose flow expired can start over: the
// application's initiate-login or home page, when the (expired) flow
// still names it.
func (s *Service) startAgain(ctx context.Context, envID, flowID string) string {
	f, err := s.Store.GetFlow(ctx, envID, flowID)
	if err != nil {
		return ""
	}
	app, err := s.Config.Application(ctx, envID, f.ApplicationID)
	if err != nil {
		return ""
	}
	for _, u := range []string{app.Settings.InitiateLoginURI, app.Settings.HomePageURL} {
		if p, err := url.Parse(u); err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" {
			return u
		}
	}
	return ""
}

// charClass names a minCharacters set.
func charClass(set string) string {
	switch set {
	case "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
		return "uppercase letter"
	case "abcdefghijklmnopqrstuvwxyz":
		return "lowercase letter"
	case "0123456789":
		return "number"
	}
	// The whole set wraps badly on a phone; the script checks it exactly.
	return "special character, such as ! @ # $ %"
}

// rules lists a password policy's rules in words, the checkable ones
// with what the script needs.
func rules(raw json.RawMessage) []rule {
	if len(raw) == 0 {
		return nil
	}
	var p struct {
		Length *struct {
			Min int `json:"min"`
			Max int `json:"max"`
		} `json:"length"`
		MinCharacters         map[string]int `json:"minCharacters"`
		MaxRepeatedCharacters int            `json:"maxRepeatedCharacters"`
		MinUniqueCharacters   int            `json:"minUniqueCharacters"`
		ExcludesCommonlyUsed  bool           `json:"excludesCommonlyUsed"`
		ExcludesProfileData   bool           `json:"excludesProfileData"`
		NotSimilarToCurrent   bool           `json:"notSimilarToCurrent"`
		History               *struct {
			Count int `json:"count"`
		} `json:"history"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	var out []rule
	if p.Length != nil && (p.Length.Min > 0 || p.Length.Max > 0) {
		out = append(out, rule{Key: "length", Text: fmt.Sprintf("%d to %d characters", p.Length.Min, p.Length.Max),
			Min: fmt.Sprint(p.Length.Min), Max: fmt.Sprint(p.Length.Max)})
	}
	sets := make([]string, 0, len(p.MinCharacters))
	for set := range p.MinCharacters {
		sets = append(sets, set)
	}
	// Letters, numbers, then special characters, as people read them.
	order := map[string]int{"ABCDEFGHIJKLMNOPQRSTUVWXYZ": 0, "abcdefghijklmnopqrstuvwxyz": 1, "0123456789": 2}
	sort.Slice(sets, func(i, j int) bool {
		oi, ok := order[sets[i]]
		if !ok {
			oi = 3
		}
		oj, ok := order[sets[j]]
		if !ok {
			oj = 3
		}
		return oi < oj
	})
	for _, set := range sets {
		n := p.MinCharacters[set]
		text := fmt.Sprintf("At least %d %s", n, charClass(set))
		if n > 1 {
			text = strings.Replace(text, "letter", "letters", 1)
			text = strings.Replace(text, "number", "numbers", 1)
			text = strings.Replace(text, "character,", "characters,", 1)
		}
		out = append(out, rule{Key: "minCharacters", Text: text, Set: set, Count: fmt.Sprint(n)})
	}
	if p.MaxRepeatedCharacters > 0 {
		out = append(out, rule{Key: "maxRepeatedCharacters", Text: fmt.Sprintf("No character more than %d times in a row", p.MaxRepeatedCharacters),
			Max: fmt.Sprint(p.MaxRepeatedCharacters)})
	}
	if p.MinUniqueCharacters > 0 {
		out = append(out, rule{Key: "minUniqueCharacters", Text: fmt.Sprintf("At least %d different characters", p.MinUniqueCharacters),
			Min: fmt.Sprint(p.MinUniqueCharacters)})
	}
	if p.ExcludesCommonlyUsed {
		out = append(out, rule{Key: "excludesCommonlyUsed", Text: "Not a commonly used password"})
	}
	if p.ExcludesProfileData {
		out = append(out, rule{Key: "excludesProfileData", Text: "Not your name, username or email address"})
	}
	if p.NotSimilarToCurrent {
		out = append(out, rule{Key: "notSimilarToCurrent", Text: "Not similar to your current password"})
	}
	if p.History != nil && p.History.Count > 0 {
		out = append(out, rule{Key: "history", Text: fmt.Sprintf("Not one of your last %d passwords", p.History.Count)})
	}
	return out
}

func (s *Service) render(w http.ResponseWriter, status int, v *view) {
	if v.Version == "" {
		v.Version = s.version
	}
	if v.Title == "" {
		v.Title = v.Heading
		if v.BrandName != "" {
			v.Title += " · " + v.BrandName
		}
	}
	if v.Actions == nil {
		v.Actions = map[string]bool{}
	}
	if v.BrandName == "" {
		v.BrandName = "Gatehouse"
	}
	for _, r := range v.BrandName {
		v.Initial = strings.ToUpper(string(r))
		break
	}
	var buf bytes.Buffer
	if v.form != "" {
		if err := s.tmpl.ExecuteTemplate(&buf, "form/"+v.form, v); err != nil {
			s.log().Error("sign-on page template", "form", v.form, "err", err)
			http.Error(w, "The sign-on page could not be shown.", http.StatusInternalServerError)
			return
		}
		v.Form = template.HTML(buf.String()) // produced by html/template, so escaped
		buf.Reset()
	}
	if err := s.tmpl.ExecuteTemplate(&buf, "page.html", v); err != nil {
		s.log().Error("sign-on page template", "err", err)
		http.Error(w, "The sign-on page could not be shown.", http.StatusInternalServerError)
		return
	}
	secureHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log().ErrorContext(r.Context(), "sign-on page", "err", err)
	s.render(w, http.StatusInternalServerError, &view{EnvID: url.PathEscape(r.PathValue("envID")), Heading: "Something went wrong", Message: "The sign-on page could not be shown. Try again in a moment."})
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
