package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// RetryInput starts retry number Attempt of a run's failed meetings.
type RetryInput struct {
	MigrationID string `json:"migrationId"`
	Attempt     int    `json:"attempt"`
}

// PrepareRetry records the retry count and returns the meetings that failed.
func (a *Activities) PrepareRetry(ctx context.Context, in RetryInput) ([]string, error) {
	ids, err := a.DB.FailedMeetingIDs(ctx, in.MigrationID)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	return ids, a.DB.SetRetryCount(ctx, in.MigrationID, in.Attempt)
}

// FailedMeetings lists the meetings that failed in a record (for an admin's
// retry-failed, whose results go into a new record).
func (a *Activities) FailedMeetings(ctx context.Context, migrationID string) ([]string, error) {
	return a.DB.FailedMeetingIDs(ctx, migrationID)
}

// MeetingsInput names meetings to migrate again (a retry of failures).
type MeetingsInput struct {
	Plan       RunPlan  `json:"plan"`
	MeetingIDs []string `json:"meetingIds"`
}

// ProcessMeetings migrates the named meetings, re-reading each one, and
// records their new outcomes in place of the failed ones. Like ProcessPage
// it heartbeats and resumes after a retry of the activity itself.
func (a *Activities) ProcessMeetings(ctx context.Context, in MeetingsInput) (PageResult, error) {
	p := in.Plan
	ctx = observe(ctx, p.TenantID, p.UserID, p.MigrationID)
	t := newTracker(ctx)
	t.fit(len(in.MeetingIDs))
	ctx = calendar.ContextWithWaitHook(ctx, t.beat)
	gate := a.newFloodGate(p)
	ctx = withGate(ctx, gate)
	for i := t.prog.Next; i < len(in.MeetingIDs) && !gate.stopped(); i++ {
		if err := ctx.Err(); err != nil {
			return PageResult{}, err
		}
		m, err := a.Calendar.GetMeeting(ctx, p.TenantID, p.Mailbox, in.MeetingIDs[i])
		var r store.MeetingResult
		switch {
		case errors.Is(err, calendar.ErrNotFound):
			r = withReason(store.MeetingResult{MeetingID: in.MeetingIDs[i], Subject: "(deleted)"},
				migration.OutcomeSkipped, migration.DeletedSinceFailure())
		case err != nil:
			return PageResult{}, fmt.Errorf("read meeting %s: %w", in.MeetingIDs[i], err)
		default:
			r, err = a.migrateMeeting(ctx, p, m)
			if errors.Is(err, errDeferred) {
				continue // the loop ends: the rest waits for flood control
			} else if err != nil {
				return PageResult{}, err
			}
		}
		t.done(i, r)
	}
	results := t.all()
	if _, err := a.DB.RecordResults(ctx, p.MigrationID, results); err != nil {
		return PageResult{}, err
	}
	a.recordOutcomes(ctx, results)
	res := tally(results, "")
	gate.deferred(&res, "", nil, results)
	return res, nil
}
