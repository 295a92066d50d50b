package signon

// The FIDO2 method's screens: a passkey or security key as a factor
// (ASSERTION_REQUIRED), one made during sign-on
// (FIDO2_ACTIVATION_REQUIRED), and the passkey button beside the username
// of a passwordless policy's first screen (SIGN_ON_REQUIRED). The
// ceremonies' options go to the script as they are: it converts PingOne's
// signed byte arrays for the browser.

// assertionMessage says what the passkey screen waits for, naming the
// device when the user named it.
func assertionMessage(v *view) string {
	what := "your passkey or security key"
	if d := v.Selected; d != nil && d.Name != kindOf(d.Type) {
		what = d.Name
	}
	return "Use " + what + " to verify that it's you. When your browser asks, use your fingerprint, face or screen lock, or touch your security key."
}

// selectionMessage: a list with a passkey is not only about codes.
func selectionMessage(v *view) string {
	for _, d := range v.Devices {
		if d.Type == "FIDO2" {
			return "Choose how you want to verify that it's you."
		}
	}
	return "Choose where to get your one-time code."
}

// OtherRegistrations are the kinds of device the passkey set-up screen
// offers instead: a user whose browser cannot make a passkey, or who
// changes their mind, is not stuck there (nil: none).
func (v *view) OtherRegistrations() *registrationChoices {
	var others []registrationView
	for _, r := range v.Registrations {
		if r.Type != "FIDO2" {
			others = append(others, r)
		}
	}
	if len(others) == 0 {
		return nil
	}
	return &registrationChoices{Registrations: others}
}
