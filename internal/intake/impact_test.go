package intake

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/rules"
)

// slowCalendar lists the first mailboxes at once and the others after the
// preview's time budget has run out.
type slowCalendar struct {
	calendar.Backend
	fast  int32
	calls atomic.Int32
}

func (s *slowCalendar) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, n int) (calendar.Page, error) {
	if s.calls.Add(1) > s.fast {
		<-ctx.Done() // a back end that does not answer in time
		return calendar.Page{}, ctx.Err()
	}
	return s.Backend.ListMeetings(ctx, tenantID, mailbox, from, to, cursor, n)
}

// The impact preview decides a bridge change for every user on the bridge
// and counts their future meetings and attendees in the back end,
// recording nothing; when its time budget runs out, the users not counted
// are estimated from those counted, and the figures say so. A bridge no
// user is on is refused naming bridgeId.
func TestPreviewCountsAndEstimates(t *testing.T) {
	ctx := context.Background()
	db := fanOutStore(t, 6)
	sb, err := sandbox.In(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(72 * time.Hour)
	for i := range 6 {
		u := fmt.Sprintf("u%d@fabrikam.com", i)
		if err := sb.PutMailbox(ctx, fabrikam, calendar.Mailbox{Address: u, Online: true}); err != nil {
			t.Fatal(err)
		}
		var items []sandbox.NewItem
		for m := range 2 {
			items = append(items, sandbox.NewItem{Mailbox: u, Meeting: calendar.Meeting{Subject: "m", Organizer: u,
				Attendees: []calendar.Attendee{{Address: "x@fabrikam.com"}, {Address: "y@fabrikam.com"}, {Address: u}},
				Start:     start.Add(time.Duration(m) * time.Hour), End: start.Add(time.Duration(m)*time.Hour + time.Minute),
				Kind: calendar.KindSingle, OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams}}})
		}
		// One meeting the user only attends: not theirs to migrate.
		items = append(items, sandbox.NewItem{Mailbox: u, Meeting: calendar.Meeting{Subject: "other", Organizer: "boss@fabrikam.com",
			Start: start, End: start.Add(time.Minute), Kind: calendar.KindSingle, OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams}}})
		if _, err := sb.AddMeetings(ctx, fabrikam, items); err != nil {
			t.Fatal(err)
		}
	}
	bridge := Event{Event: rules.Event{Type: rules.BridgeNumberChanged, BridgeID: "b1", OldNumber: "+1 425-555-0100", NewNumber: "+1 425-555-0199"}}

	s := New(db, nil, nil, nil).WithCalendar(sb, 0, time.Minute)
	imp, err := s.Preview(ctx, fabrikam, []Event{bridge})
	if err != nil {
		t.Fatal(err)
	}
	if sum := imp.Summary; sum.Users != 6 || sum.Migrations != 6 || sum.Meetings != 12 || sum.Notifications != 24 || sum.Estimate ||
		sum.Text != "bridge change: 6 users, 12 meetings, 24 update mails" {
		t.Fatalf("summary %+v", sum)
	}
	if u := imp.Users[0]; u.User != "u0@fabrikam.com" || !u.Migrate || u.Meetings != 2 || u.Notifications != 4 || u.Estimate {
		t.Fatalf("first user %+v", u)
	}
	if evs, _ := db.Events(ctx, fabrikam, "", 10); len(evs) != 0 {
		t.Fatalf("the preview recorded %d events", len(evs))
	}

	slow := New(db, nil, nil, nil).WithCalendar(&slowCalendar{Backend: sb, fast: 2}, 0, 300*time.Millisecond)
	imp, err = slow.Preview(ctx, fabrikam, []Event{bridge})
	if err != nil {
		t.Fatal(err)
	}
	if sum := imp.Summary; !sum.Estimate || sum.Meetings != 12 || sum.Notifications != 24 ||
		sum.Text != "bridge change: 6 users, about 12 meetings, about 24 update mails" {
		t.Fatalf("estimated summary %+v", sum)
	}
	if imp.Users[0].Estimate || !imp.Users[5].Estimate {
		t.Fatalf("users %+v", imp.Users)
	}

	bad := bridge
	bad.BridgeID = "nowhere"
	_, err = s.Preview(ctx, fabrikam, []Event{bad})
	mustFail(t, err, ErrInvalid, "bridgeId", `bridgeId: no user of tenant "fabrikam" is on bridge "nowhere"`)
}
