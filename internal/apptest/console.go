package apptest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// ConsoleOAuth is the console application as a client library sees it:
// a public client (no secret, PKCE) of the Administrators environment
// redirecting to the console.
func (s *Server) ConsoleOAuth() *oauth2.Config {
	as := s.URL + "/" + s.Admin.EnvironmentID + "/as"
	return &oauth2.Config{ClientID: s.Admin.ConsoleClientID, RedirectURL: s.Admin.ConsoleURL, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: as + "/authorize", TokenURL: as + "/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// FlowStep is one answer of a headless (pi.flow) sign-on.
type FlowStep struct {
	Status int
	Body   map[string]any
}

// ConsoleSignOn signs username on to the console application: see
// HeadlessSignOn.
func (s *Server) ConsoleSignOn(t testing.TB, username, password, newPassword string) (*oauth2.Token, []string) {
	t.Helper()
	return s.HeadlessSignOn(t, s.Admin.EnvironmentID, s.ConsoleOAuth(), username, password, newPassword)
}

// HeadlessSignOn signs username on to conf's application of envID
// headlessly (response_mode pi.flow, as the hosted page drives the same
// flow) with PKCE S256, and redeems the code through x/oauth2. When the
// flow asks for a new password (MUST_CHANGE_PASSWORD) it is changed to
// newPassword; a flow that asks for one with newPassword empty fails the
// test. It returns the tokens and the statuses the flow went through.
func (s *Server) HeadlessSignOn(t testing.TB, envID string, conf *oauth2.Config, username, password, newPassword string) (*oauth2.Token, []string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Transport: s.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := oauth2.GenerateVerifier()
	step := func(method, url, ct, body string) FlowStep {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out := FlowStep{Status: resp.StatusCode}
		if err := json.Unmarshal(b, &out.Body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
		return out
	}
	str := func(v any) string { s, _ := v.(string); return s }
	flow := step("GET", conf.AuthCodeURL("signon-state", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("response_mode", "pi.flow")), "", "")
	id := str(flow.Body["id"])
	statuses := []string{str(flow.Body["status"])}
	flowURL := s.URL + "/" + envID + "/flows/" + id
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	flow = step("POST", flowURL, "application/vnd.pingidentity.usernamePassword.check+json", string(body))
	statuses = append(statuses, str(flow.Body["status"]))
	if str(flow.Body["status"]) == "MUST_CHANGE_PASSWORD" {
		if newPassword == "" {
			t.Fatalf("the flow asks %s for a new password", username)
		}
		body, _ = json.Marshal(map[string]string{"currentPassword": password, "newPassword": newPassword})
		flow = step("POST", flowURL, "application/vnd.pingidentity.password.reset+json", string(body))
		statuses = append(statuses, str(flow.Body["status"]))
	}
	if str(flow.Body["status"]) != "COMPLETED" {
		t.Fatalf("sign-on of %s ended in %v", username, flow.Body)
	}
	res := step("GET", s.URL+"/"+envID+"/as/resume?flowId="+id, "", "")
	ar, _ := res.Body["authorizeResponse"].(map[string]any)
	code := str(ar["code"])
	if code == "" || str(ar["state"]) != "signon-state" {
		t.Fatalf("resume: %v", res.Body)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	return tok, statuses
}
