package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// passwordFlags registers the flags that bound password work (each with
// its env var) and returns what sets them in the configuration once the
// flags are parsed.
func passwordFlags(fs *flag.FlagSet) (apply func(*app.Config) error, err error) {
	envInt := func(name string, def int) int {
		if v := os.Getenv(name); v != "" && err == nil {
			n, perr := strconv.Atoi(v)
			if perr != nil {
				err = fmt.Errorf("%s must be a whole number, not %q", name, v)
			}
			return n
		}
		return def
	}
	attempts := fs.Int("max-flow-password-attempts", envInt("GATEHOUSE_MAX_FLOW_PASSWORD_ATTEMPTS", flow.DefaultMaxPasswordAttempts),
		"failed password checks after which a sign-on flow fails; 0: no cap (GATEHOUSE_MAX_FLOW_PASSWORD_ATTEMPTS)")
	workers := fs.Int("password-hash-workers", envInt("GATEHOUSE_PASSWORD_HASH_WORKERS", 0),
		"password hashes run at once; 0: one per CPU (GATEHOUSE_PASSWORD_HASH_WORKERS)")
	queue := fs.Int("password-hash-queue", envInt("GATEHOUSE_PASSWORD_HASH_QUEUE", 0),
		"password checks that may wait for a hash slot, beyond which they get 503; 0: 32 per worker (GATEHOUSE_PASSWORD_HASH_QUEUE)")
	waitDefault := time.Duration(0)
	if v := os.Getenv("GATEHOUSE_PASSWORD_HASH_WAIT"); v != "" && err == nil {
		if waitDefault, err = time.ParseDuration(v); err != nil {
			err = fmt.Errorf("GATEHOUSE_PASSWORD_HASH_WAIT must be a duration such as 1s, not %q", v)
		}
	}
	wait := fs.Duration("password-hash-wait", waitDefault,
		"how long a password check may wait for a hash slot before it gets 503; 0: 1s (GATEHOUSE_PASSWORD_HASH_WAIT)")
	if err != nil {
		return nil, err
	}
	return func(cfg *app.Config) error {
		if *attempts < 0 || *workers < 0 || *queue < 0 || *wait < 0 || *wait > time.Minute {
			return fmt.Errorf("--max-flow-password-attempts, --password-hash-workers and --password-hash-queue must not be negative, --password-hash-wait 0 to 1m")
		}
		cfg.MaxFlowPasswordAttempts = *attempts
		if *attempts == 0 {
			cfg.MaxFlowPasswordAttempts = -1
		}
		cfg.PasswordPool.Workers, cfg.PasswordPool.MaxWaiting, cfg.PasswordPool.MaxWait = *workers, *queue, *wait
		return nil
	}, nil
}
