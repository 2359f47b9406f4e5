package activities

import (
	"context"
	"fmt"
	"testing"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
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
	db, user := seeded(t, 3)
	sb := sandboxIn(t, db)
	ms, _ := sb.Meetings(ctx, "t", user)
	be := &flakyBackend{Backend: sb, meeting: ms[1].ID, failing: true}
	a := &Activities{DB: db, Calendar: be}
	env, plan := begin(t, a, user)
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
	rec, _ := db.StatusRecord(ctx, plan.MigrationID)
	if pr.Updated != 1 || pr.Failed != 0 || rec.FailedMeeting != 0 || rec.SucceededMeeting != 3 || rec.RetryCount != 1 ||
		rec.InvitesUpdate != 3 {
		t.Fatalf("after the retry: page %+v, record %+v", pr, rec)
	}
	if again, _ := db.FailedMeetingIDs(ctx, plan.MigrationID); len(again) != 0 {
		t.Fatalf("still failed: %v", again)
	}
}
