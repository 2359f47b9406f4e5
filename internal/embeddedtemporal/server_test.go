package embeddedtemporal_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/openmms/mms/internal/embeddedtemporal"
)

// syncBuffer collects the server's logs; the test prints them at the end.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	var buf syncBuffer
	t.Cleanup(func() {
		if s := buf.String(); s != "" {
			t.Logf("server logs (Warn+):\n%s", s)
		}
	})
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func dial(t *testing.T, s *embeddedtemporal.Server, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddr(),
		Namespace: namespace,
		Logger:    discardSDKLogger{},
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddr(), err)
	}
	return c
}

type discardSDKLogger struct{}

func (discardSDKLogger) Debug(string, ...any) {}
func (discardSDKLogger) Info(string, ...any)  {}
func (discardSDKLogger) Warn(string, ...any)  {}
func (discardSDKLogger) Error(string, ...any) {}

func assertSearchAttributes(t *testing.T, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for name, typ := range want {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("search attribute %s: got %v (present=%v), want %v", name, got, ok, typ)
		}
	}
}

func TestStartRestart(t *testing.T) {
	dir := t.TempDir()
	const ns = "mms-test"
	logger := testLogger(t)
	sas := map[string]enumspb.IndexedValueType{
		"MmsTenant": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"MmsState":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
	opts := embeddedtemporal.Options{
		DataDir:          dir,
		FrontendAddr:     "127.0.0.1:0",
		UIAddr:           "127.0.0.1:0",
		Namespace:        ns,
		SearchAttributes: sas,
		Logger:           logger,
	}

	// First start: fresh database.
	t0 := time.Now()
	s, err := embeddedtemporal.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("first start: %v (frontend %s, ui %s)", time.Since(t0), s.FrontendAddr(), s.UIURL())
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if _, err := os.Stat(filepath.Join(dir, "temporal.db-wal")); err != nil {
		t.Errorf("expected a WAL file (journal_mode=wal): %v", err)
	}

	c := dial(t, s, ns)
	if _, err := c.WorkflowService().DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatalf("DescribeNamespace %s: %v", ns, err)
	}
	assertSearchAttributes(t, c, ns, sas)

	// A workflow with no worker: it stays Running.
	t1 := time.Now()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:        "devserver-test-wf",
		TaskQueue: "devserver-test",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword("MmsTenant").ValueSet("tenant-1"),
		),
	}, "NoSuchWorkflowType")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	t.Logf("first workflow start: %v", time.Since(t1))

	// Visibility (eventually consistent) finds it by the custom search attribute.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns,
			Query:     "MmsTenant = 'tenant-1'",
		})
		if err != nil {
			t.Fatalf("ListWorkflow: %v", err)
		}
		if len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListWorkflow MmsTenant = 'tenant-1': %d executions, want 1", len(resp.GetExecutions()))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The UI serves HTML.
	resp, err := http.Get(s.UIURL())
	if err != nil {
		t.Fatalf("GET %s: %v", s.UIURL(), err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Fatalf("GET %s: status %d, body starts %.200q", s.UIURL(), resp.StatusCode, body)
	}
	// The UI reaches the frontend (its API proxies to gRPC).
	resp, err = http.Get(s.UIURL() + "/api/v1/namespaces/" + ns)
	if err != nil {
		t.Fatalf("GET UI API: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), ns) {
		t.Fatalf("GET UI API namespace: status %d, body %.300q", resp.StatusCode, body)
	}

	// A second server on the same data directory is refused while the first runs.
	other := opts
	other.UIAddr = ""
	if s2, err := embeddedtemporal.Start(context.Background(), other); err == nil {
		s2.Stop()
		t.Fatal("second Start on the same DataDir succeeded")
	} else if !strings.Contains(err.Error(), dir) {
		t.Errorf("second Start on the same DataDir: error %q does not name the directory", err)
	}

	c.Close()
	frontAddr, uiAddr := s.FrontendAddr(), strings.TrimPrefix(s.UIURL(), "http://")
	s.Stop()
	s.Stop() // safe twice
	stopped = true

	// Restart on the same directory and ports, with one more search attribute.
	opts.FrontendAddr, opts.UIAddr = frontAddr, uiAddr
	opts.SearchAttributes = map[string]enumspb.IndexedValueType{
		"MmsTenant": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"MmsState":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"MmsCount":  enumspb.INDEXED_VALUE_TYPE_INT,
	}
	t0 = time.Now()
	s, err = embeddedtemporal.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	stopped = false
	t.Logf("restart: %v", time.Since(t0))
	if s.FrontendAddr() != frontAddr || s.UIURL() != "http://"+uiAddr {
		t.Errorf("restart addresses: %s %s, want %s http://%s", s.FrontendAddr(), s.UIURL(), frontAddr, uiAddr)
	}

	c = dial(t, s, ns)
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(context.Background(), "devserver-test-wf", run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("workflow status after restart: %v, want Running", st)
	}
	assertSearchAttributes(t, c, ns, opts.SearchAttributes)

	// The new attribute is usable right away.
	if _, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:        "devserver-test-wf-2",
		TaskQueue: "devserver-test",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyInt64("MmsCount").ValueSet(42),
		),
	}, "NoSuchWorkflowType"); err != nil {
		t.Fatalf("ExecuteWorkflow with the added search attribute: %v", err)
	}

	// Changing the type of an existing attribute is a clear error.
	s.Stop()
	stopped = true
	bad := opts
	bad.SearchAttributes = map[string]enumspb.IndexedValueType{"MmsState": enumspb.INDEXED_VALUE_TYPE_INT}
	if s3, err := embeddedtemporal.Start(context.Background(), bad); err == nil {
		s3.Stop()
		t.Fatal("Start with a changed search attribute type succeeded")
	} else if !strings.Contains(err.Error(), "MmsState") {
		t.Errorf("changed type: error %q does not name the attribute", err)
	}
}

