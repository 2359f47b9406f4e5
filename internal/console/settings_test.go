package console

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// settingsFormOf is the settings form as the page fills it, with changes.
func settingsFormOf(t *testing.T, page string, changes url.Values) url.Values {
	t.Helper()
	form := url.Values{"csrf": {csrfOf(t, page)}, "meetingMigrationEnabled": {"on"}, "automaticallyMigrateUserMeetings": {"on"},
		"quietPeriodSeconds": {"600"}, "participantLimit": {"250"}, "organizerRecipientsPerDay": {"10000"}}
	for k, v := range changes {
		form[k] = v
	}
	return form
}

func settingsOf(t *testing.T, db *store.DB) migration.Settings {
	t.Helper()
	tn, err := db.Tenant(context.Background(), "contoso")
	if err != nil {
		t.Fatal(err)
	}
	return tn.Settings
}

// An admin changes every setting on the form, flood control included,
// through the service's rules (the API's PUT): a refused value is shown on
// the form naming the field, with the API's message, and nothing is
// stored; a budget of 0 is refused as the API refuses it.
func TestSettingsForm(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["contoso-admin"])
	page := b.do("GET", "/console/t/contoso/settings", nil)
	for _, w := range []string{`id="settings-form"`, `name="notificationBudgetPerHour"`, `name="windowDays" value="Sun"`,
		`name="windowTimeZone"`, `name="organizerMeetingsPerHour"`, `data-setting="quietPeriodSeconds">600<`} {
		if !strings.Contains(page.body, w) {
			t.Fatalf("settings page: no %q in %.3000s", w, page.body)
		}
	}
	before := settingsOf(t, f.db)
	for _, tc := range []struct {
		change url.Values
		want   string
	}{
		{url.Values{"notificationBudgetPerHour": {"0"}}, "notificationBudgetPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations"},
		{url.Values{"organizerMeetingsPerHour": {"-3"}}, "organizerMeetingsPerHour: must be at least 1"},
		{url.Values{"organizerRecipientsPerDay": {"many"}}, "organizerRecipientsPerDay: must be a whole number"},
		{url.Values{"quietPeriodSeconds": {"90000"}}, "quietPeriodSeconds: must be between 0 and 86400"},
		{url.Values{"participantLimit": {""}}, "participantLimit: required"},
		{url.Values{"defaultLanguage": {"klingon!"}}, "defaultLanguage:"},
		{url.Values{"windowDays": {"Mon"}, "windowStart": {"22:00"}, "windowEnd": {"06:00"}, "windowTimeZone": {"Mars/Olympus"}}, "maintenanceWindow.timeZone: "},
		{url.Values{"windowStart": {"22:00"}, "windowEnd": {"06:00"}, "windowTimeZone": {"Europe/Paris"}}, "maintenanceWindow.days: "},
		{url.Values{"windowDays": {"Mon"}, "windowStart": {"22:00"}, "windowEnd": {"22:00"}, "windowTimeZone": {"Europe/Paris"}}, "maintenanceWindow.end: "},
	} {
		r := b.do("POST", "/console/t/contoso/settings", settingsFormOf(t, page.body, tc.change))
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, `id="form-error">`+htmlText(tc.want)) {
			t.Errorf("%v: %d %.300s, want 400 %q", tc.change, r.code, errorOf(r.body), tc.want)
			continue
		}
		// The form keeps what was typed, and marks the field.
		for k, v := range tc.change {
			if k != "windowDays" && v[0] != "" && !strings.Contains(r.body, `value="`+v[0]+`"`) {
				t.Errorf("%v: the form lost %s=%q", tc.change, k, v[0])
			}
		}
		if !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("%v: no field marked invalid", tc.change)
		}
	}
	if got := settingsOf(t, f.db); !reflect.DeepEqual(got, before) {
		t.Fatalf("refused forms changed the settings: %+v, were %+v", got, before)
	}

	// A valid form: every field stored, an overnight window included.
	r := b.do("POST", "/console/t/contoso/settings", settingsFormOf(t, page.body, url.Values{
		"meetingMigrationEnabled": nil, "automaticallyReplaceAcpProvider": {"on"}, "quietPeriodSeconds": {"120"},
		"participantLimit": {"40"}, "defaultLanguage": {"fr-FR"}, "windowDays": {"Fri", "Mon"}, "windowStart": {"22:00"},
		"windowEnd": {"06:00"}, "windowTimeZone": {"Europe/Paris"}, "notificationBudgetPerHour": {"500"},
		"organizerMeetingsPerHour": {"20"}, "organizerRecipientsPerDay": {"8000"}}))
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/console/t/contoso/settings?saved=1" {
		t.Fatalf("save: %d %q %.300s", r.code, r.header.Get("Location"), errorOf(r.body))
	}
	want := migration.Settings{MeetingMigrationEnabled: false, AutomaticallyMigrateUserMeetings: true, AutomaticallyReplaceAcpProvider: true,
		QuietPeriodSeconds: 120, ParticipantLimit: 40, DefaultLanguage: "fr-FR",
		MaintenanceWindow:         &migration.Window{Days: []string{"Mon", "Fri"}, Start: "22:00", End: "06:00", TimeZone: "Europe/Paris"},
		NotificationBudgetPerHour: 500, OrganizerMeetingsPerHour: 20, OrganizerRecipientsPerDay: 8000}
	if got := settingsOf(t, f.db); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %+v\nwant    %+v", got, want)
	}
	saved := b.do("GET", "/console/t/contoso/settings?saved=1", nil)
	for _, w := range []string{`id="saved"`, `data-setting="notificationBudgetPerHour">500<`, `value="500"`, `value="Europe/Paris"`,
		`id="s-day-Fri" name="windowDays" value="Fri" checked`} {
		if !strings.Contains(saved.body, w) {
			t.Errorf("after saving: no %q", w)
		}
	}
	// Emptied budgets and window are none again; the daily cap its default.
	r = b.do("POST", "/console/t/contoso/settings", settingsFormOf(t, saved.body, url.Values{"organizerRecipientsPerDay": {""}}))
	if r.code != http.StatusSeeOther {
		t.Fatalf("clear: %d %.300s", r.code, errorOf(r.body))
	}
	got := settingsOf(t, f.db)
	if got.MaintenanceWindow != nil || got.NotificationBudgetPerHour != 0 || got.OrganizerMeetingsPerHour != 0 ||
		got.OrganizerRecipientsPerDay != migration.DefaultOrganizerRecipientsPerDay || !got.MeetingMigrationEnabled {
		t.Errorf("after clearing: %+v", got)
	}
	cleared := b.do("GET", "/console/t/contoso/settings", nil).body
	for _, name := range []string{"maintenanceWindow", "notificationBudgetPerHour", "organizerMeetingsPerHour", "defaultLanguage"} {
		if !strings.Contains(cleared, `data-setting="`+name+`">(not set)<`) {
			t.Errorf("after clearing, %s does not read (not set)", name)
		}
	}
}

