package config

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// FIDO2Policies are an environment's FIDO2 policies by id, and its
// default. The values are shared by every reader: never modify them.
type FIDO2Policies struct {
	ByID    map[string]*wire.FIDO2Policy
	Default *wire.FIDO2Policy
}

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
	all, err := get(ctx, c, envID, entryKey{kindFIDO2Policies, ""}, func(ctx context.Context) (*FIDO2Policies, error) {
		ps, err := c.st.ListFIDO2Policies(ctx, envID)
		if err != nil {
			return nil, err
		}
		out := &FIDO2Policies{ByID: make(map[string]*wire.FIDO2Policy, len(ps))}
		for i := range ps {
			p, err := DecodeFIDO2Policy(&ps[i])
			if err != nil {
				return nil, err
			}
			out.ByID[p.ID] = p
			if p.Default {
				out.Default = p
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	p := all.Default
	if id != "" {
		p = all.ByID[id]
	}
	if p == nil {
		return nil, store.ErrNotFound
	}
	return p, nil
}
