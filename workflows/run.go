package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// versionTriggerSemantics (issue 16) changes how a run is made: triggers
// merge by meaning, a direct trigger opens its Pending record and may carry
// its change, the run's switches are checked again, an orchestration step
// that keeps failing (or a page out of attempts) waits and retries in the
// run's retry budget instead of failing the workflow, a trigger ends a
// retry wait, and the run deadline bounds the time every activity of the
// run takes, not only its pages. Executions recorded before it replay the
// code they were recorded with (run, pages, retryFailed in migration.go).
const versionTriggerSemantics = "trigger-semantics"

// versionServedTriggers (issue 18) stops a finished run from being followed
// by an empty one, and keeps a late cancel on the record:
//   - a trigger that arrives once a run has begun is served by that run
//     when it asks for nothing the run did not do (its meeting types are
//     within the run's, it carries no change of its own to apply, it is no
//     retry of failures) and the run's plan still holds (the profile and
//     the tenant's block settings the run used are unchanged). Whether it
//     came before the run read the calendar or after, a new run would read
//     the same profile and write nothing: so the run's record counts it
//     and says so, and its own Pending record, if it has one, is folded
//     into the run's instead of becoming a run that updates nothing;
//   - a cancel that arrives after the last page (or after the run
//     finished, while the workflow still takes triggers) is written on the
//     run's record: "cancel arrived after the last page".
//
// Only a run that Succeeded serves later triggers: after a failure, a new
// trigger is a new chance. Executions recorded before the change replay
// without either.
const versionServedTriggers = "served-triggers"

// The ways a run stops early; the run's record is finished with the reason.
var (
	errCancelled  = errors.New("cancelled")
	errExpired    = errors.New("run deadline reached")
	errSuperseded = errors.New("superseded by a new trigger")
)

// gaveUp: an orchestration step still failed when the run's retries were spent.
type gaveUp struct{ cause string }

func (g gaveUp) Error() string { return g.cause }

// runner is one run under versionTriggerSemantics: its record, its retry
// budget and the time its activities may still take.
type runner struct {
	w         *execution
	key       string // BeginRun's run key: finds the record before BeginRun returned it
	plan      activities.RunPlan
	left      time.Duration // of the run deadline
	retries   int
	max       int
	interval  time.Duration
	retryOnly bool
	cancelled bool // ended by a cancel (not merely one that came late)
}

func (w *execution) newRunner(key string, left time.Duration, retries int) *runner {
	r := &runner{w: w, key: key, left: left, retries: retries, max: w.in.MaxRetries,
		interval: time.Duration(w.in.RetryIntervalSeconds) * time.Second}
	if r.max <= 0 {
		r.max = DefaultMaxRetries
	}
	if r.interval <= 0 {
		r.interval = DefaultRetryWindow / time.Duration(r.max)
	}
	return r
}

// runV1 is run under versionTriggerSemantics.
func (w *execution) runV1(ctx workflow.Context, batch []migration.Trigger) error {
	info := workflow.GetInfo(ctx)
	sel := migration.Merge(batch...)
	deadline := time.Duration(w.in.RunDeadlineSeconds) * time.Second
	if deadline <= 0 {
		deadline = DefaultRunDeadline
	}
	r := w.newRunner(fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, w.st.Round), deadline, 0)
	in := activities.BeginRunInput{
		TenantID: w.in.TenantID, UserID: w.in.UserID, WorkflowID: info.WorkflowExecution.ID, RunKey: r.key,
		Trigger: sel.Reason, SourceMeetingType: sel.Source, TargetMeetingType: sel.Target,
		DryRun: w.in.DryRun, CorrelationID: w.in.CorrelationID, Merged: sel.Merged,
		CheckSwitches: !sel.Manual && !w.in.DryRun, ReplaceThirdParty: sel.ReplaceThirdParty, EventsOnly: true,
		FloodControl: w.flood,
	}
	for i, t := range batch {
		if err := t.Validate(); err != nil && in.Refused == "" {
			in.Refused = err.Error()
		}
		if len(t.Event) == 0 {
			in.EventsOnly = false
			continue
		}
		in.Events = append(in.Events, activities.TriggerEvent{Key: fmt.Sprintf("%s/event/%d", r.key, i), Event: t.Event})
	}
	if len(in.Events) == 0 {
		in.EventsOnly = false
	}
	if err := r.step(ctx, "begin run", true, func(c workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(shortOptions(c), acts.BeginRun, in)
	}, &r.plan); err != nil {
		return r.end(ctx, err)
	}
	*w.st = Status{TenantID: w.st.TenantID, UserID: w.st.UserID, Round: w.st.Round, CorrelationID: r.plan.MigrationID,
		State: w.st.State, indexed: w.st.indexed, Retries: r.retries}
	w.drain()
	switch {
	case w.cancel != nil:
		return r.end(ctx, errCancelled)
	case r.plan.Blocked != "":
		return r.finish(ctx, r.plan.Blocked)
	}
	if sel.RetryFailedOf != "" {
		r.retryOnly = true
		w.setState(ctx, migration.StateInProgress, "Retrying the meetings that failed in "+sel.RetryFailedOf+".")
		var ids []string
		if err := r.step(ctx, "list failed meetings", true, func(c workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(shortOptions(c), acts.FailedMeetings, sel.RetryFailedOf)
		}, &ids); err != nil {
			return r.end(ctx, err)
		}
		if err := r.meetings(ctx, ids); err != nil {
			return r.end(ctx, err)
		}
		return r.retry(ctx)
	}
	return r.pages(ctx, "", nil)
}

