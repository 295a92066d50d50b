package mfa

import "testing"

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, phone, email string }{
		{"", "", ""},
		{"+15125550101", "**********01", "****"},
		{"7", "*", "****"},
		{"joey.x@example.com", "****************om", "jo****@example.com"},
		{"ab@example.com", "************om", "a****@example.com"},
		{"a@example.com", "***********om", "****@example.com"},
		{"élan@example.org", "**************rg", "él****@example.org"},
	} {
		if got := MaskPhone(tc.in); got != tc.phone {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.phone)
		}
		if got := MaskEmail(tc.in); got != tc.email {
			t.Errorf("MaskEmail(%q) = %q, want %q", tc.in, got, tc.email)
		}
	}
}
