package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// The cache runs on a real store. gated wraps it to hold an application
// load after it has read the row, so that a test can commit a write in
// that window.
type gated struct {
	*sqlstore.SQLStore
	gets atomic.Int64

	mu   sync.Mutex
	hold chan struct{} // non-nil: GetApplication waits for it after reading
	read chan struct{} // told when a held GetApplication has read
}

func (g *gated) GetApplication(ctx context.Context, envID, id string) (*store.Application, error) {
	g.gets.Add(1)
	a, err := g.SQLStore.GetApplication(ctx, envID, id)
	g.mu.Lock()
	hold, read := g.hold, g.read
	g.mu.Unlock()
	if hold != nil {
		read <- struct{}{}
		<-hold
	}
	return a, err
}

// holdLoads makes the next GetApplication calls wait until the returned
// function is called.
func (g *gated) holdLoads() (read <-chan struct{}, release func()) {
	hold, r := make(chan struct{}), make(chan struct{}, 64)
	g.mu.Lock()
	g.hold, g.read = hold, r
	g.mu.Unlock()
	return r, func() {
		g.mu.Lock()
		g.hold = nil
		g.mu.Unlock()
		close(hold)
	}
}

// clock is a test's time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st    *sqlstore.SQLStore
	g     *gated
	c     *Cache
	clock *clock
	env   *store.Environment
	app   *store.Application
}

func open(t *testing.T, dsn string) *sqlstore.SQLStore {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newFixture(t *testing.T, dsn string, o Options) *fixture {
	t.Helper()
	st := open(t, dsn)
	f := &fixture{st: st, g: &gated{SQLStore: st}, clock: &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	if o.Now == nil {
		o.Now = f.clock.Now
	}
	f.c = New(f.g, o)
	ctx := context.Background()
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "Org", Type: "TRIAL", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateOrganization(ctx, org))
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "L", Package: "TRIAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateLicense(ctx, lic))
	f.env = f.newEnv(t, org.ID, lic.ID)
	f.app = f.newApp(t, f.env.ID, "web")
	return f
}

func (f *fixture) newEnv(t *testing.T, orgID, licID string) *store.Environment {
	t.Helper()
	now := store.Now()
	e := &store.Environment{ID: uuid.NewString(), OrganizationID: orgID, Name: "Env " + uuid.NewString()[:8], Type: "SANDBOX", Region: "EU",
		LicenseID: licID, Status: "ACTIVE", Data: json.RawMessage(`{"branding":{"companyName":"Acme"}}`), CreatedAt: now, UpdatedAt: now}
	must(t, f.st.CreateEnvironment(context.Background(), e))
	return e
}

func (f *fixture) newApp(t *testing.T, envID, name string) *store.Application {
	t.Helper()
	now := store.Now()
	a := &store.Application{ID: uuid.NewString(), EnvironmentID: envID, Name: name, Protocol: "OPENID_CONNECT", Type: "WEB_APP", Enabled: true,
		TokenEndpointAuthMethod: "CLIENT_SECRET_BASIC", SecretSealed: []byte("sealed"),
		Data: json.RawMessage(`{"grantTypes":["AUTHORIZATION_CODE"],"redirectUris":["https://app.example/cb"]}`), CreatedAt: now, UpdatedAt: now}
	must(t, f.st.CreateApplication(context.Background(), a))
	return a
}

// queries counts the statements fn makes the store run.
func (f *fixture) queries(fn func()) int64 {
	q0 := f.st.Queries()
	fn()
	return f.st.Queries() - q0
}

func (f *fixture) mustApp(t *testing.T) *Application {
	t.Helper()
	a, err := f.c.Application(context.Background(), f.env.ID, f.app.ID)
	must(t, err)
	return a
}

// A second read of an entry costs nothing and is the same value.
func TestCacheHit(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t), Options{})
			var first *Application
			if n := f.queries(func() { first = f.mustApp(t) }); n != 2 {
				t.Errorf("cold read: %d queries, want 2 (the version check and the row)", n)
			}
			if first.Name != "web" || first.Settings.RedirectURIs[0] != "https://app.example/cb" || string(first.SecretSealed) != "sealed" {
				t.Errorf("Application = %+v", first)
			}
			var again *Application
			if n := f.queries(func() { again = f.mustApp(t) }); n != 0 {
				t.Errorf("warm read: %d queries, want 0", n)
			}
			if again != first {
				t.Errorf("warm read returned another value")
			}
			// Within CheckEvery, no version check either.
			f.clock.Add(time.Second - time.Millisecond)
			if n := f.queries(func() { f.mustApp(t) }); n != 0 {
				t.Errorf("read before CheckEvery: %d queries, want 0", n)
			}
			// After it, one check, and nothing to reload.
			f.clock.Add(time.Millisecond)
			if n := f.queries(func() { f.mustApp(t) }); n != 1 {
				t.Errorf("read after CheckEvery: %d queries, want 1 (the version check)", n)
			}
		})
	}
}

