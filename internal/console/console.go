// Package console is the web console for admins and the help desk: pages
// rendered on the server from Go templates, embedded in the binary, served
// by `mms api` at / and /console/..., and the API's reference at /docs.
//
// It reads the store and asks the application service (internal/intake) to
// start, dry-run, cancel and retry, as the HTTP API does; it never calls the
// API over the network, and it decides nothing intake decides: a refusal
// comes back as an *intake.Error and is shown as it is.
//
// Sign-in is by API token, kept in an HttpOnly, SameSite=Strict cookie
// (Secure over TLS); every form carries a CSRF token derived from the cookie
// (csrf.go). Pages read without JavaScript.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// MaxFormBytes bounds a form's body: the console's forms are a few fields.
const MaxFormBytes = 64 << 10

// PageSize is the number of rows of a listing page.
const PageSize = 50

// Console serves the console's pages. It is safe for concurrent use.
type Console struct {
	db     *store.DB
	intake *intake.Service
	logger *slog.Logger
	pages  map[string]*template.Template
	mux    *http.ServeMux
	now    func() time.Time
}

// New returns the console over the store and the service; a nil logger
// discards.
func New(db *store.DB, in *intake.Service, logger *slog.Logger) (*Console, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{db: db, intake: in, logger: logger, now: time.Now}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// route is one of the console's routes; the isolation test walks them all.
type route struct {
	pattern string // http.ServeMux's: "METHOD /path/{name}"
	handler http.HandlerFunc
}

func (c *Console) table() []route {
	return []route{
		{"GET /{$}", c.home},
		{"GET /docs", c.docs},
		{"GET /console/{$}", c.home},
		{"GET /console/signin", c.signInForm},
		{"POST /console/signin", c.signIn},
		{"POST /console/signout", c.session(c.signOut)},
		{"GET /console/tenants", c.session(c.tenants)},
		{"GET /console/t/{tenant}/{$}", c.tenant(c.summary)},
		{"GET /console/t/{tenant}/migrations", c.tenant(c.migrations)},
		{"GET /console/t/{tenant}/failed", c.tenant(c.failed)},
		{"GET /console/t/{tenant}/events", c.tenant(c.events)},
		{"GET /console/t/{tenant}/settings", c.tenant(c.settings)},
		{"POST /console/t/{tenant}/settings", c.tenant(c.administer(c.saveSettings))},
		{"GET /console/t/{tenant}/preview", c.tenant(c.previewPage)},
		{"POST /console/t/{tenant}/preview", c.tenant(c.postEvents(c.preview))},
		{"GET /console/t/{tenant}/users", c.tenant(c.findUser)},
		{"GET /console/t/{tenant}/users/{user}", c.tenant(c.user)},
		{"POST /console/t/{tenant}/users/{user}/start", c.tenant(c.operate(c.start))},
		{"POST /console/t/{tenant}/users/{user}/cancel", c.tenant(c.operate(c.cancel))},
		{"POST /console/t/{tenant}/users/{user}/retry-failed", c.tenant(c.operate(c.retryFailed))},
	}
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", cacheStatic(http.FileServerFS(static))))
	for _, r := range c.table() {
		m.HandleFunc(r.pattern, r.handler)
	}
	m.HandleFunc("/", c.notFound)
	c.mux = m
}

// ServeHTTP serves a console route. Every answer says not to be framed
// (clickjacking) and not to load anything from elsewhere.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	}
	c.mux.ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
