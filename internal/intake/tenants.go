package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// CodeTenantExists: a tenant with that ID exists already.
const CodeTenantExists = "tenant_exists"

// MaxTenantName bounds a tenant's display name.
const MaxTenantName = 256

// DefaultCancelWait is how long DeleteTenant lets cancelled runs stop by
// themselves (they stop after their current page, recording why) before it
// terminates what is still running.
const DefaultCancelWait = 30 * time.Second

// CreateTenant creates a tenant with the default settings (the cmdlets'
// defaults: docs/DOMAIN.md). The ID is checked against
// migration.ParseTenantID. Errors: ErrInvalid, ErrConflict with
// CodeTenantExists.
func (s *Service) CreateTenant(ctx context.Context, id, displayName string) (store.Tenant, error) {
	if _, err := migration.ParseTenantID(id); err != nil {
		return store.Tenant{}, invalid("id", "%v", err)
	}
	if len(displayName) > MaxTenantName {
		return store.Tenant{}, invalid("displayName", "at most %d characters", MaxTenantName)
	}
	if displayName == "" {
		displayName = id
	}
	t := store.Tenant{ID: id, DisplayName: displayName, Settings: migration.DefaultSettings()}
	if err := s.db.CreateTenant(ctx, t); errors.Is(err, store.ErrExists) {
		return store.Tenant{}, &Error{Kind: ErrConflict, Subject: "tenant", Code: CodeTenantExists,
			Message: fmt.Sprintf("tenant %s exists already", quote(id))}
	} else if err != nil {
		return store.Tenant{}, internal("create tenant", err)
	}
	return t, nil
}

// TenantDeletion is what DeleteTenant did.
type TenantDeletion struct {
	Tenant string `json:"tenant"`
	// Cancelled counts the migrations (dry runs included) that were Pending
	// or InProgress and were cancelled before the purge.
	Cancelled int `json:"cancelled"`
	// Terminated counts the workflows still running after the wait, stopped
	// without finishing their page (idle workflows waiting for triggers
	// included).
	Terminated int               `json:"terminated"`
	Purged     store.TenantPurge `json:"purged"`
}

// DeleteTenant cancels the tenant's running migrations, then purges its
// data in one transaction. A cancelled run stops after its current page (a
// page is never half-written); the ones still running after wait, and the
// tenant's idle workflows, are terminated, so no workflow of the tenant is
// left to act on a directory that is gone. Errors: ErrNotFound,
// ErrUnavailable (Temporal could not be reached: nothing was purged, and
// deleting again is safe).
func (s *Service) DeleteTenant(ctx context.Context, id, requester string, wait time.Duration) (TenantDeletion, error) {
	out := TenantDeletion{Tenant: id}
	if _, err := s.tenant(ctx, id); err != nil {
		return out, err
	}
	open, err := s.db.OpenRecords(ctx, id)
	if err != nil {
		return out, internal("open migrations", err)
	}
	if len(open) > 0 && s.temporal == nil {
		return out, unavailable("temporal", "no Temporal client to cancel the tenant's migrations", nil)
	}
	running := map[string]bool{} // workflow IDs to stop
	for _, rec := range open {
		wfID := rec.WorkflowID
		if rec.DryRun {
			wfID = workflows.DryRunWorkflowID(rec.TenantID, rec.UserID, rec.CorrelationID)
		}
		err := s.temporal.SignalWorkflow(ctx, wfID, "", workflows.CancelSignal,
			workflows.Cancel{By: requester, Reason: "tenant deleted"})
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			continue // no run to stop: the purge removes the record
		case err != nil:
			return out, unavailable("temporal", "could not cancel the tenant's migrations: "+err.Error(), err)
		}
		out.Cancelled++
		running[wfID] = true
	}
	if out.Cancelled > 0 {
		if err := s.waitClosed(ctx, id, wait); err != nil {
			return out, err
		}
	}
	if s.temporal != nil {
		n, err := s.terminateTenant(ctx, id, requester, running)
		out.Terminated = n
		if err != nil {
			return out, err
		}
	}
	purged, err := s.db.DeleteTenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return out, notFound("tenant", "tenant %s not found", quote(id)) // deleted concurrently
	} else if err != nil {
		return out, internal("purge tenant", err)
	}
	out.Purged = purged
	s.logger.InfoContext(ctx, "tenant deleted", "tenant", id, "by", requester, "cancelled", out.Cancelled,
		"terminated", out.Terminated, "users", purged.Users, "migrations", purged.Migrations)
	return out, nil
}

// waitClosed waits until the tenant has no Pending or InProgress record, or
// wait has passed (the rest is terminated).
func (s *Service) waitClosed(ctx context.Context, tenant string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		open, err := s.db.OpenRecords(ctx, tenant)
		if err != nil {
			return internal("open migrations", err)
		}
		if len(open) == 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return unavailable("temporal", "cancelled while waiting for the tenant's migrations to stop", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// terminateTenant terminates every running workflow of the tenant: those it
// signalled (known) and those visibility lists by the tenant's search
// attribute (idle user workflows). Visibility lags, so the known ones are
// terminated by ID whatever it says.
func (s *Service) terminateTenant(ctx context.Context, tenant, requester string, known map[string]bool) (int, error) {
	ids := map[string]bool{}
	for id := range known {
		ids[id] = true
	}
	query := fmt.Sprintf("%s = %q AND ExecutionStatus = 'Running'", workflows.SearchAttrTenant, tenant)
	var token []byte
	for {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return 0, unavailable("temporal", "could not list the tenant's workflows: "+err.Error(), err)
		}
		for _, ex := range resp.GetExecutions() {
			ids[ex.GetExecution().GetWorkflowId()] = true
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	n := 0
	for id := range ids {
		err := s.temporal.TerminateWorkflow(ctx, id, "", "tenant "+tenant+" deleted by "+requester)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return n, unavailable("temporal", "could not stop the tenant's workflows: "+err.Error(), err)
		default:
			n++
		}
	}
	return n, nil
}
