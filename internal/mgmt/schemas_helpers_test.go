package mgmt_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// defineAttributes adds enabled custom attributes of type typ to envID's
// user schema through the store: tests that are not about the schema, and
// more of them than an environment may create through the API.
func defineAttributes(t testing.TB, s *apptest.Server, envID, typ string, multi bool, names ...string) {
	t.Helper()
	now := store.Now()
	for _, n := range names {
		data, _ := json.Marshal(wire.SchemaAttributeRules{Type: typ, Enabled: true, MultiValued: multi})
		if err := s.Store.CreateSchemaAttribute(context.Background(), &store.SchemaAttribute{ID: uuid.NewString(), EnvironmentID: envID,
			Name: n, SchemaType: wire.SchemaCustom, Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}
