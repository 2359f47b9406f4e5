package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/store"
)

func adminCommands() []*cobra.Command {
	return []*cobra.Command{startCommand(), statusCommand(), cancelCommand(), retryCommand(),
		configCommand(), eventCommand(), tenantCommand(), userCommand()}
}

// userAction is a verb that POSTs to one of a user's migration routes.
func userAction(use, short, suffix, done string, body func() any, flags func(*cobra.Command)) *cobra.Command {
	var af apiFlags
	var user string
	cmd := &cobra.Command{
		Use:   use + " USER",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := userArg(cmd, args, &user); err != nil {
				return err
			}
			if err := af.check(); err != nil {
				return err
			}
			if err := checkUser(&user); err != nil {
				return err
			}
			var out map[string]any
			path := "/v1/tenants/" + url.PathEscape(af.tenant) + "/migrations/" + url.PathEscape(user) + "/" + suffix
			if err := af.call(http.MethodPost, path, body(), &out); err != nil {
				return err
			}
			if af.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), done+"\n", user)
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "whose migration (or as the argument; --identity)")
	if flags != nil {
		flags(cmd)
	}
	return cmd
}

func retryCommand() *cobra.Command {
	return userAction("retry", "Migrate again only the meetings that failed in a user's latest migration",
		"retry-failed", "retry of the failed meetings of %s requested", func() any { return nil }, nil)
}

func cancelCommand() *cobra.Command {
	var req api.CancelRequest
	return userAction("cancel", "Stop a user's pending or running migration (after its current page); the record ends Failed, cancelled by you",
		"cancel", "cancel requested for %s", func() any { return req }, func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&req.Reason, "reason", "", "why, recorded in the status")
		})
}

func startCommand() *cobra.Command {
	var af apiFlags
	var req api.StartRequest
	var quiet int
	cmd := &cobra.Command{
		Use:   "start USER",
		Short: "Start a migration of a user's meetings (Start-CsExMeetingMigration)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := userArg(cmd, args, &req.User); err != nil {
				return err
			}
			if req.User == "" {
				return errors.New("the user: give it as the argument (-Identity) or with --user")
			}
			if err := af.check(); err != nil {
				return err
			}
			if err := checkUser(&req.User); err != nil {
				return err
			}
			if cmd.Flags().Changed("quiet-period") {
				req.QuietPeriodSeconds = &quiet
			}
			var rec map[string]any
			if err := af.call(http.MethodPost, "/v1/tenants/"+url.PathEscape(af.tenant)+"/migrations", req, &rec); err != nil {
				return err
			}
			if af.output == "json" {
				return printJSON(cmd.OutOrStdout(), rec)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "migration of %s is %v (correlation ID %v)\n", req.User, rec["state"], rec["correlationId"])
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&req.User, "user", "", "the organizer whose meetings to migrate (or as the argument; --identity)")
	cmd.Flags().StringVar((*string)(&req.SourceMeetingType), "source", "All", "meetings to migrate: All, SfB or Teams (--source-meeting-type)")
	cmd.Flags().StringVar((*string)(&req.TargetMeetingType), "target", "Current", "Current keeps each meeting's kind; Teams converts to Teams (--target-meeting-type)")
	completeValues(cmd, "source", "All", "SfB", "Teams")
	completeValues(cmd, "target", "Current", "Teams")
	cmd.Flags().IntVar(&quiet, "quiet-period", 0, "seconds to wait for further changes before running")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "compute each meeting's outcome and diff, changing nothing")
	return cmd
}

