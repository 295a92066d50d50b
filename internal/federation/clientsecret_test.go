package federation_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestClientSecretRoundTrip: PingOne's Terraform provider reads an
// identity provider's clientSecret back and sends it again with every
// replace. A replace of exactly what a read returned leaves the provider
// signing users on; a replace with another secret makes the token request
// carry that one; sending the first one back restores sign-on.
func TestClientSecretRoundTrip(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			x := newFedFixture(t, be.DSN(t))
			s := x.d.s
			path := x.d.envPath() + "/identityProviders/" + x.fake
			// signOn runs one sign-on through the provider up to the
			// callback and returns the flow as the callback left it.
			signOn := func(t *testing.T) map[string]any {
				t.Helper()
				p := x.begin(t, x.fake)
				code := "code-" + uuid.NewString()
				x.op.answer(code, tokens(sign(t, x.op.key, fakeKID, x.op.claims(p.nonce))))
				if l := p.a.get(x.callback(url.Values{"code": {code}, "state": {p.state}})).location(t); l.String() != x.d.base()+"/signon/?flowId="+p.flowID {
					t.Fatalf("callback sent the browser to %s", l)
				}
				return x.flow(t, p)
			}
			put := func(t *testing.T, body []byte) map[string]any {
				t.Helper()
				r := s.Do(t, apptest.Request{Method: "PUT", URL: path, Token: s.AdminToken(t), Body: body})
				if r.Status != http.StatusOK {
					t.Fatalf("PUT: %d %s", r.Status, r.Body)
				}
				return r.JSON(t)
			}

			read := s.Do(t, apptest.Request{Method: "GET", URL: path, Token: s.AdminToken(t)})
			if read.Status != http.StatusOK {
				t.Fatalf("GET: %d %s", read.Status, read.Body)
			}
			got := read.JSON(t)
			if got["clientSecret"] != fakeSecret {
				t.Fatalf("GET clientSecret = %v, want the secret the provider was made with", got["clientSecret"])
			}

			// The PUT of exactly what GET returned.
			if after := put(t, read.Body); after["clientSecret"] != fakeSecret {
				t.Errorf("PUT answered clientSecret %v", after["clientSecret"])
			}
			expectFields(t, "flow after the PUT of what GET returned", signOn(t), map[string]any{"status": "ACCOUNT_LINKING_REQUIRED",
				"_embedded.identityProvider.id": x.fake})

			// Another secret is the one the provider is then asked with: the
			// fake provider refuses it.
			got["clientSecret"] = "another-secret-the-provider-does-not-know"
			body, _ := json.Marshal(got)
			if after := put(t, body); after["clientSecret"] != "another-secret-the-provider-does-not-know" {
				t.Errorf("PUT of a new secret answered clientSecret %v", after["clientSecret"])
			}
			expectFields(t, "flow with a secret the provider refuses", signOn(t), map[string]any{"status": "FAILED",
				"error": map[string]any{"code": "access_denied", "message": "The identity provider Fake refused the authorization code (invalid_client)."}})

			put(t, read.Body)
			expectFields(t, "flow with the secret back", signOn(t), map[string]any{"status": "ACCOUNT_LINKING_REQUIRED"})
		})
	}
}
