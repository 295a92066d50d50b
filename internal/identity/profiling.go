package identity

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Progressive profiling (the PROGRESSIVE_PROFILING sign-on action) asks a
// signed-on user for attributes they have no value for. PingOne lets it
// ask for enabled standard and custom string attributes, nested standard
// ones included (name.family), but not core ones (username) nor JSON
// ones.

// ProfileAttributes are the attributes of envID's schema a progressive
// profiling action may ask for: enabled, single-valued STRING attributes,
// custom ones and the standard ones a user write takes (AttributeNames
// but username), in the schema's order, with their display names and
// rules. st may be a transaction.
func ProfileAttributes(ctx context.Context, st store.Store, envID string) ([]wire.SchemaAttribute, error) {
	all, err := SchemaAttributes(ctx, st, envID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if a.Type != wire.AttrString || a.MultiValued {
			continue
		}
		if a.SchemaType == wire.SchemaCustom || (slices.Contains(AttributeNames, a.Name) && a.Name != "username") {
			out = append(out, a)
		}
	}
	return out, nil
}

// Value is u's value of the string attribute name, standard (a path such
// as name.given) or custom; "" when it has none. A stored profile that
// cannot be read is an error.
func Value(u *store.User, name string) (string, error) {
	d, err := Decode(u)
	if err != nil {
		return "", err
	}
	if slices.Contains(AttributeNames, name) {
		return field(u, &d, name, nil), nil
	}
	var v string
	if raw, ok := d.Custom[name]; ok && json.Unmarshal(raw, &v) == nil {
		return v, nil
	}
	return "", nil
}
