package apptest

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// SignOn is an environment set up through the management API for sign-on
// tests: a web application with a secret and a user with a password.
type SignOn struct {
	EnvID        string
	PopulationID string
	AppID        string
	AppSecret    string
	AppName      string
	RedirectURI  string
	UserID       string
	Username     string
	Email        string
	Password     string
	Given        string
	Family       string
}

// SignOnOptions tune NewSignOn.
type SignOnOptions struct {
	// App overrides or adds members of the application's POST body.
	App map[string]any
}

// NewSignOn creates, as an administrator would with PingOne's API, a
// SANDBOX environment, a WEB_APP (authorization code and refresh token,
// CLIENT_SECRET_BASIC, redirect https://app.example.com/callback) and a
// user of the default population with a password.
func (s *Server) NewSignOn(t testing.TB, o SignOnOptions) *SignOn {
	t.Helper()
	admin := s.AdminToken(t)
	tag := uuid.NewString()[:8]
	x := &SignOn{RedirectURI: "https://app.example.com/callback", Username: "joey." + tag, Email: "joey." + tag + "@example.com",
		Password: "Gatehouse-Test-Pass-9!", Given: "Joey", Family: "SimpleLoginUser", AppName: "DestinationApp_" + tag}
	env := s.Do(t, Request{Method: "POST", URL: "/environments", Token: admin, Body: map[string]any{
		"name": "Env_" + tag, "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": s.LicenseID(t)},
		"billOfMaterials": map[string]any{"products": []map[string]string{{"type": "PING_ONE_BASE"}}}}})
	mustStatus(t, env, http.StatusCreated)
	x.EnvID = env.JSON(t)["id"].(string)
	pops := s.Do(t, Request{Method: "GET", URL: "/environments/" + x.EnvID + "/populations", Token: admin})
	mustStatus(t, pops, http.StatusOK)
	x.PopulationID = pops.JSON(t)["_embedded"].(map[string]any)["populations"].([]any)[0].(map[string]any)["id"].(string)

	body := map[string]any{"enabled": true, "name": x.AppName, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{x.RedirectURI}, "postLogoutRedirectUris": []string{"https://app.example.com/logout"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL"}
	for k, v := range o.App {
		body[k] = v
	}
	app := s.Do(t, Request{Method: "POST", URL: "/environments/" + x.EnvID + "/applications", Token: admin, Body: body})
	mustStatus(t, app, http.StatusCreated)
	x.AppID = app.JSON(t)["id"].(string)
	if body["tokenEndpointAuthMethod"] != "NONE" {
		sec := s.Do(t, Request{Method: "GET", URL: "/environments/" + x.EnvID + "/applications/" + x.AppID + "/secret", Token: admin})
		mustStatus(t, sec, http.StatusOK)
		x.AppSecret = sec.JSON(t)["secret"].(string)
	}
	x.UserID = s.CreateUser(t, x.EnvID, x.PopulationID, x.Username, x.Email, x.Given, x.Family, x.Password)
	return x
}

// CreateUser adds a user with a password through the management API and
// returns its id.
func (s *Server) CreateUser(t testing.TB, envID, populationID, username, email, given, family, password string) string {
	t.Helper()
	admin := s.AdminToken(t)
	u := s.Do(t, Request{Method: "POST", URL: "/environments/" + envID + "/users", Token: admin, Body: map[string]any{
		"username": username, "email": email, "name": map[string]string{"given": given, "family": family},
		"population": map[string]string{"id": populationID}}})
	mustStatus(t, u, http.StatusCreated)
	id := u.JSON(t)["id"].(string)
	pw := s.Do(t, Request{Method: "PUT", URL: "/environments/" + envID + "/users/" + id + "/password", Token: admin,
		ContentType: "application/vnd.pingidentity.password.set+json", Body: map[string]any{"value": password, "forceChange": false}})
	mustStatus(t, pw, http.StatusOK)
	return id
}

func mustStatus(t testing.TB, r *Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}
