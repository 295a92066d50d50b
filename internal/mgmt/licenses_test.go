package mgmt_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestLicensesCountEnvironments: every license answers how many of the
// organization's environments use it, and a list of licenses costs the
// same number of store queries however many licenses it holds (the counts
// come from one query, not one per license).
func TestLicensesCountEnvironments(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// No audit log: the writes it holds would land among the
			// statements counted.
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t), Audit: audit.Options{Disabled: true}})
			tok := s.AdminToken(t)
			org := s.OrganizationID(t)
			list := apptest.Request{Method: http.MethodGet, URL: "/organizations/" + org + "/licenses", Token: tok}
			queries := func() int64 {
				before := s.Queries()
				must(t, doNo5xx(t, s, list), http.StatusOK)
				return s.Queries() - before
			}
			addLicense := func(name string) string {
				l := &store.License{ID: uuid.NewString(), OrganizationID: org, Name: name, Package: "TRIAL", Status: "ACTIVE",
					CreatedAt: store.Now(), UpdatedAt: store.Now()}
				if err := s.Store.CreateLicense(ctx, l); err != nil {
					t.Fatal(err)
				}
				return l.ID
			}
			want := map[string]float64{s.LicenseID(t): 1} // the administrators' environment
			queries()                                     // the first request loads the actor into the configuration cache
			// Both counts follow a write: on SQLite the token's liveness
			// read is remembered until the next one.
			second := addLicense("Second")
			want[second] = 0
			one := queries()
			for i := range 5 {
				want[addLicense(fmt.Sprintf("More %d", i))] = 0
			}
			if many := queries(); many != one {
				t.Errorf("listing 7 licenses ran %d store queries, 2 licenses %d: one query per license", many, one)
			}
			for range 2 {
				must(t, doNo5xx(t, s, apptest.Request{Method: http.MethodPost, URL: "/environments", Token: tok,
					Body: map[string]any{"name": "On second " + uuid.NewString()[:8], "type": "SANDBOX", "region": "NA",
						"license": map[string]any{"id": second}}}), http.StatusCreated)
			}
			want[second] = 2
			got := must(t, doNo5xx(t, s, list), http.StatusOK)
			items, _ := get(got, "_embedded.licenses").([]any)
			if len(items) != len(want) {
				t.Fatalf("%d licenses listed, want %d", len(items), len(want))
			}
			for _, it := range items {
				l := it.(map[string]any)
				if n := l["assignedEnvironmentsCount"]; n != want[l["id"].(string)] {
					t.Errorf("license %v: assignedEnvironmentsCount %v, want %v", l["name"], n, want[l["id"].(string)])
				}
				one := must(t, doNo5xx(t, s, apptest.Request{Method: http.MethodGet, URL: "/organizations/" + org + "/licenses/" + l["id"].(string),
					Token: tok}), http.StatusOK)
				if one["assignedEnvironmentsCount"] != want[l["id"].(string)] {
					t.Errorf("license %v read alone: assignedEnvironmentsCount %v, want %v", l["name"], one["assignedEnvironmentsCount"], want[l["id"].(string)])
				}
			}
		})
	}
}
