package activities

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

// flakyBackend is the real sandbox whose updates of one meeting conflict
// while failing is true.
type flakyBackend struct {
	*sandbox.Backend
	meeting string
	failing bool
}

func (f *flakyBackend) UpdateMeeting(ctx context.Context, tenant string, u calendar.Update) (calendar.UpdateResult, error) {
	if f.failing && u.MeetingID == f.meeting {
		return calendar.UpdateResult{}, fmt.Errorf("simulated: %w", calendar.ErrConflict)
	}
	return f.Backend.UpdateMeeting(ctx, tenant, u)
}

func TestRetryOfFailedMeetings(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: "t", Users: 1, Meetings: 3}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(db)
	ms, _ := sb.Meetings(ctx, "t", users[0])
	be := &flakyBackend{Backend: sb, meeting: ms[1].ID, failing: true}
	a := &Activities{DB: db, Calendar: be}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	run := func(fn any, in any, out any) {
		t.Helper()
		v, err := env.ExecuteActivity(fn, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(out); err != nil {
			t.Fatal(err)
		}
	}
	var plan RunPlan
	run(a.BeginRun, BeginRunInput{TenantID: "t", UserID: users[0], RunKey: "k", WorkflowID: "wf", Trigger: "test",
		SourceMeetingType: SourceAll, TargetMeetingType: TargetCurrent}, &plan)
	var pr PageResult
	run(a.ProcessPage, PageInput{Plan: plan}, &pr)
	if pr.Updated != 2 || pr.Failed != 1 {
		t.Fatalf("page = %+v, want 2 updated and 1 failed", pr)
	}
	var ids []string
	run(a.PrepareRetry, RetryInput{MigrationID: plan.MigrationID, Attempt: 1}, &ids)
	if len(ids) != 1 || ids[0] != be.meeting {
		t.Fatalf("failed meetings = %v", ids)
	}
	be.failing = false
	run(a.ProcessMeetings, MeetingsInput{Plan: plan, MeetingIDs: ids}, &pr)
	rec, _ := db.Migration(ctx, plan.MigrationID)
	if pr.Updated != 1 || pr.Failed != 0 || rec.FailedMeeting != 0 || rec.SucceededMeeting != 3 || rec.RetryCount != 1 ||
		rec.InvitesUpdate != 3 {
		t.Fatalf("after the retry: page %+v, record %+v", pr, rec)
	}
	if again, _ := db.FailedMeetingIDs(ctx, plan.MigrationID); len(again) != 0 {
		t.Fatalf("still failed: %v", again)
	}
}
