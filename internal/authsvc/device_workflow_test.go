package authsvc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// TestWorkflowDeviceAuthorizationGrantFlow follows PingOne's workflow
// library "Device Authorization Grant Flow" (developer.pingidentity.com
// …/workflow-library/…/device-authorization-grant-flow), request for
// request, with its bodies: a CUSTOM_APP with DEVICE_CODE and
// REFRESH_TOKEN and tokenEndpointAuthMethod NONE, a population, a user
// and its password; then the device authorization, the device flow
// started, read, signed on, its user code confirmed and consent given;
// and the device's token request.
//
// Step 6 is GET {authPath}/{envID}/device/{appIdentifier}, the documented
// start endpoint that names the application (here through the
// verification_uri step 5 returned): without an application Gatehouse's
// /{envID}/device first asks the user for the code, which names it.
func TestWorkflowDeviceAuthorizationGrantFlow(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			admin := s.AdminToken(t)
			envID := s.NewSignOn(t, apptest.SignOnOptions{}).EnvID
			env := "/environments/" + envID

			// Step 1: Create a custom application.
			r := s.Do(t, apptest.Request{Method: "POST", URL: env + "/applications", Token: admin, Body: map[string]any{
				"enabled": true, "name": "Device-App", "description": "App for Device Auth Grant", "type": "CUSTOM_APP",
				"protocol": "OPENID_CONNECT", "grantTypes": []string{"DEVICE_CODE", "REFRESH_TOKEN"}, "deviceTimeout": 600,
				"devicePollingInterval": 5, "tokenEndpointAuthMethod": "NONE"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("step 1: %d %s", r.Status, r.Body)
			}
			app := r.JSON(t)
			appID := app["id"].(string)
			if app["deviceTimeout"] != float64(600) || app["devicePollingInterval"] != float64(5) {
				t.Fatalf("step 1: %s", r.Body)
			}

			// Step 2: Create a population.
			r = s.Do(t, apptest.Request{Method: "POST", URL: env + "/populations", Token: admin, Body: map[string]any{
				"name": "Device-Population", "description": "Population for the device workflow"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("step 2: %d %s", r.Status, r.Body)
			}
			popID := r.JSON(t)["id"].(string)

			// Step 3: Create a user.
			r = s.Do(t, apptest.Request{Method: "POST", URL: env + "/users", Token: admin, Body: map[string]any{
				"email": "device.user@example.com", "name": map[string]string{"given": "Device", "family": "User"},
				"population": map[string]string{"id": popID}, "username": "deviceuser"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("step 3: %d %s", r.Status, r.Body)
			}
			userID := r.JSON(t)["id"].(string)

			// Step 4: Set the user's password.
			const password = "Tv-Remote-Sofa-42!"
			r = s.Do(t, apptest.Request{Method: "PUT", URL: env + "/users/" + userID + "/password", Token: admin,
				ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": password, "forceChange": false}})
			if r.Status != http.StatusOK {
				t.Fatalf("step 4: %d %s", r.Status, r.Body)
			}

			// Step 5: Authorize (device).
			base := s.URL + "/" + envID
			h := postForm(t, base+"/as/device_authorization", url.Values{"client_id": {appID}, "scope": {"openid profile"}})
			wantStatus(t, h, http.StatusOK)
			da := h.json(t)
			userCode, _ := da["user_code"].(string)
			if len(da) != 6 || !userCodeForm.MatchString(userCode) || da["expires_in"] != float64(600) || da["interval"] != float64(5) ||
				da["verification_uri"] != base+"/device/"+appID {
				t.Fatalf("step 5: %s", h.body)
			}

			// Step 6: Start device flow: 302 with the flow id in Location.
			c := browser(t)
			flowID := startDeviceFlow(t, c, s, envID, da["verification_uri"].(string))

			// Step 7: Get the flow: the default policy's LOGIN action.
			h = call(t, c, "GET", base+"/flows/"+flowID, "", "")
			wantStatus(t, h, http.StatusOK)
			f := h.json(t)
			if f["status"] != "USERNAME_PASSWORD_REQUIRED" {
				t.Fatalf("step 7: %s", h.body)
			}
			if _, ok := f["_links"].(map[string]any)["usernamePassword.check"]; !ok {
				t.Fatalf("step 7: no usernamePassword.check: %s", h.body)
			}

			// Step 8: Log in: the flow asks for the user code.
			f = flowStep(t, c, s, envID, flowID, ctUsernamePassword, `{"username":"deviceuser","password":"`+password+`"}`, "DAG_USER_CODE_REQUIRED")
			if _, ok := f["_links"].(map[string]any)["deviceAuthGrant.userCode.verify"]; !ok {
				t.Fatalf("step 8: %v", f["_links"])
			}

			// Step 9: Confirm device user code.
			f = flowStep(t, c, s, envID, flowID, ctUserCodeVerify, `{"userCode":"`+userCode+`"}`, "DAG_CONSENT_REQUIRED")
			if _, ok := f["_links"].(map[string]any)["deviceAuthGrant.consent"]; !ok {
				t.Fatalf("step 9: %v", f["_links"])
			}

			// Step 10: Accept the device authorization grant consent; the
			// hosted page then takes the browser to resumeUrl.
			f = flowStep(t, c, s, envID, flowID, ctDeviceConsent, `{"accept":true}`, "COMPLETED")
			h = call(t, c, "GET", f["resumeUrl"].(string), "", "")
			wantStatus(t, h, http.StatusFound)
			if !strings.HasSuffix(h.header.Get("Location"), "/signon/?device=done") {
				t.Fatalf("step 10: resume went to %q", h.header.Get("Location"))
			}

			// Step 11: Get the token.
			h = postForm(t, base+"/as/token", url.Values{"grant_type": {deviceGrant}, "client_id": {appID}, "device_code": {da["device_code"].(string)}})
			wantStatus(t, h, http.StatusOK)
			tok := h.json(t)
			for _, k := range []string{"access_token", "id_token", "refresh_token"} {
				if s, _ := tok[k].(string); s == "" {
					t.Fatalf("step 11: no %s: %s", k, h.body)
				}
			}
			if tok["token_type"] != "Bearer" || tok["scope"] != "openid profile" || tok["expires_in"] != float64(3600) {
				t.Fatalf("step 11: %s", h.body)
			}
		})
	}
}
