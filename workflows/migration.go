package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
)

var (
	saState  = temporal.NewSearchAttributeKeyKeyword(SearchAttrState)
	saTenant = temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant)
	saUser   = temporal.NewSearchAttributeKeyKeyword(SearchAttrUser)
)

// SearchAttributes are set when the workflow is started.
func SearchAttributes(tenantID, userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(saTenant.ValueSet(tenantID), saUser.ValueSet(userID),
		saState.ValueSet(string(migration.StatePending)))
}

const (
	// DefaultRunDeadline bounds one run, as Microsoft's service did.
	DefaultRunDeadline = 12 * time.Hour
	// DefaultPagesPerExecution keeps the history short: a page costs about
	// six events, so 500 pages stay under Temporal's 4,096-event suggestion.
	DefaultPagesPerExecution = 500
	// DefaultMaxRetries and DefaultRetryWindow: failed meetings are retried
	// up to 9 times over 24 hours, as Microsoft's service did.
	DefaultMaxRetries  = 9
	DefaultRetryWindow = 24 * time.Hour
	// retryBatch is how many failed meetings one ProcessMeetings retries.
	retryBatch = 50
)

// Change IDs for workflow.GetVersion: histories recorded before a change
// replay without it.
const (
	versionRunDeadline = "run-deadline"
	versionRetryFailed = "retry-failed"
	// versionTriggerSemantics: see run.go.
	// versionFloodControl: see flood.go.
)

// RunState is a run in progress, as carried over a continue-as-new. It is
// internal to the workflow: upstream callers never set Input.Resume.
type RunState struct {
	Plan     activities.RunPlan `json:"plan"`
	Cursor   string             `json:"cursor"`
	Deadline time.Time          `json:"deadline,omitzero"`
	Status   Status             `json:"status"`
	// Left is what the run deadline leaves to the run's activities, and V1
	// says the run is made under versionTriggerSemantics (run.go).
	Left time.Duration `json:"left,omitempty"`
	V1   bool          `json:"v1,omitempty"`
	// Skip: the meetings of the cursor's page done before flood control
	// deferred the rest of it.
	Skip []string `json:"skip,omitempty"`
	// Flood: the run is made under versionFloodControl.
	Flood bool `json:"flood,omitempty"`
}

// execution is the workflow's state.
type execution struct {
	in       Input
	st       *Status
	pending  []migration.Trigger
	cancel   *Cancel // set by the cancel signal
	triggers workflow.ReceiveChannel
	cancels  workflow.ReceiveChannel
	v1       bool // versionTriggerSemantics
	flood    bool // versionFloodControl
	v2       bool // versionServedTriggers (run.go)
	last     *lastRun
}

// Migration is the per-user workflow. It waits for triggers, lets a quiet
// period pass without new ones, runs one migration for all of them, and
// repeats while triggers arrived during the run; then it completes. A long
// run continues as new, carrying its cursor, counters and pending triggers.
func Migration(ctx workflow.Context, in Input) error {
	w := &execution{in: in, st: &Status{TenantID: in.TenantID, UserID: in.UserID, State: migration.StatePending},
		pending:  append([]migration.Trigger(nil), in.Pending...),
		triggers: workflow.GetSignalChannel(ctx, TriggerSignal),
		cancels:  workflow.GetSignalChannel(ctx, CancelSignal)}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) {
		s := *w.st
		s.PendingTriggers = len(w.pending)
		return s, nil
	}); err != nil {
		return err
	}
	w.v1 = workflow.GetVersion(ctx, versionTriggerSemantics, workflow.DefaultVersion, 1) >= 1
	if w.v1 {
		w.flood = w.floodControl(ctx, in.Resume)
	}
	w.v2 = w.v1 && workflow.GetVersion(ctx, versionServedTriggers, workflow.DefaultVersion, 1) >= 1
	switch {
	case in.Resume != nil && in.Resume.V1:
		if err := w.resumeV1(ctx, *in.Resume); err != nil {
			return err
		}
	case in.Resume != nil:
		*w.st = in.Resume.Status
		if err := w.pages(ctx, *in.Resume); err != nil {
			return err
		}
	}
	for {
		w.drain()
		if w.serve(ctx) {
			continue // it waited on an activity: signals may have come
		}
		if len(w.pending) == 0 {
			if w.lateCancel(ctx) {
				continue
			}
			// Signal-with-start delivers the first trigger with the start, so
			// an empty queue here means every trigger has been served.
			return nil
		}
		if w.v1 {
			w.recordTriggers(ctx)
		}
		w.setState(ctx, migration.StatePending, fmt.Sprintf("Waiting for a quiet period: %d trigger(s).", len(w.pending)))
		w.quietPeriod(ctx)
		if w.flood {
			w.admit(ctx)
		}
		w.drain()
		if w.serve(ctx) && len(w.pending) == 0 {
			// All served while waiting: nothing to run.
			w.setState(ctx, migration.StateIdle, "Last run "+w.st.LastResult)
			continue
		}
		run := w.run
		if w.v1 {
			w.recordTriggers(ctx)
			run = w.runV1
		}
		batch := w.pending
		w.pending = nil
		w.st.Round++
		if err := run(ctx, batch); err != nil {
			return err
		}
	}
}

