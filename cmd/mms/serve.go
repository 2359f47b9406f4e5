package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/calendars"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/retention"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/worker"
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

// clusterFlags are shared by the commands that run against a Temporal cluster.
type clusterFlags struct {
	database  string
	temporal  temporalclient.Config
	saPrepare bool
}

func (c *clusterFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.database, "database", env("MMS_DATABASE", ".mms/mms.db"), "service database: a SQLite file path (MMS_DATABASE)")
	f.StringVar(&c.temporal.Address, "temporal-address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS, then 127.0.0.1:7233)")
	f.StringVar(&c.temporal.Namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE, then default)")
}

// process is what a service command runs on.
type process struct {
	log      *slog.Logger
	tel      *telemetry.Telemetry
	inst     *telemetry.Instruments
	db       *store.DB
	temporal client.Client
	closers  []func()
}

func (p *process) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// open sets up logging, telemetry, the database and the Temporal client.
func (c *clusterFlags) open(cmd *cobra.Command, service string) (_ *process, err error) {
	p := &process{}
	defer func() {
		if err != nil {
			p.close() // undo what was opened before the error
		}
	}()
	if p.log, err = logger(cmd); err != nil {
		return nil, err
	}
	p.log = telemetry.Logger(p.log) // trace_id, span_id, tenant, user, correlationId
	ctx := cmd.Context()
	if p.tel, err = telemetry.Setup(ctx, service); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { _ = p.tel.Shutdown(context.Background()) })
	p.inst = telemetry.NewInstruments(p.tel.TracerProvider, p.tel.MeterProvider)
	c.temporal.TracerProvider, c.temporal.MeterProvider = p.tel.TracerProvider, p.tel.MeterProvider
	if p.db, err = store.Open(ctx, c.database); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { p.db.Close() })
	if p.temporal, err = temporalclient.Dial(ctx, c.temporal, p.log); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.temporal.Close)
	return p, nil
}

func workerCommand() *cobra.Command {
	var cf clusterFlags
	var maxActivities int
	var calendarsFile, metricsAddr string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a migration worker against a Temporal cluster (TEMPORAL_* variables configure the connection)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cf.temporal.RegisterSearchAttributes = cf.saPrepare
			p, err := cf.open(cmd, "mms-worker")
			if err != nil {
				return err
			}
			defer p.close()
			log, ctx := p.log, cmd.Context()
			routes := calendars.Config{Default: calendars.Sandbox}
			if calendarsFile != "" {
				if routes, err = calendars.Load(calendarsFile); err != nil {
					return err
				}
			}
			cal, err := calendars.New(routes, sandbox.New(p.db), calendars.Options{Logger: log,
				TracerProvider: p.tel.TracerProvider, MeterProvider: p.tel.MeterProvider})
			if err != nil {
				return err
			}
			w := worker.New(p.temporal, &activities.Activities{DB: p.db, Calendar: cal, Logger: log, Instruments: p.inst},
				worker.Options{MaxConcurrentActivities: maxActivities, Instruments: p.inst})
			if metricsAddr != "" {
				stop, err := serveMetrics(metricsAddr, p.tel.Metrics, log)
				if err != nil {
					return err
				}
				defer stop()
			}
			if err := w.Start(); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			log.Info("worker started", "taskQueue", "mms-migrations", "calendars", cal.Kinds(), "default", routes.Default)
			<-ctx.Done()
			log.Info("worker draining")
			w.Stop()
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&calendarsFile, "calendars", env("MMS_CALENDARS", ""),
		"calendars file (YAML or JSON): the tenants whose mailboxes are in Graph or CalDAV; the others use the sandbox (MMS_CALENDARS)")
	cmd.Flags().BoolVar(&cf.saPrepare, "register-search-attributes", true, "register the MmsTenant/MmsUser/MmsState search attributes if missing")
	cmd.Flags().IntVar(&maxActivities, "max-activities", 0, "concurrent activity executions (0: SDK default)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", env("MMS_METRICS_ADDR", "127.0.0.1:9464"),
		`address of the worker's Prometheus /metrics listener, "" for none (MMS_METRICS_ADDR)`)
	return cmd
}

func apiCommand() *cobra.Command {
	var cf clusterFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API against a Temporal cluster and the service database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cf.open(cmd, "mms-api")
			if err != nil {
				return err
			}
			defer p.close()
			log, ctx := p.log, cmd.Context()
			keep, err := retention.FromEnv()
			if err != nil {
				return err
			}
			go retention.Run(ctx, p.db, keep, log)
			// The API process reports the store's gauges (records by state,
			// queue depth): one process per database is enough.
			if err := telemetry.RegisterStoreGauges(p.tel.MeterProvider, p.db.SQL()); err != nil {
				return err
			}
			srv := &http.Server{Addr: addr, Handler: (&api.Server{DB: p.db, Temporal: p.temporal, Logger: log,
				Intake:  intake.New(p.db, p.temporal, log, p.inst),
				Metrics: p.tel.Metrics, TracerProvider: p.tel.TracerProvider, MeterProvider: p.tel.MeterProvider,
				Instruments: p.inst}).Handler(),
				ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServe() }()
			log.Info("api listening", "addr", addr)
			select {
			case err := <-errc:
				return fmt.Errorf("api %s: %w", addr, err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", env("MMS_API_ADDR", "127.0.0.1:8080"), "listen address (MMS_API_ADDR)")
	return cmd
}

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create and revoke API tokens in the service database"}
	var database, name, tenant, role string
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
		Short: "Revoke the tokens with a name (in one tenant, with --tenant)",
		Args:  cobra.NoArgs,
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
		c.Flags().StringVar(&database, "database", env("MMS_DATABASE", ".mms/mms.db"), "service database (MMS_DATABASE)")
		c.Flags().StringVar(&tenant, "tenant", "", "one tenant (default: a token for every tenant)")
		cmd.AddCommand(c)
	}
	create.Flags().StringVar(&name, "name", "admin", "a name for the token, shown in status records")
	create.Flags().StringVar(&role, "role", store.RoleAdmin, "admin, operator (start, cancel, read), reader, or upstream (post events only)")
	revoke.Flags().StringVar(&name, "name", "", "the token's name (required)")
	_ = revoke.MarkFlagRequired("name")
	return cmd
}

// serveMetrics serves GET /metrics on addr until stop is called.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func() { _ = srv.Close() }, nil
}
