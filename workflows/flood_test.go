package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// Flood control in the workflow (issue 21): a run waits, on a timer, while
// AdmitRun says the window is closed, then begins; a page that flood
// control stops is asked for again after its wait, without the meetings it
// did, and the wait's reason is noted on the record. Nothing sleeps in an
// activity: the waits are the workflow's timers.
func TestFloodControlWaitsOnTimers(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestWorkflowEnvironment()
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	const windowMsg = "waiting for the maintenance window (opens Tue 20:00 Europe/Paris)"
	const budgetMsg = "notification budget: resumes at 14:00"
	admits := 0
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(func(context.Context, activities.AdmitInput) (activities.Admission, error) {
		if admits++; admits == 1 {
			return activities.Admission{Wait: 3 * time.Hour, Message: windowMsg}, nil
		}
		return activities.Admission{}, nil
	})
	var began time.Time
	var begin activities.BeginRunInput
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginRunInput) (activities.RunPlan, error) {
		began, begin = e.Now(), in
		return activities.RunPlan{MigrationID: "m"}, nil
	})
	var notes []string
	e.OnActivity(a.OpenPending, mock.Anything, mock.Anything).Return(store.StatusRecord{CorrelationID: "pending"}, nil).Maybe()
	e.OnActivity(a.NoteRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NoteRunInput) error {
		notes = append(notes, in.Message)
		return nil
	})
	var pages []activities.PageInput
	var resumed time.Time
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
		pages = append(pages, in)
		switch len(pages) {
		case 1: // two of the page's meetings done, then the budget is spent
			return activities.PageResult{Deferred: true, NextCursor: "", Updated: 2, Wait: 40 * time.Minute,
				WaitMessage: budgetMsg, Done: []string{"a", "b"}}, nil
		case 2:
			resumed = e.Now()
			return activities.PageResult{NextCursor: "p2", Updated: 3}, nil
		}
		return activities.PageResult{Updated: 1}, nil
	})
	var finished activities.FinishRunInput
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishRunInput) (store.StatusRecord, error) {
		finished = in
		return store.StatusRecord{State: migration.StateSucceeded}, nil
	})
	start := e.Now()
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", Pending: []migration.Trigger{{Reason: "bridge"}}})
	if err := e.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if admits != 2 || began.Sub(start) < 3*time.Hour || !begin.FloodControl {
		t.Fatalf("admitted after %d checks, began after %s, flood control %v", admits, began.Sub(start), begin.FloodControl)
	}
	if len(pages) != 3 || pages[1].Cursor != "" || !slices.Equal(pages[1].Skip, []string{"a", "b"}) || pages[2].Cursor != "p2" || pages[2].Skip != nil {
		t.Fatalf("pages asked: %+v", pages)
	}
	if resumed.Sub(began) < 40*time.Minute {
		t.Fatalf("the deferred page resumed %s after the run began", resumed.Sub(began))
	}
	if !slices.Contains(notes, budgetMsg) {
		t.Fatalf("notes %q", notes)
	}
	var st Status
	if v, err := e.QueryWorkflow(StatusQuery); err != nil || v.Get(&st) != nil || st.Updated != 6 || st.Pages != 2 {
		t.Fatalf("status %+v, %v (want 6 updated over 2 pages)", st, err)
	}
	if finished.Message != "" {
		t.Fatalf("finished with %q", finished.Message)
	}
}

// A dry run sends nothing: it never waits for flood control.
func TestDryRunIsNotAdmitted(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestWorkflowEnvironment()
	e.RegisterWorkflowWithOptions(Migration, workflow.RegisterOptions{Name: MigrationWorkflowType})
	var a *activities.Activities
	e.RegisterActivity(a)
	admits := 0
	e.OnActivity(a.AdmitRun, mock.Anything, mock.Anything).Return(func(context.Context, activities.AdmitInput) (activities.Admission, error) {
		admits++
		return activities.Admission{Wait: time.Hour, Message: "closed"}, nil
	}).Maybe()
	mockRecords(e)
	e.OnActivity(a.BeginRun, mock.Anything, mock.Anything).Return(activities.RunPlan{MigrationID: "d", DryRun: true}, nil)
	e.OnActivity(a.ProcessPage, mock.Anything, mock.Anything).Return(activities.PageResult{Updated: 1}, nil)
	e.OnActivity(a.FinishRun, mock.Anything, mock.Anything).Return(store.StatusRecord{State: migration.StateSucceeded}, nil)
	start := e.Now()
	e.ExecuteWorkflow(MigrationWorkflowType, Input{TenantID: "t", UserID: "u", DryRun: true, CorrelationID: "d",
		Pending: []migration.Trigger{{Reason: "dry"}}})
	if err := e.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if admits != 0 || e.Now().Sub(start) >= time.Hour {
		t.Fatalf("a dry run was checked %d times against flood control and took %s", admits, e.Now().Sub(start))
	}
}
