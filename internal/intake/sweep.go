package intake

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/workflows"
)

// OrphanMessage is the message of a record whose workflow ended without
// finishing it (terminated, failed, or never started).
const OrphanMessage = "workflow ended unexpectedly"

// SweepOrphans fails every Pending or InProgress record, unchanged for
// longer than grace, whose workflow is closed or unknown to Temporal: no
// run would ever finish it. The grace keeps it clear of a hand-off under
// way (the record is opened before the workflow is signalled). It returns
// how many records it failed.
func (s *Service) SweepOrphans(ctx context.Context, grace time.Duration) (int, error) {
	recs, err := s.db.OpenRecordsBefore(ctx, time.Now().Add(-grace), 1000)
	if err != nil {
		return 0, err
	}
	failed := 0
	for _, rec := range recs {
		id := rec.WorkflowID
		if id == "" && rec.DryRun {
			id = workflows.DryRunWorkflowID(rec.TenantID, rec.UserID, rec.CorrelationID)
		}
		d, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return failed, err // Temporal unreachable: nothing is known, try later
		case d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			continue
		}
		out, err := s.db.FailOpen(ctx, rec.CorrelationID, OrphanMessage)
		if err != nil {
			return failed, err
		}
		if out.State == migration.StateFailed && out.LastMessage == OrphanMessage {
			failed++
			s.instruments.Transition(ctx, s.logger, rec.TenantID, rec.UserID, rec.CorrelationID, rec.State, migration.StateFailed, OrphanMessage)
		}
	}
	return failed, nil
}

// RunSweeps sweeps orphans now and every interval until ctx ends.
func (s *Service) RunSweeps(ctx context.Context, interval, grace time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.SweepOrphans(ctx, grace); err != nil && ctx.Err() == nil {
			s.logger.Warn("orphan sweep", "error", err)
		} else if n > 0 {
			s.logger.Warn("orphan sweep failed records whose workflow had ended", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
