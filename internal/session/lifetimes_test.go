package session

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

func TestLifetimesExpiry(t *testing.T) {
	signOn := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	life := LifetimesOf(wire.SessionSettings{IdleTimeoutInMinutes: 30, MaxLifetimeInMinutes: 120})
	for _, c := range []struct {
		name string
		used time.Time
		want time.Time
	}{
		{"just signed on: the idle timeout", signOn, signOn.Add(30 * time.Minute)},
		{"used later: the idle timeout from the use", signOn.Add(time.Hour), signOn.Add(90 * time.Minute)},
		{"used near the end: never past the maximum lifetime", signOn.Add(110 * time.Minute), signOn.Add(120 * time.Minute)},
	} {
		if got := life.expiry(signOn, c.used); !got.Equal(c.want) {
			t.Errorf("%s: expiry = %v, want %v", c.name, got, c.want)
		}
	}
	if d := LifetimesOf(wire.DefaultSessionSettings()); d.Idle != 30*24*time.Hour || d.Max != 30*24*time.Hour {
		t.Errorf("default lifetimes = %+v, want 30 days each", d)
	}
}
