package api

import (
	"github.com/openmms/mms/internal/store"

	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestTenantSwitches(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "admin", "contoso", store.RoleAdmin)
	base := srv.URL + "/v1/tenants/contoso/"
	if code, body := get(t, base+"migration-configuration", tok); code != 200 ||
		body != `{"meetingMigrationEnabled":true,"quietPeriodSeconds":600,"participantLimit":250,"organizerRecipientsPerDay":10000}` {
		t.Fatalf("defaults = %d %s", code, body)
	}
	// A partial PUT changes only the fields it names.
	if code, body := call(t, "PUT", base+"migration-configuration", tok, `{"quietPeriodSeconds":5}`); code != 200 ||
		body != `{"meetingMigrationEnabled":true,"quietPeriodSeconds":5,"participantLimit":250,"organizerRecipientsPerDay":10000}` {
		t.Fatalf("put = %d %s", code, body)
	}
	if code, body := call(t, "PUT", base+"dial-in-conferencing-settings", tok,
		`{"automaticallyMigrateUserMeetings":false,"automaticallyReplaceAcpProvider":true}`); code != 200 ||
		body != `{"automaticallyMigrateUserMeetings":false,"automaticallyReplaceAcpProvider":true}` {
		t.Fatalf("put dial-in = %d %s", code, body)
	}
	ten, _ := db.Tenant(context.Background(), "contoso")
	if ten.Settings.QuietPeriodSeconds != 5 || ten.Settings.AutomaticallyMigrateUserMeetings || !ten.Settings.AutomaticallyReplaceAcpProvider ||
		!ten.Settings.MeetingMigrationEnabled {
		t.Fatalf("stored settings = %+v", ten.Settings)
	}
	for body, want := range map[string]string{
		`{"quietPeriodSeconds":-1}`:                 "quietPeriodSeconds: must be between 0 and 86400",
		`{"participantLimit":0}`:                    "participantLimit: must be between 1 and 100000",
		`{"meetingMigrationEnabled":"yes"}`:         "meetingMigrationEnabled: must be bool",
		`{"automaticallyMigrateUserMeetings":true}`: "automaticallyMigrateUserMeetings: unknown field",
	} {
		code, out := call(t, "PUT", base+"migration-configuration", tok, body)
		if code != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, code, out, want)
		}
	}
	if ten2, _ := db.Tenant(context.Background(), "contoso"); ten2.Settings != ten.Settings {
		t.Fatal("a rejected PUT changed the settings")
	}
}

func TestPutUserDecidesOnTheDifference(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "admin", "contoso", store.RoleAdmin)
	url := srv.URL + "/v1/tenants/contoso/users/new@contoso.com"
	profile := `{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","locale":"en-US"}`
	code, body := call(t, "PUT", url, tok, `{"displayName":"New","profile":`+profile+`}`)
	var res struct {
		Created, Triggered bool
		Reason             string
	}
	if code != 201 || json.Unmarshal([]byte(body), &res) != nil || !res.Created || res.Triggered {
		t.Fatalf("create = %d %s", code, body)
	}
	// Only the locale changes: nothing in the block moves, no migration.
	code, body = call(t, "PUT", url, tok, `{"profile":`+strings.Replace(profile, "en-US", "fr-FR", 1)+`}`)
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Created || res.Triggered {
		t.Fatalf("locale change = %d %s", code, body)
	}
	u, _ := db.User(context.Background(), "contoso", "new@contoso.com")
	if u.DisplayName != "New" || !strings.Contains(string(u.Profile), "fr-FR") {
		t.Fatalf("stored user = %+v", u)
	}
	for bad, want := range map[string]string{
		`{}`:                                 "profile: required",
		`{"profile":{"meetingType":"Zoom"}}`: "profile.meetingType",
	} {
		if code, out := call(t, "PUT", url, tok, bad); code != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s, want 400 with %q", bad, code, out, want)
		}
	}
}

