package mgmt_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

// The structs below are PingOne's Go SDK (management module) models as the
// SDK declares them — the same member names, Go types and omitempty — for
// the SAML application, the SAML identity provider and the certificate.
// Gatehouse may not import the SDK, so they are written out here. The SDK
// decodes with plain encoding/json after picking the model by protocol
// (applications) or type (identity providers), and its enums never fail:
// an unknown value becomes "UNKNOWN", which the Terraform provider then
// reports as drift. So a response decodes "as the SDK does" when
// json.Unmarshal into these succeeds and every enum is one the SDK lists.

type sdkLink struct {
	Href string `json:"href"`
}

type sdkObjectID struct {
	ID *string `json:"id,omitempty"`
}

type sdkApplicationSAML struct {
	Links         *map[string]sdkLink `json:"_links,omitempty"`
	AccessControl *struct {
		Role *struct {
			Type string `json:"type"`
		} `json:"role,omitempty"`
		Group *struct {
			Type   string `json:"type"`
			Groups []struct {
				ID string `json:"id"`
			} `json:"groups"`
		} `json:"group,omitempty"`
	} `json:"accessControl,omitempty"`
	CreatedAt           *time.Time   `json:"createdAt,omitempty"`
	Description         *string      `json:"description,omitempty"`
	Enabled             bool         `json:"enabled"`
	Environment         *sdkObjectID `json:"environment,omitempty"`
	HiddenFromAppPortal *bool        `json:"hiddenFromAppPortal,omitempty"`
	Icon                *struct {
		ID   string `json:"id"`
		Href string `json:"href"`
	} `json:"icon,omitempty"`
	ID                *string    `json:"id,omitempty"`
	LoginPageURL      *string    `json:"loginPageUrl,omitempty"`
	Name              string     `json:"name"`
	Protocol          string     `json:"protocol"`
	Type              string     `json:"type"`
	UpdatedAt         *time.Time `json:"updatedAt,omitempty"`
	HomePageURL       *string    `json:"homePageUrl,omitempty"`
	AcsUrls           []string   `json:"acsUrls"`
	AssertionDuration int32      `json:"assertionDuration"`
	AssertionSigned   *bool      `json:"assertionSigned,omitempty"`
	CorsSettings      *struct {
		Behavior string   `json:"behavior"`
		Origins  []string `json:"origins,omitempty"`
	} `json:"corsSettings,omitempty"`
	DefaultTargetURL                             *string `json:"defaultTargetUrl,omitempty"`
	EnableRequestedAuthnContext                  *bool   `json:"enableRequestedAuthnContext,omitempty"`
	EnableAlwaysAcceptAcsURLInSignedAuthnRequest *bool   `json:"enableAlwaysAcceptAcsUrlInSignedAuthnRequest,omitempty"`
	IdpSigning                                   *struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
		Algorithm *string `json:"algorithm,omitempty"`
	} `json:"idpSigning,omitempty"`
	NameIDFormat                *string `json:"nameIdFormat,omitempty"`
	ResponseSigned              *bool   `json:"responseSigned,omitempty"`
	SessionNotOnOrAfterDuration *int32  `json:"sessionNotOnOrAfterDuration,omitempty"`
	SloBinding                  *string `json:"sloBinding,omitempty"`
	SloEndpoint                 *string `json:"sloEndpoint,omitempty"`
	SloResponseEndpoint         *string `json:"sloResponseEndpoint,omitempty"`
	SloWindow                   *int32  `json:"sloWindow,omitempty"`
	SpEncryption                *struct {
		Algorithm   string `json:"algorithm"`
		Certificate struct {
			ID string `json:"id"`
		} `json:"certificate"`
	} `json:"spEncryption,omitempty"`
	SpEntityID     string `json:"spEntityId"`
	SpVerification *struct {
		AuthnRequestSigned *bool `json:"authnRequestSigned,omitempty"`
		Certificates       []struct {
			ID string `json:"id"`
		} `json:"certificates"`
	} `json:"spVerification,omitempty"`
	Template *struct {
		ID string `json:"id"`
	} `json:"template,omitempty"`
	VirtualServerIDSettings *struct {
		Enabled bool `json:"enabled"`
	} `json:"virtualServerIdSettings,omitempty"`
}