// resumeV1 goes on with a run carried over a continue-as-new.
func (w *execution) resumeV1(ctx workflow.Context, rs RunState) error {
	*w.st = rs.Status
	r := w.newRunner("", rs.Left, rs.Status.Retries)
	r.retryOnly = false
	r.plan = rs.Plan
	return r.pages(ctx, rs.Cursor, rs.Skip)
}

// pages migrates the meetings page by page from cursor, then retries the
// failed ones. Past the execution's page budget it continues as new.
//
// skip lists meetings of the cursor's page already done, when flood
// control deferred the rest of it.
func (r *runner) pages(ctx workflow.Context, cursor string, skip []string) error {
	w := r.w
	w.setState(ctx, migration.StateInProgress, "Migrating meetings.")
	budget := w.in.PagesPerExecution
	if budget <= 0 {
		budget = DefaultPagesPerExecution
	}
	for done := 0; ; done++ {
		w.drain()
		if w.cancel != nil {
			return r.end(ctx, errCancelled)
		}
		if done >= budget || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in := w.in
			st := *w.st
			st.Retries = r.retries
			in.Pending, in.Resume = w.pending, &RunState{Plan: r.plan, Cursor: cursor, Status: st, Left: r.left, V1: true,
				Deadline: workflow.Now(ctx).Add(r.left), // Deadline: for a person reading the input
				Skip:     skip, Flood: w.flood}
			return workflow.NewContinueAsNewError(ctx, MigrationWorkflowType, in)
		}
		var pr activities.PageResult
		if err := r.step(ctx, "page", true, func(c workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(batchOptions(c), acts.ProcessPage, activities.PageInput{Plan: r.plan, Cursor: cursor, Skip: skip})
		}, &pr); err != nil {
			return r.end(ctx, err)
		}
		w.count(pr)
		if pr.Deferred {
			if err := r.deferred(ctx, pr); err != nil {
				return r.end(ctx, err)
			}
			skip = pr.Done
			continue
		}
		skip = nil
		w.st.Pages++
		w.setState(ctx, migration.StateInProgress, "")
		if pr.NextCursor == "" {
			return r.retry(ctx)
		}
		cursor = pr.NextCursor
	}
}

// meetings migrates named meetings in batches.
// A batch that flood control deferred goes on, after the wait, with the
// meetings it did not do.
func (r *runner) meetings(ctx workflow.Context, ids []string) error {
	for i := 0; i < len(ids); i += retryBatch {
		batch := ids[i:min(i+retryBatch, len(ids))]
		for len(batch) > 0 {
			var pr activities.PageResult
			if err := r.step(ctx, "retry batch", true, func(c workflow.Context) workflow.Future {
				return workflow.ExecuteActivity(batchOptions(c), acts.ProcessMeetings, activities.MeetingsInput{Plan: r.plan, MeetingIDs: batch})
			}, &pr); err != nil {
				return err
			}
			r.w.count(pr)
			if !pr.Deferred {
				break
			}
			if err := r.deferred(ctx, pr); err != nil {
				return err
			}
			batch = slices.DeleteFunc(slices.Clone(batch), func(id string) bool { return slices.Contains(pr.Done, id) })
		}
	}
	return nil
}

