package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
)

// versionFloodControl (issue 21): a run waits, Pending, while the tenant's
// maintenance window is closed or a budget is spent (AdmitRun), and its
// batches stop before an update that would cross a budget or fall outside
// the window; the workflow waits on a timer and goes on with the rest.
// Budgets are store counters every worker reserves from with a
// compare-and-set (activities/flood.go). Executions recorded before it
// replay without it.
const versionFloodControl = "flood-control"

// floodControl decides once per execution whether its runs use flood
// control. A run carried over a continue-as-new keeps what it began with.
func (w *execution) floodControl(ctx workflow.Context, resume *RunState) bool {
	if resume != nil && resume.V1 && !resume.Flood {
		return false
	}
	return workflow.GetVersion(ctx, versionFloodControl, workflow.DefaultVersion, 1) >= 1
}

// admit waits, Pending, until the tenant lets a run begin; triggers that
// arrive meanwhile join the run, and a cancel ends the wait (the run is
// then recorded cancelled). A dry run sends nothing and never waits.
func (w *execution) admit(ctx workflow.Context) {
	if w.in.DryRun {
		return
	}
	for w.cancel == nil {
		var adm activities.Admission
		if err := workflow.ExecuteActivity(shortOptions(ctx), acts.AdmitRun,
			activities.AdmitInput{TenantID: w.in.TenantID, UserID: w.in.UserID}).Get(ctx, &adm); err != nil || adm.Wait <= 0 {
			// A gate that cannot be read lets the run begin: each update
			// still reserves its budget and respects the window.
			return
		}
		w.setState(ctx, migration.StatePending, adm.Message)
		w.wait(ctx, adm.Wait, true)
		w.recordTriggers(ctx)
	}
}

// deferred waits out a batch that flood control stopped: the record says
// why, and a cancel ends the wait (errCancelled).
func (r *runner) deferred(ctx workflow.Context, pr activities.PageResult) error {
	_ = workflow.ExecuteActivity(shortOptions(ctx), acts.NoteRun, activities.NoteRunInput{
		MigrationID: r.plan.MigrationID, Message: pr.WaitMessage}).Get(ctx, nil)
	r.w.setState(ctx, migration.StateInProgress, pr.WaitMessage)
	if !r.w.wait(ctx, pr.Wait, false) && r.w.cancel != nil {
		return errCancelled
	}
	return nil
}
