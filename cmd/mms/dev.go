//go:build !nodevserver

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/calendar/router"
	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/telemetry"
)

// The dev command links the Temporal server; build with -tags nodevserver
// for a small binary with only the production commands.
func init() { extraServiceCommands = append(extraServiceCommands, devCommand) }

func devCommand() *cobra.Command {
	var cfg devstack.Config
	var calendarsFile string
	var tlsFlags frontendTLS
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: Temporal server and Web UI, worker, API, sandbox (or emulated Graph) calendars",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			cfg.Logger, cfg.SeedDemo, cfg.TemporalTLS = log, true, tlsFlags.tls()
			if cfg.AttachTemporal != "" && cfg.TemporalTLS != nil {
				return errors.New("--temporal-tls-*: they serve the embedded frontend; with --temporal-address, TEMPORAL_TLS_* say how to reach the running one")
			}
			if calendarsFile != "" {
				c, err := router.Load(calendarsFile)
				if err != nil {
					return err
				}
				cfg.Calendars = &c
			}
			tel, err := telemetry.Setup(cmd.Context(), "mms-dev")
			if err != nil {
				return err
			}
			defer tel.Shutdown(context.Background())
			cfg.Logger, cfg.Telemetry = telemetry.Logger(log), tel // metrics at <api>/metrics
			start := time.Now()
			st, err := devstack.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "mms dev is ready in %s\n\n", time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(out, "  API          %s   (health: %s/readyz, metrics: %s/metrics)\n", st.APIURL, st.APIURL, st.APIURL)
			fmt.Fprintf(out, "  Console      %s/console/   (sign in with the admin token below)\n", st.APIURL)
			if st.UIURL != "" {
				fmt.Fprintf(out, "  Temporal UI  %s/namespaces/%s/workflows\n", st.UIURL, devstack.Namespace)
			}
			if st.Temporal != nil {
				fmt.Fprintf(out, "  Temporal     %s   (namespace %s)\n", st.TemporalAddr, st.Namespace)
			} else {
				fmt.Fprintf(out, "  Temporal     %s   (namespace %s, already running: attached)\n", st.TemporalAddr, st.Namespace)
			}
			if st.EmulatorURL != "" {
				fmt.Fprintf(out, "  Graph        %s   (emulator: the demo tenants' mailboxes, %s per call)\n",
					graphtest.GraphURL(st.EmulatorURL), cfg.GraphLatency)
			}
			fmt.Fprintf(out, "  Data         %s\n", cfg.DataDir)
			fmt.Fprintf(out, "  Admin token  %s   (also in %s/admin-token)\n\n", st.AdminToken, cfg.DataDir)
			self := os.Args[0]
			fmt.Fprintf(out, "Try:  %s start alice@contoso.com --tenant contoso\n", self)
			fmt.Fprintf(out, "      %s status alice@contoso.com --tenant contoso\n", self)
			fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
			select {
			case <-cmd.Context().Done():
			case err := <-st.Served():
				st.Stop(context.Background())
				return fmt.Errorf("api server: %w", err)
			}
			fmt.Fprintln(out, "\nstopping: draining the API and the worker...")
			st.Stop(context.Background())
			fmt.Fprintln(out, "stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", env("MMS_DATA_DIR", ".mms"), "directory for the databases and the admin token (MMS_DATA_DIR)")
	f.StringVar(&cfg.Database, "database", env("MMS_DATABASE", ""),
		"service database: a SQLite file path or a postgres:// URL (default <data-dir>/mms.db) (MMS_DATABASE)")
	f.StringVar(&cfg.APIAddr, "api-addr", env("MMS_API_ADDR", "127.0.0.1:8080"), "HTTP API address (MMS_API_ADDR)")
	// --temporal-address names the Temporal to use, as on every command
	// (issue 19): given, the stack attaches to that running server instead
	// of starting its own. The embedded server's own listen address is
	// --temporal-listen (old spelling: --temporal-addr, MMS_TEMPORAL_ADDR).
	f.StringVar(&cfg.AttachTemporal, "temporal-address", env("TEMPORAL_ADDRESS", ""),
		"use the Temporal already running at this host:port (a `temporal server start-dev`, say) instead of starting one (TEMPORAL_ADDRESS)")
	f.StringVar(&cfg.AttachNamespace, "namespace", env("TEMPORAL_NAMESPACE", ""), "with --temporal-address: its namespace (default: default) (TEMPORAL_NAMESPACE)")
	f.StringVar(&cfg.TemporalAddr, "temporal-listen", env("MMS_TEMPORAL_ADDR", "127.0.0.1:7233"), "address the embedded Temporal frontend listens on")
	withEnv(cmd, "temporal-listen", "MMS_TEMPORAL_LISTEN")
	deprecatedAlias(cmd, "temporal-addr", "temporal-listen", &cfg.TemporalAddr)
	bindFrontendTLS(cmd, &tlsFlags)
	f.StringVar(&cfg.UIAddr, "ui-addr", env("MMS_UI_ADDR", "127.0.0.1:8233"), `Temporal Web UI address, "-" for none (MMS_UI_ADDR)`)
	bindUI(cmd, &cfg.UIWriteActions, &cfg.UIHosts)
	f.StringVar(&cfg.Calendar, "calendar", env("MMS_CALENDAR", devstack.CalendarSandbox),
		"calendar back end of the demo tenants: sandbox, or graph-emulator (Microsoft Graph emulated on loopback) (MMS_CALENDAR)")
	f.StringVar(&cfg.GraphEmulatorAddr, "graph-emulator-addr", "127.0.0.1:0", "address of the Graph emulator")
	f.DurationVar(&cfg.GraphLatency, "graph-latency", 0, "latency the Graph emulator adds to each call")
	f.StringVar(&calendarsFile, "calendars", env("MMS_CALENDARS", ""), "calendars file: tenants whose mailboxes are in Graph or CalDAV (MMS_CALENDARS)")
	// The knobs of `mms worker` and `mms api`, for the worker and the API
	// this command runs.
	bindWorker(cmd, &cfg.Service)
	bindAPI(cmd, &cfg.Service)
	return cmd
}
