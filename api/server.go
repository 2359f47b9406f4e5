// Package api is the HTTP API: admins and upstream systems start migrations
// and read their status here. Every /v1 route needs a bearer token; a token
// bound to a tenant sees only that tenant.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 1 << 20

// Server holds the API's dependencies.
type Server struct {
	// DB serves the reads (records, listings, settings, tokens); Temporal
	// answers /readyz. Everything that starts, joins or stops a migration
	// goes through Intake.
	DB       *store.DB
	Temporal client.Client
	Intake   *intake.Service
	Logger   *slog.Logger
	// Metrics serves GET /metrics (the Prometheus text format); nil
	// serves an empty document.
	Metrics http.Handler
	// TracerProvider and MeterProvider of the request spans and metrics
	// (nil: the globals); Instruments count state transitions (nil: none).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Instruments    *telemetry.Instruments

	// BodyTimeout bounds the reading of one request body, and
	// PreviewBodyTimeout that of POST /v1/preview, whose body may be far
	// larger (0: DefaultBodyTimeout, DefaultPreviewBodyTimeout).
	BodyTimeout, PreviewBodyTimeout time.Duration
	// MaxRequestsPerClient bounds the requests in flight per remote IP;
	// beyond it the answer is 429 (0: DefaultMaxRequestsPerClient,
	// negative: no limit).
	MaxRequestsPerClient int
	// Console serves the web console at / and /console/..., and the API's
	// reference at /docs (internal/console); nil serves neither. It sits
	// behind the same edge limits as the API and signs in by cookie, not
	// by bearer token.
	Console http.Handler

	// MaxPreviews bounds the previews running at once in this process;
	// beyond it the answer is 429 (0: DefaultMaxPreviews).
	MaxPreviews int
	// TenantCancelWait: see DefaultTenantCancelWait (0: that).
	TenantCancelWait time.Duration
}

// Handler returns the API's routes.
//
// Handlers give c.Request.Context() to the database and Temporal, never the
// *gin.Context itself: gin reuses that object for the next request, while
// database/sql and gRPC may still watch the context after the handler ends
// (the race detector caught this).
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		s.Logger.Error("panic in handler", "path", c.FullPath(), "panic", err)
		abort(c, http.StatusInternalServerError, "internal", "internal error")
	}))
	// otelgin continues a caller's W3C trace context (traceparent), so an
	// upstream system's trace goes on through Temporal to the back ends.
	r.Use(otelgin.Middleware("mms-api", otelgin.WithPropagators(telemetry.Propagator),
		otelgin.WithTracerProvider(s.TracerProvider), otelgin.WithMeterProvider(s.MeterProvider),
		otelgin.WithGinFilter(func(c *gin.Context) bool { return c.FullPath() != "/metrics" })), s.logRequests)
	// The edge's limits come first: before authentication, since a client
	// without a token can hold a connection as well as one with.
	perClient := s.MaxRequestsPerClient
	if perClient == 0 {
		perClient = DefaultMaxRequestsPerClient
	}
	r.Use(newClientLimiter(perClient).handle, bodyDeadline(orDefault(s.BodyTimeout, DefaultBodyTimeout),
		orDefault(s.PreviewBodyTimeout, DefaultPreviewBodyTimeout)))
	r.HandleMethodNotAllowed = true
	// A path that differs by a trailing slash is another route, answered
	// 404: a redirect would make a client send a POST's body again, and
	// no route is documented with the slash.
	r.RedirectTrailingSlash = false
	// Routes match on the path as sent, so a user ID holding "/" (which
	// the grammar allows: "a/b@contoso.com") is one {user} when escaped as
	// %2F; the parameter is unescaped for the handler.
	r.UseRawPath = true
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "not_found", "no such route: "+c.Request.URL.Path) })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/openapi.json", s.serveOpenAPI)
	r.GET("/openapi.yaml", s.serveOpenAPI)
	r.GET("/metrics", s.serveMetrics)

	if s.Console != nil {
		console := gin.WrapH(s.Console)
		r.GET("/", console)
		r.GET("/docs", console)
		r.Any("/console/*path", console)
	}

	v1 := r.Group("/v1", s.authenticate, noEmptyQuery)
	v1.POST("/preview", allow(readers), s.previewSlots(), s.preview) // has its own, larger body limit
	v1.GET("/tenants", allow(readers), limitBody, s.listTenants)
	v1.POST("/tenants", allow(serviceAdmins), limitBody, s.createTenant)
	// tenantAccess first: to a tenant-bound token another tenant answers
	// as a missing one, here too.
	v1.DELETE("/tenants/:tenant", limitBody, s.tenantAccess, allow(serviceAdmins), s.deleteTenant)
	// A directory file has its own, larger bound (directory.MaxBytes), so
	// this route is outside limitBody. The colon is escaped: gin reads an
	// unescaped one as the start of a parameter.
	v1.Group("/tenants/:tenant", s.tenantAccess).POST(`/users\:import`, allow(admins), s.importUsers)
	t := v1.Group("/tenants/:tenant", limitBody, s.tenantAccess)
	t.GET("/users", allow(readers), s.listUsers)
	t.PUT("/users/:user", allow(admins), userParam, s.putUser)
	t.GET("/migration-configuration", allow(readers), s.getMigrationConfiguration)
	t.PUT("/migration-configuration", allow(admins), s.putMigrationConfiguration)
	t.GET("/dial-in-conferencing-settings", allow(readers), s.getDialInSettings)
	t.PUT("/dial-in-conferencing-settings", allow(admins), s.putDialInSettings)
	t.POST("/migrations", allow(operators), s.startMigration)
	t.GET("/migrations", allow(readers), s.listMigrations)
	t.GET("/migrations/summary", allow(readers), s.summary)
	t.GET("/migrations/:user", allow(readers), userParam, s.getMigration)
	t.POST("/migrations/:user/cancel", allow(operators), userParam, s.cancelMigration)
	t.POST("/migrations/:user/retry-failed", allow(operators), userParam, s.retryFailed)
	t.POST("/events", allow(upstreams), s.postEvents)
	t.GET("/events", allow(readers), s.listEvents)
	return r
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = err.Error(), http.StatusServiceUnavailable
	}
	c.JSON(status, checks)
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelDebug
	if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	s.Logger.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "duration", time.Since(start))
}

