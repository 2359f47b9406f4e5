package caldav

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// Outlook's VTIMEZONEs, as it exports them: observances starting in 1601,
// yearly rules by week day.
const (
	vtzPacific = "BEGIN:VTIMEZONE\r\nTZID:Pacific Standard Time\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0700\r\nTZOFFSETTO:-0800\r\n" +
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0800\r\nTZOFFSETTO:-0700\r\n" +
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
	vtzWEurope = "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n" +
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n" +
		"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
	vtzTokyo = "BEGIN:VTIMEZONE\r\nTZID:Tokyo Standard Time\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\n" +
		"END:STANDARD\r\nEND:VTIMEZONE\r\n"
	vtzIndia = "BEGIN:VTIMEZONE\r\nTZID:India Standard Time\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\n" +
		"END:STANDARD\r\nEND:VTIMEZONE\r\n"
)

func outlookEvent(vtz, tzid, start, extra string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n" + vtz +
		"BEGIN:VEVENT\r\nUID:tz-" + start + "\r\nDTSTAMP:20250101T000000Z\r\n" +
		"DTSTART;TZID=\"" + tzid + "\":" + start + "\r\nDTEND;TZID=\"" + tzid + "\":" + start[:9] + "235900\r\n" +
		extra + "SUMMARY:tz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func TestTZIDResolvedThroughVTIMEZONE(t *testing.T) {
	for _, c := range []struct {
		name, vtz, tzid, start string
		want                   time.Time
	}{
		{"Pacific in winter", vtzPacific, "Pacific Standard Time", "20300110T090000", time.Date(2030, 1, 10, 17, 0, 0, 0, time.UTC)},
		{"Pacific in summer", vtzPacific, "Pacific Standard Time", "20300710T090000", time.Date(2030, 7, 10, 16, 0, 0, 0, time.UTC)},
		{"Pacific on the day DST starts", vtzPacific, "Pacific Standard Time", "20300310T090000", time.Date(2030, 3, 10, 16, 0, 0, 0, time.UTC)},
		{"W. Europe in summer", vtzWEurope, "W. Europe Standard Time", "20300710T090000", time.Date(2030, 7, 10, 7, 0, 0, 0, time.UTC)},
		{"W. Europe, the day before DST ends", vtzWEurope, "W. Europe Standard Time", "20301026T090000", time.Date(2030, 10, 26, 7, 0, 0, 0, time.UTC)},
		{"W. Europe, DST ended", vtzWEurope, "W. Europe Standard Time", "20301027T090000", time.Date(2030, 10, 27, 8, 0, 0, 0, time.UTC)},
		{"India, one observance in 1601", vtzIndia, "India Standard Time", "20300110T090000", time.Date(2030, 1, 10, 3, 30, 0, 0, time.UTC)},
		// A name nothing but its VTIMEZONE explains: the definition rules.
		{"private name", strings.ReplaceAll(vtzIndia, "India Standard Time", "Custom (Kolkata)"), "Custom (Kolkata)", "20300110T090000", time.Date(2030, 1, 10, 3, 30, 0, 0, time.UTC)},
		// The object's own definition wins over the name's usual meaning.
		{"definition over name", strings.ReplaceAll(vtzIndia, "India Standard Time", "Pacific Standard Time"), "Pacific Standard Time", "20300110T090000", time.Date(2030, 1, 10, 3, 30, 0, 0, time.UTC)},
		// No VTIMEZONE: CLDR's windowsZones.
		{"Windows name alone", "", "Tokyo Standard Time", "20300110T090000", time.Date(2030, 1, 10, 0, 0, 0, 0, time.UTC)},
		{"IANA name alone", "", "America/New_York", "20300110T090000", time.Date(2030, 1, 10, 14, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := icaledit.Parse(outlookEvent(c.vtz, c.tzid, c.start, ""))
			m := meeting(d, zonesOf(d), d.Events()[0], "/c/1.ics", `"e"`, owner{}, false, "a@x")
			require.Empty(t, m.Unreadable)
			assert.Equal(t, c.want, m.Start)
		})
	}
}

func TestUnknownTZIDIsUnreadableNotUTC(t *testing.T) {
	d := icaledit.Parse(outlookEvent("", "Middle Earth Standard Time", "20300110T090000", ""))
	m := meeting(d, zonesOf(d), d.Events()[0], "/c/1.ics", `"e"`, owner{}, false, "a@x")
	assert.Contains(t, m.Unreadable, `TZID "Middle Earth Standard Time"`)
	assert.Contains(t, m.Unreadable, "no VTIMEZONE")

	broken := "BEGIN:VTIMEZONE\r\nTZID:Nowhere\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
	d = icaledit.Parse(outlookEvent(broken, "Nowhere", "20300110T090000", ""))
	m = meeting(d, zonesOf(d), d.Events()[0], "/c/1.ics", `"e"`, owner{}, false, "a@x")
	assert.Contains(t, m.Unreadable, "VTIMEZONE is unusable")
}

func TestSeriesEndInItsOwnZone(t *testing.T) {
	// Weekly at 09:00 Pacific from January, 12 times: the last one (March
	// 28) is in daylight time, 16:00 UTC, not 17:00.
	d := icaledit.Parse(outlookEvent(vtzPacific, "Pacific Standard Time", "20300103T090000", "RRULE:FREQ=WEEKLY;COUNT=13\r\n"))
	m := meeting(d, zonesOf(d), d.Events()[0], "/c/1.ics", `"e"`, owner{}, false, "a@x")
	require.Empty(t, m.Unreadable)
	assert.Equal(t, time.Date(2030, 3, 28, 16, 0, 0, 0, time.UTC).Add(m.End.Sub(m.Start)), m.SeriesEnd)
}