// retry retries the run's failed meetings in what is left of its retry
// budget, then finishes the run.
func (r *runner) retry(ctx workflow.Context) error {
	w := r.w
	for w.st.Failed > 0 && !r.plan.DryRun && r.retries < r.max {
		r.retries++
		w.setState(ctx, migration.StateInProgress, fmt.Sprintf("%d meeting(s) failed: retry %d of %d in %s.",
			w.st.Failed, r.retries, r.max, r.interval))
		if err := r.wait(ctx, true); err != nil {
			return r.end(ctx, err)
		}
		w.st.Retries = r.retries
		var ids []string
		attempt := r.retries
		if err := r.step(ctx, "prepare retry", true, func(c workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(shortOptions(c), acts.PrepareRetry,
				activities.RetryInput{MigrationID: r.plan.MigrationID, Attempt: attempt})
		}, &ids); err != nil {
			return r.end(ctx, err)
		}
		if len(ids) == 0 { // the database is the truth: nothing left to retry
			w.st.Failed = 0
			break
		}
		w.st.Failed -= len(ids) // counted again by what they are now
		if err := r.meetings(ctx, ids); err != nil {
			return r.end(ctx, err)
		}
	}
	return r.finish(ctx, "")
}

// step runs one activity of the run until it succeeds. An activity out of
// its own attempts puts the run into the retry path of failed meetings:
// the cause is noted on the record, the run waits the retry interval (a
// trigger or a cancel ends the wait) and tries again, while its retries
// last; then it gives up with the cause. With timed, the activity counts
// against the run deadline (cancelled when it is reached).
func (r *runner) step(ctx workflow.Context, what string, timed bool, start func(workflow.Context) workflow.Future, out any) error {
	for {
		err := r.once(ctx, timed, start, out)
		switch {
		case err == nil || errors.Is(err, errExpired):
			return err
		case r.w.cancel != nil:
			return errCancelled
		}
		cause := what + ": " + rootMessage(err)
		if r.retries >= r.max {
			return gaveUp{fmt.Sprintf("%s (gave up after %d retries)", cause, r.retries)}
		}
		r.retries++
		note := fmt.Sprintf("%s; retry %d of %d in %s", cause, r.retries, r.max, r.interval)
		r.note(ctx, note)
		r.w.setState(ctx, migration.StateInProgress, note)
		if err := r.wait(ctx, true); err != nil {
			return err
		}
		r.w.st.Retries = r.retries
	}
}

// once runs the activity start makes, against the run deadline when timed.
func (r *runner) once(ctx workflow.Context, timed bool, start func(workflow.Context) workflow.Future, out any) error {
	actx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	f := start(actx)
	if !timed {
		return f.Get(ctx, out)
	}
	began, expired := workflow.Now(ctx), false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(f, func(workflow.Future) {})
	sel.AddFuture(workflow.NewTimer(actx, max(r.left, time.Second)), func(t workflow.Future) {
		expired = t.Get(ctx, nil) == nil
	})
	sel.Select(ctx)
	if expired {
		cancel() // a batch stops after its current meeting and records what it did
		_ = f.Get(ctx, nil)
		r.left = 0
		return errExpired
	}
	r.left -= workflow.Now(ctx).Sub(began)
	return f.Get(ctx, out)
}

// wait sleeps the retry interval; a cancel or (with triggers) a trigger
// ends it early.
func (r *runner) wait(ctx workflow.Context, triggers bool) error {
	if r.w.wait(ctx, r.interval, triggers) {
		return nil
	}
	if r.w.cancel != nil {
		return errCancelled
	}
	return errSuperseded
}

// note writes why the run waits on its record; a store that cannot take
// it leaves the note to the next attempt.
func (r *runner) note(ctx workflow.Context, msg string) {
	_ = workflow.ExecuteActivity(shortOptions(ctx), acts.NoteRun, activities.NoteRunInput{
		MigrationID: r.plan.MigrationID, TenantID: r.w.in.TenantID, UserID: r.w.in.UserID, RunKey: r.key,
		Message: msg, Attempt: r.retries}).Get(ctx, nil)
}

