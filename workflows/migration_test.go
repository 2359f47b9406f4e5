package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/store"
)

type env struct {
	*testsuite.TestWorkflowEnvironment
	begins, pages, finishes int
	finishMsgs              []string
	lastBegin               activities.BeginRunInput
}

// newEnv mocks the activities with counting fakes: these tests are about the
// workflow's orchestration; the activities run for real in the e2e test.
func newEnv(t *testing.T, pageDelay time.Duration, blocked string) *env {
	var s testsuite.WorkflowTestSuite
	e := &env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BeginRunInput) (activities.RunPlan, error) {
			e.begins++
			e.lastBegin = in
			return activities.RunPlan{MigrationID: "m" + in.RunKey, Blocked: blocked}, nil
		})
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).After(pageDelay).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			e.pages++
			if in.Cursor == "" {
				return activities.PageResult{NextCursor: "p2", Updated: 2}, nil
			}
			return activities.PageResult{Updated: 1, Skipped: 1}, nil
		})
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishRunInput) (store.Migration, error) {
			e.finishes++
			e.finishMsgs = append(e.finishMsgs, in.Message)
			state := store.StateSucceeded
			if in.Message != "" {
				state = store.StateFailed
			}
			return store.Migration{State: state}, nil
		})
	return e
}

func TestQuietPeriodMergesBurstIntoOneRun(t *testing.T) {
	e := newEnv(t, 0, "")
	quiet := Trigger{Reason: "licence assigned", QuietPeriodSeconds: 600}
	for i := 1; i <= 4; i++ { // four more triggers, 2 minutes apart: each re-arms the timer
		tr := quiet
		tr.Reason = "change " + string(rune('0'+i))
		if i == 4 {
			tr.TargetMeetingType = activities.TargetTeams
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
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []Trigger{quiet}})
	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", e.IsWorkflowCompleted(), e.GetWorkflowError())
	}
	if e.begins != 1 || e.pages != 2 || e.finishes != 1 {
		t.Fatalf("5 triggers in a burst: begins=%d pages=%d finishes=%d, want 1/2/1", e.begins, e.pages, e.finishes)
	}
	if status.State != StatePending || status.PendingTriggers != 5 {
		t.Fatalf("status during the quiet period = %+v, want Pending with 5 triggers", status)
	}
	if e.lastBegin.TargetMeetingType != activities.TargetTeams || e.lastBegin.Trigger != "change 4 (+4 merged)" {
		t.Fatalf("merged selection = %+v", e.lastBegin)
	}
}

func TestTriggerDuringRunCausesExactlyOneFollowUp(t *testing.T) {
	e := newEnv(t, time.Minute, "")
	// Three triggers arrive while the first run's pages are in flight.
	for _, at := range []time.Duration{30 * time.Second, 40 * time.Second, 70 * time.Second} {
		e.RegisterDelayedCallback(func() { e.SignalWorkflow(TriggerSignal, Trigger{Reason: "again"}) }, at)
	}
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []Trigger{{Reason: "manual"}}})
	if e.GetWorkflowError() != nil {
		t.Fatal(e.GetWorkflowError())
	}
	if e.begins != 2 || e.finishes != 2 {
		t.Fatalf("begins=%d finishes=%d, want 2 runs (the first and one follow-up)", e.begins, e.finishes)
	}
}

func TestBlockedRunFailsWithoutTouchingMeetings(t *testing.T) {
	e := newEnv(t, 0, "the organizer's mailbox is on premises")
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []Trigger{{Reason: "manual"}}})
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
