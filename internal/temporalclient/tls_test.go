package temporalclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// writeCert writes a certificate (and its key) signed by parent/parentKey, or self-signed
// when parent is nil, to dir/name.pem and dir/name-key.pem.
func writeCert(t *testing.T, dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestDialMutualTLS: against the embedded server with a TLS frontend that requires client
// certificates, Dial with TEMPORAL_TLS_* connects and calls the frontend; without the client
// certificate it does not.
func TestDialMutualTLS(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, caKey := writeCert(t, dir, "ca", &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "mms test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	writeCert(t, dir, "server", &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "temporal"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
	writeCert(t, dir, "client", &x509.Certificate{SerialNumber: big.NewInt(3),
		Subject: pkix.Name{CommonName: "mms-worker"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey)
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
	now := time.Now()
	ca, caKey := writeCert(t, dir, "ca", &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "mms test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	writeCert(t, dir, "server", &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "temporal"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
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
