package mgmt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// PingOne's user schema (…/schemas, …/schemas/{id}/attributes). Reading
// takes the user read or the configuration read permission (PingOne lets
// Identity Data Admins and Client Application Developers read it);
// writing takes the configuration write permission (Environment Admin).
//
// PingOne's mutability rules: core attributes change in no way; standard
// ones only their enabled flag and, for STRING ones, unique and
// regexValidation; custom ones all but name and type, multiValued only
// from false to true, and required not at all (ignored on create, refused
// on update when it differs).

func (a *API) schemaRoutes(mux router) {
	base := "/v1/environments/{envID}/schemas"
	mux.Handle("GET "+base, a.handle(a.listSchemas))
	mux.Handle("GET "+base+"/{schemaID}", a.handle(a.getSchema))
	attrs := base + "/{schemaID}/attributes"
	mux.Handle("GET "+attrs, a.handle(a.listSchemaAttributes))
	mux.Handle("POST "+attrs, a.handle(a.createSchemaAttribute))
	mux.Handle("GET "+attrs+"/{attributeID}", a.handle(a.getSchemaAttribute))
	mux.Handle("PUT "+attrs+"/{attributeID}", a.handle(a.replaceSchemaAttribute))
	mux.Handle("PATCH "+attrs+"/{attributeID}", a.handle(a.patchSchemaAttribute))
	mux.Handle("DELETE "+attrs+"/{attributeID}", a.handle(a.deleteSchemaAttribute))
}

// schemaEnvironment is the path's environment when the actor may read
// (or, with write, change) its schema, and the path's schema id is the
// environment's (else 404).
func (a *API) schemaEnvironment(r *http.Request, write bool) (*store.Environment, error) {
	var env *store.Environment
	var err error
	if write {
		env, err = a.environment(r, roles.WriteConfig)
	} else if env, err = a.environment(r, roles.ReadConfig); err != nil {
		env, err = a.environment(r, roles.ReadUser)
	}
	if err != nil {
		return nil, err
	}
	if id := r.PathValue("schemaID"); id != "" && id != identity.SchemaID(env.ID) {
		return nil, wire.NotFound("")
	}
	return env, nil
}

func (a *API) renderSchema(envID string) wire.Schema {
	id := identity.SchemaID(envID)
	self := a.APIPath + "/environments/" + envID + "/schemas/" + id
	return wire.Schema{Links: wire.Links{"self": {Href: self}, "environment": {Href: a.APIPath + "/environments/" + envID},
		"attributes": {Href: self + "/attributes"}}, ID: id, Environment: wire.Ref{ID: envID}, Name: identity.SchemaName,
		Description: "Gatehouse User Schema", AllowsContainsOperator: true}
}

func (a *API) renderSchemaAttribute(at wire.SchemaAttribute) wire.SchemaAttribute {
	base := a.APIPath + "/environments/" + at.Environment.ID + "/schemas/" + at.Schema.ID
	at.Links = wire.Links{"self": {Href: base + "/attributes/" + at.ID}, "schema": {Href: base},
		"environment": {Href: a.APIPath + "/environments/" + at.Environment.ID}}
	return at
}

func (a *API) listSchemas(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, false)
	if err != nil {
		return err
	}
	self := a.APIPath + "/environments/" + env.ID + "/schemas"
	wire.Write(w, http.StatusOK, wholeList(self, "schemas", []any{a.renderSchema(env.ID)}))
	return nil
}

func (a *API) getSchema(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, false)
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSchema(env.ID))
	return nil
}

func (a *API) listSchemaAttributes(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, false)
	if err != nil {
		return err
	}
	sch, err := identity.LoadSchema(r.Context(), a.Store, env.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(sch.Attributes))
	for i, at := range sch.Attributes {
		items[i] = a.renderSchemaAttribute(at)
	}
	self := a.APIPath + "/environments/" + env.ID + "/schemas/" + sch.ID + "/attributes"
	wire.Write(w, http.StatusOK, wholeList(self, "attributes", items))
	return nil
}

