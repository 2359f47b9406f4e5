package store

import (
	"context"
	"testing"
	"time"

	"github.com/openmms/mms/internal/store/storetest"

	"github.com/openmms/mms/internal/migration"
)

// SummaryByType counts each user once, by their latest record's state and
// type, so its cells add up to Summary's; dry runs stay out.
func TestSummaryByTypeAddsUpToSummary(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testSummaryByTypeAddsUpToSummary(t, open(t, dsn)) })
}

func testSummaryByTypeAddsUpToSummary(t *testing.T, db *DB) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	run := func(user string, typ migration.Type, state migration.State, dry bool) {
		t.Helper()
		req := Request{TenantID: "t1", UserID: user, Trigger: "x", MigrationType: typ, SourceMeetingType: "All",
			TargetMeetingType: "Current", WorkflowID: "wf-" + user}
		if dry {
			d, err := db.OpenDryRun(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			req.CorrelationID = d.CorrelationID
		}
		rec, err := db.BeginRun(ctx, req, user+string(typ)+clock.String())
		if err != nil {
			t.Fatal(err)
		}
		if state != migration.StateInProgress {
			if _, err := db.FinishRun(ctx, rec.CorrelationID, state, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	run("a", migration.TypeToSameType, migration.StateFailed, false)
	run("a", migration.TypeAllToTeams, migration.StateSucceeded, false) // a's latest
	run("b", migration.TypeToSameType, migration.StateFailed, false)
	run("c", migration.TypeToSameType, migration.StateInProgress, false)
	run("c", migration.TypeAllToTeams, migration.StateSucceeded, true) // a dry run: not c's state
	got, err := db.SummaryByType(ctx, "t1", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[migration.Type]map[migration.State]int{
		migration.TypeAllToTeams: {migration.StateSucceeded: 1},
		migration.TypeToSameType: {migration.StateFailed: 1, migration.StateInProgress: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("by type %v, want %v", got, want)
	}
	sum, _ := db.Summary(ctx, "t1", Filter{})
	for typ, states := range want {
		for st, n := range states {
			if got[typ][st] != n {
				t.Errorf("%s %s: %d, want %d (all: %v)", typ, st, got[typ][st], n, got)
			}
		}
	}
	for st, n := range sum {
		total := 0
		for _, states := range got {
			total += states[st]
		}
		if total != n {
			t.Errorf("%s: by type %d, summary %d", st, total, n)
		}
	}
}