// Operators and readers see the settings read-only, and a form they post
// anyway is refused with 403 and changes nothing.
func TestSettingsAreReadOnlyBelowAdmin(t *testing.T) {
	f := newFixture(t)
	before := settingsOf(t, f.db)
	for _, name := range []string{"contoso-operator", "contoso-reader"} {
		b := f.browser()
		b.signIn(f.tokens[name])
		page := b.do("GET", "/console/t/contoso/settings", nil)
		if page.code != 200 || strings.Contains(page.body, `id="settings-form"`) || !strings.Contains(page.body, `data-setting="participantLimit">250<`) {
			t.Errorf("%s: %d, form shown: %v", name, page.code, strings.Contains(page.body, `id="settings-form"`))
		}
		r := b.do("POST", "/console/t/contoso/settings", settingsFormOf(t, page.body, url.Values{"notificationBudgetPerHour": {"5"}}))
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "may not change settings") {
			t.Errorf("%s posting settings: %d %.300s", name, r.code, errorOf(r.body))
		}
	}
	if got := settingsOf(t, f.db); !reflect.DeepEqual(got, before) {
		t.Errorf("settings changed: %+v", got)
	}
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(s)
}

// errorOf is the page's error message, for test failures.
func errorOf(page string) string {
	for _, marker := range []string{`id="form-error">`, `<main id="main"`} {
		if _, after, ok := strings.Cut(page, marker); ok {
			return after[:min(300, len(after))]
		}
	}
	return page[:min(300, len(page))]
}
