package router

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
)

const example = `
default: sandbox
tenants:
  contoso:
    backend: graph
    graph:
      azureTenantId: contoso.onmicrosoft.com
      clientId: 11111111-2222-3333-4444-555555555555
      clientSecret: ${MMS_TEST_GRAPH_SECRET}
      horizonDays: 365
  fabrikam:
    backend: caldav
    caldav:
      url: https://dav.fabrikam.example/
      delegate: {username: mms, password: "${MMS_TEST_DAV_PASSWORD}"}
      homeTemplate: "{base}/{local}/"
      notify: imip
      smtp: {host: smtp.fabrikam.example, port: 587, from: mms@fabrikam.example}
  woodgrove:
    backend: sandbox
`

func TestLoadExpandsOnlyEnvironmentReferences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendars.yaml")
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "MMS_TEST_DAV_PASSWORD, MMS_TEST_GRAPH_SECRET") &&
		!strings.Contains(err.Error(), "MMS_TEST_GRAPH_SECRET, MMS_TEST_DAV_PASSWORD") {
		t.Fatalf("unset variables: %v", err)
	}
	t.Setenv("MMS_TEST_GRAPH_SECRET", "s3cr$t")
	t.Setenv("MMS_TEST_DAV_PASSWORD", "pw")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tenants["contoso"].Graph.ClientSecret; got != "s3cr$t" {
		t.Fatalf("secret = %q", got)
	}
	if got := c.Tenants["fabrikam"].CalDAV.Delegate.Password; got != "pw" {
		t.Fatalf("password = %q", got)
	}
}

func TestValidateNamesTenantAndField(t *testing.T) {
	for doc, want := range map[string]string{
		`default: graph`:                                                         `default: must be sandbox or none, not "graph"`,
		`tenants: {a: {backend: exchange}}`:                                      `tenants.a.backend: must be sandbox, graph or caldav, not "exchange"`,
		`tenants: {a: {backend: graph}}`:                                         "tenants.a.graph: required for backend graph",
		`tenants: {a: {backend: graph, graph: {clientId: x}}}`:                   "tenants.a.graph: graph config: AzureTenantID is required",
		`tenants: {a: {backend: caldav, caldav: {url: "not a url"}}}`:            "tenants.a.caldav:",
		`tenants: {a: {backend: sandbox, graph: {clientId: x}}}`:                 `tenants.a: settings for a back end other than "sandbox"`,
		`tenants: {a: {backend: sandbox, colour: red}}`:                          `unknown field "colour"`,
		`tenants: {a: {backend: graph, graph: {clientID: x, azureTenantId: t}}}`: "", // JSON field names match case-insensitively
	} {
		_, err := Parse([]byte(doc))
		if want == "" {
			if err != nil && !strings.Contains(err.Error(), "ClientSecret") {
				t.Errorf("%s: %v", doc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// The router sends each tenant's calls to its back end: a Graph tenant
// reaches the emulator, others the sandbox, and with default none an
// unlisted tenant has none (ErrNotFound, so a run is blocked, not retried).
func TestRouterDispatchesByTenant(t *testing.T) {
	emu := graphtest.New(graphtest.Options{})
	srv := newHTTPServer(t, emu)
	emu.AddApp("contoso.onmicrosoft.com", "app", "secret")
	emu.AddUser("contoso.onmicrosoft.com", "alice@contoso.com", "Alice", false)
	cfg, err := Parse([]byte(`
default: none
tenants:
  contoso:
    backend: graph
    graph: {azureTenantId: contoso.onmicrosoft.com, clientId: app, clientSecret: secret,
            baseUrl: "` + graphtest.GraphURL(srv) + `", tokenUrl: "` + graphtest.TokenURL(srv, "contoso.onmicrosoft.com") + `"}
  woodgrove: {backend: sandbox}
`))
	if err != nil {
		t.Fatal(err)
	}
	sb := &fakeSandbox{}
	r, err := New(cfg, sb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if mb, err := r.Mailbox(ctx, "contoso", "alice@contoso.com"); err != nil || !mb.Online {
		t.Fatalf("graph tenant: %+v %v", mb, err)
	}
	if _, err := r.Mailbox(ctx, "woodgrove", "x@woodgrove.com"); !errors.Is(err, errSandboxCalled) {
		t.Fatalf("sandbox tenant: %v", err)
	}
	if _, err := r.Mailbox(ctx, "unlisted", "x@y.com"); !errors.Is(err, calendar.ErrNotFound) {
		t.Fatalf("unlisted tenant with default none: %v", err)
	}
	if _, err := r.CountMeetings(ctx, "contoso", "alice@contoso.com", time.Now(), time.Now().Add(time.Hour)); !errors.Is(err, calendar.ErrUnsupported) {
		t.Fatalf("Graph cannot count: %v", err)
	}
}

var errSandboxCalled = errors.New("sandbox called")

// fakeSandbox only records that the router chose it.
type fakeSandbox struct{ calendar.Backend }

func (fakeSandbox) Mailbox(context.Context, string, string) (calendar.Mailbox, error) {
	return calendar.Mailbox{}, errSandboxCalled
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