// Every kind is dropped at once, on this node, by a write through the
// store: no clock moves.
func TestCacheLocalInvalidation(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.DSN(t), Options{})
			ctx := context.Background()
			envID, appID := f.env.ID, f.app.ID
			now := store.Now()
			res := &store.Resource{ID: uuid.NewString(), EnvironmentID: envID, Name: "api", Type: "CUSTOM", Audience: "https://api.example",
				AccessTokenValiditySeconds: 60, CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateResource(ctx, res))
			pol := &store.SignOnPolicy{ID: uuid.NewString(), EnvironmentID: envID, Name: "Single_Factor", CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateSignOnPolicy(ctx, pol))
			idp := &store.IdentityProvider{ID: uuid.NewString(), EnvironmentID: envID, Name: "Corp", Type: "OPENID_CONNECT", Enabled: true,
				Data: json.RawMessage(`{"clientId":"rp"}`), CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateIdentityProvider(ctx, idp))
			theme := &store.Theme{ID: uuid.NewString(), EnvironmentID: envID, Template: "focus", Default: true,
				Data: json.RawMessage(`{"logoType":"NONE","backgroundType":"NONE","buttonColor":"#CB0020"}`), CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateTheme(ctx, theme))
			// Actors whose roles go with something else: a user deleted, an
			// environment their role was over deleted.
			pop := &store.Population{ID: uuid.NewString(), EnvironmentID: envID, Name: "Staff", CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreatePopulation(ctx, pop))
			user := &store.User{ID: uuid.NewString(), EnvironmentID: envID, PopulationID: pop.ID, Username: "helpdesk", Enabled: true,
				AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK", IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED",
				CreatedAt: now, UpdatedAt: now}
			must(t, f.st.CreateUser(ctx, user))
			other := f.newEnv(t, f.env.OrganizationID, f.env.LicenseID)
			worker := f.newApp(t, envID, "worker")
			role := func(actorType, actorID, scopeID string) *store.RoleAssignment {
				return &store.RoleAssignment{ID: uuid.NewString(), EnvironmentID: envID, ActorType: actorType, ActorID: actorID,
					RoleID: "role", ScopeType: "ENVIRONMENT", ScopeID: scopeID, CreatedAt: now}
			}
			must(t, f.st.CreateRoleAssignment(ctx, role("USER", user.ID, envID)))
			must(t, f.st.CreateRoleAssignment(ctx, role("APPLICATION", worker.ID, other.ID)))
			appRole := role("APPLICATION", appID, envID)

			cases := []struct {
				name  string
				read  func() (string, error)
				write func() error
				want  string // what read answers after write
			}{
				{"Environment", func() (string, error) {
					e, err := f.c.Environment(ctx, envID)
					return fmt.Sprint(e.Description, "|", e.Branding.CompanyName), err
				}, func() error {
					e := *f.env
					e.Description, e.Data = "changed", json.RawMessage(`{"branding":{"companyName":"Initech"}}`)
					return f.st.UpdateEnvironment(ctx, &e)
				}, "changed|Initech"},
				{"Application", func() (string, error) {
					a, err := f.c.Application(ctx, envID, appID)
					return fmt.Sprint(a.Enabled, a.Settings.RedirectURIs), err
				}, func() error {
					a := *f.app
					a.Enabled, a.Data = false, json.RawMessage(`{"redirectUris":[]}`)
					return f.st.UpdateApplication(ctx, &a)
				}, "false []"},
				{"ApplicationPreviousSecret", func() (string, error) {
					p, err := f.c.ApplicationPreviousSecret(ctx, envID, appID)
					if p == nil {
						return "none", err
					}
					return string(p.Sealed), err
				}, func() error {
					return f.st.RotateApplicationSecret(ctx, envID, appID, []byte("second"), time.Now().Add(time.Hour))
				}, "sealed"},
				{"ApplicationGrants", func() (string, error) { return counted(f.c.ApplicationGrants(ctx, envID, appID)) }, func() error {
					return f.st.CreateApplicationGrant(ctx, &store.ApplicationGrant{ID: uuid.NewString(), EnvironmentID: envID, ApplicationID: appID,
						ResourceID: res.ID, CreatedAt: now, UpdatedAt: now})
				}, "1"},
				{"SignOnPolicyAssignments", func() (string, error) { return counted(f.c.SignOnPolicyAssignments(ctx, envID, appID)) }, func() error {
					return f.st.CreateSignOnPolicyAssignment(ctx, &store.SignOnPolicyAssignment{ID: uuid.NewString(), EnvironmentID: envID, ApplicationID: appID,
						SignOnPolicyID: pol.ID, Priority: 1, CreatedAt: now, UpdatedAt: now})
				}, "1"},
				{"Resources", func() (string, error) {
					c, err := f.c.Resources(ctx, envID)
					if err != nil {
						return "", err
					}
					scopes, err1 := c.Scopes(res.ID)
					attrs, err2 := c.Mappings(res.ID)
					return fmt.Sprint(len(scopes), len(attrs)), errors.Join(err1, err2)
				}, func() error {
					return f.st.Tx(ctx, func(tx store.Store) error {
						if err := tx.CreateScope(ctx, &store.Scope{ID: uuid.NewString(), EnvironmentID: envID, ResourceID: res.ID, Name: "read",
							Data: json.RawMessage(`{"schemaAttributes":["email"]}`), CreatedAt: now, UpdatedAt: now}); err != nil {
							return err
						}
						return tx.CreateResourceAttribute(ctx, &store.ResourceAttribute{ID: uuid.NewString(), EnvironmentID: envID, ResourceID: res.ID,
							Name: "tenant", Value: "${user.id}", Type: "CUSTOM", CreatedAt: now, UpdatedAt: now})
					})
				}, "1 1"},
				{"SignOnPolicies", func() (string, error) {
					p, err := f.c.SignOnPolicies(ctx, envID)
					if err != nil {
						return "", err
					}
					def := "none"
					if p.Default() != nil {
						def = p.Default().Name
					}
					acts, err := p.Actions(pol.ID)
					return fmt.Sprint(def, len(acts)), err
				}, func() error {
					p := *pol
					p.Default = true
					if err := f.st.UpdateSignOnPolicy(ctx, &p); err != nil {
						return err
					}
					return f.st.CreateSignOnPolicyAction(ctx, &store.SignOnPolicyAction{ID: uuid.NewString(), EnvironmentID: envID, SignOnPolicyID: pol.ID,
						Type: "LOGIN", Priority: 1, Data: json.RawMessage(`{"recovery":{"enabled":true}}`), CreatedAt: now, UpdatedAt: now})
				}, "Single_Factor1"},
				{"IdentityProvider", func() (string, error) {
					p, err := f.c.IdentityProvider(ctx, envID, idp.ID)
					return fmt.Sprintf("%v %s", p.Enabled, p.Settings.ClientID), err
				}, func() error {
					p := *idp
					p.Enabled, p.Data = false, json.RawMessage(`{"clientId":"rp2"}`)
					return f.st.UpdateIdentityProvider(ctx, &p)
				}, "false rp2"},
				{"IdentityProviderAttributes", func() (string, error) { return counted(f.c.IdentityProviderAttributes(ctx, envID, idp.ID)) }, func() error {
					return f.st.CreateIdentityProviderAttribute(ctx, &store.IdentityProviderAttribute{ID: uuid.NewString(), EnvironmentID: envID,
						IdentityProviderID: idp.ID, Name: "email", Value: "${providerAttributes.email}", Update: "EMPTY_ONLY", MappingType: "CUSTOM",
						CreatedAt: now, UpdatedAt: now})
				}, "1"},
				{"DefaultTheme", func() (string, error) {
					th, err := f.c.DefaultTheme(ctx, envID)
					return fmt.Sprint(th.Template, " ", th.Settings.ButtonColor, " ", th.Look.Button), err
				}, func() error {
					x := *theme
					x.Template, x.Data = "slate", json.RawMessage(`{"logoType":"NONE","backgroundType":"NONE","buttonColor":"#4A4A4A"}`)
					return f.st.UpdateTheme(ctx, &x)
				}, "slate #4A4A4A #4a4a4a"},
				{"RoleAssignments created", func() (string, error) { return counted(f.c.RoleAssignments(ctx, envID, appID)) }, func() error {
					return f.st.CreateRoleAssignment(ctx, appRole)
				}, "1"},
				{"RoleAssignments deleted", func() (string, error) { return counted(f.c.RoleAssignments(ctx, envID, appID)) }, func() error {
					return f.st.DeleteRoleAssignment(ctx, envID, appID, appRole.ID)
				}, "0"},
				{"RoleAssignments of a deleted user", func() (string, error) { return counted(f.c.RoleAssignments(ctx, envID, user.ID)) }, func() error {
					return f.st.DeleteUser(ctx, envID, user.ID)
				}, "0"},
				{"RoleAssignments over a deleted environment", func() (string, error) { return counted(f.c.RoleAssignments(ctx, envID, worker.ID)) }, func() error {
					return f.st.DeleteEnvironment(ctx, other.ID)
				}, "0"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before, err := tc.read()
					must(t, err)
					if n := f.queries(func() { tc.read() }); n != 0 {
						t.Errorf("warm read: %d queries, want 0", n)
					}
					must(t, tc.write())
					got, err := tc.read()
					must(t, err)
					if got != tc.want {
						t.Errorf("after the write: %q (before %q), want %q", got, before, tc.want)
					}
				})
			}
		})
	}
}

