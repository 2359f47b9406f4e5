package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// extraServiceCommands are added by files with build tags (dev).
var extraServiceCommands []func() *cobra.Command

func serviceCommands() []*cobra.Command {
	cmds := []*cobra.Command{workerCommand(), apiCommand(), tokenCommand()}
	for _, f := range extraServiceCommands {
		cmds = append(cmds, f())
	}
	return cmds
}

func workerCommand() *cobra.Command {
	cfg := service.Config{Worker: true, ServiceName: "mms-worker"}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a migration worker against a Temporal cluster (TEMPORAL_* variables configure the connection)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runService(cmd, cfg) },
	}
	bindCluster(cmd, &cfg)
	bindWorker(cmd, &cfg)
	f := cmd.Flags()
	f.StringVar(&cfg.Calendars, "calendars", "",
		"calendars file (YAML or JSON): the tenants whose mailboxes are in Graph or CalDAV; the others use the sandbox")
	withEnv(cmd, "calendars", "MMS_CALENDARS")
	f.BoolVar(&cfg.Temporal.RegisterSearchAttributes, "register-search-attributes", true,
		"register the MmsTenant/MmsUser/MmsState search attributes if missing")
	bindMetrics(cmd, &cfg, "127.0.0.1:9464", `address of the worker's Prometheus /metrics listener, "" for none`)
	return cmd
}

func apiCommand() *cobra.Command {
	cfg := service.Config{API: true, ServiceName: "mms-api"}
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API against a Temporal cluster and the service database",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runService(cmd, cfg) },
	}
	bindCluster(cmd, &cfg)
	bindAPI(cmd, &cfg)
	bindMetrics(cmd, &cfg, "", `a separate listener for /metrics, which the API's address then no longer serves ("": on the API's address)`)
	cmd.Flags().StringVar(&cfg.APIAddr, "addr", "127.0.0.1:8080", "listen address")
	withEnv(cmd, "addr", "MMS_API_ADDR")
	return cmd
}

// runService builds what cfg asks for, runs it until the command's context
// ends (SIGINT, SIGTERM), then drains it.
func runService(cmd *cobra.Command, cfg service.Config) error {
	log, err := logger(cmd)
	if err != nil {
		return err
	}
	cfg.Logger = telemetry.Logger(log) // trace_id, span_id, tenant, user, correlationId
	ctx := cmd.Context()
	svc, err := service.Build(ctx, cfg)
	if err != nil {
		return err
	}
	defer svc.Close(context.Background())
	if err := svc.Start(nil); err != nil {
		return err
	}
	select {
	case err := <-svc.Served():
		return fmt.Errorf("api %s: %w", cfg.APIAddr, err)
	case <-ctx.Done():
	}
	cfg.Logger.Info("draining")
	return nil
}

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create and revoke API tokens in the service database"}
	var database, name, tenant, role string
	var allTenants bool
	withDB := func(run func(*cobra.Command, *store.DB) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			db, err := store.Open(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			return run(cmd, db)
		}
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token and print it once (it is stored only as a hash)",
		Args:  cobra.NoArgs,
		RunE: withDB(func(cmd *cobra.Command, db *store.DB) error {
			if tenant != "" {
				if _, err := db.Tenant(cmd.Context(), tenant); err != nil {
					return err
				}
			}
			tok, err := db.CreateToken(cmd.Context(), name, tenant, role)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke the tokens with a name, in one tenant (--tenant) or in all (--all-tenants)",
		Args:  cobra.NoArgs,
		// Names are not unique across tenants: `--name dup` without a
		// tenant revoked three tokens in three tenants (issue 18, finding
		// 7). The scope is now always said, and an empty name, which
		// names no token anyone meant, is refused.
		PreRunE: func(*cobra.Command, []string) error {
			if strings.TrimSpace(name) == "" {
				return errors.New("--name: must not be empty")
			}
			if (tenant == "") == !allTenants {
				return errors.New("give --tenant <id> to revoke in one tenant, or --all-tenants to revoke in every tenant")
			}
			return nil
		},
		RunE: withDB(func(cmd *cobra.Command, db *store.DB) error {
			n, err := db.RevokeToken(cmd.Context(), name, tenant)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("no token named %q", name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d token(s) named %q\n", n, name)
			return nil
		}),
	}
	for _, c := range []*cobra.Command{create, revoke} {
		c.Flags().StringVar(&database, "database", env("MMS_DATABASE", ".mms/mms.db"), "service database: a SQLite file path or a postgres:// URL (MMS_DATABASE)")
		c.Flags().StringVar(&tenant, "tenant", "", "one tenant (default: a token for every tenant)")
		cmd.AddCommand(c)
	}
	create.Flags().StringVar(&name, "name", "admin", "a name for the token, shown in status records")
	create.Flags().StringVar(&role, "role", store.RoleAdmin, "service-admin (create and delete tenants, and all an admin does; no --tenant), admin, operator (start, cancel, read), reader, or upstream (post events only)")
	revoke.Flags().StringVar(&name, "name", "", "the token's name (required)")
	_ = revoke.MarkFlagRequired("name")
	revoke.Flags().BoolVar(&allTenants, "all-tenants", false, "revoke the tokens with this name in every tenant, and the tokens bound to none")
	return cmd
}
