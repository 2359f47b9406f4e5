package activities

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
)

// exceptionFirstBackend is the sandbox listing each page backwards (the
// demo series' exception before its master), with a slow master update,
// recording when each update starts and ends.
type exceptionFirstBackend struct {
	calendar.Backend
	mu     sync.Mutex
	events []string // "start <id>" / "end <id>", in time order
	master string
}

func (b *exceptionFirstBackend) ListMeetings(ctx context.Context, tenant, mailbox string, from, to time.Time, cursor string, n int) (calendar.Page, error) {
	p, err := b.Backend.ListMeetings(ctx, tenant, mailbox, from, to, cursor, n)
	slices.Reverse(p.Meetings)
	return p, err
}

func (b *exceptionFirstBackend) log(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, s)
}

func (b *exceptionFirstBackend) UpdateMeeting(ctx context.Context, tenant string, u calendar.Update) (calendar.UpdateResult, error) {
	b.log("start " + u.MeetingID)
	defer b.log("end " + u.MeetingID)
	if u.MeetingID == b.master {
		// Slow enough that an exception not waiting for it would start first.
		time.Sleep(100 * time.Millisecond)
	}
	return b.Backend.UpdateMeeting(ctx, tenant, u)
}

// TestSeriesMasterIsUpdatedBeforeItsException is item 5 of issue 17: a
// page listing [exception, master] updates the master first, and the
// exception only after the master's update ended, so the master's
// notification cannot carry the exception's change a second time.
func TestSeriesMasterIsUpdatedBeforeItsException(t *testing.T) {
	ctx := context.Background()
	db, sb := demo(t)
	const alice = "alice@contoso.com"
	ms, err := sb.Meetings(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}
	var master, exception string
	for _, m := range ms {
		switch m.Kind {
		case calendar.KindSeriesMaster:
			master = m.ID
		case calendar.KindException:
			exception = m.ID
		}
	}
	if master == "" || exception == "" {
		t.Fatalf("the demo has no series with an exception: %+v", ms)
	}
	be := &exceptionFirstBackend{Backend: sb, master: master}
	a := &Activities{DB: db, Calendar: be, Concurrency: 4}
	if r := run(t, a, "contoso", alice, migration.SourceAll, migration.TargetCurrent); r.Updated != 4 || r.Failed != 0 {
		t.Fatalf("run: %+v, want 4 updated", r)
	}
	at := func(e string) int { return slices.Index(be.events, e) }
	if at("end "+master) < 0 || at("start "+exception) < 0 || at("end "+master) > at("start "+exception) {
		t.Fatalf("the exception's update started before its master's ended: %v", be.events)
	}
	// The other meetings did not wait for the series: one of them ended
	// before the slow master did. (Counting only starts inside the
	// master's window was timing-dependent: on a loaded machine the others
	// could all start before the master's goroutine logged its own start.)
	others := 0
	for _, e := range be.events[:at("end "+master)] {
		if len(e) > 4 && e[:4] == "end " && e != "end "+exception {
			others++
		}
	}
	if others == 0 {
		t.Errorf("no other meeting was updated beside the slow master: %v", be.events)
	}
}

func TestSeriesOrder(t *testing.T) {
	page := []calendar.Meeting{
		{ID: "x1", Kind: calendar.KindException, SeriesMasterID: "m"},
		{ID: "s1", Kind: calendar.KindSingle},
		{ID: "y1", Kind: calendar.KindException, SeriesMasterID: "other-page"},
		{ID: "m", Kind: calendar.KindSeriesMaster},
		{ID: "x2", Kind: calendar.KindException, SeriesMasterID: "m"},
		{ID: "s2", Kind: calendar.KindSingle},
	}
	order, masterOf := seriesOrder(page, 0)
	if want := []int{1, 2, 3, 0, 4, 5}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if len(masterOf) != 2 || masterOf[0] != 3 || masterOf[4] != 3 {
		t.Errorf("masterOf %v, want both exceptions of m on position 3", masterOf)
	}
	// Resumed after the first two (heartbeated progress): the master is
	// still to do, so x1 (done) is not started again and x2 still waits.
	order, masterOf = seriesOrder(page, 2)
	if want := []int{2, 3, 4, 5}; !slices.Equal(order, want) || len(masterOf) != 1 || masterOf[4] != 3 {
		t.Errorf("resumed at 2: order %v, masterOf %v", order, masterOf)
	}
	// The master done by an earlier attempt: nothing waits for it.
	if order, masterOf = seriesOrder(page, 4); !slices.Equal(order, []int{4, 5}) || len(masterOf) != 0 {
		t.Errorf("resumed at 4: order %v, masterOf %v", order, masterOf)
	}
}
