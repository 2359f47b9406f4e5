package caldav

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
)

const sample = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\n" +
	"DTSTAMP:20250101T000000Z\r\nDTSTART:20300101T100000Z\r\nSEQUENCE:7\r\n" +
	"ATTENDEE;CN=\"Doe, J.\";X-Q=\"a:b\";RSVP=TRUE:mailto:j@example.com\r\n" +
	"X-WEIRD;b=2;a=1:va\r\n lue\r\n" +
	"DESCRIPTION:old\r\n" +
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:alarm\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n" +
	"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:u1\r\nRECURRENCE-ID:20300108T100000Z\r\nDTSTAMP:20250101T000000Z\r\n" +
	"DTSTART:20300108T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestParseRoundTripIsByteExact(t *testing.T) {
	for _, s := range []string{sample, strings.ReplaceAll(sample, "\r\n", "\n"), strings.TrimSuffix(sample, "\r\n")} {
		d := parseICS(s)
		assert.Equal(t, s, d.String())
		evs := d.events()
		require.Len(t, evs, 2)
		assert.Equal(t, "", evs[0].rid)
		assert.Equal(t, "20300108T100000Z", evs[1].rid)
		// An edit that changes nothing writes the same bytes.
		ed := d.edit(evs[0])
		ed.set("DESCRIPTION", nil, "old")
		assert.Equal(t, s, ed.apply())
	}
	d := parseICS(sample)
	l := d.first(d.events()[0], "X-WEIRD")
	assert.Equal(t, "value", l.value)
	assert.Equal(t, ";b=2;a=1", l.params)
	a := d.first(d.events()[0], "ATTENDEE")
	p := parseParams(a.params)
	assert.Equal(t, "Doe, J.", p.Get("CN"))
	assert.Equal(t, "a:b", p.Get("X-Q"))
	assert.Equal(t, "mailto:j@example.com", a.value)
	assert.Equal(t, `;CN="Doe, J.";RSVP=TRUE`, removeParam(a.params, "x-q"))
}

func TestEditTouchesOnlyItsEvent(t *testing.T) {
	d := parseICS(sample)
	e := d.events()[0]
	ed := d.edit(e)
	ed.set("DESCRIPTION", nil, escapeText("new; text, with\nbreaks"))
	ed.set("SEQUENCE", nil, "8")
	ed.set("LAST-MODIFIED", nil, "20250102T000000Z")
	out := ed.apply()
	want := strings.Replace(sample, "SEQUENCE:7", "SEQUENCE:8", 1)
	want = strings.Replace(want, "DESCRIPTION:old\r\n", `DESCRIPTION:new\; text\, with\nbreaks`+"\r\n", 1)
	want = strings.Replace(want, "END:VALARM\r\nEND:VEVENT", "END:VALARM\r\nLAST-MODIFIED:20250102T000000Z\r\nEND:VEVENT", 1)
	assert.Equal(t, want, out)
	// go-ical reads it: SEQUENCE is a plain integer, not VALUE=TEXT.
	cal, err := ical.NewDecoder(strings.NewReader(out)).Decode()
	require.NoError(t, err)
	ev := cal.Events()[0]
	n, err := ev.Props.Get("SEQUENCE").Int()
	require.NoError(t, err)
	assert.Equal(t, 8, n)
	desc, err := ev.Props.Text("DESCRIPTION")
	require.NoError(t, err)
	assert.Equal(t, "new; text, with\nbreaks", desc)
}

func TestFoldKeepsUTF8(t *testing.T) {
	texts := []string{
		strings.Repeat("日本語の議題", 40),
		strings.Repeat("🎉👩‍💻", 50),
		"Grüße " + strings.Repeat("äöüß€", 60),
		strings.Repeat("a", 74) + "é" + strings.Repeat("b", 80),
	}
	for _, text := range texts {
		line := "DESCRIPTION:" + escapeText(text)
		folded := fold(line, "\r\n")
		for i, phys := range strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n") {
			assert.LessOrEqual(t, len(phys), 75, "line %d", i)
			assert.True(t, utf8.ValidString(phys), "line %d splits a UTF-8 sequence: %q", i, phys)
			if i > 0 {
				assert.Equal(t, byte(' '), phys[0])
			}
		}
		assert.Equal(t, line, unfold(folded))
		cal, err := ical.NewDecoder(strings.NewReader("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20250101T000000Z\r\n" +
			folded + "END:VEVENT\r\nEND:VCALENDAR\r\n")).Decode()
		require.NoError(t, err)
		got, err := cal.Events()[0].Props.Text("DESCRIPTION")
		require.NoError(t, err)
		assert.Equal(t, text, got, "go-ical reads it back exactly")
	}
}

func TestEscapeText(t *testing.T) {
	s := "a\\b;c,d\r\ne\nf"
	assert.Equal(t, `a\\b\;c\,d\ne\nf`, escapeText(s))
	assert.Equal(t, "a\\b;c,d\ne\nf", unescapeText(escapeText(s)))
	assert.Equal(t, "x\ny", unescapeText(`x\Ny`))
}

