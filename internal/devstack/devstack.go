// Package devstack runs the whole service in one process for `mms dev` and
// the end-to-end tests: the embedded Temporal server and Web UI, the
// service database with the sandbox calendar back end, a worker and the
// HTTP API. It is the only production package that links the Temporal
// server, so `mms worker` and `mms api` builds can leave it out.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/calendar/router"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/internal/temporalclient"
)

// Namespace is the Temporal namespace of the dev server.
const Namespace = "default"

// Config says where everything listens and lives.
type Config struct {
	DataDir string // default ./.mms
	// Database is the service database (default <DataDir>/mms.db).
	Database     string
	APIAddr      string // default 127.0.0.1:8080
	TemporalAddr string // default 127.0.0.1:7233
	UIAddr       string // default 127.0.0.1:8233; "-" for no UI
	// UIWriteActions and UIHosts: see embeddedtemporal.Options (the UI is read-only by default).
	UIWriteActions bool
	UIHosts        []string
	Logger         *slog.Logger
	// SeedDemo seeds the demo tenant on first start.
	SeedDemo bool
	// NoWorker leaves the worker out (tests run it in another process).
	NoWorker bool
	// Calendar is the back end of the seeded tenants: CalendarSandbox
	// (default) or CalendarGraphEmulator, the Graph emulator on
	// GraphEmulatorAddr (default 127.0.0.1:0) with GraphLatency per call.
	Calendar          string
	GraphEmulatorAddr string
	GraphLatency      time.Duration
	// GraphStrict runs the emulator in strict mode (graphtest.Options.Strict):
	// a request naming a user by anything but the object ID is refused.
	GraphStrict bool
	// Calendars, when set, says where other tenants' mailboxes are (a
	// calendars file); its entries win over Calendar's.
	Calendars *router.Config
	// Telemetry: the tracer and meter providers of every component and
	// the /metrics handler; nil: the global tracer provider and a meter
	// provider of the stack's own, served at /metrics on the API.
	Telemetry *telemetry.Telemetry
	// Service holds the worker's and the API's knobs (page size,
	// concurrency, retries, retention, a calendar wrapper...), the same
	// that `mms worker` and `mms api` take. The stack sets the wiring
	// itself: roles, database, Temporal, listeners, logger, telemetry and
	// calendar routes.
	Service service.Config
}

// Stack is a running service.
type Stack struct {
	Temporal *embeddedtemporal.Server
	DB       *store.DB
	Client   client.Client
	Sandbox  *sandbox.Backend
	// Calendar routes each tenant to its back end.
	Calendar *router.Router
	// Emulator and EmulatorURL: the Graph emulator, with CalendarGraphEmulator.
	Emulator    *graphtest.Server
	EmulatorURL string
	AdminToken  string
	APIURL      string
	UIURL       string
	// Telemetry is the stack's providers and /metrics handler.
	Telemetry *telemetry.Telemetry

	// Service is the worker and the API, wired as in `mms worker` and `mms api`.
	Service *service.Service

	emuHTTP  *http.Server
	logger   *slog.Logger
	stopping atomic.Bool
}

// Start brings the stack up; on error everything started so far is stopped.
func Start(ctx context.Context, cfg Config) (st *Stack, err error) {
	cfg = withDefaults(cfg)
	if err := writableDir(cfg.DataDir); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("api address %s: %w", cfg.APIAddr, unwrapSyscall(err))
	}
	s := &Stack{}
	if cfg.Telemetry == nil {
		if cfg.Telemetry, err = telemetry.New(nil, nil); err != nil {
			ln.Close()
			return nil, err
		}
	}
	tel := cfg.Telemetry
	s.Telemetry = tel
	s.logger = slog.New(quietHandler{Handler: telemetry.NewLogHandler(cfg.Logger.Handler()), stopping: &s.stopping})
	cfg.Logger = s.logger
	defer func() {
		if err != nil {
			ln.Close()
			s.Stop(context.Background())
		}
	}()
	uiAddr := cfg.UIAddr
	if uiAddr == "-" {
		uiAddr = ""
	}
	if s.Temporal, err = embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: cfg.DataDir, FrontendAddr: cfg.TemporalAddr,
		UIAddr: uiAddr, UIWriteActions: cfg.UIWriteActions, UIHosts: cfg.UIHosts, Namespace: Namespace, SearchAttributes: temporalclient.SearchAttributes,
		Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	s.UIURL = s.Temporal.UIURL()
	database := cfg.Database
	if database == "" {
		database = filepath.Join(cfg.DataDir, "mms.db")
	}
	if s.DB, err = store.Open(ctx, database); err != nil {
		return nil, err
	}
	if s.Sandbox, err = sandbox.In(ctx, s.DB); err != nil {
		return nil, err
	}
	if cfg.SeedDemo {
		seeded, err := sandbox.SeedDemo(ctx, s.DB, time.Now())
		if err != nil {
			return nil, fmt.Errorf("seed demo tenant: %w", err)
		}
		if seeded {
			cfg.Logger.Info("seeded the demo tenant", "tenant", sandbox.DemoTenant)
		}
	}
	routes, err := s.routes(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if s.AdminToken, err = adminToken(ctx, s.DB, cfg.DataDir); err != nil {
		return nil, err
	}
	// The worker and the API as `mms worker` and `mms api` build them, on
	// this stack's server, database, routes and telemetry.
	sc := cfg.Service
	sc.Worker, sc.API = !cfg.NoWorker, true
	sc.Temporal = temporalclient.Config{Address: s.Temporal.FrontendAddr(), Namespace: Namespace}
	sc.DB, sc.Routes, sc.Logger, sc.Telemetry = s.DB, &routes, cfg.Logger, tel
	sc.APIAddr, sc.MetricsAddr = ln.Addr().String(), "" // metrics at <api>/metrics
	if s.Service, err = service.Build(ctx, sc); err != nil {
		return nil, err
	}
	s.Client, s.Calendar = s.Service.Temporal, s.Service.Calendar
	if err = s.Service.Start(ln); err != nil {
		return nil, err
	}
	s.APIURL = s.Service.APIURL()
	return s, nil
}

