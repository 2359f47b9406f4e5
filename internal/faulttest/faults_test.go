package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"
)

// size is every scenario's migration: four organizers with 500 future
// meetings each (2,000 selected meetings, 4,000 attendee notifications),
// plus a fifth organizer of the same tenant with 500 that is never
// migrated; Graph answers each call after 100 ms with its per-mailbox limit
// of 4 concurrent requests.
var size = Size{Users: 4, Meetings: 500, Latency: 100 * time.Millisecond}

// kill SIGKILLs a container, as a crashed machine would end it.
func (c *cluster) kill(name string, id string) {
	c.t.Helper()
	if err := c.pool.Client.KillContainer(dc.KillContainerOptions{ID: id, Signal: dc.SIGKILL}); err != nil {
		c.t.Fatalf("kill %s: %v", name, err)
	}
	// Wait for the container to be gone before starting it again.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ct, err := c.pool.Client.InspectContainer(id)
		if err == nil && !ct.State.Running {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still running after SIGKILL", name)
		}
	}
}

func (c *cluster) start(name, id string) {
	c.t.Helper()
	if err := c.pool.Client.StartContainer(id, nil); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
}

// TestWorkersSIGKILLed: one of the three workers is SIGKILLed every few
// seconds, each in turn, and started again a second later, for as long as
// the migration runs; pages in flight on the killed worker are retried
// after their heartbeat timeout on another worker.
func TestWorkersSIGKILLed(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	c.waitWrites(c.total()/10, 2*time.Minute)
	kills := 0
	for i := 0; ; i++ {
		if w := c.writes(); w >= c.total()*9/10 || kills >= 4 {
			break
		}
		w := c.workers[i%len(c.workers)]
		c.kill(w.Container.Name, w.Container.ID)
		kills++
		t.Logf("SIGKILL #%d %s at %d/%d meetings written", kills, w.Container.Name, c.writes(), c.total())
		time.Sleep(time.Second)
		c.start(w.Container.Name, w.Container.ID)
		time.Sleep(4 * time.Second)
	}
	if kills < 2 {
		t.Fatalf("only %d kills landed before the migration was 90%% done: nothing much tested", kills)
	}
	c.verify(kills)
}

// TestTemporalRestarted: the Temporal container is stopped (SIGTERM, then
// SIGKILL after 5 s) mid-migration, kept down 10 s, and started again on
// the same data directory; workers and API reconnect on their own.
func TestTemporalRestarted(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	at := c.waitWrites(c.total()/5, 2*time.Minute)
	if err := c.pool.Client.StopContainer(c.temporal.Container.ID, 5); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	t.Logf("temporal stopped at %d/%d meetings written", at, c.total())
	time.Sleep(10 * time.Second)
	during := c.writes()
	c.start("temporal", c.temporal.Container.ID)
	c.waitLog(c.temporal, "temporal ready", 2, time.Minute)
	t.Logf("temporal back at %d/%d meetings written", c.writes(), c.total())
	if during >= c.total() {
		t.Fatalf("the migration finished while Temporal was down: nothing tested")
	}
	c.verify(1)
}

// TestGraphFaults: Graph answers 20% of calls with a random 500/503 (no
// Retry-After) for the whole run, and each mailbox gets a storm of 12
// consecutive 429s with Retry-After: 1 mid-migration. Requests the emulator
// saw arrive while a Retry-After it had announced for the mailbox was
// running are counted (requests already on the wire when the 429 came back
// arrive early through no fault of the client; they are reported, not failed).
func TestGraphFaults(t *testing.T) {
	sz := size
	sz.FailureRate = 0.2
	c := newCluster(t, sz)
	c.startAll()
	c.waitWrites(c.total()/4, 2*time.Minute)
	for _, u := range c.selected {
		c.emu.FailNext(u, 12, http.StatusTooManyRequests, time.Second)
	}
	f := c.verify(0)
	random, injected, early := 0, 0, 0
	for _, u := range c.selected {
		for _, r := range c.emu.Requests(u) {
			switch r.Reason {
			case "random":
				random++
			case "injected":
				injected++
			}
		}
		early += c.emu.EarlyRequests(u)
	}
	t.Logf("FIGURES graph random5xx=%d injected429=%d early=%d meetings=%d duplicates=%d duration=%s",
		random, injected, early, f.Meetings, f.Duplicates, f.Duration.Round(100*time.Millisecond))
	if injected != 12*len(c.selected) {
		t.Errorf("%d injected 429s answered, want %d", injected, 12*len(c.selected))
	}
	if random == 0 {
		t.Error("no random 5xx answered: the failure rate did not apply")
	}
}

