// Package embeddedtemporal runs an embedded Temporal server (SQLite persistence) and, optionally, the
// Temporal Web UI inside the current process. It backs `mms dev` and `mms temporal`.
//
// The configuration follows the Temporal CLI's dev server (temporal server start-dev): one
// history shard, all four services (frontend, history, matching, worker) in-process with static
// hosts on 127.0.0.1, SQLite schema created when the database file does not exist, namespace
// and custom search attributes written to the database before the server starts.
//
// Data lives in <DataDir>/temporal.db (plus -wal/-shm files); <DataDir>/temporal.lock keeps a
// second server off the same directory. Workflows survive Stop/Start on the same DataDir.
package embeddedtemporal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
)

const (
	// DefaultFrontendAddr is used when Options.FrontendAddr is empty.
	DefaultFrontendAddr = "127.0.0.1:7233"
	// DefaultNamespace is used when Options.Namespace is empty.
	DefaultNamespace = "default"
	// DefaultRetention is how long closed workflows are kept in a namespace created by Start
	// (when Options.Retention is 0): a week of finished migrations stays visible in the UI
	// without the SQLite file growing without bound. It is set at creation only.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultStartTimeout bounds Start when ctx has no earlier deadline.
	DefaultStartTimeout = 60 * time.Second

	// LogLevelInfo asks for the server's Info logs. Options.LogLevel's zero value is
	// slog.LevelInfo, which this package reads as "unset" and turns into slog.LevelWarn;
	// LogLevelInfo (slog.LevelInfo-1) lets Info records through and still filters Debug.
	LogLevelInfo = slog.LevelInfo - 1
)

// Options configures Start.
type Options struct {
	// DataDir holds temporal.db; created if missing. Start fails with a clear error if it
	// cannot be created or written.
	DataDir string
	// FrontendAddr is the gRPC frontend host:port, e.g. "127.0.0.1:7233" (the default) or
	// "0.0.0.0:7233" in a container. The host must be an IP address or "localhost"; port 0
	// picks a free port (see Server.FrontendAddr).
	FrontendAddr string
	// UIAddr is the Web UI host:port, e.g. "127.0.0.1:8233"; "" means no UI. Port 0 picks a
	// free port (see Server.UIURL).
	UIAddr string
	// UIWriteActions turns on the UI's write actions (start, signal, terminate, reset, ...).
	// Off by default: the UI has no sign-in, so whoever reaches its port could otherwise run
	// or stop any tenant's migration.
	UIWriteActions bool
	// UIHosts are further host names (as in the Host header, port optional) the UI answers
	// for, e.g. the name of a machine or container it is reached by. The loopback names and IP
	// literals of the listen address are always allowed; other names get 421 (DNS rebinding).
	UIHosts []string
	// Namespace is created on first start (default "default") with Retention.
	Namespace string
	// Retention of closed workflows for a namespace created by Start; 0 means
	// DefaultRetention (7 days). Not changed for an existing namespace.
	Retention time.Duration
	// SearchAttributes are custom search attributes of Namespace: created on first start, and
	// any missing ones added on later starts. Changing the type of an existing one is an error.
	// SQLite has fixed columns: at most 10 Keyword, 3 each of Text, Int, Double, Bool,
	// Datetime and KeywordList.
	SearchAttributes map[string]enumspb.IndexedValueType
	// FrontendTLS serves the gRPC frontend over TLS; nil serves plain gRPC (one machine only).
	FrontendTLS *FrontendTLS
	// FrontendInterceptors run on every frontend gRPC call, after the server's own: a check
	// of the caller's metadata (an organisation's API-key gate, or a test that proves what a
	// client sends, such as its API key in "authorization: Bearer ...").
	FrontendInterceptors []grpc.UnaryServerInterceptor
	// Logger receives the server's own logs at LogLevel and above. nil means slog.Default().
	Logger *slog.Logger
	// LogLevel is the minimum level of server logs passed to Logger. The zero value means
	// slog.LevelWarn (the server is chatty at Info); use LogLevelInfo for Info.
	LogLevel slog.Level
}

// FrontendTLS is the frontend's TLS configuration (PEM files). The server's own clients (its
// system worker, the readiness check and the UI) dial the frontend too, so with ClientCAFile
// they need a client certificate of their own.
type FrontendTLS struct {
	CertFile, KeyFile string // the frontend's certificate and key
	// CAFile signed CertFile; the server's own clients verify the frontend with it.
	CAFile string
	// ServerName is the name the server's own clients expect in CertFile (default: the
	// frontend's dial host).
	ServerName string
	// ClientCAFile, when set, makes the frontend require a client certificate signed by it
	// (mutual TLS); ClientCertFile and ClientKeyFile are then the one the server's own clients
	// present.
	ClientCAFile, ClientCertFile, ClientKeyFile string
}

