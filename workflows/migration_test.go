package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

type env struct {
	*testsuite.TestWorkflowEnvironment
	begins, pages, finishes int
	finishMsgs              []string
	lastBegin               activities.BeginRunInput
	beginTimes              []time.Time
	// pageErr, when set, may fail a page (after its attempts).
	pageErr func(activities.PageInput) error
}

// newEnv mocks the activities with counting fakes: these tests are about the
// workflow's orchestration; the activities run for real in the e2e test.
func newEnv(t *testing.T, pageDelay time.Duration, blocked string) *env {
	var s testsuite.WorkflowTestSuite
	e := &env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(activities.Admission{}, nil).Maybe()
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BeginRunInput) (activities.RunPlan, error) {
			e.begins++
			e.lastBegin = in
			return activities.RunPlan{MigrationID: "m" + in.RunKey, Blocked: blocked}, nil
		})
	mockRecords(e.TestWorkflowEnvironment)
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).After(pageDelay).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			if e.pageErr != nil {
				if err := e.pageErr(in); err != nil {
					return activities.PageResult{}, err
				}
			}
			e.pages++
			if in.Cursor == "" {
				return activities.PageResult{NextCursor: "p2", Updated: 2}, nil
			}
			return activities.PageResult{Updated: 1, Skipped: 1}, nil
		})
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishRunInput) (store.StatusRecord, error) {
			e.finishes++
			e.finishMsgs = append(e.finishMsgs, in.Message)
			state := migration.StateSucceeded
			if in.Message != "" {
				state = migration.StateFailed
			}
			return store.StatusRecord{State: state}, nil
		})
	return e
}

func TestQuietPeriodMergesBurstIntoOneRun(t *testing.T) {
	e := newEnv(t, 0, "")
	quiet := migration.Trigger{Reason: "licence assigned", QuietPeriodSeconds: 600}
	for i := 1; i <= 4; i++ { // four more triggers, 2 minutes apart: each re-arms the timer
		tr := quiet
		tr.Reason = "change " + string(rune('0'+i))
		if i == 4 {
			tr.TargetMeetingType = migration.TargetTeams
		}
		e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, tr) }, time.Duration(i)*2*time.Minute)
	}
	var status Status
	e.RegisterDelayedCallback(func() {
		v, err := e.QueryWorkflow(StatusQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(&status); err != nil {
			t.Fatal(err)
		}
	}, 9*time.Minute)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{quiet}})
	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", e.IsWorkflowCompleted(), e.GetWorkflowError())
	}
	if e.begins != 1 || e.pages != 2 || e.finishes != 1 {
		t.Fatalf("5 triggers in a burst: begins=%d pages=%d finishes=%d, want 1/2/1", e.begins, e.pages, e.finishes)
	}
	if status.State != migration.StatePending || status.PendingTriggers != 5 {
		t.Fatalf("status during the quiet period = %+v, want Pending with 5 triggers", status)
	}
	if e.lastBegin.TargetMeetingType != migration.TargetTeams || e.lastBegin.Trigger != "change 4 (+4 merged)" {
		t.Fatalf("merged selection = %+v", e.lastBegin)
	}
}

func TestTriggerDuringRunCausesExactlyOneFollowUp(t *testing.T) {
	e := newEnv(t, time.Minute, "")
	// Three triggers arrive while the first run's pages are in flight.
	for _, at := range []time.Duration{30 * time.Second, 40 * time.Second, 70 * time.Second} {
		e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, migration.Trigger{Reason: "again"}) }, at)
	}
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.begins != 2 || e.finishes != 2 {
		t.Fatalf("begins=%d finishes=%d, want 2 runs (the first and one follow-up)", e.begins, e.finishes)
	}
}

func TestBlockedRunFailsWithoutTouchingMeetings(t *testing.T) {
	e := newEnv(t, 0, "the organizer's mailbox is on premises")
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.pages != 0 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "the organizer's mailbox is on premises" {
		t.Fatalf("pages=%d finish=%q", e.pages, e.finishMsgs)
	}
}

func TestNoTriggerCompletesAtOnce(t *testing.T) {
	e := newEnv(t, 0, "")
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u"})
	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil || e.begins != 0 {
		t.Fatalf("completed=%v err=%v begins=%d", e.IsWorkflowCompleted(), e.GetWorkflowError(), e.begins)
	}
}

