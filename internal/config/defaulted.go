package config

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// defaulted is a cached policy collection of an environment with one
// default (device authentication policies, FIDO2 policies): by id, and
// the default. The values are shared by every reader: never modify them.
type defaulted[W any] struct {
	byID map[string]*W
	def  *W
}

// oneOrDefault reads the collection k of envID through the cache,
// loading it with list and decode on a miss, and returns the policy id,
// or the default when id is ""; store.ErrNotFound when there is none.
// key gives a decoded policy's id and default flag.
func oneOrDefault[S, W any](ctx context.Context, c *Cache, envID, id string, k kind,
	list func(context.Context, string) ([]S, error), decode func(*S) (*W, error), key func(*W) (string, bool)) (*W, error) {
	all, err := get(ctx, c, envID, entryKey{k, ""}, func(ctx context.Context) (*defaulted[W], error) {
		ps, err := list(ctx, envID)
		if err != nil {
			return nil, err
		}
		out := &defaulted[W]{byID: make(map[string]*W, len(ps))}
		for i := range ps {
			p, err := decode(&ps[i])
			if err != nil {
				return nil, err
			}
			pid, isDefault := key(p)
			out.byID[pid] = p
			if isDefault {
				out.def = p
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	p := all.def
	if id != "" {
		p = all.byID[id]
	}
	if p == nil {
		return nil, store.ErrNotFound
	}
	return p, nil
}
