// Package telemetry configures OpenTelemetry from the standard OTEL_*
// environment variables. With none set it installs nothing but the W3C
// propagators, so instrumentation costs almost nothing and exports nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Setup installs global tracer and meter providers as the environment asks:
// OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER ("otlp" or "none"; "otlp" is
// implied when an OTEL_EXPORTER_OTLP_*ENDPOINT is set),
// OTEL_EXPORTER_OTLP_PROTOCOL ("http/protobuf", the default, or "grpc"),
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The returned function
// flushes and stops the exporters.
func Setup(ctx context.Context, defaultService string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	var stops []func(context.Context) error
	shutdown = func(ctx context.Context) error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s(ctx))
		}
		return errors.Join(errs...)
	}
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		os.Setenv("OTEL_SERVICE_NAME", defaultService) // read by resource.Default below
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceNamespace("mms")))
	if err != nil {
		return shutdown, err
	}
	grpcProto := func(signal string) bool {
		p := os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
		if p == "" {
			p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		return p == "grpc"
	}
	tracesOn, err := enabled("TRACES")
	if err != nil {
		return shutdown, err
	}
	metricsOn, err := enabled("METRICS")
	if err != nil {
		return shutdown, err
	}
	if tracesOn {
		var exp sdktrace.SpanExporter
		if grpcProto("TRACES") {
			exp, err = otlptracegrpc.New(ctx)
		} else {
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return shutdown, fmt.Errorf("otlp trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		otel.SetTracerProvider(tp)
		stops = append(stops, tp.Shutdown)
	}
	if metricsOn {
		var exp sdkmetric.Exporter
		if grpcProto("METRICS") {
			exp, err = otlpmetricgrpc.New(ctx)
		} else {
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			return shutdown, fmt.Errorf("otlp metric exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		otel.SetMeterProvider(mp)
		stops = append(stops, mp.Shutdown)
	}
	return shutdown, nil
}

// enabled reports whether a signal ("TRACES", "METRICS") should be exported.
func enabled(signal string) (bool, error) {
	name := "OTEL_" + signal + "_EXPORTER"
	switch v := strings.ToLower(os.Getenv(name)); v {
	case "otlp":
		return true, nil
	case "none":
		return false, nil
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("%s=%s is not supported: use otlp or none", name, v)
	}
}
