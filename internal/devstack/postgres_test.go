package devstack

import (
	"context"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// Issue 19: the whole path (HTTP API, Temporal's embedded server, the
// worker's activities, the sandbox back end) with the service database on
// PostgreSQL: a user's meetings are migrated once, and a second run is a
// fixed point that writes and sends nothing. Skipped without
// MMS_TEST_POSTGRES, failed without it under CI.
func TestEndToEndOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	cfg := Config{DataDir: t.TempDir(), Database: dsn, APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"}
	st := startStack(t, cfg)
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	if code, raw := c.do("GET", "/readyz", "", nil); code != 200 {
		t.Fatalf("readyz = %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitFinal(alice)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != 4 || d.FailedMeeting != 0 || d.InvitesUpdate != 4 {
		t.Fatalf("record = %+v", d.StatusRecord)
	}
	sent, err := st.Sandbox.Outbox(ctx, "contoso", "")
	if err != nil || len(sent) == 0 {
		t.Fatalf("outbox = %d, %v", len(sent), err)
	}
	first := d.CorrelationID
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("second start = %d %s", code, raw)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		d = c.waitFinal(alice)
		if d.CorrelationID != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second run never recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d.State != migration.StateSucceeded || d.InvitesUpdate != 0 {
		t.Fatalf("second run = %+v, want Succeeded sending nothing", d.StatusRecord)
	}
	for _, m := range d.Meetings {
		if m.Outcome == migration.OutcomeUpdated {
			t.Errorf("second run updated %q", m.Subject)
		}
	}
	if again, _ := st.Sandbox.Outbox(ctx, "contoso", ""); len(again) != len(sent) {
		t.Fatalf("second run sent %d more notifications", len(again)-len(sent))
	}
	// The records are PostgreSQL's: a store opened on the URL sees them.
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if recs, err := db.StatusRecords(ctx, "contoso", store.Filter{UserID: alice}); err != nil || len(recs) != 2 {
		t.Fatalf("records in PostgreSQL = %d, %v", len(recs), err)
	}
}
