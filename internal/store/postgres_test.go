package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store/storetest"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`:                             `SELECT 1`,
		`a = ? AND b IN (?, ?)`:                `a = $1 AND b IN ($2, $3)`,
		`x = '?' AND y = ?`:                    `x = '?' AND y = $1`,
		`x = 'it''s ?' AND y = ?`:              `x = 'it''s ?' AND y = $1`,
		`"we?ird" = ?`:                         `"we?ird" = $1`,
		"-- why?\nx = ?":                       "-- why?\nx = $1",
		`/* a ? b */ x = ? -- trailing ?`:      `/* a ? b */ x = $1 -- trailing ?`,
		`x = 'unterminated ?`:                  `x = 'unterminated ?`,
		`LIMIT ? OFFSET ?`:                     `LIMIT $1 OFFSET $2`,
		`CASE WHEN ? > 0 THEN ? ELSE r END, ?`: `CASE WHEN $1 > 0 THEN $2 ELSE r END, $3`,
	} {
		if got := Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// PostgreSQL runs the store's read-decide-write transactions SERIALIZABLE
// (InTx): triggers for one user arriving at once on several API replicas
// still merge into one Pending record, and every trigger is counted.
func TestConcurrentTriggersMergeIntoOnePendingRecord(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		// Several pools, as several replicas hold.
		var dbs []*DB
		for range 4 {
			dbs = append(dbs, open(t, dsn))
		}
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := dbs[i%len(dbs)].OpenPending(ctx, Request{TenantID: "t1", UserID: "u1", Trigger: "t",
					MigrationType: migration.TypeToSameType, SourceMeetingType: migration.SourceAll,
					TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		recs, err := dbs[0].StatusRecords(ctx, "t1", Filter{UserID: "u1"})
		if err != nil || len(recs) != 1 || recs[0].TriggerCount != n {
			t.Fatalf("records = %+v, %v; want one Pending record counting %d triggers", recs, err, n)
		}
	})
}

// The profile's compare-and-set holds across pools: of concurrent events
// all decided on the same profile, exactly one is recorded.
func TestConcurrentProfileSwapsOneWins(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, b := open(t, dsn), open(t, dsn)
		v0 := []byte(`{"conferenceId":"0"}`)
		if err := a.ReplaceUser(ctx, User{TenantID: "t1", ID: "u", Profile: v0}, nil); err != nil {
			t.Fatal(err)
		}
		const n = 10
		var wg sync.WaitGroup
		wins := make(chan bool, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := a
				if i%2 == 1 {
					db = b
				}
				after := []byte(`{"conferenceId":"` + string(rune('a'+i)) + `"}`)
				_, err := db.RecordEvent(ctx, "t1", Event{ID: "e" + string(rune('a'+i)), UserID: "u", Type: "x",
					Payload: []byte(`{}`), Triggered: true}, v0, after)
				if err != nil && !errors.Is(err, ErrConflict) {
					t.Error(err)
				}
				wins <- err == nil
			}()
		}
		wg.Wait()
		close(wins)
		won := 0
		for w := range wins {
			if w {
				won++
			}
		}
		evs, err := a.Events(ctx, "t1", "u", 0)
		if won != 1 || err != nil || len(evs) != 1 || !evs[0].Triggered {
			t.Fatalf("%d events won, %d recorded (%v): want exactly one", won, len(evs), err)
		}
	})
}
