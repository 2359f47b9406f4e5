// Package telemetry configures OpenTelemetry for every mms process: traces
// and metrics by OTLP when the standard OTEL_* environment variables ask
// for them, metrics always readable in the Prometheus text format (served
// at /metrics), the W3C propagators, and the project's own instruments
// (instruments.go) and log handler (log.go).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Propagator is W3C trace context and baggage: what the API reads from a
// caller's traceparent header and what crosses into Temporal.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Telemetry is one process's providers.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Metrics serves the MeterProvider's metrics in the Prometheus text
	// format (the /metrics endpoints).
	Metrics http.Handler

	stops []func(context.Context) error
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.stops) - 1; i >= 0; i-- {
		errs = append(errs, t.stops[i](ctx))
	}
	return errors.Join(errs...)
}

// New returns providers that export nowhere but to the Prometheus handler:
// tp (nil: the global tracer provider) for traces, a new MeterProvider for
// metrics with the extra readers given. Tests use it with an in-memory
// span recorder; devstack when the caller passes nothing.
func New(tp trace.TracerProvider, res *resource.Resource, readers ...sdkmetric.Reader) (*Telemetry, error) {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(exp)}
	for _, r := range readers {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	if res != nil {
		opts = append(opts, sdkmetric.WithResource(res))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	return &Telemetry{TracerProvider: tp, MeterProvider: mp,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), stops: []func(context.Context) error{mp.Shutdown}}, nil
}

// Setup builds the process's providers as the environment asks and
// installs them (and Propagator) as the globals: OTEL_TRACES_EXPORTER /
// OTEL_METRICS_EXPORTER ("otlp" or "none"; "otlp" is implied when an
// OTEL_EXPORTER_OTLP_*ENDPOINT is set), OTEL_EXPORTER_OTLP_PROTOCOL
// ("http/protobuf", the default, or "grpc"), OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES. Metrics are always served by Telemetry.Metrics;
// with no OTEL_* variables traces go nowhere and cost almost nothing.
func Setup(ctx context.Context, defaultService string) (*Telemetry, error) {
	otel.SetTextMapPropagator(Propagator)
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		os.Setenv("OTEL_SERVICE_NAME", defaultService) // read by resource.Default below
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceNamespace("mms")))
	if err != nil {
		return nil, err
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
		return nil, err
	}
	metricsOn, err := enabled("METRICS")
	if err != nil {
		return nil, err
	}
	var tp trace.TracerProvider
	var stops []func(context.Context) error
	if tracesOn {
		var exp sdktrace.SpanExporter
		if grpcProto("TRACES") {
			exp, err = otlptracegrpc.New(ctx)
		} else {
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		sdktp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		otel.SetTracerProvider(sdktp)
		tp, stops = sdktp, append(stops, sdktp.Shutdown)
	}
	var readers []sdkmetric.Reader
	if metricsOn {
		var exp sdkmetric.Exporter
		if grpcProto("METRICS") {
			exp, err = otlpmetricgrpc.New(ctx)
		} else {
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("otlp metric exporter: %w", err)
		}
		readers = append(readers, sdkmetric.NewPeriodicReader(exp))
	}
	t, err := New(tp, res, readers...)
	if err != nil {
		return nil, err
	}
	otel.SetMeterProvider(t.MeterProvider)
	t.stops = append(stops, t.stops...)
	return t, nil
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
