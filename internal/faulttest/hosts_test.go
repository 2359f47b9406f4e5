package faulttest

import (
	"testing"
	"time"
)

// TestPostgresRestarted: PostgreSQL, the only state the API replicas and
// the workers share, is stopped at once (clients disconnected, open
// transactions rolled back) mid-migration, kept down 10 s, and started
// again. Activities that fail meanwhile are retried by Temporal; pools
// drop their dead connections and reconnect.
func TestPostgresRestarted(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	at := c.waitWrites(c.total()/5, 2*time.Minute)
	c.pg.Stop()
	t.Logf("postgres stopped at %d/%d meetings written", at, c.total())
	time.Sleep(10 * time.Second)
	during := c.writes()
	c.pg.Start()
	c.pg.waitUp(time.Minute)
	t.Logf("postgres back at %d/%d meetings written", during, c.total())
	if during >= c.total() {
		t.Fatal("the migration finished while PostgreSQL was down: nothing tested")
	}
	c.verify(1)
}

// TestAPIReplicaKilled: one API replica is SIGKILLed mid-migration and left
// down; the other keeps serving reads and writes throughout, and the
// migrations finish as in every other scenario.
func TestAPIReplicaKilled(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	at := c.waitWrites(c.total()/5, 2*time.Minute)
	c.kill("api1", c.apis[0].Container.ID)
	t.Logf("api1 SIGKILLed at %d/%d meetings written", at, c.total())
	c.api = c.apis[1]
	c.refreshAPI()
	// api2 answers every request while api1 is down: reads of each
	// organizer's record, and a write of the tenant's configuration.
	failed, served := 0, 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, u := range c.selected {
			if code, raw := c.do("GET", "/v1/tenants/"+tenant+"/migrations/"+u, nil); code != 200 {
				failed++
				t.Errorf("api2, GET %s: %d %.200s", u, code, raw)
			} else {
				served++
			}
		}
	}
	if code, raw := c.do("PUT", "/v1/tenants/"+tenant+"/migration-configuration",
		map[string]any{"quietPeriodSeconds": 600}); code != 200 {
		failed++
		t.Errorf("api2, PUT configuration: %d %.200s", code, raw)
	}
	during := c.writes()
	t.Logf("api2 served %d requests (%d failed) while api1 was down, at %d/%d meetings written", served, failed,
		during, c.total())
	if during >= c.total() {
		t.Fatal("the migration finished before api1 was gone long: nothing tested")
	}
	c.verify(1)
}
