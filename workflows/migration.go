package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
)

var (
	saState  = temporal.NewSearchAttributeKeyKeyword(SearchAttrState)
	saTenant = temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant)
	saUser   = temporal.NewSearchAttributeKeyKeyword(SearchAttrUser)
)

// SearchAttributes are set when the workflow is started.
func SearchAttributes(tenantID, userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(saTenant.ValueSet(tenantID), saUser.ValueSet(userID),
		saState.ValueSet(StatePending))
}

// Migration is the per-user workflow. It waits for triggers, lets a quiet
// period pass without new ones, runs one migration for all of them, and
// repeats while triggers arrived during the run; then it completes.
func Migration(ctx workflow.Context, in Input) error {
	st := &Status{TenantID: in.TenantID, UserID: in.UserID, State: StatePending}
	pending := append([]Trigger(nil), in.Pending...)
	signals := workflow.GetSignalChannel(ctx, TriggerSignal)
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) {
		s := *st
		s.PendingTriggers = len(pending)
		return s, nil
	}); err != nil {
		return err
	}
	receive := func(c workflow.ReceiveChannel, more bool) {
		var t Trigger
		c.Receive(ctx, &t)
		pending = append(pending, t)
	}
	drain := func() {
		for {
			var t Trigger
			if !signals.ReceiveAsync(&t) {
				return
			}
			pending = append(pending, t)
		}
	}

	for {
		drain()
		if len(pending) == 0 {
			// Signal-with-start delivers the first trigger with the start, so
			// an empty queue here means every trigger has been served.
			return nil
		}
		setState(ctx, st, StatePending, fmt.Sprintf("Waiting for a quiet period: %d trigger(s).", len(pending)))
		// Quiet period: every new trigger re-arms the timer.
		for {
			quiet := time.Duration(pending[len(pending)-1].QuietPeriodSeconds) * time.Second
			if quiet <= 0 {
				break
			}
			timerCtx, cancel := workflow.WithCancel(ctx)
			fired := false
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(workflow.NewTimer(timerCtx, quiet), func(workflow.Future) { fired = true })
			sel.AddReceive(signals, receive)
			sel.Select(ctx)
			cancel()
			if fired {
				break
			}
		}
		drain()
		batch := pending
		pending = nil
		st.Round++
		if err := run(ctx, st, in, batch); err != nil {
			return err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			if len(pending) > 0 {
				return workflow.NewContinueAsNewError(ctx, Migration, Input{TenantID: in.TenantID, UserID: in.UserID, Pending: pending})
			}
		}
	}
}

// run performs one migration round for a merged batch of triggers.
func run(ctx workflow.Context, st *Status, in Input, batch []Trigger) error {
	var a *activities.Activities
	info := workflow.GetInfo(ctx)
	source, target, reason := merged(batch)
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var plan activities.RunPlan
	if err := workflow.ExecuteActivity(short, a.BeginRun, activities.BeginRunInput{
		TenantID: in.TenantID, UserID: in.UserID, WorkflowID: info.WorkflowExecution.ID,
		RunKey:  fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, st.Round),
		Trigger: reason, SourceMeetingType: source, TargetMeetingType: target,
	}).Get(ctx, &plan); err != nil {
		return err
	}
	*st = Status{TenantID: st.TenantID, UserID: st.UserID, Round: st.Round, CorrelationID: plan.MigrationID,
		State: st.State, indexed: st.indexed}
	finish := func(msg string) error {
		var rec struct {
			State string `json:"state"`
		}
		if err := workflow.ExecuteActivity(short, a.FinishRun, activities.FinishRunInput{MigrationID: plan.MigrationID,
			Message: msg}).Get(ctx, &rec); err != nil {
			return err
		}
		st.LastResult = rec.State
		if msg != "" {
			st.LastResult += ": " + msg
		}
		setState(ctx, st, StateIdle, "Last run "+st.LastResult)
		return nil
	}
	if plan.Blocked != "" {
		return finish(plan.Blocked)
	}
	setState(ctx, st, StateInProgress, "Migrating meetings.")
	pages := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10},
	})
	cursor := ""
	for {
		var pr activities.PageResult
		if err := workflow.ExecuteActivity(pages, a.ProcessPage, activities.PageInput{Plan: plan, Cursor: cursor}).
			Get(ctx, &pr); err != nil {
			return finish("stopped after repeated errors: " + rootMessage(err))
		}
		st.Pages++
		st.Updated += pr.Updated
		st.UpToDate += pr.UpToDate
		st.Skipped += pr.Skipped
		st.Failed += pr.Failed
		setState(ctx, st, StateInProgress, "")
		if pr.NextCursor == "" {
			break
		}
		cursor = pr.NextCursor
	}
	return finish("")
}

func setState(ctx workflow.Context, st *Status, state, note string) {
	if st.indexed != state {
		// Each upsert is a history event: only when the state changes.
		_ = workflow.UpsertTypedSearchAttributes(ctx, saState.ValueSet(state))
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