// end finishes the run stopped by err, with the message its record keeps.
func (r *runner) end(ctx workflow.Context, err error) error {
	var g gaveUp
	switch {
	case errors.Is(err, errCancelled):
		r.cancelled = true
		return r.finish(ctx, "cancelled by "+r.w.cancel.who())
	case errors.Is(err, errExpired) && r.w.st.Retries == 0 && !r.retryOnly:
		return r.finish(ctx, fmt.Sprintf("run deadline reached after %d pages: later meetings were not migrated; "+
			"start the migration again to continue", r.w.st.Pages))
	case errors.Is(err, errExpired):
		return r.finish(ctx, fmt.Sprintf("run deadline reached while retrying: %d meeting(s) still failed", r.w.st.Failed))
	case errors.Is(err, errSuperseded):
		return r.finish(ctx, fmt.Sprintf("superseded: a new trigger arrived during the retry wait; "+
			"the next run migrates every meeting again, the %d that failed included", r.w.st.Failed))
	case errors.As(err, &g):
		return r.finish(ctx, g.cause)
	}
	return err
}

// finish closes the run's record (Failed with msg when set); FinishRun
// itself is retried in the run's budget, deaf to triggers: they are served
// by the next run.
func (r *runner) finish(ctx workflow.Context, msg string) error {
	w := r.w
	var note string
	if w.v2 {
		w.drain() // a cancel that came during the last page
		if w.cancel != nil && !r.cancelled {
			note = lateCancelNote(*w.cancel, msg == "")
		}
	}
	w.cancel = nil // a cancel ends one run; later triggers start afresh
	var rec struct {
		State        migration.State `json:"state"`
		TriggerCount int             `json:"triggerCount"`
		LastMessage  string          `json:"lastMessage"`
	}
	in := activities.FinishRunInput{MigrationID: r.plan.MigrationID, Message: msg, Note: note}
	if in.MigrationID == "" {
		in.TenantID, in.UserID, in.RunKey = w.in.TenantID, w.in.UserID, r.key
	}
	for {
		err := workflow.ExecuteActivity(shortOptions(ctx), acts.FinishRun, in).Get(ctx, &rec)
		if err == nil {
			break
		}
		if r.retries >= r.max {
			// Nothing is left to record it with: the sweep fails the
			// record once this workflow has ended.
			return err
		}
		r.retries++
		w.wait(ctx, r.interval, false)
	}
	w.st.LastResult = string(rec.State)
	if msg != "" {
		w.st.LastResult += ": " + msg
	}
	if w.v2 {
		w.last = &lastRun{plan: r.plan, triggers: rec.TriggerCount, message: rec.LastMessage,
			serves: rec.State == migration.StateSucceeded && r.plan.Blocked == "" && !r.plan.DryRun && !r.retryOnly}
	}
	w.setState(ctx, migration.StateIdle, "Last run "+w.st.LastResult)
	return nil
}

// lastRun is the run this execution finished last, as its record stands.
type lastRun struct {
	plan     activities.RunPlan
	serves   bool     // a full run that Succeeded: it can serve later triggers
	triggers int      // its record's trigger count when it finished
	message  string   // its record's LastMessage when it finished
	notes    []string // cancels that came after it finished
	served   int      // later triggers it served
	records  []store.Served
}

// covers says whether the run did everything t asks for (versionServedTriggers).
func (l *lastRun) covers(t migration.Trigger) bool {
	if !l.serves || len(t.Event) > 0 || t.RetryFailedOf != "" || t.Validate() != nil {
		return false
	}
	s := migration.Merge(t)
	return migration.WidenSource(l.plan.SourceMeetingType, s.Source) == l.plan.SourceMeetingType &&
		(s.Target != migration.TargetTeams || l.plan.TargetMeetingType == migration.TargetTeams) &&
		(!s.ReplaceThirdParty || l.plan.Profile.ReplaceThirdParty || l.plan.KeepsThirdParty)
}

// text is the record's LastMessage with what came after the run.
func (l *lastRun) text(served int) string {
	var parts []string
	if l.message != "" {
		parts = append(parts, l.message)
	}
	parts = append(parts, l.notes...)
	if served > 0 {
		parts = append(parts, fmt.Sprintf("%d later trigger(s) served by this run: "+
			"they asked for nothing it had not done, with the profile it used", served))
	}
	return strings.Join(parts, "; ")
}