// Server is a running embedded Temporal server.
type Server struct {
	frontendAddr string
	uiURL        string
	namespace    string
	clientTLS    *tls.Config

	srv      temporal.Server
	ui       *http.Server
	uiDone   chan struct{}
	release  func()
	logger   *slog.Logger   // this package's messages
	level    *slog.LevelVar // minimum level of the server's logs
	stopOnce sync.Once
}

// FrontendAddr is the host:port clients dial (loopback if the frontend listens on 0.0.0.0).
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIURL is the Web UI's base URL, e.g. "http://127.0.0.1:8233", or "" if there is no UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace Start created or found.
func (s *Server) Namespace() string { return s.namespace }

// ClientTLS is the TLS configuration of the server's own clients (the CA that signed the
// frontend's certificate, and the client certificate with mutual TLS); nil when the
// frontend is plain gRPC. A client in the same process (`mms dev`'s worker and API) dials
// with it.
func (s *Server) ClientTLS() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Start starts the server and returns once the frontend answers, with the namespace and the
// search attributes in place, and the UI (if any) listening. Errors are one sentence naming the
// address or directory at fault, e.g. "temporal frontend 127.0.0.1:7233: address already in use".
func Start(ctx context.Context, o Options) (_ *Server, retErr error) {
	// The server's OpenTelemetry resource detection asks for the current
	// user: a static binary in a FROM scratch image has no /etc/passwd,
	// and without cgo only $USER answers.
	if os.Getenv("USER") == "" {
		_ = os.Setenv("USER", "mms")
	}
	if o.FrontendAddr == "" {
		o.FrontendAddr = DefaultFrontendAddr
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogLevel == 0 {
		o.LogLevel = slog.LevelWarn
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	if err := validateSearchAttributes(o.SearchAttributes); err != nil {
		return nil, err
	}
	front, err := parseEndpoint("temporal frontend", o.FrontendAddr)
	if err != nil {
		return nil, err
	}
	var uiEnd endpoint
	if o.UIAddr != "" {
		if uiEnd, err = parseEndpoint("temporal ui", o.UIAddr); err != nil {
			return nil, err
		}
	}

	// Everything acquired below is released if Start fails.
	var cleanups []func()
	defer func() {
		if retErr != nil {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()

	tStart := time.Now()
	own := o.Logger.With("component", "temporal") // this package's messages
	phase := func(name string) { own.Debug("temporal start", "phase", name, "elapsed", time.Since(tStart)) }

	// Data directory and its lock.
	dir, err := prepareDataDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	release, err := lockDataDir(dir, filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, release)

	// Ports: bind them ourselves first so that "in use" is an error here, not a log.Fatal (or a
	// nil listener) inside the server. The frontend and internal listeners are closed right
	// before the server binds them; the UI listener is the one the UI serves on.
	frontLn, err := front.listen()
	if err != nil {
		return nil, err
	}
	held := []net.Listener{frontLn}
	cleanups = append(cleanups, func() { closeAll(held) })
	var uiLn net.Listener
	if o.UIAddr != "" {
		if uiLn, err = uiEnd.listen(); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, func() { _ = uiLn.Close() })
	}
	internalPorts, internalLns, err := freeLoopbackPorts(3) // history, matching, worker
	if err != nil {
		return nil, err
	}
	held = append(held, internalLns...)

	// Logging.
	level := new(slog.LevelVar)
	level.Set(o.LogLevel)
	slogger := slog.New(levelHandler{min: level, inner: o.Logger.Handler()}).With("component", "temporal")
	logger := newServerLogger(slogger)

	// Database: schema, namespace, search attributes; all before the server starts.
	sqlCfg := sqliteConfig(filepath.Join(dir, dbFileName))
	created, err := setupSchema(sqlCfg)
	if err != nil {
		return nil, err
	}
	if created {
		if err := makePrivate(sqlCfg.DatabaseName); err != nil {
			return nil, err
		}
	}
	if err := createNamespace(sqlCfg, o.Namespace, o.Retention, o.SearchAttributes); err != nil {
		return nil, err
	}
	if !created {
		added, err := addMissingSearchAttributes(ctx, sqlCfg, o.Namespace, o.SearchAttributes, logger)
		if err != nil {
			return nil, err
		}
		if len(added) > 0 {
			own.Info("added search attributes", "namespace", o.Namespace, "search_attributes", added)
		}
	}

	phase("database ready")

	// Server.
	cfg := serverConfig(front, internalPorts, sqlCfg)
	var clientTLS *tls.Config // the readiness check's
	if t := o.FrontendTLS; t != nil {
		if t.ServerName == "" {
			t2 := *t
			t2.ServerName = front.dialHost()
			t = &t2
			o.FrontendTLS = t
		}
		if clientTLS, err = t.apply(cfg); err != nil {
			return nil, err
		}
	}
	opts, err := serverOptions(cfg, front, internalPorts, logger)
	if err == nil && len(o.FrontendInterceptors) > 0 {
		opts = append(opts, temporal.WithChainedFrontendGrpcInterceptors(o.FrontendInterceptors...))
	}
	if err != nil {
		return nil, err
	}
	closeAll(held)
	held = nil
	srv, err := guard(logger, "creating the temporal server", func() (temporal.Server, error) {
		return temporal.NewServer(opts...)
	})
	if err != nil {
		return nil, err
	}
	if _, err := guard(logger, "starting the temporal server", func() (struct{}, error) {
		return struct{}{}, srv.Start()
	}); err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { level.Set(silenced); _ = srv.Stop() })
	phase("server started")

	s := &Server{
		frontendAddr: front.dialAddr(),
		namespace:    o.Namespace,
		clientTLS:    clientTLS,
		srv:          srv,
		release:      release,
		logger:       own,
		level:        level,
	}
	if err := waitReady(ctx, s.frontendAddr, clientTLS, o.Namespace, o.SearchAttributes, own); err != nil {
		if f := logger.firstFatal(); f != "" {
			return nil, fmt.Errorf("temporal server: %s", f)
		}
		return nil, err
	}

	phase("frontend ready")

	// UI, on the listener bound above.
	if uiLn != nil {
		uiCfg := &uiconfig.Config{
			Host:                uiEnd.ip.String(),
			Port:                uiEnd.port,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			DefaultNamespace:    o.Namespace,
			// Plain http (also from another host to a container): the CSRF cookie must not be Secure.
			CORS:             uiconfig.CORS{CookieInsecure: true},
			DisableNewsFetch: true,
			HideLogs:         true,
			// Also hides the UI's write buttons; readOnly below does the enforcing.
			DisableWriteActions: !o.UIWriteActions,
		}
		if t := o.FrontendTLS; t != nil {
			uiCfg.TLS = uiconfig.TLS{CaFile: t.CAFile, CertFile: t.ClientCertFile, KeyFile: t.ClientKeyFile,
				ServerName: t.ServerName, EnableHostVerification: true}
		}
		h, err := newUIHandler(uiCfg)
		if err != nil {
			return nil, err
		}
		if o.UIWriteActions {
			own.Warn("temporal ui write actions are on: anyone who can reach the UI can start, signal, "+
				"terminate or reset any workflow of any tenant", "addr", uiEnd.dialAddr())
		} else {
			h = readOnly(h)
		}
		h = hostGuard(h, uiEnd.ip, o.UIHosts)
		s.ui = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(own.Handler(), slog.LevelWarn),
		}
		s.uiDone = make(chan struct{})
		s.uiURL = "http://" + uiEnd.dialAddr()
		go func(ui *http.Server, ln net.Listener, done chan struct{}) {
			defer close(done)
			if err := ui.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				own.Error("temporal ui stopped serving", "addr", ln.Addr().String(), "error", err)
			}
		}(s.ui, uiLn, s.uiDone)
	}
	phase("ready")
	return s, nil
}

