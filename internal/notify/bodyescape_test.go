package notify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// A custom provider's POST body is escaped for its JSON or form
// Content-Type; settings stored with any other type (or none) send
// nothing, so that a user's name holding `&To=…` or `<` cannot alter the
// request.
func TestCustomProviderBodyNeedsEscapableType(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	for _, ct := range []string{"", "text/xml", "text/plain"} {
		h := map[string]string{}
		if ct != "" {
			h["Content-Type"] = ct
		}
		p := &customProvider{req: wire.PhoneDeliveryHTTPRequest{DeliveryMethod: "SMS", Method: "POST", URL: srv.URL + "/?x=1",
			Body: "<msg to=\"${to}\">${message}</msg>", Headers: h}}
		err := p.SendPhone(t.Context(), PhoneMessage{Channel: "SMS", To: "+15551230000", Text: "Hi <b>&To=+1999",
			Vars: map[string]string{"user.name.given": "<b>&To=+1999"}})
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Errorf("Content-Type %q: %v, want a DeliveryError", ct, err)
		}
	}
	if hits != 0 {
		t.Errorf("the provider got %d requests, want none", hits)
	}
	for in, want := range map[string]string{"application/json": "json", "Application/JSON; charset=utf-8": "json",
		"application/x-www-form-urlencoded": "form", "text/xml": "", "text/json-ish": "", "": ""} {
		if got := wire.PhoneBodyEscaping(map[string]string{"content-type": in}); got != want {
			t.Errorf("PhoneBodyEscaping(%q) = %q, want %q", in, got, want)
		}
	}
}
