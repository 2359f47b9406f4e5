package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// newBackend opens the store and the sandbox in a new database on dsn
// (storetest's).
func newBackend(t testing.TB, dsn string) (*Backend, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := In(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, db
}

func item(mailbox, organizer string, start time.Time, kind string) NewItem {
	return NewItem{Mailbox: mailbox, Meeting: calendar.Meeting{Subject: "s " + start.Format(time.RFC3339), Organizer: organizer,
		Attendees: []calendar.Attendee{{Address: organizer}, {Address: "x@example.com"}, {Address: "y@example.com"}},
		Start:     start, End: start.Add(time.Hour), Kind: kind, Body: "<p>hi</p>", BodyType: calendar.BodyHTML,
		OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams}}}
}

func TestListMeetingsPagesThroughTheWindowOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		b, _ := newBackend(t, dsn)
		now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
		var items []NewItem
		for i := range 25 { // 25 future meetings, 5 sharing a start time (ties broken by ID)
			items = append(items, item("a@x", "a@x", now.Add(time.Duration(i/5+1)*time.Hour), calendar.KindSingle))
		}
		items = append(items, item("a@x", "a@x", now.Add(-48*time.Hour), calendar.KindSingle))          // past
		items = append(items, item("a@x", "a@x", now.Add(-30*24*time.Hour), calendar.KindSeriesMaster)) // open series
		items = append(items, item("a@x", "b@x", now.Add(time.Hour), calendar.KindSingle))              // attendee copy
		items = append(items, item("other@x", "other@x", now.Add(time.Hour), calendar.KindSingle))      // another mailbox
		if _, err := b.AddMeetings(ctx, "t", items); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		cursor, pages := "", 0
		for {
			p, err := b.ListMeetings(ctx, "t", "a@x", now, now.Add(365*24*time.Hour), cursor, 4)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, m := range p.Meetings {
				if seen[m.ID] {
					t.Fatalf("meeting %s listed twice", m.ID)
				}
				seen[m.ID] = true
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 27 || pages != 7 { // 25 + series master + attendee copy
			t.Fatalf("listed %d meetings in %d pages, want 27 in 7", len(seen), pages)
		}
		if _, err := b.ListMeetings(ctx, "t", "a@x", now, now, "garbage", 4); err == nil {
			t.Fatal("malformed cursor accepted")
		}
	})
}

func TestUpdateMeetingConflictsAndIdempotency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		b, _ := newBackend(t, dsn)
		start := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
		ids, err := b.AddMeetings(ctx, "t", []NewItem{item("a@x", "a@x", start, calendar.KindSingle)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.GetMeeting(ctx, "t", "a@x", ids[0])
		if err != nil {
			t.Fatal(err)
		}
		u := calendar.Update{Mailbox: "a@x", MeetingID: m.ID, ETag: m.ETag, Body: "<p>new</p>", IdempotencyKey: "run1/" + m.ID}
		r1, err := b.UpdateMeeting(ctx, "t", u)
		if err != nil || r1.InvitesSent != 2 {
			t.Fatalf("update = %+v, %v; want 2 invites (attendees but not the organizer)", r1, err)
		}
		r2, err := b.UpdateMeeting(ctx, "t", u) // retried with the same key: nothing more is sent
		if err != nil || r2.ETag != r1.ETag || r2.InvitesSent != 2 {
			t.Fatalf("replay = %+v, %v", r2, err)
		}
		sent, _ := b.Outbox(ctx, "t", m.ID)
		if len(sent) != 2 {
			t.Fatalf("outbox has %d messages, want 2", len(sent))
		}
		u.IdempotencyKey, u.Body = "run2/"+m.ID, "<p>newer</p>" // stale etag
		if _, err := b.UpdateMeeting(ctx, "t", u); !errors.Is(err, calendar.ErrConflict) {
			t.Fatalf("stale etag: %v, want ErrConflict", err)
		}
		if got, _ := b.GetMeeting(ctx, "t", "a@x", m.ID); got.Body != "<p>new</p>" {
			t.Fatalf("a conflicting update changed the body to %q", got.Body)
		}
		if _, err := b.UpdateMeeting(ctx, "t", calendar.Update{Mailbox: "a@x", MeetingID: "nope", ETag: "1"}); !errors.Is(err, calendar.ErrNotFound) {
			t.Fatalf("unknown meeting: %v", err)
		}
	})
}

