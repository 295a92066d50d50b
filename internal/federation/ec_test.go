package federation_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestECSourceProvider: a Gatehouse environment whose only signing key
// is EC P-256 is the OpenID provider of another, whose only key is EC
// P-384. Federation verifies the source's ES256 ID token against its JWKS
// (go-oidc), registers the user, and the destination's application gets
// an ES384 ID token that go-oidc verifies through discovery.
func TestECSourceProvider(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			src := &source{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{d.callbackURL()}}})}
			srcKey := onlyECKey(t, d, src.fx.EnvID, 256, "SHA256withECDSA")
			destKey := onlyECKey(t, d, d.fx.EnvID, 384, "SHA384withECDSA")

			idp := d.addProvider(t, "EC source", src.providerBody())
			d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": d.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": idp}}})

			verifier := oauth2.GenerateVerifier()
			a, fl := federate(t, d, src, idp, src.fx.Username, src.fx.Password, "ec-1", verifier)
			expectFields(t, "flow after the callback", fl, map[string]any{"status": "COMPLETED", "_embedded.user.username": src.fx.UserID})
			claims := d.redeem(t, a, fl, "ec-1", verifier)
			if claims["sub"] != jstr(fl, "_embedded.user.id") || !slices.Equal(amr(claims), []string{"fed"}) {
				t.Errorf("ID token sub %v amr %v", claims["sub"], claims["amr"])
			}

			// Each side could only have signed with its EC key.
			for env, kid := range map[string]string{src.fx.EnvID: srcKey, d.fx.EnvID: destKey} {
				r := a.get(s.URL + "/" + env + "/as/jwks")
				expectStatus(t, r, http.StatusOK)
				var set struct{ Keys []struct{ Kid, Kty string } }
				if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != kid || set.Keys[0].Kty != "EC" {
					t.Errorf("JWKS of %s: %s, want only the EC key %s", env, r.body, kid)
				}
			}
		})
	}
}

// onlyECKey makes an EC key envID's default through the keys API and
// deletes the others.
func onlyECKey(t *testing.T, d *rp, envID string, length int, sigAlg string) string {
	t.Helper()
	path := "/environments/" + envID + "/keys"
	id := jstr(d.api(t, "POST", path, map[string]any{"name": sigAlg, "algorithm": "EC", "keyLength": length,
		"signatureAlgorithm": sigAlg, "subjectDN": "CN=" + sigAlg + ", O=Example", "usageType": "SIGNING", "validityPeriod": 30,
		"default": true}, http.StatusCreated), "id")
	for _, k := range jpath(d.api(t, "GET", path, nil, http.StatusOK), "_embedded.keys").([]any) {
		if other := jstr(k, "id"); other != id {
			d.api(t, "DELETE", path+"/"+other, nil, http.StatusNoContent)
		}
	}
	return id
}
