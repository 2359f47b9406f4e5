package workflows

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// servedEnv runs the workflow over the real activities and a real SQLite
// store, for one user with 6 meetings to update in two pages. Each page
// takes an hour of the test's clock, so that signals can be timed against
// it: the first page runs in [0, 1h), the last in [1h, 2h).
func servedEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *store.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: "fabrikam", Users: 1, Meetings: 6}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	acts := &activities.Activities{DB: db, Calendar: sandboxIn(t, db), PageSize: 4}
	env.RegisterActivity(acts)
	env.OnActivity(acts.ProcessPage, mock.Anything, mock.Anything).After(time.Hour).Return(
		func(ctx context.Context, in activities.PageInput) (activities.PageResult, error) {
			return acts.ProcessPage(ctx, in)
		})
	return env, db, users[0]
}

// runFor starts the user's workflow with a manual trigger and waits for it.
func runFor(t *testing.T, env *testsuite.TestWorkflowEnvironment, user string) {
	t.Helper()
	env.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "fabrikam", UserID: user,
		Pending: []migration.Trigger{{Reason: "manual", Manual: true}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, db *store.DB, user string) []store.StatusRecord {
	t.Helper()
	recs, err := db.StatusRecords(context.Background(), "fabrikam", store.Filter{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestLateCancelIsRecorded is issue 18's "a cancel that arrives during the
// last page answers 202 but leaves no trace": the run had already done
// everything, so it stays Succeeded, and its record says the cancel came.
func TestLateCancelIsRecorded(t *testing.T) {
	env, db, user := servedEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(CancelSignal, Cancel{By: "ops@contoso.com", Reason: "too late"})
	}, 90*time.Minute)
	runFor(t, env, user)
	recs := records(t, db, user)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.State != migration.StateSucceeded || r.InvitesUpdate != 6 ||
		r.LastMessage != "cancel arrived after the last page, from ops@contoso.com (too late): every meeting had already been processed" {
		t.Fatalf("record: %s, %d invites, %q", r.State, r.InvitesUpdate, r.LastMessage)
	}
}

// TestServedTriggerAndCancelAfterTheRun: a trigger that arrives during the
// run with nothing new is served by it (no second run, counted on its
// record), and a cancel that arrives once the run has finished, while the
// workflow still works, is written on the same record.
func TestServedTriggerAndCancelAfterTheRun(t *testing.T) {
	env, db, user := servedEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(TriggerSignal, migration.Trigger{Reason: "manual", Manual: true, RequestedBy: "again"})
	}, 30*time.Minute)
	// The amendment that serves it takes 30 minutes; the cancel comes then.
	var a *activities.Activities
	env.OnActivity(a.AmendRun, mock.Anything, mock.Anything).After(30 * time.Minute).Return(
		func(ctx context.Context, in activities.AmendRunInput) (bool, error) {
			return (&activities.Activities{DB: db}).AmendRun(ctx, in)
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(CancelSignal, Cancel{By: "ops"}) }, 2*time.Hour+10*time.Minute)
	runFor(t, env, user)
	recs := records(t, db, user)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1 (the trigger was served)", len(recs))
	}
	r := recs[0]
	want := "cancel arrived after the last page, from ops: every meeting had already been processed; " +
		"1 later trigger(s) served by this run: they asked for nothing it had not done, with the profile it used"
	if r.State != migration.StateSucceeded || r.TriggerCount != 2 || r.LastMessage != want {
		t.Fatalf("record: %s, %d triggers, %q\nwant Succeeded, 2, %q", r.State, r.TriggerCount, r.LastMessage, want)
	}
}

// TestNewTriggerAfterTheRunGetsItsRun: a trigger that asks for more than the
// run did, or comes with a changed profile, gets a follow-up run.
func TestNewTriggerAfterTheRunGetsItsRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, db *store.DB, user string)
		trigger migration.Trigger
		invites int // updated by each run (0: not checked)
	}{
		{name: "Teams target", trigger: migration.Trigger{Reason: "teams upgrade", TargetMeetingType: migration.TargetTeams}},
		{name: "profile changed", trigger: migration.Trigger{Reason: "manual", Manual: true}, invites: 6,
			change: func(t *testing.T, db *store.DB, user string) {
				u, err := db.User(context.Background(), "fabrikam", user)
				if err != nil {
					t.Fatal(err)
				}
				var p meetingblock.Profile
				if err := json.Unmarshal(u.Profile, &p); err != nil {
					t.Fatal(err)
				}
				p.ConferenceID = "777888999"
				if u.Profile, err = json.Marshal(p); err != nil {
					t.Fatal(err)
				}
				if err := db.PutUser(context.Background(), u); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, db, user := servedEnv(t)
			env.RegisterDelayedCallback(func() {
				if tc.change != nil {
					tc.change(t, db, user)
				}
				env.SignalWorkflow(TriggerSignal, tc.trigger)
			}, 90*time.Minute)
			runFor(t, env, user)
			recs := records(t, db, user)
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2 (a follow-up run)", len(recs))
			}
			for _, r := range recs {
				if tc.invites > 0 && r.InvitesUpdate != tc.invites {
					t.Errorf("record %q updated %d invites, want %d", r.LastTrigger, r.InvitesUpdate, tc.invites)
				}
			}
		})
	}
}
