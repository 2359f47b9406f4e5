package activities

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// editingBackend is the real sandbox, plus an organizer who edits the agenda
// of a meeting right after the migration read it.
type editingBackend struct {
	*sandbox.Backend
	tenant, mailbox string
	mu              sync.Mutex // meetings are updated concurrently
	edited          map[string]bool
}

func (e *editingBackend) UpdateMeeting(ctx context.Context, tenant string, u calendar.Update) (calendar.UpdateResult, error) {
	e.mu.Lock()
	first := !e.edited[u.MeetingID]
	e.edited[u.MeetingID] = true
	e.mu.Unlock()
	if first {
		m, err := e.GetMeeting(ctx, tenant, e.mailbox, u.MeetingID)
		if err != nil {
			return calendar.UpdateResult{}, err
		}
		body := strings.Replace(m.Body, "Notes:", "Notes (edited by the organizer):", 1)
		if _, err := e.Backend.UpdateMeeting(ctx, tenant, calendar.Update{Mailbox: e.mailbox, MeetingID: m.ID,
			ETag: m.ETag, Body: body, IdempotencyKey: "organizer-edit/" + m.ID}); err != nil {
			return calendar.UpdateResult{}, err
		}
	}
	return e.Backend.UpdateMeeting(ctx, tenant, u)
}

