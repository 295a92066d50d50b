package mgmt

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/templates"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Notifications: phone delivery settings
// (https://developer.pingidentity.com/pingone-api/platform/notifications/phone-delivery-settings.html)
// and notification templates with their contents
// (https://developer.pingidentity.com/pingone-api/platform/notifications/notifications-templates.html).
//
// Credentials (a BASIC password, a BEARER token, a Twilio auth token) are
// sealed at rest and never shown: responses name the authentication
// method and username only, and a PUT that sends no credential keeps the
// stored one, so a PUT of what a GET returned changes nothing.
//
// Templates are PingOne's predefined ones (internal/templates); each has
// predefined contents (default: true), which cannot be changed or
// deleted, and the contents an administrator adds, one per delivery
// method, locale and variant. Deleting an administrator's content
// restores the predefined text.

func (a *API) notificationRoutes(mux router) {
	phone := "/v1/environments/{envID}/notificationsSettings/phoneDeliverySettings"
	mux.Handle("GET "+phone, a.handle(a.listPhoneDelivery))
	mux.Handle("POST "+phone, a.handle(a.createPhoneDelivery))
	mux.Handle("GET "+phone+"/{id}", a.handle(a.getPhoneDelivery))
	mux.Handle("PUT "+phone+"/{id}", a.handle(a.updatePhoneDelivery))
	mux.Handle("DELETE "+phone+"/{id}", a.handle(a.deletePhoneDelivery))
	tpl := "/v1/environments/{envID}/templates"
	mux.Handle("GET "+tpl, a.handle(a.listTemplates))
	mux.Handle("GET "+tpl+"/{templateName}", a.handle(a.getTemplate))
	mux.Handle("GET "+tpl+"/{templateName}/contents", a.handle(a.listTemplateContents))
	mux.Handle("POST "+tpl+"/{templateName}/contents", a.handle(a.createTemplateContent))
	mux.Handle("GET "+tpl+"/{templateName}/contents/{contentID}", a.handle(a.getTemplateContent))
	mux.Handle("PUT "+tpl+"/{templateName}/contents/{contentID}", a.handle(a.updateTemplateContent))
	mux.Handle("DELETE "+tpl+"/{templateName}/contents/{contentID}", a.handle(a.deleteTemplateContent))
}

func (a *API) phoneHref(envID, id string) string {
	return a.APIPath + "/environments/" + envID + "/notificationsSettings/phoneDeliverySettings/" + id
}

func (a *API) renderPhone(p *store.PhoneDeliverySettings) (wire.PhoneDeliverySettings, error) {
	var c wire.PhoneDeliveryConfig
	if err := json.Unmarshal(p.Data, &c); err != nil {
		return wire.PhoneDeliverySettings{}, err
	}
	out := wire.PhoneDeliverySettings{
		Links: wire.Links{"self": {Href: a.phoneHref(p.EnvironmentID, p.ID)}, "environment": {Href: a.APIPath + "/environments/" + p.EnvironmentID}},
		ID:    p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Provider: p.Provider, Name: c.Name, Requests: c.Requests,
		Numbers: c.Numbers, Sid: c.Sid, CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt),
	}
	if c.AuthMethod != "" {
		out.Authentication = &wire.PhoneDeliveryAuth{Method: c.AuthMethod, Username: c.Username}
	}
	return out, nil
}

func (a *API) writePhone(w http.ResponseWriter, status int, p *store.PhoneDeliverySettings) error {
	out, err := a.renderPhone(p)
	if err != nil {
		return err
	}
	wire.Write(w, status, out)
	return nil
}

