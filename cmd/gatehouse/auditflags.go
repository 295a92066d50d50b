package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// auditFlags registers --audit and --audit-retention (with their env
// vars) and returns what sets them in the configuration once the flags
// are parsed.
func auditFlags(fs *flag.FlagSet) (apply func(*app.Config) error, err error) {
	on := true
	if v := os.Getenv("GATEHOUSE_AUDIT"); v != "" {
		if on, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("GATEHOUSE_AUDIT must be true or false, not %q", v)
		}
	}
	enabled := fs.Bool("audit", on, "record audit activities (GATEHOUSE_AUDIT); --audit=false records none")
	retention := fs.String("audit-retention", env("GATEHOUSE_AUDIT_RETENTION", "90d"),
		"how long audit activities are kept: days such as 90d, or a duration such as 720h (GATEHOUSE_AUDIT_RETENTION)")
	return func(cfg *app.Config) error {
		d, err := parseRetention(*retention)
		if err != nil {
			return err
		}
		cfg.Audit.Disabled, cfg.Audit.Retention = !*enabled, d
		return nil
	}, nil
}

// parseRetention reads "90d" (days) or a Go duration; it must be at least
// an hour, so that a typo ("90s") cannot purge the trail at once.
func parseRetention(v string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return 0, fmt.Errorf("--audit-retention (GATEHOUSE_AUDIT_RETENTION) must be days such as 90d or a duration such as 720h, not %q", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("--audit-retention (GATEHOUSE_AUDIT_RETENTION) must be days such as 90d or a duration such as 720h, not %q", v)
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("--audit-retention (GATEHOUSE_AUDIT_RETENTION) must be at least 1h, not %q", v)
	}
	return d, nil
}
