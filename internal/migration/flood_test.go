package migration

import (
	"strings"
	"testing"
	"time"
)

// An overnight window (end before start) is valid, belongs to the day it
// opens, and is open after midnight; outside it, Open says when it opens.
func TestWindowOvernight(t *testing.T) {
	w := Window{Days: []string{"Mon", "Tue"}, Start: "20:00", End: "06:00", TimeZone: "Europe/Paris"}
	if err := w.Validate(); err != nil {
		t.Fatalf("overnight window refused: %v", err)
	}
	paris := w.Location()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-12-07 is a Monday.
	for _, tc := range []struct {
		now  string
		open bool
		next string
	}{
		{"2026-12-07 19:59", false, "2026-12-07 20:00"},
		{"2026-12-07 20:00", true, ""},
		{"2026-12-08 03:00", true, ""}, // Monday's window, after midnight
		{"2026-12-08 06:00", false, "2026-12-08 20:00"},
		{"2026-12-09 05:00", true, ""},                  // Tuesday's window, on Wednesday morning
		{"2026-12-09 07:00", false, "2026-12-14 20:00"}, // next Monday
	} {
		open, next := w.Open(at(tc.now))
		if open != tc.open || (!open && !next.Equal(at(tc.next))) {
			t.Errorf("at %s: open %v, next %s; want %v, %s", tc.now, open, next, tc.open, tc.next)
		}
	}
	if got := w.WaitingMessage(at("2026-12-08 20:00")); got != "waiting for the maintenance window (opens Tue 20:00 Europe/Paris)" {
		t.Errorf("message %q", got)
	}
}

func TestWindowValidateNamesTheField(t *testing.T) {
	ok := Window{Days: []string{"Sat"}, Start: "08:00", End: "18:00", TimeZone: "UTC"}
	for _, tc := range []struct {
		change func(*Window)
		want   string
	}{
		{func(w *Window) { w.Days = nil }, "days: "},
		{func(w *Window) { w.Days = []string{"Sat", "Sunday"} }, "days[1]: "},
		{func(w *Window) { w.Start = "8:00" }, "start: "},
		{func(w *Window) { w.End = "24:00" }, "end: "},
		{func(w *Window) { w.End = w.Start }, "end: must differ"},
		{func(w *Window) { w.TimeZone = "" }, "timeZone: required"},
		{func(w *Window) { w.TimeZone = "Mars/Olympus" }, "timeZone: "},
	} {
		w := ok
		w.Days = append([]string(nil), ok.Days...)
		tc.change(&w)
		err := ValidateFlood(FloodControl{Window: &w})
		if err == nil || !strings.HasPrefix(err.Error(), "maintenanceWindow."+tc.want) {
			t.Errorf("%+v: %v, want maintenanceWindow.%s...", w, err, tc.want)
		}
	}
}

// A new tenant budgets an organizer's daily recipients as Exchange Online
// does, and nothing else.
func TestDefaultFloodControl(t *testing.T) {
	f := DefaultSettings().FloodControl()
	if f.Window != nil || f.NotificationBudgetPerHour != 0 || f.OrganizerMeetingsPerHour != 0 ||
		f.OrganizerRecipientsPerDay != 10000 {
		t.Fatalf("defaults %+v", f)
	}
}