func (a *API) listPhoneDelivery(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	list, err := a.Store.ListPhoneDeliverySettings(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(list))
	for i := range list {
		out, err := a.renderPhone(&list[i])
		if err != nil {
			return err
		}
		items = append(items, out)
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/notificationsSettings/phoneDeliverySettings", "phoneDeliverySettings", items))
	return nil
}

func (a *API) getPhoneDelivery(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	p, err := a.Store.GetPhoneDeliverySettings(r.Context(), env.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writePhone(w, http.StatusOK, p)
}

// sealPhone seals a body's credentials for record p.
func (a *API) sealPhone(p *store.PhoneDeliverySettings, sec *wire.PhoneDeliverySecret) {
	if sec == nil {
		return
	}
	b, _ := json.Marshal(sec)
	p.Secret = a.Sealer.Seal(b, wire.PhoneSecretAAD(p.EnvironmentID, p.ID))
}

func (a *API) createPhoneDelivery(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.PhoneDeliverySettingsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, sec, ds := req.Normalize(nil, "")
	if len(ds) > 0 {
		return wire.InvalidData(ds...)
	}
	now := store.Now()
	p := &store.PhoneDeliverySettings{ID: uuid.NewString(), EnvironmentID: env.ID, Provider: req.Provider, Data: mustJSON(c),
		CreatedAt: now, UpdatedAt: now}
	a.sealPhone(p, sec)
	if err := a.Store.CreatePhoneDeliverySettings(r.Context(), p); err != nil {
		return err
	}
	return a.writePhone(w, http.StatusCreated, p)
}

func (a *API) updatePhoneDelivery(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.PhoneDeliverySettingsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var p *store.PhoneDeliverySettings
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if p, err = tx.GetPhoneDeliverySettings(r.Context(), env.ID, r.PathValue("id")); err != nil {
			return err
		}
		var prev wire.PhoneDeliveryConfig
		if err := json.Unmarshal(p.Data, &prev); err != nil {
			return err
		}
		c, sec, ds := req.Normalize(&prev, p.Provider)
		if len(ds) > 0 {
			return wire.InvalidData(ds...)
		}
		p.Data, p.UpdatedAt = mustJSON(c), store.Now()
		a.sealPhone(p, sec)
		return tx.UpdatePhoneDeliverySettings(r.Context(), p)
	})
	if err != nil {
		return err
	}
	return a.writePhone(w, http.StatusOK, p)
}

