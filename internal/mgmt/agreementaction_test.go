package mgmt_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// actionAgreement makes an enabled agreement in envID for an AGREEMENT
// sign-on policy action to name: its id.
func actionAgreement(t *testing.T, s *apptest.Server, envID string) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := &store.Agreement{ID: uuid.NewString(), EnvironmentID: envID, Name: "Terms " + uuid.NewString()[:8], Enabled: true,
		Data: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateAgreement(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}
