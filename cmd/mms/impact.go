package main

import (
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/intake"
)

// printImpact posts body to path (an impact preview) and prints the
// summary line, then one line per user.
func printImpact(cmd *cobra.Command, af apiFlags, path string, body any) error {
	var imp intake.Impact
	if err := af.call(http.MethodPost, path, body, &imp); err != nil {
		return err
	}
	return af.print(cmd, imp, func(w io.Writer) error {
		fmt.Fprintln(w, esc(imp.Summary.Text))
		if imp.Summary.Estimate {
			fmt.Fprintln(w, "(estimates: the back end could not be counted in time)")
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tMIGRATE\tMEETINGS\tNOTIFICATIONS\tREASON")
		for _, u := range imp.Users {
			approx := ""
			if u.Estimate {
				approx = "~"
			}
			fmt.Fprintf(tw, "%s\t%t\t%s%d\t%s%d\t%s\n", esc(u.User), u.Migrate, approx, u.Meetings, approx, u.Notifications, esc(u.Reason))
		}
		return tw.Flush()
	})
}
