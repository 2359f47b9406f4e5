package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// settingRow is one of a tenant's settings as the page shows it.
type settingRow struct {
	Name  string // the API's field name (migration-configuration)
	Label string
	Value string
	Help  string
}

// settingHelp explains the settings whose name says too little. A field
// added to migration.Settings shows up without an entry here (its label is
// made from its JSON name); an entry only adds the explanation.
var settingHelp = map[string]string{
	"meetingMigrationEnabled":          "Off: no migration runs for the tenant, whatever triggers it.",
	"automaticallyMigrateUserMeetings": "Change events start migrations; off, only manual starts do.",
	"automaticallyReplaceAcpProvider":  "An audio-conferencing provider change migrates the user's meetings.",
	"quietPeriodSeconds":               "A burst of changes within this many seconds is merged into one run.",
	"participantLimit":                 "Meetings with more participants (organizer included) are skipped.",
	"defaultLanguage":                  "Language of the blocks of organizers without a locale (empty: en-US).",
	"maintenanceWindow":                "Updates are sent only while it is open (empty: at any time); an end before the start closes the next morning.",
	"notificationBudgetPerHour":        "At most this many attendee notifications an hour across the tenant (empty: no budget).",
	"organizerMeetingsPerHour":         "At most this many meetings of one organizer updated an hour (empty: no cap).",
	"organizerRecipientsPerDay":        "Recipients one organizer's updates may reach a day; Exchange Online refuses more than 10,000.",
}

// settingRows lists the settings field by field, in the struct's order,
// with each value as the API's JSON has it (objects as JSON), so fields
// added to migration.Settings appear without a change here.
func settingRows(st migration.Settings) []settingRow {
	var rows []settingRow
	v, t := reflect.ValueOf(st), reflect.TypeOf(st)
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		raw, err := json.Marshal(v.Field(i).Interface())
		value := string(raw)
		switch {
		case err != nil:
			value = "(unreadable)"
		case strings.Contains(opts, "omitempty") && v.Field(i).IsZero():
			// What the API leaves out: no window, no budget, no language.
			value = "(not set)"
		default:
			if s, ok := v.Field(i).Interface().(string); ok {
				value = s
			}
		}
		rows = append(rows, settingRow{Name: name, Label: label(name), Value: value, Help: settingHelp[name]})
	}
	return rows
}

