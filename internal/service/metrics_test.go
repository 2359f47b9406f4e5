package service

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/internal/temporalclient"
)

// freeAddr is a loopback address nothing listens on (the metrics listener
// is opened by address, not handed a listener).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetricsTokenAndSeparateListener: /metrics can require a bearer token
// and can be moved off the API's address onto its own listener (issue 19,
// item 7), for the API and for the worker, against a real Temporal server.
func TestMetricsTokenAndSeparateListener(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	srv, err := embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0",
		SearchAttributes: temporalclient.SearchAttributes, Logger: quiet})
	if err != nil {
		t.Fatalf("embedded Temporal: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	const token = `s3cret "token" #1`
	start := func(t *testing.T, cfg Config) *Service {
		t.Helper()
		tel, err := telemetry.New(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DB, cfg.Telemetry, cfg.Logger, cfg.APIAddr = db, tel, quiet, "127.0.0.1:0"
		cfg.Temporal = temporalclient.Config{Address: srv.FrontendAddr(), Namespace: srv.Namespace()}
		s, err := Build(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		if err := s.Start(nil); err != nil {
			t.Fatal(err)
		}
		return s
	}
	expect := func(t *testing.T, url, tok string, status int, bodyHas string) {
		t.Helper()
		code, body := get(t, url, tok)
		if code != status || !strings.Contains(body, bodyHas) {
			t.Errorf("GET %s (token %q): %d %.200q, want %d containing %q", url, tok, code, body, status, bodyHas)
		}
	}

	t.Run("api address, token", func(t *testing.T) {
		s := start(t, Config{API: true, MetricsToken: token})
		expect(t, s.APIURL()+"/metrics", "", http.StatusUnauthorized, "bearer token")
		expect(t, s.APIURL()+"/metrics", "wrong", http.StatusUnauthorized, "bearer token")
		expect(t, s.APIURL()+"/metrics", token, http.StatusOK, "go_goroutines")
		expect(t, s.APIURL()+"/healthz", "", http.StatusOK, "ok") // only /metrics is guarded here
	})
	t.Run("api, separate listener", func(t *testing.T) {
		addr := freeAddr(t)
		s := start(t, Config{API: true, MetricsAddr: addr})
		expect(t, s.APIURL()+"/metrics", "", http.StatusNotFound, "")
		expect(t, "http://"+addr+"/metrics", "", http.StatusOK, "go_goroutines")
	})
	t.Run("api, separate listener and token", func(t *testing.T) {
		addr := freeAddr(t)
		s := start(t, Config{API: true, MetricsAddr: addr, MetricsToken: token})
		expect(t, s.APIURL()+"/metrics", token, http.StatusNotFound, "")
		expect(t, "http://"+addr+"/metrics", "", http.StatusUnauthorized, "bearer token")
		expect(t, "http://"+addr+"/metrics", token, http.StatusOK, "mms_migrations")
	})
	t.Run("worker listener, token", func(t *testing.T) {
		addr := freeAddr(t)
		start(t, Config{Worker: true, MetricsAddr: addr, MetricsToken: token})
		expect(t, "http://"+addr+"/metrics", "", http.StatusUnauthorized, "bearer token")
		expect(t, "http://"+addr+"/metrics", token, http.StatusOK, "go_goroutines")
		// The worker's probes, on the same listener, need no token.
		expect(t, "http://"+addr+"/healthz", "", http.StatusOK, `"ok"`)
		expect(t, "http://"+addr+"/readyz", "", http.StatusOK, `"temporal":"ok"`)
	})
}
