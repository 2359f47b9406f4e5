package devstack

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// quietHandler passes records through until shutdown starts, then only
// errors: while the server and the worker stop, their pollers and internal
// clients report the closing connections they are meant to close.
type quietHandler struct {
	slog.Handler
	stopping *atomic.Bool
}

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.stopping.Load() && l < slog.LevelError {
		return false
	}
	return h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as), h.stopping}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name), h.stopping}
}
