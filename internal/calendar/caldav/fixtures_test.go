package caldav

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/emersion/go-ical"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/caldav/caldavtest"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
	"github.com/openmms/mms/internal/migration"
)

const (
	oldJoin = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_OLD%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d"
	newJoin = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NEW%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d"
	sfbJoin = "https://meet.lync.com/contoso/alice/ABCD1234"
	tenant  = "t1"
)

var (
	oldProfile = meetingblock.Profile{MeetingType: "Teams", JoinURL: oldJoin, ConferenceID: "123456789",
		TollNumber: "+14255550100", Provider: meetingblock.ProviderMicrosoft}
	// newProfile: the user's conference ID changed (the join link stays).
	newProfile = meetingblock.Profile{MeetingType: "Teams", ConferenceID: "987654321",
		TollNumber: "+14255550199", Provider: meetingblock.ProviderMicrosoft}
	sfbProfile = meetingblock.Profile{MeetingType: "SfB", JoinURL: sfbJoin, ConferenceID: "5551234",
		TollNumber: "+14255550111", Provider: meetingblock.ProviderMicrosoft}
)

const nonASCII = "Grüße aus Köln – 日本語の議題 🎉👩‍💻 naïve café"

func render(t *testing.T, p meetingblock.Profile, k meetingblock.Kind, f meetingblock.Format) string {
	t.Helper()
	s, err := meetingblock.Render(p, k, f)
	require.NoError(t, err)
	return s
}

// ics joins content lines (folded) into an iCalendar text.
func ics(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(icaledit.Fold(l, "\r\n"))
	}
	return b.String()
}

func icalUTCTime(t time.Time) string { return t.UTC().Format(icalUTC) }

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

func local(t time.Time) string { return t.In(berlin).Format("20060102T150405") }

var vtimezone = []string{
	"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
	"BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
	"BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
	"END:VTIMEZONE",
}

func htmlBody(t *testing.T, agenda string, p meetingblock.Profile) string {
	return "<html><head><meta charset=\"utf-8\"></head><body>\r\n<p>Agenda: " + agenda + "</p>\r\n" +
		render(t, p, meetingblock.KindTeams, meetingblock.FormatHTML) + "\r\n<p>Notes; see you, all</p>\r\n</body></html>"
}

func textBody(t *testing.T, agenda string, p meetingblock.Profile, k meetingblock.Kind) string {
	return "Agenda: " + agenda + "\r\n" + render(t, p, k, meetingblock.FormatText) + "\r\nNotes; see you, all\r\n"
}

// world is a Radicale server with alice's calendar filled, an SMTP
// server, and a back end for them.
type world struct {
	r    *radicale
	mail *caldavtest.SMTPRecorder
	b    *Backend
	cal  string
	now  time.Time
	from time.Time
	to   time.Time

	series, single, foreign, past, sfb string
	cfg                                TenantConfig
	spans                              *tracetest.SpanRecorder
}

