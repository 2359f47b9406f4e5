package devstack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/graph"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// TestEndToEndGraphEmulator runs the demo migration through the Graph
// client against the emulator at 100 ms per call: every future meeting
// alice organizes online gets the new block in one PATCH, and each of its
// attendees exactly one update, which Graph (the emulator) sends.
func TestEndToEndGraphEmulator(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Calendar: CalendarGraphEmulator, GraphLatency: 100 * time.Millisecond})
	defer st.Stop(context.Background())
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	before := st.Emulator.Events(alice)
	if len(before) < 6 {
		t.Fatalf("the emulator holds %d of alice's items", len(before))
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitRecord(alice, "", 2*time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != 4 || d.FailedMeeting != 0 || d.InvitesUpdate != 4 {
		for _, m := range d.Meetings {
			t.Logf("%s %s %s %s", m.Subject, m.Start.Format(time.RFC3339), m.Outcome, m.Reason)
		}
		t.Fatalf("record = %+v", d.StatusRecord)
	}
	// The text meeting came back from Graph as HTML converted from text,
	// and its block was still found and replaced.
	if d.ExpectedMeeting != 0 {
		t.Errorf("Graph cannot count a calendarView, yet expectedMeeting = %d", d.ExpectedMeeting)
	}
	updated := 0
	now := time.Now()
	for _, old := range before {
		nu, _ := st.Emulator.Event(old.ID)
		selected := old.Organizer == alice && old.IsOnlineMeeting && len(old.Attendees) < 250 &&
			(old.Type == "seriesMaster" || old.Start.After(now))
		if !selected {
			if nu.Writes != 0 || st.Emulator.NotificationCount(old.ID) != 0 {
				t.Errorf("%q (not selected) was written %d times, notified %d", old.Subject, nu.Writes, st.Emulator.NotificationCount(old.ID))
			}
			continue
		}
		updated++
		if nu.Writes != 1 {
			t.Errorf("%q: %d writes, want 1", old.Subject, nu.Writes)
		}
		if n := st.Emulator.NotificationCount(old.ID); n != len(old.Attendees) {
			t.Errorf("%q: %d notifications, want one per attendee (%d)", old.Subject, n, len(old.Attendees))
		}
		blk, err := meetingblock.Find(nu.Body, meetingblock.FormatHTML)
		if err != nil || blk.ConferenceID != "987654321" {
			t.Errorf("%q: new block %+v, %v", old.Subject, blk, err)
		}
		if !strings.Contains(nu.ExtendedProperties[graph.UpdateKeyProperty], d.CorrelationID) {
			t.Errorf("%q: update key %q", old.Subject, nu.ExtendedProperties)
		}
	}
	if updated != 4 {
		t.Fatalf("%d meetings selected by the test's own rule, want 4", updated)
	}
	if n := st.Emulator.MaxInFlight(alice); n > 4 {
		t.Fatalf("%d requests in flight for one mailbox, Graph allows 4", n)
	}
}
