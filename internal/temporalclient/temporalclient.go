// Package temporalclient dials Temporal the same way for every mms process:
// connection settings from the standard TEMPORAL_* environment variables
// (and the Temporal CLI's config file), OpenTelemetry tracing and metrics,
// and the project's search attributes.
package temporalclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdkotel "go.temporal.io/sdk/contrib/opentelemetry"
	sdklog "go.temporal.io/sdk/log"

	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/workflows"
)

// Config overrides what the environment says; empty fields keep it.
type Config struct {
	Address   string
	Namespace string
	// RegisterSearchAttributes adds the workflow's search attributes to the
	// namespace when missing (workers do; needs operator rights).
	RegisterSearchAttributes bool
	// TLS, when set, replaces the TLS settings of the environment: a
	// client in the process of the embedded server it dials (`mms dev`).
	TLS *tls.Config
	// TracerProvider and MeterProvider for the SDK's tracing interceptor
	// and metrics; nil takes the global ones.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Dial connects to Temporal. TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_* and TEMPORAL_PROFILE apply as in the CLI.
func Dial(ctx context.Context, cfg Config, logger *slog.Logger) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal client configuration: %w", err)
	}
	if cfg.Address != "" {
		opts.HostPort = cfg.Address
	}
	if cfg.Namespace != "" {
		opts.Namespace = cfg.Namespace
	}
	if cfg.TLS != nil {
		opts.ConnectionOptions.TLS = cfg.TLS
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	// The interceptor continues the caller's trace (W3C trace context in
	// the Temporal headers) into workflows and activities; it is
	// replay-safe. The SDK's own metrics (temporal_*) go to the same meter
	// provider as the project's.
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	tracing, err := sdkotel.NewTracingInterceptor(sdkotel.TracerOptions{Tracer: tp.Tracer("mms/temporal"),
		TextMapPropagator: telemetry.Propagator})
	if err != nil {
		return nil, err
	}
	opts.Interceptors = append(opts.Interceptors, tracing)
	opts.MetricsHandler = sdkotel.NewMetricsHandler(sdkotel.MetricsHandlerOptions{Meter: mp.Meter("mms/temporal")})
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	if cfg.RegisterSearchAttributes {
		if err := EnsureSearchAttributes(ctx, c, opts.Namespace); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// SearchAttributes are the custom search attributes the workflow uses.
var SearchAttributes = map[string]enums.IndexedValueType{
	workflows.SearchAttrTenant: enums.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrUser:   enums.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrState:  enums.INDEXED_VALUE_TYPE_KEYWORD,
}

// EnsureSearchAttributes registers missing search attributes. Against a
// cluster where this client may not administer the namespace, the error
// says what an operator must run.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(SearchAttributes)) {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = SearchAttributes[name]
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("register search attributes %v in namespace %s (an operator can run: "+
			"temporal operator search-attribute create --namespace %s --name <name> --type Keyword): %w",
			slices.Sorted(maps.Keys(missing)), namespace, namespace, err)
	}
	return nil
}
