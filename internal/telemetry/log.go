package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

type logAttrsKey struct{}

// WithLogAttrs returns a context whose log lines (through a LogHandler)
// carry attrs: the tenant, user and correlation ID of the work at hand.
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	merged := make([]slog.Attr, 0, len(prev)+len(attrs))
	for _, a := range prev {
		replaced := false
		for _, b := range attrs {
			replaced = replaced || a.Key == b.Key
		}
		if !replaced {
			merged = append(merged, a)
		}
	}
	return context.WithValue(ctx, logAttrsKey{}, append(merged, attrs...))
}

// LogHandler adds the trace_id and span_id of the context's span, and the
// context's WithLogAttrs, to every record.
type LogHandler struct{ slog.Handler }

// NewLogHandler wraps h; wrapping a LogHandler again returns it.
func NewLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(LogHandler); ok {
		return h
	}
	return LogHandler{h}
}

// Logger wraps l's handler in a LogHandler.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(LogHandler); ok {
		return l
	}
	return slog.New(LogHandler{l.Handler()})
}

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
		if attrs, ok := ctx.Value(logAttrsKey{}).([]slog.Attr); ok && len(attrs) > 0 {
			have := map[string]bool{}
			r.Attrs(func(a slog.Attr) bool { have[a.Key] = true; return true })
			r = r.Clone()
			for _, a := range attrs {
				if !have[a.Key] { // the record's own value wins
					r.AddAttrs(a)
				}
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler { return LogHandler{h.Handler.WithGroup(name)} }