func newWorld(t *testing.T, mode string) *world {
	t.Helper()
	w := &world{r: startRadicale(t), mail: startSMTP(t), spans: tracetest.NewSpanRecorder()}
	w.now = time.Now().UTC().Truncate(time.Hour)
	w.from, w.to = w.now, w.now.Add(30*24*time.Hour)
	w.cal = w.r.mkcalendar(t, "alice", "calendar")
	w.r.mkcalendar(t, "bob", "calendar")
	w.cfg = TenantConfig{
		URL: w.r.URL,
		Users: map[string]Credentials{
			"Alice@Example.com": {Username: "alice", Password: "alicepw"},
			"bob@example.com":   {Username: "bob", Password: "bobpw"},
		},
		Aliases: map[string][]string{"alice@example.com": {"mailto:a.example@example.org"}},
		Notify:  mode,
		SMTP:    SMTPConfig{Host: "127.0.0.1", Port: w.mail.Port, Security: SMTPNone, From: "mms@example.com"},
	}
	w.b = New(func(_ context.Context, id string) (TenantConfig, error) {
		if id != tenant {
			return TenantConfig{}, fmt.Errorf("tenant %q: %w", id, calendar.ErrNotFound)
		}
		return w.cfg, nil
	}, WithDiscoveryTTL(time.Minute), WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(w.spans))))

	day := func(d int) time.Time { return w.now.Add(time.Duration(d) * 24 * time.Hour) }
	// A weekly series that started four weeks ago, with one moved occurrence.
	start := time.Date(w.now.Year(), w.now.Month(), w.now.Day(), 10, 0, 0, 0, berlin).AddDate(0, 0, -28)
	rid := start.AddDate(0, 0, 35)
	attendees := []string{
		"ORGANIZER;CN=Alice Example:mailto:alice@example.com",
		"ATTENDEE;CN=Alice Example;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:alice@example.com",
		"ATTENDEE;CN=Bob Builder;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@example.com",
		`ATTENDEE;CN="Carol, C.";ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;X-NOTE="a:b;c":mailto:Carol@Example.com`,
	}
	online := []string{
		"X-MICROSOFT-SKYPETEAMSMEETINGURL:" + oldJoin,
		`X-MICROSOFT-ONLINEMEETINGINFORMATION:{"OnlineMeetingChannelId":null\,"OnlineMeetingProvider":3}`,
		"CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join the meeting:" + oldJoin,
	}
	body := func(agenda string) []string {
		return []string{
			"DESCRIPTION:" + icaledit.Escape(textBody(t, agenda, oldProfile, meetingblock.KindTeams)),
			"X-ALT-DESC;FMTTYPE=text/html:" + icaledit.Escape(htmlBody(t, agenda, oldProfile)),
		}
	}
	var lines []string
	lines = append(lines, "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Contoso//Outlook 16.0 MIMEDIR//EN", "CALSCALE:GREGORIAN")
	lines = append(lines, vtimezone...)
	lines = append(lines, "BEGIN:VEVENT", "UID:series-1@example.com", "DTSTAMP:20250101T000000Z",
		"CREATED:20250101T000000Z", "DTSTART;TZID=Europe/Berlin:"+local(start), "DTEND;TZID=Europe/Berlin:"+local(start.Add(time.Hour)),
		"RRULE:FREQ=WEEKLY;COUNT=20", "SUMMARY:Weekly sync", "LOCATION:Room 1\\, Building 2", "SEQUENCE:3", "CLASS:PUBLIC",
		"X-CUSTOM-THING;X-PARAM=\"a:b\";Y=1:keep me\\; exactly")
	lines = append(lines, attendees...)
	lines = append(lines, online...)
	lines = append(lines, body("quarterly numbers")...)
	lines = append(lines, "BEGIN:VALARM", "TRIGGER:-PT15M", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "END:VALARM", "END:VEVENT")
	lines = append(lines, "BEGIN:VEVENT", "UID:series-1@example.com", "DTSTAMP:20250101T000000Z",
		"RECURRENCE-ID;TZID=Europe/Berlin:"+local(rid), "DTSTART;TZID=Europe/Berlin:"+local(rid.Add(time.Hour)),
		"DTEND;TZID=Europe/Berlin:"+local(rid.Add(2*time.Hour)), "SUMMARY:Weekly sync (moved)", "SEQUENCE:3")
	lines = append(lines, attendees...)
	lines = append(lines, online...)
	lines = append(lines, body("moved occurrence")...)
	lines = append(lines, "END:VEVENT", "END:VCALENDAR")
	w.series = w.r.put(t, "alice", w.cal+"series-1.ics", ics(lines...))

	single := func(uid string, s time.Time, summary string, extra ...string) string {
		l := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mms test//EN", "BEGIN:VEVENT", "UID:" + uid,
			"DTSTAMP:20250101T000000Z", "DTSTART:" + icalUTCTime(s), "DTEND:" + icalUTCTime(s.Add(30*time.Minute)),
			"SUMMARY:" + summary}
		l = append(l, extra...)
		l = append(l, "END:VEVENT", "END:VCALENDAR")
		return w.r.put(t, "alice", w.cal+uid+".ics", ics(l...))
	}
	w.single = single("single-1", day(3), "Ünïcödé review 日本", append(append(append([]string{},
		attendees...), online...), "DESCRIPTION:"+icaledit.Escape(textBody(t, nonASCII, oldProfile, meetingblock.KindTeams)),
		"X-ALT-DESC;FMTTYPE=text/html:"+icaledit.Escape(htmlBody(t, nonASCII, oldProfile)))...)
	w.foreign = single("foreign-1", day(4), "Bob's meeting",
		"ORGANIZER;CN=Bob Builder:mailto:bob@example.com",
		"ATTENDEE;CN=Alice Example:mailto:alice@example.com",
		"X-MICROSOFT-SKYPETEAMSMEETINGURL:"+oldJoin,
		"DESCRIPTION:"+icaledit.Escape(textBody(t, "bob's", oldProfile, meetingblock.KindTeams)))
	w.past = single("past-1", day(-3), "Past meeting", attendees...)
	w.sfb = single("sfb-1", day(5), "Skype meeting", append(append([]string{}, attendees[:3]...),
		"X-MICROSOFT-ONLINEMEETINGCONFLINK:conf:sip:alice@example.com\\;gruu\\;opaque=app:conf:focus:id:ABCD1234",
		"DESCRIPTION:"+icaledit.Escape(textBody(t, "skype", sfbProfile, meetingblock.KindSfB)))...)
	return w
}

