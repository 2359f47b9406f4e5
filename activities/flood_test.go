package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// A page whose updates cross the tenant's budget stops before the first
// one refused, records what it did and says how long to wait; asked again
// without the meetings done, in the next budget hour, it goes on. Every
// meeting is updated once (its two attendees notified once), and no hour
// sends more than the budget, 4 meetings updating at once.
func TestPageDeferredByTheBudgetResumesWithoutRepeats(t *testing.T) {
	db, user := seeded(t, 50)
	sb := sandboxIn(t, db)
	const hour, budget = 2 * time.Second, 30
	a := &Activities{DB: db, Calendar: sb, FloodHour: hour, Concurrency: 4}
	env, plan := begin(t, a, user)
	plan.Profile.ConferenceID = "7777777" // every block changes
	plan.Flood = &migration.FloodControl{NotificationBudgetPerHour: budget}
	var skip []string
	updated, calls := 0, 0
	for {
		v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan, Skip: skip})
		var pr PageResult
		if err != nil || v.Get(&pr) != nil {
			t.Fatalf("page: %v", err)
		}
		calls++
		updated += pr.Updated
		if !pr.Deferred {
			break
		}
		if !strings.HasPrefix(pr.WaitMessage, "notification budget: resumes at ") || pr.Wait <= 0 || pr.Wait > hour ||
			len(pr.Done) != len(skip)+pr.Updated+pr.UpToDate+pr.Skipped+pr.Failed {
			t.Fatalf("deferred page %+v after skipping %d", pr, len(skip))
		}
		if calls > 20 {
			t.Fatal("the page never finished")
		}
		time.Sleep(pr.Wait) // the workflow's timer
		skip = pr.Done
	}
	if updated != 50 || calls < 100/budget {
		t.Fatalf("%d meetings updated in %d calls", updated, calls)
	}
	sent, err := sb.Outbox(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	perMeeting, perHour := map[string]int{}, map[time.Time]int{}
	for _, n := range sent {
		perMeeting[n.MeetingID]++
		perHour[n.SentAt.Truncate(hour)]++
	}
	if len(perMeeting) != 50 {
		t.Fatalf("%d meetings notified", len(perMeeting))
	}
	for m, n := range perMeeting {
		if n != 2 {
			t.Fatalf("meeting %s: %d notifications", m, n)
		}
	}
	for h, n := range perHour {
		if n > budget {
			t.Fatalf("the hour of %s sent %d, more than %d", h.Format("15:04:05.000"), n, budget)
		}
	}
}

// A closed window defers the page before any update; a meeting that
// alone needs more than the budget fails with over-budget instead of
// waiting forever.
func TestWindowClosedAndOverBudget(t *testing.T) {
	db, user := seeded(t, 3)
	sb := sandboxIn(t, db)
	// Half past the hour: in an hour's last 1/20 no reservation is made
	// at all, which on the wall clock failed this test between :57 and :00.
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	a := &Activities{DB: db, Calendar: sb, Now: func() time.Time { return now }}
	env, plan := begin(t, a, user)
	plan.Profile.ConferenceID = "7777777"
	day := migration.WeekDays[(int(now.Weekday())+6)%7]
	start := now.Add(2 * time.Hour).Format("15:04")
	end := now.Add(3 * time.Hour).Format("15:04")
	plan.Flood = &migration.FloodControl{Window: &migration.Window{Days: []string{day}, Start: start, End: end, TimeZone: "UTC"}}
	v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
	var pr PageResult
	if err != nil || v.Get(&pr) != nil || !pr.Deferred || pr.Updated != 0 || len(pr.Done) != 0 ||
		!strings.HasPrefix(pr.WaitMessage, "waiting for the maintenance window (opens ") || pr.Wait < time.Hour {
		t.Fatalf("closed window: %+v, %v", pr, err)
	}
	if sent, _ := sb.Outbox(context.Background(), "t", ""); len(sent) != 0 {
		t.Fatalf("%d notifications sent with the window closed", len(sent))
	}
	plan.Flood = &migration.FloodControl{NotificationBudgetPerHour: 1}
	v, err = env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
	pr = PageResult{}
	if err != nil || v.Get(&pr) != nil || pr.Deferred || pr.Failed != 3 {
		t.Fatalf("over budget: %+v, %v", pr, err)
	}
}
