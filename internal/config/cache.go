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
// misses of one entry share one load.
//
// A record the store does not have (an environment, application, previous
// secret, identity provider or default theme) is not remembered: it
// costs a query each time, as without the cache, so that requests naming
// random ids cannot push live entries out. A list of a parent the store
// does not have (an application's grants or policy assignments or role
// assignments, a provider's attribute mappings) is an empty list and is
// kept like any other: callers ask for lists only of a parent they found. The number of
// entries is bounded, the least recently used going first; so is the
// number of states of environments holding no entries (see sweep).
type Cache struct {
	st    store.Store
	every time.Duration
	max   int
	now   func() time.Time

	mu sync.Mutex
	// envs are the environments the cache knows, holding entries or not.
	envs map[string]*envState
	lru  *list.List // of *entry, most recently used first
}

// errPanicked answers the callers that waited for a load that panicked:
// the panic itself goes to the caller that ran the load.
var errPanicked = errors.New("config: the load panicked")

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
	kindDefaultTheme
	kindRoleAssignments
	kindDevicePaths
	kindAppAttributes
	kindPhoneDelivery
	kindTemplateContents
	kindDeviceAuthPolicies
	kindMFASettings
	kindFIDO2Policies
	kindUserSchema
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

// Version is envID's configuration version as this node knows it: the
// store's, read at most CheckEvery ago, or a later one a write reported.
// store.ErrNotFound when there is no such environment. Caches kept beside
// this one (the signing keys) compare it with the version they loaded at.
func (c *Cache) Version(ctx context.Context, envID string) (int64, error) {
	es, err := c.checked(ctx, envID)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return es.version, nil
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

// DevicePaths maps the devicePathId of envID's applications to their
// ids: the device verification page at /{envId}/device/{devicePathId}
// names an application by it. A damaged application is left out.
func (c *Cache) DevicePaths(ctx context.Context, envID string) (map[string]string, error) {
	return get(ctx, c, envID, entryKey{kindDevicePaths, ""}, func(ctx context.Context) (map[string]string, error) {
		apps, err := c.st.ListApplications(ctx, envID)
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for i := range apps {
			if a, err := DecodeApplication(&apps[i]); err == nil && a.Settings.DevicePathID != "" {
				out[a.Settings.DevicePathID] = a.ID
			}
		}
		return out, nil
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

// ApplicationAttributes are an application's attribute mappings by name,
// their expressions compiled.
func (c *Cache) ApplicationAttributes(ctx context.Context, envID, appID string) ([]ApplicationMapping, error) {
	return get(ctx, c, envID, entryKey{kindAppAttributes, appID}, func(ctx context.Context) ([]ApplicationMapping, error) {
		attrs, err := c.st.ListApplicationAttributes(ctx, envID, appID)
		if err != nil {
			return nil, err
		}
		out := make([]ApplicationMapping, len(attrs))
		for i := range attrs {
			out[i] = ApplicationMapping{ApplicationAttribute: attrs[i], Expr: compiled(attrs[i].Value)}
		}
		return out, nil
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

// DefaultTheme is envID's default branding theme; store.ErrNotFound when
// it has none.
func (c *Cache) DefaultTheme(ctx context.Context, envID string) (*Theme, error) {
	return get(ctx, c, envID, entryKey{kindDefaultTheme, ""}, func(ctx context.Context) (*Theme, error) {
		return decodeFound(DecodeTheme)(c.st.GetDefaultTheme(ctx, envID))
	})
}

// RoleAssignments are the roles an actor of envID holds (a WORKER
// application acting on the management API), as the store lists them.
func (c *Cache) RoleAssignments(ctx context.Context, envID, actorID string) ([]store.RoleAssignment, error) {
	return get(ctx, c, envID, entryKey{kindRoleAssignments, actorID}, func(ctx context.Context) ([]store.RoleAssignment, error) {
		return c.st.ListRoleAssignments(ctx, envID, actorID)
	})
}

// PhoneDeliverySettings are envID's phone delivery settings, oldest
// first, as the store lists them (credentials still sealed).
func (c *Cache) PhoneDeliverySettings(ctx context.Context, envID string) ([]store.PhoneDeliverySettings, error) {
	return get(ctx, c, envID, entryKey{kindPhoneDelivery, ""}, func(ctx context.Context) ([]store.PhoneDeliverySettings, error) {
		return c.st.ListPhoneDeliverySettings(ctx, envID)
	})
}

// TemplateContents are the contents administrators made for template in
// envID, as the store lists them.
func (c *Cache) TemplateContents(ctx context.Context, envID, template string) ([]store.TemplateContent, error) {
	return get(ctx, c, envID, entryKey{kindTemplateContents, template}, func(ctx context.Context) ([]store.TemplateContent, error) {
		return c.st.ListTemplateContents(ctx, envID, template)
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

	var val any
	err = errPanicked
	c.settle(func() {
		// The load serves every caller waiting for it: one caller going
		// away must not fail the others.
		val, err = load(context.WithoutCancel(ctx))
	}, func() {
		e.val, e.err = val, err
		// Misses are not kept: ids anyone may send (a client_id at the
		// token endpoint) must not push live entries out of the bounded
		// cache.
		keep := err == nil && es.gen == gen && c.envs[envID] == es
		switch {
		case keep:
			e.elem = c.lru.PushFront(e)
			c.evict()
		case es.entries[key] == e:
			delete(es.entries, key)
		}
		close(e.done)
	})
	return val, err
}

// settle runs fn, then end under c.mu, even when fn panics (the panic goes
// on once end has run): end lets the callers waiting for fn's result go
// on, and skipping it would hold each of them, and every later caller of
// the same entry or environment, until their own context ends.
func (c *Cache) settle(fn, end func()) {
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		end()
	}()
	fn()
}

// checked returns envID's state after comparing its version with the
// store's, when that was last done CheckEvery ago or more. Callers arriving
// during a check wait for it, so none uses entries older than CheckEvery.
func (c *Cache) checked(ctx context.Context, envID string) (*envState, error) {
	c.mu.Lock()
	for {
		es := c.envs[envID]
		if es == nil {
			c.sweep()
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

		var v int64
		err := errPanicked
		c.settle(func() { v, err = c.st.ConfigVersion(context.WithoutCancel(ctx), envID) }, func() {
			es.checking = nil
			close(ch)
			err = c.checkedVersion(es, v, err, started)
		})
		if err != nil {
			return nil, err
		}
		return es, nil
	}
}

// checkedVersion takes in the outcome of es's version check, started at
// started. Callers hold c.mu.
func (c *Cache) checkedVersion(es *envState, v int64, err error, started time.Time) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Unknown or deleted: nothing of it is kept, not even that.
		c.drop(es)
		return store.ErrNotFound
	case err != nil:
		if es.version < 0 && len(es.entries) == 0 && c.envs[es.id] == es {
			delete(c.envs, es.id)
		}
		return err
	}
	// Versions only grow while an environment lives; a smaller one was
	// read before a write this node has already been told of.
	if v > es.version {
		c.invalidate(es)
		es.version = v
	}
	es.checkedAt = started
	return nil
}

// changed hears the store's report of a committed write. The state of a
// written environment stays, without entries, so that the next request
// need not check the version again; sweep bounds such states.
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

// sweep forgets the states that hold no entries (environments written
// since their entries were loaded, or asked only for records they lack,
// misses not being kept) once there are twice as many states as entries
// may be kept. A state is small, but one for every environment ever named
// must not pile up; sweeping only at twice the bound keeps its cost, a
// pass over the states, rare. Callers hold c.mu.
func (c *Cache) sweep() {
	if len(c.envs) < 2*c.max {
		return
	}
	for id, es := range c.envs {
		if len(es.entries) == 0 && es.checking == nil {
			delete(c.envs, id)
		}
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
