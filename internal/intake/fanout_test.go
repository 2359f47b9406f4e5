package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// A bridge event for more users than a request hands off answers with the
// event's own record at once; the fan-out workflow hands every user off in
// batches, the record counts them, and posting the event again starts no
// second fan-out.
func TestLargeBridgeEventFansOutInTheBackground(t *testing.T) {
	c := realTemporal(t)
	db := fanOutStore(t, 7)
	ctx := context.Background()
	s := New(db, c, nil, nil)
	s.syncFanOutLimit, s.fanOutBatch = 2, 3 // 7 users on b1: three batches
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.FanOut, workflow.RegisterOptions{Name: workflows.FanOutWorkflowType})
	w.RegisterActivityWithOptions(s.HandOffBatch, activity.RegisterOptions{Name: workflows.HandOffBatchActivity})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := []Event{{ID: "big", Event: rules.Event{Type: rules.BridgeNumberChanged, BridgeID: "b1",
		OldNumber: "+1 425-555-0100", NewNumber: "+1 425-555-0199"}}}
	out, err := s.PostEvents(ctx, fabrikam, "provisioning", ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].UserID != "" || out[0].Reason != "fan-out: handed off 0 of 7 users on bridge b1" {
		t.Fatalf("answer: %+v", out)
	}
	var p workflows.FanOutProgress
	run := c.GetWorkflow(ctx, workflows.FanOutWorkflowID(fabrikam, "big"), "")
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if !p.Done || p.HandedOff != 7 || p.Total != 7 {
		t.Fatalf("progress %+v", p)
	}
	recs, _ := db.EventsByID(ctx, fabrikam, "big")
	if len(recs) != 8 || recs[0].UserID != "" || recs[0].Reason != "fan-out: handed off 7 of 7 users on bridge b1" {
		t.Fatalf("records: %+v", recs)
	}
	for _, r := range recs[1:] {
		rec, err := db.StatusRecord(ctx, r.CorrelationID)
		if !r.Triggered || err != nil || rec.State != migration.StatePending || rec.UserID != r.UserID ||
			!strings.HasSuffix(rec.LastTrigger, " by provisioning") {
			t.Fatalf("%s: %+v, record %+v, %v", r.UserID, r, rec, err)
		}
	}
	// Posted again: the recorded decisions, no second fan-out (the first
	// completed, and only a failed one is started again).
	again, err := s.PostEvents(ctx, fabrikam, "provisioning", ev)
	if err != nil || len(again) != 8 {
		t.Fatalf("again: %d records, %v", len(again), err)
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflows.FanOutWorkflowID(fabrikam, "big"), "")
	if err != nil || d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID() {
		t.Fatalf("the fan-out ran again: %v", err)
	}
	if n, _ := db.EventHandOffs(ctx, fabrikam, "big"); n != 7 {
		t.Fatalf("%d handed off after the retry", n)
	}
}

// A batch retried after it stopped half-way resumes after the last user it
// heartbeat, and still hands off a user it had recorded but not handed off.
func TestHandOffBatchResumesFromItsHeartbeat(t *testing.T) {
	c := realTemporal(t)
	db := fanOutStore(t, 2)
	ctx := context.Background()
	s := New(db, c, nil, nil)
	e := Event{ID: "resume", Event: rules.Event{Type: rules.BridgeNumberChanged, BridgeID: "b1",
		OldNumber: "+1 425-555-0100", NewNumber: "+1 425-555-0199"}}
	payload, _ := json.Marshal(e)
	if _, err := db.RecordEvent(ctx, fabrikam, store.Event{ID: e.ID, Type: string(e.Type), Payload: payload,
		Reason: fanOutReason("b1", 0, 2)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	ten, _ := db.Tenant(ctx, fabrikam)
	// The first attempt recorded a@'s decision and stopped before handing it off.
	if _, err := s.recordDecision(ctx, ten, e, "u0@fabrikam.com", payload); err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(s.HandOffBatch, activity.RegisterOptions{Name: workflows.HandOffBatchActivity})
	env.SetHeartbeatDetails("u0@fabrikam.com")
	v, err := env.ExecuteActivity(workflows.HandOffBatchActivity, workflows.FanOutInput{TenantID: fabrikam, EventID: e.ID, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.FanOutProgress
	if err := v.Get(&p); err != nil || p.After != "u1@fabrikam.com" || !p.Done || p.Total != 2 || p.HandedOff != 1 {
		t.Fatalf("progress %+v, %v", p, err)
	}
	// The workflow's next call starts over from its own cursor: a@ is
	// recorded, so it is only handed off.
	env = suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(s.HandOffBatch, activity.RegisterOptions{Name: workflows.HandOffBatchActivity})
	v, err = env.ExecuteActivity(workflows.HandOffBatchActivity, workflows.FanOutInput{TenantID: fabrikam, EventID: e.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&p); err != nil || p.HandedOff != 2 {
		t.Fatalf("progress %+v, %v", p, err)
	}
	recs, _ := db.EventsByID(ctx, fabrikam, e.ID)
	if len(recs) != 3 || recs[0].Reason != "fan-out: handed off 2 of 2 users on bridge b1" || recs[1].CorrelationID == "" || recs[2].CorrelationID == "" {
		t.Fatalf("records %+v", recs)
	}
}

// fabrikam is the fan-out tests' tenant: the package's Temporal server is
// shared, and the other tests expect contoso's users to have no workflow.
const fabrikam = "fabrikam"

// fanOutStore is a fresh database whose tenant fabrikam has n users on bridge b1.
func fanOutStore(t *testing.T, n int) *store.DB {
	t.Helper()
	db := newStore(t)
	ctx := context.Background()
	if err := db.PutTenant(ctx, store.Tenant{ID: fabrikam, DisplayName: fabrikam, Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := db.PutUser(ctx, store.User{TenantID: fabrikam, ID: fmt.Sprintf("u%d@fabrikam.com", i), Profile: json.RawMessage(
			`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","bridgeId":"b1"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
