package faulttest

import (
	"context"
	"strings"
	"time"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar/graph"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// figures are a scenario's measurements, logged for docs/RELIABILITY.md.
type figures struct {
	Faults        int
	Meetings      int
	Notifications int
	Duplicates    int // meetings written more than once plus attendees notified more than once
	Duration      time.Duration
	// MaxInFlight is the most requests Graph saw in flight for one
	// selected mailbox at once.
	MaxInFlight int
}

// verify checks the end state after a fault: every selected meeting written
// exactly once with the target block, each attendee notified exactly once
// per meeting, the record's counters equal to its per-meeting results,
// nothing outside the selection touched.
func (c *cluster) verify(faults int) figures {
	c.t.Helper()
	t := c.t
	done := c.waitDone(6 * time.Minute)
	f := figures{Faults: faults, Duration: time.Since(c.started)}
	notified := map[string]map[string]int{} // event -> recipient -> count
	for _, n := range c.emu.Notifications() {
		if notified[n.EventID] == nil {
			notified[n.EventID] = map[string]int{}
		}
		notified[n.EventID][strings.ToLower(n.To)]++
	}
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, u := range c.selected {
		d := done[u]
		c.checkCounters(u, d)
		for _, id := range c.perUser[u] {
			old := c.before[id]
			nu, ok := c.emu.Event(id)
			if !ok {
				report("%s: event %s gone", u, id)
				continue
			}
			f.Meetings++
			if nu.Writes != 1 {
				report("%s %q: written %d times, want 1", u, old.Subject, nu.Writes)
				if nu.Writes > 1 {
					f.Duplicates++
				}
			}
			format := meetingblock.FormatHTML
			if nu.BodyType == "text" {
				format = meetingblock.FormatText
			}
			blk, err := meetingblock.Find(nu.Body, format)
			if err != nil || blk.ConferenceID != c.target {
				report("%s %q: block %+v, %v; want conference %s", u, old.Subject, blk, err, c.target)
			}
			if !strings.Contains(nu.ExtendedProperties[graph.UpdateKeyProperty], d.CorrelationID) {
				report("%s %q: update key %q, not of run %s", u, old.Subject, nu.ExtendedProperties, d.CorrelationID)
			}
			got := notified[id]
			if len(got) != len(old.Attendees) {
				report("%s %q: %d attendees notified, want %d", u, old.Subject, len(got), len(old.Attendees))
			}
			for _, a := range old.Attendees {
				n := got[strings.ToLower(a.Address)]
				f.Notifications += n
				if n != 1 {
					report("%s %q: %s notified %d times, want 1", u, old.Subject, a.Address, n)
					if n > 1 {
						f.Duplicates++
					}
				}
			}
		}
	}
	for _, id := range c.perUser[c.control] {
		if nu, _ := c.emu.Event(id); nu.Writes != 0 || len(notified[id]) != 0 {
			report("control %q (never migrated): written %d times, %d attendees notified", nu.Subject, nu.Writes, len(notified[id]))
		}
	}
	if all := len(c.emu.Notifications()); all != f.Notifications {
		report("%d notifications sent in all, %d for the selected meetings' attendees", all, f.Notifications)
	}
	if f.Meetings != c.total() {
		report("%d meetings checked, want %d", f.Meetings, c.total())
	}
	// Graph's limit of 4 requests in flight per mailbox holds across the
	// three workers: the per-user workflow bounds a mailbox's pages, not a
	// worker. (The emulator counts every request that arrived, refused
	// ones included. Where the client gives up on answers that never come,
	// TestGraphSlow, those requests stay in flight on the server beside
	// the client's next ones: reported, not failed.)
	for _, u := range c.selected {
		f.MaxInFlight = max(f.MaxInFlight, c.emu.MaxInFlight(u))
	}
	if f.MaxInFlight > 4 && !c.abandons {
		report("Graph saw %d requests in flight for one mailbox, more than its limit of 4", f.MaxInFlight)
	}
	t.Logf("FIGURES faults=%d meetings=%d notifications=%d duplicates=%d max-in-flight-per-mailbox=%d duration=%s",
		f.Faults, f.Meetings, f.Notifications, f.Duplicates, f.MaxInFlight, f.Duration.Round(100*time.Millisecond))
	return f
}

// checkCounters compares a final record with its per-meeting results in
// the database.
func (c *cluster) checkCounters(user string, d api.MigrationDetail) {
	t := c.t
	m := len(c.perUser[user])
	if d.State != migration.StateSucceeded {
		t.Errorf("%s: state %s (%s)", user, d.State, d.LastMessage)
	}
	recorded, err := c.db.MeetingResults(context.Background(), d.CorrelationID)
	if err != nil {
		t.Fatal(err)
	}
	byOutcome, invites := map[string]int{}, 0
	for _, r := range recorded {
		byOutcome[string(r.Outcome)]++
		invites += r.InvitesSent
	}
	if byOutcome[string(migration.OutcomeUpdated)] != m || len(byOutcome) != 1 {
		t.Errorf("%s: per-meeting results %v, want %d %s", user, byOutcome, m, migration.OutcomeUpdated)
	}
	results := byOutcome[string(migration.OutcomeUpdated)] + byOutcome[string(migration.OutcomeUpToDate)] + byOutcome[string(migration.OutcomeSkipped)] + byOutcome[string(migration.OutcomeFailed)]
	if d.SucceededMeeting != byOutcome[string(migration.OutcomeUpdated)]+byOutcome[string(migration.OutcomeUpToDate)] ||
		d.FailedMeeting != byOutcome[string(migration.OutcomeFailed)] || d.SkippedMeeting != byOutcome[string(migration.OutcomeSkipped)] ||
		d.ProcessedMeeting != results || d.SucceededMeeting != m {
		t.Errorf("%s: counters succeeded=%d failed=%d skipped=%d processed=%d, per-meeting results %v (want %d updated)",
			user, d.SucceededMeeting, d.FailedMeeting, d.SkippedMeeting, d.ProcessedMeeting, byOutcome, m)
	}
	if d.InvitesUpdate != m {
		t.Errorf("%s: invitesUpdate = %d, want %d (results: %d invites)", user, d.InvitesUpdate, m, invites)
	}
}
