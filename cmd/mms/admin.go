package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
)

// apiFlags locate the API and the credentials for the admin verbs.
type apiFlags struct {
	url, token, dataDir, tenant, output string
}

func (a *apiFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.url, "api-url", env("MMS_API_URL", "http://127.0.0.1:8080"), "API base URL (MMS_API_URL)")
	f.StringVar(&a.token, "token", "", "API token (default: MMS_TOKEN, then <data-dir>/admin-token)")
	f.StringVar(&a.dataDir, "data-dir", env("MMS_DATA_DIR", ".mms"), "dev data directory holding admin-token (MMS_DATA_DIR)")
	f.StringVar(&a.tenant, "tenant", env("MMS_TENANT", ""), "tenant ID (MMS_TENANT)")
	f.StringVarP(&a.output, "output", "o", "table", "output: table or json")
}

func (a *apiFlags) check() error {
	if a.tenant == "" {
		return errors.New("--tenant: required (or set MMS_TENANT)")
	}
	if a.output != "table" && a.output != "json" {
		return fmt.Errorf("--output: %q is not table or json", a.output)
	}
	if a.token == "" {
		a.token = os.Getenv("MMS_TOKEN")
	}
	if a.token == "" {
		raw, err := os.ReadFile(filepath.Join(a.dataDir, "admin-token"))
		if err != nil {
			return fmt.Errorf("no API token: pass --token, set MMS_TOKEN, or run where %s/admin-token exists", a.dataDir)
		}
		a.token = strings.TrimSpace(string(raw))
	}
	return nil
}

// call sends a request and decodes a 2xx JSON answer into out.
func (a *apiFlags) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, strings.TrimRight(a.url, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("API at %s: %w", a.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error api.Error }
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return exitError{code: 2, err: fmt.Errorf("%s (%d %s)", e.Error.Message, resp.StatusCode, e.Error.Code)}
		}
		return exitError{code: 2, err: fmt.Errorf("%s %s: %s", method, path, resp.Status)}
	}
	return json.Unmarshal(raw, out)
}

func adminCommands() []*cobra.Command {
	return []*cobra.Command{startCommand(), statusCommand(), cancelCommand(), retryCommand()}
}

// userAction is a verb that POSTs to one of a user's migration routes.
func userAction(use, short, suffix, done string, body func() any, flags func(*cobra.Command)) *cobra.Command {
	var af apiFlags
	var user string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := af.check(); err != nil {
				return err
			}
			if user == "" {
				return errors.New("--user: required")
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
	cmd.Flags().StringVar(&user, "user", "", "whose migration (required)")
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
		Use:   "start",
		Short: "Start a migration of a user's meetings (Start-CsExMeetingMigration)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := af.check(); err != nil {
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
	cmd.Flags().StringVar(&req.User, "user", "", "the organizer whose meetings to migrate (required)")
	_ = cmd.MarkFlagRequired("user")
	cmd.Flags().StringVar(&req.SourceMeetingType, "source", "All", "meetings to migrate: All, SfB or Teams")
	cmd.Flags().StringVar(&req.TargetMeetingType, "target", "Current", "Current keeps each meeting's kind; Teams converts to Teams")
	cmd.Flags().IntVar(&quiet, "quiet-period", 0, "seconds to wait for further changes before running")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "compute each meeting's outcome and diff, changing nothing")
	return cmd
}

func statusCommand() *cobra.Command {
	var af apiFlags
	var user, state, typ, start, end, correlationID string
	var summary bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show migration status records (Get-CsMeetingMigrationStatus)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := af.check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			base := "/v1/tenants/" + url.PathEscape(af.tenant) + "/migrations"
			if user != "" {
				var d api.MigrationDetail
				path := base + "/" + url.PathEscape(user)
				if correlationID != "" {
					path += "?correlationId=" + url.QueryEscape(correlationID)
				}
				if err := af.call(http.MethodGet, path, nil, &d); err != nil {
					return err
				}
				if af.output == "json" {
					return printJSON(out, d)
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
				if af.output == "json" {
					return printJSON(out, sum)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "STATE\tUSERCOUNT")
				for _, r := range sum.Summary {
					fmt.Fprintf(tw, "%s\t%d\n", r.State, r.UserCount)
				}
				return tw.Flush()
			}
			var list struct {
				Migrations []api.MigrationDetail `json:"migrations"`
			}
			if err := af.call(http.MethodGet, base+"?"+q.Encode(), nil, &list); err != nil {
				return err
			}
			if af.output == "json" {
				return printJSON(out, list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tSTATE\tTYPE\tTOTAL\tSUCCEEDED\tFAILED\tINVITES\tMODIFIED\tLAST MESSAGE")
			for _, m := range list.Migrations {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", m.UserID, m.State, m.MigrationType, m.TotalMeeting,
					m.SucceededMeeting, m.FailedMeeting, m.InvitesUpdate, m.ModifiedDate.Local().Format(time.DateTime), m.LastMessage)
			}
			return tw.Flush()
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "one user's latest record with per-meeting results")
	cmd.Flags().StringVar(&state, "state", "", "Pending, InProgress, Failed or Succeeded")
	cmd.Flags().StringVar(&typ, "type", "", "migration type: SfbToTeams, TeamsToTeams, ToSameType or AllToTeams")
	cmd.Flags().StringVar(&start, "start", "", "records created or modified from this time (RFC 3339)")
	cmd.Flags().StringVar(&end, "end", "", "records created or modified before this time (RFC 3339)")
	cmd.Flags().BoolVar(&summary, "summary", false, "each state with its user count (-SummaryOnly)")
	cmd.Flags().StringVar(&correlationID, "correlation-id", "", "with --user: that record (a dry run's, say) instead of the latest")
	return cmd
}

func printDetail(w io.Writer, d api.MigrationDetail) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"UserId", d.UserID}, {"State", d.State}, {"MigrationType", d.MigrationType},
		{"TotalMeeting", fmt.Sprint(d.TotalMeeting)}, {"SucceededMeeting", fmt.Sprint(d.SucceededMeeting)},
		{"FailedMeeting", fmt.Sprint(d.FailedMeeting)}, {"SkippedMeeting", fmt.Sprint(d.SkippedMeeting)},
		{"InvitesUpdate", fmt.Sprint(d.InvitesUpdate)}, {"RetryCount", fmt.Sprint(d.RetryCount)},
		{"LastMessage", d.LastMessage}, {"CorrelationId", d.CorrelationID},
		{"CreateDate", d.CreateDate.Local().Format(time.DateTime)}, {"ModifiedDate", d.ModifiedDate.Local().Format(time.DateTime)},
	} {
		fmt.Fprintf(tw, "%s\t: %s\n", kv[0], kv[1])
	}
	tw.Flush()
	if len(d.Meetings) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEETING\tSTART\tOUTCOME\tINVITES\tREASON")
	for _, m := range d.Meetings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", truncate(m.Subject, 40), m.Start.Local().Format("2006-01-02 15:04"), m.Outcome, m.InvitesSent, m.Reason)
	}
	tw.Flush()
	for _, m := range d.Meetings {
		if m.Diff != "" { // a dry run: show what would change
			fmt.Fprintf(w, "\n--- %s\n%s", m.Subject, m.Diff)
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