// counted is how many items a read returned.
func counted[T any](items []T, err error) (string, error) { return fmt.Sprint(len(items)), err }

// Another node's write (a second store on the same database) is seen once
// CheckEvery has passed, and on SQLite not before (on PostgreSQL the
// writer's notification may bring it sooner: CheckEvery is the bound); a
// deleted environment is gone.
func TestCacheOtherNode(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			f := newFixture(t, dsn, Options{})
			other := open(t, dsn)
			ctx := context.Background()
			if !f.mustApp(t).Enabled {
				t.Fatal("application disabled from the start")
			}
			a := *f.app
			a.Enabled = false
			must(t, other.UpdateApplication(ctx, &a))
			f.clock.Add(time.Second / 2)
			if !f.mustApp(t).Enabled && b.Name == "sqlite" {
				t.Errorf("another node's write seen before CheckEvery, with no notification to bring it")
			}
			f.clock.Add(time.Second / 2)
			if f.mustApp(t).Enabled {
				t.Errorf("another node's write unseen after CheckEvery")
			}

			must(t, other.DeleteEnvironment(ctx, f.env.ID))
			f.clock.Add(time.Second)
			if _, err := f.c.Application(ctx, f.env.ID, f.app.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("application of a deleted environment: err = %v, want ErrNotFound", err)
			}
			if _, err := f.c.Environment(ctx, f.env.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleted environment: err = %v, want ErrNotFound", err)
			}
			f.c.mu.Lock()
			n := len(f.c.envs)
			f.c.mu.Unlock()
			if n != 0 || f.c.Len() != 0 {
				t.Errorf("a deleted environment left %d states and %d entries", n, f.c.Len())
			}
		})
	}
}

