package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/store"
)

// longRequest bounds the requests that do much on the server: an import of
// up to 10,000 rows, each maybe handed to Temporal, and a tenant delete that
// waits for its runs to stop.
const longRequest = 10 * time.Minute

// tenantCommand manages the tenants an instance serves (a service-admin
// token: mms token create --role service-admin).
func tenantCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, list and delete tenants (needs a service-admin token)"}
	var createAF, listAF apiFlags
	deleteAF := apiFlags{timeout: longRequest}
	var name string
	create := &cobra.Command{
		Use:   "create ID",
		Short: "Create a tenant with the default settings (ID: lower-case letters, digits, '.', '-', '_')",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := createAF.checkAuth(); err != nil {
				return err
			}
			var t store.Tenant
			if err := createAF.call(http.MethodPost, "/v1/tenants", api.CreateTenantRequest{ID: args[0], DisplayName: name}, &t); err != nil {
				return err
			}
			return createAF.print(cmd, t, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "tenant %s created (%s)\n", esc(t.ID), esc(t.DisplayName))
				return err
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tenants the token may see",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := listAF.checkAuth(); err != nil {
				return err
			}
			var out struct {
				Tenants []store.Tenant `json:"tenants"`
			}
			if err := listAF.call(http.MethodGet, "/v1/tenants", nil, &out); err != nil {
				return err
			}
			return listAF.print(cmd, out, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tDISPLAY NAME\tMIGRATION ENABLED\tQUIET PERIOD")
				for _, t := range out.Tenants {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%ds\n", esc(t.ID), esc(t.DisplayName), t.Settings.MeetingMigrationEnabled, t.Settings.QuietPeriodSeconds)
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Cancel a tenant's running migrations, then delete the tenant and all its data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := deleteAF.checkAuth(); err != nil {
				return err
			}
			var out intake.TenantDeletion
			if err := deleteAF.call(http.MethodDelete, "/v1/tenants/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return deleteAF.print(cmd, out, func(w io.Writer) error {
				p := out.Purged
				_, err := fmt.Fprintf(w, "tenant %s deleted: %d migrations cancelled, %d workflows terminated; purged %d users, "+
					"%d migration records, %d meeting results, %d events, %d tokens, %d sandbox rows\n", esc(out.Tenant), out.Cancelled,
					out.Terminated, p.Users, p.Migrations, p.Results, p.Events, p.Tokens, p.Sandbox)
				return err
			})
		},
	}
	for c, af := range map[*cobra.Command]*apiFlags{create: &createAF, list: &listAF, del: &deleteAF} {
		af.register(c)
		_ = c.Flags().MarkHidden("tenant") // the tenant is the argument, or none
		cmd.AddCommand(c)
	}
	create.Flags().StringVar(&name, "display-name", "", "the tenant's display name (default: its ID)")
	return cmd
}

// userCommand holds the verbs on a tenant's directory of users.
func userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "The tenant's directory of users and their conferencing profiles"}
	af := apiFlags{timeout: longRequest}
	var dryRun bool
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import users from a Get-CsOnlineDialInConferencingUser export (CSV or JSON) or an mms JSON list; - reads stdin",
		Long: `Import a directory file in one transaction: users are created, changed or
left unchanged, and each changed conferencing profile becomes the change
events the rules decide on (a changed conference ID migrates the user's
meetings, as an event would). A malformed row imports nothing: the error
names its line and column. --dry-run shows what would change.

The file is what
  Get-CsOnlineDialInConferencingUser | Export-Csv users.csv
  Get-CsOnlineDialInConferencingUser | ConvertTo-Json > users.json
write, or a JSON list of {"user", "displayName", "profile"}. At most 10,000
rows and 8 MiB per file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := af.check(); err != nil {
				return err
			}
			var file []byte
			var err error
			if args[0] == "-" {
				file, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
			} else {
				file, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			if len(file) == 0 {
				return errors.New(args[0] + ": empty")
			}
			path := af.tenantPath() + "/users:import"
			if dryRun {
				path += "?dryRun=true"
			}
			var res intake.ImportResult
			if err := af.call(http.MethodPost, path, rawBody(file), &res); err != nil {
				return err
			}
			return af.print(cmd, res, func(w io.Writer) error { return printImport(w, res) })
		},
	}
	af.register(imp)
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "show what the import would change, changing nothing")
	cmd.AddCommand(imp)
	return cmd
}

func printImport(w io.Writer, res intake.ImportResult) error {
	verb := "imported"
	if res.DryRun {
		verb = "would import (dry run)"
	}
	fmt.Fprintf(w, "%s: %d created, %d changed, %d unchanged; %d users' migrations triggered\n",
		verb, res.Created, res.Changed, res.Unchanged, res.Triggered)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tUSER\tOUTCOME\tFIELDS\tEVENTS")
	for _, r := range res.Users {
		if r.Outcome == intake.ImportUnchanged {
			continue
		}
		var evs []string
		for _, e := range r.Events {
			evs = append(evs, string(e.Type)+": "+e.Reason)
		}
		row := fmt.Sprint(r.Row)
		if r.Line > 0 {
			row = fmt.Sprintf("line %d", r.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row, esc(r.User), r.Outcome, strings.Join(r.Fields, ","), esc(strings.Join(evs, "; ")))
	}
	return tw.Flush()
}
