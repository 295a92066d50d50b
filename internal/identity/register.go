package identity

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Registration is what a user gives to register in a sign-on flow
// (user.register).
type Registration struct {
	Username, Email       string
	GivenName, FamilyName string
}

// Register builds the user a self-service registration creates: what r
// gives, checked by the rules of every user, with lifecycle
// VERIFICATION_REQUIRED until the user proves the email address, in
// populationID (the sign-on action's registration population; "" is the
// environment's default). Field problems come first, as INVALID_DATA;
// then ErrNoPopulation when the population does not exist. st may be a
// transaction; nothing is written.
func Register(ctx context.Context, st store.Store, envID, populationID string, r Registration, now time.Time) (*store.User, error) {
	status := LifecycleVerificationRequired
	in := &Input{UserRequest: wire.UserRequest{Username: &r.Username, Email: &r.Email,
		Lifecycle: &wire.UserLifecycleRequest{Status: &status}}}
	if r.GivenName != "" || r.FamilyName != "" {
		in.Name = &wire.UserName{Given: r.GivenName, Family: r.FamilyName}
	}
	sch, err := LoadSchema(ctx, st, envID)
	if err != nil {
		return nil, err
	}
	var c checker
	u := c.fields(in, *New(envID, now))
	c.schema(sch, &u, nil)
	if r.Email == "" {
		// The code that verifies the account goes to this address: a
		// registration without one could never be verified (a blank one
		// reaches here trimmed).
		d := wire.InvalidValue("email", msgEmail)
		c.add(&d)
	}
	if len(c.details) > 0 {
		return nil, wire.InvalidData(c.details...)
	}
	pop, err := ResolvePopulation(ctx, st, envID, populationID)
	if err != nil {
		return nil, err
	}
	u.PopulationID = pop
	return &u, nil
}

// External is an identity an external provider vouches for, as
// just-in-time provisioning receives it.
type External struct {
	ProviderType, ProviderID string
	// Subject is the provider's id of the user: the username when the
	// mappings give none.
	Subject    string
	Attributes []Attribute
}

// NewExternal builds the user just-in-time provisioning creates for x:
// the mapped attributes (the username among them), the provider as its
// identity provider, no password, in populationID ("" is the
// environment's default). A username the mappings leave empty is the
// provider's subject. The attributes are checked by the rules of every
// user: INVALID_DATA names the ones refused. ErrNoPopulation when the
// population does not exist. st may be a transaction; nothing is written.
func NewExternal(ctx context.Context, st store.Store, envID, populationID string, x External, now time.Time) (*store.User, error) {
	u := New(envID, now)
	u.IdentityProviderType, u.IdentityProviderID = x.ProviderType, x.ProviderID
	if _, err := ApplyAttributes(ctx, st, u, x.Attributes, true); err != nil {
		return nil, err
	}
	if u.Username == "" {
		u.Username = x.Subject
	}
	if d := CheckAttribute("username", "username", u.Username); d != nil {
		return nil, wire.InvalidData(*d)
	}
	if u.Unique == nil {
		// No mapped value changed the new user: its unique values are
		// still to be claimed (none, or the subject's username alone).
		u.Unique = []store.UniqueValue{}
	}
	pop, err := ResolvePopulation(ctx, st, envID, populationID)
	if err != nil {
		return nil, err
	}
	u.PopulationID = pop
	return u, nil
}
