package devstack

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openmms/mms/internal/tlstest"

	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/workflows"
)

// TestAttachToRunningTemporal: with AttachTemporal (`mms dev --temporal-address`), the stack
// starts no Temporal of its own: it registers its search attributes on the running server,
// and a migration started through its API runs there, on its worker.
func TestAttachToRunningTemporal(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	// The running dev server, in a namespace of its own, started as the README says
	// (`temporal server start-dev --namespace team --search-attribute MmsTenant=Keyword ...`):
	// a search attribute registered on a running server is used only once its namespace
	// cache has refreshed.
	srv, err := embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0",
		Namespace: "team", SearchAttributes: temporalclient.SearchAttributes, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	dir := t.TempDir()
	st := startStack(t, Config{DataDir: dir, APIAddr: "127.0.0.1:0", UIAddr: "-",
		AttachTemporal: srv.FrontendAddr(), AttachNamespace: "team"})
	defer st.Stop(ctx)
	if st.Temporal != nil || st.TemporalAddr != srv.FrontendAddr() || st.Namespace != "team" {
		t.Fatalf("stack: own server %v, Temporal %s/%s; want none, %s/team", st.Temporal != nil, st.TemporalAddr, st.Namespace, srv.FrontendAddr())
	}
	if _, err := os.Stat(filepath.Join(dir, "temporal.db")); !os.IsNotExist(err) {
		t.Errorf("temporal.db in the data directory (%v): the stack started a server of its own", err)
	}

	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", c.token, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start: %d %s", code, raw)
	}
	if d := c.waitFinal(alice); d.State != migration.StateSucceeded {
		t.Fatalf("migration: %s %q", d.State, d.LastMessage)
	}
	// The workflow ran on the running server, in its namespace.
	other, err := temporalclient.Dial(ctx, temporalclient.Config{Address: srv.FrontendAddr(), Namespace: "team"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	desc, err := other.DescribeWorkflowExecution(ctx, workflows.WorkflowID("contoso", alice), "")
	if err != nil {
		t.Fatalf("the migration's workflow on the running server: %v", err)
	}
	if s := desc.GetWorkflowExecutionInfo().GetStatus().String(); s != "Completed" {
		t.Errorf("workflow status %s", s)
	}
}

// TestStackOnTLSFrontend: with TemporalTLS (`mms dev --temporal-tls-*`), the embedded frontend
// serves TLS with mutual authentication, and the stack's own worker and API dial it with the
// server's client TLS: a migration runs; a plain-gRPC client is refused.
func TestStackOnTLSFrontend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tlstest.WriteFiles(t, dir)
	f := func(name string) string { return filepath.Join(dir, name) }
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", TemporalAddr: "127.0.0.1:0", UIAddr: "-",
		TemporalTLS: &embeddedtemporal.FrontendTLS{CertFile: f("server.pem"), KeyFile: f("server-key.pem"), CAFile: f("ca.pem"),
			ClientCAFile: f("ca.pem"), ClientCertFile: f("client.pem"), ClientKeyFile: f("client-key.pem")}})
	defer st.Stop(ctx)
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", c.token, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start: %d %s", code, raw)
	}
	if d := c.waitFinal(alice); d.State != migration.StateSucceeded {
		t.Fatalf("migration: %s %q", d.State, d.LastMessage)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if plain, err := temporalclient.Dial(short, temporalclient.Config{Address: st.TemporalAddr}, slog.New(slog.DiscardHandler)); err == nil {
		plain.Close()
		t.Fatal("a plain-gRPC client reached the TLS frontend")
	}
}
