package telemetry

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/openmms/mms/internal/migration"
)

type counts map[migration.State]int

func (c counts) StateCounts(context.Context) (map[migration.State]int, error) { return c, nil }

// The store gauges report what the store counts: every state, and the
// Pending ones again as the queue depth.
func TestStoreGaugesReportTheStoreCounts(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := RegisterStoreGauges(mp, counts{"Pending": 3, "InProgress": 1, "Succeeded": 0, "Failed": 2}); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				key := m.Name
				if st, ok := p.Attributes.Value("state"); ok {
					key += "/" + st.AsString()
				}
				got[key] = p.Value
			}
		}
	}
	want := map[string]int64{MetricPending: 3, MetricMigrations + "/Pending": 3, MetricMigrations + "/InProgress": 1,
		MetricMigrations + "/Succeeded": 0, MetricMigrations + "/Failed": 2}
	if len(got) != len(want) {
		t.Fatalf("gauges = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("gauges = %v, want %v", got, want)
		}
	}
}
