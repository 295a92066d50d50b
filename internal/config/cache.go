package config

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Cache serves environments' configuration from memory, so that a sign-on
// does not read the same records from the store request after request.
//
// Entries are loaded lazily, one per kind and id, and dropped by
// environment:
//   - at once on this node: the store reports every committed write of
//     cached configuration (store.WatchConfig), before the write returns;
//   - within CheckEvery on other nodes: before using an environment's
//     entries the cache compares the environment's configuration version
//     with the store's, at most once per CheckEvery.
//
// A load takes the environment's generation before it reads; a write that
// commits meanwhile moves the generation, and the load's result, possibly
// older than the write, is handed to its callers but never kept. Concurrent
// misses of one entry share one load. Unknown ids are not remembered (they
// cost a query each, as without the cache), so that requests naming random
// ids cannot push live entries out. The number of entries is bounded; the
// least recently used go first.
type Cache struct {
	st    store.Store
	every time.Duration
	max   int
	now   func() time.Time

	mu   sync.Mutex
	envs map[string]*envState
	lru  *list.List // of *entry, most recently used first
}

// Options tune New.
type Options struct {
	// CheckEvery is how often an environment's version is compared with
	// the store's: how long another node's write may go unseen. Default
	// one second.
	CheckEvery time.Duration
	// MaxEntries bounds the entries kept over all environments. Default
	// 20,000.
	MaxEntries int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// New returns a cache over st and subscribes it to st's changes.
func New(st store.Store, o Options) *Cache {
	c := &Cache{st: st, every: o.CheckEvery, max: o.MaxEntries, now: o.Now, envs: map[string]*envState{}, lru: list.New()}
	if c.every <= 0 {
		c.every = time.Second
	}
	if c.max <= 0 {
		c.max = 20000
	}
	if c.now == nil {
		c.now = time.Now
	}
	st.WatchConfig(c.changed)
	return c
}

// kind names what an entry holds; with an id it keys the entry within its
// environment.
type kind uint8

const (
	kindEnvironment kind = iota
	kindApplication
	kindGrants
	kindAssignments
	kindPreviousSecret
	kindResources
	kindSignOnPolicies
	kindIdentityProvider
	kindProviderAttributes
)

type entryKey struct {
	kind kind
	id   string
}

// envState is what the cache knows of one environment.
type envState struct {
	id string
	// gen moves whenever the environment's entries are dropped; a load
	// installs its result only if gen did not move while it ran.
	gen uint64
	// version is the store's configuration version the entries reflect
	// at least; -1 until the first check.
	version   int64
	checkedAt time.Time
	// checking is closed when the running version check ends.
	checking chan struct{}
	entries  map[entryKey]*entry
}

// entry is a loaded value (elem set) or a load in progress (done open).
type entry struct {
	env  *envState
	key  entryKey
	elem *list.Element
	done chan struct{}
	val  any
	err  error
}

// Len is the number of entries kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Environment is the environment envID names; store.ErrNotFound when none.
func (c *Cache) Environment(ctx context.Context, envID string) (*Environment, error) {
	return get(ctx, c, envID, entryKey{kindEnvironment, ""}, func(ctx context.Context) (*Environment, error) {
		return decodeFound(DecodeEnvironment)(c.st.GetEnvironment(ctx, envID))
	})
}

// Application is an application of envID with its settings and sealed
// secret; store.ErrNotFound when envID has no such application.
func (c *Cache) Application(ctx context.Context, envID, appID string) (*Application, error) {
	return get(ctx, c, envID, entryKey{kindApplication, appID}, func(ctx context.Context) (*Application, error) {
		return decodeFound(DecodeApplication)(c.st.GetApplication(ctx, envID, appID))
	})
}

// ApplicationPreviousSecret is the secret an application had before its
// last rotation, nil when there is none. Its LastUsed is not kept fresh:
// recording a use is not a change of configuration.
func (c *Cache) ApplicationPreviousSecret(ctx context.Context, envID, appID string) (*store.PreviousSecret, error) {
	return get(ctx, c, envID, entryKey{kindPreviousSecret, appID}, func(ctx context.Context) (*store.PreviousSecret, error) {
		return c.st.GetApplicationPreviousSecret(ctx, envID, appID)
	})
}

// ApplicationGrants are an application's resource grants.
func (c *Cache) ApplicationGrants(ctx context.Context, envID, appID string) ([]store.ApplicationGrant, error) {
	return get(ctx, c, envID, entryKey{kindGrants, appID}, func(ctx context.Context) ([]store.ApplicationGrant, error) {
		return c.st.ListApplicationGrants(ctx, envID, appID)
	})
}

// SignOnPolicyAssignments are an application's sign-on policy
// assignments by ascending priority.
func (c *Cache) SignOnPolicyAssignments(ctx context.Context, envID, appID string) ([]store.SignOnPolicyAssignment, error) {
	return get(ctx, c, envID, entryKey{kindAssignments, appID}, func(ctx context.Context) ([]store.SignOnPolicyAssignment, error) {
		return c.st.ListSignOnPolicyAssignments(ctx, envID, appID)
	})
}

// Resources are envID's resources with their scopes and attribute
// mappings, the openid resource among them. A damaged resource or scope
// fails only the lookups of its resource.
func (c *Cache) Resources(ctx context.Context, envID string) (*Resources, error) {
	return get(ctx, c, envID, entryKey{kindResources, ""}, func(ctx context.Context) (*Resources, error) {
		rs, err1 := c.st.ListResources(ctx, envID)
		scopes, err2 := c.st.ListEnvironmentScopes(ctx, envID)
		attrs, err3 := c.st.ListEnvironmentResourceAttributes(ctx, envID)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		return newResources(rs, scopes, attrs), nil
	})
}

// SignOnPolicies are envID's sign-on policies with their actions. A
// damaged action fails only the lookup of its policy's actions.
func (c *Cache) SignOnPolicies(ctx context.Context, envID string) (*SignOnPolicies, error) {
	return get(ctx, c, envID, entryKey{kindSignOnPolicies, ""}, func(ctx context.Context) (*SignOnPolicies, error) {
		ps, err1 := c.st.ListSignOnPolicies(ctx, envID)
		acts, err2 := c.st.ListEnvironmentSignOnPolicyActions(ctx, envID)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return newSignOnPolicies(ps, acts), nil
	})
}

// IdentityProvider is a provider of envID with its settings and sealed
// client secret; store.ErrNotFound when envID has no such provider.
func (c *Cache) IdentityProvider(ctx context.Context, envID, id string) (*IdentityProvider, error) {
	return get(ctx, c, envID, entryKey{kindIdentityProvider, id}, func(ctx context.Context) (*IdentityProvider, error) {
		return decodeFound(DecodeIdentityProvider)(c.st.GetIdentityProvider(ctx, envID, id))
	})
}

// IdentityProviderAttributes are a provider's attribute mappings, by name.
func (c *Cache) IdentityProviderAttributes(ctx context.Context, envID, id string) ([]store.IdentityProviderAttribute, error) {
	return get(ctx, c, envID, entryKey{kindProviderAttributes, id}, func(ctx context.Context) ([]store.IdentityProviderAttribute, error) {
		return c.st.ListIdentityProviderAttributes(ctx, envID, id)
	})
}

// decodeFound decodes a record the store found, or passes its error on.
func decodeFound[R, V any](decode func(*R) (*V, error)) func(*R, error) (*V, error) {
	return func(rec *R, err error) (*V, error) {
		if err != nil {
			return nil, err
		}
		return decode(rec)
	}
}

// get serves one entry of envID, loading it on a miss.
func get[T any](ctx context.Context, c *Cache, envID string, key entryKey, load func(context.Context) (T, error)) (T, error) {
	v, err := c.entry(ctx, envID, key, func(ctx context.Context) (any, error) { return load(ctx) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

func (c *Cache) entry(ctx context.Context, envID string, key entryKey, load func(context.Context) (any, error)) (any, error) {
	es, err := c.checked(ctx, envID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e := es.entries[key]; e != nil {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			return e.val, e.err
		}
		c.mu.Unlock()
		select {
		case <-e.done:
			return e.val, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &entry{env: es, key: key, done: make(chan struct{})}
	es.entries[key] = e
	gen := es.gen
	c.mu.Unlock()

	// The load serves every caller waiting for it: one caller going away
	// must not fail the others.
	val, err := load(context.WithoutCancel(ctx))

	c.mu.Lock()
	e.val, e.err = val, err
	// Misses are not kept: ids anyone may send (a client_id at the token
	// endpoint) must not push live entries out of the bounded cache.
	keep := err == nil && es.gen == gen && c.envs[envID] == es
	switch {
	case keep:
		e.elem = c.lru.PushFront(e)
		c.evict()
	case es.entries[key] == e:
		delete(es.entries, key)
	}
	close(e.done)
	c.mu.Unlock()
	return val, err
}

// checked returns envID's state after comparing its version with the
// store's, when that was last done CheckEvery ago or more. Callers arriving
// during a check wait for it, so none uses entries older than CheckEvery.
func (c *Cache) checked(ctx context.Context, envID string) (*envState, error) {
	c.mu.Lock()
	for {
		es := c.envs[envID]
		if es == nil {
			es = &envState{id: envID, version: -1, entries: map[entryKey]*entry{}}
			c.envs[envID] = es
		}
		if ch := es.checking; ch != nil {
			c.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			c.mu.Lock()
			continue
		}
		started := c.now()
		if es.version >= 0 && started.Sub(es.checkedAt) < c.every {
			c.mu.Unlock()
			return es, nil
		}
		ch := make(chan struct{})
		es.checking = ch
		c.mu.Unlock()

		v, err := c.st.ConfigVersion(context.WithoutCancel(ctx), envID)

		c.mu.Lock()
		es.checking = nil
		close(ch)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Unknown or deleted: nothing of it is kept, not even that.
			c.drop(es)
			c.mu.Unlock()
			return nil, store.ErrNotFound
		case err != nil:
			if es.version < 0 && len(es.entries) == 0 && c.envs[envID] == es {
				delete(c.envs, envID)
			}
			c.mu.Unlock()
			return nil, err
		}
		// Versions only grow while an environment lives; a smaller one
		// was read before a write this node has already been told of.
		if v > es.version {
			c.invalidate(es)
			es.version = v
		}
		es.checkedAt = started
		c.mu.Unlock()
		return es, nil
	}
}

// changed hears the store's report of a committed write.
func (c *Cache) changed(ch store.ConfigChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.envs[ch.EnvironmentID]
	if es == nil {
		return
	}
	if ch.Deleted {
		c.drop(es)
		return
	}
	c.invalidate(es)
	// Every write before this one is visible to loads that start now, so
	// the entries they make reflect this version at least.
	if ch.Version > es.version {
		es.version = ch.Version
	}
}

// invalidate drops an environment's entries and moves its generation, so
// that loads in progress keep nothing. Callers hold c.mu.
func (c *Cache) invalidate(es *envState) {
	es.gen++
	for _, e := range es.entries {
		if e.elem != nil {
			c.lru.Remove(e.elem)
		}
	}
	es.entries = map[entryKey]*entry{}
}

// drop forgets an environment altogether. Callers hold c.mu.
func (c *Cache) drop(es *envState) {
	c.invalidate(es)
	if c.envs[es.id] == es {
		delete(c.envs, es.id)
	}
}

// evict removes the least recently used entries beyond the bound, and the
// state of an environment left without entries. Callers hold c.mu.
func (c *Cache) evict() {
	for c.lru.Len() > c.max {
		e := c.lru.Remove(c.lru.Back()).(*entry)
		es := e.env
		delete(es.entries, e.key)
		if len(es.entries) == 0 && es.checking == nil && c.envs[es.id] == es {
			delete(c.envs, es.id)
		}
	}
}
