package embeddedtemporal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/openmms/mms/internal/embeddedtemporal"
)

// uiClient is a browser stand-in: it keeps the CSRF cookie a plain GET hands out and sends it
// back as X-CSRF-Token, which is all the UI asks of a write (the finding of issue 18).
type uiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newUIClient(t *testing.T, base string) *uiClient {
	jar, _ := cookiejar.New(nil)
	c := &uiClient{t: t, base: base, http: &http.Client{Jar: jar}}
	if code, body := c.do(http.MethodGet, "/api/v1/settings", "", ""); code != http.StatusOK {
		t.Fatalf("GET /api/v1/settings: %d %s", code, body)
	}
	return c
}

func (c *uiClient) do(method, path, host, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json")
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "_csrf" {
			req.Header.Set("X-CSRF-Token", ck.Value)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const startBody = `{"workflowType":{"name":"Nothing"},"taskQueue":{"name":"nobody"}}`

func startUI(t *testing.T, writes bool) *embeddedtemporal.Server {
	t.Helper()
	s, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir:        t.TempDir(),
		FrontendAddr:   "127.0.0.1:0",
		UIAddr:         "127.0.0.1:0",
		UIWriteActions: writes,
		UIHosts:        []string{"mms.example.internal"},
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func workflowExists(t *testing.T, s *embeddedtemporal.Server, id string) bool {
	t.Helper()
	c := dial(t, s, "default")
	defer c.Close()
	_, err := c.DescribeWorkflowExecution(context.Background(), id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false
	} else if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return true
}

// TestUIReadOnlyByDefault: with the CSRF cookie from a GET, every write (start,
// signal-with-start, terminate, also through a workflow ID containing "/query/", which slips
// past ui-server's own DisableWriteActions) is refused and starts nothing; reads and
// queries still reach the frontend.
func TestUIReadOnlyByDefault(t *testing.T) {
	s := startUI(t, false)
	c := newUIClient(t, s.UIURL())
	writes := []struct{ path, id string }{
		{"/api/v1/namespaces/default/workflows/plain", "plain"},
		{"/api/v1/namespaces/default/workflows/x%2Fquery%2Fy", "x/query/y"},
		{"/api/v1/namespaces/default/workflows/mms-migration%2Ffabrikam%2Fquery/signal-with-start/trigger",
			"mms-migration/fabrikam/query"},
		{"/api/v1/namespaces/default/workflows/plain/terminate", ""},
		{"/api/v1/namespaces/default/workflows/plain/cancel", ""},
		{"/api/v1/namespaces/default/batch-operations/b1", ""},
	}
	for _, w := range writes {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			if code, body := c.do(m, w.path, "", startBody); code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d %s, want 405", m, w.path, code, body)
			}
		}
		if w.id != "" && workflowExists(t, s, w.id) {
			t.Errorf("workflow %q was started through the read-only UI", w.id)
		}
	}
	if code, body := c.do(http.MethodGet, "/api/v1/namespaces/default/workflows", "", ""); code != http.StatusOK {
		t.Errorf("list workflows: %d %s, want 200", code, body)
	}
	// A query passes the guard and reaches the frontend (which answers: no such workflow).
	code, body := c.do(http.MethodPost, "/api/v1/namespaces/default/workflows/none/query/__stack_trace", "",
		`{"query":{"queryType":"__stack_trace"}}`)
	if code == http.StatusMethodNotAllowed || !strings.Contains(strings.ToLower(body), "not found") {
		t.Errorf("query: %d %s, want the frontend's not-found", code, body)
	}
}

// TestUIWriteActionsOn: --ui-write-actions lets the same request start a workflow.
func TestUIWriteActionsOn(t *testing.T) {
	s := startUI(t, true)
	c := newUIClient(t, s.UIURL())
	path := "/api/v1/namespaces/default/workflows/mms-migration%2Ffabrikam%2Fbob/signal-with-start/trigger"
	if code, body := c.do(http.MethodPost, path, "", startBody); code != http.StatusOK {
		t.Fatalf("signal-with-start: %d %s, want 200", code, body)
	}
	if !workflowExists(t, s, "mms-migration/fabrikam/bob") {
		t.Error("signal-with-start answered 200 but started no workflow")
	}
}

// TestUIHostGuard: the UI answers for its own names only, so a rebound DNS name gets 421.
func TestUIHostGuard(t *testing.T) {
	s := startUI(t, false)
	c := newUIClient(t, s.UIURL())
	port := s.UIURL()[strings.LastIndex(s.UIURL(), ":"):]
	for host, want := range map[string]int{
		"127.0.0.1" + port:            http.StatusOK,
		"localhost" + port:            http.StatusOK,
		"LOCALHOST.":                  http.StatusOK,
		"[::1]" + port:                http.StatusOK,
		"mms.example.internal" + port: http.StatusOK,
		"evil.example" + port:         http.StatusMisdirectedRequest,
		"evil.example":                http.StatusMisdirectedRequest,
		"10.1.2.3" + port:             http.StatusMisdirectedRequest,
		"127.0.0.1.evil.example":      http.StatusMisdirectedRequest,
	} {
		if code, body := c.do(http.MethodGet, "/api/v1/settings", host, ""); code != want {
			t.Errorf("Host %q: %d %s, want %d", host, code, body, want)
		}
	}
}
