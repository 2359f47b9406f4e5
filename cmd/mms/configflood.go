package main

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/migration"
)

// floodFlags are config set's flood-control flags, as text: each takes
// "none" (or "default") besides a value.
type floodFlags struct {
	window, budget, meetings, recipients string
}

func (f *floodFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.window, "maintenance-window", "", `send updates only in this window: "DAYS START-END ZONE" (e.g. "Mon-Fri 20:00-06:00 Europe/Paris"), or none`)
	fl.StringVar(&f.budget, "notification-budget", "", "at most N attendee notifications per hour across the tenant, or none")
	fl.StringVar(&f.meetings, "organizer-meetings-per-hour", "", "at most N meetings updated per hour per organizer, or none")
	fl.StringVar(&f.recipients, "organizer-recipients-per-day", "", "at most N recipients a day per organizer, or default (10000, Exchange Online's limit)")
}

// apply puts the flags given into the PUT body; the API checks the values
// (a budget of 0 is refused there, naming the field).
func (f *floodFlags) apply(changed func(string) bool, mc *api.MigrationConfiguration) error {
	if changed("maintenance-window") {
		if strings.EqualFold(f.window, "none") {
			mc.MaintenanceWindow = api.Optional[migration.Window]{Set: true}
		} else {
			w, err := parseWindow(f.window)
			if err != nil {
				return fmt.Errorf("--maintenance-window: %w", err)
			}
			mc.MaintenanceWindow = api.Set(w)
		}
	}
	for _, c := range []struct {
		flag, value, unset string
		dst                *api.Optional[int]
	}{
		{"notification-budget", f.budget, "none", &mc.NotificationBudgetPerHour},
		{"organizer-meetings-per-hour", f.meetings, "none", &mc.OrganizerMeetingsPerHour},
		{"organizer-recipients-per-day", f.recipients, "default", &mc.OrganizerRecipientsPerDay},
	} {
		if !changed(c.flag) {
			continue
		}
		if strings.EqualFold(c.value, c.unset) {
			*c.dst = api.Optional[int]{Set: true}
			continue
		}
		n, err := strconv.Atoi(c.value)
		if err != nil {
			return fmt.Errorf("--%s: %q is neither a number nor %s", c.flag, c.value, c.unset)
		}
		*c.dst = api.Set(n)
	}
	return nil
}

// parseWindow reads "Mon-Fri 20:00-06:00 Europe/Paris" or
// "Mon,Wed,Sat 22:00-23:30 UTC".
func parseWindow(s string) (migration.Window, error) {
	parts := strings.Fields(s)
	if len(parts) != 3 {
		return migration.Window{}, fmt.Errorf(`%q: want "DAYS START-END ZONE", such as "Mon-Fri 20:00-06:00 Europe/Paris"`, s)
	}
	var w migration.Window
	for _, d := range strings.Split(parts[0], ",") {
		from, to, isRange := strings.Cut(d, "-")
		i, j := slices.Index(migration.WeekDays, from), slices.Index(migration.WeekDays, to)
		switch {
		case !isRange:
			w.Days = append(w.Days, d) // the API names a wrong day
		case i < 0 || j < 0:
			return w, fmt.Errorf("%q: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun", d)
		default:
			for k := i; ; k = (k + 1) % 7 {
				w.Days = append(w.Days, migration.WeekDays[k])
				if k == j {
					break
				}
			}
		}
	}
	var ok bool
	if w.Start, w.End, ok = strings.Cut(parts[1], "-"); !ok {
		return w, fmt.Errorf("%q: want START-END, such as 20:00-06:00", parts[1])
	}
	w.TimeZone = parts[2]
	return w, w.Validate()
}

func windowText(w *migration.Window) string {
	if w == nil {
		return "-"
	}
	return fmt.Sprintf("%s %s-%s %s", strings.Join(w.Days, ","), w.Start, w.End, w.TimeZone)
}

// previewConfig prints what config set would change, without changing it.
func previewConfig(cmd *cobra.Command, af apiFlags, mc api.MigrationConfiguration, dc api.DialInConferencingSettings) error {
	var cur tenantConfig
	if err := af.call(http.MethodGet, af.tenantPath(migrationConfigRoute), nil, &cur.MigrationConfiguration); err != nil {
		return err
	}
	if err := af.call(http.MethodGet, af.tenantPath(dialInRoute), nil, &cur.DialInConferencingSettings); err != nil {
		return err
	}
	type change struct{ Setting, From, To string }
	var changes []change
	add := func(name string, from, to any) {
		if !reflect.DeepEqual(from, to) {
			changes = append(changes, change{name, text(from), text(to)})
		}
	}
	m := cur.MigrationConfiguration
	if mc.MeetingMigrationEnabled != nil {
		add("MeetingMigrationEnabled", m.MeetingMigrationEnabled, mc.MeetingMigrationEnabled)
	}
	if mc.QuietPeriodSeconds != nil {
		add("QuietPeriodSeconds", m.QuietPeriodSeconds, mc.QuietPeriodSeconds)
	}
	if mc.ParticipantLimit != nil {
		add("ParticipantLimit", m.ParticipantLimit, mc.ParticipantLimit)
	}
	if mc.DefaultLanguage != nil {
		add("DefaultLanguage", m.DefaultLanguage, mc.DefaultLanguage)
	}
	if mc.MaintenanceWindow.Set {
		add("MaintenanceWindow", m.MaintenanceWindow, mc.MaintenanceWindow.Value)
	}
	if mc.NotificationBudgetPerHour.Set {
		add("NotificationBudgetPerHour", m.NotificationBudgetPerHour, mc.NotificationBudgetPerHour.Value)
	}
	if mc.OrganizerMeetingsPerHour.Set {
		add("OrganizerMeetingsPerHour", m.OrganizerMeetingsPerHour, mc.OrganizerMeetingsPerHour.Value)
	}
	if mc.OrganizerRecipientsPerDay.Set {
		to := mc.OrganizerRecipientsPerDay.Value
		if to == nil {
			d := migration.DefaultOrganizerRecipientsPerDay
			to = &d
		}
		add("OrganizerRecipientsPerDay", &m.OrganizerRecipientsPerDay, to)
	}
	d := cur.DialInConferencingSettings
	if dc.AutomaticallyMigrateUserMeetings != nil {
		add("AutomaticallyMigrateUserMeetings", d.AutomaticallyMigrateUserMeetings, dc.AutomaticallyMigrateUserMeetings)
	}
	if dc.AutomaticallyReplaceAcpProvider != nil {
		add("AutomaticallyReplaceAcpProvider", d.AutomaticallyReplaceAcpProvider, dc.AutomaticallyReplaceAcpProvider)
	}
	const queued = "migrations queued: none (the switches apply to the changes that arrive after them)"
	out := struct {
		Changes []change `json:"changes"`
		Queued  int      `json:"migrationsQueued"`
	}{changes, 0}
	return af.print(cmd, out, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SETTING\tNOW\tWOULD BE")
		for _, c := range changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Setting, esc(c.From), esc(c.To))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(changes) == 0 {
			fmt.Fprintln(w, "nothing would change")
		}
		_, err := fmt.Fprintln(w, queued)
		return err
	})
}

// text shows a setting's value: "-" when unset.
func text(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
		return "-"
	}
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if w, ok := rv.Interface().(migration.Window); ok {
		return windowText(&w)
	}
	return fmt.Sprint(rv.Interface())
}
