package ratelimit

import "time"

// Config is every limit the server applies (see the README's "Rate
// limits"). Failures are limited by default; successful, authenticated
// traffic only when an operator sets RequestsPerAddress or
// RequestsPerClient.
type Config struct {
	// ClientAuthFailuresPerAddress and ClientAuthFailuresPerClient bound
	// failed client authentications at the token, introspection and
	// revocation endpoints, per source address and per client id. Once
	// either is spent, the endpoint answers 429 before it checks anything.
	// The per-client limit should stay above the per-address one, so that
	// one address cannot lock a client out.
	ClientAuthFailuresPerAddress Rate
	ClientAuthFailuresPerClient  Rate
	// CheckFailuresPerAddress and CheckFailuresPerUser bound the failed
	// flow actions that check a secret the user types (a password, a
	// one-time code), per source address and per username (whether or not
	// it names a user).
	CheckFailuresPerAddress Rate
	CheckFailuresPerUser    Rate
	// FlowsPerAddress bounds the flows one source address has started and
	// not finished: authorize takes a token, resume gives it back.
	FlowsPerAddress Rate
	// CodeSendsPerAddress and CodeSendsPerUser bound the one-time codes
	// sign-on flows send by email (password recovery, email
	// verification), per source address and per recipient username
	// (whether or not it names a user), so that no caller can flood a
	// mailbox.
	CodeSendsPerAddress Rate
	CodeSendsPerUser    Rate
	// RegistrationsPerAddress bounds the self-service registrations
	// (user.register attempts that get as far as hashing the password and
	// storing a user) per source address.
	RegistrationsPerAddress Rate
	// LiveFlowsPerEnvironment caps the unexpired flows of an environment;
	// 0 is no cap.
	LiveFlowsPerEnvironment int
	// RequestsPerAddress and RequestsPerClient bound all traffic, per
	// source address and per authenticated client (at the token,
	// introspection and revocation endpoints and the management API).
	// Off unless set.
	RequestsPerAddress Rate
	RequestsPerClient  Rate
	// MaxKeys bounds the keys each limiter remembers (DefaultMaxKeys when
	// 0).
	MaxKeys int
}

// Defaults are generous to real users and test suites alike, and stop a
// flood within seconds.
func Defaults() Config {
	return Config{
		ClientAuthFailuresPerAddress: Rate{N: 100, Per: 10 * time.Second}, // then 10 a second
		ClientAuthFailuresPerClient:  Rate{N: 300, Per: 10 * time.Second}, // then 30 a second
		CheckFailuresPerAddress:      Rate{N: 100, Per: time.Minute},      // then one every 0.6 s
		CheckFailuresPerUser:         Rate{N: 50, Per: 10 * time.Minute},  // then one every 12 s
		FlowsPerAddress:              Rate{N: 500, Per: time.Minute},      // unfinished; then 8 a second
		CodeSendsPerAddress:          Rate{N: 50, Per: 10 * time.Minute},  // then one every 12 s
		CodeSendsPerUser:             Rate{N: 5, Per: 10 * time.Minute},   // then one every 2 minutes
		RegistrationsPerAddress:      Rate{N: 20, Per: time.Hour},         // then one every 3 minutes
		LiveFlowsPerEnvironment:      100_000,
		MaxKeys:                      DefaultMaxKeys,
	}
}
