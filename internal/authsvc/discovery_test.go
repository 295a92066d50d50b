package authsvc

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// discoveryDoc is the discovery document of fixture f's environment.
func discoveryDoc(t *testing.T, f *authFixture) map[string]any {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{envID}/as/.well-known/openid-configuration", f.svc.discovery)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/"+f.env+"/as/.well-known/openid-configuration", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("discovery: %d %s", rec.Code, rec.Body)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func docStrings(t *testing.T, doc map[string]any, k string) []string {
	t.Helper()
	raw, ok := doc[k].([]any)
	if !ok {
		t.Fatalf("%s = %v, want a list", k, doc[k])
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = v.(string)
	}
	return out
}

// TestDiscoveryMatchesRegistries: what discovery advertises is what the
// registries serve — grant_types_supported the token endpoint's grants
// (and implicit exactly when authorize answers with tokens),
// token_endpoint_auth_methods_supported client authentication's methods —
// so a grant or method registered without being advertised, or advertised
// without being served, fails here. The probe grant shows a new grant
// appears by being registered.
func TestDiscoveryMatchesRegistries(t *testing.T) {
	f := newAuthFixture(t, sqltest.SQLite(t))
	check := func(t *testing.T) {
		doc := discoveryDoc(t, f)
		responseTypes := docStrings(t, doc, "response_types_supported")
		want := slices.Sorted(maps.Keys(grants))
		tokens := slices.ContainsFunc(responseTypes, func(rt string) bool {
			return slices.Contains([]string{"token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}, rt)
		})
		if tokens {
			want = append(want, "implicit")
		}
		if got := docStrings(t, doc, "grant_types_supported"); !slices.Equal(got, want) {
			t.Errorf("grant_types_supported = %v, want %v (response types %v)", got, want, responseTypes)
		}
		var methods []string
		for _, m := range clientAuthMethods {
			methods = append(methods, m.oauth)
		}
		if got := docStrings(t, doc, "token_endpoint_auth_methods_supported"); !slices.Equal(got, methods) {
			t.Errorf("token_endpoint_auth_methods_supported = %v, want %v", got, methods)
		}
	}
	t.Run("as served", check)
	t.Run("with a new grant", func(t *testing.T) {
		registerProbe(t)
		check(t)
		if !slices.Contains(docStrings(t, discoveryDoc(t, f), "grant_types_supported"), probeGrantType) {
			t.Errorf("the registered probe grant is not advertised")
		}
	})
}

// TestGrantTypesSupported: implicit follows the response types that
// issue tokens from authorize, and nothing else does.
func TestGrantTypesSupported(t *testing.T) {
	served := slices.Sorted(maps.Keys(grants))
	for _, c := range []struct {
		responseTypes []string
		implicit      bool
	}{
		{[]string{"code"}, false},
		{nil, false},
		{[]string{"code", "token"}, true},
		{[]string{"code", "id_token"}, true},
		{[]string{"code", "id_token token"}, true},
		{[]string{"code", "code id_token"}, true},
		{[]string{"code", "tokens"}, false},
	} {
		want := served
		if c.implicit {
			want = append(slices.Clone(served), "implicit")
		}
		var served []responseType
		for _, name := range c.responseTypes {
			if rt, ok := lookupResponseType(name); ok {
				served = append(served, rt)
			}
		}
		if got := grantTypesSupported(served); !slices.Equal(got, want) {
			t.Errorf("grantTypesSupported(%q) = %v, want %v", c.responseTypes, got, want)
		}
	}
}

// TestEveryAdvertisedGrantIsServed: each grant type discovery names,
// posted to the token endpoint, gets past grant_type: never
// unsupported_grant_type. (implicit is not a token endpoint grant.) An
// application without the grant gets unauthorized_client, naming it.
func TestEveryAdvertisedGrantIsServed(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newAuthFixture(t, b.DSN(t))
			app, secret := f.app(t, f.env, "WEB_APP", methodBasic, true, `{"grantTypes":[]}`)
			for _, gt := range docStrings(t, discoveryDoc(t, f), "grant_types_supported") {
				if gt == "implicit" {
					continue
				}
				t.Run(gt, func(t *testing.T) {
					rec := f.call(f.env, "token", formContentType, formOf("grant_type", gt), basicAuth(app, secret))
					wantOAuthAnswer(t, rec, oauthAnswer{status: 400, code: "unauthorized_client",
						desc: "The application does not have the " + gt + " grant type."})
				})
			}
			t.Run("a grant not advertised", func(t *testing.T) {
				rec := f.call(f.env, "token", formContentType, formOf("grant_type", "password"), basicAuth(app, secret))
				wantOAuthAnswer(t, rec, oauthAnswer{status: 400, code: "unsupported_grant_type", desc: "Unsupported grant type password."})
			})
		})
	}
}
