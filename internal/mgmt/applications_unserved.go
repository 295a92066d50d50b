package mgmt

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// What an OIDC application may be configured with and what of it Gatehouse
// serves. A setting that would change what the auth service does, and that
// Gatehouse does not do, is refused when it is configured: an administrator
// (or Terraform) learns at once, instead of a user failing at sign-on.
// False, zero and absent values are always accepted: PingOne's SDK and
// Terraform provider send them by default.
//
// Served at runtime: grantTypes AUTHORIZATION_CODE, IMPLICIT,
// REFRESH_TOKEN, CLIENT_CREDENTIALS, DEVICE_CODE (with deviceTimeout,
// devicePollingInterval, devicePathId and deviceCustomVerificationUri) and
// TOKEN_EXCHANGE; responseTypes CODE, TOKEN and ID_TOKEN; request objects
// (requireSignedRequestObject, supportUnsignedRequestObject);
// redirectUris and postLogoutRedirectUris (with allowWildcardInRedirectUris;
// loopback redirects on any port),
// tokenEndpointAuthMethod, jwks/jwksUrl, pkceEnforcement, parRequirement,
// parTimeout, refresh token lifetimes and replay protection,
// requestScopesForMultipleResourcesEnabled, corsSettings (the flow API and
// the token, introspect and revoke endpoints),
// loginPageUrl, homePageUrl and initiateLoginUri (the sign-on page),
// assignActorRoles (on create), includeX5t.
//
// Stored as metadata, as PingOne stores what its own services read:
// description, icon, hiddenFromAppPortal and targetLinkUri (the application
// portal, which Gatehouse does not have), mobile's bundle and package ids,
// passcode settings and universal link (PingOne MFA's mobile SDK), and
// refreshTokenType OPAQUE_TOKEN (what Gatehouse's refresh tokens are).
// tags and template are not read at all (PingOne's PingFederate
// integration and application templates).
//
// Refused unless false or unset: the CIBA grant, idpSignoff (PingOne's
// /as/idpSignoff), opSessionCheckEnabled (session_state and the session
// check iframe), mobile integrity
// detection, refreshTokenType JWT, signing (key rotation policies) and
// kerberos (certificate-based authentication).
func refuseUnserved(v *appValidator, req *wire.ApplicationRequest) {
	for _, g := range req.GrantTypes {
		if g == "CIBA" {
			v.add(wire.InvalidValue("grantTypes", "Gatehouse does not serve the CIBA grant."))
			break
		}
	}
	if flag(req.IdpSignoff) {
		v.add(wire.InvalidValue("idpSignoff", "Gatehouse does not serve IdP sign-off (/as/idpSignoff): idpSignoff must be false."))
	}
	if flag(req.OpSessionCheckEnabled) {
		v.add(wire.InvalidValue("opSessionCheckEnabled",
			"Gatehouse does not serve OpenID Connect session management (session_state): opSessionCheckEnabled must be false."))
	}
	if present(req.Mobile) {
		var m struct {
			IntegrityDetection *struct {
				Mode string `json:"mode"`
			} `json:"integrityDetection"`
		}
		// A mobile that is not an object is refused by the shape checks.
		if json.Unmarshal(req.Mobile, &m) == nil && m.IntegrityDetection != nil && m.IntegrityDetection.Mode == "ENABLED" {
			v.add(wire.InvalidValue("mobile.integrityDetection.mode",
				"Gatehouse does not serve mobile integrity detection: mobile.integrityDetection.mode must be DISABLED."))
		}
	}
	if t := req.RefreshTokenType; t != nil {
		switch *t {
		case "OPAQUE_TOKEN":
		case "JSON_WEB_TOKEN":
			v.add(wire.Detail{Code: wire.DetailInvalidValue, Target: "refreshTokenType",
				Message:    "Gatehouse issues opaque refresh tokens only: refreshTokenType must be OPAQUE_TOKEN.",
				InnerError: &wire.InnerError{AllowedValues: []string{"OPAQUE_TOKEN"}}})
		default:
			v.add(wire.OneOf("refreshTokenType", []string{"JSON_WEB_TOKEN", "OPAQUE_TOKEN"}))
		}
	}
	if present(req.Signing) {
		v.add(wire.InvalidValue("signing",
			"Gatehouse signs an application's tokens with the environment's default key: signing (a key rotation policy) cannot be set."))
	}
	if present(req.Kerberos) {
		v.add(wire.InvalidValue("kerberos", "Gatehouse does not serve certificate-based authentication: kerberos cannot be set."))
	}
}
