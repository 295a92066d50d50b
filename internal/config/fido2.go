package config

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// DecodeFIDO2Policy reads a stored FIDO2 policy in PingOne's shape
// (without links). Its RelyingPartyID stays as stored: "" leaves the
// relying party to Gatehouse (the host of the environment's base URL).
func DecodeFIDO2Policy(p *store.FIDO2Policy) (*wire.FIDO2Policy, error) {
	out := &wire.FIDO2Policy{ID: p.ID, Environment: wire.Ref{ID: p.EnvironmentID}, Name: p.Name, Default: p.Default,
		CreatedAt: wire.Time(p.CreatedAt), UpdatedAt: wire.Time(p.UpdatedAt)}
	if err := json.Unmarshal(p.Data, &out.FIDO2PolicyData); err != nil {
		return nil, fmt.Errorf("config: FIDO2 policy %s: %w", p.ID, err)
	}
	return out, nil
}

// FIDO2Policy is the FIDO2 policy id of envID, or its default when id is
// ""; store.ErrNotFound when there is no such policy.
func (c *Cache) FIDO2Policy(ctx context.Context, envID, id string) (*wire.FIDO2Policy, error) {
	return oneOrDefault(ctx, c, envID, id, kindFIDO2Policies, c.st.ListFIDO2Policies, DecodeFIDO2Policy,
		func(p *wire.FIDO2Policy) (string, bool) { return p.ID, p.Default })
}