const statusLong = `Show migration status records, as Get-CsMeetingMigrationStatus: the
tenant's records (filtered by --state, --type, --start, --end), each state
with its user count (--summary), or one user's latest record with its
per-meeting results (--user). Dates in tables are local time. -o csv prints
the list as the API's CSV (the cmdlet's columns), the summary as
State,UserCount and a user's meetings as
MeetingId,Subject,Start,Outcome,InvitesSent,Reason.

The list holds every record, as the cmdlet's does: it is read page after
page, following the API's next cursor; --limit N stops after N records
(saying so on stderr). Dry runs are left out of the list and summary
unless --dry-run is given; then a DryRun column tells them apart.

With --user and --watch, poll the user's record every --interval until it is
Succeeded or Failed, showing a progress line: state, a bar, processed and
expected meetings, percent, rate and ETA (processed and rate only when the
calendar back end cannot count; "waiting" while Pending, in the quiet period
or queued). On a terminal the line is redrawn in place; otherwise a line is
printed only when something changed, so logs stay readable. At the end the
record's counters are printed (with -o json: progress on stderr, the final
record as JSON on stdout). A transient API error is retried for up to 30s.
Ctrl-C stops watching; the migration itself goes on.

Exit status:
  0    ok; with --watch, the migration Succeeded
  1    a usage or local error
  2    the API refused the request or is unreachable (with --watch: for 30s)
  4    with --watch, the migration Failed
  130  with --watch, interrupted (Ctrl-C)`

