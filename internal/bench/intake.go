package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

// intake: a burst of change events posted to the API by EventClients
// concurrent clients, EventBatch events per request. Every event is a
// conferenceIdChanged for one of EventUsers users: it is decided, recorded
// with the user's new profile and handed to the user's workflow (signal-with-
// start; the tenant's quiet period merges the burst into one run per user).
func (r *runner) intake(ctx context.Context) error {
	st, err := r.sandbox(ctx)
	if err != nil {
		return err
	}
	var rate, p50, p99, lost []float64
	for run := range r.o.ThroughputRuns {
		tenant := fmt.Sprintf("bench-in-%d", r.next())
		users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: tenant, Users: r.o.EventUsers}, time.Now())
		if err != nil {
			return err
		}
		r.progress("intake run %d: %d events, %d clients, %d per request", run+1, r.o.Events, r.o.EventClients, r.o.EventBatch)
		n, batch := r.o.Events, r.o.EventBatch
		type req struct{ events []map[string]any }
		work := make(chan req)
		var mu sync.Mutex
		var lat []time.Duration
		var firstErr error
		var wg sync.WaitGroup
		start := time.Now()
		for range r.o.EventClients {
			wg.Go(func() {
				for q := range work {
					var body any = q.events
					if batch == 1 {
						body = q.events[0]
					}
					t0 := time.Now()
					code, raw, err := r.post(ctx, st, "/v1/tenants/"+tenant+"/events", body)
					d := time.Since(t0)
					if err == nil && code != http.StatusAccepted {
						err = fmt.Errorf("post events: %d %s", code, raw)
					}
					if err == nil {
						err = checkDecided(raw, len(q.events))
					}
					mu.Lock()
					lat = append(lat, d)
					if err != nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			})
		}
		for i := 0; i < n; i += batch {
			q := req{}
			for j := i; j < min(i+batch, n); j++ {
				q.events = append(q.events, map[string]any{"id": fmt.Sprintf("%s-%06d", tenant, j),
					"type": "conferenceIdChanged", "user": users[j%len(users)], "conferenceId": fmt.Sprintf("%09d", 100000000+j)})
			}
			work <- q
		}
		close(work)
		wg.Wait()
		took := time.Since(start)
		if firstErr != nil {
			return firstErr
		}
		missing, err := CheckEvents(ctx, st.DB, tenant, n)
		if err != nil {
			return err
		}
		slices.Sort(lat)
		rate = append(rate, float64(n)/took.Seconds())
		p50 = append(p50, ms(percentile(lat, 0.50)))
		p99 = append(p99, ms(percentile(lat, 0.99)))
		lost = append(lost, float64(missing))
	}
	unit := "request"
	if r.o.EventBatch > 1 {
		unit = fmt.Sprintf("batch of %d", r.o.EventBatch)
	}
	p := fmt.Sprintf("intake_%d_events_%d_clients", r.o.Events, r.o.EventClients)
	r.add(p+"_rate", "events/s", rate...)
	r.add(p+"_p50", "ms/"+unit, p50...)
	r.add(p+"_p99", "ms/"+unit, p99...)
	r.addTarget(p+"_lost", "events", "0", func(v float64) bool { return v == 0 }, lost...)
	return nil
}

// checkDecided reads a 202 response: one decision per event.
func checkDecided(raw []byte, n int) error {
	var resp struct {
		Results []store.Event `json:"results"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("post events: %w", err)
	}
	if len(resp.Results) != n {
		return fmt.Errorf("post events: %d decisions for %d events", len(resp.Results), n)
	}
	for _, e := range resp.Results {
		if e.Reason == "" {
			return fmt.Errorf("event %s: no decision", e.ID)
		}
	}
	return nil
}

// CheckEvents counts in the store the tenant's events that were not
// recorded, decided and (when triggering) linked to their migration, out of
// want events with distinct IDs. It returns that count, and an error when it
// is not zero.
func CheckEvents(ctx context.Context, db *store.DB, tenant string, want int) (int, error) {
	evs, err := db.Events(ctx, tenant, "", 0)
	if err != nil {
		return 0, err
	}
	rows, distinct, undecided, unlinked := len(evs), map[string]bool{}, 0, 0
	for _, ev := range evs {
		distinct[ev.ID] = true
		if ev.Reason == "" {
			undecided++
		}
		if ev.Triggered && ev.CorrelationID == "" {
			unlinked++
		}
	}
	ids := len(distinct)
	lost := max(0, want-ids) + undecided + unlinked
	if lost > 0 || rows != want {
		return max(lost, 1), fmt.Errorf("events of %s: %d rows, %d distinct of %d posted, %d undecided, %d triggering without their migration",
			tenant, rows, ids, want, undecided, unlinked)
	}
	return 0, nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
