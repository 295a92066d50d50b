package authsvc_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// BenchmarkAudit is client_credentials and a whole headless sign-on with
// the audit log on and off (off wires no recorder: nothing is built):
// recording must not cost a sign-on or a token request anything
// measurable. Compare the audit=on and audit=off figures:
//
//	go test -run '^$' -bench 'Audit' -benchtime 2s ./internal/authsvc/
func BenchmarkAudit(b *testing.B) {
	for _, be := range apptest.Backends() {
		for _, mode := range []string{"off", "on"} {
			b.Run(be.Name+"/audit="+mode, func(b *testing.B) {
				s := apptest.Start(b, apptest.Options{DSN: be.DSN(b), Audit: audit.Options{Disabled: mode == "off"}})
				b.Run("client_credentials", func(b *testing.B) {
					benchClientCredentials(b, s, s.Admin.EnvironmentID, s.Admin.ClientID, s.Admin.ClientSecret)
				})
				fx := s.NewSignOn(b, apptest.SignOnOptions{})
				b.Run("headless_signon", func(b *testing.B) { benchHeadlessSignOns(b, s, fx) })
			})
		}
	}
}
