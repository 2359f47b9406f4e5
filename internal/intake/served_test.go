package intake

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/workflows"
)

// TestConcurrentStartsMakeOneRun is issue 18's probe: 50 concurrent starts
// of one user. Those that came after the run began asked for nothing it did
// not do, so it serves them: one record, counting all 50, and no empty
// follow-up run (which the status would show first). Unlike the package's
// other tests, a worker runs here, on a Temporal server of its own (its
// task queue would otherwise take the other tests' waiting workflows).
func TestConcurrentStartsMakeOneRun(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	srv, err := embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0",
		SearchAttributes: temporalclient.SearchAttributes, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cli, err := temporalclient.Dial(ctx, temporalclient.Config{Address: srv.FrontendAddr(), Namespace: srv.Namespace()}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	db := newStore(t)
	users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: "fabrikam", Users: 1, Meetings: 40}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	user := users[0]
	cal, err := sandbox.In(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer cal.Close()
	w := sdkworker.New(cli, workflows.TaskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Migration, workflow.RegisterOptions{Name: workflows.MigrationWorkflowType})
	// Small pages: the run lasts longer than the burst of starts, as a
	// real calendar's would.
	w.RegisterActivity(&activities.Activities{DB: db, Calendar: cal, PageSize: 2})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	svc := New(db, cli, quiet, nil)
	const starts = 50
	errs := make(chan error, starts)
	burst := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Start(ctx, "fabrikam", "admin", Request{User: user}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
	}
	// Half the starts before the run begins, half while it runs: the probe's
	// burst, with the part that came late made certain.
	burst(starts / 2)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if rec, err := db.LatestStatusRecord(ctx, "fabrikam", user); err == nil && rec.State == "InProgress" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the run did not begin: %+v, %v", rec, err)
		}
	}
	burst(starts - starts/2)
	close(errs)
	for err := range errs {
		t.Fatalf("start: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cli.GetWorkflow(waitCtx, workflows.WorkflowID("fabrikam", user), "").Get(waitCtx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}

	recs, err := db.StatusRecords(ctx, "fabrikam", store.Filter{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		for _, r := range recs {
			t.Logf("record %s: %s, %d trigger(s), %d invites, %q", r.CorrelationID, r.State, r.TriggerCount, r.InvitesUpdate, r.LastMessage)
		}
		t.Fatalf("%d records, want one run for the 50 starts", len(recs))
	}
	r := recs[0]
	if r.State != "Succeeded" || r.TriggerCount != starts || r.InvitesUpdate != 40 {
		t.Fatalf("record: %s, %d trigger(s), %d invites updated, %q; want Succeeded, 50, 40", r.State, r.TriggerCount,
			r.InvitesUpdate, r.LastMessage)
	}
	t.Logf("the run's record: %q", r.LastMessage)
	if !strings.Contains(r.LastMessage, "later trigger(s) served by this run") {
		t.Errorf("LastMessage %q", r.LastMessage)
	}
}
