package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
)

// The service's knobs are bound here, and only here, to the fields of
// service.Config: each one a flag, with an MMS_* variable read when the
// flag is not given. `mms worker`, `mms api` and `mms dev` register the
// groups that concern them, so a knob has one name everywhere.

// envPrefix marks a command annotation "env:<flag>" = "<VARIABLE>".
const envPrefix = "env:"

// withEnv makes the flag fall back on the variable (read by applyEnv before
// the command runs) and says so in its help.
func withEnv(cmd *cobra.Command, flag, variable string) {
	f := cmd.Flags().Lookup(flag)
	f.Usage += " (" + variable + ")"
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[envPrefix+flag] = variable
}

// applyEnv sets every flag that was not given from its variable, when that
// is set and not empty; the flag's own parser checks the value.
func applyEnv(cmd *cobra.Command) error {
	var errs []error
	keys := make([]string, 0, len(cmd.Annotations))
	for k := range cmd.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors in a stable order
	for _, k := range keys {
		flag, ok := strings.CutPrefix(k, envPrefix)
		if !ok || cmd.Flags().Changed(flag) {
			continue
		}
		variable := cmd.Annotations[k]
		if v, ok := os.LookupEnv(variable); ok && v != "" {
			if err := cmd.Flags().Set(flag, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", variable, err))
			}
		}
	}
	return errors.Join(errs...)
}

// bindCluster: the database and Temporal of `mms worker` and `mms api`.
func bindCluster(cmd *cobra.Command, c *service.Config) {
	f := cmd.Flags()
	f.StringVar(&c.Database, "database", ".mms/mms.db", "service database: a SQLite file path or a postgres:// URL (docs/POSTGRESQL.md)")
	withEnv(cmd, "database", "MMS_DATABASE")
	f.StringVar(&c.Temporal.Address, "temporal-address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS, then 127.0.0.1:7233)")
	f.StringVar(&c.Temporal.Namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE, then default)")
}

// bindWorker: how the worker migrates a mailbox.
func bindWorker(cmd *cobra.Command, c *service.Config) {
	f := cmd.Flags()
	f.IntVar(&c.PageSize, "page-size", 0, "meetings per page, the unit of work of one activity (0: 50)")
	withEnv(cmd, "page-size", "MMS_PAGE_SIZE")
	f.IntVar(&c.Concurrency, "concurrency", 0, "meetings of a page updated at once (0: 4, what Graph allows per mailbox)")
	withEnv(cmd, "concurrency", "MMS_CONCURRENCY")
	f.IntVar(&c.MaxConcurrentActivities, "max-activities", 0, "concurrent activity executions of the worker (0: SDK default)")
	withEnv(cmd, "max-activities", "MMS_MAX_ACTIVITIES")
	f.IntVar(&c.HorizonDays, "horizon-days", 0, "migrate meetings up to this many days ahead (0: two years)")
	withEnv(cmd, "horizon-days", "MMS_HORIZON_DAYS")
}