// TestConcurrentSettingsPUTsKeepBothFields: PUTs of different fields at the
// same time both survive: the store compares and sets instead of writing
// back what it read (issue 16, finding 8).
func TestConcurrentSettingsPUTsKeepBothFields(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "admin", "contoso", store.RoleAdmin)
	base := srv.URL + "/v1/tenants/contoso/"
	for round := range 20 {
		quiet, limit := 100+round, 200+round
		done := make(chan string, 2)
		for _, put := range []struct{ path, body string }{
			{"migration-configuration", fmt.Sprintf(`{"quietPeriodSeconds":%d}`, quiet)},
			{"migration-configuration", fmt.Sprintf(`{"participantLimit":%d}`, limit)},
		} {
			go func() {
				code, body := call(t, "PUT", base+put.path, tok, put.body)
				if code != 200 {
					body = fmt.Sprintf("%s: %d %s", put.body, code, body)
				} else {
					body = ""
				}
				done <- body
			}()
		}
		for range 2 {
			if msg := <-done; msg != "" {
				t.Fatal(msg)
			}
		}
		ten, _ := db.Tenant(context.Background(), "contoso")
		if ten.Settings.QuietPeriodSeconds != quiet || ten.Settings.ParticipantLimit != limit {
			t.Fatalf("round %d: settings %+v, want quiet %d and limit %d", round, ten.Settings, quiet, limit)
		}
	}
}

// Flood control through the tenant settings (issue 21): an overnight
// window is valid, a budget of 0 is refused naming the field and the
// switch to use instead, null removes a window or budget.
func TestFloodControlSettings(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "admin", "contoso", store.RoleAdmin)
	url := srv.URL + "/v1/tenants/contoso/migration-configuration"
	window := `{"days":["Mon","Tue","Wed","Thu","Fri"],"start":"20:00","end":"06:00","timeZone":"Europe/Paris"}`
	code, body := call(t, "PUT", url, tok, `{"maintenanceWindow":`+window+`,"notificationBudgetPerHour":500,"organizerMeetingsPerHour":20}`)
	if code != 200 || body != `{"meetingMigrationEnabled":true,"quietPeriodSeconds":600,"participantLimit":250,"maintenanceWindow":`+
		window+`,"notificationBudgetPerHour":500,"organizerMeetingsPerHour":20,"organizerRecipientsPerDay":10000}` {
		t.Fatalf("overnight window = %d %s", code, body)
	}
	ten, _ := db.Tenant(context.Background(), "contoso")
	if w := ten.Settings.MaintenanceWindow; w == nil || w.Start != "20:00" || w.End != "06:00" || ten.Settings.NotificationBudgetPerHour != 500 {
		t.Fatalf("stored %+v", ten.Settings)
	}
	for body, want := range map[string]string{
		`{"notificationBudgetPerHour":0}`: "notificationBudgetPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations",
		`{"organizerMeetingsPerHour":-3}`: "organizerMeetingsPerHour: must be at least 1",
		`{"organizerRecipientsPerDay":0}`: "organizerRecipientsPerDay: must be at least 1",
		`{"maintenanceWindow":{"days":["Mon"],"start":"20:00","end":"20:00","timeZone":"UTC"}}`:   "maintenanceWindow.end: must differ from start",
		`{"maintenanceWindow":{"days":["Lun"],"start":"20:00","end":"06:00","timeZone":"UTC"}}`:   "maintenanceWindow.days[0]: ",
		`{"maintenanceWindow":{"days":["Mon"],"start":"20:00","end":"06:00","timeZone":"Paris"}}`: "maintenanceWindow.timeZone: ",
	} {
		code, out := call(t, "PUT", url, tok, body)
		if code != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, code, out, want)
		}
	}
	if ten2, _ := db.Tenant(context.Background(), "contoso"); ten2.Settings.NotificationBudgetPerHour != 500 || ten2.Settings.MaintenanceWindow == nil {
		t.Fatal("a rejected PUT changed the settings")
	}
	code, body = call(t, "PUT", url, tok, `{"maintenanceWindow":null,"notificationBudgetPerHour":null,"organizerRecipientsPerDay":null}`)
	if code != 200 || body != `{"meetingMigrationEnabled":true,"quietPeriodSeconds":600,"participantLimit":250,"organizerMeetingsPerHour":20,"organizerRecipientsPerDay":10000}` {
		t.Fatalf("null removes = %d %s", code, body)
	}
}
