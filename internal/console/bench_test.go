package console

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/cputime"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// The console's pages over a tenant with 100,000 records of 50,000 users
// (two runs each, the latest mostly Succeeded, some Failed, InProgress or
// Pending, across the four migration types), 10,000 events, and one user
// whose dry run has 100 meetings with diffs. Target: every page under 200 ms
// server-side (issue 21).
const benchRecords, benchUsers, benchEvents, benchMeetings = 100000, 50000, 10000, 100

const benchUser = "user000000@contoso.com"

func benchConsole(b *testing.B) (*Console, string, string) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "mms.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.PutTenant(ctx, store.Tenant{ID: "contoso", DisplayName: "Contoso", Settings: migration.DefaultSettings()}); err != nil {
		b.Fatal(err)
	}
	if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: benchUser}); err != nil {
		b.Fatal(err)
	}
	raw, err := store.OpenSQL(ctx, db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = store.InTx(ctx, raw, func(tx *sql.Tx) error {
		rec, err := tx.PrepareContext(ctx, `INSERT INTO migrations (id, tenant_id, user_id, state, migration_type,
			source_meeting_type, target_meeting_type, trigger_count, last_trigger, total_meeting, succeeded_meeting,
			failed_meeting, last_message, workflow_id, created_at, modified_at) VALUES (?, 'contoso', ?, ?, ?, 'All', 'Current', 1,
			'manual', 100, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer rec.Close()
		for i := range benchRecords {
			u, round := i%benchUsers, i/benchUsers
			state, failed, msg := migration.StateSucceeded, 0, "100 meetings updated"
			if round == benchRecords/benchUsers-1 {
				switch {
				case u%50 == 0:
					state, failed, msg = migration.StateFailed, 3, "3 meetings failed: the organizer edited them"
				case u%200 == 1:
					state, msg = migration.StateInProgress, "page 2"
				case u%500 == 2:
					state, msg = migration.StatePending, "waiting for the quiet period"
				}
			}
			user := fmt.Sprintf("user%06d@contoso.com", u)
			ts := store.FormatTime(base.Add(time.Duration(i) * time.Second))
			if _, err := rec.ExecContext(ctx, fmt.Sprintf("rec-%07d", i), user, state, migration.Types[u%len(migration.Types)],
				100-failed, failed, msg, "mms-migration/contoso/"+user, ts, ts); err != nil {
				return err
			}
		}
		ev, err := tx.PrepareContext(ctx, `INSERT INTO events (tenant_id, id, user_id, type, payload, triggered, reason, received_at)
			VALUES ('contoso', ?, ?, 'conferenceIdChanged', '{}', 1, 'the conference ID changed', ?)`)
		if err != nil {
			return err
		}
		defer ev.Close()
		for i := range benchEvents {
			if _, err := ev.ExecContext(ctx, fmt.Sprintf("ev-%06d", i), fmt.Sprintf("user%06d@contoso.com", i%benchUsers),
				store.FormatTime(base.Add(time.Duration(i)*time.Minute))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// One dry run with 100 meetings and their diffs, newer than the rest.
	req := store.Request{TenantID: "contoso", UserID: benchUser, Trigger: "manual", MigrationType: migration.TypeToSameType,
		SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, WorkflowID: "dry"}
	dry, err := db.OpenDryRun(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	req.CorrelationID = dry.CorrelationID
	if _, err := db.BeginRun(ctx, req, "dry"); err != nil {
		b.Fatal(err)
	}
	var results []store.MeetingResult
	for i := range benchMeetings {
		results = append(results, store.MeetingResult{MeetingID: fmt.Sprintf("m%03d", i), Subject: fmt.Sprintf("Meeting %d", i),
			Start: base.Add(time.Duration(i) * time.Hour), Outcome: migration.OutcomeWouldUpdate,
			Diff: "--- old\n+++ new\n@@ -4,7 +4,7 @@\n Agenda\n \n Join\n-Conference ID: 111 222 333\n+Conference ID: 987 654 321\n-Call +1 425-555-0100\n+Call +1 206-555-0199\n " +
				strings.Repeat("x", 200) + "\n"})
	}
	if _, err := db.RecordResults(ctx, dry.CorrelationID, results); err != nil {
		b.Fatal(err)
	}
	token, err := db.CreateToken(ctx, "bench", "contoso", store.RoleOperator)
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(db, intake.New(db, nil, nil, nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	return c, token, dry.CorrelationID
}

// BenchmarkPages renders each console page over 100,000 records, through
// the console's handler with a signed-in cookie (no network).
func BenchmarkPages(b *testing.B) {
	c, token, dry := benchConsole(b)
	for _, p := range []struct{ name, path string }{
		{"Summary", "/console/t/contoso/"},
		{"Migrations", "/console/t/contoso/migrations"},
		{"MigrationsFiltered", "/console/t/contoso/migrations?state=Succeeded&type=AllToTeams&start=2026-01-01T12:00&end=2026-01-02T00:00"},
		{"MigrationsLastPage", "/console/t/contoso/migrations?offset=99990"},
		{"Failed", "/console/t/contoso/failed"},
		{"Events", "/console/t/contoso/events"},
		{"Settings", "/console/t/contoso/settings"},
		{"User", "/console/t/contoso/users/" + benchUser},
		{"UserDryRunDiffs", "/console/t/contoso/users/" + benchUser + "?run=" + dry},
		{"Docs", "/docs"},
	} {
		b.Run(p.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", p.path, nil)
			req.AddCookie(&http.Cookie{Name: tokenCookie, Value: token})
			cpu := cputime.Process()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %.300s", p.path, w.Code, w.Body.String())
				}
			}
			// The process's CPU time per page: on a shared machine the
			// wall time also counts the waits for a core, which this does not.
			b.ReportMetric(float64((cputime.Process()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
