package mfa

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// unit turns a PingOne {duration, timeUnit} into a duration: SECONDS or
// MINUTES (the management API accepts nothing else).
func unit(p wire.TimePeriod) time.Duration {
	if p.TimeUnit == "SECONDS" {
		return time.Duration(p.Duration) * time.Second
	}
	return time.Duration(p.Duration) * time.Minute
}

func offline(p wire.OfflineDevicePolicy) MethodPolicy {
	return MethodPolicy{
		Enabled:           p.Enabled,
		PairingDisabled:   p.PairingDisabled,
		PromptForNickname: p.PromptForNicknameOnPairing != nil && *p.PromptForNicknameOnPairing,
		OTPLifetime:       unit(p.OTP.LifeTime),
		OTPFailures:       p.OTP.Failure.Count,
		CoolDown:          unit(p.OTP.Failure.CoolDown),
	}
}

func fido2(p wire.FIDO2MethodPolicy) MethodPolicy {
	out := MethodPolicy{
		Enabled:           p.Enabled,
		PairingDisabled:   p.PairingDisabled,
		PromptForNickname: p.PromptForNicknameOnPairing != nil && *p.PromptForNicknameOnPairing,
		OTPFailures:       p.Failure.Count,
		CoolDown:          unit(p.Failure.CoolDown),
	}
	if p.FIDO2PolicyID != nil {
		out.FIDO2PolicyID = *p.FIDO2PolicyID
	}
	return out
}

// PolicyOf is a device authentication policy as a flow runs it: the
// settings of EMAIL, SMS, VOICE, TOTP and FIDO2. A TOTP code has no lifetime of
// its own (its window is the authenticator's), so OTPLifetime is 0.
func PolicyOf(p *wire.DeviceAuthenticationPolicy) *Policy {
	return &Policy{
		ID:   p.ID,
		Name: p.Name,
		Methods: map[string]MethodPolicy{
			TypeEmail: offline(p.Email),
			TypeSMS:   offline(p.SMS),
			TypeVoice: offline(p.Voice),
			TypeTOTP: {
				Enabled:           p.TOTP.Enabled,
				PairingDisabled:   p.TOTP.PairingDisabled,
				PromptForNickname: p.TOTP.PromptForNicknameOnPairing != nil && *p.TOTP.PromptForNicknameOnPairing,
				OTPFailures:       p.TOTP.OTP.Failure.Count,
				CoolDown:          unit(p.TOTP.OTP.Failure.CoolDown),
			},
			TypeFIDO2: fido2(p.FIDO2),
		},
		Selection: p.Authentication.DeviceSelection,
	}
}

// SettingsOf are an environment's MFA settings as a flow runs them. No
// lockout set (PingOne returns none by default) is LockoutFailures 0: the
// environment does not lock a user's MFA, the policy's per-device failure
// count still blocks a device.
func SettingsOf(s *wire.MFASettings) *Settings {
	out := &Settings{MaxDevices: s.Pairing.MaxAllowedDevices}
	if s.Lockout != nil && s.Lockout.FailureCount > 0 {
		out.LockoutFailures = s.Lockout.FailureCount
		out.LockoutDuration = DefaultLockoutDuration
		if d := s.Lockout.DurationSeconds; d != nil && *d > 0 {
			out.LockoutDuration = time.Duration(*d) * time.Second
		}
	}
	return out
}

// DefaultLockoutDuration is how long a lockout with a failure count but no
// durationSeconds (or 0) locks. PingOne accepts such a lockout (the
// Terraform provider sends one, and reads no duration back) and documents
// no MFA default; a lock of no time would never lock, so Gatehouse locks
// for PingOne's password lockout default (900 seconds). The settings
// still return no durationSeconds.
const DefaultLockoutDuration = 900 * time.Second
