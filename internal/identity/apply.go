package identity

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Input is a user's attributes as a client sends them: PingOne's core and
// profile attributes, and the custom ones, kept verbatim.
type Input struct {
	wire.UserRequest
	Custom map[string]json.RawMessage
}

// checker gathers the field-level problems of one request, in the order
// of the user resource's attributes.
type checker struct{ details []wire.Detail }

func (c *checker) add(d *wire.Detail) {
	if d != nil {
		c.details = append(c.details, *d)
	}
}

func (c *checker) required(target string) {
	d := wire.Required(target)
	c.add(&d)
}

// text returns *p (or "") after checking it as the attribute at path.
func (c *checker) text(path string, p *string) string {
	return c.check(path, p, true)
}

func (c *checker) check(path string, p *string, formats bool) string {
	if p == nil {
		return ""
	}
	c.details = append(c.details, checkAttribute(path, path, *p, formats)...)
	return *p
}

func (c *checker) enum(target string, p *string, allowed []string, current string) string {
	if p == nil {
		return current
	}
	if !slices.Contains(allowed, *p) {
		d := wire.OneOf(target, allowed)
		c.add(&d)
	}
	return *p
}

// fields checks every attribute of in but the population and returns u
// with them applied. A create sets every attribute; a replace resets the
// profile attributes that are absent but keeps those PingOne manages
// through their own endpoints (enabled, mfaEnabled, lifecycle, identity
// provider, verifyStatus) when they are absent.
func (c *checker) fields(in *Input, u store.User) store.User {
	req := &in.UserRequest
	if req.Username == nil {
		c.required("username")
	}
	username := c.text("username", req.Username)
	email := c.text("email", req.Email)
	prof := wire.UserProfile{
		Nickname: c.text("nickname", req.Nickname), Title: c.text("title", req.Title),
		PreferredLanguage: c.text("preferredLanguage", req.PreferredLanguage), Locale: c.text("locale", req.Locale),
		Timezone: c.check("timezone", req.Timezone, false), Type: c.text("type", req.Type),
		MobilePhone: c.text("mobilePhone", req.MobilePhone), PrimaryPhone: c.text("primaryPhone", req.PrimaryPhone),
	}
	// The time zone's name is checked after the profile's lengths, as the
	// management API always has.
	c.details = append(c.details, checkFormat("timezone", "timezone", prof.Timezone)...)
	var given, family string
	if n := req.Name; n != nil {
		given, family = c.text("name.given", &n.Given), c.text("name.family", &n.Family)
		rest := wire.UserName{Formatted: c.text("name.formatted", &n.Formatted), Middle: c.text("name.middle", &n.Middle),
			HonorificPrefix: c.text("name.honorificPrefix", &n.HonorificPrefix),
			HonorificSuffix: c.text("name.honorificSuffix", &n.HonorificSuffix)}
		if rest != (wire.UserName{}) {
			prof.Name = &rest
		}
	}
	if req.Photo != nil && req.Photo.Href != "" {
		prof.Photo = &wire.UserPhoto{Href: c.text("photo.href", &req.Photo.Href)}
	}
	if ad := req.Address; ad != nil {
		addr := wire.UserAddress{StreetAddress: c.text("address.streetAddress", &ad.StreetAddress),
			Locality: c.text("address.locality", &ad.Locality), Region: c.text("address.region", &ad.Region),
			PostalCode: c.text("address.postalCode", &ad.PostalCode), CountryCode: ad.CountryCode}
		c.add(checkCountryCode("address.countryCode", addr.CountryCode))
		if addr != (wire.UserAddress{}) {
			prof.Address = &addr
		}
	}
	u.Username, u.Email, u.GivenName, u.FamilyName = username, email, given, family
	u.ExternalID = c.text("externalId", req.ExternalID)

	var lifecycle *string
	if req.Lifecycle != nil {
		lifecycle = req.Lifecycle.Status
	}
	u.LifecycleStatus = c.enum("lifecycle.status", lifecycle, LifecycleStatuses, u.LifecycleStatus)
	u.VerifyStatus = c.enum("verifyStatus", req.VerifyStatus, VerifyStatuses, u.VerifyStatus)
	if ip := req.IdentityProvider; ip != nil {
		u.IdentityProviderType = ProviderPingOne
		if ip.Type != nil {
			u.IdentityProviderType = c.enum("identityProvider.type", ip.Type, ProviderTypes, "")
		}
		u.IdentityProviderID = c.text("identityProvider.id", ip.ID)
		if u.IdentityProviderType == ProviderPingOne {
			u.IdentityProviderID = "" // the environment's own directory has no provider id
		}
	}
	if req.Enabled != nil {
		u.Enabled = *req.Enabled
	}
	if req.MFAEnabled != nil {
		u.MFAEnabled = *req.MFAEnabled
	}
	c.details = append(c.details, checkCustom(in.Custom)...)
	u.Data = encode(wire.UserData{UserProfile: prof, Custom: in.Custom})
	return u
}

// Apply validates a create, replace or (merged) patch of a user and, when
// it is valid, writes it over u; otherwise u is unchanged and the error is
// INVALID_DATA with a detail per problem. An absent population keeps u's
// (the environment's default for a new user). st may be a transaction.
func Apply(ctx context.Context, st store.Store, envID string, in *Input, u *store.User) error {
	sch, err := LoadSchema(ctx, st, envID)
	if err != nil {
		return err
	}
	old, err := Decode(u)
	if err != nil {
		return err
	}
	var c checker
	next := c.fields(in, *u)
	c.schema(sch, &next, &old)
	popID := u.PopulationID
	if p := in.Population; p != nil {
		if p.ID == "" {
			c.required("population.id")
		}
		popID = p.ID
	}
	if in.Population == nil || in.Population.ID != "" {
		resolved, err := ResolvePopulation(ctx, st, envID, popID)
		switch {
		case errors.Is(err, ErrNoPopulation) && popID == "":
			c.required("population.id") // an environment without a default population
		case errors.Is(err, ErrNoPopulation):
			d := wire.InvalidValue("population.id", "The population does not exist in this environment.")
			c.add(&d)
		case err != nil:
			return err
		}
		next.PopulationID = resolved
	}
	if len(c.details) > 0 {
		return wire.InvalidData(c.details...)
	}
	*u = next
	return nil
}

// schema checks next (as fields made it) against the environment's
// schema and writes back what the schema drops; old is the user's profile
// before the write.
func (c *checker) schema(sch *Schema, next *store.User, old *wire.UserData) {
	d, err := Decode(next)
	if err != nil {
		panic(err) // fields encoded it
	}
	reported := map[string]bool{}
	for _, dt := range c.details {
		reported[dt.Target] = true
	}
	// An attribute already refused (its size, its text) has one problem
	// reported, not a second from the schema.
	for _, dt := range sch.checkSchema(next, &d, old) {
		if !reported[dt.Target] {
			c.details = append(c.details, dt)
		}
	}
	next.Data = encode(d)
}

// ResolvePopulation is the id of population id of the environment, or of
// its default population when id is empty; ErrNoPopulation when there is
// no such population.
func ResolvePopulation(ctx context.Context, st store.Store, envID, id string) (string, error) {
	resolved, err := st.ResolvePopulation(ctx, envID, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNoPopulation
	}
	return resolved, err
}

// encode is a user's Data column for d.
func encode(d wire.UserData) json.RawMessage {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // strings and raw JSON the decoder already accepted
	}
	return b
}
