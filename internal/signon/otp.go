package signon

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// The MULTI_FACTOR_AUTHENTICATION method's screens: device selection,
// passcode entry (with the enrolment of a TOTP app when the selected
// device awaits its first code) and the choice of a first device; the
// FIDO2 method's screens (a passkey or security key) are in fido2.go.

// deviceView is one of the user's MFA devices as a button names it.
type deviceView struct {
	ID, Type string
	// Name is the device's nickname, else its kind ("Email"); Detail is
	// where its codes go, masked as the flow masks it.
	Name, Detail string
	// Masked is the address or number alone (the OTP screen's sentence).
	Masked string
	// Sent: its passcodes are sent (email, SMS, voice), so they can be
	// sent again; a TOTP app computes its own.
	Sent bool
	// Pairing: the device awaits its first code (it is being registered).
	Pairing bool
}

// deviceChoices is a list of device buttons; Focus: the list is the
// screen's task, so its first button takes the focus (the passcode
// screen's list of other devices does not).
type deviceChoices struct {
	Devices []deviceView
	Focus   bool
}

// DeviceChoices are the device selection screen's buttons.
func (v *view) DeviceChoices() deviceChoices { return deviceChoices{Devices: v.Devices, Focus: true} }

// OtherChoices are the passcode screen's other devices.
func (v *view) OtherChoices() deviceChoices { return deviceChoices{Devices: v.Others} }

// registrationChoices is a list of the kinds of device to register; Focus
// as in deviceChoices.
type registrationChoices struct {
	Registrations []registrationView
	Focus         bool
}

// RegistrationChoices are the device registration screen's buttons.
func (v *view) RegistrationChoices() registrationChoices {
	return registrationChoices{Registrations: v.Registrations, Focus: true}
}

// enrolView is a TOTP app's enrolment: the QR code of its key URI and the
// secret for typing in by hand.
type enrolView struct {
	QR      qrImage
	Grouped string // the secret in groups of four, as apps ask for it
	Account string // the key URI's label, for the QR code's text alternative
	Digits  int
}

// registrationView is a kind of device a user without one may register.
type registrationView struct {
	Type, Name, Detail string
}

// kinds names each device type as a person knows it.
var kinds = map[string]string{
	"EMAIL": "Email",
	"SMS":   "Text message",
	"VOICE": "Voice call",
	"TOTP":  "Authenticator app",
	"FIDO2": "Passkey or security key",
}

func kindOf(typ string) string {
	if k, ok := kinds[typ]; ok {
		return k
	}
	return typ
}

func deviceOf(d wire.FlowDevice) deviceView {
	v := deviceView{ID: d.ID, Type: d.Type, Name: kindOf(d.Type), Sent: d.Type != "TOTP" && d.Type != "FIDO2",
		Pairing: d.Status == "ACTIVATION_REQUIRED"}
	switch d.Type {
	case "EMAIL":
		v.Masked = d.Email
	case "SMS", "VOICE":
		v.Masked = d.Phone
	}
	v.Detail = v.Masked
	if d.Nickname != "" {
		v.Name = d.Nickname
		v.Detail = kindOf(d.Type)
		if v.Masked != "" {
			v.Detail += ", " + v.Masked
		}
	}
	return v
}

// fillMFA sets the view's devices, selected device, enrolment and
// registration choices from the flow.
func (s *Service) fillMFA(v *view, out *wire.Flow) {
	e := out.Embedded
	if e == nil {
		return
	}
	for _, d := range e.Devices {
		dv := deviceOf(d)
		if out.SelectedDevice != nil && d.ID == out.SelectedDevice.ID {
			v.Selected = &dv
			if p := d.Properties; p != nil && p.KeyURI != "" && dv.Pairing {
				if en, err := enrolment(p.Secret, p.KeyURI); err == nil {
					v.Enrol = en
				} else {
					// The secret is still shown for manual entry.
					s.log().Error("sign-on page: the QR code of a TOTP enrolment", "err", err)
					v.Enrol = &enrolView{Grouped: group(p.Secret), Digits: 6}
				}
			}
			continue
		}
		v.Devices = append(v.Devices, dv)
	}
	if out.Status == wire.StatusOTPRequired || out.Status == wire.StatusAssertionRequired {
		// Other devices are offered only once active: a device being
		// registered is finished on its own screen.
		for _, d := range v.Devices {
			if !d.Pairing && v.Actions[wire.ActionDeviceSelect] {
				v.Others = append(v.Others, d)
			}
		}
	}
	if r := e.DeviceRegistration; r != nil {
		for _, t := range r.Types {
			rv := registrationView{Type: t, Name: kindOf(t)}
			switch t {
			case "TOTP":
				rv.Detail = "Use an app on your phone, such as Google Authenticator or Microsoft Authenticator"
			case "FIDO2":
				rv.Detail = "Use your fingerprint, face or screen lock, or a security key"
			case "EMAIL":
				rv.Detail = "Get a code by email"
				if r.Email != "" {
					rv.Detail = "Get a code at " + r.Email
				}
			}
			v.Registrations = append(v.Registrations, rv)
		}
	}
}

// enrolment draws a TOTP key URI's QR code and reads what the screen says
// about it.
func enrolment(secret, keyURI string) (*enrolView, error) {
	qr, err := qrCode(keyURI)
	if err != nil {
		return nil, err
	}
	en := &enrolView{QR: qr, Grouped: group(secret), Digits: 6}
	if u, err := url.Parse(keyURI); err == nil {
		en.Account, _ = url.PathUnescape(strings.TrimPrefix(u.Path, "/"))
		if n, err := strconv.Atoi(u.Query().Get("digits")); err == nil && n > 0 && n <= 10 {
			en.Digits = n
		}
	}
	if en.Account == "" {
		en.Account = "your account"
	}
	return en, nil
}

// group writes a base32 secret in groups of four characters: easier to
// copy by eye, and authenticator apps ignore the spaces.
func group(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// otpHeading and otpMessage word the passcode screen for its device.
func otpHeading(v *view) string {
	d := v.Selected
	switch {
	case v.Enrol != nil:
		return "Set up your authenticator app"
	case d == nil:
		return "Enter your code"
	case d.Type == "EMAIL":
		return "Check your email"
	case d.Type == "SMS":
		return "Check your phone"
	case d.Type == "VOICE":
		return "Answer your phone"
	case d.Type == "TOTP":
		return "Enter the code from your app"
	}
	return "Enter your code"
}

func otpMessage(v *view) string {
	d := v.Selected
	switch {
	case v.Enrol != nil:
		return "You will enter a code from the app each time you sign on."
	case d == nil:
		return "Enter the code we sent you."
	case d.Type == "TOTP":
		return "Open your authenticator app and enter the code it shows for " + v.BrandName + "."
	}
	to := d.Masked
	if to == "" {
		to = "your " + strings.ToLower(kindOf(d.Type))
	}
	var msg string
	switch d.Type {
	case "SMS":
		msg = "We sent a code by text message to " + to + "."
	case "VOICE":
		msg = "We are calling " + to + " to read you a code."
	default:
		msg = "We sent a code to " + to + "."
	}
	if d.Pairing {
		msg += " Enter it to finish setting up " + strings.ToLower(kindOf(d.Type)) + " verification."
	}
	return msg
}