// drain takes every signal already delivered.
func (w *execution) drain() {
	for {
		var t migration.Trigger
		if !w.triggers.ReceiveAsync(&t) {
			break
		}
		w.pending = append(w.pending, t)
	}
	var c Cancel
	for w.cancels.ReceiveAsync(&c) {
		cc := c
		w.cancel = &cc
	}
}

// quietPeriod waits until no trigger has arrived for the latest trigger's
// quiet period; a cancel ends the wait at once.
func (w *execution) quietPeriod(ctx workflow.Context) {
	for w.cancel == nil {
		quiet := time.Duration(w.pending[len(w.pending)-1].QuietPeriodSeconds) * time.Second
		if quiet <= 0 {
			return
		}
		if w.wait(ctx, quiet, true) {
			return
		}
		if w.v1 {
			w.recordTriggers(ctx)
		}
	}
}

// wait sleeps for d unless a cancel (or, with triggers, a trigger) arrives
// first; it reports whether the full time passed.
func (w *execution) wait(ctx workflow.Context, d time.Duration, triggers bool) (fired bool) {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, d), func(f workflow.Future) { fired = f.Get(ctx, nil) == nil })
	if triggers {
		sel.AddReceive(w.triggers, func(c workflow.ReceiveChannel, _ bool) {
			var t migration.Trigger
			c.Receive(ctx, &t)
			w.pending = append(w.pending, t)
		})
	}
	sel.AddReceive(w.cancels, func(c workflow.ReceiveChannel, _ bool) {
		var cc Cancel
		c.Receive(ctx, &cc)
		w.cancel = &cc
	})
	sel.Select(ctx)
	return fired
}

var acts *activities.Activities // method values name the activities

func shortOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
}

// run starts one migration round for a merged batch of triggers.
func (w *execution) run(ctx workflow.Context, batch []migration.Trigger) error {
	info := workflow.GetInfo(ctx)
	sel := migration.Merge(batch...)
	var plan activities.RunPlan
	if err := workflow.ExecuteActivity(shortOptions(ctx), acts.BeginRun, activities.BeginRunInput{
		TenantID: w.in.TenantID, UserID: w.in.UserID, WorkflowID: info.WorkflowExecution.ID,
		RunKey:  fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, w.st.Round),
		Trigger: sel.Reason, SourceMeetingType: sel.Source, TargetMeetingType: sel.Target,
		DryRun: w.in.DryRun, CorrelationID: w.in.CorrelationID,
	}).Get(ctx, &plan); err != nil {
		return err
	}
	*w.st = Status{TenantID: w.st.TenantID, UserID: w.st.UserID, Round: w.st.Round, CorrelationID: plan.MigrationID,
		State: w.st.State, indexed: w.st.indexed}
	w.drain()
	switch {
	case w.cancel != nil: // cancelled while waiting: the admin's word is the record's
		return w.finish(ctx, plan.MigrationID, "cancelled by "+w.cancel.who())
	case plan.Blocked != "":
		return w.finish(ctx, plan.MigrationID, plan.Blocked)
	}
	if sel.RetryFailedOf != "" {
		return w.retryOnly(ctx, plan, sel.RetryFailedOf)
	}
	rs := RunState{Plan: plan}
	if workflow.GetVersion(ctx, versionRunDeadline, workflow.DefaultVersion, 1) >= 1 {
		deadline := time.Duration(w.in.RunDeadlineSeconds) * time.Second
		if deadline <= 0 {
			deadline = DefaultRunDeadline
		}
		rs.Deadline = workflow.Now(ctx).Add(deadline)
	}
	return w.pages(ctx, rs)
}

