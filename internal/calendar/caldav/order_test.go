package caldav

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
)

// TestListSeriesMasterFirst: a series stored exception first, whose
// exceptions were moved before the series' first occurrence, is listed
// master first and then its exceptions by RECURRENCE-ID, on every page
// size (issue 17: the master is to be written before its exceptions).
func TestListSeriesMasterFirst(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	first := w.now.Add(5 * 24 * time.Hour)
	rid1, rid2 := first.Add(14*24*time.Hour), first.Add(7*24*time.Hour)
	exception := func(rid, start time.Time) []string {
		return []string{"BEGIN:VEVENT", "UID:series-2@example.com", "DTSTAMP:20250101T000000Z",
			"RECURRENCE-ID:" + icalUTCTime(rid), "DTSTART:" + icalUTCTime(start), "DURATION:PT1H",
			"SUMMARY:moved", "END:VEVENT"}
	}
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"}
	lines = append(lines, exception(rid1, w.now.Add(24*time.Hour))...) // stored first, starts first
	lines = append(lines, exception(rid2, w.now.Add(2*24*time.Hour))...)
	lines = append(lines, "BEGIN:VEVENT", "UID:series-2@example.com", "DTSTAMP:20250101T000000Z",
		"DTSTART:"+icalUTCTime(first), "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=4", "SUMMARY:series", "END:VEVENT",
		"END:VCALENDAR")
	href := w.r.put(t, "alice", w.cal+"series-2.ics", ics(lines...))

	whole := w.list(t, 1000)
	at := map[string]int{}
	for i, m := range whole {
		at[m.ID] = i
	}
	master, ok := at[href]
	require.True(t, ok, "master listed")
	assert.Equal(t, calendar.KindSeriesMaster, whole[master].Kind)
	x2, x1 := at[href+"#"+icalUTCTime(rid2)], at[href+"#"+icalUTCTime(rid1)]
	assert.Equal(t, []int{master + 1, master + 2}, []int{x2, x1},
		"the exceptions right after their master, by RECURRENCE-ID")
	for _, size := range []int{1, 2, 3} {
		assert.Equal(t, whole, w.list(t, size), "page size %d", size)
	}
}
