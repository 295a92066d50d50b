package fido_test

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/fido"
	"github.com/gatehouse-id/gatehouse/internal/fido/fidotest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BenchmarkFinishAssertion is Service.FinishAssertion alone: the answer
// parsed and checked, the device read and locked, the ES256 signature
// verified by go-webauthn and the new counter written, in one
// transaction. "user" answers a ceremony of a known user (a second
// factor, or after user.lookup); "discoverable" one without a username.
// The ceremonies and the authenticator's answers are made before the
// timer starts, in order, since each answer must advance the counter.
//
//	go test -run '^$' -bench FinishAssertion -benchtime=20x ./internal/fido/
func BenchmarkFinishAssertion(b *testing.B) {
	for _, be := range apptest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			f := setup(b, be.DSN(b))
			a := &fidotest.Authenticator{}
			flags := fidotest.Flags{UV: true, BE: true, BS: true}
			pol := &fido.Policy{ResidentKey: fido.Required, UserVerification: fido.Required, BackupAllowed: true}
			d := f.register(b, f.user, a, pol, fidotest.CreateOptions{Resident: true, Flags: flags})
			queries, _ := f.st.(interface{ Queries() int64 })
			for _, mode := range []struct {
				name         string
				discoverable bool
			}{{"user", false}, {"discoverable", true}} {
				b.Run(mode.name, func(b *testing.B) {
					ctx := context.Background()
					type answered struct {
						sess   *fido.Session
						answer []byte
					}
					in := make([]answered, b.N)
					for i := range in {
						var err error
						var opts []byte
						if mode.discoverable {
							opts, in[i].sess, err = f.svc.BeginAssertion(ctx, nil, nil, pol, f.rp)
						} else {
							opts, in[i].sess, err = f.svc.BeginAssertion(ctx, f.user, []store.MFADevice{*d}, pol, f.rp)
						}
						if err != nil {
							b.Fatal(err)
						}
						if in[i].answer, err = a.Get(opts, fidotest.GetOptions{Origin: origin, Flags: flags}); err != nil {
							b.Fatal(err)
						}
					}
					var q0 int64
					if queries != nil {
						q0 = queries.Queries()
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := range in {
						got, err := f.svc.FinishAssertion(ctx, f.user.EnvironmentID, in[i].sess, origin, in[i].answer, pol, f.rp)
						if err != nil || got.ID != d.ID {
							b.Fatalf("FinishAssertion %d: %+v, %v", i, got, err)
						}
					}
					b.StopTimer()
					if queries != nil {
						b.ReportMetric(float64(queries.Queries()-q0)/float64(b.N), "queries/op")
					}
				})
			}
		})
	}
}
