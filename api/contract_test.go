package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The OpenAPI document is a checked contract (issue 18): every request the
// tests of this package send through net/http's default transport, and
// every answer they get, is validated against api/openapi.yaml with
// kin-openapi. TestMain installs the check, so a new test gets it without
// asking. The rules:
//   - an answer must have a status the operation documents (an undocumented
//     status fails), and a body of the documented type, required fields and
//     enums;
//   - a request the document refuses (types, required fields, enums, bounds)
//     must be refused with a 4xx: the service accepts nothing the contract
//     rules out;
//   - a request to a path or method the document does not list must be
//     refused with a 4xx (404, 405, or a 400 for an empty path parameter).
//
// Failures are collected and fail the test binary at the end, naming the
// request, since the transport has no *testing.T.
func TestMain(m *testing.M) {
	contract, err := newContract()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml:", err)
		os.Exit(1)
	}
	rawTransport = http.DefaultTransport
	http.DefaultTransport = contract
	code := m.Run()
	if v := contract.violations(); len(v) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d exchanges break the OpenAPI contract (api/openapi.yaml):\n%s\n", len(v), strings.Join(v, "\n"))
		code = 1
	}
	os.Exit(code)
}

// rawTransport sends without the contract's check: only for benchmarks,
// whose figures would include the validator's own work and memory.
var rawTransport http.RoundTripper

type contractTransport struct {
	router routers.Router

	mu     sync.Mutex
	broken []string
}

func newContract() (*contractTransport, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIYAML)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	// The document's server is mms dev's address; the tests' servers are
	// on other ports, so routes are matched by path alone.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contractTransport{router: router}, nil
}

func (c *contractTransport) violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

func (c *contractTransport) fail(req *http.Request, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken = append(c.broken, fmt.Sprintf("  %s %s: %s", req.Method, truncate(req.URL.RequestURI(), 200), truncate(fmt.Sprintf(format, args...), 2000)))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The body is read here to be validated, and sent from the copy: a
	// RoundTripper must not change the caller's request.
	var body []byte
	send := req
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		send = req.Clone(req.Context())
		send.Body, send.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if len(body) == 0 {
			send.Body = http.NoBody
		}
	}
	resp, err := rawTransport.RoundTrip(send)
	if err != nil {
		return resp, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err != nil {
		return resp, nil // the test sees the short body; nothing to validate
	}
	c.check(req, body, resp, out)
	return resp, nil
}

// check validates one exchange; body and out are the request's and the
// answer's bodies, read in full.
func (c *contractTransport) check(req *http.Request, body []byte, resp *http.Response, out []byte) {
	ctx := context.Background()
	// The route is found on a copy: the router needs an absolute URL's path
	// only, and the validator reads the body again.
	view := req.Clone(ctx)
	view.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 && view.Header.Get("Content-Type") == "" {
		view.Header.Set("Content-Type", "application/json") // the API reads every body as JSON
	}
	route, params, err := c.router.FindRoute(view)
	if err != nil {
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			c.fail(req, "not in the document (%v), yet answered %d", err, resp.StatusCode)
		}
		return
	}
	// The failing field and the reason, not the whole schema and value.
	brief := []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
		SchemaValidationOptions: brief}
	in := &openapi3filter.RequestValidationInput{Request: view, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && resp.StatusCode < 400 {
		c.fail(req, "the document refuses the request (%v), yet it was answered %d", reqErr, resp.StatusCode)
	}
	respOpts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, SchemaValidationOptions: brief}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out)), Options: respOpts}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		c.fail(req, "answer %d breaks the document: %v\n    body: %s", resp.StatusCode, err, truncate(string(out), 300))
	}
}

// The contract's check can fail: an undocumented status, an answer of the
// wrong shape, a request the document refuses answered with a 2xx and an
// undocumented route answered 200 are each reported.
func TestContractReportsEachKindOfBreach(t *testing.T) {
	c, err := newContract()
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(method, url, body string, status int, answer string) {
		req, _ := http.NewRequest(method, "http://127.0.0.1:1"+url, strings.NewReader(body))
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
		c.check(req, []byte(body), resp, []byte(answer))
	}
	exchange("GET", "/healthz", "", 200, `{"status":"ok"}`) // conforms
	exchange("GET", "/healthz", "", 418, `{"status":"ok"}`)
	exchange("GET", "/v1/tenants/contoso/migrations/summary", "", 200, `{"rows":"not an array"}`)
	exchange("GET", "/v1/tenants/contoso/migrations?limit=5000", "", 200, `{"migrations":[],"total":0}`)
	exchange("POST", "/v1/tenants/contoso/migrations", `{"users":"alice@contoso.com"}`, 202, `{"results":[]}`)
	exchange("GET", "/v1/nowhere", "", 200, `{}`)
	got := c.violations()
	for i, want := range []string{"answer 418 breaks the document", "answer 200 breaks the document",
		"the document refuses the request", "the document refuses the request", "not in the document"} {
		if i >= len(got) || !strings.Contains(got[i], want) {
			t.Errorf("violation %d = %q, want %q (all: %q)", i, nth(got, i), want, got)
		}
	}
	if len(got) < 5 {
		t.Fatalf("%d violations reported, want at least 5: %q", len(got), got)
	}
}

func nth(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}
