package mgmt_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/smallstep/pkcs7"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// partnerCert is a certificate a partner would hand over, and its key.
type partnerCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newPartnerCert makes a certificate for cn, signed by parent (self-signed
// when nil), valid from notBefore to notAfter, with a serial beyond int64.
func newPartnerCert(t testing.TB, cn string, key crypto.Signer, parent *partnerCert, ca bool, notBefore, notAfter time.Time) partnerCert {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	serial.SetBit(serial, 100, 1)
	tmpl := &x509.Certificate{
		SerialNumber: serial, NotBefore: notBefore, NotAfter: notAfter,
		Subject:               pkix.Name{CommonName: cn, OrganizationalUnit: []string{"Identity"}, Organization: []string{"Partner, Inc."}, Country: []string{"US"}},
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return partnerCert{cert: c, key: key}
}

func partnerRSA(t testing.TB) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func partnerEC(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certPEM(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

func certP7(t testing.TB, ders ...[]byte) []byte {
	t.Helper()
	out, err := pkcs7.DegenerateCertificate(bytes.Join(ders, nil))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// formPart is one part of a multipart upload: a field, or a file when
// filename is set.
type formPart struct {
	name, filename string
	body           []byte
}

// uploadBody writes the multipart form PingOne's SDK writes for
// CreateCertificateFromFile (its prepareRequest): the form fields, then
// the file as a form file named "file".
func uploadBody(t testing.TB, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		var pw interface{ Write([]byte) (int, error) }
		if p.filename != "" {
			h := make(textproto.MIMEHeader)
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.filename+`"`)
			h.Set("Content-Type", "application/octet-stream")
			pw, err = w.CreatePart(h)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.body)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// upload posts file with usageType as the SDK does.
func (c cfgAPI) upload(t testing.TB, usageType string, file []byte) *apptest.Response {
	t.Helper()
	body, ct := uploadBody(t, formPart{name: "usageType", body: []byte(usageType)}, formPart{name: "file", filename: "file", body: file})
	return c.uploadRaw(t, body, ct)
}

func (c cfgAPI) uploadRaw(t testing.TB, body []byte, contentType string) *apptest.Response {
	t.Helper()
	return doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url("/certificates"), Token: c.tok, Body: body, ContentType: contentType,
		Headers: http.Header{"Accept": {"application/json"}, "User-Agent": {apptest.SDKUserAgent}}})
}

// exported reads path with Accept and returns the body, checking the
// Content-Type answered.
func (c cfgAPI) exported(t testing.TB, path, accept, wantType string) []byte {
	t.Helper()
	r := doNo5xx(t, c.s, apptest.Request{Method: "GET", URL: c.url(path), Token: c.tok, Headers: http.Header{"Accept": {accept}}})
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != wantType {
		t.Fatalf("GET %s Accept %s: %d %q %s", path, accept, r.Status, r.Header.Get("Content-Type"), trimBody(r.Body))
	}
	return r.Body
}

// exactSerial reads a body's serialNumber exactly (beyond float64).
func exactSerial(t testing.TB, body []byte) string {
	t.Helper()
	var m struct {
		SerialNumber json.Number `json:"serialNumber"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.SerialNumber.String()
}

// TestCertificatesAsSDK: certificates uploaded as PingOne's SDK uploads
// them (PEM, DER, PKCS#7 DER and PEM, a chain), read back as JSON, PEM and
// PKCS#7, listed and deleted; a key's certificate exported from one
// environment is trusted in another, as PingOne's "test a SAML application
// connection" workflow does.
func TestCertificatesAsSDK(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testCertificatesAsSDK(t, newCfgAPI(t, s, "Certificates"), newCfgAPI(t, s, "Certificates B"))
		})
	}
}

func testCertificatesAsSDK(t *testing.T, c, other cfgAPI) {
	s := c.s
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	rsaCert := newPartnerCert(t, "sp.partner.example", partnerRSA(t), nil, false, now.Add(-day), now.Add(30*day))

	// PEM, SIGNING: every field PingOne returns, from the certificate.
	r := c.upload(t, "SIGNING", certPEM(rsaCert.cert.Raw))
	created := must(t, r, http.StatusAccepted)
	id := checkID(t, created, "id")
	for _, f := range []string{"startsAt", "expiresAt", "createdAt"} {
		checkTime(t, created, f)
	}
	dn := "CN=sp.partner.example, OU=Identity, O=Partner\\, Inc., C=US"
	wantFields(t, created, map[string]any{"name": "sp.partner.example", "algorithm": "RSA", "keyLength": 2048, "signatureAlgorithm": "SHA256withRSA",
		"subjectDN": dn, "issuerDN": dn, "usageType": "SIGNING", "default": false, "validityPeriod": 31, "status": "VALID",
		"startsAt": now.Add(-day).UTC().Format("2006-01-02T15:04:05.000Z"), "expiresAt": now.Add(30 * day).UTC().Format("2006-01-02T15:04:05.000Z"),
		"environment.id": c.env, "organization.id": s.OrganizationID(t),
		"_links.self.href": s.APIPath + "/environments/" + c.env + "/certificates/" + id, "_links.environment.href": s.APIPath + "/environments/" + c.env})
	if got := keysOf(created); strings.Join(got, ",") != "_links,algorithm,createdAt,default,environment,expiresAt,id,issuerDN,keyLength,name,organization,serialNumber,signatureAlgorithm,startsAt,status,subjectDN,usageType,validityPeriod" {
		t.Errorf("fields = %v", got)
	}
	if got := exactSerial(t, r.Body); got != rsaCert.cert.SerialNumber.String() {
		t.Errorf("serialNumber = %s, want %s (beyond int64)", got, rsaCert.cert.SerialNumber)
	}
	// GET answers what POST did.
	got := c.do(t, "GET", "/certificates/"+id, nil)
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, r.Body) {
		t.Errorf("GET = %d %s\nPOST = %s", got.Status, got.Body, r.Body)
	}

	// DER, EC, ENCRYPTION.
	ecCert := newPartnerCert(t, "idp.partner.example", partnerEC(t), nil, false, now.Add(-time.Hour), now.Add(400*day))
	ec := must(t, c.upload(t, "ENCRYPTION", ecCert.cert.Raw), http.StatusAccepted)
	wantFields(t, ec, map[string]any{"algorithm": "EC", "keyLength": 256, "signatureAlgorithm": "SHA256withECDSA", "usageType": "ENCRYPTION", "validityPeriod": 400})

	// A chain in PKCS#7 DER, root first: the leaf is kept.
	root := newPartnerCert(t, "Partner Root", partnerRSA(t), nil, true, now.Add(-day), now.Add(900*day))
	leaf := newPartnerCert(t, "signing.partner.example", partnerEC(t), &root, false, now.Add(-day), now.Add(60*day))
	chain := must(t, c.upload(t, "SIGNING", certP7(t, root.cert.Raw, leaf.cert.Raw)), http.StatusAccepted)
	wantFields(t, chain, map[string]any{"name": "signing.partner.example", "algorithm": "EC", "signatureAlgorithm": "SHA256withRSA",
		"subjectDN": "CN=signing.partner.example, OU=Identity, O=Partner\\, Inc., C=US", "issuerDN": "CN=Partner Root, OU=Identity, O=Partner\\, Inc., C=US"})
	chainID := chain["id"].(string)
	if got := c.exported(t, "/certificates/"+chainID, "application/x-x509-ca-cert", "application/x-x509-ca-cert"); !bytes.Equal(got, certPEM(leaf.cert.Raw)) {
		t.Errorf("the chain's certificate exports as %s", got)
	}
	// PKCS#7 as PEM.
	p7pem := pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: certP7(t, ecCert.cert.Raw)})
	wantFields(t, must(t, c.upload(t, "SIGNING", p7pem), http.StatusAccepted), map[string]any{"name": "idp.partner.example"})

	// The list, in upload order.
	list := c.list(t, "/certificates", "certificates")
	if len(list) != 4 || list[0]["id"] != id || list[1]["id"] != ec["id"] || list[2]["id"] != chainID {
		t.Fatalf("list = %v", list)
	}
	wantFields(t, list[0], map[string]any{"subjectDN": dn, "status": "VALID"})

	// The certificate itself: PEM, PEM with JSON beside it (as PingOne
	// recommends), PKCS#7 DER.
	for _, accept := range []string{"application/x-x509-ca-cert", "application/x-x509-ca-cert, application/json", "application/json;q=0.9, application/x-x509-ca-cert"} {
		if got := c.exported(t, "/certificates/"+id, accept, "application/x-x509-ca-cert"); !bytes.Equal(got, certPEM(rsaCert.cert.Raw)) {
			t.Errorf("Accept %s: %s", accept, got)
		}
	}
	p7, err := pkcs7.Parse(c.exported(t, "/certificates/"+id, "application/x-pkcs7-certificates, application/json", "application/x-pkcs7-certificates"))
	if err != nil || len(p7.Certificates) != 1 || !bytes.Equal(p7.Certificates[0].Raw, rsaCert.cert.Raw) {
		t.Fatalf("PKCS#7 export: %v", err)
	}
	// q=0 refuses a type: JSON.
	if r := c.do(t, "GET", "/certificates/"+id, nil); r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("default answer is %s", r.Header.Get("Content-Type"))
	}
	r = doNo5xx(t, s, apptest.Request{Method: "GET", URL: c.url("/certificates/" + id), Token: c.tok, Headers: http.Header{"Accept": {"application/x-x509-ca-cert;q=0, application/json"}}})
	must(t, r, http.StatusOK)

	// A key's certificate, exported from this environment (PEM and PKCS#7,
	// as PingOne's workflow downloads it) and uploaded to another, is the
	// same certificate there.
	keyList := c.list(t, "/keys", "keys")
	keyID := keyList[0]["id"].(string)
	keyPEM := c.exported(t, "/keys/"+keyID, "application/x-x509-ca-cert", "application/x-x509-ca-cert")
	keyP7 := c.exported(t, "/keys/"+keyID, "application/x-pkcs7-certificates", "application/x-pkcs7-certificates")
	kp7, err := pkcs7.Parse(keyP7)
	if err != nil || len(kp7.Certificates) != 1 {
		t.Fatalf("key PKCS#7: %v", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil || !bytes.Equal(block.Bytes, kp7.Certificates[0].Raw) {
		t.Fatal("the key's PEM and PKCS#7 exports differ")
	}
	keyBody := c.do(t, "GET", "/keys/"+keyID, nil).Body
	for _, file := range [][]byte{keyPEM, keyP7} {
		r := other.upload(t, "SIGNING", file)
		up := must(t, r, http.StatusAccepted)
		// X.509 keeps whole seconds; the key's expiresAt has milliseconds.
		keyExpires, _ := time.Parse(time.RFC3339, keyList[0]["expiresAt"].(string))
		wantFields(t, up, map[string]any{"algorithm": keyList[0]["algorithm"], "keyLength": keyList[0]["keyLength"],
			"signatureAlgorithm": keyList[0]["signatureAlgorithm"], "expiresAt": keyExpires.Truncate(time.Second).Format("2006-01-02T15:04:05.000Z"),
			"environment.id": other.env})
		if exactSerial(t, r.Body) != exactSerial(t, keyBody) {
			t.Errorf("serial %s, the key's %s", exactSerial(t, r.Body), exactSerial(t, keyBody))
		}
		if got := other.exported(t, "/certificates/"+up["id"].(string), "application/x-x509-ca-cert", "application/x-x509-ca-cert"); !bytes.Equal(got, keyPEM) {
			t.Error("the uploaded key certificate exports differently")
		}
	}

	// Delete: 204, then gone.
	must(t, c.do(t, "DELETE", "/certificates/"+id, nil), http.StatusNoContent)
	c.fail(t, "GET", "/certificates/"+id, nil, wantErr{status: http.StatusNotFound, code: "NOT_FOUND"})
	c.fail(t, "DELETE", "/certificates/"+id, nil, wantErr{status: http.StatusNotFound, code: "NOT_FOUND"})
	if got := c.list(t, "/certificates", "certificates"); len(got) != 3 {
		t.Errorf("%d certificates after a delete, want 3", len(got))
	}
}

// TestCertificateBadInput: every bad upload is refused with PingOne's
// error, naming the field, and nothing is written; unknown, malformed
// and other environments' ids are 404 everywhere.
func TestCertificateBadInput(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testCertificateBadInput(t, newCfgAPI(t, s, "Bad certificates"), newCfgAPI(t, s, "Other"))
		})
	}
}

func testCertificateBadInput(t *testing.T, c, other cfgAPI) {
	now := time.Now()
	day := 24 * time.Hour
	good := newPartnerCert(t, "good.partner.example", partnerEC(t), nil, false, now.Add(-day), now.Add(day))
	stranger := newPartnerCert(t, "stranger.example", partnerEC(t), nil, false, now.Add(-day), now.Add(day))
	expired := newPartnerCert(t, "expired.example", partnerEC(t), nil, false, now.Add(-10*day), now.Add(-day))
	future := newPartnerCert(t, "future.example", partnerEC(t), nil, false, now.Add(day), now.Add(10*day))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed := newPartnerCert(t, "ed.example", edKey, nil, false, now.Add(-day), now.Add(day))
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(good.key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	goodPEM := certPEM(good.cert.Raw)
	usage := formPart{name: "usageType", body: []byte("SIGNING")}
	file := func(b []byte) formPart { return formPart{name: "file", filename: "cert.pem", body: b} }
	invalid := func(detail, target string) wantErr {
		return wantErr{status: http.StatusBadRequest, code: "INVALID_DATA", detail: detail, target: target}
	}
	badFile := invalid("INVALID_VALUE", "file")

	for _, tt := range []struct {
		name  string
		parts []formPart
		want  wantErr
	}{
		{"no file", []formPart{usage}, invalid("REQUIRED_VALUE", "file")},
		{"no usageType", []formPart{file(goodPEM)}, invalid("REQUIRED_VALUE", "usageType")},
		{"usageType not served", []formPart{{name: "usageType", body: []byte("SSL/TLS")}, file(goodPEM)}, invalid("INVALID_VALUE", "usageType")},
		{"usageType in lower case", []formPart{{name: "usageType", body: []byte("signing")}, file(goodPEM)}, invalid("INVALID_VALUE", "usageType")},
		{"usageType too long", []formPart{{name: "usageType", body: bytes.Repeat([]byte("S"), 500)}, file(goodPEM)}, invalid("INVALID_VALUE", "usageType")},
		{"two files", []formPart{usage, file(goodPEM), file(goodPEM)}, badFile},
		{"empty file", []formPart{usage, file(nil)}, badFile},
		{"garbage", []formPart{usage, file([]byte("<html>not a certificate</html>"))}, badFile},
		{"a private key", []formPart{usage, file(keyPEM)}, badFile},
		{"a certificate with its key", []formPart{usage, file(append(append([]byte{}, goodPEM...), keyPEM...))}, badFile},
		{"a DER private key", []formPart{usage, file(pkcs8)}, badFile},
		{"two unrelated certificates", []formPart{usage, file(certPEM(good.cert.Raw, stranger.cert.Raw))}, badFile},
		{"two unrelated certificates in PKCS#7", []formPart{usage, file(certP7(t, good.cert.Raw, stranger.cert.Raw))}, badFile},
		{"an expired certificate", []formPart{usage, file(certPEM(expired.cert.Raw))}, badFile},
		{"a certificate not yet valid", []formPart{usage, file(certPEM(future.cert.Raw))}, badFile},
		{"an Ed25519 certificate", []formPart{usage, file(certPEM(ed.cert.Raw))}, badFile},
		{"a file over 64 KiB", []formPart{usage, file(append(append([]byte{}, goodPEM...), bytes.Repeat([]byte("\n"), 64<<10)...))}, invalid("SIZE_LIMIT_EXCEEDED", "file")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := uploadBody(t, tt.parts...)
			m := checkAnswer(t, c.uploadRaw(t, body, ct), tt.want)
			if msg := get(m, "details"); msg == nil {
				t.Errorf("no details: %v", m)
			}
		})
	}
	// The body itself.
	body, ct := uploadBody(t, usage, file(goodPEM))
	checkAnswer(t, c.uploadRaw(t, body, "application/json"), wantErr{status: http.StatusUnsupportedMediaType, code: "INVALID_REQUEST", detail: "INVALID_VALUE", target: "Content-Type"})
	checkAnswer(t, c.uploadRaw(t, goodPEM, "application/x-pem-file"), wantErr{status: http.StatusUnsupportedMediaType, code: "INVALID_REQUEST", detail: "INVALID_VALUE", target: "Content-Type"})
	checkAnswer(t, c.uploadRaw(t, body, "-"), wantErr{status: http.StatusUnsupportedMediaType, code: "INVALID_REQUEST", detail: "INVALID_VALUE", target: "Content-Type"})
	checkAnswer(t, c.uploadRaw(t, body, "multipart/form-data"), wantErr{status: http.StatusBadRequest, code: "INVALID_REQUEST", detail: "INVALID_VALUE", target: "Content-Type"})
	checkAnswer(t, c.uploadRaw(t, body, "multipart/form-data; boundary=not-the-one"), wantErr{status: http.StatusBadRequest, code: "INVALID_REQUEST", detail: "INVALID_VALUE"})
	checkAnswer(t, c.uploadRaw(t, []byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated"), "multipart/form-data; boundary=x"),
		wantErr{status: http.StatusBadRequest, code: "INVALID_REQUEST", detail: "INVALID_VALUE"})
	checkAnswer(t, c.uploadRaw(t, nil, ct), wantErr{status: http.StatusBadRequest, code: "INVALID_REQUEST", detail: "INVALID_VALUE"})
	big, bigCT := uploadBody(t, usage, file(bytes.Repeat([]byte("A"), 2<<20)))
	checkAnswer(t, c.uploadRaw(t, big, bigCT), wantErr{status: http.StatusRequestEntityTooLarge, code: "INVALID_REQUEST", detail: "SIZE_LIMIT_EXCEEDED"})
	var many []formPart
	for range 20 {
		many = append(many, formPart{name: "description", body: []byte("x")})
	}
	manyBody, manyCT := uploadBody(t, append(many, usage, file(goodPEM))...)
	checkAnswer(t, c.uploadRaw(t, manyBody, manyCT), wantErr{status: http.StatusBadRequest, code: "INVALID_REQUEST", detail: "INVALID_VALUE"})
	// Without a token.
	r := doNo5xx(t, c.s, apptest.Request{Method: "POST", URL: c.url("/certificates"), Body: body, ContentType: ct})
	checkAnswer(t, r, wantErr{status: http.StatusUnauthorized, code: "ACCESS_FAILED", detail: "INVALID_TOKEN"})
	// With a token of a worker that may only read the environment.
	reader := c.s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC", [3]string{roles.ConfigurationReadOnly.ID, roles.ScopeEnvironment, c.env})
	asReader := cfgAPI{s: c.s, tok: c.s.Token(t, reader), env: c.env}
	checkAnswer(t, asReader.uploadRaw(t, body, ct), wantErr{status: http.StatusForbidden, code: "ACCESS_FAILED", detail: "INSUFFICIENT_PERMISSIONS"})

	// Nothing was written.
	if got := c.list(t, "/certificates", "certificates"); len(got) != 0 {
		t.Fatalf("refused uploads left %d certificates", len(got))
	}

	// Ids: unknown, malformed, another environment's, in an unknown
	// environment.
	id := must(t, c.upload(t, "SIGNING", goodPEM), http.StatusAccepted)["id"].(string)
	otherID := must(t, other.upload(t, "SIGNING", goodPEM), http.StatusAccepted)["id"].(string)
	notFound := wantErr{status: http.StatusNotFound, code: "NOT_FOUND"}
	// Each environment lists its own only.
	for _, env := range []struct {
		api  cfgAPI
		mine string
	}{{c, id}, {other, otherID}} {
		l := env.api.list(t, "/certificates", "certificates")
		if len(l) != 1 || l[0]["id"] != env.mine || get(l[0], "environment.id") != env.api.env {
			t.Errorf("the certificates of %s = %v, want %s only", env.api.env, l, env.mine)
		}
	}
	for _, path := range []string{"/certificates/" + uuid.NewString(), "/certificates/not-a-uuid", "/certificates/" + otherID,
		"/certificates/" + otherID + "/applications", "/keys/" + uuid.NewString() + "/applications"} {
		c.fail(t, "GET", path, nil, notFound)
		r := doNo5xx(t, c.s, apptest.Request{Method: "GET", URL: c.url(path), Token: c.tok, Headers: http.Header{"Accept": {"application/x-x509-ca-cert"}}})
		if r.Status != http.StatusNotFound || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s as PEM: %d %s", path, r.Status, r.Header.Get("Content-Type"))
		}
		if !strings.HasSuffix(path, "/applications") {
			c.fail(t, "DELETE", path, nil, notFound)
		}
	}
	gone := cfgAPI{s: c.s, tok: c.tok, env: uuid.NewString()}
	gone.fail(t, "GET", "/certificates", nil, notFound)
	gone.fail(t, "GET", "/certificates/"+id, nil, notFound)
	checkAnswer(t, gone.uploadRaw(t, body, ct), notFound)
	// Certificates are never updated.
	c.fail(t, "PUT", "/certificates/"+id, map[string]any{"name": "x"}, wantErr{status: http.StatusMethodNotAllowed, code: "METHOD_NOT_ALLOWED"})
	// The other environment's certificate survived every attempt.
	if _, err := c.s.Store.GetCertificate(t.Context(), other.env, otherID); err != nil {
		t.Fatalf("the other environment's certificate: %v", err)
	}
}

// samlApp writes a SAML application straight to the store, as the
// management API keeps one: settings in the application's JSON data.
func samlApp(t testing.TB, s *apptest.Server, envID, name string, data map[string]any) *store.Application {
	t.Helper()
	data["spEntityId"] = "urn:sp:" + uuid.NewString()
	data["acsUrls"] = []string{"https://sp.example/acs"}
	b, _ := json.Marshal(data)
	now := store.Now()
	app := &store.Application{ID: uuid.NewString(), EnvironmentID: envID, Name: name, Protocol: "SAML", Type: "WEB_APP", Enabled: true,
		Data: b, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	return app
}

func samlIdP(t testing.TB, s *apptest.Server, envID, name string, data map[string]any) *store.IdentityProvider {
	t.Helper()
	data["idpEntityId"] = "urn:idp:" + uuid.NewString()
	data["ssoEndpoint"] = "https://idp.example/sso"
	data["ssoBinding"] = "HTTP_POST"
	b, _ := json.Marshal(data)
	now := store.Now()
	p := &store.IdentityProvider{ID: uuid.NewString(), EnvironmentID: envID, Name: name, Type: "SAML", Enabled: true, Data: b, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateIdentityProvider(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func refs(ids ...string) []map[string]string {
	out := make([]map[string]string, len(ids))
	for i, id := range ids {
		out[i] = map[string]string{"id": id}
	}
	return out
}

// TestCertificatesInUse: a certificate or key a SAML application or
// identity provider names cannot be deleted (400 naming each), the
// certificate's and key's applications list them, and once nothing uses
// them they go. Another environment's settings naming the same id never
// count.
func TestCertificatesInUse(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			testCertificatesInUse(t, newCfgAPI(t, s, "In use"), newCfgAPI(t, s, "Elsewhere"))
		})
	}
}

func testCertificatesInUse(t *testing.T, c, other cfgAPI) {
	s := c.s
	ctx := t.Context()
	now := time.Now()
	spCert := newPartnerCert(t, "sp.example", partnerEC(t), nil, false, now.Add(-time.Hour), now.Add(time.Hour))
	idpCert := newPartnerCert(t, "idp.example", partnerEC(t), nil, false, now.Add(-time.Hour), now.Add(time.Hour))
	spID := must(t, c.upload(t, "SIGNING", certPEM(spCert.cert.Raw)), http.StatusAccepted)["id"].(string)
	idpID := must(t, c.upload(t, "SIGNING", certPEM(idpCert.cert.Raw)), http.StatusAccepted)["id"].(string)
	freeID := must(t, c.upload(t, "SIGNING", certPEM(idpCert.cert.Raw)), http.StatusAccepted)["id"].(string)
	key := c.ok(t, "POST", "/keys", map[string]any{"name": "SAML signing", "algorithm": "RSA", "keyLength": 2048, "signatureAlgorithm": "SHA256withRSA",
		"subjectDN": "CN=SAML signing, O=Example", "usageType": "SIGNING", "validityPeriod": 30, "default": false}, http.StatusCreated)
	keyID := key["id"].(string)

	app := samlApp(t, s, c.env, "Payroll", map[string]any{"assertionDuration": 60,
		"spVerification": map[string]any{"authnRequestSigned": true, "certificates": refs(freeID+"-not", spID)},
		"idpSigning":     map[string]any{"key": map[string]string{"id": keyID}, "algorithm": "SHA256withRSA"}})
	idp := samlIdP(t, s, c.env, "Partner IdP", map[string]any{"authnRequestSigned": true, "spEntityId": "urn:gatehouse",
		"idpVerification": map[string]any{"certificates": refs(idpID)}, "spSigning": map[string]any{"key": map[string]string{"id": keyID}}})
	// Another environment's SAML application naming this environment's
	// ids (the management API refuses it; the store does not) blocks
	// nothing here.
	samlApp(t, s, other.env, "Foreign", map[string]any{"spVerification": map[string]any{"certificates": refs(freeID)},
		"idpSigning": map[string]any{"key": map[string]string{"id": keyID}}})
	// An OIDC application is never read for SAML settings.
	s.CreateWorker(t, c.env, "CLIENT_SECRET_BASIC")

	refused := func(path string, names ...string) {
		t.Helper()
		m := c.fail(t, "DELETE", path, nil, wantErr{status: http.StatusBadRequest, code: "REQUEST_FAILED"})
		msg, _ := m["message"].(string)
		for _, n := range names {
			if !strings.Contains(msg, n) {
				t.Errorf("DELETE %s: message %q does not name %s", path, msg, n)
			}
		}
	}
	refused("/certificates/"+spID, `application "Payroll" (`+app.ID+`)`)
	refused("/certificates/"+idpID, `identity provider "Partner IdP" (`+idp.ID+`)`)
	refused("/keys/"+keyID, `application "Payroll" (`+app.ID+`)`, `identity provider "Partner IdP" (`+idp.ID+`)`)
	for _, id := range []string{spID, idpID} {
		if _, err := s.Store.GetCertificate(ctx, c.env, id); err != nil {
			t.Fatalf("certificate %s after a refused delete: %v", id, err)
		}
	}
	if _, err := s.Store.GetKey(ctx, c.env, keyID); err != nil {
		t.Fatalf("key after a refused delete: %v", err)
	}

	// Which applications use them.
	appIDs := func(path string) []string {
		var ids []string
		for _, a := range c.list(t, path, "applications") {
			ids = append(ids, a["id"].(string))
		}
		return ids
	}
	if got := appIDs("/certificates/" + spID + "/applications"); len(got) != 1 || got[0] != app.ID {
		t.Errorf("applications of the SP certificate = %v", got)
	}
	if got := appIDs("/certificates/" + idpID + "/applications"); len(got) != 0 {
		t.Errorf("applications of the IdP certificate = %v (an identity provider is not an application)", got)
	}
	if got := appIDs("/keys/" + keyID + "/applications"); len(got) != 1 || got[0] != app.ID {
		t.Errorf("applications of the key = %v", got)
	}

	// Unused: the certificate only another environment names goes.
	must(t, c.do(t, "DELETE", "/certificates/"+freeID, nil), http.StatusNoContent)

	// Once the application and provider let go, everything goes.
	if err := s.Store.DeleteApplication(ctx, c.env, app.ID); err != nil {
		t.Fatal(err)
	}
	must(t, c.do(t, "DELETE", "/certificates/"+spID, nil), http.StatusNoContent)
	refused("/keys/"+keyID, "Partner IdP")
	if err := s.Store.DeleteIdentityProvider(ctx, c.env, idp.ID); err != nil {
		t.Fatal(err)
	}
	must(t, c.do(t, "DELETE", "/certificates/"+idpID, nil), http.StatusNoContent)
	must(t, c.do(t, "DELETE", "/keys/"+keyID, nil), http.StatusNoContent)
}

// TestCertificateDeleteRace: two deletes of one certificate at once end
// with one 204 and one 404, never a 500 or two successes.
func TestCertificateDeleteRace(t *testing.T) {
	for _, b := range apptest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{DSN: b.DSN(t)})
			c := newCfgAPI(t, s, "Delete race")
			now := time.Now()
			pc := newPartnerCert(t, "race.example", partnerEC(t), nil, false, now.Add(-time.Hour), now.Add(time.Hour))
			for range 5 {
				id := must(t, c.upload(t, "SIGNING", certPEM(pc.cert.Raw)), http.StatusAccepted)["id"].(string)
				statuses := make(chan int, 2)
				for range 2 {
					go func() {
						statuses <- s.Do(t, apptest.Request{Method: "DELETE", URL: c.url("/certificates/" + id), Token: c.tok}).Status
					}()
				}
				a, b := <-statuses, <-statuses
				if min(a, b) != http.StatusNoContent || max(a, b) != http.StatusNotFound {
					t.Fatalf("two deletes answered %d and %d, want 204 and 404", a, b)
				}
			}
		})
	}
}
