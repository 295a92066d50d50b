package mgmt_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
)

// cfgJWTHeader decodes a compact JWT's header.
func cfgJWTHeader(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg
}

// cfgJWKSKids lists the kids an environment publishes.
func cfgJWKSKids(t *testing.T, s *apptest.Server, envID string) []string {
	t.Helper()
	m := must(t, doNo5xx(t, s, apptest.Request{Method: "GET", URL: s.URL + "/" + envID + "/as/jwks"}), http.StatusOK)
	var out []string
	for _, k := range m["keys"].([]any) {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	slices.Sort(out)
	return out
}

func cfgSorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// TestKeyRotation: a token signed before the default signing key changes
// keeps working until its key is deleted; tokens issued after carry the new
// key's kid; the JWKS publishes every unexpired signing key.
func TestKeyRotation(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Rotation")
			testKeyRotation(t, c)
		})
	}
}

func testKeyRotation(t *testing.T, c cfgAPI) {
	s := c.s
	worker := s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.EnvironmentAdmin.ID, roles.ScopeEnvironment, c.env})
	oldTok := s.Token(t, worker)
	keys := c.list(t, "/keys", "keys")
	if len(keys) != 1 {
		t.Fatalf("keys of a new environment: %v", keys)
	}
	oldKey := keys[0]
	oldID := oldKey["id"].(string)
	if kid, alg := cfgJWTHeader(t, oldTok); kid != oldID || alg != "RS256" {
		t.Fatalf("token header kid %s alg %s, want %s RS256", kid, alg, oldID)
	}
	asWorker := cfgAPI{s: s, tok: oldTok, env: c.env}

	// A second signing key, not yet the default: published, not used.
	created := c.ok(t, "POST", "/keys", map[string]any{"name": "Next", "algorithm": "EC", "keyLength": 256, "signatureAlgorithm": "SHA256withECDSA",
		"subjectDN": "CN=Next, OU=Identity, O=Example, L=, ST=, C=us", "usageType": "SIGNING", "validityPeriod": 30, "default": false}, http.StatusCreated)
	newID := checkID(t, created, "id")
	for _, f := range []string{"startsAt", "expiresAt", "createdAt"} {
		checkTime(t, created, f)
	}
	wantFields(t, created, map[string]any{"name": "Next", "algorithm": "EC", "keyLength": 256, "signatureAlgorithm": "SHA256withECDSA",
		"subjectDN": "CN=Next, OU=Identity, O=Example, L=, ST=, C=us", "issuerDN": "CN=Next, OU=Identity, O=Example, L=, ST=, C=us",
		"usageType": "SIGNING", "default": false, "validityPeriod": 30, "status": "VALID", "environment.id": c.env,
		"organization.id": s.OrganizationID(t), "_links.self.href": s.APIPath + "/environments/" + c.env + "/keys/" + newID})
	starts, _ := time.Parse(time.RFC3339, created["startsAt"].(string))
	expires, _ := time.Parse(time.RFC3339, created["expiresAt"].(string))
	if expires.Sub(starts) != 30*24*time.Hour {
		t.Errorf("validity %s, want 30 days", expires.Sub(starts))
	}
	if serial, _ := created["serialNumber"].(float64); serial <= 0 {
		t.Errorf("serialNumber = %v", created["serialNumber"])
	}
	if got := cfgJWKSKids(t, s, c.env); !slices.Equal(got, cfgSorted(oldID, newID)) {
		t.Errorf("jwks kids = %v, want both keys", got)
	}
	if kid, _ := cfgJWTHeader(t, s.Token(t, worker)); kid != oldID {
		t.Errorf("a non-default key signed a token: kid %s", kid)
	}

	// The certificate itself, for Accept: application/x-x509-ca-cert.
	r := doNo5xx(t, s, apptest.Request{Method: "GET", URL: c.url("/keys/" + newID), Token: c.tok,
		Headers: http.Header{"Accept": {"application/x-x509-ca-cert"}}})
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/x-x509-ca-cert" {
		t.Fatalf("PEM: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	block, _ := pem.Decode(r.Body)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %s", r.Body)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// serialNumber is an int64 on the wire, beyond float64's precision.
	var exact struct {
		SerialNumber int64 `json:"serialNumber"`
	}
	c.do(t, "GET", "/keys/"+newID, nil).Decode(t, &exact)
	if cert.Subject.CommonName != "Next" || !slices.Equal(cert.Subject.Country, []string{"US"}) || !slices.Equal(cert.Subject.Organization, []string{"Example"}) ||
		cert.SerialNumber.Int64() != exact.SerialNumber || !cert.NotAfter.Equal(expires.Truncate(time.Second)) {
		t.Errorf("certificate subject %v serial %v notAfter %v", cert.Subject, cert.SerialNumber, cert.NotAfter)
	}

	// Rotate: the new key becomes the default, the old one loses the flag.
	put := c.ok(t, "PUT", "/keys/"+newID, map[string]any{"usageType": "SIGNING", "default": true}, http.StatusOK)
	wantFields(t, put, map[string]any{"id": newID, "default": true})
	wantFields(t, c.ok(t, "GET", "/keys/"+oldID, nil, http.StatusOK), map[string]any{"default": false, "status": "VALID"})
	// The token signed by the old key still works.
	asWorker.ok(t, "GET", "/keys", nil, http.StatusOK)
	// New tokens carry the new key's kid and algorithm, and work.
	newTok := s.Token(t, worker)
	if kid, alg := cfgJWTHeader(t, newTok); kid != newID || alg != "ES256" {
		t.Errorf("new token kid %s alg %s, want %s ES256", kid, alg, newID)
	}
	cfgAPI{s: s, tok: newTok, env: c.env}.ok(t, "GET", "/keys", nil, http.StatusOK)
	if got := cfgJWKSKids(t, s, c.env); !slices.Equal(got, cfgSorted(oldID, newID)) {
		t.Errorf("jwks kids after rotation = %v", got)
	}

	// Turning the default off hands the flag back to the oldest valid
	// signing key (as PingOne's Terraform provider does when a key's
	// default goes from true to false); the new key then signs nothing.
	wantFields(t, c.ok(t, "PUT", "/keys/"+newID, map[string]any{"usageType": "SIGNING", "default": false}, http.StatusOK),
		map[string]any{"id": newID, "default": false})
	wantFields(t, c.ok(t, "GET", "/keys/"+oldID, nil, http.StatusOK), map[string]any{"default": true})
	if kid, _ := cfgJWTHeader(t, s.Token(t, worker)); kid != oldID {
		t.Errorf("token after the default went back: kid %s, want %s", kid, oldID)
	}
	c.ok(t, "PUT", "/keys/"+newID, map[string]any{"usageType": "SIGNING", "default": true}, http.StatusOK)

	// The old key can go, and then its tokens die. The only valid signing
	// key left can neither go nor give its default up.
	c.ok(t, "DELETE", "/keys/"+oldID, nil, http.StatusNoContent)
	c.fail(t, "GET", "/keys/"+oldID, nil, cfgNotFound)
	checkAnswer(t, asWorker.do(t, "GET", "/keys", nil), wantErr{http.StatusUnauthorized, "ACCESS_FAILED", "INVALID_TOKEN", ""})
	if got := cfgJWKSKids(t, s, c.env); !slices.Equal(got, []string{newID}) {
		t.Errorf("jwks kids after delete = %v", got)
	}
	c.fail(t, "DELETE", "/keys/"+newID, nil, cfgRequestFailed)
	c.fail(t, "PUT", "/keys/"+newID, map[string]any{"usageType": "SIGNING", "default": false}, cfgBadValue("default"))
	wantFields(t, c.ok(t, "GET", "/keys/"+newID, nil, http.StatusOK), map[string]any{"default": true})

	// Creating a key as the default moves the flag too; ENCRYPTION keys
	// are kept but never published for signatures.
	rsa := c.ok(t, "POST", "/keys", map[string]any{"name": "RSA 3072", "algorithm": "RSA", "keyLength": 3072, "signatureAlgorithm": "SHA384withRSA",
		"subjectDN": "CN=RSA 3072", "usageType": "SIGNING", "validityPeriod": 365, "default": true}, http.StatusCreated)
	wantFields(t, c.ok(t, "GET", "/keys/"+newID, nil, http.StatusOK), map[string]any{"default": false})
	if kid, alg := cfgJWTHeader(t, s.Token(t, worker)); kid != rsa["id"] || alg != "RS384" {
		t.Errorf("token after creating a default: kid %s alg %s", kid, alg)
	}
	enc := c.ok(t, "POST", "/keys", map[string]any{"name": "Encryption", "algorithm": "RSA", "keyLength": 2048, "signatureAlgorithm": "SHA256withRSA",
		"subjectDN": "CN=Encryption", "usageType": "ENCRYPTION", "validityPeriod": 365, "default": true}, http.StatusCreated)
	wantFields(t, enc, map[string]any{"usageType": "ENCRYPTION", "default": true})
	if got := cfgJWKSKids(t, s, c.env); slices.Contains(got, enc["id"].(string)) || len(got) != 2 {
		t.Errorf("jwks kids with an encryption key = %v", got)
	}
	wantFields(t, c.ok(t, "GET", "/keys/"+rsa["id"].(string), nil, http.StatusOK), map[string]any{"default": true})

	// Deleting the default signing key hands the flag to the oldest valid
	// one left, which signs from then on.
	c.ok(t, "DELETE", "/keys/"+rsa["id"].(string), nil, http.StatusNoContent)
	wantFields(t, c.ok(t, "GET", "/keys/"+newID, nil, http.StatusOK), map[string]any{"default": true})
	if kid, _ := cfgJWTHeader(t, s.Token(t, worker)); kid != newID {
		t.Errorf("token after deleting the default: kid %s, want %s", kid, newID)
	}
	// Nothing signs with ENCRYPTION keys: the only one may give its default
	// up, and a default one may be deleted.
	encID := enc["id"].(string)
	wantFields(t, c.ok(t, "PUT", "/keys/"+encID, map[string]any{"usageType": "ENCRYPTION", "default": false}, http.StatusOK),
		map[string]any{"default": false})
	c.ok(t, "PUT", "/keys/"+encID, map[string]any{"usageType": "ENCRYPTION", "default": true}, http.StatusOK)
	c.ok(t, "DELETE", "/keys/"+encID, nil, http.StatusNoContent)
	if got := c.list(t, "/keys", "keys"); len(got) != 1 || got[0]["id"] != newID || got[0]["default"] != true {
		t.Errorf("keys at the end: %v", got)
	}
}

func TestKeyBadInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Bad keys")
			other := newCfgAPI(t, s, "Other")
			key := c.list(t, "/keys", "keys")[0]["id"].(string)
			foreign := other.list(t, "/keys", "keys")[0]["id"].(string)
			before := adminGet(t, s, c.url("/keys"))
			body := func(changes map[string]any) map[string]any {
				return cfgEcho(map[string]any{"name": "K", "algorithm": "RSA", "keyLength": 2048, "signatureAlgorithm": "SHA256withRSA",
					"subjectDN": "CN=K", "usageType": "SIGNING", "validityPeriod": 365}, changes)
			}
			cases := []struct {
				name   string
				method string
				path   string
				body   any
				want   wantErr
				check  func(t *testing.T, m map[string]any)
			}{
				{"missing name", "POST", "/keys", body(map[string]any{"name": nil}), cfgRequired("name"), nil},
				{"unknown algorithm", "POST", "/keys", body(map[string]any{"algorithm": "DSA"}), cfgBadValue("algorithm"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "RSA", "EC") }},
				{"RSA 1024", "POST", "/keys", body(map[string]any{"keyLength": 1024}), cfgBadValue("keyLength"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "2048", "3072", "4096") }},
				{"EC 512", "POST", "/keys", body(map[string]any{"algorithm": "EC", "keyLength": 512, "signatureAlgorithm": "SHA512withECDSA"}), cfgBadValue("keyLength"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "256", "384", "521") }},
				{"EC with an RSA signature", "POST", "/keys", body(map[string]any{"algorithm": "EC", "keyLength": 256}), cfgBadValue("signatureAlgorithm"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "SHA256withECDSA") }},
				{"P-384 with SHA-256", "POST", "/keys", body(map[string]any{"algorithm": "EC", "keyLength": 384, "signatureAlgorithm": "SHA256withECDSA"}), cfgBadValue("signatureAlgorithm"), nil},
				{"RSA with an EC signature", "POST", "/keys", body(map[string]any{"signatureAlgorithm": "SHA256withECDSA"}), cfgBadValue("signatureAlgorithm"), nil},
				{"missing subject", "POST", "/keys", body(map[string]any{"subjectDN": nil}), cfgRequired("subjectDN"), nil},
				{"subject not a DN", "POST", "/keys", body(map[string]any{"subjectDN": "just a name"}), cfgBadValue("subjectDN"), nil},
				{"subject with an unknown attribute", "POST", "/keys", body(map[string]any{"subjectDN": "CN=x, FOO=bar"}), cfgBadValue("subjectDN"), nil},
				{"TLS usage", "POST", "/keys", body(map[string]any{"usageType": "SSL/TLS"}), cfgBadValue("usageType"),
					func(t *testing.T, m map[string]any) { cfgWantAllowed(t, m, "SIGNING", "ENCRYPTION") }},
				{"missing usage", "POST", "/keys", body(map[string]any{"usageType": nil}), cfgRequired("usageType"), nil},
				{"validity 0 days", "POST", "/keys", body(map[string]any{"validityPeriod": 0}), cfgBadValue("validityPeriod"),
					func(t *testing.T, m map[string]any) { cfgWantRange(t, m, 1, 36500) }},
				{"missing validity", "POST", "/keys", body(map[string]any{"validityPeriod": nil}), cfgRequired("validityPeriod"), nil},
				{"key length a string", "POST", "/keys", body(map[string]any{"keyLength": "2048"}), wantErr{400, "INVALID_REQUEST", "INVALID_VALUE", "keyLength"}, nil},
				{"PUT changing the usage", "PUT", "/keys/" + key, map[string]any{"usageType": "ENCRYPTION", "default": true}, cfgBadValue("usageType"), nil},
				{"PUT without usage", "PUT", "/keys/" + key, map[string]any{"default": true}, cfgRequired("usageType"), nil},
				{"unknown key", "GET", "/keys/" + uuid.NewString(), nil, cfgNotFound, nil},
				{"another environment's key", "GET", "/keys/" + foreign, nil, cfgNotFound, nil},
				{"PUT another environment's key", "PUT", "/keys/" + foreign, map[string]any{"usageType": "SIGNING", "default": true}, cfgNotFound, nil},
				{"DELETE another environment's key", "DELETE", "/keys/" + foreign, nil, cfgNotFound, nil},
				{"DELETE the only signing key", "DELETE", "/keys/" + key, nil, cfgRequestFailed, nil},
				{"PUT default false on the only signing key", "PUT", "/keys/" + key, map[string]any{"usageType": "SIGNING", "default": false}, cfgBadValue("default"), nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := c.fail(t, tc.method, tc.path, tc.body, tc.want)
					if tc.check != nil {
						tc.check(t, m)
					}
				})
			}
			if after := adminGet(t, s, c.url("/keys")); string(after) != string(before) {
				t.Errorf("refused requests changed the keys:\n%s\n%s", before, after)
			}
			if got := other.list(t, "/keys", "keys"); len(got) != 1 || got[0]["default"] != true {
				t.Errorf("the other environment's keys: %v", got)
			}
		})
	}
}