// Stop drains the API, then the worker, then stops the server. Safe on a
// partly started stack.
func (s *Stack) Stop(ctx context.Context) {
	s.stopping.Store(true)
	if s.Service != nil {
		s.Service.Close(ctx)
	}
	if s.emuHTTP != nil {
		_ = s.emuHTTP.Close()
	}
	if s.Temporal != nil {
		s.Temporal.Stop()
	}
	if s.Sandbox != nil {
		_ = s.Sandbox.Close()
	}
	if s.DB != nil {
		s.DB.Close()
	}
}

// Served reports the API server's exit (an error other than a shutdown).
func (s *Stack) Served() <-chan error { return s.Service.Served() }

// routes says where each tenant's mailboxes are: the sandbox, or the Graph
// emulator for every tenant in the database, then the calendars file's
// tenants.
func (s *Stack) routes(ctx context.Context, cfg Config) (router.Config, error) {
	routes := router.Config{Default: router.Sandbox}
	switch cfg.Calendar {
	case "", CalendarSandbox:
	case CalendarGraphEmulator:
		tenants, err := s.DB.Tenants(ctx)
		if err != nil {
			return routes, err
		}
		ids := make([]string, 0, len(tenants))
		for _, t := range tenants {
			ids = append(ids, t.ID)
		}
		if routes, err = s.startEmulator(ctx, cfg, ids); err != nil {
			return routes, err
		}
	default:
		return routes, fmt.Errorf("calendar: must be %s or %s, not %q", CalendarSandbox, CalendarGraphEmulator, cfg.Calendar)
	}
	if cfg.Calendars != nil {
		if cfg.Calendars.Default != "" {
			routes.Default = cfg.Calendars.Default
		}
		if routes.Tenants == nil {
			routes.Tenants = map[string]router.Tenant{}
		}
		maps.Copy(routes.Tenants, cfg.Calendars.Tenants)
	}
	return routes, nil
}

func withDefaults(c Config) Config {
	if c.DataDir == "" {
		c.DataDir = ".mms"
	}
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:8080"
	}
	if c.TemporalAddr == "" {
		c.TemporalAddr = "127.0.0.1:7233"
	}
	if c.UIAddr == "" {
		c.UIAddr = "127.0.0.1:8233"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.GraphEmulatorAddr == "" {
		c.GraphEmulatorAddr = "127.0.0.1:0"
	}
	return c
}

func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, unwrapSyscall(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, unwrapSyscall(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// adminToken returns the dev admin token kept in <data-dir>/admin-token,
// creating it on first start, and makes sure the database knows it.
func adminToken(ctx context.Context, db *store.DB, dir string) (string, error) {
	path := filepath.Join(dir, "admin-token")
	raw, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(raw))) > 0 {
		tok := strings.TrimSpace(string(raw))
		return tok, db.ImportToken(ctx, "dev-admin", "", store.RoleAdmin, tok)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("admin token %s: %w", path, err)
	}
	tok, err := db.CreateToken(ctx, "dev-admin", "", store.RoleAdmin)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token %s: %w", path, err)
	}
	return tok, nil
}

// unwrapSyscall shortens "listen tcp 127.0.0.1:8080: bind: address already
// in use" style errors to their last, meaningful part.
func unwrapSyscall(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}
