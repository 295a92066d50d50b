package mfa

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func offlineP(enabled bool, life wire.TimePeriod, count int, cool wire.TimePeriod) wire.OfflineDevicePolicy {
	return wire.OfflineDevicePolicy{Enabled: enabled, OTP: wire.OfflineDeviceOTP{LifeTime: life, Failure: wire.OTPFailure{Count: count, CoolDown: cool}, OTPLength: 6}}
}

func TestPolicyOf(t *testing.T) {
	yes, fido2ID := true, "f2"
	p := &wire.DeviceAuthenticationPolicy{ID: "p1", Name: "Strict", DeviceAuthenticationPolicyData: wire.DeviceAuthenticationPolicyData{
		Authentication: wire.MFADeviceSelection{DeviceSelection: "PROMPT_TO_SELECT"},
		SMS:            offlineP(true, wire.TimePeriod{Duration: 90, TimeUnit: "SECONDS"}, 2, wire.TimePeriod{Duration: 1, TimeUnit: "MINUTES"}),
		Voice:          offlineP(false, wire.TimePeriod{Duration: 30, TimeUnit: "MINUTES"}, 3, wire.TimePeriod{}),
		Email:          offlineP(true, wire.TimePeriod{Duration: 10, TimeUnit: "MINUTES"}, 7, wire.TimePeriod{Duration: 30, TimeUnit: "SECONDS"}),
		TOTP: wire.TOTPPolicy{Enabled: true, PairingDisabled: true, PromptForNicknameOnPairing: &yes,
			OTP: wire.TOTPOTP{Failure: wire.OTPFailure{Count: 3, CoolDown: wire.TimePeriod{Duration: 2, TimeUnit: "MINUTES"}}}},
		FIDO2: wire.FIDO2MethodPolicy{Enabled: true, PromptForNicknameOnPairing: &yes, FIDO2PolicyID: &fido2ID,
			Failure: wire.OTPFailure{Count: 5, CoolDown: wire.TimePeriod{Duration: 150, TimeUnit: "SECONDS"}}},
	}}
	p.Email.PromptForNicknameOnPairing = &yes
	got := PolicyOf(p)
	if got.ID != "p1" || got.Name != "Strict" || got.Selection != "PROMPT_TO_SELECT" || len(got.Methods) != 5 {
		t.Fatalf("PolicyOf = %+v", got)
	}
	// fido2PolicyId null: the environment's default FIDO2 policy.
	p.FIDO2.FIDO2PolicyID = nil
	if id := PolicyOf(p).Method(TypeFIDO2).FIDO2PolicyID; id != "" {
		t.Errorf("FIDO2PolicyID of a null fido2PolicyId = %q, want \"\"", id)
	}
	p.FIDO2.FIDO2PolicyID = &fido2ID
	want := map[string]MethodPolicy{
		TypeSMS:   {Enabled: true, OTPLifetime: 90 * time.Second, OTPFailures: 2, CoolDown: time.Minute},
		TypeVoice: {Enabled: false, OTPLifetime: 30 * time.Minute, OTPFailures: 3},
		TypeEmail: {Enabled: true, PromptForNickname: true, OTPLifetime: 10 * time.Minute, OTPFailures: 7, CoolDown: 30 * time.Second},
		TypeTOTP:  {Enabled: true, PairingDisabled: true, PromptForNickname: true, OTPFailures: 3, CoolDown: 2 * time.Minute},
		TypeFIDO2: {Enabled: true, PromptForNickname: true, OTPFailures: 5, CoolDown: 150 * time.Second, FIDO2PolicyID: "f2"},
	}
	for typ, w := range want {
		if g := got.Method(typ); g != w {
			t.Errorf("%s = %+v, want %+v", typ, g, w)
		}
	}
	if got.Method("MOBILE").Enabled {
		t.Error("a type the policy does not name must be disabled")
	}
}

func TestSettingsOf(t *testing.T) {
	d, zero := 600, 0
	cases := []struct {
		name string
		in   wire.MFASettings
		want Settings
	}{
		{"defaults: no lockout", wire.MFASettings{Pairing: wire.MFAPairing{MaxAllowedDevices: 5}}, Settings{MaxDevices: 5}},
		{"lockout", wire.MFASettings{Pairing: wire.MFAPairing{MaxAllowedDevices: 15}, Lockout: &wire.MFALockout{FailureCount: 6, DurationSeconds: &d}},
			Settings{MaxDevices: 15, LockoutFailures: 6, LockoutDuration: 10 * time.Minute}},
		// A count without a duration (or with 0) still locks: for the
		// default duration, not for no time at all.
		{"lockout without duration", wire.MFASettings{Pairing: wire.MFAPairing{MaxAllowedDevices: 1}, Lockout: &wire.MFALockout{FailureCount: 3}},
			Settings{MaxDevices: 1, LockoutFailures: 3, LockoutDuration: 900 * time.Second}},
		{"lockout of 0 seconds", wire.MFASettings{Pairing: wire.MFAPairing{MaxAllowedDevices: 1}, Lockout: &wire.MFALockout{FailureCount: 3, DurationSeconds: &zero}},
			Settings{MaxDevices: 1, LockoutFailures: 3, LockoutDuration: 900 * time.Second}},
		{"lockout count 0", wire.MFASettings{Pairing: wire.MFAPairing{MaxAllowedDevices: 1}, Lockout: &wire.MFALockout{FailureCount: 0}},
			Settings{MaxDevices: 1}},
	}
	for _, tc := range cases {
		if got := SettingsOf(&tc.in); *got != tc.want {
			t.Errorf("%s: SettingsOf = %+v, want %+v", tc.name, *got, tc.want)
		}
	}
}
