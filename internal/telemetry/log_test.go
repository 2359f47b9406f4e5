package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The handler adds the span's IDs and the context's attributes; the
// record's own attributes win over the context's.
func TestLogHandlerAddsTraceAndContext(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	if Logger(log) != log {
		t.Fatal("wrapping twice must not nest handlers")
	}
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	ctx = WithLogAttrs(ctx, slog.String("tenant", "contoso"), slog.String("user", "alice"))
	ctx = WithLogAttrs(ctx, slog.String("user", "bob"))
	log.InfoContext(ctx, "hello", "tenant", "own")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	if m["trace_id"] != sc.TraceID().String() || m["span_id"] != sc.SpanID().String() || m["tenant"] != "own" || m["user"] != "bob" {
		t.Fatalf("log line %v", m)
	}
	buf.Reset()
	log.Info("no context")
	if bytes.Contains(buf.Bytes(), []byte("trace_id")) {
		t.Fatalf("a line without a span has a trace_id: %s", buf.Bytes())
	}
}
