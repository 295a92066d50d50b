package idp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/crewjam/saml"
)

// staticSP answers for one service provider.
type staticSP struct{ md *saml.EntityDescriptor }

func (s staticSP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != s.md.EntityID {
		return nil, os.ErrNotExist
	}
	return s.md, nil
}

// FuzzAuthnRequest: whatever a SAMLRequest holds, reading and validating
// it (crewjam, within sso's bounds) neither panics nor passes a request
// that does not name the known service provider and its ACS; a refusal
// maps to PingOne's 400.
func FuzzAuthnRequest(f *testing.F) {
	s := &Service{AuthPath: "https://gatehouse.example.com"}
	md := &saml.EntityDescriptor{EntityID: "https://sp.example.com", SPSSODescriptors: []saml.SPSSODescriptor{{
		AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: "https://sp.example.com/acs"}}}}}
	f.Add(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer>https://sp.example.com</saml:Issuer></samlp:AuthnRequest>`, false)
	f.Add(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`, true)
	f.Add(`not xml`, false)
	f.Add(strings.Repeat(" ", 70000), true)
	f.Fuzz(func(t *testing.T, msg string, post bool) {
		var r *http.Request
		if post {
			r = httptest.NewRequest("POST", "/env/saml20/idp/sso", strings.NewReader(url.Values{"SAMLRequest": {b64(msg)}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest("GET", "/env/saml20/idp/sso?"+url.Values{"SAMLRequest": {deflate64(msg)}}.Encode(), nil)
		}
		w := httptest.NewRecorder()
		if _, err := readMessage(w, r); err != nil {
			return
		}
		idp := s.provider("env", staticSP{md})
		req, err := saml.NewIdpAuthnRequest(idp, r)
		if err != nil {
			return
		}
		err = req.Validate()
		if err != nil {
			if e := validationError(err); e.Status != http.StatusBadRequest {
				t.Fatalf("%v became %d", err, e.Status)
			}
			return
		}
		if req.Request.Issuer == nil || req.Request.Issuer.Value != md.EntityID || req.ACSEndpoint == nil || req.ACSEndpoint.Location != "https://sp.example.com/acs" {
			t.Fatalf("accepted a request of another SP or ACS: %+v", req.Request)
		}
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func deflate64(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}
