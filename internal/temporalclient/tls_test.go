package temporalclient_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/tlstest"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/workflows"
)

// TestDialMutualTLS: against the embedded server with a TLS frontend that requires client
// certificates, Dial with TEMPORAL_TLS_* connects and calls the frontend; without the client
// certificate it does not.
func TestDialMutualTLS(t *testing.T) {
	dir := t.TempDir()
	tlstest.WriteFiles(t, dir)
	f := func(name string) string { return filepath.Join(dir, name) }

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0", UIAddr: "127.0.0.1:0", Logger: logger,
		FrontendTLS: &embeddedtemporal.FrontendTLS{CertFile: f("server.pem"), KeyFile: f("server-key.pem"),
			CAFile: f("ca.pem"), ClientCAFile: f("ca.pem"), ClientCertFile: f("client.pem"), ClientKeyFile: f("client-key.pem")},
	})
	if err != nil {
		t.Fatalf("Start with a TLS frontend: %v", err)
	}
	defer srv.Stop()

	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddr())
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace())
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", f("ca.pem"))
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", f("client.pem"))
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", f("client-key.pem"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := temporalclient.Dial(ctx, temporalclient.Config{RegisterSearchAttributes: true}, logger)
	if err != nil {
		t.Fatalf("Dial with a client certificate: %v", err)
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()}); err != nil {
		t.Errorf("DescribeNamespace over mTLS: %v", err)
	}
	c.Close()

	// The same, without a client certificate: the handshake is refused.
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "")
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "")
	os.Unsetenv("TEMPORAL_TLS_CLIENT_CERT_PATH")
	os.Unsetenv("TEMPORAL_TLS_CLIENT_KEY_PATH")
	short, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if c, err := temporalclient.Dial(short, temporalclient.Config{}, logger); err == nil {
		_, err = c.CheckHealth(short, &client.CheckHealthRequest{})
		c.Close()
		if err == nil {
			t.Fatal("a client without a certificate reached the frontend")
		}
	} else {
		t.Logf("without a client certificate: %v", err)
	}

	// And plain gRPC (no TLS at all) is refused too.
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "")
	os.Unsetenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH")
	if c, err := temporalclient.Dial(short, temporalclient.Config{}, logger); err == nil {
		c.Close()
		t.Fatal("a plain-text client reached the TLS frontend")
	}
}

// TestWorkerAndAPISendTheAPIKey: `mms worker` and `mms api` (service.Build, as the commands
// build them) dial a TLS frontend with TEMPORAL_API_KEY, and every call they make carries it
// as "authorization: Bearer <key>", which is how Temporal Cloud and a cluster's claim mapper
// read an API key. The embedded server's frontend interceptor sees what arrives.
func TestWorkerAndAPISendTheAPIKey(t *testing.T) {
	dir := t.TempDir()
	tlstest.WriteFiles(t, dir)
	f := func(name string) string { return filepath.Join(dir, name) }

	const key = "mms-test-api-key-7f3a"
	var mu sync.Mutex
	seen := map[string][]string{} // method -> authorization values, calls on the mms task queue only
	watch := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mine := false
		switch r := req.(type) {
		case *workflowservice.PollWorkflowTaskQueueRequest:
			mine = r.GetTaskQueue().GetName() == workflows.TaskQueue
		case *workflowservice.PollActivityTaskQueueRequest:
			mine = r.GetTaskQueue().GetName() == workflows.TaskQueue
		case *operatorservice.ListSearchAttributesRequest:
			mine = true // only mms asks for them here
		}
		if mine {
			mu.Lock()
			seen[info.FullMethod] = append(seen[info.FullMethod], md.Get("authorization")...)
			mu.Unlock()
		}
		return next(ctx, req)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := embeddedtemporal.Start(context.Background(), embeddedtemporal.Options{
		DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0", Logger: logger,
		FrontendTLS:          &embeddedtemporal.FrontendTLS{CertFile: f("server.pem"), KeyFile: f("server-key.pem"), CAFile: f("ca.pem")},
		FrontendInterceptors: []grpc.UnaryServerInterceptor{watch},
	})
	if err != nil {
		t.Fatalf("Start with a TLS frontend: %v", err)
	}
	defer srv.Stop()

	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddr())
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace())
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", f("ca.pem"))
	t.Setenv("TEMPORAL_API_KEY", key)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := service.Build(ctx, service.Config{Worker: true, API: true, ServiceName: "mms-test",
		Database: filepath.Join(t.TempDir(), "mms.db"), APIAddr: "127.0.0.1:0", Logger: logger,
		Temporal: temporalclient.Config{RegisterSearchAttributes: true}})
	if err != nil {
		t.Fatalf("build the worker and the API with an API key over TLS: %v", err)
	}
	defer svc.Close(context.Background())
	if err := svc.Start(nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"/temporal.api.operatorservice.v1.OperatorService/ListSearchAttributes",
		"/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue",
		"/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue"}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := 0
		for _, m := range want {
			if len(seen[m]) > 0 {
				n++
			}
		}
		mu.Unlock()
		if n == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls seen: %v, want each of %v", seen, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range want {
		for _, v := range seen[m] {
			if v != "Bearer "+key {
				t.Errorf("%s: authorization %q, want the API key as a bearer token", m, v)
			}
		}
	}
}