// A load that read the row before a write committed hands its (older)
// value to its caller but never keeps it: the next read loads again.
func TestCacheGenerationRace(t *testing.T) {
	dsn := sqltest.SQLite(t)
	f := newFixture(t, dsn, Options{})
	node2 := open(t, dsn) // another node: this cache hears nothing from it
	ctx := context.Background()
	flip := func(t *testing.T, st store.Store, a *store.Application) {
		a.Enabled = !a.Enabled
		must(t, st.UpdateApplication(ctx, a))
	}
	cases := []struct {
		name  string
		write func(t *testing.T, a *store.Application)
	}{
		{"LocalWrite", func(t *testing.T, a *store.Application) { flip(t, f.st, a) }},
		{"VersionCheck", func(t *testing.T, a *store.Application) {
			// Another node's write, noticed by a version check that runs
			// while the load is held.
			flip(t, node2, a)
			f.clock.Add(time.Second)
			_, err := f.c.Environment(ctx, f.env.ID)
			must(t, err)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := f.newApp(t, f.env.ID, tc.name)
			f.clock.Add(time.Second)
			_, err := f.c.Environment(ctx, f.env.ID) // checked: the load below starts at once
			must(t, err)
			read, release := f.g.holdLoads()
			done := make(chan *Application)
			go func() {
				a, err := f.c.Application(ctx, f.env.ID, app.ID)
				if err != nil {
					t.Error(err)
				}
				done <- a
			}()
			<-read // the load has read the row as it was
			tc.write(t, app)
			release()
			if stale := <-done; stale == nil || stale.Enabled == app.Enabled {
				t.Fatalf("the held load read the write: the test proves nothing")
			}
			gets := f.g.gets.Load()
			got, err := f.c.Application(ctx, f.env.ID, app.ID)
			must(t, err)
			if got.Enabled != app.Enabled {
				t.Errorf("after the race: Enabled = %v, want %v (a stale load was kept)", got.Enabled, app.Enabled)
			}
			if f.g.gets.Load() != gets+1 {
				t.Errorf("the read after the race did not load again")
			}
		})
	}
}

