package federation_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// TestAuditFederation: a sign-on through an external provider records
// its outcome with the provider among the resources: a user registered
// just in time (USER.CREATED, then the sign-on), a known one, one who
// must link a local account (ACCOUNT.LINKED once the password proves it),
// and a provider disabled mid-sign-on (FAILED).
func TestAuditFederation(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			cap := &audittest.Capture{}
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t), AuditRecorder: cap})
			d := &rp{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
			src := &source{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{App: map[string]any{"redirectUris": []string{d.callbackURL()}}})}
			idp := d.addProvider(t, "Source", src.providerBody())
			d.usePolicy(t, map[string]any{"type": "LOGIN", "priority": 1,
				"registration":    map[string]any{"enabled": true, "population": map[string]string{"id": d.fx.PopulationID}},
				"socialProviders": []map[string]string{{"id": idp}}})
			cap.Take()
			ext := func(result string) float64 {
				return audittest.Count(telemetry.SignOns.WithLabelValues("external", result))
			}
			ok0, fail0 := ext("success"), ext("failure")
			check := func(want ...audittest.Brief) {
				t.Helper()
				if got := audittest.Briefs(cap.Of(d.fx.EnvID)); !slices.Equal(got, want) {
					t.Errorf("activities:\n got %+v\nwant %+v", got, want)
				}
			}
			app, p := d.fx.AppID, audit.ResIdentityProvider+":"+idp

			// 1. Unknown: registered, then signed on.
			_, fl := federate(t, d, src, idp, src.fx.Username, src.fx.Password, "a-1", oauth2.GenerateVerifier())
			newID := jstr(fl, "_embedded.user.id")
			u := audit.ResUser + ":" + newID
			check(audittest.Brief{Type: audit.UserCreated, Result: "SUCCESS", Client: app, User: newID, Resources: u + " " + p},
				audittest.Brief{Type: audit.ExternalAuthSucceeded, Result: "SUCCESS", Client: app, User: newID, Resources: u + " " + p},
				audittest.Brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: app, User: newID, Resources: u})

			// 2. Known: signed on.
			federate(t, d, src, idp, src.fx.Username, src.fx.Password, "a-2", oauth2.GenerateVerifier())
			check(audittest.Brief{Type: audit.ExternalAuthSucceeded, Result: "SUCCESS", Client: app, User: newID, Resources: u + " " + p},
				audittest.Brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: app, User: newID, Resources: u})

			// 3. The username is a local user's: the password links it.
			cara := "cara." + uuid.NewString()[:8]
			caraID := s.CreateUser(t, src.fx.EnvID, src.fx.PopulationID, cara, cara+"@example.com", "Cara", "Source", src.fx.Password)
			local := s.CreateUser(t, d.fx.EnvID, d.fx.PopulationID, caraID, "", "Cara", "Local", d.fx.Password)
			cap.Take()
			a, fl := federate(t, d, src, idp, cara, src.fx.Password, "a-3", oauth2.GenerateVerifier())
			r := a.check(d.base()+"/flows/"+jstr(fl, "id"), caraID, d.fx.Password)
			expectStatus(t, r, http.StatusOK)
			l := audit.ResUser + ":" + local
			check(audittest.Brief{Type: audit.ExternalAuthSucceeded, Result: "SUCCESS", Client: app, Resources: p},
				audittest.Brief{Type: audit.PasswordCheckSucceeded, Result: "SUCCESS", Client: app, User: local, Resources: l},
				audittest.Brief{Type: audit.AccountLinked, Result: "SUCCESS", Client: app, User: local, Resources: l + " " + p},
				audittest.Brief{Type: audit.SessionCreated, Result: "SUCCESS", Client: app, User: local, Resources: l})

			// 4. The provider is disabled while the user is at it.
			a = newAgent(t)
			fl = d.startPiFlow(t, a, "a-4", oauth2.GenerateVerifier())
			authz := a.get(jstr(fl, "_embedded.socialProviders.0._links.authenticate.href")).location(t)
			cb := src.signOn(t, a, authz, src.fx.Username, src.fx.Password, d.callbackURL())
			off := src.providerBody()
			off["name"], off["type"], off["enabled"], off["tokenEndpointAuthMethod"] = "Source", "OPENID_CONNECT", false, "CLIENT_SECRET_BASIC"
			off["scopes"] = []string{"openid", "profile", "email"}
			d.api(t, "PUT", d.envPath()+"/identityProviders/"+idp, off, http.StatusOK)
			cap.Take()
			a.get(cb.String())
			check(audittest.Brief{Type: audit.ExternalAuthFailed, Result: "FAILED", Client: app, Resources: p})
			if got := ext("failure") - fail0; got != 1 {
				t.Errorf("external failures counted %v, want 1", got)
			}
			if got := ext("success") - ok0; got != 3 {
				t.Errorf("external sign-ons counted %v, want 3", got)
			}
		})
	}
}