func (a *API) getSchemaAttribute(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, false)
	if err != nil {
		return err
	}
	sch, err := identity.LoadSchema(r.Context(), a.Store, env.ID)
	if err != nil {
		return err
	}
	at := sch.ByID(r.PathValue("attributeID"))
	if at == nil {
		return wire.NotFound("")
	}
	wire.Write(w, http.StatusOK, a.renderSchemaAttribute(*at))
	return nil
}

func (a *API) createSchemaAttribute(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, true)
	if err != nil {
		return err
	}
	var req wire.SchemaAttributeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	now := store.Now()
	rec := &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: env.ID, SchemaType: wire.SchemaCustom, CreatedAt: now, UpdatedAt: now}
	var out *wire.SchemaAttribute
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.LockSchema(ctx, env.ID); err != nil {
			return err
		}
		sch, err := identity.LoadSchema(ctx, tx, env.ID)
		if err != nil {
			return err
		}
		rules, err := newCustomAttribute(sch, &req)
		if err != nil {
			return err
		}
		rec.Name, rec.Data = *req.Name, mustJSON(rules)
		if err := tx.CreateSchemaAttribute(ctx, rec); err != nil {
			return err
		}
		if out, err = identity.DecodeSchemaAttribute(rec); err != nil {
			return err
		}
		if out.Unique {
			return claimExisting(ctx, tx, out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusCreated, a.renderSchemaAttribute(*out))
	return nil
}

func (a *API) replaceSchemaAttribute(w http.ResponseWriter, r *http.Request) error {
	var req wire.SchemaAttributeRequest
	return a.updateSchemaAttribute(w, r, func(*wire.SchemaAttribute) error { return decode(r, &req) },
		func() *wire.SchemaAttributeRequest { return &req })
}

// patchSchemaAttribute merges the body into the attribute as it reads,
// then validates the result as a PUT.
func (a *API) patchSchemaAttribute(w http.ResponseWriter, r *http.Request) error {
	var patch map[string]json.RawMessage
	var req wire.SchemaAttributeRequest
	return a.updateSchemaAttribute(w, r, func(cur *wire.SchemaAttribute) error {
		if err := decode(r, &patch); err != nil {
			return err
		}
		merged := mergePatch(mustJSON(cur), mustJSON(patch))
		if err := json.Unmarshal(merged, &req); err != nil {
			return jsonError(err)
		}
		return nil
	}, func() *wire.SchemaAttributeRequest { return &req })
}