// serveMetrics serves the process's metrics for Prometheus; like /healthz
// it needs no token (bind the API to a private network, or filter /metrics
// at the ingress, if the counts are sensitive).
func (s *Server) serveMetrics(c *gin.Context) {
	if s.Metrics == nil {
		c.Data(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", nil)
		return
	}
	s.Metrics.ServeHTTP(c.Writer, c.Request)
}

// userParam checks the route's {user} against the one grammar of user IDs
// (400 naming "user" otherwise) and puts its canonical form in its place, so
// handlers, the store and Temporal see one spelling of each user.
func userParam(c *gin.Context) {
	for i, p := range c.Params {
		if p.Key != "user" {
			continue
		}
		canon, err := migration.ParseUserID(p.Value)
		if err != nil {
			badRequest(c, "user: "+err.Error())
			return
		}
		c.Params[i].Value = canon
	}
	c.Next()
}

// noEmptyQuery refuses a query parameter given with an empty value
// ("?state="): the handlers read an empty value as a missing one, which
// the OpenAPI document does not allow, and a client that sends one most
// likely meant something it did not say. It also refuses a path or query
// value that is not printable UTF-8: no ID or filter mms keeps holds one,
// and PostgreSQL would refuse a NUL byte in a lookup with an error that is
// not the client's to retry (issue 18, probe on PostgreSQL).
func noEmptyQuery(c *gin.Context) {
	for _, p := range c.Params {
		msg := unprintable(p.Value)
		switch {
		case msg == "":
		case p.Key == "tenant":
			// Every tenant route answers 404 for a tenant that does not
			// exist, and none with such a name can.
			abort(c, http.StatusNotFound, "not_found", "tenant: "+msg+", so there is no such tenant")
			return
		default:
			badRequest(c, p.Key+": "+msg)
			return
		}
	}
	for key, values := range c.Request.URL.Query() {
		for _, v := range values {
			if v == "" {
				badRequest(c, key+": empty; leave the parameter out for its default")
				return
			}
			if msg := unprintable(v); msg != "" {
				badRequest(c, key+": "+msg)
				return
			}
		}
	}
	c.Next()
}

// unprintable says why s is not printable UTF-8, or "" if it is.
func unprintable(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Sprintf("must be printable: control character %U at byte %d", []rune(s[i:])[0], i)
	}
	return ""
}

func limitBody(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	c.Next()
}