// pages migrates the meetings page by page from rs.Cursor, then finishes
// the run: on the last page, at the deadline, or on a cancel. Past the
// execution's page budget it continues as new, carrying the run.
func (w *execution) pages(ctx workflow.Context, rs RunState) error {
	w.setState(ctx, migration.StateInProgress, "Migrating meetings.")
	pageCtx, cancelPages := workflow.WithCancel(ctx)
	defer cancelPages()
	pageCtx = batchOptions(pageCtx)
	var deadline workflow.Future
	if !rs.Deadline.IsZero() {
		// max: a resumed run may already be past its deadline.
		deadline = workflow.NewTimer(pageCtx, max(rs.Deadline.Sub(workflow.Now(ctx)), time.Second))
	}
	budget := w.in.PagesPerExecution
	if budget <= 0 {
		budget = DefaultPagesPerExecution
	}
	for done := 0; ; done++ {
		w.drain()
		if w.cancel != nil {
			return w.finish(ctx, rs.Plan.MigrationID, "cancelled by "+w.cancel.who())
		}
		if done >= budget || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in := w.in
			in.Pending, in.Resume = w.pending, &RunState{Plan: rs.Plan, Cursor: rs.Cursor, Deadline: rs.Deadline, Status: *w.st}
			return workflow.NewContinueAsNewError(ctx, MigrationWorkflowType, in)
		}
		page := workflow.ExecuteActivity(pageCtx, acts.ProcessPage, activities.PageInput{Plan: rs.Plan, Cursor: rs.Cursor})
		expired := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(page, func(workflow.Future) {})
		if deadline != nil {
			sel.AddFuture(deadline, func(workflow.Future) { expired = true })
		}
		sel.Select(ctx)
		if expired {
			cancelPages() // the page stops after its current meeting and records it
			_ = page.Get(ctx, nil)
			return w.finish(ctx, rs.Plan.MigrationID, fmt.Sprintf(
				"run deadline reached after %d pages: later meetings were not migrated; start the migration again to continue",
				w.st.Pages))
		}
		var pr activities.PageResult
		if err := page.Get(ctx, &pr); err != nil {
			return w.finish(ctx, rs.Plan.MigrationID, "stopped after repeated errors: "+rootMessage(err))
		}
		w.st.Pages++
		w.st.Updated += pr.Updated
		w.st.UpToDate += pr.UpToDate
		w.st.Skipped += pr.Skipped
		w.st.Failed += pr.Failed
		w.setState(ctx, migration.StateInProgress, "")
		if pr.NextCursor == "" {
			return w.retryFailed(ctx, rs.Plan, cancelPages)
		}
		rs.Cursor = pr.NextCursor
	}
}

// retryOnly migrates again only the meetings that failed in record retryOf,
// recording them in this run's record, then retries as any run does.
func (w *execution) retryOnly(ctx workflow.Context, plan activities.RunPlan, retryOf string) error {
	w.setState(ctx, migration.StateInProgress, "Retrying the meetings that failed in "+retryOf+".")
	var ids []string
	if err := workflow.ExecuteActivity(shortOptions(ctx), acts.FailedMeetings, retryOf).Get(ctx, &ids); err != nil {
		return err
	}
	if stop := w.processMeetings(ctx, plan, ids); stop != "" {
		return w.finish(ctx, plan.MigrationID, stop)
	}
	return w.retryFailed(ctx, plan, func() {})
}