// label turns a JSON name into words: "quietPeriodSeconds" is "Quiet period seconds".
func label(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsUpper(r):
			b.WriteByte(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// settingsForm is the settings form's values as text, as an admin typed
// them (after a refusal) or as stored.
type settingsForm struct {
	MeetingMigrationEnabled, AutomaticallyMigrateUserMeetings, AutomaticallyReplaceAcpProvider bool
	QuietPeriodSeconds, ParticipantLimit, DefaultLanguage                                      string
	WindowDays                                                                                 map[string]bool
	WindowStart, WindowEnd, WindowTimeZone                                                     string
	NotificationBudgetPerHour, OrganizerMeetingsPerHour, OrganizerRecipientsPerDay             string
}

// settingsView is the settings page: the stored values, and for an admin
// the form; Error (naming the field first) and Field after a refusal.
type settingsView struct {
	Rows  []settingRow
	Edit  bool
	Form  settingsForm
	Days  []string
	Error string
	Field string // the refused field's JSON name, its input marked invalid
	Saved bool
}

func formOf(st migration.Settings) settingsForm {
	f := settingsForm{MeetingMigrationEnabled: st.MeetingMigrationEnabled,
		AutomaticallyMigrateUserMeetings: st.AutomaticallyMigrateUserMeetings,
		AutomaticallyReplaceAcpProvider:  st.AutomaticallyReplaceAcpProvider,
		QuietPeriodSeconds:               strconv.Itoa(st.QuietPeriodSeconds), ParticipantLimit: strconv.Itoa(st.ParticipantLimit),
		DefaultLanguage: st.DefaultLanguage, WindowDays: map[string]bool{},
		OrganizerRecipientsPerDay: strconv.Itoa(st.OrganizerRecipientsPerDay)}
	if w := st.MaintenanceWindow; w != nil {
		for _, d := range w.Days {
			f.WindowDays[d] = true
		}
		f.WindowStart, f.WindowEnd, f.WindowTimeZone = w.Start, w.End, w.TimeZone
	}
	if st.NotificationBudgetPerHour > 0 {
		f.NotificationBudgetPerHour = strconv.Itoa(st.NotificationBudgetPerHour)
	}
	if st.OrganizerMeetingsPerHour > 0 {
		f.OrganizerMeetingsPerHour = strconv.Itoa(st.OrganizerMeetingsPerHour)
	}
	return f
}

// readSettingsForm reads the submitted form. The form shows every setting,
// so every one is part of the change: an unticked box is off, an empty
// budget or window is none (organizerRecipientsPerDay: the default).
func readSettingsForm(v url.Values) settingsForm {
	f := settingsForm{MeetingMigrationEnabled: v.Get("meetingMigrationEnabled") != "",
		AutomaticallyMigrateUserMeetings: v.Get("automaticallyMigrateUserMeetings") != "",
		AutomaticallyReplaceAcpProvider:  v.Get("automaticallyReplaceAcpProvider") != "",
		QuietPeriodSeconds:               strings.TrimSpace(v.Get("quietPeriodSeconds")),
		ParticipantLimit:                 strings.TrimSpace(v.Get("participantLimit")),
		DefaultLanguage:                  strings.TrimSpace(v.Get("defaultLanguage")),
		WindowDays:                       map[string]bool{},
		WindowStart:                      strings.TrimSpace(v.Get("windowStart")),
		WindowEnd:                        strings.TrimSpace(v.Get("windowEnd")),
		WindowTimeZone:                   strings.TrimSpace(v.Get("windowTimeZone")),
		NotificationBudgetPerHour:        strings.TrimSpace(v.Get("notificationBudgetPerHour")),
		OrganizerMeetingsPerHour:         strings.TrimSpace(v.Get("organizerMeetingsPerHour")),
		OrganizerRecipientsPerDay:        strings.TrimSpace(v.Get("organizerRecipientsPerDay")),
	}
	for _, d := range v["windowDays"] {
		f.WindowDays[d] = true
	}
	return f
}

// formError is a value the form could not read, named as the API names it.
type formError struct{ field, msg string }

func (e *formError) Error() string { return e.field + ": " + e.msg }

// patch turns the form into the service's change; only what a form cannot
// say as JSON would (a number typed as text) is checked here, the rules
// are the service's.
func (f settingsForm) patch() (intake.SettingsPatch, error) {
	p := intake.SettingsPatch{MeetingMigrationEnabled: &f.MeetingMigrationEnabled,
		AutomaticallyMigrateUserMeetings: &f.AutomaticallyMigrateUserMeetings,
		AutomaticallyReplaceAcpProvider:  &f.AutomaticallyReplaceAcpProvider,
		DefaultLanguage:                  &f.DefaultLanguage}
	num := func(field, raw string) (*int, error) {
		if raw == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return nil, &formError{field, "must be a whole number, not " + quote(raw)}
		}
		return &n, nil
	}
	var err error
	required := func(field, raw string) (*int, error) {
		if raw == "" {
			return nil, &formError{field, "required"}
		}
		return num(field, raw)
	}
	if p.QuietPeriodSeconds, err = required("quietPeriodSeconds", f.QuietPeriodSeconds); err != nil {
		return p, err
	}
	if p.ParticipantLimit, err = required("participantLimit", f.ParticipantLimit); err != nil {
		return p, err
	}
	for _, b := range []struct {
		field, raw string
		dst        *intake.Optional[int]
	}{{"notificationBudgetPerHour", f.NotificationBudgetPerHour, &p.NotificationBudgetPerHour},
		{"organizerMeetingsPerHour", f.OrganizerMeetingsPerHour, &p.OrganizerMeetingsPerHour},
		{"organizerRecipientsPerDay", f.OrganizerRecipientsPerDay, &p.OrganizerRecipientsPerDay}} {
		n, err := num(b.field, b.raw)
		if err != nil {
			return p, err
		}
		*b.dst = intake.Optional[int]{Set: true, Value: n} // empty: none (null)
	}
	p.MaintenanceWindow = intake.Remove[migration.Window]()
	if len(f.WindowDays) > 0 || f.WindowStart != "" || f.WindowEnd != "" || f.WindowTimeZone != "" {
		w := migration.Window{Start: f.WindowStart, End: f.WindowEnd, TimeZone: f.WindowTimeZone}
		for _, d := range migration.WeekDays { // in the week's order, whatever the form's
			if f.WindowDays[d] {
				w.Days = append(w.Days, d)
			}
		}
		p.MaintenanceWindow = intake.Set(w)
	}
	return p, nil
}

// settings shows the tenant's settings; an admin (who may change them
// through the API too) gets the form.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *sess) {
	c.renderSettings(w, r, s, http.StatusOK, formOf(s.Tenant.Settings), "", r.URL.Query().Get("saved") != "")
}

func (c *Console) renderSettings(w http.ResponseWriter, r *http.Request, s *sess, status int, f settingsForm, msg string, saved bool) {
	v := settingsView{Rows: settingRows(s.Tenant.Settings), Edit: s.May(store.PermAdminister), Form: f,
		Days: migration.WeekDays, Error: msg, Saved: saved}
	if msg != "" {
		// The message names the field first ("maintenanceWindow.timeZone: ...").
		v.Field, _, _ = strings.Cut(msg, ":")
	}
	c.render(w, r, s, status, "settings", "Settings", v)
}

// saveSettings has the service check and store the form's settings, as
// PUT migration-configuration does; a refusal shows the form again with
// the values typed and the message naming the field.
func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, s *sess) {
	f := readSettingsForm(r.PostForm)
	p, err := f.patch()
	if err == nil {
		_, err = c.intake.UpdateSettings(r.Context(), s.Tenant.ID, p)
	}
	var fe *formError
	var ie *intake.Error
	switch {
	case err == nil:
		http.Redirect(w, r, tenantPath(s.Tenant.ID, "/settings?saved=1"), http.StatusSeeOther)
	case errors.As(err, &fe):
		c.renderSettings(w, r, s, http.StatusBadRequest, f, fe.Error(), false)
	case errors.As(err, &ie) && errors.Is(ie, intake.ErrInvalid):
		c.renderSettings(w, r, s, http.StatusBadRequest, f, ie.Message, false)
	default:
		c.intakeFailed(w, r, s, err)
	}
}

// administer lets only tokens that may change settings through.
func (c *Console) administer(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *sess) {
		if !s.May(store.PermAdminister) {
			c.fail(w, r, s, http.StatusForbidden, "forbidden: a token with role "+quote(s.Tok.Role)+" may not change settings")
			return
		}
		h(w, r, s)
	}
}