func statusCommand() *cobra.Command {
	af := apiFlags{outputs: []string{"table", "json", "csv"}}
	var user, state, typ, start, end, correlationID string
	var summary, watch, dryRuns bool
	var interval time.Duration
	var limit int
	cmd := &cobra.Command{
		Use:   "status [USER [--watch [--interval 1s]] | --summary]",
		Short: "Show migration status records (Get-CsMeetingMigrationStatus); --watch follows one to its end",
		Long:  statusLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := userArg(cmd, args, &user); err != nil {
				return err
			}
			if watch && user == "" {
				return errors.New("--watch: needs --user")
			}
			if watch && af.output == "csv" {
				return errors.New("--watch: not with -o csv")
			}
			if interval <= 0 {
				return errors.New("--interval: must be positive")
			}
			if summary && user != "" {
				return errors.New("--summary: not with --user")
			}
			if user != "" {
				if err := checkUser(&user); err != nil {
					return err
				}
			}
			if limit < 0 {
				return errors.New("--limit: must be 0 (every record) or more")
			}
			if err := af.check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			base := af.tenantPath("migrations")
			if user != "" {
				path := base + "/" + url.PathEscape(user)
				q := url.Values{}
				if correlationID != "" {
					q.Set("correlationId", correlationID)
				}
				if watch {
					q.Set("meetings", "false")
					progress := out
					if af.output == "json" {
						progress = cmd.ErrOrStderr()
					}
					w := &watcher{af: &af, path: path + "?" + q.Encode(), interval: interval, out: progress,
						errOut: cmd.ErrOrStderr(), tty: isTerminal(progress)}
					d, err := w.run(cmd.Context())
					if err == nil {
						if af.output == "json" {
							err = printJSON(out, d.StatusRecord)
						} else {
							err = printCounters(out, d.StatusRecord)
						}
					}
					return watchResult(d, err, cmd.ErrOrStderr())
				}
				if len(q) > 0 {
					path += "?" + q.Encode()
				}
				var d api.MigrationDetail
				if err := af.call(http.MethodGet, path, nil, &d); err != nil {
					return err
				}
				switch af.output {
				case "json":
					return printJSON(out, d)
				case "csv":
					return meetingsCSV(out, d.Meetings)
				}
				printDetail(out, d)
				return nil
			}
			q := url.Values{}
			for k, v := range map[string]string{"state": state, "type": typ, "start": start, "end": end} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if dryRuns {
				q.Set("dryRun", "true")
			}
			if summary {
				var sum struct {
					Summary []struct {
						State     string `json:"state"`
						UserCount int    `json:"userCount"`
					} `json:"summary"`
				}
				if err := af.call(http.MethodGet, base+"/summary?"+q.Encode(), nil, &sum); err != nil {
					return err
				}
				switch af.output {
				case "json":
					return printJSON(out, sum)
				case "csv":
					cw := csv.NewWriter(out)
					_ = cw.Write([]string{"State", "UserCount"})
					for _, r := range sum.Summary {
						_ = cw.Write(api.SafeCSVRow([]string{r.State, strconv.Itoa(r.UserCount)}))
					}
					cw.Flush()
					return cw.Error()
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "STATE\tUSERCOUNT")
				for _, r := range sum.Summary {
					fmt.Fprintf(tw, "%s\t%d\n", r.State, r.UserCount)
				}
				return tw.Flush()
			}
			if af.output == "csv" {
				return listCSV(cmd.Context(), &af, base, q, limit, out, cmd.ErrOrStderr())
			}
			list, err := listAll(cmd.Context(), &af, base, q, limit)
			if err != nil {
				return err
			}
			if len(list.Migrations) < list.Total {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d records shown (--limit)\n", len(list.Migrations), list.Total)
			}
			if af.output == "json" {
				return printJSON(out, list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			head := "USER\tSTATE\tTYPE\tTOTAL\tSUCCEEDED\tFAILED\tINVITES\tMODIFIED\tLAST MESSAGE"
			if dryRuns {
				head = "USER\tDRYRUN\tSTATE\tTYPE\tTOTAL\tSUCCEEDED\tFAILED\tINVITES\tMODIFIED\tLAST MESSAGE"
			}
			fmt.Fprintln(tw, head)
			for _, m := range list.Migrations {
				user := esc(m.UserID)
				if dryRuns {
					user += "\t" + strconv.FormatBool(m.DryRun)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", user, m.State, m.MigrationType, m.TotalMeeting,
					m.SucceededMeeting, m.FailedMeeting, m.InvitesUpdate, m.ModifiedDate.Local().Format(time.DateTime), esc(m.LastMessage))
			}
			return tw.Flush()
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "one user's latest record with per-meeting results (or as the argument; --identity)")
	cmd.Flags().StringVar(&state, "state", "", "Pending, InProgress, Failed or Succeeded")
	cmd.Flags().StringVar(&typ, "type", "", "migration type: SfbToTeams, TeamsToTeams, ToSameType or AllToTeams")
	cmd.Flags().StringVar(&start, "start", "", "records created or modified from this time (RFC 3339; --start-time)")
	cmd.Flags().StringVar(&end, "end", "", "records created or modified before this time (RFC 3339; --end-time)")
	cmd.Flags().BoolVar(&summary, "summary", false, "each state with its user count (--summary-only, -SummaryOnly)")
	completeValues(cmd, "state", states()...)
	completeValues(cmd, "type", types()...)
	cmd.Flags().StringVar(&correlationID, "correlation-id", "", "with --user: that record (a dry run's, say) instead of the latest")
	cmd.Flags().BoolVar(&watch, "watch", false, "with --user: follow the migration until it is Succeeded (exit 0) or Failed (exit 4)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "with --watch: how often to poll")
	cmd.Flags().IntVar(&limit, "limit", 0, "the list: at most this many records (0: every record, page after page)")
	cmd.Flags().BoolVar(&dryRuns, "dry-run", false, "the list and summary: dry runs included, with a DryRun column")
	return cmd
}

// listPage is the most records asked for at once: the API's largest page
// (a variable so that a test can page through a few records).
var listPage = 1000

// pageQuery is q asking for the page at cursor, at most want records
// (want 0: a whole page).
func pageQuery(q url.Values, cursor string, want int) string {
	p := url.Values{}
	for k, v := range q {
		p[k] = v
	}
	n := listPage
	if want > 0 && want < n {
		n = want
	}
	p.Set("limit", strconv.Itoa(n))
	if cursor != "" {
		p.Set("cursor", cursor)
	}
	return p.Encode()
}

// listAll follows the listing's next cursor until every record (or limit
// of them, when positive) is read, as Get-CsMeetingMigrationStatus returns
// them all. Next is the cursor to go on from when limit cut the list.
func listAll(ctx context.Context, af *apiFlags, base string, q url.Values, limit int) (api.MigrationList, error) {
	var all api.MigrationList
	all.Migrations = []store.StatusRecord{}
	for cursor := ""; ; {
		var page api.MigrationList
		if err := af.callContext(ctx, http.MethodGet, base+"?"+pageQuery(q, cursor, limit-len(all.Migrations)), nil, &page); err != nil {
			return all, err
		}
		all.Migrations = append(all.Migrations, page.Migrations...)
		all.Total, all.Next, cursor = page.Total, page.Next, page.Next
		if cursor == "" || len(page.Migrations) == 0 || (limit > 0 && len(all.Migrations) >= limit) {
			return all, nil
		}
	}
}

// listCSV writes the API's CSV of every record (or limit of them), page
// after page by the X-Next-Cursor header, with one header row.
func listCSV(ctx context.Context, af *apiFlags, base string, q url.Values, limit int, out, errOut io.Writer) error {
	q.Set("format", "csv")
	cw := csv.NewWriter(out)
	rows, total := 0, 0
	for cursor := ""; ; {
		raw, hdr, err := af.exchange(ctx, http.MethodGet, base+"?"+pageQuery(q, cursor, limit-rows), nil)
		if err != nil {
			return err
		}
		recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			return fmt.Errorf("the API's CSV: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		if cursor == "" {
			_ = cw.Write(recs[0]) // the header, once
		}
		for _, rec := range recs[1:] {
			// Again, in case the API is older than its own neutralising.
			_ = cw.Write(api.SafeCSVRow(rec))
		}
		rows += len(recs) - 1
		total, _ = strconv.Atoi(hdr.Get("X-Total-Count"))
		cursor = hdr.Get("X-Next-Cursor")
		if cursor == "" || len(recs) == 1 || (limit > 0 && rows >= limit) {
			break
		}
	}
	cw.Flush()
	if rows < total {
		fmt.Fprintf(errOut, "%d of %d records shown (--limit)\n", rows, total)
	}
	return cw.Error()
}

// meetingsCSV writes a user's per-meeting results.
func meetingsCSV(w io.Writer, ms []store.MeetingResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"MeetingId", "Subject", "Start", "Outcome", "InvitesSent", "Reason"})
	for _, m := range ms {
		_ = cw.Write(api.SafeCSVRow([]string{m.MeetingID, m.Subject, m.Start.Format(time.RFC3339), string(m.Outcome), strconv.Itoa(m.InvitesSent), m.Reason}))
	}
	cw.Flush()
	return cw.Error()
}

func printDetail(w io.Writer, d api.MigrationDetail) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"UserId", d.UserID}, {"State", string(d.State)}, {"MigrationType", string(d.MigrationType)},
		{"TotalMeeting", fmt.Sprint(d.TotalMeeting)}, {"SucceededMeeting", fmt.Sprint(d.SucceededMeeting)},
		{"FailedMeeting", fmt.Sprint(d.FailedMeeting)}, {"SkippedMeeting", fmt.Sprint(d.SkippedMeeting)},
		{"InvitesUpdate", fmt.Sprint(d.InvitesUpdate)}, {"RetryCount", fmt.Sprint(d.RetryCount)},
		{"LastMessage", d.LastMessage}, {"CorrelationId", d.CorrelationID},
		{"CreateDate", d.CreateDate.Local().Format(time.DateTime)}, {"ModifiedDate", d.ModifiedDate.Local().Format(time.DateTime)},
	} {
		fmt.Fprintf(tw, "%s\t: %s\n", kv[0], esc(kv[1]))
	}
	tw.Flush()
	if len(d.Meetings) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEETING\tSTART\tOUTCOME\tINVITES\tREASON")
	for _, m := range d.Meetings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", esc(truncate(m.Subject, 40)), m.Start.Local().Format("2006-01-02 15:04"), m.Outcome, m.InvitesSent, esc(m.Reason))
	}
	tw.Flush()
	for _, m := range d.Meetings {
		if m.Diff != "" { // a dry run: show what would change
			fmt.Fprintf(w, "\n--- %s\n%s", esc(m.Subject), escLines(m.Diff))
		}
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
