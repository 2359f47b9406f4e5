package activities

import (
	"context"
	"log/slog"
	"strings"

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
		a.Instruments.Meeting(ctx, r.Outcome, ReasonCategory(r.Outcome, r.Reason), r.InvitesSent)
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.StringSlice(telemetry.AttrMeetingIDs, ids))
}

// reasonCategories map the start of a skip or failure reason to a
// category: metrics get a bounded set of values, never the free text.
var reasonCategories = []struct{ prefix, category string }{
	{"not organizer", "not-organizer"},
	{"past meeting", "past"},
	{"not created as an online meeting", "not-online"},
	{"third-party", "third-party"},
	{"source meeting type not selected", "source-not-selected"},
	{"deleted", "deleted"},
	{"still changing", "conflict"},
}

// ReasonCategory is the metrics label of a meeting's reason: "" for
// updated and up-to-date meetings, a fixed category otherwise.
func ReasonCategory(outcome, reason string) string {
	switch outcome {
	case store.OutcomeSkipped, store.OutcomeFailed:
	default:
		return ""
	}
	for _, c := range reasonCategories {
		if strings.HasPrefix(reason, c.prefix) {
			return c.category
		}
	}
	switch {
	case strings.Contains(reason, "participants, more than the limit"):
		return "participant-limit"
	case strings.Contains(reason, "not supported") || strings.Contains(reason, "unsupported"):
		return "unsupported"
	case outcome == store.OutcomeSkipped:
		return "block-not-replaced"
	}
	return "error"
}