// TestChildProcess is the child of TestRestartAfterKill: it starts a server and a workflow,
// prints the run ID and waits to be killed.
func TestChildProcess(t *testing.T) {
	dir := os.Getenv("DEVSERVER_TEST_CHILD_DIR")
	if dir == "" {
		t.Skip("only run as the child of TestRestartAfterKill")
	}
	// All interfaces, as in a container.
	s, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir:      dir,
		FrontendAddr: "0.0.0.0:0",
		UIAddr:       "0.0.0.0:0",
		Logger:       testLogger(t),
	})
	if err != nil {
		t.Fatalf("child Start: %v", err)
	}
	if !strings.HasPrefix(s.FrontendAddr(), "127.0.0.1:") || !strings.HasPrefix(s.UIURL(), "http://127.0.0.1:") {
		t.Fatalf("child addresses: %s %s, want loopback", s.FrontendAddr(), s.UIURL())
	}
	resp, err := http.Get(s.UIURL())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("child GET %s: %v %v", s.UIURL(), resp, err)
	}
	_ = resp.Body.Close()
	c := dial(t, s, embeddedtemporal.DefaultNamespace)
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: "killed-wf", TaskQueue: "devserver-test",
	}, "NoSuchWorkflowType")
	if err != nil {
		t.Fatalf("child ExecuteWorkflow: %v", err)
	}
	_, _ = os.Stdout.WriteString("RUN_ID=" + run.GetRunID() + "\n")
	time.Sleep(time.Minute) // killed long before
}

// TestRestartAfterKill: a workflow started in a process that is then SIGKILLed (no Stop) is
// found by a server started on the same directory in another process. (TestStartRestart
// restarts in-process, where the SQLite plugin keeps its connection open across servers.)
func TestRestartAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEVSERVER_TEST_CHILD_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	runID := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "RUN_ID="); ok {
			runID = id
			break
		}
		t.Logf("child: %s", sc.Text())
	}
	if runID == "" {
		t.Fatal("child did not start a workflow")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	t0 := time.Now()
	s, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir:      dir,
		FrontendAddr: "127.0.0.1:0",
		Logger:       testLogger(t),
	})
	if err != nil {
		t.Fatalf("Start after kill: %v", err)
	}
	defer s.Stop()
	t.Logf("start in a new process after kill -9: %v", time.Since(t0))
	c := dial(t, s, embeddedtemporal.DefaultNamespace)
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(context.Background(), "killed-wf", runID)
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after kill: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("status after kill: %v, want Running", st)
	}
}

func TestPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	for _, tc := range []struct {
		name     string
		frontend string
		ui       string
	}{
		{"frontend", addr, ""},
		{"ui", "127.0.0.1:0", addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			s, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
				DataDir:      t.TempDir(),
				FrontendAddr: tc.frontend,
				UIAddr:       tc.ui,
				Logger:       testLogger(t),
			})
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded on a port in use")
			}
			t.Logf("error after %v: %v", time.Since(t0), err)
			if !strings.Contains(err.Error(), addr) || !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("error %q: want the address %s and EADDRINUSE", err, addr)
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("Start took %v to fail", d)
			}
		})
	}
}

func TestUnwritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "data")
	s, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir:      dir,
		FrontendAddr: "127.0.0.1:0",
		Logger:       testLogger(t),
	})
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded with a data directory under a regular file")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts embeddedtemporal.Options
		want string
	}{
		{"frontend host name", embeddedtemporal.Options{FrontendAddr: "example.com:7233"}, "example.com:7233"},
		{"frontend no port", embeddedtemporal.Options{FrontendAddr: "127.0.0.1"}, "127.0.0.1"},
		{"no data dir", embeddedtemporal.Options{FrontendAddr: "127.0.0.1:0"}, "DataDir"},
		{"reserved search attribute", embeddedtemporal.Options{
			SearchAttributes: map[string]enumspb.IndexedValueType{"WorkflowId": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		}, "WorkflowId"},
		{"too many of a type", embeddedtemporal.Options{
			SearchAttributes: map[string]enumspb.IndexedValueType{
				"A": enumspb.INDEXED_VALUE_TYPE_BOOL, "B": enumspb.INDEXED_VALUE_TYPE_BOOL,
				"C": enumspb.INDEXED_VALUE_TYPE_BOOL, "D": enumspb.INDEXED_VALUE_TYPE_BOOL,
			},
		}, "at most 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.DataDir == "" && tc.name != "no data dir" {
				tc.opts.DataDir = t.TempDir()
			}
			s, err := embeddedtemporal.Start(context.Background(), tc.opts)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
