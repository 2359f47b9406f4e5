package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
)

// page is what the layout renders around a page's content.
type page struct {
	Title string
	S     *sess
	// Nav names the page's entry in the navigation (aria-current).
	Nav string
	// Refresh, when set, reloads the page after that many seconds: a
	// running migration's progress, without JavaScript.
	Refresh int
	Data    any
}

var funcs = template.FuncMap{
	"tenantPath": tenantPath,
	"userPath": func(tenant, user string) string {
		return tenantPath(tenant, "/users/"+pathEscape(user))
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"states": func() []migration.State { return migration.States },
	"types":  func() []migration.Type { return migration.Types },
	"sources": func() []migration.Source {
		return []migration.Source{migration.SourceAll, migration.SourceSfB, migration.SourceTeams}
	},
	"targets": func() []migration.Target { return []migration.Target{migration.TargetCurrent, migration.TargetTeams} },
	"lower":   func(s any) string { return strings.ToLower(fmt.Sprint(s)) },
	// fieldIs: the refused field (a message's first word) is name or within it.
	"fieldIs": func(field, name string) bool { return field == name || strings.HasPrefix(field, name+".") },
	"add": func(ns ...int) int {
		sum := 0
		for _, n := range ns {
			sum += n
		}
		return sum
	},
}

// parsePages parses each page with the layout: one template set per page,
// so their "content" blocks do not collide.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" || n == "templates/partials.html" {
			continue
		}
		t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return pages, nil
}

// render writes a page. It renders into a buffer first, so a template
// error is a clean 500 and never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *sess, status int, name, title string, data any, opts ...func(*page)) {
	p := page{Title: title, S: s, Nav: name, Data: data}
	for _, o := range opts {
		o(&p)
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.logger.Error("console template", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows a refusal or an error with its status: a message for people,
// naming the field first for bad input.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *sess, status int, msg string) {
	c.render(w, r, s, status, "error", http.StatusText(status), struct {
		Status  int
		Message string
	}{status, msg})
}

func (c *Console) internal(w http.ResponseWriter, r *http.Request, s *sess, what string, err error) {
	c.logger.Error("console: "+what, "path", r.URL.Path, "error", err)
	c.fail(w, r, s, http.StatusInternalServerError, what+" failed")
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, nil, http.StatusNotFound, "no such page: "+r.URL.Path)
}

// intakeFailed shows the service's refusal with the status the API would
// answer; the service's message is meant for people.
func (c *Console) intakeFailed(w http.ResponseWriter, r *http.Request, s *sess, err error) {
	var e *intake.Error
	if !errors.As(err, &e) {
		c.internal(w, r, s, "request", err)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(e, intake.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(e, intake.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(e, intake.ErrConflict):
		status = http.StatusConflict
	case errors.Is(e, intake.ErrUnavailable):
		status = http.StatusServiceUnavailable
	default:
		c.internal(w, r, s, e.Subject, err)
		return
	}
	c.fail(w, r, s, status, e.Message)
}

func pathEscape(s string) string { return url.PathEscape(s) }