func TestEnsureTeamsMeetingIsCreateOrGet(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		b, _ := newBackend(t, dsn)
		first, err := b.EnsureTeamsMeeting(ctx, "t", "a@x", "item1")
		if err != nil {
			t.Fatal(err)
		}
		again, _ := b.EnsureTeamsMeeting(ctx, "t", "a@x", "item1")
		other, _ := b.EnsureTeamsMeeting(ctx, "t", "a@x", "item2")
		if first.JoinURL == "" || first != again || other.JoinURL == first.JoinURL {
			t.Fatalf("first=%+v again=%+v other=%+v", first, again, other)
		}
	})
}

func TestSeedBulkAndDemo(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		b, db := newBackend(t, dsn)
		now := time.Now()
		users, err := SeedBulk(ctx, db, BulkOptions{Tenant: "load", Users: 3, Meetings: 7}, now)
		if err != nil || len(users) != 3 {
			t.Fatalf("seed = %v, %v", users, err)
		}
		ms, _ := b.Meetings(ctx, "load", users[2])
		if len(ms) != 7 {
			t.Fatalf("user has %d meetings, want 7", len(ms))
		}
		if _, err := SeedBulk(ctx, db, BulkOptions{Tenant: "load", Users: 0}, now); err == nil {
			t.Fatal("zero users accepted")
		}
		for i, want := range []bool{true, false} {
			seeded, err := SeedDemo(ctx, db, now)
			if err != nil || seeded != want {
				t.Fatalf("SeedDemo #%d = %v, %v; want %v", i+1, seeded, err, want)
			}
		}
		if mb, err := b.Mailbox(ctx, DemoTenant, "carol@contoso.com"); err != nil || mb.Online {
			t.Fatalf("carol's mailbox = %+v, %v; want on premises", mb, err)
		}
		if _, err := b.Mailbox(ctx, DemoTenant, "nobody@contoso.com"); !errors.Is(err, calendar.ErrNotFound) {
			t.Fatal(fmt.Sprint("unknown mailbox: ", err))
		}
	})
}

// Workers on several hosts updating one meeting with the same etag: one
// update wins, the others conflict, and the attendees are told once. On
// PostgreSQL this holds because the read of the etag and the write run in
// one SERIALIZABLE transaction (store.InTx).
func TestConcurrentUpdatesOfOneEtagOneWins(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		b, db := newBackend(t, dsn)
		other, err := In(ctx, db) // a second pool, as a second worker holds
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		start := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
		ids, err := b.AddMeetings(ctx, "t", []NewItem{item("a@x", "a@x", start, calendar.KindSingle)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.GetMeeting(ctx, "t", "a@x", ids[0])
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		won := make(chan calendar.UpdateResult, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				be := b
				if i%2 == 1 {
					be = other
				}
				r, err := be.UpdateMeeting(ctx, "t", calendar.Update{Mailbox: "a@x", MeetingID: m.ID, ETag: m.ETag,
					Body: fmt.Sprintf("<p>%d</p>", i), IdempotencyKey: fmt.Sprintf("run%d/%s", i, m.ID)})
				switch {
				case err == nil:
					won <- r
				case !errors.Is(err, calendar.ErrConflict):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		close(won)
		var wins []calendar.UpdateResult
		for r := range won {
			wins = append(wins, r)
		}
		sent, _ := b.Outbox(ctx, "t", m.ID)
		if len(wins) != 1 || wins[0].InvitesSent != 2 || len(sent) != 2 {
			t.Fatalf("%d updates won (%+v), %d messages sent: want one update telling 2 attendees", len(wins), wins, len(sent))
		}
	})
}