type sdkIdentityProviderSAML struct {
	Links       *map[string]sdkLink `json:"_links,omitempty"`
	Description *string             `json:"description,omitempty"`
	Enabled     bool                `json:"enabled"`
	Environment *sdkObjectID        `json:"environment,omitempty"`
	Icon        *struct {
		ID   string `json:"id"`
		Href string `json:"href"`
	} `json:"icon,omitempty"`
	ID              *string `json:"id,omitempty"`
	LoginButtonIcon *struct {
		ID   string `json:"id"`
		Href string `json:"href"`
	} `json:"loginButtonIcon,omitempty"`
	Name         string `json:"name"`
	Registration *struct {
		Population *sdkObjectID `json:"population,omitempty"`
	} `json:"registration,omitempty"`
	Type               string  `json:"type"`
	CreatedAt          *string `json:"createdAt,omitempty"`
	UpdatedAt          *string `json:"updatedAt,omitempty"`
	AuthnRequestSigned *bool   `json:"authnRequestSigned,omitempty"`
	IdpEntityID        string  `json:"idpEntityId"`
	IdpVerification    struct {
		Certificates []struct {
			ID string `json:"id"`
		} `json:"certificates"`
	} `json:"idpVerification"`
	SpEntityID string `json:"spEntityId"`
	SpSigning  *struct {
		Algorithm *string `json:"algorithm,omitempty"`
		Key       struct {
			ID string `json:"id"`
		} `json:"key"`
	} `json:"spSigning,omitempty"`
	SsoBinding          string  `json:"ssoBinding"`
	SsoEndpoint         string  `json:"ssoEndpoint"`
	SloBinding          *string `json:"sloBinding,omitempty"`
	SloEndpoint         *string `json:"sloEndpoint,omitempty"`
	SloResponseEndpoint *string `json:"sloResponseEndpoint,omitempty"`
	SloWindow           *int32  `json:"sloWindow,omitempty"`
}

type sdkCertificate struct {
	Links              *map[string]sdkLink `json:"_links,omitempty"`
	Algorithm          string              `json:"algorithm"`
	CreatedAt          *time.Time          `json:"createdAt,omitempty"`
	Default            *bool               `json:"default,omitempty"`
	Environment        *sdkObjectID        `json:"environment,omitempty"`
	ExpiresAt          *time.Time          `json:"expiresAt,omitempty"`
	ID                 *string             `json:"id,omitempty"`
	IssuerDN           *string             `json:"issuerDN,omitempty"`
	KeyLength          int32               `json:"keyLength"`
	Name               string              `json:"name"`
	Organization       *sdkObjectID        `json:"organization,omitempty"`
	SerialNumber       *big.Int            `json:"serialNumber,omitempty"`
	SignatureAlgorithm string              `json:"signatureAlgorithm"`
	StartsAt           *time.Time          `json:"startsAt,omitempty"`
	Status             *string             `json:"status,omitempty"`
	SubjectDN          string              `json:"subjectDN"`
	UsageType          string              `json:"usageType"`
	ValidityPeriod     int32               `json:"validityPeriod"`
	CustomCRL          *string             `json:"customCRL,omitempty"`
}

// The SDK's allowed enum values (anything else decodes as UNKNOWN).
var (
	sdkApplicationTypes  = []string{"WEB_APP", "NATIVE_APP", "SINGLE_PAGE_APP", "WORKER", "SERVICE", "CUSTOM_APP", "PING_ONE_SELF_SERVICE", "PING_ONE_ADMIN_CONSOLE", "PING_ONE_PORTAL", "TEMPLATE_APP", "PORTAL_LINK_APP"}
	sdkSignatureAlgs     = []string{"SHA256withRSA", "SHA384withRSA", "SHA512withRSA", "SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA"}
	sdkSAMLBindings      = []string{"HTTP_POST", "HTTP_REDIRECT"}
	sdkCertKeyAlgorithms = []string{"RSA", "EC", "UNKNOWN"}
	sdkCertKeyStatuses   = []string{"VALID", "EXPIRING", "EXPIRED", "NOT_YET_VALID", "REVOKED"}
	sdkCertKeyUsageTypes = []string{"ENCRYPTION", "SIGNING", "SSL/TLS", "ISSUANCE", "OUTBOUND_MTLS"}
)

