package authsvc

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// FuzzRequestObjectClaims feeds arbitrary headers and claims through what
// reads a request object before and after its signature: nothing panics,
// and what comes out as authorization parameters never holds a nested
// request, a request_uri or a registered JWT claim.
func FuzzRequestObjectClaims(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"alg":"HS256"}`, `{"iss":"a","aud":"https://h/e/as","client_id":"a","scope":"openid","max_age":30,"claims":{"id_token":{"acr":null}}}`},
		{`{"alg":"none"}`, `{"exp":1e300,"nbf":-1,"iat":"x"}`},
		{`{"alg":"\u0000"}`, `{"request":"x"}`},
		{`[]`, `[]`},
		{`{"alg":"RS256","kid":1}`, `{"aud":["x",1],"state":"\u00ff","prompt":true,"exp":null}`},
	} {
		f.Add(seed[0], seed[1])
	}
	s := &Service{AuthPath: "https://h", Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
	f.Fuzz(func(t *testing.T, header, payload string) {
		enc := base64.RawURLEncoding.EncodeToString
		jwsHeader(enc([]byte(header)) + "." + enc([]byte(payload)) + ".")
		var c map[string]json.RawMessage
		if json.Unmarshal([]byte(payload), &c) != nil {
			return
		}
		s.checkRequestObjectClaims("e", "a", c, true)
		s.checkRequestObjectClaims("e", "a", c, false)
		p, why := requestObjectParams(c)
		if why != "" {
			return
		}
		for k := range p {
			if k == "request" || k == "request_uri" || slices.Contains(requestObjectNotRequest, k) {
				t.Fatalf("parameter %q came through", k)
			}
		}
	})
}

// TestRequestObjectParams pins how claims become parameters.
func TestRequestObjectParams(t *testing.T) {
	var c map[string]json.RawMessage
	if err := json.Unmarshal([]byte(`{"iss":"a","aud":"b","exp":1,"nbf":1,"iat":1,"jti":"j","sub":"s","state":"x y","max_age":300,
		"claims":{ "id_token": {"acr": null} },"ui_locales":["fr", "en"],"flag":true,"nothing":null}`), &c); err != nil {
		t.Fatal(err)
	}
	p, why := requestObjectParams(c)
	if why != "" {
		t.Fatal(why)
	}
	want := map[string]string{"state": "x y", "max_age": "300", "claims": `{"id_token":{"acr":null}}`, "ui_locales": `["fr","en"]`, "flag": "true"}
	if len(p) != len(want) {
		t.Fatalf("params %v, want %v", p, want)
	}
	for k, v := range want {
		if p.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, p.Get(k), v)
		}
	}
}