// Concurrent misses of one entry share one load.
func TestCacheSingleLoad(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), Options{})
	ctx := context.Background()
	_, err := f.c.Environment(ctx, f.env.ID) // the version check, out of the way
	must(t, err)
	read, release := f.g.holdLoads()
	const n = 8
	got := make(chan *Application, n)
	go func() {
		a, _ := f.c.Application(ctx, f.env.ID, f.app.ID)
		got <- a
	}()
	<-read
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := f.c.Application(ctx, f.env.ID, f.app.ID)
			got <- a
		}()
	}
	// The others find the load in progress and wait for it (one that comes
	// late finds its result kept: either way, nothing loads twice).
	time.Sleep(20 * time.Millisecond)
	release()
	wg.Wait()
	first := <-got
	for range n - 1 {
		if a := <-got; a != first {
			t.Errorf("callers got different values")
		}
	}
	if g := f.g.gets.Load(); g != 1 {
		t.Errorf("%d loads for %d concurrent misses, want 1", g, n)
	}
}

// The cache keeps at most MaxEntries, dropping the least recently used,
// and forgets environments left without entries.
func TestCacheBounded(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), Options{MaxEntries: 3})
	ctx := context.Background()
	apps := []*store.Application{f.app}
	for i := range 4 {
		apps = append(apps, f.newApp(t, f.env.ID, fmt.Sprint("app", i)))
	}
	for _, a := range apps {
		_, err := f.c.Application(ctx, f.env.ID, a.ID)
		must(t, err)
	}
	if n := f.c.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	// The last three are kept; the first was evicted.
	for _, a := range apps[2:] {
		if n := f.queries(func() { f.c.Application(ctx, f.env.ID, a.ID) }); n != 0 {
			t.Errorf("recent entry reloaded (%d queries)", n)
		}
	}
	if n := f.queries(func() { f.c.Application(ctx, f.env.ID, apps[0].ID) }); n != 1 {
		t.Errorf("evicted entry: %d queries, want 1", n)
	}

	// Many environments: states go with their last entry.
	for range 10 {
		e := f.newEnv(t, f.env.OrganizationID, f.env.LicenseID)
		_, err := f.c.Environment(ctx, e.ID)
		must(t, err)
	}
	f.c.mu.Lock()
	envs, entries := len(f.c.envs), f.c.lru.Len()
	f.c.mu.Unlock()
	if entries != 3 || envs > 3 {
		t.Errorf("after 10 more environments: %d entries over %d environment states, want 3 over at most 3", entries, envs)
	}
}