// sdkDecodeApplication is ReadOneApplication200Response.UnmarshalJSON for
// protocol SAML: the protocol picks the model, then plain json.Unmarshal.
func sdkDecodeApplication(raw []byte) (*sdkApplicationSAML, error) {
	var common struct {
		Protocol string `json:"protocol"`
		Type     string `json:"type"`
	}
	if err := json.Unmarshal(raw, &common); err != nil {
		return nil, err
	}
	if common.Protocol != "SAML" {
		return nil, fmt.Errorf("protocol %q is not SAML", common.Protocol)
	}
	var a sdkApplicationSAML
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	var bad []string
	enum := func(name, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			bad = append(bad, name+"="+v)
		}
	}
	enum("type", a.Type, sdkApplicationTypes)
	if a.IdpSigning != nil && a.IdpSigning.Algorithm != nil {
		enum("idpSigning.algorithm", *a.IdpSigning.Algorithm, sdkSignatureAlgs)
	}
	if a.SloBinding != nil {
		enum("sloBinding", *a.SloBinding, sdkSAMLBindings)
	}
	if a.Name == "" || len(a.AcsUrls) == 0 || a.AssertionDuration == 0 || a.SpEntityID == "" || a.ID == nil || a.CreatedAt == nil {
		bad = append(bad, "a required member is empty")
	}
	if bad != nil {
		return nil, fmt.Errorf("not as the SDK reads it: %v", bad)
	}
	return &a, nil
}

// sdkDecodeIdentityProvider is IdentityProvider.UnmarshalJSON for type SAML.
func sdkDecodeIdentityProvider(raw []byte) (*sdkIdentityProviderSAML, error) {
	var common struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &common); err != nil {
		return nil, err
	}
	if common.Type != "SAML" {
		return nil, fmt.Errorf("type %q is not SAML", common.Type)
	}
	var p sdkIdentityProviderSAML
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	var bad []string
	if !slices.Contains(sdkSAMLBindings, p.SsoBinding) {
		bad = append(bad, "ssoBinding="+p.SsoBinding)
	}
	if p.SloBinding != nil && !slices.Contains(sdkSAMLBindings, *p.SloBinding) {
		bad = append(bad, "sloBinding="+*p.SloBinding)
	}
	if p.SpSigning != nil && p.SpSigning.Algorithm != nil && !slices.Contains(sdkSignatureAlgs, *p.SpSigning.Algorithm) {
		bad = append(bad, "spSigning.algorithm="+*p.SpSigning.Algorithm)
	}
	if p.Name == "" || p.IdpEntityID == "" || p.SpEntityID == "" || p.SsoEndpoint == "" || len(p.IdpVerification.Certificates) == 0 || p.ID == nil {
		bad = append(bad, "a required member is empty")
	}
	if bad != nil {
		return nil, fmt.Errorf("not as the SDK reads it: %v", bad)
	}
	return &p, nil
}

// sdkDecodeCertificate is the SDK's Certificate (also what GetKey returns).
func sdkDecodeCertificate(raw []byte) (*sdkCertificate, error) {
	var c sdkCertificate
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	var bad []string
	if !slices.Contains(sdkCertKeyAlgorithms, c.Algorithm) || c.Algorithm == "UNKNOWN" {
		bad = append(bad, "algorithm="+c.Algorithm)
	}
	if !slices.Contains(sdkSignatureAlgs, c.SignatureAlgorithm) {
		bad = append(bad, "signatureAlgorithm="+c.SignatureAlgorithm)
	}
	if !slices.Contains(sdkCertKeyUsageTypes, c.UsageType) {
		bad = append(bad, "usageType="+c.UsageType)
	}
	if c.Status == nil || !slices.Contains(sdkCertKeyStatuses, *c.Status) {
		bad = append(bad, "status")
	}
	if c.SerialNumber == nil || c.SerialNumber.Sign() <= 0 || c.KeyLength == 0 || c.SubjectDN == "" || c.Name == "" || c.ID == nil ||
		c.StartsAt == nil || c.ExpiresAt == nil || c.ValidityPeriod == 0 {
		bad = append(bad, "a member PingOne always returns is empty")
	}
	if bad != nil {
		return nil, fmt.Errorf("not as the SDK reads it: %v", bad)
	}
	return &c, nil
}

