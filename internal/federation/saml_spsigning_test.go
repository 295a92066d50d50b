package federation_test

import (
	"net/http"
	"testing"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// TestSAMLAuthnRequestAlgorithm: a provider's spSigning.algorithm is the
// algorithm its AuthnRequests are signed with (PingOne's
// IdentityProviderSAML spSigning.algorithm); without one, the key's own.
// The samlidp still accepts the request and signs the user on.
func TestSAMLAuthnRequestAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		algorithm, want string
	}{{"", dsig.RSASHA256SignatureMethod}, {"SHA512withRSA", dsig.RSASHA512SignatureMethod}, {"SHA384withRSA", dsig.RSASHA384SignatureMethod}} {
		t.Run("algorithm "+tc.algorithm, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: apptest.Backends()[0].DSN(t)})
			x := &samlRP{rp: &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}, idp: startSAMLIdP(t)}
			ks, err := s.Store.ListKeys(t.Context(), x.fx.EnvID)
			if err != nil {
				t.Fatal(err)
			}
			keyID := ""
			for _, k := range ks {
				if k.UsageType == "SIGNING" && k.Default {
					keyID = k.ID
				}
			}
			if keyID == "" {
				t.Fatal("no default signing key")
			}
			x.provID = addSAMLProvider(t, x.rp, "Corporate", wire.IdentityProviderSAMLData{IdpEntityID: x.idp.entityID(),
				SsoEndpoint: x.idp.srv.URL + "/sso", SsoBinding: wire.SAMLBindingRedirect, AuthnRequestSigned: true,
				SpSigning:  &wire.SAMLSigning{Key: wire.Ref{ID: keyID}, Algorithm: tc.algorithm},
				SpEntityID: "urn:gatehouse:" + x.fx.EnvID}, x.idp.cert)
			md := newAgent(t).get(x.base() + "/saml20/sp/metadata/" + x.provID)
			expectStatus(t, md, http.StatusOK)
			x.idp.put(t, "/services/gatehouse", string(md.body))
			x.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1, "registration": map[string]any{"enabled": true, "population": map[string]string{"id": x.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": x.provID}}})
			x.idp.addUser(t, "ann", "ann-secret-1", "ann@example.org", "Ann", "Smith")

			p := x.beginSAML(t, x.provID)
			if got := p.toIdP.url.Query().Get("SigAlg"); got != tc.want {
				t.Errorf("SigAlg = %q, want %q", got, tc.want)
			}
			_, v := x.login(t, p, "ann", "ann-secret-1")
			fl := x.post(t, p, v)
			expectFields(t, "flow", fl, map[string]any{"status": "COMPLETED"})
		})
	}
}