// TestWorkerPartitioned: worker1 is disconnected from the network (from
// Temporal and Graph alike) for 30 s mid-migration, longer than the page
// activity's 30 s heartbeat timeout, then reconnected. Its pages in flight
// time out and run again on another worker (or on itself once back); its own late
// attempts must not write or notify a second time.
func TestWorkerPartitioned(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	at := c.waitWrites(c.total()/10, 2*time.Minute)
	w := c.workers[0]
	if err := w.DisconnectFromNetwork(c.net); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	t.Logf("worker1 disconnected at %d/%d meetings written", at, c.total())
	time.Sleep(30 * time.Second)
	during := c.writes()
	if err := w.ConnectToNetwork(c.net); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	t.Logf("worker1 reconnected at %d/%d meetings written", during, c.total())
	if during >= c.total() {
		t.Fatal("the migration finished while worker1 was cut off: nothing tested")
	}
	c.verify(1)
}

// newTargetID is the conference ID the triggering events of
// TestAPIRestartedDuringTriggers give the organizers: their meetings must
// end up showing it.
const newTargetID = "400500600"

// burst is the upstream side of TestAPIRestartedDuringTriggers: clients
// posting change events, each with a unique id, retrying a failed or
// refused POST with the same body until it is accepted.
type burst struct {
	c    *cluster
	url  atomic.Pointer[string] // the API's base URL; its port changes on restart
	stop chan struct{}          // closed: post no new events

	mu        sync.Mutex
	posted    map[string]string // event id -> the user it concerns
	triggers  map[string]string // triggering event id -> organizer
	requests  int               // POSTs accepted
	retries   int               // POSTs that failed or were refused and were sent again
	trigTries map[string]int    // attempts of the triggering POST, by organizer
}

