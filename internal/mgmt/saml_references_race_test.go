package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestSAMLReferenceDeleteRace: a SAML provider or application written
// while the certificate or key it names is deleted: either the write wins
// (and the delete is refused as in use) or the delete does (and the write
// is refused as naming nothing) — never both, which would leave a
// provider trusting a certificate that is gone.
func TestSAMLReferenceDeleteRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			tok := s.AdminToken(t)
			env := newEnv(t, s, "SAML reference race", "SANDBOX")
			base := "/environments/" + env
			both := func(write, del apptest.Request) (int, int) {
				ws, ds := make(chan int, 1), make(chan int, 1)
				go func() { ws <- s.Do(t, write).Status }()
				go func() { ds <- s.Do(t, del).Status }()
				return <-ws, <-ds
			}
			for i := range 20 {
				cert := samlCert(t, s, env, "SIGNING")
				w, d := both(
					apptest.Request{Method: "POST", URL: base + "/identityProviders", Token: tok,
						Body: samlIDPBody("Race "+uuid.NewString()[:8], uuid.NewString(), "race-sp-"+uuid.NewString(), cert)},
					apptest.Request{Method: "DELETE", URL: base + "/certificates/" + cert, Token: tok})
				if (w == http.StatusCreated) == (d == http.StatusNoContent) {
					t.Fatalf("round %d: provider create %d, certificate delete %d: want exactly one to succeed", i, w, d)
				}

				key := samlKey(t, s, env, "RSA", 2048, "SHA256withRSA", "SIGNING")
				w, d = both(
					apptest.Request{Method: "POST", URL: base + "/applications", Token: tok,
						Body: samlAppBody("Race "+uuid.NewString()[:8], "race-app-"+uuid.NewString(), env, key)},
					apptest.Request{Method: "DELETE", URL: base + "/keys/" + key, Token: tok})
				if (w == http.StatusCreated) == (d == http.StatusNoContent) {
					t.Fatalf("round %d: application create %d, key delete %d: want exactly one to succeed", i, w, d)
				}
			}
		})
	}
}
