package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmms/mms/internal/migration"
)

// ScopeName is the instrumentation scope of the project's own spans and
// metrics.
const ScopeName = "github.com/openmms/mms"

// Span and log attribute keys. Values are identifiers only: never a token,
// a secret, a meeting body or a subject.
const (
	AttrTenant        = "mms.tenant"
	AttrUser          = "mms.user"
	AttrCorrelationID = "mms.correlation_id"
	AttrMeetingID     = "mms.meeting.id"
	AttrMeetingIDs    = "mms.meeting.ids"
	AttrOutcome       = "mms.meeting.outcome"
	AttrReason        = "mms.meeting.reason"
	AttrBackend       = "mms.backend"
)

// Metric names (OpenTelemetry names; Prometheus shows dots as underscores
// and adds _total to counters).
const (
	MetricTransitions   = "mms.migration.transitions"
	MetricMigrations    = "mms.migrations"
	MetricPending       = "mms.migrations.pending"
	MetricMeetings      = "mms.meetings.processed"
	MetricNotifications = "mms.notifications.sent"
	MetricRetries       = "mms.activity.retries"
	MetricThrottled     = "mms.backend.throttled.waits"
	MetricThrottledSec  = "mms.backend.throttled.wait.duration"
	MetricThrottled429  = "mms.backend.throttled.responses"
)

// Instruments are the project's tracer and counters. A nil *Instruments
// records nothing, so tests and callers that do not care may leave it out.
type Instruments struct {
	Tracer        trace.Tracer
	transitions   metric.Int64Counter
	meetings      metric.Int64Counter
	notifications metric.Int64Counter
	retries       metric.Int64Counter
}

// NewInstruments creates the instruments on the providers (nil: the globals).
func NewInstruments(tp trace.TracerProvider, mp metric.MeterProvider) *Instruments {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	in := &Instruments{Tracer: tp.Tracer(ScopeName)}
	// Errors only come from invalid names; the instrument returned is then
	// a no-op, which is the right fallback for telemetry.
	in.transitions, _ = m.Int64Counter(MetricTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Migration records moving from one state to another (from=none: created)."))
	in.meetings, _ = m.Int64Counter(MetricMeetings, metric.WithUnit("{meeting}"),
		metric.WithDescription("Meetings processed, by outcome and, for skipped and failed ones, reason category."))
	in.notifications, _ = m.Int64Counter(MetricNotifications, metric.WithUnit("{notification}"),
		metric.WithDescription("Meeting updates sent to attendees."))
	in.retries, _ = m.Int64Counter(MetricRetries, metric.WithUnit("{attempt}"),
		metric.WithDescription("Activity attempts after the first, by activity type."))
	return in
}

// Transition counts a migration record's state change and logs it: one
// line per transition, at warn when it ends Failed.
func (in *Instruments) Transition(ctx context.Context, log *slog.Logger, tenant, user, correlationID string,
	fromState, toState migration.State, message string) {
	from, to := string(fromState), string(toState)
	if from == "" {
		from = "none"
	}
	if in != nil {
		in.transitions.Add(ctx, 1, metric.WithAttributes(attribute.String("from", from), attribute.String("to", to)))
	}
	trace.SpanFromContext(ctx).AddEvent("migration state", trace.WithAttributes(
		attribute.String("from", from), attribute.String("to", to)))
	if log == nil {
		return
	}
	level := slog.LevelInfo
	if toState == migration.StateFailed {
		level = slog.LevelWarn
	}
	args := []any{"from", from, "to", to, "tenant", tenant, "user", user, "correlationId", correlationID}
	if message != "" {
		args = append(args, "message", message)
	}
	log.Log(ctx, level, "migration state", args...)
}

// Meeting counts one meeting's outcome, labelled with its reason's
// category: a bounded set of values, never the free text of the message.
func (in *Instruments) Meeting(ctx context.Context, outcome migration.Outcome, reason migration.Reason, invites int) {
	if in == nil {
		return
	}
	in.meetings.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", string(outcome)),
		attribute.String("reason", reason.Category())))
	if invites > 0 {
		in.notifications.Add(ctx, int64(invites))
	}
}

// ActivityRetry counts an activity attempt after the first.
func (in *Instruments) ActivityRetry(ctx context.Context, activityType string) {
	if in == nil {
		return
	}
	in.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("activity", activityType)))
}

// StartSpan starts a span of the project's tracer (a no-op span on nil).
func (in *Instruments) StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if in == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	return in.Tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// StateCounter is the store's side of the store gauges: the number of
// migration records in each state, dry runs left out, every state present
// even at zero (so that a state emptied since the last collection reads 0,
// not its last value). *store.DB is one: the SQL stays in the store.
type StateCounter interface {
	StateCounts(ctx context.Context) (map[migration.State]int, error)
}

// RegisterStoreGauges reports the migration records by state (dry runs
// left out) and the queue depth (records still Pending), read from the
// service database at each collection. The API process registers them.
func RegisterStoreGauges(mp metric.MeterProvider, db StateCounter) error {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	byState, err := m.Int64ObservableGauge(MetricMigrations, metric.WithUnit("{migration}"),
		metric.WithDescription("Migration records by state (dry runs excluded)."))
	if err != nil {
		return err
	}
	pending, err := m.Int64ObservableGauge(MetricPending, metric.WithUnit("{migration}"),
		metric.WithDescription("Queue depth: migration records waiting to start (state Pending)."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		counts, err := db.StateCounts(ctx)
		if err != nil {
			return err
		}
		for st, n := range counts {
			o.ObserveInt64(byState, int64(n), metric.WithAttributes(attribute.String("state", string(st))))
		}
		o.ObserveInt64(pending, int64(counts[migration.StatePending]))
		return nil
	}, byState, pending)
	return err
}