// post sends one body until it is accepted (202) or the bounded wait is
// over; transport errors, timeouts and 5xx are retried with the same body.
func (b *burst) post(ctx context.Context, body []byte, events int, within time.Duration) (attempts int, ok bool) {
	cl := http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(within)
	for {
		attempts++
		req, _ := http.NewRequestWithContext(ctx, "POST", *b.url.Load()+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+b.c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := cl.Do(req)
		code, msg := 0, ""
		if err != nil {
			msg = err.Error()
		} else {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code, msg = resp.StatusCode, string(raw)
		}
		if code == http.StatusAccepted {
			var out struct {
				Results []struct{ ID string } `json:"results"`
			}
			if err := json.Unmarshal([]byte(msg), &out); err != nil || len(out.Results) != events {
				b.c.t.Errorf("POST events: %d results for %d events (%v): %.300s", len(out.Results), events, err, msg)
			}
			b.mu.Lock()
			b.requests++
			b.retries += attempts - 1
			b.mu.Unlock()
			return attempts, true
		}
		if ctx.Err() != nil {
			return attempts, false
		}
		if code != 0 && code < 500 {
			b.c.t.Errorf("POST events refused for good: %d %.300s", code, msg)
			return attempts, false
		}
		if time.Now().After(deadline) {
			b.c.t.Errorf("POST events not accepted within %s (%d attempts): %d %.300s", within, attempts, code, msg)
			return attempts, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// send posts events (a batch, or the one event alone when single) until
// accepted, then records them as posted.
func (b *burst) send(ctx context.Context, evs []map[string]any, single bool) bool {
	var body []byte
	if single {
		body, _ = json.Marshal(evs[0])
	} else {
		body, _ = json.Marshal(evs)
	}
	attempts, ok := b.post(ctx, body, len(evs), 2*time.Minute)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range evs {
		id, user := e["id"].(string), e["user"].(string)
		b.posted[id] = user
		if e["type"] == "conferenceIdChanged" {
			b.triggers[id], b.trigTries[user] = user, attempts
		}
	}
	return true
}

// trigger posts organizer g's conferenceIdChanged, which starts its
// migration.
func (b *burst) trigger(ctx context.Context, g int) {
	b.send(ctx, []map[string]any{{"id": fmt.Sprintf("ft-%s-trigger-%d", b.c.id, g), "type": "conferenceIdChanged",
		"user": b.c.selected[g], "conferenceId": newTargetID}}, g%2 == 0)
}

// client g posts, until stop, single sipAddressChanged events and batches
// of 4 for every user of the tenant in turn (none triggers a migration).
func (b *burst) client(ctx context.Context, g int, users []string) {
	for n := 0; !isClosed(b.stop); n++ {
		var evs []map[string]any
		k := 1 + 3*(n%2) // alternately one event and a batch of 4
		for i := range k {
			evs = append(evs, map[string]any{"id": fmt.Sprintf("ft-%s-g%d-%d-%d", b.c.id, g, n, i), "type": "sipAddressChanged",
				"user": users[(g+n+i)%len(users)]})
		}
		if !b.send(ctx, evs, k == 1 && n%4 != 0) {
			return
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestAPIRestartedDuringTriggers: with the tenant's quiet period at 0, four
// upstream clients post a steady burst of change events, each with its own
// id (single events and batches), among them one conferenceIdChanged per
// organizer, which starts its migration at once. The first API replica is
// restarted three times during the burst: stopped gracefully, SIGKILLed,
// and `docker restart`ed. Clients retry a failed POST with the same body and
// id until it is accepted. Every event must be recorded exactly once for
// the user it concerns, every triggering one linked to its organizer's
// migration, and the migrations checked like every other scenario's.
func TestAPIRestartedDuringTriggers(t *testing.T) {
	c := newCluster(t, size)
	c.target = newTargetID
	if code, raw := c.do("PUT", "/v1/tenants/"+tenant+"/migration-configuration", map[string]any{"quietPeriodSeconds": 0}); code != 200 {
		t.Fatalf("quiet period 0: %d %s", code, raw)
	}
	b := &burst{c: c, stop: make(chan struct{}), posted: map[string]string{},
		triggers: map[string]string{}, trigTries: map[string]int{}}
	url := c.apiURL
	b.url.Store(&url)
	users := append(append([]string(nil), c.selected...), c.control)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // a Fatal below must not leave clients behind
	c.started = time.Now()
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	for g := range c.selected {
		spawn(func() { b.client(ctx, g, users) })
	}
	// Organizers 0 and 1 are triggered with the burst; 2 and 3 while the API
	// is down, so that their first attempts fail and are retried.
	spawn(func() { b.trigger(ctx, 0) })
	spawn(func() { b.trigger(ctx, 1) })
	time.Sleep(3 * time.Second)
	restarts := 0
	id := c.api.Container.ID
	for i, how := range []string{"stopped (SIGTERM)", "SIGKILLed", "docker restart"} {
		b.mu.Lock()
		n := len(b.posted)
		b.mu.Unlock()
		switch i {
		case 0:
			if err := c.pool.Client.StopContainer(id, 5); err != nil {
				t.Fatalf("stop api: %v", err)
			}
			spawn(func() { b.trigger(ctx, 2) })
			time.Sleep(2 * time.Second)
			c.start("api", id)
		case 1:
			c.kill("api", id)
			spawn(func() { b.trigger(ctx, 3) })
			time.Sleep(2 * time.Second)
			c.start("api", id)
		case 2:
			if err := c.pool.Client.RestartContainer(id, 2); err != nil {
				t.Fatalf("restart api: %v", err)
			}
		}
		c.refreshAPI()
		url := c.apiURL
		b.url.Store(&url)
		restarts++
		t.Logf("api restart #%d (%s) after %d events accepted, %d/%d meetings written; back at %s", restarts, how, n,
			c.writes(), c.total(), url)
		time.Sleep(3 * time.Second)
	}
	close(b.stop)
	wg.Wait()
	burstTime := time.Since(c.started)
	if t.Failed() {
		t.FailNow()
	}
	if len(b.triggers) != len(c.selected) {
		t.Fatalf("%d triggering events accepted, want %d", len(b.triggers), len(c.selected))
	}
	f := c.verify(restarts)
	f.Duplicates += c.checkEvents(b)
	tries := make([]int, len(c.selected))
	for g, u := range c.selected {
		tries[g] = b.trigTries[u]
	}
	t.Logf("FIGURES api events=%d requests=%d retries=%d trigger-attempts=%v restarts=%d burst=%s meetings=%d duplicates=%d duration=%s",
		len(b.posted), b.requests, b.retries, tries, restarts, burstTime.Round(100*time.Millisecond), f.Meetings,
		f.Duplicates, f.Duration.Round(100*time.Millisecond))
	if b.retries == 0 {
		t.Error("no POST was retried: the restarts hit no request")
	}
	for _, g := range []int{2, 3} {
		if b.trigTries[c.selected[g]] < 2 {
			t.Errorf("the trigger of organizer %d, posted while the API was down, was accepted at once", g)
		}
	}
}

// checkEvents compares the recorded events with the accepted ones: each id
// recorded exactly once, for the user it concerns, nothing else recorded;
// the triggering ones linked to their organizer's final migration, the
// others not triggering. It returns the number of duplicates.
func (c *cluster) checkEvents(b *burst) int {
	t := c.t
	evs, err := c.db.Events(context.Background(), tenant, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	dups, bad := 0, 0
	report := func(format string, args ...any) {
		if bad++; bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	done := c.waitDone(time.Minute)
	for _, ev := range evs {
		id, user, typ, triggered, corr := ev.ID, ev.UserID, ev.Type, ev.Triggered, ev.CorrelationID
		if seen[id]++; seen[id] == 2 {
			dups++
			report("event %s recorded more than once", id)
		}
		want, ok := b.posted[id]
		switch {
		case !ok:
			report("event %s (%s for %s) recorded but never accepted", id, typ, user)
		case user != want:
			report("event %s recorded for %q, posted for %q", id, user, want)
		case b.triggers[id] != "":
			if !triggered || corr == "" || corr != done[user].CorrelationID {
				report("trigger %s for %s: triggered=%v correlation %q, the migration is %q", id, user, triggered, corr,
					done[user].CorrelationID)
			}
		case triggered || corr != "":
			report("event %s (%s) triggered=%v correlation %q, want neither", id, typ, triggered, corr)
		}
	}
	for id, user := range b.posted {
		if seen[id] == 0 {
			report("event %s for %s accepted but not recorded", id, user)
		}
	}
	return dups
}
