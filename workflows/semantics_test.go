package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// A Teams upgrade and a conference-ID change in one quiet period make one
// All-to-Teams run whichever comes first; three triggers merge alike.
func TestMergeByMeaningInEitherOrder(t *testing.T) {
	upgrade := migration.Trigger{Reason: "upgrade", SourceMeetingType: migration.SourceSfB, TargetMeetingType: migration.TargetTeams, QuietPeriodSeconds: 60}
	confID := migration.Trigger{Reason: "conference ID", SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, QuietPeriodSeconds: 60}
	acp := migration.Trigger{Reason: "licence", ReplaceThirdParty: true, QuietPeriodSeconds: 60}
	for _, batch := range [][]migration.Trigger{{upgrade, confID}, {confID, upgrade}, {confID, acp, upgrade}, {upgrade, acp, confID}} {
		e := newEnv(t, 0, "")
		for i, tr := range batch[1:] {
			e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, tr) }, time.Duration(i+1)*10*time.Second)
		}
		e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: batch[:1]})
		if e.GetWorkflowError() != nil {
			t.Fatal(e.GetWorkflowError())
		}
		b := e.lastBegin
		if e.begins != 1 || b.SourceMeetingType != migration.SourceAll || b.TargetMeetingType != migration.TargetTeams ||
			!strings.HasPrefix(b.Merged, "2 triggers merged") && !strings.HasPrefix(b.Merged, "3 triggers merged") ||
			b.ReplaceThirdParty != (len(batch) == 3) || !b.CheckSwitches {
			t.Errorf("batch %v: begins=%d, BeginRun %+v", batch, e.begins, b)
		}
	}
}

// BeginRun failing (the mailbox check, say) is retried in the run's retry
// budget with the cause on the record; when the retries are spent the run
// ends Failed with that cause and the workflow completes: nothing is left
// InProgress.
func TestOrchestrationFailureEndsFailedWithTheCause(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	e := &env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(activities.Admission{}, nil).Maybe()
	var notes []string
	e.OnActivity(a.OpenPending, mock.Anything, mock.Anything).Return(store.StatusRecord{}, nil).Maybe()
	e.OnActivity(a.NoteRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NoteRunInput) error {
		notes = append(notes, in.Message)
		return nil
	})
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(activities.RunPlan{},
		temporal.NewNonRetryableApplicationError("Graph refused the app's credentials: AADSTS7000215", "Unauthorized", nil))
	var finish activities.FinishRunInput
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishRunInput) (store.StatusRecord, error) {
		finish = in
		return store.StatusRecord{State: migration.StateFailed}, nil
	})
	start := e.Now()
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", MaxRetries: 3, RetryIntervalSeconds: 600,
		Pending: []migration.Trigger{{Reason: "event"}}})
	if err := e.GetWorkflowError(); err != nil {
		t.Fatalf("the workflow failed: %v", err)
	}
	if len(notes) != 3 || !strings.Contains(notes[0], "begin run: Graph refused the app's credentials: AADSTS7000215; retry 1 of 3") {
		t.Fatalf("notes: %q", notes)
	}
	if finish.MigrationID != "" || finish.RunKey == "" || finish.UserID != "u" ||
		finish.Message != "begin run: Graph refused the app's credentials: AADSTS7000215 (gave up after 3 retries)" {
		t.Fatalf("finish: %+v", finish)
	}
	if took := e.Now().Sub(start); took < 30*time.Minute {
		t.Fatalf("3 retries 10 minutes apart took %s", took)
	}
}

// A page out of attempts waits and is tried again from its cursor.
func TestPageOutOfAttemptsIsRetriedInTheRunBudget(t *testing.T) {
	e := newEnv(t, 0, "")
	fails := 1
	e.pageErr = func(in activities.PageInput) error {
		if in.Cursor == "p2" && fails > 0 {
			fails--
			return temporal.NewNonRetryableApplicationError("calendar unavailable", "x", nil)
		}
		return nil
	}
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", RetryIntervalSeconds: 60,
		Pending: []migration.Trigger{{Reason: "manual", Manual: true}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.pages != 2 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "" || e.lastBegin.CheckSwitches {
		t.Fatalf("pages=%d finish=%q begin=%+v", e.pages, e.finishMsgs, e.lastBegin)
	}
}

// A trigger during the retry wait ends the wait at once: the run is closed
// as superseded and the follow-up (a full run, covering the failed
// meetings) begins right away.
func TestTriggerDuringRetryWaitEndsItAtOnce(t *testing.T) {
	e, prepares, _ := retryEnv(t, nil)
	start := e.Now()
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, migration.Trigger{Reason: "conference ID changed"}) }, 30*time.Minute)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", RetryIntervalSeconds: 3600, MaxRetries: 1,
		Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if *prepares != 1 || len(e.beginTimes) != 2 || len(e.finishMsgs) != 2 || !strings.HasPrefix(e.finishMsgs[0], "superseded") {
		t.Fatalf("prepares=%d begins=%d finish=%q", *prepares, len(e.beginTimes), e.finishMsgs)
	}
	if at := e.beginTimes[1].Sub(start); at > 31*time.Minute {
		t.Fatalf("the follow-up began %s after the start, want at once after the trigger (30m)", at)
	}
}

// A trigger with an unknown meeting type refuses the run, naming the field.
func TestMalformedTriggerIsRefused(t *testing.T) {
	e := newEnv(t, 0, "")
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u",
		Pending: []migration.Trigger{{Reason: "direct", SourceMeetingType: "Zoom"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if !strings.Contains(e.lastBegin.Refused, `sourceMeetingType: must be All, SfB or Teams, not "Zoom"`) {
		t.Fatalf("BeginRun %+v", e.lastBegin)
	}
}
