package wire

import "strconv"

// A user's sessions as PingOne's User Sessions API shows them
// (GET/DELETE /environments/{envId}/users/{userId}/sessions[/{sessionId}]),
// and the environment's session settings: how long a session lives idle
// and at most.

// UserSession is one of a user's sign-on sessions (the SSO session the ST
// cookie names; its id is the sid claim of the tokens issued in it).
type UserSession struct {
	Links       Links  `json:"_links"`
	ID          string `json:"id"`
	Environment Ref    `json:"environment"`
	User        Ref    `json:"user"`
	CreatedAt   Time   `json:"createdAt"`
	// ActiveAt is the session's last activity: a sign-on, a silent
	// sign-on, a refresh or a userinfo request in it.
	ActiveAt   Time              `json:"activeAt"`
	LastSignOn UserSessionSignOn `json:"lastSignOn"`
	// ExpiresAt is when the session ends unless it is used again (its idle
	// timeout), and never after its maximum lifetime.
	ExpiresAt Time `json:"expiresAt"`
}

// UserSessionSignOn is the session's last sign-on: when, and with which
// authenticators (the amr values).
type UserSessionSignOn struct {
	At             Time     `json:"at"`
	Authenticators []string `json:"authenticators"`
}

// Session settings bounds: a minute to a year.
const (
	SessionMinutesMin = 1
	SessionMinutesMax = 525600
	// SessionMinutesDefault is 30 days: PingOne's idle timeout of a
	// sign-on policy's session, and the lifetime Gatehouse gave every
	// session before the settings existed.
	SessionMinutesDefault = 43200
)

// SessionSettings is the environment's session lifetime: a session that
// is not used for IdleTimeoutInMinutes ends, and every session ends
// MaxLifetimeInMinutes after the sign-on that began or renewed it.
type SessionSettings struct {
	IdleTimeoutInMinutes int `json:"idleTimeoutInMinutes"`
	MaxLifetimeInMinutes int `json:"maxLifetimeInMinutes"`
}

// DefaultSessionSettings are the settings of an environment that never
// set them.
func DefaultSessionSettings() SessionSettings {
	return SessionSettings{IdleTimeoutInMinutes: SessionMinutesDefault, MaxLifetimeInMinutes: SessionMinutesDefault}
}

// SessionSettingsRequest is a PUT body; a member left out takes its
// default.
type SessionSettingsRequest struct {
	IdleTimeoutInMinutes *Int `json:"idleTimeoutInMinutes"`
	MaxLifetimeInMinutes *Int `json:"maxLifetimeInMinutes"`
}

// Normalize checks a PUT body and returns the settings it sets; details
// name every broken rule.
func (r SessionSettingsRequest) Normalize() (SessionSettings, []Detail) {
	out := DefaultSessionSettings()
	var details []Detail
	for _, f := range []struct {
		name string
		in   *Int
		out  *int
	}{{"idleTimeoutInMinutes", r.IdleTimeoutInMinutes, &out.IdleTimeoutInMinutes}, {"maxLifetimeInMinutes", r.MaxLifetimeInMinutes, &out.MaxLifetimeInMinutes}} {
		if f.in == nil {
			continue
		}
		if *f.in < SessionMinutesMin || *f.in > SessionMinutesMax {
			details = append(details, InvalidValue(f.name, f.name+" must be between "+strconv.Itoa(SessionMinutesMin)+" and "+strconv.Itoa(SessionMinutesMax)+"."))
			continue
		}
		*f.out = int(*f.in)
	}
	if len(details) == 0 && out.MaxLifetimeInMinutes < out.IdleTimeoutInMinutes {
		details = append(details, InvalidValue("maxLifetimeInMinutes", "maxLifetimeInMinutes must not be less than idleTimeoutInMinutes."))
	}
	return out, details
}

// Valid says whether stored settings keep the rules a PUT enforces.
func (s SessionSettings) Valid() bool {
	in := func(n int) bool { return n >= SessionMinutesMin && n <= SessionMinutesMax }
	return in(s.IdleTimeoutInMinutes) && in(s.MaxLifetimeInMinutes) && s.MaxLifetimeInMinutes >= s.IdleTimeoutInMinutes
}

// SessionSettingsResponse is the resource as GET and PUT answer it.
type SessionSettingsResponse struct {
	Links       Links `json:"_links"`
	Environment Ref   `json:"environment"`
	SessionSettings
}
