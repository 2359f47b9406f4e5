package console

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"unicode"

	"github.com/openmms/mms/internal/migration"
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
}

// settingRows lists the settings field by field, in the struct's order,
// with each value as the API's JSON has it (objects as JSON), so fields
// added to migration.Settings appear without a change here.
func settingRows(st migration.Settings) []settingRow {
	var rows []settingRow
	v, t := reflect.ValueOf(st), reflect.TypeOf(st)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		raw, err := json.Marshal(v.Field(i).Interface())
		value := string(raw)
		if err != nil {
			value = "(unreadable)"
		} else if s, ok := v.Field(i).Interface().(string); ok {
			value = s
			if s == "" {
				value = "(not set)"
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

// settings shows the tenant's switches. Changing them stays with the API
// and the CLI (PUT migration-configuration, mms config set), where the
// rules about what a change sets off live.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *sess) {
	c.render(w, r, s, http.StatusOK, "settings", "Settings", settingRows(s.Tenant.Settings))
}