// processMeetings migrates named meetings in batches, adding their outcomes
// to the counters. A non-empty result is why it had to stop.
func (w *execution) processMeetings(ctx workflow.Context, plan activities.RunPlan, ids []string) string {
	for i := 0; i < len(ids); i += retryBatch {
		batch := ids[i:min(i+retryBatch, len(ids))]
		var pr activities.PageResult
		if err := workflow.ExecuteActivity(batchOptions(ctx), acts.ProcessMeetings,
			activities.MeetingsInput{Plan: plan, MeetingIDs: batch}).Get(ctx, &pr); err != nil {
			return "stopped after repeated errors: " + rootMessage(err)
		}
		w.st.Failed += pr.Failed
		w.st.Updated += pr.Updated
		w.st.UpToDate += pr.UpToDate
		w.st.Skipped += pr.Skipped
	}
	return ""
}

// batchOptions are for activities that work through a batch of meetings.
func batchOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		WaitForCancellation: true, // a cancelled batch records what it finished
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10},
	})
}

// retryFailed retries the run's failed meetings, waiting between attempts,
// up to the retry limit; then it finishes the run (Failed if some still fail).
//
// stopDeadline cancels the run's deadline timer, which covers the pages, not
// the retries; it is called only once retrying, since cancelling it before
// FinishRun would change the command order of runs without failures.
func (w *execution) retryFailed(ctx workflow.Context, plan activities.RunPlan, stopDeadline func()) error {
	if w.st.Failed == 0 || plan.DryRun ||
		workflow.GetVersion(ctx, versionRetryFailed, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return w.finish(ctx, plan.MigrationID, "")
	}
	stopDeadline()
	maxRetries := w.in.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	interval := time.Duration(w.in.RetryIntervalSeconds) * time.Second
	if interval <= 0 {
		interval = DefaultRetryWindow / time.Duration(maxRetries)
	}
	for attempt := 1; attempt <= maxRetries && w.st.Failed > 0; attempt++ {
		w.setState(ctx, migration.StateInProgress, fmt.Sprintf("%d meeting(s) failed: retry %d of %d in %s.",
			w.st.Failed, attempt, maxRetries, interval))
		if !w.wait(ctx, interval, false) {
			return w.finish(ctx, plan.MigrationID, "cancelled by "+w.cancel.who())
		}
		var ids []string
		if err := workflow.ExecuteActivity(shortOptions(ctx), acts.PrepareRetry,
			activities.RetryInput{MigrationID: plan.MigrationID, Attempt: attempt}).Get(ctx, &ids); err != nil {
			return err
		}
		w.st.Retries = attempt
		if len(ids) == 0 { // the database is the truth: nothing left to retry
			w.st.Failed = 0
			break
		}
		w.st.Failed -= len(ids) // counted again by what they are now
		if stop := w.processMeetings(ctx, plan, ids); stop != "" {
			return w.finish(ctx, plan.MigrationID, stop)
		}
	}
	return w.finish(ctx, plan.MigrationID, "")
}

// finish closes the run's record; a message fails it.
func (w *execution) finish(ctx workflow.Context, migrationID, msg string) error {
	w.cancel = nil // a cancel ends one run; later triggers start afresh
	var rec struct {
		State migration.State `json:"state"`
	}
	if err := workflow.ExecuteActivity(shortOptions(ctx), acts.FinishRun,
		activities.FinishRunInput{MigrationID: migrationID, Message: msg}).Get(ctx, &rec); err != nil {
		return err
	}
	w.st.LastResult = string(rec.State)
	if msg != "" {
		w.st.LastResult += ": " + msg
	}
	w.setState(ctx, migration.StateIdle, "Last run "+w.st.LastResult)
	return nil
}

func (w *execution) setState(ctx workflow.Context, state migration.State, note string) {
	st := w.st
	if st.indexed != state {
		// Each upsert is a history event: only when the state changes.
		_ = workflow.UpsertTypedSearchAttributes(ctx, saState.ValueSet(string(state)))
		st.indexed = state
	}
	st.State = state
	details := fmt.Sprintf("**%s** — round %d, correlation ID `%s`\n\nupdated %d, up to date %d, skipped %d, failed %d",
		state, st.Round, st.CorrelationID, st.Updated, st.UpToDate, st.Skipped, st.Failed)
	if note != "" {
		details += "\n\n" + note
	}
	workflow.SetCurrentDetails(ctx, details)
}

// rootMessage is the cause of an activity failure, without Temporal's wrapping.
func rootMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