func (a *API) deletePhoneDelivery(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	if err := a.Store.DeletePhoneDeliverySettings(r.Context(), env.ID, r.PathValue("id")); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

func (a *API) templateHref(envID, name string) string {
	return a.APIPath + "/environments/" + envID + "/templates/" + name
}

func (a *API) renderTemplate(envID string, t *templates.Template) wire.Template {
	vars := map[string]any{}
	for _, v := range t.Variables {
		vars[v.Name] = map[string]any{"required": v.Required}
	}
	return wire.Template{Links: wire.Links{"self": {Href: a.templateHref(envID, t.Name)}, "contents": {Href: a.templateHref(envID, t.Name) + "/contents"}},
		ID: t.Name, DisplayName: t.DisplayName, Description: t.Description, DeliveryMethods: t.DeliveryMethods, Variables: vars,
		AllowDynamicVariables: t.Dynamic}
}

// template reads the path's template: 404 for a name PingOne has no
// template of, or one Gatehouse does not serve.
func (a *API) template(r *http.Request, perm string) (*store.Environment, *templates.Template, error) {
	env, err := a.environment(r, perm)
	if err != nil {
		return nil, nil, err
	}
	t, ok := templates.Lookup(r.PathValue("templateName"))
	if !ok {
		return nil, nil, wire.NotFound("Unable to find template with name " + r.PathValue("templateName") + ".")
	}
	return env, t, nil
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	all := templates.All()
	items := make([]any, len(all))
	for i := range all {
		items[i] = a.renderTemplate(env.ID, &all[i])
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/templates", "templates", items))
	return nil
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderTemplate(env.ID, t))
	return nil
}

// contentOf is a stored content as the templates package sees it.
func contentOf(c *store.TemplateContent) templates.Content {
	return templates.Content{ID: c.ID, Template: c.Template, DeliveryMethod: c.DeliveryMethod, Locale: c.Locale, Variant: c.Variant,
		Fields: templates.DecodeFields(c.Data)}
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *API) renderContent(envID string, c templates.Content, created, updated time.Time) wire.TemplateContent {
	href := a.templateHref(envID, c.Template) + "/contents/" + c.ID
	out := wire.TemplateContent{
		Links: wire.Links{"self": {Href: href}, "template": {Href: a.templateHref(envID, c.Template)}},
		ID:    c.ID, Template: wire.Ref{ID: c.Template}, Environment: wire.Ref{ID: envID}, CreatedAt: wire.Time(created), UpdatedAt: wire.Time(updated),
		Default: c.Default, Locale: c.Locale, DeliveryMethod: c.DeliveryMethod, Variant: c.Variant,
	}
	f := templates.WithDefaults(c.DeliveryMethod, c.Fields)
	if c.Fields.From == nil {
		f.From = nil // not sent: absent, as stored
	}
	switch c.DeliveryMethod {
	case templates.Email:
		body := f.Body
		out.Subject, out.Body, out.Charset, out.EmailContentType = optStr(f.Subject), &body, optStr(f.Charset), optStr(f.ContentType)
		if f.From != nil {
			out.From = &wire.TemplateAddress{Name: f.From.Name, Address: f.From.Address}
		}
		if f.ReplyTo != nil {
			out.ReplyTo = &wire.TemplateAddress{Name: f.ReplyTo.Name, Address: f.ReplyTo.Address}
		}
	case templates.SMS:
		content := f.Content
		out.Content, out.Sender = &content, optStr(f.Sender)
	case templates.Voice:
		content := f.Content
		out.Content, out.Voice = &content, optStr(f.Voice)
	}
	return out
}

// renderDefault renders a predefined content; its times are the
// environment's creation.
func (a *API) renderDefault(env *store.Environment, c templates.Content) wire.TemplateContent {
	return a.renderContent(env.ID, c, env.CreatedAt, env.CreatedAt)
}

func (a *API) listTemplateContents(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	list, err := a.Store.ListTemplateContents(r.Context(), env.ID, t.Name)
	if err != nil {
		return err
	}
	var items []any
	for _, c := range templates.Defaults(env.ID, t.Name) {
		items = append(items, a.renderDefault(env, c))
	}
	for i := range list {
		items = append(items, a.renderContent(env.ID, contentOf(&list[i]), list[i].CreatedAt, list[i].UpdatedAt))
	}
	if items == nil {
		items = []any{}
	}
	wire.Write(w, http.StatusOK, wholeList(a.templateHref(env.ID, t.Name)+"/contents", "contents", items))
	return nil
}

// findDefault returns the predefined content id names, if any.
func findDefault(envID, template, id string) (templates.Content, bool) {
	for _, c := range templates.Defaults(envID, template) {
		if c.ID == id {
			return c, true
		}
	}
	return templates.Content{}, false
}

func (a *API) getTemplateContent(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	id := r.PathValue("contentID")
	if c, ok := findDefault(env.ID, t.Name, id); ok {
		wire.Write(w, http.StatusOK, a.renderDefault(env, c))
		return nil
	}
	c, err := a.Store.GetTemplateContent(r.Context(), env.ID, t.Name, id)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderContent(env.ID, contentOf(c), c.CreatedAt, c.UpdatedAt))
	return nil
}

