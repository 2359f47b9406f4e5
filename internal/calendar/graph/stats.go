package graph

import (
	"maps"
	"sync"
	"time"
)

// Stats are the Backend's counters since it was created.
type Stats struct {
	// RequestsByStatus counts Graph requests by HTTP status; 0 counts
	// requests that got no answer (network errors).
	RequestsByStatus map[int]int64
	// TokenRequests counts client-credentials grants.
	TokenRequests int64
	// Retries counts requests sent again after a backoff.
	Retries int64
	// BackoffWaits counts exponential backoff sleeps.
	BackoffWaits int64
	// ThrottledWaits counts waits on a Retry-After block or on the
	// 10-minute request budget; ThrottledWaitSeconds is their total length.
	ThrottledWaits       int64
	ThrottledWaitSeconds float64
	// MaxInFlight is the most concurrent requests seen per mailbox
	// ("mmsTenant/mailbox").
	MaxInFlight map[string]int
}

// Requests is the total number of Graph requests sent.
func (s Stats) Requests() int64 {
	var n int64
	for _, c := range s.RequestsByStatus {
		n += c
	}
	return n
}

// Stats returns a copy of the counters.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	lims := make([]*mailboxLimiter, 0, len(b.limiters))
	for _, l := range b.limiters {
		lims = append(lims, l)
	}
	b.mu.Unlock()
	for _, l := range lims {
		b.recordMaxInFlight(l)
	}
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	s := b.stats
	s.RequestsByStatus = maps.Clone(b.stats.RequestsByStatus)
	s.MaxInFlight = maps.Clone(b.stats.MaxInFlight)
	return s
}

func (b *Backend) countRequest(status int) {
	b.statsMu.Lock()
	b.stats.RequestsByStatus[status]++
	b.statsMu.Unlock()
}

func (b *Backend) countTokenRequest() {
	b.statsMu.Lock()
	b.stats.TokenRequests++
	b.statsMu.Unlock()
}

func (b *Backend) countThrottledWait() {
	b.statsMu.Lock()
	b.stats.ThrottledWaits++
	b.statsMu.Unlock()
}

func (b *Backend) addThrottledSeconds(d time.Duration) {
	b.statsMu.Lock()
	b.stats.ThrottledWaitSeconds += d.Seconds()
	b.statsMu.Unlock()
}

func (b *Backend) recordMaxInFlight(l *mailboxLimiter) {
	l.mu.Lock()
	m := l.maxInFlight
	l.mu.Unlock()
	b.recordMax(l.key, m)
}

func (b *Backend) recordMax(key string, m int) {
	b.statsMu.Lock()
	if m > b.stats.MaxInFlight[key] {
		b.stats.MaxInFlight[key] = m
	}
	b.statsMu.Unlock()
}

// readCache remembers, per item, what the last read or write saw at an
// etag. An etag names one version of an item, and the update key is part of
// that version, so "at etag E the item carried key K" stays true forever:
// UpdateMeeting uses it to recognise a replay without another GET.
type readCache struct {
	mu    sync.Mutex
	items map[string]cachedItem
}

type cachedItem struct {
	etag      string
	updateKey string
	invitees  int
	subject   string
	start     time.Time
	end       time.Time
}

const readCacheMax = 100000

func (c *readCache) get(key string) (cachedItem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	return it, ok
}

func (c *readCache) put(key string, it cachedItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil || len(c.items) >= readCacheMax {
		c.items = map[string]cachedItem{} // a miss only costs a GET
	}
	c.items[key] = it
}