// Misses are not kept: an unknown id costs a query each time, and an
// unknown environment leaves no state behind; a damaged row is an error
// that is not kept.
func TestCacheMisses(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), Options{})
	ctx := context.Background()
	ghost := uuid.NewString()
	if _, err := f.c.Application(ctx, f.env.ID, ghost); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown application: %v", err)
	}
	// Not kept: random ids must not fill the cache.
	if n := f.queries(func() { f.c.Application(ctx, f.env.ID, ghost) }); n != 1 {
		t.Errorf("unknown application again: %d queries, want 1", n)
	}
	now := store.Now()
	must(t, f.st.CreateApplication(ctx, &store.Application{ID: ghost, EnvironmentID: f.env.ID, Name: "late", Protocol: "OPENID_CONNECT",
		Type: "WEB_APP", Enabled: true, CreatedAt: now, UpdatedAt: now}))
	if a, err := f.c.Application(ctx, f.env.ID, ghost); err != nil || a.Name != "late" {
		t.Errorf("application created after a miss: %v, %v", a, err)
	}

	for range 2 {
		if _, err := f.c.Environment(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown environment: %v", err)
		}
	}
	f.c.mu.Lock()
	envs := len(f.c.envs)
	f.c.mu.Unlock()
	if envs != 1 {
		t.Errorf("%d environment states, want only the fixture's", envs)
	}

	bad := f.newApp(t, f.env.ID, "bad")
	bad.Data = json.RawMessage(`{"redirectUris":"https://app.example/cb"}`)
	must(t, f.st.UpdateApplication(ctx, bad))
	for range 2 {
		if n := f.queries(func() {
			if _, err := f.c.Application(ctx, f.env.ID, bad.ID); !errors.Is(err, ErrDamaged) {
				t.Errorf("damaged application: err = %v, want ErrDamaged", err)
			}
		}); n != 1 {
			t.Errorf("damaged application: %d queries, want 1 (not kept)", n)
		}
	}
}

// A caller that gives up does not fail the load others wait for.
func TestCacheCancelledCaller(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), Options{})
	_, err := f.c.Environment(context.Background(), f.env.ID)
	must(t, err)
	read, release := f.g.holdLoads()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := f.c.Application(ctx, f.env.ID, f.app.ID)
		errc <- err
	}()
	<-read
	cancel()
	release()
	if err := <-errc; err != nil {
		t.Errorf("the loading caller: %v", err)
	}
	if n := f.queries(func() { f.mustApp(t) }); n != 0 {
		t.Errorf("after a cancelled caller's load: %d queries, want 0 (kept)", n)
	}
}

