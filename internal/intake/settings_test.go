package intake

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/openmms/mms/internal/migration"
)

// UpdateSettings merges a patch into the stored settings: fields left out
// keep their value, a removed budget or window is none again (the daily
// recipients its default); a refused patch names the field and stores
// nothing; an unknown tenant is ErrNotFound.
func TestUpdateSettings(t *testing.T) {
	ctx := context.Background()
	db := fanOutStore(t, 1)
	s := New(db, nil, nil, nil)
	w := migration.Window{Days: []string{"Mon"}, Start: "22:00", End: "06:00", TimeZone: "Europe/Paris"}
	got, err := s.UpdateSettings(ctx, fabrikam, SettingsPatch{MaintenanceWindow: Set(w), NotificationBudgetPerHour: Set(500),
		OrganizerRecipientsPerDay: Set(8000)})
	want := migration.DefaultSettings()
	want.MaintenanceWindow, want.NotificationBudgetPerHour, want.OrganizerRecipientsPerDay = &w, 500, 8000
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("set: %+v, %v\nwant %+v", got, err, want)
	}
	for field, p := range map[string]SettingsPatch{
		"notificationBudgetPerHour": {NotificationBudgetPerHour: Set(0)},
		"organizerMeetingsPerHour":  {OrganizerMeetingsPerHour: Set(-1)},
		"quietPeriodSeconds":        {QuietPeriodSeconds: new(86401)},
		"maintenanceWindow":         {MaintenanceWindow: Set(migration.Window{Days: []string{"Mon"}, Start: "22:00", End: "06:00", TimeZone: "Nowhere/Else"})},
	} {
		_, err := s.UpdateSettings(ctx, fabrikam, p)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Subject != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	tn, _ := db.Tenant(ctx, fabrikam)
	if !reflect.DeepEqual(tn.Settings, want) {
		t.Fatalf("refused patches changed the settings: %+v", tn.Settings)
	}
	got, err = s.UpdateSettings(ctx, fabrikam, SettingsPatch{MaintenanceWindow: Remove[migration.Window](),
		NotificationBudgetPerHour: Remove[int](), OrganizerRecipientsPerDay: Remove[int]()})
	if err != nil || !reflect.DeepEqual(got, migration.DefaultSettings()) {
		t.Errorf("remove: %+v, %v", got, err)
	}
	if _, err := s.UpdateSettings(ctx, "nowhere", SettingsPatch{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
}
