package embeddedtemporal

import (
	"fmt"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/temporalio/ui-server/v2/server/api"
	"github.com/temporalio/ui-server/v2/server/auth"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/cors"
	"github.com/temporalio/ui-server/v2/server/csrf"
	"github.com/temporalio/ui-server/v2/server/headers"
	"github.com/temporalio/ui-server/v2/server/route"
	"github.com/temporalio/ui-server/v2/ui"
)

// newUIHandler builds the Temporal Web UI (ui-server v2.55.0) as an http.Handler.
//
// It wires the same routes and middleware as ui-server's server.NewServer, but returns a
// handler instead of a server: server.(*Server).Start binds its own address and, on a bind
// failure, calls echo's Logger.Fatal, i.e. os.Exit(1). Serving the handler on a listener we
// bound ourselves turns that into an ordinary error from Start. NewServer also panics on
// configuration errors; here they are errors.
func newUIHandler(cfg *uiconfig.Config) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("temporal ui configuration: %w", err)
	}
	cfgProvider, err := uiconfig.NewConfigProviderWithRefresh(cfg) // RefreshInterval 0: no goroutine
	if err != nil {
		return nil, fmt.Errorf("temporal ui configuration: %w", err)
	}
	apiMiddleware := []api.Middleware{
		headers.WithForwardHeaders([]string{auth.AuthorizationExtrasHeader, "Caller-Type"}),
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover())
	e.Use(middleware.Gzip())
	e.Use(cors.CORSMiddleware(cors.CORSConfig{
		AllowHeaders: []string{
			echo.HeaderOrigin, echo.HeaderContentType, echo.HeaderAccept,
			echo.HeaderXCSRFToken, echo.HeaderAuthorization, auth.AuthorizationExtrasHeader,
			"Caller-Type",
		},
		AllowCredentials: true,
		ConfigProvider:   cfgProvider,
	}))
	e.Use(middleware.Secure())
	cookieSecure := !cfg.CORS.CookieInsecure
	e.Use(csrf.EnsureTokenCookie(cookieSecure))
	e.Use(middleware.CSRFWithConfig(csrf.MiddlewareConfig(cfgProvider, cookieSecure)))

	e.Pre(route.PublicPath(cfg.PublicPath))
	route.SetHealthRoute(e)
	if err := route.SetAPIRoutes(e, cfgProvider, apiMiddleware); err != nil {
		return nil, fmt.Errorf("temporal ui: %w", err)
	}
	route.SetAuthRoutes(e, cfgProvider)

	assets, err := ui.Assets()
	if err != nil {
		return nil, fmt.Errorf("temporal ui assets: %w", err)
	}
	assets, err = fs.Sub(assets, "local")
	if err != nil {
		return nil, fmt.Errorf("temporal ui assets: %w", err)
	}
	if err := route.SetUIRoutes(e, cfg.PublicPath, assets, cfgProvider); err != nil {
		return nil, fmt.Errorf("temporal ui routes: %w", err)
	}
	route.SetRenderRoute(e, "/")
	return e, nil
}