// seeded opens a real database holding one user with n future meetings.
func seeded(t *testing.T, n int) (*store.DB, string) {
	t.Helper()
	db, err := store.Open(context.Background(), storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users, err := sandbox.SeedBulk(context.Background(), db, sandbox.BulkOptions{Tenant: "t", Users: 1, Meetings: n}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return db, users[0]
}

// begin registers a in an activity test environment and runs BeginRun.
func begin(t *testing.T, a *Activities, user string) (*testsuite.TestActivityEnvironment, RunPlan) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.BeginRun, BeginRunInput{TenantID: "t", UserID: user, RunKey: "k", WorkflowID: "wf",
		Trigger: "test", SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent})
	if err != nil {
		t.Fatal(err)
	}
	var plan RunPlan
	if err := v.Get(&plan); err != nil || plan.Blocked != "" {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	return env, plan
}

func TestProcessPageReappliesAfterConcurrentEdit(t *testing.T) {
	ctx := context.Background()
	db, user := seeded(t, 3)
	be := &editingBackend{Backend: sandboxIn(t, db), tenant: "t", mailbox: user, edited: map[string]bool{}}
	a := &Activities{DB: db, Calendar: be, PageSize: 10}
	env, plan := begin(t, a, user)
	v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	var pr PageResult
	if err := v.Get(&pr); err != nil || pr.Updated != 3 || pr.Failed != 0 || pr.NextCursor != "" {
		t.Fatalf("page = %+v, %v", pr, err)
	}
	ms, _ := be.Meetings(ctx, "t", user)
	for _, m := range ms {
		if !strings.Contains(m.Body, "Notes (edited by the organizer):") {
			t.Errorf("%s: the organizer's concurrent edit was lost", m.Subject)
		}
		format := meetingblock.FormatHTML
		if m.BodyType == calendar.BodyText {
			format = meetingblock.FormatText
		}
		blk, err := meetingblock.Find(m.Body, format)
		if err != nil || blk.ConferenceID != "300200100" {
			t.Errorf("%s: block = %+v, %v; want the new conference ID", m.Subject, blk, err)
		}
	}
	rec, _ := db.StatusRecord(ctx, plan.MigrationID)
	if rec.SucceededMeeting != 3 || rec.InvitesUpdate != 3 {
		t.Fatalf("record = %+v", rec)
	}
}

func TestSkipReasons(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := RunPlan{From: now, ParticipantLimit: 250, SourceMeetingType: migration.SourceAll}
	ok := calendar.Meeting{IsOrganizer: true, Start: now.Add(time.Hour), Kind: calendar.KindSingle,
		OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams}}
	many := make([]calendar.Attendee, 250)
	for i := range many {
		many[i] = calendar.Attendee{Address: string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@x"}
	}
	for _, tc := range []struct {
		name string
		edit func(*calendar.Meeting, *RunPlan)
		want string
	}{
		{"selected", func(*calendar.Meeting, *RunPlan) {}, ""},
		{"not organizer", func(m *calendar.Meeting, _ *RunPlan) { m.IsOrganizer = false }, "not organizer"},
		{"past", func(m *calendar.Meeting, _ *RunPlan) { m.Start = now.Add(-time.Minute) }, "past meeting"},
		{"series started in the past", func(m *calendar.Meeting, _ *RunPlan) {
			m.Start, m.Kind = now.Add(-24*time.Hour), calendar.KindSeriesMaster
		}, ""},
		{"pasted block", func(m *calendar.Meeting, _ *RunPlan) { m.OnlineMeeting = nil }, "not created as an online meeting"},
		{"third party", func(m *calendar.Meeting, _ *RunPlan) { m.OnlineMeeting.Provider = calendar.ProviderThirdParty }, "third-party"},
		{"251 participants", func(m *calendar.Meeting, _ *RunPlan) { m.Attendees = many }, "251 participants"},
		{"250 participants", func(m *calendar.Meeting, _ *RunPlan) { m.Attendees = many[:249] }, ""},
		{"source SfB, meeting Teams", func(_ *calendar.Meeting, p *RunPlan) { p.SourceMeetingType = migration.SourceSfB }, "source meeting type"},
		{"source Teams, meeting Teams", func(_ *calendar.Meeting, p *RunPlan) { p.SourceMeetingType = migration.SourceTeams }, ""},
		{"unreadable start is not past", func(m *calendar.Meeting, _ *RunPlan) {
			m.Start, m.Unreadable = time.Time{}, `TZID "Nowhere Standard Time" is not defined`
		}, ""},
	} {
		m, pl := ok, p
		om := *ok.OnlineMeeting
		m.OnlineMeeting = &om
		tc.edit(&m, &pl)
		got := SkipReason(pl, m).Message
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: SkipReason = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// slowBackend is the sandbox with a latency on every update, counting how
// many updates run at once.
type slowBackend struct {
	*sandbox.Backend
	inFlight, peak atomic.Int32
}

func (s *slowBackend) UpdateMeeting(ctx context.Context, tenant string, u calendar.Update) (calendar.UpdateResult, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return s.Backend.UpdateMeeting(ctx, tenant, u)
}

// A page's meetings are updated Concurrency at a time, and every outcome is
// recorded once, in the page's order.
func TestProcessPageUpdatesConcurrently(t *testing.T) {
	ctx := context.Background()
	db, user := seeded(t, 24)
	be := &slowBackend{Backend: sandboxIn(t, db)}
	a := &Activities{DB: db, Calendar: be, PageSize: 30, Concurrency: 4}
	env, plan := begin(t, a, user)
	v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	var pr PageResult
	if err := v.Get(&pr); err != nil || pr.Updated != 24 || pr.Failed != 0 {
		t.Fatalf("page = %+v, %v", pr, err)
	}
	if p := be.peak.Load(); p != 4 {
		t.Fatalf("%d updates at once, want 4", p)
	}
	results, _ := db.MeetingResults(ctx, plan.MigrationID)
	rec, _ := db.StatusRecord(ctx, plan.MigrationID)
	if len(results) != 24 || rec.ProcessedMeeting != 24 || rec.ExpectedMeeting != 24 || rec.InvitesUpdate != 24 {
		t.Fatalf("%d results, record %+v", len(results), rec)
	}
}

// Metrics label skip and failure reasons by their typed code, whatever
// their message says.
func TestReasonCategory(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		skip          migration.Skip
		message, want string
	}{
		{migration.NotOrganizer("bob@x"), "not organizer: bob@x organizes this meeting", "not-organizer"},
		{migration.Past(start), "past meeting: started 2026-01-01T00:00:00Z", "past"},
		{migration.ParticipantLimit(300, 250), "300 participants, more than the limit of 250", "participant-limit"},
		{migration.Deleted(), "deleted during the migration", "deleted"},
		{migration.Conflict(3, errors.New("conflict")), "still changing after 3 attempts: conflict", "conflict"},
		{migration.BlockNotReplaced("no online meeting block found"), "no online meeting block found", "block-not-replaced"},
	} {
		r := withReason(store.MeetingResult{}, migration.OutcomeSkipped, c.skip)
		if r.Reason != c.message || r.ReasonCode.Category() != c.want {
			t.Errorf("%+v: message %q category %q, want %q %q", c.skip, r.Reason, r.ReasonCode.Category(), c.message, c.want)
		}
	}
	if got := (store.MeetingResult{Outcome: migration.OutcomeUpdated}).ReasonCode.Category(); got != "" {
		t.Errorf("an updated meeting's category = %q, want none", got)
	}
}

// sandboxIn opens the sandbox back end in db for the test's duration.
func sandboxIn(t testing.TB, db *store.DB) *sandbox.Backend {
	b, err := sandbox.In(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
