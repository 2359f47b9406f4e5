// Package service wires the mms processes. Build turns one Config into the
// dependency graph that `mms worker`, `mms api`, `mms dev` and the test
// stack (internal/devstack) run: the store, the calendar router, the
// activities and the worker; the HTTP API, the retention loop and the
// store's gauges. Before it existed, cmd/mms and internal/devstack each
// wired these parts and drifted apart (page size and concurrency could only
// be set in the test stack); now a knob added to Config reaches every
// process that way.
//
// The package must not link the Temporal server: the slim production
// binary (build tag nodevserver) uses it. internal/devstack adds the
// embedded server, the Web UI and the demo data around it.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/router"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/console"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/retention"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/worker"
	"github.com/openmms/mms/workflows"
)

// Config is every knob of the worker and the API. cmd/mms binds each one to
// a flag and an MMS_* variable (cmd/mms/flags.go); the test stack sets them
// in code. Zero values take the defaults named on each field.
type Config struct {
	// Worker and API choose the parts to build: `mms worker` builds the
	// first, `mms api` the second, `mms dev` and the test stack both.
	Worker, API bool

	// Database is the service database, a SQLite file path or a
	// postgres:// URL (unused when DB is set).
	Database string
	// Temporal is the connection; the TEMPORAL_* variables fill in what it
	// leaves empty. Build sets its providers.
	Temporal temporalclient.Config

	// Calendars is the calendars file (YAML or JSON): the tenants whose
	// mailboxes are in Graph or CalDAV; "" sends every tenant to the
	// sandbox. Unused when Routes is set.
	Calendars string
	// PageSize is how many meetings one ProcessPage handles (0: 50).
	PageSize int
	// Concurrency is how many meetings of a page are updated at once (0: 4).
	Concurrency int
	// MaxConcurrentActivities bounds the worker's activity executions
	// (0: the SDK's default).
	MaxConcurrentActivities int
	// HorizonDays is how far ahead meetings are migrated (0: two years).
	HorizonDays int
	// MetricsAddr is a separate Prometheus /metrics listener. The worker
	// has no other ("": none). The API serves /metrics on its own address
	// when this is "", and only here when it is set, so the API's port can
	// face users while the metrics stay on a private one (issue 19).
	MetricsAddr string
	// MetricsToken, when set, is the bearer token /metrics requires,
	// wherever it is served (telemetry.RequireToken).
	MetricsToken string

	// APIAddr is the HTTP API's listen address (unless Start is given a
	// listener).
	APIAddr string
	// RetentionDays: finished status records and events older than this
	// are purged (0: store.DefaultRetention, 150 days).
	RetentionDays int
	// Runs are the defaults of the runs the API starts.
	Runs Runs
	// MaxRequestsPerClient bounds the API requests in flight from one
	// remote IP; beyond it the API answers 429 (0: 64, negative: none).
	MaxRequestsPerClient int
	// BodyTimeout bounds the reading of one request body (0: 30s; the
	// preview's larger bodies get 2 minutes).
	BodyTimeout time.Duration

	// The rest is given by the process rather than by flags.

	// ServiceName names the process in telemetry (OTEL_SERVICE_NAME wins).
	ServiceName string
	// Logger of every part (nil: slog.Default()).
	Logger *slog.Logger
	// Telemetry: providers and /metrics handler (nil: telemetry.Setup,
	// shut down by Close).
	Telemetry *telemetry.Telemetry
	// DB, when set, is used instead of opening Database (and not closed).
	DB *store.DB
	// Routes, when set, is used instead of loading Calendars.
	Routes *router.Config
	// WrapCalendar, when set, wraps the back end the activities use (the
	// benchmarks' latency decorator).
	WrapCalendar func(calendar.Backend) calendar.Backend
	// Clock and FloodHour, when set, replace the activities' clock and the
	// period of flood control's hourly budgets (tests shorten both; a
	// deployment has no reason to).
	Clock     func() time.Time
	FloodHour time.Duration
}

