package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

func eventCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event",
		Short: "Post change events as an upstream system would, or list the recorded ones",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(eventPostCommand(), eventListCommand())
	return cmd
}

// eventFieldFlags are post's flags that make up an event (not with -f).
var eventFieldFlags = []string{"type", "user", "id", "conference-id", "toll-number", "toll-free-number", "dial-in-url",
	"bridge-id", "old-number", "new-number", "mode", "migrate-meetings-to-teams", "join-url", "meeting-id", "passcode",
	"meeting-options-url"}

func eventPostCommand() *cobra.Command {
	var af apiFlags
	var ev api.EventIn
	var typ, file string
	var preview bool
	types := make([]string, len(rules.EventTypes))
	for i, t := range rules.EventTypes {
		types[i] = string(t)
	}
	cmd := &cobra.Command{
		Use:   "post --type TYPE [--user U] [field flags] | post -f FILE",
		Short: "Post one change event (from flags) or a batch (from a JSON file) and print the decisions",
		Long: `Post a change event and print each decision: the user, whether it
triggered a migration, why, and the migration's correlation ID.

With --preview nothing is recorded or started: mms prints what the events
would do, a summary line first, then each user, whether a migration would
run and why, and the meetings and notifications it would send.

The event comes from the flags, or with -f from a JSON file holding one event
or an array of up to 1000 ("-" reads standard input); -f is not combined with
the field flags. Event types: ` + strings.Join(types, ", ") + `.

Exit status: 0 ok; 1 a usage or local error; 2 the API refused (the message
names the field) or is unreachable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var body any
			if cmd.Flags().Changed("file") {
				for _, name := range eventFieldFlags {
					if cmd.Flags().Changed(name) {
						return fmt.Errorf("-f: not with --%s (the file holds the whole event)", name)
					}
				}
				raw, err := readInput(cmd, file)
				if err != nil {
					return err
				}
				if !json.Valid(raw) {
					return fmt.Errorf("%s: not valid JSON", file)
				}
				body = json.RawMessage(raw)
			} else {
				if typ == "" {
					return errors.New("--type: required (or -f FILE)")
				}
				ev.Type = rules.EventType(typ)
				if ev.User != "" { // none: a tenant-wide or bridge event
					if err := checkUser(&ev.User); err != nil {
						return err
					}
				}
				body = ev
			}
			if err := af.check(); err != nil {
				return err
			}
			if preview {
				return printImpact(cmd, af, af.tenantPath("events")+"?preview=true", body)
			}
			var out struct {
				Results []store.Event `json:"results"`
			}
			if err := af.call(http.MethodPost, af.tenantPath("events"), body, &out); err != nil {
				return err
			}
			return af.print(cmd, out, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tTRIGGERED\tREASON\tCORRELATION ID")
				for _, r := range out.Results {
					fmt.Fprintf(tw, "%s\t%t\t%s\t%s\n", esc(orDash(r.UserID)), r.Triggered, esc(r.Reason), esc(orDash(r.CorrelationID)))
				}
				return tw.Flush()
			})
		},
	}
	af.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `JSON file with one event or an array ("-": standard input)`)
	f.BoolVar(&preview, "preview", false, "print the impact (users, meetings, notifications) without recording or starting anything")
	f.StringVar(&typ, "type", "", "event type (required without -f)")
	f.StringVar(&ev.User, "user", "", "the user concerned (none for tenant-wide and bridge events)")
	f.StringVar(&ev.ID, "id", "", "event ID, making a retry safe (generated when left out)")
	f.StringVar(&ev.ConferenceID, "conference-id", "", "new conference ID")
	f.StringVar(&ev.TollNumber, "toll-number", "", "new toll number")
	f.StringArrayVar(&ev.TollFreeNumbers, "toll-free-number", nil, "new toll-free number (repeatable)")
	f.StringVar(&ev.DialInURL, "dial-in-url", "", "new dial-in URL")
	f.StringVar(&ev.BridgeID, "bridge-id", "", "audio-conferencing bridge")
	f.StringVar(&ev.OldNumber, "old-number", "", "the bridge's old number")
	f.StringVar(&ev.NewNumber, "new-number", "", "the bridge's new number")
	f.StringVar(&ev.Mode, "mode", "", "Teams upgrade mode: Islands, SfBOnly, SfBWithTeamsCollab, SfBWithTeamsCollabAndMeetings, TeamsOnly")
	f.BoolVar(&ev.MigrateMeetingsToTeams, "migrate-meetings-to-teams", false, "with teamsUpgradeGranted: convert the user's meetings to Teams")
	f.StringVar(&ev.JoinURL, "join-url", "", "the user's new meeting join URL")
	f.StringVar(&ev.MeetingID, "meeting-id", "", "the user's new meeting ID")
	f.StringVar(&ev.Passcode, "passcode", "", "the user's new meeting passcode")
	f.StringVar(&ev.MeetingOptionsURL, "meeting-options-url", "", "the user's new meeting options URL")
	return cmd
}

func eventListCommand() *cobra.Command {
	var af apiFlags
	var user string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--user U] [--limit N]",
		Short: "List recorded events and their decisions, newest first",
		Long: `List recorded events and their decisions, newest first; times are local.

Exit status: 0 ok; 1 a usage or local error; 2 the API refused or is unreachable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := af.check(); err != nil {
				return err
			}
			q := url.Values{}
			if user != "" {
				if err := checkUser(&user); err != nil {
					return err
				}
				q.Set("user", user)
			}
			if cmd.Flags().Changed("limit") {
				q.Set("limit", strconv.Itoa(limit))
			}
			path := af.tenantPath("events")
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var out struct {
				Events []store.Event `json:"events"`
			}
			if err := af.call(http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			return af.print(cmd, out, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RECEIVED\tID\tTYPE\tUSER\tTRIGGERED\tREASON")
				for _, e := range out.Events {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\n", e.ReceivedAt.Local().Format(time.DateTime), esc(e.ID), esc(e.Type),
						esc(orDash(e.UserID)), e.Triggered, esc(e.Reason))
				}
				return tw.Flush()
			})
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "only this user's events")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (1-1000)")
	return cmd
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	if name == "" {
		return nil, errors.New("-f: needs a file name (or - for standard input)")
	}
	return os.ReadFile(name)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
