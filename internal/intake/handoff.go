package intake

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/internal/changes"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/workflows"
)

// maxDecideAttempts bounds how often one request is re-decided.
const maxDecideAttempts = changes.MaxDecideAttempts

// untilStored is the one compare-and-set loop (changes.UntilStored).
func untilStored[T any](attempt func() (T, error)) (T, error) { return changes.UntilStored(attempt) }

// handOff records a Pending migration for the user (merged into one that is
// already pending) and gives the trigger to the user's workflow with
// signal-with-start, so every trigger for a user reaches one execution. The
// record is opened first so the caller can read it back at once; if Temporal
// does not take the trigger, it is marked Failed, since no run will close it.
func (s *Service) handOff(ctx context.Context, tenant, user string, t migration.Trigger) (store.StatusRecord, error) {
	sel := migration.Merge(t)
	wfID := workflows.WorkflowID(tenant, user)
	rec, err := s.db.OpenPending(ctx, store.Request{TenantID: tenant, UserID: user, Trigger: sel.Reason,
		MigrationType: sel.Type(), SourceMeetingType: sel.Source, TargetMeetingType: sel.Target,
		WorkflowID: wfID})
	if err != nil {
		s.logger.Error("open migration record", "error", err)
		return store.StatusRecord{}, unavailable("store", "could not record the migration", err)
	}
	s.observeHandOff(ctx, rec)
	t.Recorded = rec.CorrelationID // the workflow need not open one
	_, err = s.temporal.SignalWithStartWorkflow(ctx, wfID, workflows.TriggerSignal, t, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: workflows.TaskQueue, TypedSearchAttributes: workflows.SearchAttributes(tenant, user),
	}, workflows.MigrationWorkflowType, workflows.Input{TenantID: tenant, UserID: user})
	if err != nil {
		msg := "could not hand the migration to Temporal: " + err.Error()
		_ = s.db.FailPending(ctx, rec.CorrelationID, msg)
		s.logger.ErrorContext(ctx, "signal-with-start failed", "workflowId", wfID, "error", err)
		s.instruments.Transition(ctx, s.logger, tenant, user, rec.CorrelationID, migration.StatePending, migration.StateFailed, msg)
		return store.StatusRecord{}, unavailable("temporal", msg, err)
	}
	return rec, nil
}

// startDryRun runs the migration's decisions in an execution of its own,
// with a record of its own, so it neither waits for nor merges with the
// user's real migration.
func (s *Service) startDryRun(ctx context.Context, tenant, user string, t migration.Trigger) (store.StatusRecord, error) {
	t.Reason = "dry run"
	sel := migration.Merge(t)
	rec, err := s.db.OpenDryRun(ctx, store.Request{TenantID: tenant, UserID: user, Trigger: sel.Reason,
		MigrationType: sel.Type(), SourceMeetingType: sel.Source, TargetMeetingType: sel.Target})
	if err != nil {
		s.logger.Error("open dry-run record", "error", err)
		return store.StatusRecord{}, unavailable("store", "could not record the dry run", err)
	}
	s.observeHandOff(ctx, rec)
	wfID := workflows.DryRunWorkflowID(tenant, user, rec.CorrelationID)
	if _, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: workflows.SearchAttributes(tenant, user)}, workflows.MigrationWorkflowType,
		workflows.Input{TenantID: tenant, UserID: user, DryRun: true, CorrelationID: rec.CorrelationID,
			Pending: []migration.Trigger{t}}); err != nil {
		msg := "could not hand the dry run to Temporal: " + err.Error()
		_ = s.db.FailPending(ctx, rec.CorrelationID, msg)
		return store.StatusRecord{}, unavailable("temporal", msg, err)
	}
	return rec, nil
}

// observeHandOff tags the request's span with the migration it opened and
// logs the record's first state.
func (s *Service) observeHandOff(ctx context.Context, rec store.StatusRecord) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(telemetry.AttrTenant, rec.TenantID),
		attribute.String(telemetry.AttrUser, rec.UserID), attribute.String(telemetry.AttrCorrelationID, rec.CorrelationID))
	if rec.TriggerCount > 1 {
		// The request merged into a record already Pending: no transition.
		s.logger.DebugContext(ctx, "trigger merged into the pending migration", "tenant", rec.TenantID,
			"user", rec.UserID, "correlationId", rec.CorrelationID)
		return
	}
	s.instruments.Transition(ctx, s.logger, rec.TenantID, rec.UserID, rec.CorrelationID, "", rec.State, "")
}