// Runs are the defaults of the migration runs the API starts. They live in
// the workflow's Input (MaxRetries, RetryIntervalSeconds, PagesPerExecution,
// RunDeadlineSeconds), a public contract that upstream systems may also
// fill when they start the workflow themselves, so they are knobs of the
// process that starts runs, the API, and not of the worker: the API's
// Temporal client fills them into each Input whose field is zero (see
// runsClient). Zero keeps the workflow's default.
type Runs struct {
	// MaxRetries: a run retries its failed meetings this many times (0: 9).
	MaxRetries int
	// RetryInterval between those retries, whole seconds (0: 24 hours
	// divided by MaxRetries).
	RetryInterval time.Duration
	// PagesPerExecution: a run continues as new after this many pages (0: 500).
	PagesPerExecution int
	// RunDeadline bounds one run, whole seconds (0: 12 hours).
	RunDeadline time.Duration
}

func (c Config) validate() error {
	for _, k := range []struct {
		name string
		v    int64
	}{{"page size", int64(c.PageSize)}, {"concurrency", int64(c.Concurrency)},
		{"max activities", int64(c.MaxConcurrentActivities)}, {"horizon days", int64(c.HorizonDays)},
		{"max retries", int64(c.Runs.MaxRetries)}, {"retry interval", int64(c.Runs.RetryInterval)},
		{"pages per execution", int64(c.Runs.PagesPerExecution)}, {"run deadline", int64(c.Runs.RunDeadline)},
		{"body timeout", int64(c.BodyTimeout)}} {
		if k.v < 0 {
			return fmt.Errorf("%s: must not be negative", k.name)
		}
	}
	// The workflow takes whole seconds; a smaller value would become 0,
	// the default, without a word.
	for name, d := range map[string]time.Duration{"retry interval": c.Runs.RetryInterval, "run deadline": c.Runs.RunDeadline} {
		if d%time.Second != 0 {
			return fmt.Errorf("%s: %s is not a whole number of seconds", name, d)
		}
	}
	if c.RetentionDays != 0 && (c.RetentionDays < 1 || c.RetentionDays > 3650) {
		return fmt.Errorf("retention: must be a whole number of days from 1 to 3650, not %d", c.RetentionDays)
	}
	if !c.Worker && !c.API {
		return errors.New("service: nothing to build (neither worker nor API)")
	}
	return nil
}

// Service is a built dependency graph. Parts of a role not built are nil.
type Service struct {
	Config      Config // as built, defaults filled in
	Logger      *slog.Logger
	Telemetry   *telemetry.Telemetry
	Instruments *telemetry.Instruments
	DB          *store.DB
	// Temporal is the process's client (the worker polls with it; the
	// API's copy adds Runs, see runsClient).
	Temporal client.Client

	// Worker's parts.
	Calendar   *router.Router
	Activities *activities.Activities
	Worker     sdkworker.Worker

	// API's parts: HTTP serves the handler of the one api.Server.
	HTTP *http.Server

	intake  *intake.Service
	served  chan error
	closers []func() // undone in reverse order by Close
	stopBg  func()   // background loops (retention, metrics listener)
	started bool
}

