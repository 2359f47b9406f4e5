package intake

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

func TestCreateTenantChecksTheID(t *testing.T) {
	db := newStore(t)
	svc := New(db, nil, nil, nil)
	ctx := context.Background()
	for id, want := range map[string]string{"..": "id: must be letters", "a b": "id: must be letters", "": "id: required", "ACME": "id: must be lower case"} {
		_, err := svc.CreateTenant(ctx, id, "")
		mustFail(t, err, ErrInvalid, "id", want)
	}
	tn, err := svc.CreateTenant(ctx, "fabrikam.onmicrosoft.com", "")
	if err != nil || tn.DisplayName != "fabrikam.onmicrosoft.com" || tn.Settings != migration.DefaultSettings() {
		t.Fatalf("create = %+v, %v", tn, err)
	}
	_, err = svc.CreateTenant(ctx, tenant, "again")
	if e := mustFail(t, err, ErrConflict, "tenant", "exists already"); e.Code != CodeTenantExists {
		t.Fatalf("code %q", e.Code)
	}
}

// A run that does not stop by itself within the wait (here no worker runs
// at all, so the cancel signal is never handled) is terminated before the
// purge, and counted as cancelled.
func TestDeleteTenantCancelsThenTerminatesThenPurges(t *testing.T) {
	db := newStore(t)
	temporal := realTemporal(t)
	svc := New(db, temporal, nil, nil)
	ctx := context.Background()
	tenantID := "gone-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if _, err := svc.CreateTenant(ctx, tenantID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutUser(ctx, tenantID, "a@contoso.com", "test", "A", profile("123456")); err != nil {
		t.Fatal(err)
	}
	rec, err := svc.Start(ctx, tenantID, "test", Request{User: "a@contoso.com"})
	if err != nil || rec.State != migration.StatePending {
		t.Fatalf("start = %+v, %v", rec, err)
	}
	start := time.Now()
	out, err := svc.DeleteTenant(ctx, tenantID, "ops", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if out.Cancelled != 1 || out.Terminated < 1 || out.Purged.Users != 1 || out.Purged.Migrations != 1 || time.Since(start) < time.Second {
		t.Fatalf("delete = %+v after %s", out, time.Since(start))
	}
	d, err := temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(tenantID, "a@contoso.com"), "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("workflow after the delete: %v, %v", d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	if _, err := db.Tenant(ctx, tenantID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant after the delete: %v", err)
	}
	_, err = svc.DeleteTenant(ctx, tenantID, "ops", time.Second)
	mustFail(t, err, ErrNotFound, "tenant", "not found")
	// The other tenant is untouched.
	if users, _ := db.Users(ctx, tenant); len(users) != 2 {
		t.Fatalf("%d users left in %s", len(users), tenant)
	}
}

// A tenant with a running migration is not purged while Temporal cannot
// be reached: the migration would go on against a directory that is gone.
func TestDeleteTenantNeedsTemporalToCancel(t *testing.T) {
	db := newStore(t)
	ctx := context.Background()
	if _, err := db.OpenPending(ctx, store.Request{TenantID: tenant, UserID: "a@contoso.com", Trigger: "x",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current",
		WorkflowID: workflows.WorkflowID(tenant, "a@contoso.com")}); err != nil {
		t.Fatal(err)
	}
	down := New(db, unreachable(t), nil, nil)
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := down.DeleteTenant(dctx, tenant, "ops", time.Second)
	mustFail(t, err, ErrUnavailable, "temporal", "could not cancel")
	if _, err := db.Tenant(ctx, tenant); err != nil {
		t.Fatalf("the tenant was purged: %v", err)
	}
}

// An import whose triggering events Temporal does not take is stored, and
// says which events to post again; the events are recorded, triggered and
// not yet linked, as a posted event would be.
func TestImportStoresThenHandsOff(t *testing.T) {
	db := newStore(t)
	ctx := context.Background()
	file := []byte(`"Identity","ConferenceId","ServiceNumber","BridgeId"` + "\n" +
		`"A@contoso.com","999888","+1 425-555-0100","b1"` + "\n" + // conference ID reset
		`"b@contoso.com","123456","+1 425-555-0100","b1"` + "\n" + // unchanged
		`"c@contoso.com","555444","+1 425-555-0100","b1"` + "\n") // new
	down := New(db, unreachable(t), nil, nil)
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	res, err := down.ImportUsers(dctx, tenant, "ops", file, false)
	cancel()
	mustFail(t, err, ErrUnavailable, "temporal", "the import is stored")
	if res.Created != 1 || res.Changed != 1 || res.Unchanged != 1 || res.Triggered != 1 {
		t.Fatalf("result = %+v", res)
	}
	evs, _ := db.Events(ctx, tenant, "a@contoso.com", 0)
	if len(evs) != 1 || evs[0].Type != "conferenceIdChanged" || !evs[0].Triggered || evs[0].CorrelationID != "" {
		t.Fatalf("events = %+v", evs)
	}
	// Posting it again by ID starts the migration.
	up := New(db, realTemporal(t), nil, nil)
	var again Event
	again.ID = evs[0].ID
	if err := json.Unmarshal(evs[0].Payload, &again); err != nil {
		t.Fatal(err)
	}
	out, err := up.PostEvents(ctx, tenant, "ops", []Event{again})
	if err != nil || len(out) != 1 || out[0].CorrelationID == "" {
		t.Fatalf("post again = %+v, %v", out, err)
	}
	// The same file again changes nothing and records nothing.
	res, err = up.ImportUsers(ctx, tenant, "ops", file, false)
	if err != nil || res.Unchanged != 3 || res.Triggered != 0 {
		t.Fatalf("again = %+v, %v", res, err)
	}
	if evs, _ := db.Events(ctx, tenant, "", 0); len(evs) != 1 {
		t.Fatalf("%d events after the repeated import", len(evs))
	}
}

func profile(conferenceID string) *meetingblock.Profile {
	return &meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: conferenceID, TollNumber: "+1 425-555-0100"}
}
