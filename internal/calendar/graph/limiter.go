package graph

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openmms/mms/internal/calendar"
)

// ErrThrottled: Graph (or the client's own per-mailbox limits) asks for a
// wait longer than the call's wait budget. The caller should retry later
// rather than block; an activity fails and is retried by Temporal.
var ErrThrottled = errors.New("graph: throttled")

// window is the length of Outlook's request budget window.
const window = 10 * time.Minute

// hookInterval is how often a waiting call runs the context's wait hook.
const hookInterval = time.Second

// ContextWithWaitHook is calendar.ContextWithWaitHook: the client calls the
// hook when it starts waiting on a limit, a Retry-After or a backoff, and at
// least every second while it waits (an activity heartbeats from it).
func ContextWithWaitHook(ctx context.Context, fn func()) context.Context {
	return calendar.ContextWithWaitHook(ctx, fn)
}

func waitHook(ctx context.Context) func() { return calendar.WaitHook(ctx) }

// mailboxLimiter enforces one mailbox's limits for every goroutine of the
// process: a semaphore of MaxInFlightPerMailbox, an exact sliding window of
// RequestsPer10Min request start times, and a Retry-After block.
type mailboxLimiter struct {
	key       string
	sem       chan struct{}
	perWindow int

	mu           sync.Mutex
	blockedUntil time.Time
	starts       []time.Time // request start times inside the window, oldest first
	inFlight     int
	maxInFlight  int
	lastUsed     time.Time
}

func newMailboxLimiter(key string, maxInFlight, perWindow int) *mailboxLimiter {
	return &mailboxLimiter{key: key, sem: make(chan struct{}, maxInFlight), perWindow: perWindow}
}

// block makes every request to the mailbox wait until t.
func (l *mailboxLimiter) block(t time.Time) {
	l.mu.Lock()
	if t.After(l.blockedUntil) {
		l.blockedUntil = t
	}
	l.mu.Unlock()
}

// acquire waits for the mailbox to accept one more request and returns the
// function that ends it.
func (b *Backend) acquire(ctx context.Context, l *mailboxLimiter) (func(), error) {
	deadline := callDeadline(ctx)
	for {
		l.mu.Lock()
		until := l.blockedUntil
		l.mu.Unlock()
		if b.now().Before(until) {
			if err := b.waitUntil(ctx, until, deadline, "mailbox "+l.key+" blocked by Retry-After"); err != nil {
				return nil, err
			}
			b.countThrottledWait()
			continue
		}
		if err := b.takeSlot(ctx, l, deadline); err != nil {
			return nil, err
		}
		l.mu.Lock()
		now := b.now()
		if now.Before(l.blockedUntil) { // a 429 arrived while we queued
			l.mu.Unlock()
			<-l.sem
			continue
		}
		i := 0
		for i < len(l.starts) && !l.starts[i].After(now.Add(-window)) {
			i++
		}
		l.starts = l.starts[i:]
		if len(l.starts) >= l.perWindow {
			until := l.starts[len(l.starts)-l.perWindow].Add(window)
			l.mu.Unlock()
			<-l.sem
			if err := b.waitUntil(ctx, until, deadline, fmt.Sprintf("mailbox %s used its %d requests per 10 minutes", l.key, l.perWindow)); err != nil {
				return nil, err
			}
			b.countThrottledWait()
			continue
		}
		l.starts = append(l.starts, now)
		l.inFlight++
		l.lastUsed = now
		if l.inFlight > l.maxInFlight {
			l.maxInFlight = l.inFlight
		}
		l.mu.Unlock()
		var once sync.Once
		return func() {
			once.Do(func() {
				l.mu.Lock()
				l.inFlight--
				l.mu.Unlock()
				<-l.sem
			})
		}, nil
	}
}

// takeSlot waits for a place among the mailbox's concurrent requests.
func (b *Backend) takeSlot(ctx context.Context, l *mailboxLimiter, deadline time.Time) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	default:
	}
	hook := waitHook(ctx)
	hook()
	tick := time.NewTicker(hookInterval)
	defer tick.Stop()
	budget := time.NewTimer(deadline.Sub(b.now()))
	defer budget.Stop()
	for {
		select {
		case l.sem <- struct{}{}:
			return nil
		case <-tick.C:
			hook()
		case <-budget.C:
			return fmt.Errorf("%w: %d requests to mailbox %s already in flight for the whole wait budget", ErrThrottled, cap(l.sem), l.key)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitUntil sleeps until t, running the wait hook, unless t lies beyond the
// call's wait budget (ErrThrottled at once) or ctx ends.
func (b *Backend) waitUntil(ctx context.Context, t, deadline time.Time, why string) error {
	d := t.Sub(b.now())
	if d <= 0 {
		return nil
	}
	if t.After(deadline) {
		return fmt.Errorf("%w: %s until %s, beyond the wait budget", ErrThrottled, why, t.UTC().Format(time.RFC3339))
	}
	b.log.DebugContext(ctx, "graph: waiting", "reason", why, "seconds", d.Seconds())
	start := time.Now()
	if why != "backoff" {
		defer func() { b.addThrottledSeconds(time.Since(start)) }()
	}
	hook := waitHook(ctx)
	hook()
	tick := time.NewTicker(hookInterval)
	defer tick.Stop()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-tick.C:
			hook()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type deadlineKey struct{}

// withCallDeadline starts a public call's wait budget unless an enclosing
// call already did.
func (b *Backend) withCallDeadline(ctx context.Context) context.Context {
	if _, ok := ctx.Value(deadlineKey{}).(time.Time); ok {
		return ctx
	}
	return context.WithValue(ctx, deadlineKey{}, b.now().Add(b.waitBudget))
}

func callDeadline(ctx context.Context) time.Time {
	if t, ok := ctx.Value(deadlineKey{}).(time.Time); ok {
		return t
	}
	return time.Now().Add(DefaultWaitBudget)
}
