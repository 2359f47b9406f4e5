package activities

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// observe tags the activity's span (started by the Temporal tracing
// interceptor) and its log lines with the run's identity.
func observe(ctx context.Context, tenant, user, correlationID string) context.Context {
	attrs := []attribute.KeyValue{attribute.String(telemetry.AttrTenant, tenant), attribute.String(telemetry.AttrUser, user)}
	logAttrs := []slog.Attr{slog.String("tenant", tenant), slog.String("user", user)}
	if correlationID != "" {
		attrs = append(attrs, attribute.String(telemetry.AttrCorrelationID, correlationID))
		logAttrs = append(logAttrs, slog.String("correlationId", correlationID))
	}
	trace.SpanFromContext(ctx).SetAttributes(attrs...)
	return telemetry.WithLogAttrs(ctx, logAttrs...)
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// recordOutcomes counts the meetings of a batch that was just recorded.
func (a *Activities) recordOutcomes(ctx context.Context, results []store.MeetingResult) {
	ids := make([]string, 0, len(results))
	for _, r := range results {
		ids = append(ids, r.MeetingID)
		a.Instruments.Meeting(ctx, r.Outcome, r.ReasonCode, r.InvitesSent)
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.StringSlice(telemetry.AttrMeetingIDs, ids))
}
