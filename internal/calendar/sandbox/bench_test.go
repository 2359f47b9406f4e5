package sandbox

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// benchMeetings adds n meetings to one mailbox and returns their IDs.
func benchMeetings(b *testing.B, be *Backend, n int) []string {
	b.Helper()
	start := time.Date(2030, 6, 1, 9, 0, 0, 0, time.UTC)
	items := make([]NewItem, n)
	for i := range items {
		items[i] = item("a@x", "a@x", start.Add(time.Duration(i)*time.Hour), calendar.KindSingle)
	}
	ids, err := be.AddMeetings(context.Background(), "t", items)
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// update reads a meeting and writes it back, as a migration's activity does.
func update(ctx context.Context, be *Backend, id string, n int64) error {
	m, err := be.GetMeeting(ctx, "t", "a@x", id)
	if err != nil {
		return err
	}
	_, err = be.UpdateMeeting(ctx, "t", calendar.Update{Mailbox: "a@x", MeetingID: id, ETag: m.ETag,
		Body: fmt.Sprintf("<p>%d</p>", n), IdempotencyKey: fmt.Sprintf("bench/%s/%d", id, n)})
	return err
}

// BenchmarkUpdateMeeting is one meeting's read and update with its two
// notifications: the sandbox's share of a migrated meeting.
func BenchmarkUpdateMeeting(b *testing.B) {
	be, _ := newBackend(b, storetest.DSN(b, storetest.SQLite))
	ids := benchMeetings(b, be, 1000)
	ctx := context.Background()
	var n int64
	for b.Loop() {
		if err := update(ctx, be, ids[n%int64(len(ids))], n); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkUpdateMeetingBesideStore runs sandbox updates and the store's
// result writes from parallel goroutines, as a worker's activities do: it
// measures how the sandbox's and the store's writers share the database.
func BenchmarkUpdateMeetingBesideStore(b *testing.B) {
	be, db := newBackend(b, storetest.DSN(b, storetest.SQLite))
	ctx := context.Background()
	ids := benchMeetings(b, be, 1000)
	if err := db.PutTenant(ctx, store.Tenant{ID: "t", DisplayName: "t", Settings: migration.DefaultSettings()}); err != nil {
		b.Fatal(err)
	}
	rec, err := db.OpenPending(ctx, store.Request{TenantID: "t", UserID: "a@x", Trigger: "manual",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			id := ids[n%int64(len(ids))]
			if n%2 == 0 {
				if err := update(ctx, be, id, n); err != nil {
					b.Error(err)
					return
				}
				continue
			}
			if _, err := db.RecordResults(ctx, rec.CorrelationID, []store.MeetingResult{{MeetingID: id,
				Subject: "s", Outcome: migration.OutcomeUpdated, InvitesSent: 2}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
