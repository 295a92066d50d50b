package saml

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// TestDecodeResponse: what reaches crewjam is base64 of a SAML Response
// with no DOCTYPE, entities, comments or processing instructions.
func TestDecodeResponse(t *testing.T) {
	const ns = `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"`
	for _, tc := range []struct{ in, err string }{
		{`<samlp:Response ` + ns + `/>`, ""},
		{`<?xml version="1.0" encoding="UTF-8"?><samlp:Response ` + ns + `><x/></samlp:Response>`, ""},
		{`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`, ""},
		{`<Response/>`, "SAMLResponse is not a SAML 2.0 Response"},
		{`<samlp:LogoutResponse ` + ns + `/>`, "SAMLResponse is not a SAML 2.0 Response"},
		{``, "SAMLResponse is not a SAML 2.0 Response"},
		{`text`, "SAMLResponse is not well-formed XML"},
		{`<samlp:Response ` + ns + `/>text`, "SAMLResponse is not well-formed XML"},
		{`<samlp:Response ` + ns + `>`, "SAMLResponse is not well-formed XML"},
		{`<samlp:Response ` + ns + `/><samlp:Response ` + ns + `/>`, "SAMLResponse is not well-formed XML"},
		{`<!DOCTYPE r><samlp:Response ` + ns + `/>`, "SAMLResponse must not carry a DOCTYPE or entity declarations"},
		{`<samlp:Response ` + ns + `><!-- c --></samlp:Response>`, "SAMLResponse must not carry XML comments"},
		{`<?php x ?><samlp:Response ` + ns + `/>`, "SAMLResponse must not carry processing instructions"},
		{`<samlp:Response ` + ns + `>&amp;&lt;</samlp:Response>`, ""},
		{`<samlp:Response ` + ns + `>&ent;</samlp:Response>`, "SAMLResponse is not well-formed XML"},
	} {
		_, err := decodeResponse(base64.StdEncoding.EncodeToString([]byte(tc.in)))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.err)
		}
	}
	if _, err := decodeResponse("not base64!"); err == nil || err.Error() != "SAMLResponse is not base64" {
		t.Errorf("not base64: %v", err)
	}
}

// FuzzDecodeResponse: never a panic, and nothing accepted carries what
// decodeResponse refuses.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`, `<!DOCTYPE x>`, `<a><!--x--></a>`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, err := decodeResponse(base64.StdEncoding.EncodeToString(in))
		if err != nil {
			return
		}
		if !bytes.Equal(raw, in) {
			t.Fatalf("decoded %q, not %q", raw, in)
		}
		if bytes.Contains(in, []byte("<!DOCTYPE")) || bytes.Contains(in, []byte("<!--")) || bytes.Contains(in, []byte("<!ENTITY")) {
			t.Fatalf("accepted %q", in)
		}
	})
}
