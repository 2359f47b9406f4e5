package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/caldav"
	"github.com/openmms/mms/internal/calendar/caldav/caldavtest"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// caldavWorld is alice's calendar in a real Radicale, notified by iMIP
// through an SMTP recorder, with alice in the directory.
type caldavWorld struct {
	a    *Activities
	dav  caldavtest.DAV
	cal  string
	smtp *caldavtest.SMTPRecorder
}

const caldavAlice = "alice@example.com"

func newCalDAVWorld(t *testing.T, actual meetingblock.Profile) *caldavWorld {
	t.Helper()
	ctx := context.Background()
	url := caldavtest.StartRadicale(t, map[string]string{"alice": "alicepw"})
	w := &caldavWorld{dav: caldavtest.DAV{URL: url, User: "alice", Password: "alicepw"}, smtp: caldavtest.StartSMTP(t)}
	w.cal = w.dav.MkCalendar(t, "calendar")
	db, err := store.Open(ctx, storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, _ := json.Marshal(actual)
	if err := db.PutTenant(ctx, store.Tenant{ID: "t", DisplayName: "t", Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, store.User{TenantID: "t", ID: caldavAlice, DisplayName: "Alice", Profile: raw}); err != nil {
		t.Fatal(err)
	}
	cfg := caldav.TenantConfig{URL: url, Users: map[string]caldav.Credentials{caldavAlice: {Username: "alice", Password: "alicepw"}},
		Notify: caldav.NotifyIMIP, SMTP: caldav.SMTPConfig{Host: w.smtp.Host, Port: w.smtp.Port, Security: caldav.SMTPNone,
			From: "mms@example.com"}}
	be := caldav.New(func(_ context.Context, id string) (caldav.TenantConfig, error) {
		if id != "t" {
			return caldav.TenantConfig{}, fmt.Errorf("tenant %q: %w", id, calendar.ErrNotFound)
		}
		return cfg, nil
	})
	w.a = &Activities{DB: db, Calendar: slowMasters{be}, Concurrency: 4}
	return w
}

// slowMasters delays every series master's update, so that an exception
// not made to wait for its master would be written first.
type slowMasters struct{ calendar.Backend }

func (s slowMasters) UpdateMeeting(ctx context.Context, tenant string, u calendar.Update) (calendar.UpdateResult, error) {
	if m, err := s.GetMeeting(ctx, tenant, u.Mailbox, u.MeetingID); err == nil && m.Kind == calendar.KindSeriesMaster {
		time.Sleep(200 * time.Millisecond)
	}
	return s.Backend.UpdateMeeting(ctx, tenant, u)
}

// vevent is a Teams VEVENT of alice's whose block was rendered from p, in
// text and HTML; head holds its UID, times and RRULE or RECURRENCE-ID.
func vevent(t *testing.T, p meetingblock.Profile, agenda string, head ...string) []string {
	t.Helper()
	text, err := meetingblock.Render(p, meetingblock.KindTeams, meetingblock.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	html, err := meetingblock.Render(p, meetingblock.KindTeams, meetingblock.FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	l := append([]string{"BEGIN:VEVENT"}, head...)
	return append(l, "DTSTAMP:20250101T000000Z", "SEQUENCE:1",
		"ORGANIZER;CN=Alice:mailto:"+caldavAlice,
		"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@example.com",
		"ATTENDEE;CN=Erin;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:erin@example.com",
		"X-MICROSOFT-SKYPETEAMSMEETINGURL:"+p.JoinURL,
		"DESCRIPTION:"+icaledit.Escape(agenda+"\n\n"+text+"\n\nNotes."),
		"X-ALT-DESC;FMTTYPE=text/html:"+icaledit.Escape("<html><body><p>"+agenda+"</p>"+html+"<p>Notes.</p></body></html>"),
		"END:VEVENT")
}

func (w *caldavWorld) put(t *testing.T, name string, lines ...string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range append(append([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mms test//EN"}, lines...), "END:VCALENDAR") {
		b.WriteString(icaledit.Fold(l, "\r\n"))
	}
	return w.dav.Put(t, w.cal+name, b.String())
}

// requests decodes every iMIP REQUEST sent to addr: its VEVENTs.
func (w *caldavWorld) requests(t *testing.T, addr string) [][]ical.Event {
	t.Helper()
	var out [][]ical.Event
	for _, m := range w.smtp.To(addr) {
		_, cal := m.Calendar(t)
		out = append(out, cal.Events())
	}
	return out
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

var (
	oldTeams = meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: "111222333",
		TollNumber: "+1 425-555-0100", DialInURL: "https://dialin.teams.microsoft.com/local", Locale: "en-US",
		JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_series%40thread.v2/0"}
	newTeams = meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: "987654321",
		TollNumber: "+1 206-555-0199", TollFreeNumbers: []string{"+1 888-555-0123"},
		DialInURL: "https://dialin.teams.microsoft.com/local", Locale: "en-US"}
)

// TestCalDAVSeriesOneMailPerChange is item 5 of issue 17 against Radicale:
// a series stored exception first, the exception moved before the series'
// first occurrence. Each attendee gets exactly one mail showing the
// master's change and one showing the exception's: the master is written
// first, so its REQUEST carries the exception as it was.
//
// It is then the fixed point of issue 16 through the CalDAV write and
// read-back path: the same run again, and a run converting to Teams (the
// meetings are Teams already; CalDAV cannot create Teams meetings), read
// back what was written, find it up to date, write nothing and mail nobody.
func TestCalDAVSeriesOneMailPerChange(t *testing.T) {
	w := newCalDAVWorld(t, newTeams)
	now := time.Now().UTC().Truncate(time.Hour)
	first := now.Add(5 * 24 * time.Hour)
	rid := first.Add(7 * 24 * time.Hour)
	const uid = "series-x@example.com"
	series := append(vevent(t, oldTeams, "moved occurrence", "UID:"+uid, "RECURRENCE-ID:"+rid.Format("20060102T150405Z"),
		"DTSTART:"+now.Add(24*time.Hour).Format("20060102T150405Z"), "DURATION:PT1H", "SUMMARY:Sync (moved)"),
		vevent(t, oldTeams, "standing agenda", "UID:"+uid, "DTSTART:"+first.Format("20060102T150405Z"), "DURATION:PT1H",
			"RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Sync")...)
	path := w.put(t, "series-x.ics", series...)
	single := oldTeams
	single.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_single%40thread.v2/0"
	w.put(t, "single-x.ics", vevent(t, single, "review", "UID:single-x@example.com",
		"DTSTART:"+now.Add(3*24*time.Hour).Format("20060102T150405Z"), "DURATION:PT30M", "SUMMARY:Review")...)

	if r := run(t, w.a, "t", caldavAlice, migration.SourceAll, migration.TargetCurrent); r.Updated != 3 || r.Failed != 0 {
		t.Fatalf("run: %+v, want the master, its exception and the single updated", r)
	}
	for _, who := range []string{"bob@example.com", "erin@example.com"} {
		masterChanges, exceptionChanges := 0, 0
		for _, evs := range w.requests(t, who) {
			for _, e := range evs {
				if e.Props.Get(ical.PropUID).Value != uid {
					continue
				}
				desc, _ := e.Props.Text(ical.PropDescription)
				if !strings.Contains(digitsOf(desc), "987654321") {
					continue // announced as it was, not as changed
				}
				if e.Props.Get(ical.PropRecurrenceID) == nil {
					masterChanges++
				} else {
					exceptionChanges++
				}
			}
		}
		if masterChanges != 1 || exceptionChanges != 1 {
			t.Errorf("%s was told of the master's change %d times and of the exception's %d times, want once each",
				who, masterChanges, exceptionChanges)
		}
	}

	// The fixed point: what was written and is read back is what a run writes.
	written, etag := w.dav.Get(t, path)
	mails := len(w.smtp.Messages())
	for _, again := range []migration.Target{migration.TargetCurrent, migration.TargetTeams} {
		if r := run(t, w.a, "t", caldavAlice, migration.SourceAll, again); r.Updated != 0 || r.UpToDate != 3 || r.Failed != 0 {
			t.Errorf("target %s again: %+v, want the 3 meetings up to date", again, r)
		}
	}
	if n := len(w.smtp.Messages()); n != mails {
		t.Errorf("the later runs sent %d mails, want 0", n-mails)
	}
	if body, tag := w.dav.Get(t, path); tag != etag || body != written {
		t.Errorf("the later runs rewrote the series (ETag %s -> %s)", etag, tag)
	}
}
