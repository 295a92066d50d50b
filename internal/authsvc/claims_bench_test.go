package authsvc_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// BenchmarkClientCredentialsCustomClaims is client_credentials for a
// WEB_APP whose token is for a custom resource with several attribute
// mappings (${client.id}, a library call, a literal, and user mappings a
// client's token leaves out). Compare it with BenchmarkRS256, the
// signature floor, and BenchmarkClientCredentials/handler:
//
//	go test -run '^$' -bench 'ClientCredentials|RS256' ./internal/authsvc/
func BenchmarkClientCredentialsCustomClaims(b *testing.B) {
	s := apptest.Start(b, apptest.Options{})
	fx := s.NewSignOn(b, apptest.SignOnOptions{})
	admin := s.AdminToken(b)
	envPath := "/environments/" + fx.EnvID
	create := func(path string, body map[string]any) map[string]any {
		r := s.Do(b, apptest.Request{Method: "POST", URL: envPath + path, Token: admin, Body: body})
		if r.Status != http.StatusCreated {
			b.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		return r.JSON(b)
	}
	res := create("/resources", map[string]any{"name": "Orders", "audience": "https://api.orders.example.com"})["id"].(string)
	scope := create("/resources/"+res+"/scopes", map[string]any{"name": "orders:read"})["id"].(string)
	for name, value := range map[string]string{
		"caller": "${client.id}", "app": "${#string.upperCase(application.name)}", "tier": "gold",
		"tenant": "urn:shop:${client.id}", "mail": "${user.email}", "hello": "Hi ${user.name.given}",
	} {
		create("/resources/"+res+"/attributes", map[string]any{"name": name, "value": value})
	}
	app := create("/applications", map[string]any{"enabled": true, "name": "Shop", "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "CLIENT_CREDENTIALS"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{"https://app.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})["id"].(string)
	create("/applications/"+app+"/grants", map[string]any{"resource": map[string]string{"id": res}, "scopes": []map[string]string{{"id": scope}}})
	sec := s.Do(b, apptest.Request{Method: "GET", URL: envPath + "/applications/" + app + "/secret", Token: admin})
	if sec.Status != http.StatusOK {
		b.Fatalf("secret: %s", sec.Body)
	}
	secret := sec.JSON(b)["secret"].(string)

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}.Encode()
	path := "/" + fx.EnvID + "/as/token"
	check := httptest.NewRecorder()
	req := httptest.NewRequest("POST", path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app, secret)
	s.Handler.ServeHTTP(check, req)
	if check.Code != 200 {
		b.Fatalf("status %d: %s", check.Code, check.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(check.Body.String(), &tok); err != nil {
		b.Fatal(err)
	}
	if c := payload(b, tok.AccessToken); c["caller"] != app || c["app"] != "SHOP" || c["tenant"] != "urn:shop:"+app || c["mail"] != nil {
		b.Fatalf("claims: %v", c)
	}

	b.Run("handler", func(b *testing.B) { benchTokenHandler(b, s, path, form, app, secret) })
}
