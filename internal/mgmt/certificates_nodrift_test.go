package mgmt_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// Certificates in the no-drift suite: PingOne's Terraform provider
// (pingone_certificate) uploads a certificate and reads it back on every
// refresh; there is no PUT, so a read must carry every field of the SDK's
// Certificate and read the same each time.
func init() {
	registerDrift(driftCase{
		name: "certificate",
		create: func(t *testing.T, s *apptest.Server, tok, envID string) string {
			now := time.Now()
			pc := newPartnerCert(t, "drift.partner.example", partnerEC(t), nil, false, now.Add(-time.Hour), now.Add(24*time.Hour))
			c := cfgAPI{s: s, tok: tok, env: envID}
			m := must(t, c.upload(t, "SIGNING", certPEM(pc.cert.Raw)), http.StatusAccepted)
			return "/environments/" + envID + "/certificates/" + m["id"].(string)
		},
		always: []string{"_links.self.href", "id", "environment.id", "organization.id", "name", "algorithm", "keyLength", "signatureAlgorithm",
			"subjectDN", "issuerDN", "usageType", "default", "serialNumber", "validityPeriod", "status", "startsAt", "expiresAt", "createdAt"},
		noPut: true,
	})
}