// Stop stops the UI, then the server, and releases the data directory. Safe to call twice
// (and on a nil *Server).
func (s *Server) Stop() {
	if s == nil {
		return
	}
	s.stopOnce.Do(func() {
		s.level.Set(silenced)
		if s.ui != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.ui.Shutdown(ctx); err != nil {
				_ = s.ui.Close()
			}
			cancel()
			<-s.uiDone
		}
		if err := s.srv.Stop(); err != nil {
			s.logger.Warn("stopping the temporal server", "error", err)
		}
		s.release()
	})
}

// guard runs f, turning a panic (e.g. the server dereferencing a listener it failed to
// create after logging "Fatal") into an error.
func guard[T any](logger serverLogger, what string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			if fatal := logger.firstFatal(); fatal != "" {
				err = fmt.Errorf("%s: %s", what, fatal)
			} else {
				err = fmt.Errorf("%s: panic: %v", what, r)
			}
		}
	}()
	v, err = f()
	if err != nil {
		if fatal := logger.firstFatal(); fatal != "" {
			err = fmt.Errorf("%s: %w (%s)", what, err, fatal)
		} else {
			err = fmt.Errorf("%s: %w", what, err)
		}
	}
	return v, err
}

// serverConfig is the static server configuration (see the Temporal CLI's dev server).
func serverConfig(front endpoint, internalPorts []int, sqlCfg *config.SQL) *config.Config {
	const store = "sqlite-default"
	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"}
	cfg.Persistence = config.Persistence{
		DefaultStore:     store,
		VisibilityStore:  store,
		NumHistoryShards: 1, // fixed forever once the database exists
		DataStores:       map[string]config.DataStore{store: {SQL: sqlCfg}},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: front.dialAddr()},
		},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: front.port, BindOnIP: front.ip.String()}},
		string(primitives.HistoryService):  {RPC: config.RPC{GRPCPort: internalPorts[0], BindOnLocalHost: true}},
		string(primitives.MatchingService): {RPC: config.RPC{GRPCPort: internalPorts[1], BindOnLocalHost: true}},
		string(primitives.WorkerService):   {RPC: config.RPC{GRPCPort: internalPorts[2], BindOnLocalHost: true}},
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service's SDK client (schedules, batch operations, ...) dials this.
	cfg.PublicClient.HostPort = front.dialAddr()
	return cfg
}

