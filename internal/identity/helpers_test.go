package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
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

// world is a store with two environments: env, with a default
// population and another one, and bare, which has no population at all.
type world struct {
	st                store.Store
	env, bare         string
	defaultPop, other string
}

func newWorld(t *testing.T, b sqltest.Backend) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, b.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "o", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "l", Package: "TRIAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	w := &world{st: st}
	envs := make([]*store.Environment, 2)
	for i := range envs {
		envs[i] = &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: fmt.Sprint("e", i), Type: "SANDBOX", Region: "NA",
			LicenseID: lic.ID, Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	}
	w.env, w.bare = envs[0].ID, envs[1].ID
	def := &store.Population{ID: uuid.NewString(), EnvironmentID: w.env, Name: "Default", Default: true, CreatedAt: now, UpdatedAt: now}
	other := &store.Population{ID: uuid.NewString(), EnvironmentID: w.env, Name: "Other", CreatedAt: now, UpdatedAt: now}
	w.defaultPop, w.other = def.ID, other.ID
	for _, err := range []error{st.CreateOrganization(ctx, org), st.CreateLicense(ctx, lic), st.CreateEnvironment(ctx, envs[0]),
		st.CreateEnvironment(ctx, envs[1]), st.CreatePopulation(ctx, def), st.CreatePopulation(ctx, other)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}