func TestCancelDuringRunStopsAfterCurrentPage(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(CancelSignal, Cancel{By: "admin@contoso.com"}) }, 30*time.Minute)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.pages != 1 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "cancelled by admin@contoso.com" {
		t.Fatalf("pages=%d finish=%q, want the first page only, then cancelled", e.pages, e.finishMsgs)
	}
}

func TestCancelDuringQuietPeriodRunsNothing(t *testing.T) {
	e := newEnv(t, 0, "")
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(CancelSignal, Cancel{By: "ops", Reason: "wrong user"}) }, time.Minute)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u",
		Pending: []migration.Trigger{{Reason: "event", QuietPeriodSeconds: 600}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	// The Pending record is claimed and closed, so it does not stay Pending.
	if e.begins != 1 || e.pages != 0 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "cancelled by ops (wrong user)" {
		t.Fatalf("begins=%d pages=%d finish=%q", e.begins, e.pages, e.finishMsgs)
	}
}

func TestRunDeadlineEndsRunFailed(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	e := &env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(activities.Admission{}, nil).Maybe()
	mockRecords(e.TestWorkflowEnvironment)
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(activities.RunPlan{MigrationID: "m"}, nil)
	// Every page takes two hours and there is always another one.
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).After(2 * time.Hour).Return(
		func(context.Context, activities.PageInput) (activities.PageResult, error) {
			e.pages++
			return activities.PageResult{NextCursor: "more", Updated: 50}, nil
		})
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishRunInput) (store.StatusRecord, error) {
			e.finishMsgs = append(e.finishMsgs, in.Message)
			return store.StatusRecord{State: migration.StateFailed}, nil
		})
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", RunDeadlineSeconds: 5 * 3600,
		Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if len(e.finishMsgs) != 1 || !strings.HasPrefix(e.finishMsgs[0], "run deadline reached after 2 pages") {
		t.Fatalf("finish = %q (pages completed %d), want the deadline after 2 pages", e.finishMsgs, e.pages)
	}
}

func TestLongRunContinuesAsNewCarryingItsState(t *testing.T) {
	e := newEnv(t, time.Minute, "")
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, migration.Trigger{Reason: "during the run"}) }, 30*time.Second)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", PagesPerExecution: 1,
		Pending: []migration.Trigger{{Reason: "manual"}}})
	var can *workflow.ContinueAsNewError
	if err := e.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want a continue-as-new after one page", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	r := next.Resume
	if r == nil || r.Cursor != "p2" || r.Plan.MigrationID == "" || r.Status.Updated != 2 || r.Status.Pages != 1 ||
		r.Deadline.IsZero() || len(next.Pending) != 1 || next.PagesPerExecution != 1 {
		t.Fatalf("continued with %+v (resume %+v)", next, r)
	}

	// The next execution finishes the run from the cursor, then serves the
	// trigger that arrived meanwhile.
	e2 := newEnv(t, 0, "")
	next.PagesPerExecution = 0
	e2.ExecuteWorkflow(MigrationWorkflowType, next)
	if e2.GetWorkflowError() != nil {
		t.Fatal(e2.GetWorkflowError())
	}
	if e2.begins != 1 || e2.pages != 3 || e2.finishes != 2 {
		t.Fatalf("after continue-as-new: begins=%d pages=%d finishes=%d, want the rest of the run (1 page), then one follow-up run (2 pages)",
			e2.begins, e2.pages, e2.finishes)
	}
}

// mockRecords stands in for the activities that only write the record:
// opening a direct trigger's Pending record and noting why a run waits.
func mockRecords(e *testsuite.TestWorkflowEnvironment) {
	var a *activities.Activities
	e.OnActivity(a.OpenPending, mock.Anything, mock.Anything).Return(store.StatusRecord{CorrelationID: "pending"}, nil).Maybe()
	e.OnActivity(a.NoteRun, mock.Anything, mock.Anything).Return(nil).Maybe()
}

