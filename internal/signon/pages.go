package signon

import (
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// page is what the sign-on page shows for one flow status. A sign-on
// method's statuses get their entries here and their forms in a template
// file of their own (templates/<method>.html, defining form/<name>); the
// actions a status offers beside its form (forgot password, providers,
// registration, start over) show by themselves.
type page struct {
	Heading string
	// HeadingOf words the heading from the view, where it depends on
	// more than the status; it wins over Heading.
	HeadingOf func(v *view) string
	Message   func(v *view) string
	// Form names the template form/<Form>; "" shows none.
	Form string
	// Submit labels the form's button where the form serves several
	// statuses.
	Submit string
	// NoReset hides the start-over button (the status is the start);
	// ResetLabel words it ("Start over" when empty).
	NoReset    bool
	ResetLabel string
}

func text(s string) func(*view) string { return func(*view) string { return s } }

var pages = map[string]page{
	wire.StatusUsernamePasswordRequired: {Heading: "Sign on", Form: "username-password", Submit: "Sign on", NoReset: true},
	wire.StatusSignOnRequired:           {Heading: "Sign on", Form: "identifier", NoReset: true},
	wire.StatusPasswordRequired:         {Heading: "Enter your password", Form: "password", ResetLabel: "Not you? Use another account"},
	wire.StatusMustChangePassword: {Heading: "Change your password", Form: "change-password",
		Message: text("Your password must be changed before you continue.")},
	wire.StatusPasswordExpired: {Heading: "Your password has expired", Form: "change-password",
		Message: text("Choose a new password to continue.")},
	wire.StatusRecoveryCodeRequired: {Heading: "Reset your password", Form: "recovery",
		Message: text("If an account matches, we sent a recovery code to its email address. Enter it with a new password.")},
	wire.StatusVerificationCodeRequired: {Heading: "Verify your email address", Form: "verification",
		Message: text("We sent a verification code to your email address.")},
	wire.StatusAccountLinkingRequired: {Heading: "Link your account", Form: "username-password", Submit: "Sign on and link",
		Message: func(v *view) string {
			name := "external"
			if v.Provider != nil {
				name = v.Provider.Name
			}
			return fmt.Sprintf("Sign on with your %s account once to link it to your %s account.", v.BrandName, name)
		}},
	wire.StatusExternalAuthRequired: {Heading: "Sign on", Form: "external",
		Message: func(v *view) string {
			if v.Provider == nil {
				return ""
			}
			return "You sign on to " + v.AppName + " with " + v.Provider.Name + "."
		}},
	wire.StatusDAGUserCodeRequired: {Heading: "Connect a device", Form: "device-code",
		Message: text("Enter the code your device shows.")},
	wire.StatusDAGConsentRequired: {Heading: "Allow the device?", Form: "device-consent",
		Message: func(v *view) string {
			return "A device wants to use " + v.AppName + " as " + v.Username + ". Allow it only if you started this on a device of yours."
		}},
	wire.StatusDeviceSelectionRequired: {Heading: "Verify that it's you", Form: "device-selection", Message: selectionMessage},
	wire.StatusOTPRequired:             {HeadingOf: otpHeading, Form: "otp", Message: otpMessage},
	wire.StatusDeviceRegistrationRequired: {Heading: "Set up two-step verification", Form: "device-registration",
		Message: func(v *view) string {
			who := v.AppName
			if who == "" {
				who = v.BrandName
			}
			return who + " asks for a second step when you sign on. Choose how you want to verify that it's you."
		}},
	wire.StatusAssertionRequired: {Heading: "Use your passkey or security key", Form: "assertion", Message: assertionMessage},
	wire.StatusFIDO2ActivationRequired: {Heading: "Set up a passkey", Form: "fido2-activation",
		Message: func(v *view) string {
			return "Your browser will ask you to create a passkey for " + v.BrandName +
				" with your fingerprint, face or screen lock, or to use a security key. You will use it each time you sign on."
		}},
	wire.StatusProfileDataRequired: {Heading: "Complete your profile", Form: "profile"},
	wire.StatusAgreementConsentRequired: {Heading: "Review the agreement", Form: "agreement",
		Message: text("Read the agreement below. You can continue once you accept it.")},
	flow.StatusFailed: {Heading: "Sign-on failed", Form: "failed", Message: text("Return to the application to try again.")},
}

// devicePages are the device authorization grant's screens outside a
// flow, by the device query parameter of /{envId}/signon/: the code entry
// of /{envId}/device, and what the user sees once the device is approved
// or denied.
var devicePages = map[string]page{
	"enter": {Heading: "Connect a device", Form: "device-enter", Message: text("Enter the code your device shows.")},
	"done": {Heading: "Your device is connected",
		Message: text("You can return to your device: it signs on by itself in a moment. You can close this window.")},
	"denied": {Heading: "Device not connected",
		Message: text("The device was not allowed to sign on. You can close this window.")},
}