// panicking panics once, when armed, in an application load (after it
// read the row, so that others can wait for it) or in a version check.
type panicking struct {
	*gated
	load, check atomic.Bool
}

func (p *panicking) GetApplication(ctx context.Context, envID, id string) (*store.Application, error) {
	a, err := p.gated.GetApplication(ctx, envID, id)
	if p.load.CompareAndSwap(true, false) {
		panic("boom")
	}
	return a, err
}

func (p *panicking) ConfigVersion(ctx context.Context, envID string) (int64, error) {
	if p.check.CompareAndSwap(true, false) {
		panic("boom")
	}
	return p.gated.ConfigVersion(ctx, envID)
}

// A load or a version check that panics passes the panic to its caller
// and leaves nothing behind: callers waiting for it are answered, later
// callers load afresh, instead of waiting until their context ends.
func TestCachePanic(t *testing.T) {
	for _, what := range []string{"load", "check"} {
		t.Run(what, func(t *testing.T) {
			f := newFixture(t, sqltest.SQLite(t), Options{})
			p := &panicking{gated: f.g}
			c := New(p, Options{Now: f.clock.Now})
			ctx := context.Background()
			if what == "load" {
				_, err := c.Environment(ctx, f.env.ID) // the version check, out of the way
				must(t, err)
				p.load.Store(true)
			} else {
				p.check.Store(true)
			}
			read, release := f.g.holdLoads()
			panicked := make(chan any)
			go func() {
				defer func() { panicked <- recover() }()
				c.Application(ctx, f.env.ID, f.app.ID)
			}()
			waiting := make(chan error)
			if what == "load" {
				<-read
				go func() {
					wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					_, err := c.Application(wctx, f.env.ID, f.app.ID)
					waiting <- err
				}()
				time.Sleep(20 * time.Millisecond) // the second caller waits for the load
			}
			release()
			if v := <-panicked; v != "boom" {
				t.Fatalf("the caller whose %s panicked recovered %v, want the panic", what, v)
			}
			if what == "load" {
				if err := <-waiting; !errors.Is(err, errPanicked) {
					t.Errorf("a caller waiting for the load that panicked: %v, want errPanicked", err)
				}
			}
			later, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if a, err := c.Application(later, f.env.ID, f.app.ID); err != nil || a.ID != f.app.ID {
				t.Errorf("a caller after the panic: %v, %v", a, err)
			}
			c.mu.Lock()
			checking := c.envs[f.env.ID] != nil && c.envs[f.env.ID].checking != nil
			c.mu.Unlock()
			if checking {
				t.Errorf("a version check is still running")
			}
		})
	}
}

// States of environments the cache holds no entries of (written since
// they were loaded, or asked only for records they lack) are bounded:
// however many environments are named, at most twice MaxEntries states
// are kept.
func TestCacheStatesBounded(t *testing.T) {
	const most = 3
	ctx := context.Background()
	cases := []struct {
		name string
		// leave makes e's state hold no entries.
		leave func(t *testing.T, f *fixture, e *store.Environment)
	}{
		{"LocalWrite", func(t *testing.T, f *fixture, e *store.Environment) {
			_, err := f.c.Environment(ctx, e.ID)
			must(t, err)
			x := *e
			x.Description, x.UpdatedAt = "changed", store.Now()
			must(t, f.st.UpdateEnvironment(ctx, &x))
		}},
		{"OnlyMisses", func(t *testing.T, f *fixture, e *store.Environment) {
			if _, err := f.c.Application(ctx, e.ID, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown application: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sqltest.SQLite(t), Options{MaxEntries: most})
			for i := range 20 {
				tc.leave(t, f, f.newEnv(t, f.env.OrganizationID, f.env.LicenseID))
				f.c.mu.Lock()
				n := len(f.c.envs)
				f.c.mu.Unlock()
				if n > 2*most {
					t.Fatalf("after %d environments: %d states, want at most %d", i+1, n, 2*most)
				}
			}
		})
	}
}