func TestITIPMessage(t *testing.T) {
	d := parseICS(strings.Replace(sample, "END:VALARM\r\n", "END:VALARM\r\nX-MMS-NOTIFIED:mailto:j@example.com\r\n", 1))
	master := itip(d, d.events()[0])
	assert.True(t, strings.HasPrefix(master, "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0"), master)
	assert.Equal(t, 2, strings.Count(master, "BEGIN:VEVENT"))
	assert.NotContains(t, master, "X-MMS-NOTIFIED")
	exc := itip(d, d.events()[1])
	assert.Equal(t, 1, strings.Count(exc, "BEGIN:VEVENT"))
	assert.Contains(t, exc, "RECURRENCE-ID:20300108T100000Z")
	assert.Equal(t, MessageID("k", "A@x.org", "d"), MessageID("k", "a@x.org", "d"))
	assert.NotEqual(t, MessageID("k", "a@x.org", "d"), MessageID("k2", "a@x.org", "d"))
	assert.Regexp(t, `^<imip\.[0-9a-f]{32}@d>$`, MessageID("k", "a@x.org", "d"))
}

func TestValidateNamesFields(t *testing.T) {
	err := TenantConfig{}.Validate()
	require.Error(t, err)
	for _, f := range []string{"url", "users", "smtp.host", "smtp.port", "smtp.from"} {
		assert.Contains(t, err.Error(), "caldav: "+f+":")
	}
	err = TenantConfig{URL: "ftp://x", Delegate: &Credentials{}, Notify: "fax"}.Validate()
	for _, f := range []string{"url", "delegate.username", "homeTemplate", "notify"} {
		assert.Contains(t, err.Error(), "caldav: "+f+":")
	}
	ok := TenantConfig{URL: "https://dav.example.com/", Users: map[string]Credentials{"a@x": {Username: "a"}}, Notify: NotifyServer}
	assert.NoError(t, ok.Validate())
	ok.Notify = NotifyIMIP
	ok.SMTP = SMTPConfig{Host: "smtp", Port: 587, From: "MMS <mms@example.com>", Username: "u"}
	assert.ErrorContains(t, ok.Validate(), "smtp.password")
	ok.SMTP.Password = "p"
	assert.NoError(t, ok.Validate())
	assert.Equal(t, "https://dav.example.com/calendars/user/a@x/",
		TenantConfig{URL: "https://dav.example.com/", HomeTemplate: "{base}/calendars/user/{user}/"}.home("a@x"))
	assert.Equal(t, "https://dav.example.com/a/", TenantConfig{URL: "https://dav.example.com", HomeTemplate: "{base}/{local}/"}.home("a@x"))

	b := New(func(context.Context, string) (TenantConfig, error) { return TenantConfig{}, nil })
	_, err = b.Mailbox(context.Background(), "t", "a@x")
	assert.ErrorContains(t, err, "caldav: url: required")
}

func TestMeetingFromICS(t *testing.T) {
	s := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART;TZID=W. Europe Standard Time:20300101T100000\r\n" +
		"DURATION:PT90M\r\nRRULE:FREQ=DAILY;UNTIL=20300105T100000Z\r\nORGANIZER:MAILTO:A.Example@Example.ORG\r\n" +
		"CONFERENCE;VALUE=URI:https://zoom.us/j/1\r\nDESCRIPTION:hi\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	d := parseICS(s)
	m, err := d.meeting(d.events()[0], "/c/1.ics", `"e"`, owner{"a.example@example.org": true}, true, "alice@example.com")
	require.NoError(t, err)
	assert.True(t, m.IsOrganizer, "alias matched case-insensitively")
	assert.Equal(t, calendar.KindSeriesMaster, m.Kind)
	assert.Equal(t, time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC), m.Start, "unknown TZID read as UTC")
	assert.Equal(t, 90*time.Minute, m.End.Sub(m.Start))
	assert.Equal(t, time.Date(2030, 1, 5, 11, 30, 0, 0, time.UTC), m.SeriesEnd)
	assert.Equal(t, &calendar.OnlineMeeting{Provider: calendar.ProviderThirdParty, JoinURL: "https://zoom.us/j/1"}, m.OnlineMeeting)
	assert.Equal(t, `"e"#`+d.hash(d.events()[0]), m.ETag)

	assert.Equal(t, calendar.ProviderSkype, providerOf("https://meet.contoso.com/alice/X", true, false))
	assert.Equal(t, calendar.ProviderSkype, providerOf("", false, true))
	assert.Equal(t, calendar.ProviderTeams, providerOf("https://teams.microsoft.com/meet/123?p=x", true, true))
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText(`<html><head><style>p{}</style></head><body><p>Hello <b>Wörld</b> 日本</p><div>Join <a href="https://x.example/j">here</a></div>a<br>b</body></html>`)
	assert.Equal(t, "Hello Wörld 日本\r\nJoin here <https://x.example/j>\r\na\r\nb\r\n", got)
}

func TestUnreadableEventIsLeftOut(t *testing.T) {
	bad := strings.Replace(sample, "DTSTART:20300101T100000Z", "DTSTART:not-a-date", 1)
	p := &principal{addrs: owner{}}
	ms := p.meetingsOf(resource{href: "/c/x.ics", etag: `"1"`, data: bad}, "a@x")
	require.Len(t, ms, 1, "the exception is still listed")
	assert.Equal(t, calendar.KindException, ms[0].Kind)
	assert.Equal(t, "/c/x.ics#20300108T100000Z", ms[0].ID)
}