// meeting finds a listed meeting by ID.
func (w *world) list(t *testing.T, pageSize int) []calendar.Meeting {
	t.Helper()
	var all []calendar.Meeting
	cursor := ""
	for {
		p, err := w.b.ListMeetings(ctx(t), tenant, "alice@example.com", w.from, w.to, cursor, pageSize)
		require.NoError(t, err)
		all = append(all, p.Meetings...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

func byID(t *testing.T, ms []calendar.Meeting, id string) calendar.Meeting {
	t.Helper()
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("meeting %s not listed", id)
	return calendar.Meeting{}
}

// migrate computes the new body as the activity does.
func migrate(t *testing.T, m calendar.Meeting, p meetingblock.Profile) string {
	t.Helper()
	f := meetingblock.FormatHTML
	if m.BodyType == calendar.BodyText {
		f = meetingblock.FormatText
	}
	r := meetingblock.Replace(m.Body, f, p, migration.TargetCurrent)
	require.Equal(t, meetingblock.Replaced, r.Outcome, r.Reason)
	return r.Body
}

// line is one content line of a VEVENT, nested ones prefixed by their
// component ("VALARM/DESCRIPTION").
type line struct{ Name, Params, Value string }

func eventLines(t *testing.T, data, rid string) []line {
	t.Helper()
	d := icaledit.Parse(data)
	e := d.Event(rid)
	require.NotNil(t, e, "VEVENT %q", rid)
	var out []line
	var stack []string
	for i := e.Begin + 1; i < e.End; i++ {
		l := d.Lines[i]
		switch l.Name {
		case "BEGIN":
			stack = append(stack, strings.ToUpper(l.Value))
			continue
		case "END":
			stack = stack[:len(stack)-1]
			continue
		}
		name := l.Name
		if len(stack) > 0 {
			name = strings.Join(stack, "/") + "/" + name
		}
		out = append(out, line{name, l.Params, l.Value})
	}
	return out
}

// changeable lists what an update may change.
func changeable(name string) bool {
	switch name {
	case "DESCRIPTION", "X-ALT-DESC", "CONFERENCE", "SEQUENCE", "DTSTAMP", "LAST-MODIFIED":
		return true
	}
	return strings.HasPrefix(name, "X-MICROSOFT-") || strings.HasPrefix(name, "X-MMS-")
}

func without(ls []line, drop func(string) bool) []line {
	var out []line
	for _, l := range ls {
		if !drop(l.Name) {
			out = append(out, l)
		}
	}
	return out
}

func value(ls []line, name string) []string {
	var out []string
	for _, l := range ls {
		if l.Name == name {
			out = append(out, l.Value)
		}
	}
	return out
}

// imip is a decoded iMIP message.
type imip struct {
	Header mail.Header
	Cal    *ical.Calendar
	Text   string
}

func decodeIMIP(t *testing.T, m caldavtest.Message) imip {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	require.Equal(t, "text/calendar; method=REQUEST; charset=UTF-8", msg.Header.Get("Content-Type"))
	raw, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	cal, err := ical.NewDecoder(bytes.NewReader(raw)).Decode()
	require.NoError(t, err, string(raw))
	return imip{Header: msg.Header, Cal: cal, Text: string(raw)}
}
