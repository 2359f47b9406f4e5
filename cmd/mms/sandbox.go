package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

func sandboxCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "sandbox", Short: "The sandbox calendar back end kept in the service database"}
	var database string
	var opts sandbox.BulkOptions
	seed := &cobra.Command{
		Use:   "seed",
		Short: "Add generated users, each organizing future online meetings that show an old dial-in block",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Users < 1 || opts.Users > 100000 {
				return fmt.Errorf("--users: must be between 1 and 100000, not %d", opts.Users)
			}
			if opts.Meetings < 0 || opts.Meetings > 100000 {
				return fmt.Errorf("--meetings: must be between 0 and 100000, not %d", opts.Meetings)
			}
			db, err := store.Open(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			start := time.Now()
			users, err := sandbox.SeedBulk(cmd.Context(), db, opts, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seeded %d users x %d meetings in tenant %s in %s; first user: %s\n",
				len(users), opts.Meetings, opts.Tenant, time.Since(start).Round(time.Millisecond), users[0])
			return nil
		},
	}
	seed.Flags().StringVar(&database, "database", env("MMS_DATABASE", ".mms/mms.db"), "service database: a SQLite file path or a postgres:// URL (MMS_DATABASE)")
	seed.Flags().StringVar(&opts.Tenant, "tenant", sandbox.DemoTenant, "tenant to add the users to (created if missing)")
	seed.Flags().IntVar(&opts.Users, "users", 10, "number of users")
	seed.Flags().IntVar(&opts.Meetings, "meetings", 20, "future meetings each user organizes")
	cmd.AddCommand(seed)
	return cmd
}
