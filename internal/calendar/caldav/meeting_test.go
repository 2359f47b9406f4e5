package caldav

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

const sample = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\n" +
	"DTSTAMP:20250101T000000Z\r\nDTSTART:20300101T100000Z\r\nSEQUENCE:7\r\n" +
	"ATTENDEE;CN=\"Doe, J.\";X-Q=\"a:b\";RSVP=TRUE:mailto:j@example.com\r\n" +
	"X-WEIRD;b=2;a=1:va\r\n lue\r\n" +
	"DESCRIPTION:old\r\n" +
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:alarm\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n" +
	"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:u1\r\nRECURRENCE-ID:20300108T100000Z\r\nDTSTAMP:20250101T000000Z\r\n" +
	"DTSTART:20300108T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestITIPMessage(t *testing.T) {
	d := icaledit.Parse(strings.Replace(sample, "END:VALARM\r\n", "END:VALARM\r\nX-MMS-NOTIFIED:mailto:j@example.com\r\n", 1))
	master := itip(d, d.Events()[0])
	assert.True(t, strings.HasPrefix(master, "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0"), master)
	assert.Equal(t, 2, strings.Count(master, "BEGIN:VEVENT"))
	assert.NotContains(t, master, "X-MMS-NOTIFIED")
	exc := itip(d, d.Events()[1])
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
	d := icaledit.Parse(s)
	m := meeting(d, zonesOf(d), d.Events()[0], "/c/1.ics", `"e"`, owner{"a.example@example.org": true}, true, "alice@example.com")
	assert.Empty(t, m.Unreadable)
	assert.True(t, m.IsOrganizer, "alias matched case-insensitively")
	assert.Equal(t, calendar.KindSeriesMaster, m.Kind)
	assert.Equal(t, time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC), m.Start, "Windows TZID without VTIMEZONE: CLDR's Europe/Berlin")
	assert.Equal(t, 90*time.Minute, m.End.Sub(m.Start))
	assert.Equal(t, time.Date(2030, 1, 5, 10, 30, 0, 0, time.UTC), m.SeriesEnd)
	assert.Equal(t, &calendar.OnlineMeeting{Provider: calendar.ProviderThirdParty, JoinURL: "https://zoom.us/j/1"}, m.OnlineMeeting)
	assert.Equal(t, `"e"#`+hash(d, d.Events()[0]), m.ETag)

	assert.Equal(t, calendar.ProviderSkype, providerOf("https://meet.contoso.com/alice/X", true, false))
	assert.Equal(t, calendar.ProviderSkype, providerOf("", false, true))
	assert.Equal(t, calendar.ProviderTeams, providerOf("https://teams.microsoft.com/meet/123?p=x", true, true))
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText(`<html><head><style>p{}</style></head><body><p>Hello <b>Wörld</b> 日本</p><div>Join <a href="https://x.example/j">here</a></div>a<br>b</body></html>`)
	assert.Equal(t, "Hello Wörld 日本\r\nJoin here <https://x.example/j>\r\na\r\nb\r\n", got)
}

func TestUnreadableEventIsListedUnreadable(t *testing.T) {
	bad := strings.Replace(sample, "DTSTART:20300101T100000Z", "DTSTART:not-a-date", 1)
	p := &principal{addrs: owner{}}
	ms := p.meetingsOf(resource{href: "/c/x.ics", etag: `"1"`, data: bad}, "a@x")
	require.Len(t, ms, 2, "neither is left out")
	assert.Contains(t, ms[0].Unreadable, "not-a-date")
	assert.True(t, overlaps(ms[0], time.Now(), time.Now().Add(time.Hour)), "the server placed it in the window")
	assert.Equal(t, calendar.KindException, ms[1].Kind)
	assert.Equal(t, "/c/x.ics#20300108T100000Z", ms[1].ID)
	assert.Empty(t, ms[1].Unreadable)
}
