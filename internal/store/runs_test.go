package store

import (
	"context"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store/storetest"
)

// The Pending record merges triggers as the workflow does, in either order:
// a Teams upgrade and a conference-ID change make one All-to-Teams record
// that lists both.
func TestPendingMergesByMeaningInBothOrders(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		upgrade := Request{TenantID: "t1", Trigger: "Teams upgrade", MigrationType: migration.TypeSfbToTeams,
			SourceMeetingType: migration.SourceSfB, TargetMeetingType: migration.TargetTeams, WorkflowID: "wf"}
		confID := Request{TenantID: "t1", Trigger: "conference ID changed", MigrationType: migration.TypeToSameType,
			SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf"}
		teams := Request{TenantID: "t1", Trigger: "teams only", MigrationType: migration.TypeToSameType,
			SourceMeetingType: migration.SourceTeams, TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf"}
		db := open(t, dsn)
		for _, c := range []struct {
			user  string
			reqs  []Request
			src   migration.Source
			tgt   migration.Target
			typ   migration.Type
			msg   string
			count int
		}{
			{"u1", []Request{upgrade, confID}, migration.SourceAll, migration.TargetTeams, migration.TypeAllToTeams,
				"2 triggers merged: Teams upgrade; conference ID changed", 2},
			{"u2", []Request{confID, upgrade}, migration.SourceAll, migration.TargetTeams, migration.TypeAllToTeams,
				"2 triggers merged: conference ID changed; Teams upgrade", 2},
			{"u3", []Request{upgrade, teams, upgrade}, migration.SourceAll, migration.TargetTeams, migration.TypeAllToTeams,
				"3 triggers merged: Teams upgrade; teams only; Teams upgrade", 3},
			{"u4", []Request{upgrade, upgrade}, migration.SourceSfB, migration.TargetTeams, migration.TypeSfbToTeams,
				"2 triggers merged: Teams upgrade; Teams upgrade", 2},
		} {
			var rec StatusRecord
			for _, r := range c.reqs {
				r.UserID = c.user
				var err error
				if rec, err = db.OpenPending(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if rec.SourceMeetingType != c.src || rec.TargetMeetingType != c.tgt || rec.MigrationType != c.typ ||
				rec.LastMessage != c.msg || rec.TriggerCount != c.count {
				t.Errorf("%s: %+v", c.user, rec)
			}
		}
	})
}

// A run's problems are noted on the record it works on, found by its run
// key or, before it claimed one, as the user's Pending record.
func TestRunRecordAndNoteRun(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		req := Request{TenantID: "t1", UserID: "u1", Trigger: "x", MigrationType: migration.TypeToSameType,
			SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf"}
		if _, err := db.RunRecord(ctx, "t1", "u1", "k1"); err == nil {
			t.Fatal("a user without records has a run record")
		}
		p, err := db.OpenPending(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.RunRecord(ctx, "t1", "u1", "k1"); err != nil || got.CorrelationID != p.CorrelationID {
			t.Fatalf("pending: %+v, %v", got, err)
		}
		if err := db.NoteRun(ctx, p.CorrelationID, "BeginRun: store locked", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := db.BeginRun(ctx, req, "k1"); err != nil {
			t.Fatal(err)
		}
		got, err := db.RunRecord(ctx, "t1", "u1", "k1")
		if err != nil || got.CorrelationID != p.CorrelationID || got.State != migration.StateInProgress ||
			got.LastMessage != "BeginRun: store locked" || got.RetryCount != 2 {
			t.Fatalf("in progress: %+v, %v", got, err)
		}
		if _, err := db.FinishRun(ctx, p.CorrelationID, migration.StateFailed, "boom"); err != nil {
			t.Fatal(err)
		}
		if err := db.NoteRun(ctx, p.CorrelationID, "late", 3); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.StatusRecord(ctx, p.CorrelationID); got.LastMessage != "boom" {
			t.Fatalf("a final record was noted: %+v", got)
		}
		// Open records older than the grace period are the sweep's candidates.
		if _, err := db.OpenPending(ctx, Request{TenantID: "t1", UserID: "u2", Trigger: "y", WorkflowID: "wf2"}); err != nil {
			t.Fatal(err)
		}
		open, err := db.OpenRecordsBefore(ctx, time.Now().Add(time.Hour), 10)
		if err != nil || len(open) != 1 || open[0].UserID != "u2" {
			t.Fatalf("open records: %+v, %v", open, err)
		}
		if open, _ := db.OpenRecordsBefore(ctx, time.Now().Add(-time.Hour), 10); len(open) != 0 {
			t.Fatalf("recent records swept: %+v", open)
		}
	})
}
