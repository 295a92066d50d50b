package mfa

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PingOne's TOTP parameters (RFC 6238 as authenticator apps take them):
// six digits, a 30-second period, HMAC-SHA1, and one period of clock skew
// either way.
const (
	TOTPPeriod = 30
	TOTPSkew   = 1
	totpDigits = otp.DigitsSix
	totpAlg    = otp.AlgorithmSHA1
	// totpSecretSize is the shared secret's length in bytes (160 bits, as
	// RFC 4226 recommends for SHA-1).
	totpSecretSize = 20
)

// newTOTPKey makes a new secret and its otpauth:// key URI, labelled
// issuer:account as authenticator apps show it.
func newTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: TOTPPeriod, SecretSize: totpSecretSize,
		Digits: totpDigits, Algorithm: totpAlg,
	})
}

// totpStep returns the time step whose code code is, within the skew of
// now; every candidate is compared in constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	cur := now.Unix() / TOTPPeriod
	var found int64
	ok := 0
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*TOTPPeriod, 0), totp.ValidateOpts{
			Period: TOTPPeriod, Digits: totpDigits, Algorithm: totpAlg,
		})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && ok == 0 {
			found, ok = step, 1
		}
	}
	return found, ok == 1
}

// secretAAD binds a sealed secret to its device: a sealed value copied to
// another device's row does not open.
func secretAAD(d *store.MFADevice) string { return "mfa-device:" + d.EnvironmentID + ":" + d.ID }

func (s *Service) openSecret(d *store.MFADevice) (string, error) {
	if len(d.Secret) == 0 || s.Sealer == nil {
		return "", fmt.Errorf("mfa: TOTP device %s has no secret", d.ID)
	}
	b, err := s.Sealer.Open(d.Secret, secretAAD(d))
	if err != nil {
		return "", fmt.Errorf("mfa: TOTP device %s: %w", d.ID, err)
	}
	return string(b), nil
}
