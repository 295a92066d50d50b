package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"1h", time.Hour, true},
		{"59m", 0, false},
		{"0d", 0, false},
		{"-3d", 0, false},
		{"d", 0, false},
		{"90", 0, false},
		{"36501d", 0, false},
	} {
		got, err := parseRetention(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
