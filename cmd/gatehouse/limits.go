package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
)

// limitFlags are the rate-limit flags: each takes its default from
// ratelimit.Defaults(), then from its env var (the flag's name in capitals
// after GATEHOUSE_), then from the command line.
type limitFlags struct {
	cfg     ratelimit.Config
	proxies string
	envErr  error
}

// envName is a flag's env var: --limit-max-keys is GATEHOUSE_LIMIT_MAX_KEYS.
func envName(flagName string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// registerLimitFlags adds the flags to fs; read them after fs.Parse.
func registerLimitFlags(fs *flag.FlagSet) *limitFlags {
	lf := &limitFlags{cfg: ratelimit.Defaults()}
	rate := func(r *ratelimit.Rate, name, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok && v != "" && lf.envErr == nil {
			if err := r.Set(v); err != nil {
				lf.envErr = fmt.Errorf("%s: %w", envName(name), err)
			}
		}
		fs.Var(r, name, usage+" (N/DURATION such as 100/10s, or off; "+envName(name)+")")
	}
	count := func(n *int, name, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok && v != "" && lf.envErr == nil {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				lf.envErr = fmt.Errorf("%s must be a whole number, not %q", envName(name), v)
			}
			*n = i
		}
		fs.IntVar(n, name, *n, usage+" ("+envName(name)+")")
	}
	c := &lf.cfg
	rate(&c.ClientAuthFailuresPerAddress, "limit-client-auth-failures-per-address", "failed client authentications (token, introspect, revoke) per source address")
	rate(&c.ClientAuthFailuresPerClient, "limit-client-auth-failures-per-client", "failed client authentications per client id")
	rate(&c.CheckFailuresPerAddress, "limit-check-failures-per-address", "failed password and code checks in sign-on flows per source address")
	rate(&c.CheckFailuresPerUser, "limit-check-failures-per-user", "failed password and code checks in sign-on flows per username")
	rate(&c.FlowsPerAddress, "limit-flows-per-address", "sign-on flows started and not finished per source address")
	rate(&c.CodeSendsPerAddress, "limit-code-sends-per-address", "recovery and verification codes sent by email per source address")
	rate(&c.CodeSendsPerUser, "limit-code-sends-per-user", "recovery and verification codes sent by email per recipient username")
	rate(&c.RegistrationsPerAddress, "limit-registrations-per-address", "self-service registrations (user.register reaching the password hash) per source address")
	count(&c.LiveFlowsPerEnvironment, "limit-live-flows-per-environment", "unexpired sign-on flows per environment, 0 for no cap")
	rate(&c.RequestsPerAddress, "limit-requests-per-address", "all requests per source address; default off")
	rate(&c.RequestsPerClient, "limit-requests-per-client", "all requests per authenticated client (token, introspect, revoke, management API); default off")
	count(&c.MaxKeys, "limit-max-keys", "keys (addresses, clients, usernames) each limit remembers on this node")
	lf.proxies = os.Getenv(envName("trusted-proxies"))
	fs.StringVar(&lf.proxies, "trusted-proxies", lf.proxies,
		"comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For is believed ("+envName("trusted-proxies")+"); default none")
	return lf
}

// read returns the limits and trusted proxies, or the first bad value.
func (lf *limitFlags) read() (*ratelimit.Config, httpx.TrustedProxies, error) {
	if lf.envErr != nil {
		return nil, nil, lf.envErr
	}
	if lf.cfg.LiveFlowsPerEnvironment < 0 || lf.cfg.MaxKeys < 0 {
		return nil, nil, fmt.Errorf("--limit-live-flows-per-environment and --limit-max-keys cannot be negative")
	}
	proxies, err := httpx.ParseTrustedProxies(lf.proxies)
	if err != nil {
		return nil, nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	cfg := lf.cfg
	return &cfg, proxies, nil
}
