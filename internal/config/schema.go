package config

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/identity"
)

// UserSchema is envID's user schema (PingOne's core and standard
// attributes with the environment's changes, and its custom attributes),
// for the reads that need it on every request: the filters a user list
// takes. User writes read it in their own transaction instead (identity's
// rules), so that a unique attribute made on another node is never missed.
func (c *Cache) UserSchema(ctx context.Context, envID string) (*identity.Schema, error) {
	return get(ctx, c, envID, entryKey{kindUserSchema, ""}, func(ctx context.Context) (*identity.Schema, error) {
		recs, err := c.st.ListSchemaAttributes(ctx, envID)
		if err != nil {
			return nil, err
		}
		return identity.NewSchema(envID, recs)
	})
}