// decodeContent reads and checks a content's body for template t.
func decodeContent(r *http.Request, t *templates.Template) (templates.Content, error) {
	var req wire.TemplateContentRequest
	if err := decode(r, &req); err != nil {
		return templates.Content{}, err
	}
	var ds []wire.Detail
	if req.Locale == "" {
		ds = append(ds, wire.Required("locale"))
	}
	switch {
	case req.DeliveryMethod == "":
		ds = append(ds, wire.Required("deliveryMethod"))
	case !t.Offers(req.DeliveryMethod):
		ds = append(ds, wire.OneOf("deliveryMethod", t.DeliveryMethods))
	}
	if len(ds) > 0 {
		return templates.Content{}, wire.InvalidData(ds...)
	}
	c := templates.Content{Template: t.Name, DeliveryMethod: req.DeliveryMethod, Locale: req.Locale, Variant: str(req.Variant)}
	switch req.DeliveryMethod {
	case templates.Email:
		c.Fields = templates.Fields{Subject: str(req.Subject), Body: str(req.Body), Charset: str(req.Charset), ContentType: str(req.EmailContentType)}
		if req.From != nil {
			c.Fields.From = &templates.Address{Name: req.From.Name, Address: req.From.Address}
		}
		if req.ReplyTo != nil {
			c.Fields.ReplyTo = &templates.Address{Name: req.ReplyTo.Name, Address: req.ReplyTo.Address}
		}
	case templates.SMS:
		c.Fields = templates.Fields{Content: str(req.Content), Sender: str(req.Sender)}
	case templates.Voice:
		c.Fields = templates.Fields{Content: str(req.Content), Voice: str(req.Voice)}
	}
	for _, p := range templates.Check(t, &c) {
		ds = append(ds, wire.InvalidValue(p.Field, p.Message))
	}
	if len(ds) > 0 {
		return c, wire.InvalidData(ds...)
	}
	// Stored with PingOne's defaults filled, so that reads show what
	// sends use; but an email's from stays absent when not sent (Terraform
	// holds it Optional, not Computed), and the sender fills it then.
	sent := c.Fields.From
	c.Fields = templates.WithDefaults(c.DeliveryMethod, c.Fields)
	if sent == nil {
		c.Fields.From = nil
	}
	return c, nil
}

func (a *API) createTemplateContent(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	c, err := decodeContent(r, t)
	if err != nil {
		return err
	}
	now := store.Now()
	rec := &store.TemplateContent{ID: uuid.NewString(), EnvironmentID: env.ID, Template: t.Name, DeliveryMethod: c.DeliveryMethod,
		Locale: c.Locale, Variant: c.Variant, Data: mustJSON(c.Fields), CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateTemplateContent(r.Context(), rec); err != nil {
		return contentUnique(err)
	}
	c.ID = rec.ID
	wire.Write(w, http.StatusCreated, a.renderContent(env.ID, c, rec.CreatedAt, rec.UpdatedAt))
	return nil
}

// contentUnique words a taken delivery method, locale and variant.
func contentUnique(err error) error {
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "locale",
			Message: "The template already has a content for this delivery method, locale and variant. Update it, or delete it to restore the default."})
	}
	return err
}

func (a *API) updateTemplateContent(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	id := r.PathValue("contentID")
	if _, ok := findDefault(env.ID, t.Name, id); ok {
		return constraintFailed("A default content cannot be changed. Create a content for its delivery method and locale instead.")
	}
	c, err := decodeContent(r, t)
	if err != nil {
		return err
	}
	var rec *store.TemplateContent
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		var err error
		if rec, err = tx.GetTemplateContent(r.Context(), env.ID, t.Name, id); err != nil {
			return err
		}
		rec.DeliveryMethod, rec.Locale, rec.Variant, rec.Data, rec.UpdatedAt = c.DeliveryMethod, c.Locale, c.Variant, mustJSON(c.Fields), store.Now()
		return tx.UpdateTemplateContent(r.Context(), rec)
	})
	if err != nil {
		return contentUnique(err)
	}
	c.ID = rec.ID
	wire.Write(w, http.StatusOK, a.renderContent(env.ID, c, rec.CreatedAt, rec.UpdatedAt))
	return nil
}

func (a *API) deleteTemplateContent(w http.ResponseWriter, r *http.Request) error {
	env, t, err := a.template(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	id := r.PathValue("contentID")
	if _, ok := findDefault(env.ID, t.Name, id); ok {
		return constraintFailed("A default content cannot be deleted.")
	}
	if err := a.Store.DeleteTemplateContent(r.Context(), env.ID, t.Name, id); err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}