// Build opens the store and the Temporal connection and assembles the
// parts that cfg asks for; it starts nothing (see Start). On error what
// was opened is closed.
func Build(ctx context.Context, cfg Config) (s *Service, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = int(store.DefaultRetention / (24 * time.Hour))
	}
	// The log line and Config say what runs, not "0".
	if cfg.PageSize == 0 {
		cfg.PageSize = activities.DefaultPageSize
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = activities.DefaultConcurrency
	}
	s = &Service{Logger: cfg.Logger, served: make(chan error, 1), stopBg: func() {}}
	// `return nil, err` has set s to nil when this runs, and the closers
	// refer to s: put it back to close what was opened, so that a failed
	// start (a database that cannot connect, say) is an error, not a panic.
	built := s
	defer func() {
		if err != nil {
			s = built
			s.Close(context.Background())
			s = nil
		}
	}()
	if s.Telemetry = cfg.Telemetry; s.Telemetry == nil {
		if s.Telemetry, err = telemetry.Setup(ctx, cfg.ServiceName); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { _ = s.Telemetry.Shutdown(context.Background()) })
	}
	tel := s.Telemetry
	s.Instruments = telemetry.NewInstruments(tel.TracerProvider, tel.MeterProvider)
	if s.DB = cfg.DB; s.DB == nil {
		if s.DB, err = store.Open(ctx, cfg.Database); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { s.DB.Close() })
	}
	cfg.Temporal.TracerProvider, cfg.Temporal.MeterProvider = tel.TracerProvider, tel.MeterProvider
	if s.Temporal, err = temporalclient.Dial(ctx, cfg.Temporal, s.Logger); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Temporal.Close)
	s.Config = cfg
	if cfg.Worker {
		if err := s.buildWorker(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.API {
		if err := s.buildAPI(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// calendarRouter builds the calendar back ends once: the worker's
// activities and the API's impact previews share them.
func (s *Service) calendarRouter(ctx context.Context) (err error) {
	if s.Calendar != nil {
		return nil
	}
	cfg, tel := s.Config, s.Telemetry
	routes := router.Config{Default: router.Sandbox}
	switch {
	case cfg.Routes != nil:
		routes = *cfg.Routes
	case cfg.Calendars != "":
		if routes, err = router.Load(cfg.Calendars); err != nil {
			return err
		}
	}
	sb, err := sandbox.In(ctx, s.DB)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = sb.Close() })
	s.Calendar, err = router.New(routes, sb, router.Options{Logger: s.Logger,
		TracerProvider: tel.TracerProvider, MeterProvider: tel.MeterProvider})
	return err
}

func (s *Service) buildWorker(ctx context.Context) (err error) {
	cfg := s.Config
	if err := s.calendarRouter(ctx); err != nil {
		return err
	}
	var cal calendar.Backend = s.Calendar
	if cfg.WrapCalendar != nil {
		cal = cfg.WrapCalendar(cal)
	}
	s.Activities = &activities.Activities{DB: s.DB, Calendar: cal, PageSize: cfg.PageSize, Concurrency: cfg.Concurrency,
		Horizon: time.Duration(cfg.HorizonDays) * 24 * time.Hour, Logger: s.Logger, Instruments: s.Instruments,
		Now: cfg.Clock, FloodHour: cfg.FloodHour}
	// A bridge fan-out hands users off as the API would; the run defaults
	// are the API's, carried in the fan-out's input (FanOutInput.Runs).
	fanOut := intake.New(s.DB, s.Temporal, s.Logger, s.Instruments)
	s.Worker = worker.New(s.Temporal, s.Activities, worker.Options{MaxConcurrentActivities: cfg.MaxConcurrentActivities,
		Instruments: s.Instruments, FanOut: fanOut})
	return nil
}

func (s *Service) buildAPI(ctx context.Context) error {
	cfg, tel := s.Config, s.Telemetry
	// Impact previews count meetings in the same back ends the worker uses.
	if err := s.calendarRouter(ctx); err != nil {
		return err
	}
	// The API process reports the store's gauges (records by state, queue
	// depth): one process per database is enough.
	if err := telemetry.RegisterStoreGauges(tel.MeterProvider, s.DB); err != nil {
		return err
	}
	// The one place the API is put together.
	// The service hands runs to Temporal with the run knobs filled in.
	runs := withRuns(s.Temporal, cfg.Runs)
	s.intake = intake.New(s.DB, runs, s.Logger, s.Instruments).
		WithCalendar(s.Calendar, time.Duration(cfg.HorizonDays)*24*time.Hour, 0)
	// The web console (and /docs) is served by the API process, on the
	// same store and service.
	con, err := console.New(s.DB, s.intake, s.Logger)
	if err != nil {
		return err
	}
	metrics := telemetry.RequireToken(tel.Metrics, cfg.MetricsToken)
	if cfg.MetricsAddr != "" {
		// Served on its own listener (Start): the API's address has none.
		metrics = http.NotFoundHandler()
	}
	srv := &api.Server{Console: con, DB: s.DB, Temporal: runs, Logger: s.Logger, Metrics: metrics,
		TracerProvider: tel.TracerProvider, MeterProvider: tel.MeterProvider, Instruments: s.Instruments,
		Intake: s.intake, MaxRequestsPerClient: cfg.MaxRequestsPerClient, BodyTimeout: cfg.BodyTimeout}
	// ReadHeaderTimeout bounds the headers; the body's deadline is set per
	// request by the API (longer for previews), so there is no ReadTimeout.
	// IdleTimeout frees keep-alive connections a client forgot.
	s.HTTP = &http.Server{Addr: cfg.APIAddr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute}
	return nil
}

// Start starts the worker, its metrics listener, the retention loop and
// the API, which serves on ln (nil: listen on Config.APIAddr). It returns
// once they run; Served reports the API's end, Close stops everything.
func (s *Service) Start(ln net.Listener) (err error) {
	if s.started {
		return errors.New("service: already started")
	}
	s.started = true
	cfg := s.Config
	if s.HTTP != nil && ln == nil {
		if ln, err = net.Listen("tcp", cfg.APIAddr); err != nil {
			return fmt.Errorf("api address %s: %w", cfg.APIAddr, err)
		}
	}
	if ln != nil {
		s.HTTP.Addr = ln.Addr().String() // the port chosen for ":0"
	}
	bg, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	if cfg.MetricsAddr != "" {
		if err := s.serveMetrics(bg, cfg.MetricsAddr, telemetry.RequireToken(s.Telemetry.Metrics, cfg.MetricsToken)); err != nil {
			closeListener(ln)
			return err
		}
	}
	if s.Worker != nil {
		if err := s.Worker.Start(); err != nil {
			s.Worker = nil // nothing to stop
			closeListener(ln)
			return fmt.Errorf("worker: %w", err)
		}
		s.Logger.Info("worker started", "taskQueue", workflows.TaskQueue, "calendars", s.Calendar.Kinds(),
			"pageSize", cfg.PageSize, "concurrency", cfg.Concurrency)
	}
	if s.HTTP != nil {
		// Several processes may purge: the deletes are idempotent.
		go retention.Run(bg, s.DB, time.Duration(cfg.RetentionDays)*24*time.Hour, s.Logger)
		// No record may wait for a workflow that has ended (issue 16).
		go s.intake.RunSweeps(bg, sweepEvery, sweepGrace)
		go func() { s.served <- s.HTTP.Serve(ln) }()
		s.Logger.Info("api listening", "addr", ln.Addr().String())
	}
	return nil
}

// APIURL is the API's base URL once Start listens (empty without an API).
// The orphan sweep runs this often, on records unchanged for sweepGrace.
const sweepEvery, sweepGrace = 10 * time.Minute, 5 * time.Minute

func (s *Service) APIURL() string {
	if s.HTTP == nil || s.HTTP.Addr == "" {
		return ""
	}
	return "http://" + s.HTTP.Addr
}

// Served reports the API server's exit (an error other than a shutdown).
func (s *Service) Served() <-chan error { return s.served }

// Close drains the API, then the worker, then closes what Build opened
// (not a DB or Telemetry given in Config). Safe on a partly built service.
func (s *Service) Close(ctx context.Context) {
	s.stopBg()
	if s.HTTP != nil && s.started {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.HTTP.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Warn("api shutdown", "error", err)
		}
		cancel()
	}
	if s.Worker != nil && s.started {
		s.Worker.Stop()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

func closeListener(ln net.Listener) {
	if ln != nil {
		_ = ln.Close()
	}
}

// serveMetrics serves GET /metrics on addr until ctx ends, and the probes
// an orchestrator needs for a worker, which has no other port: /healthz
// (the process answers) and /readyz (its database and Temporal answer, as
// the API's /readyz checks). The probes need no token: kubelets send none,
// and they say nothing but "ok" or which dependency is down.
func (s *Service) serveMetrics(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", s.ready)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	s.Logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return nil
}

// ready answers /readyz on the metrics listener: 503 naming each
// dependency that does not answer within two seconds.
func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = err.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(checks)
}
