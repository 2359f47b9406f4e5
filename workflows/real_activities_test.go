package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// realEnv runs the workflow in the SDK's test environment with the real
// activities, over the seeded demo tenant in a real SQLite database.
func realEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *store.DB, *sandbox.Backend) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sandbox.SeedDemo(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	sb := sandboxIn(t, db)
	env.RegisterActivity(&activities.Activities{DB: db, Calendar: sb})
	return env, db, sb
}

func TestEverySkipReasonIsRecorded(t *testing.T) {
	env, db, _ := realEnv(t)
	const alice = "alice@contoso.com"
	env.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: sandbox.DemoTenant, UserID: alice,
		Pending: []migration.Trigger{{Reason: "manual", SourceMeetingType: migration.SourceSfB}}})
	if env.GetWorkflowError() != nil {
		t.Fatal(env.GetWorkflowError())
	}
	rec, err := db.LatestStatusRecord(context.Background(), sandbox.DemoTenant, alice)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := db.MeetingResults(context.Background(), rec.CorrelationID)
	reasons := map[string]bool{}
	for _, r := range results {
		if r.Outcome != migration.OutcomeSkipped {
			t.Errorf("%q: %s, want skipped (source SfB selects none of Alice's Teams meetings)", r.Subject, r.Outcome)
		}
		reasons[strings.SplitN(r.Reason, ":", 2)[0]] = true
	}
	// Alice's calendar holds one meeting per reason (past meetings that have
	// ended are not listed at all; the series started in the past is not "past").
	for _, want := range []string{"not organizer", "not created as an online meeting (no online-meeting metadata)",
		"301 participants, more than the limit of 250", "source meeting type not selected (SfB)"} {
		if !reasons[want] {
			t.Errorf("no meeting skipped with %q; got %v", want, reasons)
		}
	}
	for _, other := range []struct {
		user, want string
	}{{"carol@contoso.com", "on premises"}, {"nobody@contoso.com", "not in the directory"}} {
		env2, db2, _ := realEnv(t)
		env2.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: sandbox.DemoTenant, UserID: other.user,
			Pending: []migration.Trigger{{Reason: "manual"}}})
		rec, _ := db2.LatestStatusRecord(context.Background(), sandbox.DemoTenant, other.user)
		if env2.GetWorkflowError() != nil || rec.State != migration.StateFailed || !strings.Contains(rec.LastMessage, other.want) {
			t.Errorf("%s: %v, record %+v", other.user, env2.GetWorkflowError(), rec)
		}
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	env, db, sb := realEnv(t)
	ctx := context.Background()
	const alice = "alice@contoso.com"
	before, _ := sb.Meetings(ctx, sandbox.DemoTenant, alice)
	dry, err := db.OpenDryRun(ctx, store.Request{TenantID: sandbox.DemoTenant, UserID: alice, Trigger: "dry run",
		MigrationType: migration.TypeToSameType, SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent})
	if err != nil {
		t.Fatal(err)
	}
	env.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: sandbox.DemoTenant, UserID: alice, DryRun: true,
		CorrelationID: dry.CorrelationID, Pending: []migration.Trigger{{Reason: "dry run"}}})
	if env.GetWorkflowError() != nil {
		t.Fatal(env.GetWorkflowError())
	}
	after, _ := sb.Meetings(ctx, sandbox.DemoTenant, alice)
	for i := range before {
		if before[i].Body != after[i].Body || before[i].ETag != after[i].ETag {
			t.Errorf("dry run wrote %q", before[i].Subject)
		}
	}
	if sent, _ := sb.Outbox(ctx, sandbox.DemoTenant, ""); len(sent) != 0 {
		t.Fatalf("dry run sent %d notifications", len(sent))
	}
	rec, _ := db.StatusRecord(ctx, dry.CorrelationID)
	results, _ := db.MeetingResults(ctx, dry.CorrelationID)
	would := 0
	for _, r := range results {
		if r.Outcome == migration.OutcomeWouldUpdate && r.Diff != "" {
			would++
		}
	}
	if rec.State != migration.StateSucceeded || would != 4 {
		t.Fatalf("dry-run record %+v, %d with a diff", rec, would)
	}
}

// sandboxIn opens the sandbox back end in db for the test's duration.
func sandboxIn(t testing.TB, db *store.DB) *sandbox.Backend {
	b, err := sandbox.In(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
