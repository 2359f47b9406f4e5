package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestSetupFromEnvironment(t *testing.T) {
	for _, v := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_SERVICE_NAME"} {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	tel, err := Setup(ctx, "mms-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("no OTEL_* variables: no SDK tracer provider should be installed")
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	if _, err := Setup(ctx, "mms-test"); err == nil {
		t.Fatal("an unsupported exporter must be an error, not silently ignored")
	}

	// An endpoint alone turns OTLP on; exporters connect lazily, so nothing
	// needs to listen for Setup to succeed.
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	tel, err = Setup(ctx, "mms-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); !sdk {
		t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT set: want an SDK tracer provider")
	}
	sctx, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	_ = tel.Shutdown(sctx) // nothing listens on :1; only the provider's presence matters here
}
