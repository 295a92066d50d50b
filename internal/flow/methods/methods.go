// Package methods lists Gatehouse's sign-on methods, in the order a flow
// offers their actions: the server registers exactly these.
package methods

import (
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/agreement"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/device"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/external"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/fido2"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/identifierfirst"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/otp"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/profile"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/recovery"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/registration"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
)

// Standard are the methods, with ext, the external identity provider
// method that federation also drives, mfa, the
// MULTI_FACTOR_AUTHENTICATION method with the MFA domain it runs on, and
// fido, the FIDO2 method, which becomes mfa's Factor for FIDO2 devices.
func Standard(ext *external.Method, mfa *otp.Method, fido *fido2.Method) []flow.Method {
	mfa.Factors = append(mfa.Factors, fido)
	return []flow.Method{&usernamepassword.Method{}, &identifierfirst.Method{}, &recovery.Method{}, &registration.Method{}, ext, mfa, fido, &profile.Method{}, &agreement.Method{}, &device.Method{}}
}
