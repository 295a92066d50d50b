package idp

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/crewjam/saml"
)

// TestValidationError: each of crewjam's refusals names the part of the
// AuthnRequest at fault, as a 400 INVALID_REQUEST.
func TestValidationError(t *testing.T) {
	for _, c := range []struct {
		err    error
		target string
	}{
		{saml.ErrUnknownServiceProvider, "Issuer"},
		{saml.ErrUnknownAssertionConsumerService, "AssertionConsumerServiceURL"},
		{saml.ErrInvalidSignature, "Signature"},
		{saml.ErrUntrustedCertificate, "Signature"},
		{fmt.Errorf("sha-1: %w: %w", saml.ErrUnsupported, saml.ErrInvalidSignature), "SAMLRequest"},
		{saml.ErrDestinationMismatch, "Destination"},
		{saml.ErrExpired, "IssueInstant"},
		{saml.ErrNotYetValid, "IssueInstant"},
		{saml.ErrMissingElement, "SAMLRequest"},
		{saml.ErrMalformedMessage, "SAMLRequest"},
		{errors.New("anything else"), "SAMLRequest"},
	} {
		e := validationError(fmt.Errorf("wrapped: %w", c.err))
		if e.Status != http.StatusBadRequest || e.Code != "INVALID_REQUEST" || len(e.Details) != 1 || e.Details[0].Target != c.target || e.Details[0].Message == "" {
			t.Errorf("%v: %+v, want target %s", c.err, e, c.target)
		}
	}
}
