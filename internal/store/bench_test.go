package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// benchRecords is the size of the status table the query benchmarks run
// over: 100,000 records of 50,000 users (two runs each), in one tenant.
const benchRecords, benchUsers = 100000, 50000

// benchDB opens a database holding benchRecords records: every user's older
// run Succeeded, the latest one mostly Succeeded, some Failed, a few
// InProgress or Pending, with results for none (the queries do not read them).
func benchDB(b *testing.B) *DB {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "mms.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.PutTenant(ctx, Tenant{ID: "contoso", DisplayName: "Contoso", Settings: migration.DefaultSettings()}); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = InTx(ctx, db.sql, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO migrations (id, tenant_id, user_id, state, migration_type,
			source_meeting_type, target_meeting_type, trigger_count, last_trigger, total_meeting, succeeded_meeting,
			workflow_id, created_at, modified_at) VALUES (?, 'contoso', ?, ?, 'ToSameType', 'All', 'Current', 1, 'manual',
			100, 100, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range benchRecords {
			u, round := i%benchUsers, i/benchUsers
			state := migration.StateSucceeded
			if round == benchRecords/benchUsers-1 {
				switch {
				case u%50 == 0:
					state = migration.StateFailed
				case u%200 == 1:
					state = migration.StateInProgress
				case u%500 == 2:
					state = migration.StatePending
				}
			}
			user := fmt.Sprintf("user%06d@contoso.com", u)
			ts := FormatTime(base.Add(time.Duration(i) * time.Second))
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("rec-%07d", i), user, state,
				"mms-migration/contoso/"+user, ts, ts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkSummary is Get-CsMeetingMigrationStatus -SummaryOnly over
// 100,000 records (target: under 50 ms).
func BenchmarkSummary(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	sum, err := db.Summary(ctx, "contoso", Filter{})
	if err != nil {
		b.Fatal(err)
	}
	if n := sum[migration.StateSucceeded] + sum[migration.StateFailed] + sum[migration.StateInProgress] + sum[migration.StatePending]; n != benchUsers {
		b.Fatalf("summary counts %d users, want %d: %v", n, benchUsers, sum)
	}
	for b.Loop() {
		if _, err := db.Summary(ctx, "contoso", Filter{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMigrations lists records over 100,000: the newest page, a page
// of one state, one user's records, and a page deep in the listing.
func BenchmarkMigrations(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    Filter
		want int
	}{
		{"Newest100", Filter{}, 100},
		{"Failed100", Filter{State: migration.StateFailed}, 100},
		{"OneUser", Filter{UserID: "user000123@contoso.com"}, 2},
		{"Offset50000", Filter{Offset: 50000}, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				recs, err := db.StatusRecords(ctx, "contoso", c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) != c.want {
					b.Fatalf("%d records, want %d", len(recs), c.want)
				}
			}
		})
	}
}

// BenchmarkRecordResults records one page of 50 meeting outcomes in a
// table already holding 100,000 records, and recomputes the counters.
func BenchmarkRecordResults(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	var rec StatusRecord
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	page := 0
	b.ReportAllocs()
	for b.Loop() {
		if page%20 == 0 {
			// A new run every 20 pages (1,000 meetings): the counters are
			// recomputed over the run's results so far, as in a real run.
			b.StopTimer()
			var err error
			if rec, err = db.OpenPending(ctx, Request{TenantID: "contoso", UserID: fmt.Sprintf("bench%d@contoso.com", page),
				Trigger: "manual", MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current",
				WorkflowID: "wf"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		results := make([]MeetingResult, 50)
		for i := range results {
			results[i] = MeetingResult{MeetingID: fmt.Sprintf("mtg-%07d", page*50+i), Subject: "Weekly sync",
				Start: start.Add(time.Duration(page*50+i) * time.Hour), Outcome: migration.OutcomeUpdated, InvitesSent: 2}
		}
		page++
		if _, err := db.RecordResults(ctx, rec.CorrelationID, results); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordResultsLongRun records the last page of a 10,000-meeting
// run: the counters are recomputed over the run's 10,000 results, so this is
// what keeps the time of a long run linear or not.
func BenchmarkRecordResultsLongRun(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	rec, err := db.OpenPending(ctx, Request{TenantID: "contoso", UserID: "long@contoso.com", Trigger: "manual",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	page := func(p int) []MeetingResult {
		results := make([]MeetingResult, 50)
		for i := range results {
			results[i] = MeetingResult{MeetingID: fmt.Sprintf("mtg-%07d", p*50+i), Subject: "Weekly sync",
				Start: start.Add(time.Duration(p*50+i) * time.Hour), Outcome: migration.OutcomeUpdated, InvitesSent: 2}
		}
		return results
	}
	for p := range 199 {
		if _, err := db.RecordResults(ctx, rec.CorrelationID, page(p)); err != nil {
			b.Fatal(err)
		}
	}
	last := page(199)
	for b.Loop() {
		got, err := db.RecordResults(ctx, rec.CorrelationID, last)
		if err != nil {
			b.Fatal(err)
		}
		if got.SucceededMeeting != 10000 || got.ProcessedMeeting != 10000 {
			b.Fatalf("record = %+v", got)
		}
	}
}