// serve takes out of the pending triggers those the last run served, and
// counts them on its record (versionServedTriggers). When the run's plan no
// longer holds, or cannot be checked, they stay pending and get a run.
// It reports whether it waited on an activity (signals may have come).
func (w *execution) serve(ctx workflow.Context) bool {
	l := w.last
	if !w.v2 || l == nil || len(w.pending) == 0 || w.in.DryRun {
		return false
	}
	var served, rest []migration.Trigger
	for _, t := range w.pending {
		if l.covers(t) {
			served = append(served, t)
		} else {
			rest = append(rest, t)
		}
	}
	if len(served) == 0 {
		return false
	}
	records, count := append([]store.Served(nil), l.records...), 0
	for _, t := range served {
		if t.Recorded == l.plan.MigrationID {
			// Merged into the record before the run claimed it, its signal
			// late: the record counts it already.
			continue
		}
		if count++; t.Recorded == "" {
			continue
		}
		i := slices.IndexFunc(records, func(s store.Served) bool { return s.ID == t.Recorded })
		if i < 0 {
			records, i = append(records, store.Served{ID: t.Recorded}), len(records)
		}
		records[i].Triggers++
	}
	plan := l.plan
	in := activities.AmendRunInput{MigrationID: plan.MigrationID, TenantID: w.in.TenantID, UserID: w.in.UserID,
		Plan: &plan, TriggerCount: l.triggers + l.served + count, Message: l.text(l.served + count),
		Served: records}
	var ok bool
	if err := workflow.ExecuteActivity(shortOptions(ctx), acts.AmendRun, in).Get(ctx, &ok); err != nil || !ok {
		l.serves = false // something changed since the run: what comes next gets a run
		return true
	}
	l.served += count
	l.records = records
	w.pending = rest
	return true
}

// lateCancel writes a cancel that found no run to stop on the record of
// the run that had just finished (versionServedTriggers): the caller was
// told 202, and the record says what became of it. It reports whether it
// waited on an activity.
func (w *execution) lateCancel(ctx workflow.Context) bool {
	if !w.v2 || w.cancel == nil {
		return false
	}
	c := *w.cancel
	w.cancel = nil
	l := w.last
	if l == nil || l.plan.MigrationID == "" {
		return false // no record to write on (the run's tenant does not exist)
	}
	l.notes = append(l.notes, lateCancelNote(c, true))
	_ = workflow.ExecuteActivity(shortOptions(ctx), acts.AmendRun, activities.AmendRunInput{
		MigrationID: l.plan.MigrationID, TenantID: w.in.TenantID, UserID: w.in.UserID,
		TriggerCount: l.triggers + l.served, Message: l.text(l.served), Served: l.records}).Get(ctx, nil)
	return true
}

// lateCancelNote is what a record says of a cancel that stopped nothing.
func lateCancelNote(c Cancel, afterLastPage bool) string {
	if afterLastPage {
		return "cancel arrived after the last page, from " + c.who() + ": every meeting had already been processed"
	}
	return "cancel from " + c.who() + " arrived as the run was ending"
}

func (w *execution) count(pr activities.PageResult) {
	w.st.Updated += pr.Updated
	w.st.UpToDate += pr.UpToDate
	w.st.Skipped += pr.Skipped
	w.st.Failed += pr.Failed
}

// recordTriggers opens (or joins) the Pending record of each trigger the
// mms API did not record: an upstream system's direct signal shows in the
// status at once, as the API's triggers do. A store that cannot take it
// leaves it to BeginRun, which opens the record in any case.
func (w *execution) recordTriggers(ctx workflow.Context) {
	if w.in.DryRun {
		return // the caller opened the dry run's own record
	}
	for i := range w.pending {
		if w.pending[i].Recorded != "" {
			continue
		}
		var rec struct {
			CorrelationID string `json:"correlationId"`
		}
		if workflow.ExecuteActivity(shortOptions(ctx), acts.OpenPending, activities.OpenPendingInput{
			TenantID: w.in.TenantID, UserID: w.in.UserID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
			Trigger: w.pending[i]}).Get(ctx, &rec) == nil {
			w.pending[i].Recorded = rec.CorrelationID
		}
	}
}
