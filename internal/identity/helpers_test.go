package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func detailString(d *wire.Detail) string {
	if d == nil {
		return "<nil>"
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func sameDetail(a, b *wire.Detail) bool {
	return reflect.DeepEqual(a, b)
}

// wantDetails checks that err is INVALID_DATA with exactly these details,
// each "CODE target", in order.
func wantDetails(t *testing.T, err error, want ...string) []wire.Detail {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeInvalidData {
		t.Fatalf("error %v, want INVALID_DATA %v", err, want)
	}
	got := make([]string, len(we.Details))
	for i, d := range we.Details {
		got[i] = d.Code + " " + d.Target
	}
	if !slices.Equal(got, want) {
		t.Errorf("details %v, want %v", got, want)
	}
	return we.Details
}

// world is a running Gatehouse's store with two environments: env, made
// as an administrator would (with its default population) plus another
// population, and bare, a bare record without any population.
type world struct {
	st                store.Store
	env, bare         string
	defaultPop, other string
}

// eachBackend runs fn on a world of each backend, in parallel.
func eachBackend(t *testing.T, fn func(t *testing.T, ctx context.Context, w *world)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			ctx := context.Background()
			now := store.Now()
			w := &world{st: s.Store, env: fx.EnvID, defaultPop: fx.PopulationID}
			other := &store.Population{ID: uuid.NewString(), EnvironmentID: w.env, Name: "Other", CreatedAt: now, UpdatedAt: now}
			bare := &store.Environment{ID: uuid.NewString(), OrganizationID: s.OrganizationID(t), Name: "Bare", Type: "SANDBOX", Region: "NA",
				LicenseID: s.LicenseID(t), Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
			if err := errors.Join(w.st.CreatePopulation(ctx, other), w.st.CreateEnvironment(ctx, bare)); err != nil {
				t.Fatal(err)
			}
			w.other, w.bare = other.ID, bare.ID
			fn(t, ctx, w)
		})
	}
}

// noSchema is a store whose environments changed nothing of PingOne's user
// schema, and that holds nothing else.
type noSchema struct{ store.Store }

func (noSchema) ListSchemaAttributes(context.Context, string) ([]store.SchemaAttribute, error) {
	return nil, nil
}

// defineCustom adds custom attributes of type typ to envID's user schema,
// enabled, as the management API would.
func defineCustom(t *testing.T, ctx context.Context, st store.Store, envID, typ string, multi bool, names ...string) {
	t.Helper()
	now := store.Now()
	for _, n := range names {
		data, _ := json.Marshal(wire.SchemaAttributeRules{Type: typ, Enabled: true, MultiValued: multi})
		if err := st.CreateSchemaAttribute(ctx, &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: envID, Name: n,
			SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}