// bindAPI: what the API keeps, and the defaults of the runs it starts
// (they travel in the workflow's input; see service.Runs).
func bindAPI(cmd *cobra.Command, c *service.Config) {
	f := cmd.Flags()
	f.IntVar(&c.RetentionDays, "retention-days", 0, "purge finished status records and events older than this (0: 150)")
	withEnv(cmd, "retention-days", "MMS_RETENTION_DAYS")
	f.IntVar(&c.Runs.MaxRetries, "max-retries", 0, "retries of a run's failed meetings (0: 9)")
	withEnv(cmd, "max-retries", "MMS_MAX_RETRIES")
	f.DurationVar(&c.Runs.RetryInterval, "retry-interval", 0, "time between those retries, whole seconds (0: 24h divided by the retries)")
	withEnv(cmd, "retry-interval", "MMS_RETRY_INTERVAL")
	f.IntVar(&c.Runs.PagesPerExecution, "pages-per-execution", 0, "pages before a run continues as new, to keep its history short (0: 500)")
	withEnv(cmd, "pages-per-execution", "MMS_PAGES_PER_EXECUTION")
	f.DurationVar(&c.Runs.RunDeadline, "run-deadline", 0, "longest a run may take, whole seconds (0: 12h)")
	withEnv(cmd, "run-deadline", "MMS_RUN_DEADLINE")
	f.IntVar(&c.MaxRequestsPerClient, "max-requests-per-client", 0, "API requests in flight from one IP before 429 (0: 64, negative: no limit)")
	withEnv(cmd, "max-requests-per-client", "MMS_MAX_REQUESTS_PER_CLIENT")
	f.DurationVar(&c.BodyTimeout, "body-timeout", 0, "longest the API waits for a request body (0: 30s; previews 2m)")
	withEnv(cmd, "body-timeout", "MMS_BODY_TIMEOUT")
}

// bindMetrics: where /metrics is served and the token it requires; the
// worker always has its own listener, the API may move it off its address.
func bindMetrics(cmd *cobra.Command, c *service.Config, addr, usage string) {
	f := cmd.Flags()
	f.StringVar(&c.MetricsAddr, "metrics-addr", addr, usage)
	withEnv(cmd, "metrics-addr", "MMS_METRICS_ADDR")
	f.StringVar(&c.MetricsToken, "metrics-token", "",
		`bearer token /metrics requires ("": none); prefer the variable, a flag shows in the process list`)
	withEnv(cmd, "metrics-token", "MMS_METRICS_TOKEN")
}

// bindUI: the guards of the embedded Temporal Web UI (`mms dev`, `mms temporal`).
// The UI has no sign-in, so it is read-only unless asked otherwise.
func bindUI(cmd *cobra.Command, writes *bool, hosts *[]string) {
	f := cmd.Flags()
	f.BoolVar(writes, "ui-write-actions", false,
		"let the Temporal Web UI start, signal, terminate and reset workflows; it has no sign-in, so anyone who reaches it can")
	withEnv(cmd, "ui-write-actions", "MMS_UI_WRITE_ACTIONS")
	f.StringSliceVar(hosts, "ui-host", nil,
		"further host name the Temporal Web UI answers for (loopback names and IPs always work; others get 421)")
	withEnv(cmd, "ui-host", "MMS_UI_HOSTS")
}

// checkUser applies the grammar of user IDs (migration.ParseUserID) to a
// --user flag before anything is sent, so a typo such as a pasted tab or a
// missing domain is a usage error here, and puts the canonical form in place.
func checkUser(user *string) error {
	canon, err := migration.ParseUserID(*user)
	if err != nil {
		return fmt.Errorf("--user: %v", err)
	}
	*user = canon
	return nil
}

// esc makes a value safe to print in a terminal table (issue 18, finding
// 4): control characters, other invisible ones and bytes that are not UTF-8
// are shown escaped as strconv.Quote shows them (\t, \x1b, \u200b), so an
// ID, subject or message holding ESC[2J cannot clear or rewrite the
// admin's screen, and a tab or newline cannot forge a column or a row.
// Ordinary Unicode (accents, CJK, emoji) is kept as it is.
func esc(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r) || r == utf8.RuneError:
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// escLines is esc for multi-line text (a dry run's diff): each line is
// escaped and the line breaks are kept.
func escLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = esc(l)
	}
	return strings.Join(lines, "\n")
}

// deprecatedAlias registers old as a hidden, deprecated spelling of the
// string flag bound to v (cobra prints the deprecation when it is used).
func deprecatedAlias(cmd *cobra.Command, old, now string, v *string) {
	f := cmd.Flags()
	f.StringVar(v, old, *v, "deprecated: use --"+now)
	_ = f.MarkHidden(old)
	_ = f.MarkDeprecated(old, "use --"+now)
}