// embedded returns the raw members of a list's _embedded.<name>.
func embedded(t *testing.T, body []byte, name string) []json.RawMessage {
	t.Helper()
	var l struct {
		Embedded map[string][]json.RawMessage `json:"_embedded"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return l.Embedded[name]
}

// TestSAMLResponsesDecodeAsSDK: every SAML application, SAML identity
// provider, certificate and key Gatehouse returns — created, read, listed
// and through /certificates|keys/{id}/applications — decodes into the SDK's
// models the way the SDK decodes them, with every enum one it knows.
func TestSAMLResponsesDecodeAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLResponsesDecodeAsSDK(t, newCfgAPI(t, s, "SAML SDK decode"))
		})
	}
}

func testSAMLResponsesDecodeAsSDK(t *testing.T, c cfgAPI) {
	s := c.s
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	partner := newPartnerCert(t, "partner.example", partnerRSA(t), nil, false, now.Add(-day), now.Add(30*day))
	certRaw := c.upload(t, "SIGNING", certPEM(partner.cert.Raw))
	certID := checkID(t, must(t, certRaw, http.StatusAccepted), "id")
	keyID, _ := defaultSigningKeyID(t, s, c.env)
	ecKey := samlKey(t, s, c.env, "EC", 256, "SHA256withECDSA", "SIGNING")

	do := func(method, path string, body any, status int) []byte {
		t.Helper()
		r := doNo5xx(t, s, apptest.Request{Method: method, URL: c.url(path), Token: c.tok, Body: body,
			Headers: http.Header{"Accept": {"application/json"}, "User-Agent": {apptest.SDKUserAgent}}})
		must(t, r, status)
		return r.Body
	}

	// Applications: the workflow's minimal one and one with every option.
	minimal := samlAppBody("minimal", "urn:sdk:minimal", c.env, keyID)
	delete(minimal, "idpSigning")
	full := samlAppBody("full", "urn:sdk:full", c.env, ecKey)
	full["idpSigning"] = map[string]any{"key": map[string]any{"id": ecKey}, "algorithm": "SHA256withECDSA"}
	for k, v := range map[string]any{
		"homePageUrl": "https://sp.example/home", "loginPageUrl": "https://sp.example/login", "defaultTargetUrl": "https://sp.example/deep",
		"nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "sessionNotOnOrAfterDuration": 600,
		"enableRequestedAuthnContext": true, "enableAlwaysAcceptAcsUrlInSignedAuthnRequest": true, "hiddenFromAppPortal": true,
		"spVerification": map[string]any{"authnRequestSigned": true, "certificates": []any{map[string]any{"id": certID}}},
		"sloBinding":     "HTTP_REDIRECT", "sloEndpoint": "https://sp.example/slo", "sloResponseEndpoint": "https://sp.example/slo/response", "sloWindow": 2,
		"responseSigned": true, "type": "CUSTOM_APP",
	} {
		full[k] = v
	}
	var appIDs []string
	for _, body := range []map[string]any{minimal, full} {
		raw := do("POST", "/applications", body, http.StatusCreated)
		a, err := sdkDecodeApplication(raw)
		if err != nil {
			t.Fatalf("POST %s: %v\n%s", body["name"], err, raw)
		}
		appIDs = append(appIDs, *a.ID)
		raw = do("GET", "/applications/"+*a.ID, nil, http.StatusOK)
		if _, err := sdkDecodeApplication(raw); err != nil {
			t.Fatalf("GET %s: %v\n%s", body["name"], err, raw)
		}
		if a.IdpSigning == nil || a.IdpSigning.Algorithm == nil || a.AssertionSigned == nil || a.ResponseSigned == nil || a.SloBinding == nil ||
			a.HiddenFromAppPortal == nil || a.Environment == nil || a.Links == nil {
			t.Errorf("%s: a member PingOne always returns is absent:\n%s", body["name"], raw)
		}
		// Terraform's nameid_format and enable_requested_authn_context are
		// Optional, not Computed: a value the configuration did not set
		// fails the apply ("inconsistent result"). So they come back
		// exactly when sent.
		_, sentFormat := body["nameIdFormat"]
		_, sentAuthnContext := body["enableRequestedAuthnContext"]
		if (a.NameIDFormat != nil) != sentFormat || (a.EnableRequestedAuthnContext != nil) != sentAuthnContext {
			t.Errorf("%s: nameIdFormat / enableRequestedAuthnContext shown though not sent, or lost:\n%s", body["name"], raw)
		}
	}
	fullApp, _ := sdkDecodeApplication(do("GET", "/applications/"+appIDs[1], nil, http.StatusOK))
	if fullApp.SpVerification == nil || len(fullApp.SpVerification.Certificates) != 1 || fullApp.SpVerification.Certificates[0].ID != certID ||
		*fullApp.SloWindow != 2 || *fullApp.SessionNotOnOrAfterDuration != 600 || fullApp.Type != "CUSTOM_APP" || *fullApp.IdpSigning.Algorithm != "SHA256withECDSA" {
		t.Errorf("the full application did not come back as sent: %+v", fullApp)
	}
	n := 0
	for _, raw := range embedded(t, do("GET", "/applications", nil, http.StatusOK), "applications") {
		if _, err := sdkDecodeApplication(raw); err == nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the list has %d SAML applications the SDK reads, want 2", n)
	}
	for _, p := range []string{"/certificates/" + certID + "/applications", "/keys/" + ecKey + "/applications"} {
		items := embedded(t, do("GET", p, nil, http.StatusOK), "applications")
		if len(items) != 1 {
			t.Fatalf("%s: %d applications, want 1", p, len(items))
		}
		if _, err := sdkDecodeApplication(items[0]); err != nil {
			t.Errorf("%s: %v\n%s", p, err, items[0])
		}
	}

	// Identity providers: the workflow's and one with every option.
	idp := samlIDPBody("workflow", "src", "urn:sdk:sp", certID)
	fullIdP := samlIDPBody("full", "src2", "urn:sdk:sp2", certID)
	for k, v := range map[string]any{
		"authnRequestSigned": true, "ssoBinding": "HTTP_REDIRECT",
		"spSigning":  map[string]any{"key": map[string]any{"id": keyID}, "algorithm": "SHA256withRSA"},
		"sloBinding": "HTTP_REDIRECT", "sloEndpoint": "https://idp.example/slo", "sloResponseEndpoint": "https://idp.example/slo/r", "sloWindow": 3,
	} {
		fullIdP[k] = v
	}
	for _, body := range []map[string]any{idp, fullIdP} {
		raw := do("POST", "/identityProviders", body, http.StatusCreated)
		p, err := sdkDecodeIdentityProvider(raw)
		if err != nil {
			t.Fatalf("POST %s: %v\n%s", body["name"], err, raw)
		}
		raw = do("GET", "/identityProviders/"+*p.ID, nil, http.StatusOK)
		if _, err := sdkDecodeIdentityProvider(raw); err != nil {
			t.Fatalf("GET %s: %v\n%s", body["name"], err, raw)
		}
		if p.AuthnRequestSigned == nil || p.SloBinding == nil || p.CreatedAt == nil {
			t.Errorf("%s: a member PingOne always returns is absent:\n%s", body["name"], raw)
		}
		if _, err := time.Parse(time.RFC3339, *p.CreatedAt); err != nil {
			t.Errorf("%s: createdAt %q: %v", body["name"], *p.CreatedAt, err)
		}
	}
	// Terraform's saml.sp_signing.algorithm is Optional, not Computed:
	// a provider whose spSigning names only the key reads back without an
	// algorithm (else every such apply fails as inconsistent).
	keyOnly := samlIDPBody("key only", "src3", "urn:sdk:sp3", certID)
	keyOnly["spSigning"] = map[string]any{"key": map[string]any{"id": keyID}}
	ko, err := sdkDecodeIdentityProvider(do("POST", "/identityProviders", keyOnly, http.StatusCreated))
	if err != nil {
		t.Fatal(err)
	}
	ko, _ = sdkDecodeIdentityProvider(do("GET", "/identityProviders/"+*ko.ID, nil, http.StatusOK))
	if ko.SpSigning == nil || ko.SpSigning.Key.ID != keyID || ko.SpSigning.Algorithm != nil {
		t.Errorf("spSigning sent with a key only came back as %+v", ko.SpSigning)
	}

	n = 0
	for _, raw := range embedded(t, do("GET", "/identityProviders", nil, http.StatusOK), "identityProviders") {
		if _, err := sdkDecodeIdentityProvider(raw); err == nil {
			n++
		}
	}
	if n != 3 {
		t.Errorf("the list has %d SAML providers the SDK reads, want 3", n)
	}

	// Certificates and keys, as the SDK's Certificate.
	cert, err := sdkDecodeCertificate(certRaw.Body)
	if err != nil {
		t.Fatalf("POST /certificates: %v\n%s", err, certRaw.Body)
	}
	if cert.SerialNumber.Cmp(partner.cert.SerialNumber) != 0 {
		t.Errorf("serialNumber %v, want %v", cert.SerialNumber, partner.cert.SerialNumber)
	}
	for _, p := range []string{"/certificates/" + certID, "/keys/" + keyID, "/keys/" + ecKey} {
		raw := do("GET", p, nil, http.StatusOK)
		if _, err := sdkDecodeCertificate(raw); err != nil {
			t.Errorf("GET %s: %v\n%s", p, err, raw)
		}
	}
	for _, l := range []struct{ path, name string }{{"/certificates", "certificates"}, {"/keys", "keys"}} {
		items := embedded(t, do("GET", l.path, nil, http.StatusOK), l.name)
		if len(items) == 0 {
			t.Fatalf("%s is empty", l.path)
		}
		for _, raw := range items {
			if _, err := sdkDecodeCertificate(raw); err != nil {
				t.Errorf("%s: %v\n%s", l.path, err, raw)
			}
		}
	}
}

// TestSDKDecodersRefuse: the decoders above refuse what the SDK would
// misread, so TestSAMLResponsesDecodeAsSDK can fail.
func TestSDKDecodersRefuse(t *testing.T) {
	app := `{"id":"a","name":"n","protocol":"SAML","type":"WEB_APP","enabled":true,"acsUrls":["https://sp/acs"],"assertionDuration":60,"spEntityId":"e","createdAt":"2026-01-01T00:00:00.000Z"%s}`
	idp := `{"id":"i","name":"n","type":"SAML","enabled":true,"idpEntityId":"x","spEntityId":"e","ssoEndpoint":"https://idp/sso","ssoBinding":"HTTP_POST","idpVerification":{"certificates":[{"id":"c"}]}%s}`
	cert := `{"id":"c","name":"n","algorithm":"RSA","keyLength":2048,"signatureAlgorithm":"SHA256withRSA","subjectDN":"CN=x","usageType":"SIGNING","validityPeriod":1,"status":"VALID","serialNumber":5,"startsAt":"2026-01-01T00:00:00.000Z","expiresAt":"2026-02-01T00:00:00.000Z"%s}`
	for _, c := range []struct {
		name, raw string
		decode    func([]byte) error
		ok        bool
	}{
		{"app", fmt.Sprintf(app, ""), func(b []byte) error { _, err := sdkDecodeApplication(b); return err }, true},
		{"app createdAt not a time", fmt.Sprintf(app, `,"createdAt":"yesterday"`), func(b []byte) error { _, err := sdkDecodeApplication(b); return err }, false},
		{"app unknown algorithm", fmt.Sprintf(app, `,"idpSigning":{"key":{"id":"k"},"algorithm":"SHA1withRSA"}`), func(b []byte) error { _, err := sdkDecodeApplication(b); return err }, false},
		{"app duration a string", fmt.Sprintf(app, `,"assertionDuration":"60"`), func(b []byte) error { _, err := sdkDecodeApplication(b); return err }, false},
		{"app OIDC", `{"protocol":"OPENID_CONNECT"}`, func(b []byte) error { _, err := sdkDecodeApplication(b); return err }, false},
		{"idp", fmt.Sprintf(idp, ""), func(b []byte) error { _, err := sdkDecodeIdentityProvider(b); return err }, true},
		{"idp authnRequestSigned a string", fmt.Sprintf(idp, `,"authnRequestSigned":"false"`), func(b []byte) error { _, err := sdkDecodeIdentityProvider(b); return err }, false},
		{"idp bad binding", fmt.Sprintf(idp, `,"sloBinding":"SOAP"`), func(b []byte) error { _, err := sdkDecodeIdentityProvider(b); return err }, false},
		{"idp no certificates", strings.Replace(fmt.Sprintf(idp, ""), `[{"id":"c"}]`, `[]`, 1), func(b []byte) error { _, err := sdkDecodeIdentityProvider(b); return err }, false},
		{"cert", fmt.Sprintf(cert, ""), func(b []byte) error { _, err := sdkDecodeCertificate(b); return err }, true},
		{"cert serial a string", fmt.Sprintf(cert, `,"serialNumber":"5"`), func(b []byte) error { _, err := sdkDecodeCertificate(b); return err }, false},
		{"cert SHA-1 signature name", fmt.Sprintf(cert, `,"signatureAlgorithm":"SHA1withRSA"`), func(b []byte) error { _, err := sdkDecodeCertificate(b); return err }, false},
		{"cert no status", strings.Replace(fmt.Sprintf(cert, ""), `"status":"VALID",`, ``, 1), func(b []byte) error { _, err := sdkDecodeCertificate(b); return err }, false},
	} {
		if err := c.decode([]byte(c.raw)); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok = %v", c.name, err, c.ok)
		}
	}
}

// TestSAMLMappingsAsTerraform: a SAML application's mappings written as
// PingOne's Terraform provider (pingone_application_attribute_mapping)
// writes them. The provider reads nameFormat back into
// saml_subject_nameformat, which is Optional and not Computed, for every
// mapping: it must come back exactly as sent, and be absent when not sent.
// Its acceptance test against PingOne sets the CORE saml_subject's
// nameFormat to attrname-format:uri, then removes it.
func TestSAMLMappingsAsTerraform(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testSAMLMappingsAsTerraform(t, newCfgAPI(t, s, "SAML mappings as Terraform"))
		})
	}
}

func testSAMLMappingsAsTerraform(t *testing.T, c cfgAPI) {
	s := c.s
	keyID, _ := defaultSigningKeyID(t, s, c.env)
	do := func(method, path string, body any, status int) map[string]any {
		t.Helper()
		return must(t, doNo5xx(t, s, apptest.Request{Method: method, URL: c.url(path), Token: c.tok, Body: body,
			Headers: http.Header{"User-Agent": {apptest.SDKUserAgent}}}), status)
	}
	app := do("POST", "/applications", samlAppBody("tf mappings", "urn:tf:mappings", c.env, keyID), http.StatusCreated)
	attrs := "/applications/" + app["id"].(string) + "/attributes"
	list := do("GET", attrs, nil, http.StatusOK)["_embedded"].(map[string]any)["attributes"].([]any)
	core := list[0].(map[string]any)
	if _, ok := core["nameFormat"]; ok {
		t.Errorf("the new CORE saml_subject shows a nameFormat nobody set: %v", core)
	}
	coreURL := attrs + "/" + core["id"].(string)

	// Full step: the provider reads the CORE mapping and PUTs it back
	// with value and nameFormat set.
	const uriFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	full := with(core, "value", "${user.email}", "nameFormat", uriFormat)
	got := do("PUT", coreURL, full, http.StatusOK)
	wantFields(t, got, map[string]any{"name": "saml_subject", "value": "${user.email}", "required": true, "mappingType": "CORE", "nameFormat": uriFormat})
	wantFields(t, do("GET", coreURL, nil, http.StatusOK), map[string]any{"nameFormat": uriFormat})

	// Minimal step: the same PUT with nameFormat left out removes it.
	minimal := with(core, "value", "${user.id}")
	delete(minimal, "nameFormat")
	got = do("PUT", coreURL, minimal, http.StatusOK)
	if _, ok := got["nameFormat"]; ok {
		t.Errorf("nameFormat left out of the PUT is still shown: %v", got)
	}

	// A custom mapping as the provider sends it: the SDK's
	// NewApplicationAttributeMapping with idToken and userInfo true (the
	// provider sets them whatever the protocol) and no nameFormat.
	custom := do("POST", attrs, map[string]any{"name": "email", "value": "${user.email}", "required": false, "idToken": true, "userInfo": true}, http.StatusCreated)
	if _, ok := custom["nameFormat"]; ok {
		t.Errorf("a custom mapping created without nameFormat shows one: %v", custom)
	}
	wantFields(t, custom, map[string]any{"name": "email", "value": "${user.email}", "required": false, "mappingType": "CUSTOM"})
}