// updateSchemaAttribute reads the attribute, has read fill the request
// from the body (given the attribute as it is), and writes what the
// mutability rules allow, in one transaction.
func (a *API) updateSchemaAttribute(w http.ResponseWriter, r *http.Request, read func(*wire.SchemaAttribute) error,
	req func() *wire.SchemaAttributeRequest) error {
	env, err := a.schemaEnvironment(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var out wire.SchemaAttribute
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.LockSchema(ctx, env.ID); err != nil {
			return err
		}
		sch, err := identity.LoadSchema(ctx, tx, env.ID)
		if err != nil {
			return err
		}
		cur := sch.ByID(r.PathValue("attributeID"))
		if cur == nil {
			return wire.NotFound("")
		}
		if err := read(cur); err != nil {
			return err
		}
		next, err := updatedAttribute(cur, req())
		if err != nil {
			return err
		}
		out = *cur
		out.SchemaAttributeRules = next
		if reflectEqualRules(cur.SchemaAttributeRules, next) {
			return nil
		}
		now := store.Now()
		rec := &store.SchemaAttribute{ID: cur.ID, EnvironmentID: env.ID, Name: cur.Name, SchemaType: cur.SchemaType,
			Data: mustJSON(next), CreatedAt: now, UpdatedAt: now}
		if cur.SchemaType == wire.SchemaStandard {
			// A standard attribute's first change makes its row.
			if _, err := tx.GetSchemaAttribute(ctx, env.ID, cur.ID); err != nil {
				if err := tx.CreateSchemaAttribute(ctx, rec); err != nil {
					return err
				}
			} else if err := tx.UpdateSchemaAttribute(ctx, rec); err != nil {
				return err
			}
		} else if err := tx.UpdateSchemaAttribute(ctx, rec); err != nil {
			return err
		}
		switch {
		case next.Unique && !cur.Unique:
			return claimExisting(ctx, tx, &out)
		case !next.Unique && cur.Unique:
			return tx.ClaimUniqueValues(ctx, env.ID, cur.ID, cur.Name, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	wire.Write(w, http.StatusOK, a.renderSchemaAttribute(out))
	return nil
}

func reflectEqualRules(a, b wire.SchemaAttributeRules) bool {
	return string(mustJSON(a)) == string(mustJSON(b))
}

// claimExisting claims the values the environment's users already hold of
// at, an attribute just made unique: two users holding one value fail the
// change with PingOne's uniqueness violation, naming the attribute.
func claimExisting(ctx context.Context, tx store.Store, at *wire.SchemaAttribute) error {
	owner := map[string]string{} // value → user id
	err := tx.ScanUsers(ctx, at.Environment.ID, func(us []store.User) error {
		for i := range us {
			for _, v := range identity.UniqueValuesOf(at, &us[i]) {
				if other, taken := owner[v]; taken && other != us[i].ID {
					return wire.InvalidData(wire.Detail{Code: wire.DetailUniqueness, Target: "unique",
						Message: fmt.Sprintf("Users of the environment already share a value of %s: it cannot be made unique.", at.Name)})
				}
				owner[v] = us[i].ID
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.ClaimUniqueValues(ctx, at.Environment.ID, at.ID, at.Name, owner)
}

func (a *API) deleteSchemaAttribute(w http.ResponseWriter, r *http.Request) error {
	env, err := a.schemaEnvironment(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	err = a.Store.Tx(ctx, func(tx store.Store) error {
		if err := tx.LockSchema(ctx, env.ID); err != nil {
			return err
		}
		id := r.PathValue("attributeID")
		rec, err := tx.GetSchemaAttribute(ctx, env.ID, id)
		if err != nil {
			sch, lerr := identity.LoadSchema(ctx, tx, env.ID)
			if lerr == nil && sch.ByID(id) != nil {
				return wire.RequestFailed("Core and standard attributes cannot be deleted.")
			}
			return err
		}
		if rec.SchemaType != wire.SchemaCustom {
			return wire.RequestFailed("Core and standard attributes cannot be deleted.")
		}
		return tx.DeleteSchemaAttribute(ctx, env.ID, id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- the rules of an attribute's definition

// newCustomAttribute validates a POST: a new custom attribute of sch.
func newCustomAttribute(sch *identity.Schema, req *wire.SchemaAttributeRequest) (wire.SchemaAttributeRules, error) {
	var ds []wire.Detail
	switch {
	case req.Name == nil || *req.Name == "":
		ds = append(ds, wire.Required("name"))
	case identity.CheckCustomName(*req.Name) != nil:
		ds = append(ds, wire.InvalidValue("name",
			"An attribute's name starts with a letter and holds only letters, digits, hyphens and underscores (at most 256)."))
	case sch.Attribute(*req.Name) != nil || identity.BuiltinAttribute(sch.EnvironmentID, *req.Name) != nil:
		ds = append(ds, wire.Detail{Code: wire.DetailUniqueness, Target: "name", Message: "The schema already has an attribute of this name."})
	}
	rules := wire.SchemaAttributeRules{Type: wire.AttrString}
	if req.Type != nil {
		rules.Type = *req.Type
	}
	if !slices.Contains([]string{wire.AttrString, wire.AttrJSON}, rules.Type) {
		ds = append(ds, wire.Detail{Code: wire.DetailInvalidValue, Target: "type",
			Message:    "Custom attributes are STRING or JSON: BOOLEAN and COMPLEX attributes cannot be created.",
			InnerError: &wire.InnerError{AllowedValues: []string{wire.AttrString, wire.AttrJSON}}})
	} else if n, max := sch.Custom(rules.Type), customLimit(rules.Type); n >= max {
		limit := int64(max)
		ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: "type",
			Message:    fmt.Sprintf("An environment has at most %d custom %s attributes.", max, rules.Type),
			InnerError: &wire.InnerError{MaximumValue: &limit}})
	}
	if req.Enabled == nil {
		ds = append(ds, wire.Required("enabled"))
	} else {
		rules.Enabled = *req.Enabled
	}
	// required is ignored on create: PingOne defaults it to false.
	if req.MultiValued != nil {
		rules.MultiValued = *req.MultiValued
	}
	ds = append(ds, mutableRules(&rules, req, wire.SchemaCustom)...)
	if len(ds) > 0 {
		return rules, wire.InvalidData(ds...)
	}
	return rules, nil
}

func customLimit(typ string) int {
	if typ == wire.AttrJSON {
		return identity.MaxCustomJSONAttributes
	}
	return identity.MaxCustomStringAttributes
}

// updatedAttribute validates a PUT (or a merged PATCH) of cur by its
// schema type's mutability rules and returns its rules after it.
func updatedAttribute(cur *wire.SchemaAttribute, req *wire.SchemaAttributeRequest) (wire.SchemaAttributeRules, error) {
	var ds []wire.Detail
	immutable := func(target string, changed bool) {
		if changed {
			ds = append(ds, wire.InvalidValue(target, fmt.Sprintf("The %s of a %s attribute cannot be changed.", target, strings.ToLower(cur.SchemaType))))
		}
	}
	immutable("name", req.Name != nil && *req.Name != cur.Name)
	immutable("type", req.Type != nil && *req.Type != cur.Type)
	immutable("required", req.Required != nil && *req.Required != cur.Required)
	if req.Enabled == nil {
		ds = append(ds, wire.Required("enabled"))
	}
	next := cur.SchemaAttributeRules
	switch cur.SchemaType {
	case wire.SchemaCore:
		immutable("enabled", req.Enabled != nil && *req.Enabled != cur.Enabled)
		immutable("unique", req.Unique != nil && *req.Unique != cur.Unique)
		immutable("multiValued", req.MultiValued != nil && *req.MultiValued != cur.MultiValued)
	case wire.SchemaStandard:
		immutable("multiValued", req.MultiValued != nil && *req.MultiValued != cur.MultiValued)
		immutable("displayName", req.DisplayName != nil && *req.DisplayName != cur.DisplayName)
		immutable("description", req.Description != nil && *req.Description != cur.Description)
		if req.Enabled != nil {
			next.Enabled = *req.Enabled
		}
		if cur.Type == wire.AttrString {
			next.Unique = req.Unique != nil && *req.Unique
			next.RegexValidation = nil
			if rv := req.RegexValidation; rv != nil {
				ds = append(ds, checkRegex(rv)...)
				next.RegexValidation = rv
			}
		} else {
			immutable("unique", req.Unique != nil && *req.Unique != cur.Unique)
			immutable("regexValidation", req.RegexValidation != nil)
		}
	default:
		if req.Enabled != nil {
			next.Enabled = *req.Enabled
		}
		multi := req.MultiValued != nil && *req.MultiValued
		if cur.MultiValued && !multi {
			ds = append(ds, wire.InvalidValue("multiValued", "A multi-valued attribute cannot become single-valued."))
		}
		next.MultiValued = cur.MultiValued || multi
		ds = append(ds, mutableRules(&next, req, wire.SchemaCustom)...)
		for _, e := range cur.EnumeratedValues {
			if !slices.ContainsFunc(next.EnumeratedValues, func(n wire.SchemaEnumeratedValue) bool { return n.Value == e.Value }) {
				ds = append(ds, wire.InvalidValue("enumeratedValues",
					fmt.Sprintf("Enumerated values cannot be removed, only archived: %q is missing.", e.Value)))
				break
			}
		}
	}
	if len(ds) > 0 {
		return next, wire.InvalidData(ds...)
	}
	return next, nil
}

// mutableRules sets and checks what a custom attribute's POST or PUT may
// set besides its name, type, enabled and multiValued flags.
func mutableRules(rules *wire.SchemaAttributeRules, req *wire.SchemaAttributeRequest, _ string) []wire.Detail {
	var ds []wire.Detail
	rules.DisplayName, rules.Description = "", ""
	if req.DisplayName != nil {
		if *req.DisplayName == "" {
			ds = append(ds, wire.InvalidValue("displayName", "If provided, displayName must not be empty."))
		}
		rules.DisplayName = *req.DisplayName
	}
	if req.Description != nil {
		if *req.Description == "" {
			ds = append(ds, wire.InvalidValue("description", "If provided, description must not be empty."))
		}
		rules.Description = *req.Description
	}
	rules.Unique = req.Unique != nil && *req.Unique
	if rules.Unique && rules.Type != wire.AttrString {
		ds = append(ds, wire.InvalidValue("unique", "Only STRING attributes can be unique."))
	}
	rules.EnumeratedValues, rules.RegexValidation = req.EnumeratedValues, req.RegexValidation
	if len(rules.EnumeratedValues) > 0 && rules.RegexValidation != nil {
		ds = append(ds, wire.InvalidValue("enumeratedValues", "An attribute has enumerated values or a regular expression, not both."))
	}
	if (len(rules.EnumeratedValues) > 0 || rules.RegexValidation != nil) && rules.Type != wire.AttrString {
		ds = append(ds, wire.InvalidValue("type", "Only STRING attributes have enumerated values or a regular expression."))
	}
	if req.EnumeratedValues != nil && len(req.EnumeratedValues) == 0 {
		ds = append(ds, wire.InvalidValue("enumeratedValues", "If provided, enumeratedValues must not be empty."))
	}
	if n := len(rules.EnumeratedValues); n > identity.MaxEnumeratedValues {
		limit := int64(identity.MaxEnumeratedValues)
		ds = append(ds, wire.Detail{Code: wire.DetailSizeLimit, Target: "enumeratedValues",
			Message: fmt.Sprintf("An attribute has at most %d enumerated values.", identity.MaxEnumeratedValues), InnerError: &wire.InnerError{MaximumValue: &limit}})
	}
	seen := map[string]bool{}
	for i, e := range rules.EnumeratedValues {
		target := fmt.Sprintf("enumeratedValues[%d].value", i)
		switch k := strings.ToLower(e.Value); {
		case e.Value == "":
			ds = append(ds, wire.Required(target))
		case seen[k]:
			ds = append(ds, wire.InvalidValue(target, "Enumerated values that differ only by case are not allowed."))
		default:
			seen[k] = true
		}
	}
	if rv := rules.RegexValidation; rv != nil {
		ds = append(ds, checkRegex(rv)...)
	}
	return ds
}

// checkRegex checks a regexValidation: a pattern that compiles, the
// requirements, and examples that hold.
func checkRegex(rv *wire.SchemaRegexValidation) []wire.Detail {
	var ds []wire.Detail
	if rv.Pattern == "" {
		return append(ds, wire.Required("regexValidation.pattern"))
	}
	re, err := identity.CompilePattern(rv.Pattern)
	if err != nil {
		return append(ds, wire.InvalidValue("regexValidation.pattern", "The pattern is not a valid regular expression."))
	}
	if rv.Requirements == "" {
		ds = append(ds, wire.Required("regexValidation.requirements"))
	}
	for i, v := range rv.ValuesPatternShouldMatch {
		if !re.MatchString(v) {
			ds = append(ds, wire.InvalidValue(fmt.Sprintf("regexValidation.valuesPatternShouldMatch[%d]", i), "The value does not match the pattern."))
		}
	}
	for i, v := range rv.ValuesPatternShouldNotMatch {
		if re.MatchString(v) {
			ds = append(ds, wire.InvalidValue(fmt.Sprintf("regexValidation.valuesPatternShouldNotMatch[%d]", i), "The value matches the pattern."))
		}
	}
	return ds
}
