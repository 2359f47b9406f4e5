package activities

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// BenchmarkProcessPageFloodControl is the cost flood control adds to a
// page of 50 meetings that all need an update (sandbox, SQLite): "none"
// is a run without it, "budgets" reserves every update from a tenant
// budget and the organizer's day (what the default recipients limit
// does, plus an hourly budget). Each iteration writes a new conference ID
// into every meeting.
func BenchmarkProcessPageFloodControl(b *testing.B) {
	for _, tc := range []struct {
		name  string
		flood *migration.FloodControl
	}{
		{"none", nil},
		{"budgets", &migration.FloodControl{NotificationBudgetPerHour: 1 << 30, OrganizerRecipientsPerDay: 1 << 30}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "mms.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: "t", Users: 1, Meetings: 50}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			a := &Activities{DB: db, Calendar: sandboxIn(b, db), Logger: slog.New(slog.DiscardHandler)}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			v, err := env.ExecuteActivity(a.BeginRun, BeginRunInput{TenantID: "t", UserID: users[0], RunKey: "k", WorkflowID: "wf",
				Trigger: "bench", SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent})
			var plan RunPlan
			if err != nil || v.Get(&plan) != nil || plan.Blocked != "" {
				b.Fatalf("plan %+v, %v", plan, err)
			}
			plan.Flood = tc.flood
			b.ResetTimer()
			for i := range b.N {
				plan.Profile.ConferenceID = fmt.Sprint(2000000 + i)
				v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
				var pr PageResult
				if err != nil || v.Get(&pr) != nil || pr.Updated != 50 || pr.Deferred {
					b.Fatalf("page %+v, %v", pr, err)
				}
			}
		})
	}
}
