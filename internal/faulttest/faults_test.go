package faulttest

import (
	"net/http"
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

// TestWorkersSIGKILLed: one of the two workers is SIGKILLed every few
// seconds, alternately, and started again a second later, for as long as
// the migration runs; pages in flight on the killed worker are retried
// after their heartbeat timeout on either worker.
func TestWorkersSIGKILLed(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	c.waitWrites(c.total()/10, 2*time.Minute)
	kills := 0
	for i := 0; ; i++ {
		if w := c.writes(); w >= c.total()*9/10 || kills >= 4 {
			break
		}
		w := c.workers[i%2]
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
// time out and run again on worker2 (or on itself once back); its own late
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
