package embeddedtemporal

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// levelHandler drops records below min before they reach the caller's handler. min is a
// LevelVar so that Stop can silence the server's shutdown noise.
type levelHandler struct {
	min   slog.Leveler
	inner slog.Handler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.inner.Enabled(ctx, l)
}

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min.Level() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{min: h.min, inner: h.inner.WithAttrs(attrs)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{min: h.min, inner: h.inner.WithGroup(name)}
}

// demotedWarnings are server warnings that are expected in this embedded, single-process
// configuration and carry no information for the developer: they are logged at Info instead
// of Warn so that the default (Warn) level stays quiet.
var demotedWarnings = []string{
	// We do not open the frontend HTTP API port (Nexus over HTTP); the gRPC API is enough.
	"HTTP API port has not been set",
}

// serverLogger adapts the Temporal server's log.Logger to a *slog.Logger.
//
// DPanic, Panic and Fatal are logged at Error and never panic or exit: the embedding process
// decides what to do (the same choice as the Temporal CLI's dev server). The first such
// message is remembered so that Start can include it in the error it returns.
type serverLogger struct {
	l     *slog.Logger
	fatal *atomic.Pointer[string]
}

var (
	_ log.Logger     = serverLogger{}
	_ log.WithLogger = serverLogger{}
	// The server's internal SDK client and a few components ask for a *slog.Logger.
	_ log.SLogWrapper = serverLogger{}
)

func newServerLogger(l *slog.Logger) serverLogger {
	return serverLogger{l: l, fatal: new(atomic.Pointer[string])}
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

func (s serverLogger) Warn(msg string, tags ...tag.Tag) {
	for _, p := range demotedWarnings {
		if strings.HasPrefix(msg, p) {
			s.log(slog.LevelInfo, msg, tags)
			return
		}
	}
	s.log(slog.LevelWarn, msg, tags)
}

func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.severe("dpanic", msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.severe("panic", msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.severe("fatal", msg, tags) }

func (s serverLogger) severe(kind, msg string, tags []tag.Tag) {
	full := msg
	for _, t := range tags {
		if t.Key() == "error" {
			if v := t.Value(); v != nil {
				full += ": " + toString(v)
			}
		}
	}
	s.fatal.CompareAndSwap(nil, &full)
	all := make([]tag.Tag, 0, len(tags)+1)
	all = append(all, tags...)
	s.log(slog.LevelError, msg, append(all, tag.NewStringTag("severity", kind)))
}

// firstFatal returns the first DPanic/Panic/Fatal message logged by the server, or "".
func (s serverLogger) firstFatal() string {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	return ""
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}

func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	args := make([]any, 0, len(tags))
	for _, t := range tags {
		args = append(args, slog.Any(t.Key(), t.Value()))
	}
	return serverLogger{l: s.l.With(args...), fatal: s.fatal}
}

func (s serverLogger) SLog() *slog.Logger { return s.l }

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	case interface{ String() string }:
		return x.String()
	default:
		return slog.AnyValue(v).String()
	}
}

// silenced is above every level the server logs at: Stop sets it, because while the services
// shut down one after the other, the ones still running log connection errors, "Failed to poll
// for task" and canceled operations at Warn and Error, none of which mean anything.
const silenced = slog.Level(100)
