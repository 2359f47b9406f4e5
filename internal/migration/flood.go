package migration

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a tenant's IANA zone is checked the same on every machine
)

// DefaultOrganizerRecipientsPerDay is Exchange Online's recipient rate
// limit: one mailbox may send to at most 10,000 recipients a day
// ("Exchange Online limits", Sending limits, Recipient rate limit). An
// update past it bounces, so an organizer's daily recipients are budgeted
// by default and a run that would cross it waits for the next day.
const DefaultOrganizerRecipientsPerDay = 10000

// Window is a tenant's maintenance window: migrations send updates only
// while it is open. It opens on each of Days at Start and closes at End,
// in TimeZone; an End before Start closes the next morning (an overnight
// window belongs to the day it opens).
type Window struct {
	Days     []string `json:"days"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	TimeZone string   `json:"timeZone"`
}

// WeekDays are the names Window.Days takes, Monday first.
var WeekDays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func weekday(name string) (time.Weekday, bool) {
	i := slices.Index(WeekDays, name)
	if i < 0 {
		return 0, false
	}
	return time.Weekday((i + 1) % 7), true
}

// clock parses "HH:MM" into minutes after midnight.
func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00 to 23:59)", s)
	}
	return hh*60 + mm, nil
}

// Validate names the field at fault, relative to the window
// ("days[1]: ...", "timeZone: ...").
func (w Window) Validate() error {
	if len(w.Days) == 0 {
		return errors.New("days: at least one of Mon, Tue, Wed, Thu, Fri, Sat, Sun")
	}
	for i, d := range w.Days {
		if _, ok := weekday(d); !ok {
			return fmt.Errorf("days[%d]: %q is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun", i, d)
		}
	}
	start, err := clock(w.Start)
	if err != nil {
		return fmt.Errorf("start: %v", err)
	}
	end, err := clock(w.End)
	if err != nil {
		return fmt.Errorf("end: %v", err)
	}
	if start == end {
		return errors.New("end: must differ from start (leave the window out to send at any time)")
	}
	if w.TimeZone == "" {
		return errors.New("timeZone: required, an IANA time zone such as Europe/Paris")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil {
		return fmt.Errorf("timeZone: %q is not an IANA time zone", w.TimeZone)
	}
	return nil
}

// Location is the window's time zone (UTC when it cannot be loaded, which
// Validate refuses).
func (w Window) Location() *time.Location {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// opening is the window's interval that opens on the day of d (local).
func (w Window) opening(d time.Time, loc *time.Location) (open, close time.Time) {
	start, _ := clock(w.Start)
	end, _ := clock(w.End)
	y, m, day := d.Date()
	open = time.Date(y, m, day, start/60, start%60, 0, 0, loc)
	if end <= start {
		day++ // overnight: closes the next morning
	}
	return open, time.Date(y, m, day, end/60, end%60, 0, 0, loc)
}

// Open reports whether the window is open at t; when it is not, next is
// when it opens.
func (w Window) Open(t time.Time) (open bool, next time.Time) {
	loc := w.Location()
	local := t.In(loc)
	// An overnight window that opened yesterday may still be open.
	for back := 1; back >= 0; back-- {
		d := local.AddDate(0, 0, -back)
		if !w.opensOn(d.Weekday()) {
			continue
		}
		if o, c := w.opening(d, loc); !local.Before(o) && local.Before(c) {
			return true, time.Time{}
		}
	}
	for ahead := 0; ahead <= 7; ahead++ {
		d := local.AddDate(0, 0, ahead)
		if !w.opensOn(d.Weekday()) {
			continue
		}
		if o, _ := w.opening(d, loc); o.After(local) {
			return false, o
		}
	}
	return false, time.Time{} // no day: Validate refuses it
}

func (w Window) opensOn(wd time.Weekday) bool {
	for _, d := range w.Days {
		if x, ok := weekday(d); ok && x == wd {
			return true
		}
	}
	return false
}

// WaitingMessage is a waiting run's LastMessage until the window opens at next.
func (w Window) WaitingMessage(next time.Time) string {
	return fmt.Sprintf("waiting for the maintenance window (opens %s %s)", next.In(w.Location()).Format("Mon 15:04"), w.TimeZone)
}

// FloodControl is how a tenant keeps update mails from flooding its
// people: the window and the budgets (0: unlimited).
type FloodControl struct {
	Window                    *Window `json:"maintenanceWindow,omitempty"`
	NotificationBudgetPerHour int     `json:"notificationBudgetPerHour,omitempty"`
	OrganizerMeetingsPerHour  int     `json:"organizerMeetingsPerHour,omitempty"`
	OrganizerRecipientsPerDay int     `json:"organizerRecipientsPerDay,omitempty"`
}

// FloodControl is the settings' flood control.
func (s Settings) FloodControl() FloodControl {
	return FloodControl{Window: s.MaintenanceWindow, NotificationBudgetPerHour: s.NotificationBudgetPerHour,
		OrganizerMeetingsPerHour: s.OrganizerMeetingsPerHour, OrganizerRecipientsPerDay: s.OrganizerRecipientsPerDay}
}

// Limited says whether anything is limited.
func (f FloodControl) Limited() bool {
	return f.Window != nil || f.NotificationBudgetPerHour > 0 || f.OrganizerMeetingsPerHour > 0 || f.OrganizerRecipientsPerDay > 0
}

// Location is the tenant's time zone for messages and days: the window's,
// else UTC.
func (f FloodControl) Location() *time.Location {
	if f.Window != nil {
		return f.Window.Location()
	}
	return time.UTC
}

// ValidateFlood checks the flood-control settings, naming the field.
func ValidateFlood(f FloodControl) error {
	if f.Window != nil {
		if err := f.Window.Validate(); err != nil {
			return fmt.Errorf("maintenanceWindow.%w", err)
		}
	}
	if f.NotificationBudgetPerHour < 0 {
		return errors.New("notificationBudgetPerHour: must be at least 1 (leave it out for no budget)")
	}
	if f.OrganizerMeetingsPerHour < 0 {
		return errors.New("organizerMeetingsPerHour: must be at least 1 (leave it out for no cap)")
	}
	if f.OrganizerRecipientsPerDay < 0 {
		return errors.New("organizerRecipientsPerDay: must be at least 1")
	}
	return nil
}
