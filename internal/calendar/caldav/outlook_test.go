package caldav

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// TestOutlookWindowsTZIDsInRadicale is issue 17's CalDAV time case: Outlook
// exports with Windows TZIDs and their own VTIMEZONEs, each meeting starting
// within its zone's UTC offset of now, so that reading the wall clock as
// UTC would put the Pacific one in the past and the two others hours late.
// Each is listed at its true instant and migrated; a TZID that nothing
// defines is listed as unreadable, not dropped.
func TestOutlookWindowsTZIDsInRadicale(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	now := time.Now().UTC().Truncate(time.Minute)
	w.from = now
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		require.NoError(t, err)
		return l
	}
	cases := []struct {
		uid, vtz, tzid string
		loc            *time.Location
		start          time.Time
	}{
		{"outlook-pacific", vtzPacific, "Pacific Standard Time", zone("America/Los_Angeles"), now.Add(3 * time.Hour)},
		{"outlook-weurope", vtzWEurope, "W. Europe Standard Time", zone("Europe/Berlin"), now.Add(45 * time.Minute)},
		{"outlook-tokyo", vtzTokyo, "Tokyo Standard Time", zone("Asia/Tokyo"), now.Add(3 * time.Hour)},
		{"outlook-nowhere", "", "Middle Earth Standard Time", time.UTC, now.Add(3 * time.Hour)},
	}
	hrefs := map[string]string{}
	for _, c := range cases {
		wall := func(t time.Time) string { return t.In(c.loc).Format("20060102T150405") }
		data := "BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n" +
			c.vtz + "BEGIN:VEVENT\r\n" +
			"ORGANIZER;CN=Alice Example:mailto:alice@example.com\r\n" +
			"ATTENDEE;CN=Bob Builder;RSVP=TRUE:mailto:bob@example.com\r\n" +
			"DESCRIPTION:" + icaledit.Escape(textBody(t, c.tzid, oldProfile, meetingblock.KindTeams)) + "\r\n" +
			"UID:" + c.uid + "\r\nSUMMARY;LANGUAGE=en-us:" + c.tzid + "\r\n" +
			"DTSTART;TZID=" + c.tzid + ":" + wall(c.start) + "\r\n" +
			"DTEND;TZID=" + c.tzid + ":" + wall(c.start.Add(time.Hour)) + "\r\n" +
			"DTSTAMP:20250101T000000Z\r\nSEQUENCE:0\r\n" +
			"X-MICROSOFT-SKYPETEAMSMEETINGURL:" + oldJoin + "\r\n" +
			"END:VEVENT\r\nEND:VCALENDAR\r\n"
		hrefs[c.uid] = w.r.put(t, "alice", w.cal+c.uid+".ics", ics(strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")...))
	}
	listed := w.list(t, 100)
	for _, c := range cases {
		m := byID(t, listed, hrefs[c.uid])
		if c.vtz == "" {
			assert.Contains(t, m.Unreadable, `TZID "Middle Earth Standard Time"`, "failed with its reason, not read as UTC")
			continue
		}
		require.Empty(t, m.Unreadable, c.tzid)
		assert.Equal(t, c.start, m.Start, c.tzid)
		assert.Equal(t, c.start.Add(time.Hour), m.End, c.tzid)
		assert.False(t, m.Start.Before(w.from), "%s: not placed in the past", c.tzid)

		before, _ := w.r.get(t, "alice", m.ID)
		res, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
			ETag: m.ETag, Body: migrate(t, m, newProfile), IdempotencyKey: "tz/" + c.uid})
		require.NoError(t, err, c.tzid)
		assert.Equal(t, 1, res.InvitesSent, c.tzid)
		after, _ := w.r.get(t, "alice", m.ID)
		b, a := eventLines(t, before, ""), eventLines(t, after, "")
		assert.Equal(t, value(b, "DTSTART"), value(a, "DTSTART"), "%s: time kept as written", c.tzid)
		assert.Contains(t, after, "TZID:"+c.tzid, "%s: VTIMEZONE kept", c.tzid)
		got, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
		require.NoError(t, err)
		assert.Equal(t, c.start, got.Start, "%s: still at the right instant after the write", c.tzid)
		assert.Contains(t, got.Body, "987 654 321", c.tzid)
	}
	// Each attendee got one REQUEST per migrated meeting, with its VTIMEZONE.
	msgs := w.mail.To("bob@example.com")
	require.Len(t, msgs, 3)
	for _, msg := range msgs {
		im := decodeIMIP(t, msg)
		assert.Contains(t, im.Text, "BEGIN:VTIMEZONE")
	}
}