func serverOptions(cfg *config.Config, front endpoint, internalPorts []int, logger serverLogger) ([]temporal.ServerOption, error) {
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal server authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal server claim mapper: %w", err)
	}
	loopback := func(port int) static.Hosts { return static.SingleLocalHost(fmt.Sprintf("127.0.0.1:%d", port)) }
	return []temporal.ServerOption{
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// All services are in this process: static hosts instead of ringpop membership (no
		// gossip round at startup, no membership ports).
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(front.dialAddr()),
			primitives.HistoryService:  loopback(internalPorts[0]),
			primitives.MatchingService: loopback(internalPorts[1]),
			primitives.WorkerService:   loopback(internalPorts[2]),
		}),
		temporal.WithLogger(logger),
		temporal.WithNamespaceLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(DynamicConfig()),
	}, nil
}

// DynamicConfig is the server's dynamic configuration: the server defaults, except rate limits
// meant to protect a shared multi-tenant cluster, raised for this single-tenant dev server so
// that a benchmark (~100k activities) is limited by SQLite, not by throttling.
func DynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Frontend: requests/s per instance and per namespace (defaults 2400 and 2400).
		dynamicconfig.FrontendRPS.Key():                        100_000,
		dynamicconfig.FrontendMaxNamespaceRPSPerInstance.Key(): 100_000,
		// Visibility APIs (List/Count workflows; the UI's lists and counts): default 10/s.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 1_000,
		// Concurrent long polls per namespace and API (default 1200): room for many pollers.
		dynamicconfig.FrontendMaxConcurrentLongRunningRequestsPerInstance.Key(): 10_000,
		// History and matching requests/s per host (defaults 3000 and 1200).
		dynamicconfig.HistoryRPS.Key():  100_000,
		dynamicconfig.MatchingRPS.Key(): 100_000,
	}
}

// waitReady waits until the frontend answers, then checks the namespace and search attributes.
func waitReady(ctx context.Context, addr string, tlsCfg *tls.Config, namespace string, sas map[string]enumspb.IndexedValueType, logger *slog.Logger) error {
	var c client.Client
	var lastErr error
	for c == nil {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		cl, err := client.DialContext(attemptCtx, client.Options{
			HostPort:          addr,
			Namespace:         namespace,
			ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
			Logger:            sdklog.NewStructuredLogger(slog.New(levelHandler{min: slog.LevelError, inner: logger.Handler()})),
		})
		if err == nil {
			_, err = cl.CheckHealth(attemptCtx, &client.CheckHealthRequest{})
			if err != nil {
				cl.Close()
			}
		}
		cancel()
		if err == nil {
			c = cl
			break
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal frontend %s did not become ready: %w (last error: %v)", addr, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer c.Close()

	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return fmt.Errorf("temporal namespace %s: %w", namespace, err)
	}
	if len(sas) == 0 {
		return nil
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("temporal namespace %s: listing search attributes: %w", namespace, err)
	}
	for _, name := range sortedKeys(sas) {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != sas[name] {
			return fmt.Errorf("temporal namespace %s: search attribute %s is %v after start, want %v", namespace, name, got, sas[name])
		}
	}
	return nil
}