// retryEnv: one page with two failed meetings; each retry fixes what
// fixedPerRetry says (the rest fail again).
func retryEnv(t *testing.T, fixedPerRetry []int) (*env, *int, *int) {
	var s testsuite.WorkflowTestSuite
	e := &env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(activities.Admission{}, nil).Maybe()
	mockRecords(e.TestWorkflowEnvironment)
	failing := []string{"m1", "m2"}
	prepares, retries := 0, 0
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(func(context.Context, activities.BeginRunInput) (activities.RunPlan, error) {
		e.beginTimes = append(e.beginTimes, e.Now())
		return activities.RunPlan{MigrationID: "m"}, nil
	})
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).Return(activities.PageResult{Updated: 8, Failed: 2}, nil)
	e.OnActivity(a.PrepareRetry, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RetryInput) ([]string, error) {
			prepares++
			if in.Attempt != prepares {
				t.Errorf("attempt %d on call %d", in.Attempt, prepares)
			}
			return append([]string(nil), failing...), nil
		})
	e.OnActivity(a.ProcessMeetings, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MeetingsInput) (activities.PageResult, error) {
			fixed := 0
			if retries < len(fixedPerRetry) {
				fixed = fixedPerRetry[retries]
			}
			retries++
			failing = failing[fixed:]
			return activities.PageResult{Updated: fixed, Failed: len(in.MeetingIDs) - fixed}, nil
		})
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishRunInput) (store.StatusRecord, error) {
			e.finishMsgs = append(e.finishMsgs, in.Message)
			return store.StatusRecord{State: migration.StateSucceeded}, nil
		})
	return e, &prepares, &retries
}

func TestFailedMeetingsAreRetriedUntilTheySucceed(t *testing.T) {
	e, prepares, retries := retryEnv(t, []int{1, 1})
	var status Status
	e.RegisterDelayedCallback(func() {
		v, _ := e.QueryWorkflow(StatusQuery)
		_ = v.Get(&status)
	}, 90*time.Minute) // after the first retry, before the second
	start := e.Now()
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", RetryIntervalSeconds: 3600,
		Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if *prepares != 2 || *retries != 2 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "" {
		t.Fatalf("prepares=%d retries=%d finish=%q", *prepares, *retries, e.finishMsgs)
	}
	if status.Retries != 1 || status.Failed != 1 || status.Updated != 9 {
		t.Fatalf("status between retries = %+v", status)
	}
	if took := e.Now().Sub(start); took < 2*time.Hour {
		t.Fatalf("two retries an hour apart took %s", took)
	}
}

func TestRetriesStopAtTheLimit(t *testing.T) {
	e, prepares, retries := retryEnv(t, nil) // never fixed
	start := e.Now()
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if *prepares != DefaultMaxRetries || *retries != DefaultMaxRetries || len(e.finishMsgs) != 1 {
		t.Fatalf("prepares=%d retries=%d finish=%q, want 9 retries then one finish", *prepares, *retries, e.finishMsgs)
	}
	if took := e.Now().Sub(start); took < DefaultRetryWindow || took > DefaultRetryWindow+time.Hour {
		t.Fatalf("9 retries took %s, want about 24h", took)
	}
}

func TestCancelDuringRetryWait(t *testing.T) {
	e, prepares, _ := retryEnv(t, nil)
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(CancelSignal, Cancel{By: "ops"}) }, 30*time.Minute)
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", RetryIntervalSeconds: 3600,
		Pending: []migration.Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if *prepares != 0 || len(e.finishMsgs) != 1 || e.finishMsgs[0] != "cancelled by ops" {
		t.Fatalf("prepares=%d finish=%q", *prepares, e.finishMsgs)
	}
}

func TestRetryFailedOfRerunsOnlyThoseMeetings(t *testing.T) {
	e := newEnv(t, 0, "")
	var a *activities.Activities
	var retried []string
	e.OnActivity(a.FailedMeetings, mock.Anything, "old-run").Return([]string{"x", "y"}, nil)
	e.OnActivity(a.ProcessMeetings, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MeetingsInput) (activities.PageResult, error) {
			retried = append(retried, in.MeetingIDs...)
			return activities.PageResult{Updated: len(in.MeetingIDs)}, nil
		})
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u",
		Pending: []migration.Trigger{{Reason: "retry failed", RetryFailedOf: "old-run"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.pages != 0 || len(retried) != 2 || e.finishes != 1 || e.finishMsgs[0] != "" {
		t.Fatalf("pages=%d retried=%v finish=%q: want only the failed meetings, no full run", e.pages, retried, e.finishMsgs)
	}

	// Merged with an ordinary trigger, it becomes a full run.
	e2 := newEnv(t, 0, "")
	e2.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u",
		Pending: []migration.Trigger{{Reason: "retry failed", RetryFailedOf: "old-run"}, {Reason: "event"}}})
	if e2.GetWorkflowError() != nil || e2.pages != 2 {
		t.Fatalf("merged: err=%v pages=%d, want a full run", e2.GetWorkflowError(), e2.pages)
	}
}
