package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// Optional is a setting a change may leave out (keep), set to null
// (remove) or set. Flood control needs the three: "no budget" is a value an
// admin sets, distinct from "not mentioned".
type Optional[T any] struct {
	Set   bool // present in the change, null included
	Value *T   // nil: null
}

// Set returns an Optional holding v.
func Set[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

// Remove returns an Optional that removes the setting.
func Remove[T any]() Optional[T] { return Optional[T]{Set: true} }

// MarshalJSON writes null or the value; left out (omitzero) when not Set.
func (o Optional[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.Value) }

// UnmarshalJSON: a field present in the JSON is Set, null included.
func (o *Optional[T]) UnmarshalJSON(raw []byte) error {
	o.Set = true
	if string(raw) == "null" {
		o.Value = nil
		return nil
	}
	o.Value = new(T)
	return json.Unmarshal(raw, o.Value)
}

// applyPtr sets *dst from o when it was given (null: nil).
func (o Optional[T]) applyPtr(dst **T) {
	if o.Set {
		*dst = o.Value
	}
}

// apply sets *dst from o when it was given; null sets unset.
func (o Optional[T]) apply(dst *T, unset T) {
	switch {
	case !o.Set:
	case o.Value == nil:
		*dst = unset
	default:
		*dst = *o.Value
	}
}

// SettingsPatch is a change of some of a tenant's settings (the API's PUT
// migration-configuration and dial-in-conferencing-settings, the console's
// settings form): a nil pointer or an unset Optional keeps the stored
// value. Null removes the window or a budget; organizerRecipientsPerDay
// then returns to its default, Exchange Online's 10,000.
type SettingsPatch struct {
	MeetingMigrationEnabled          *bool
	AutomaticallyMigrateUserMeetings *bool
	AutomaticallyReplaceAcpProvider  *bool
	QuietPeriodSeconds               *int
	ParticipantLimit                 *int
	DefaultLanguage                  *string // "" clears it
	MaintenanceWindow                Optional[migration.Window]
	NotificationBudgetPerHour        Optional[int]
	OrganizerMeetingsPerHour         Optional[int]
	OrganizerRecipientsPerDay        Optional[int]
}

// Validate names the field at fault with the settings' JSON names
// ("maintenanceWindow.timeZone: ...").
func (p SettingsPatch) Validate() error {
	if p.QuietPeriodSeconds != nil && (*p.QuietPeriodSeconds < 0 || *p.QuietPeriodSeconds > 86400) {
		return invalid("quietPeriodSeconds", "must be between 0 and 86400")
	}
	if p.ParticipantLimit != nil && (*p.ParticipantLimit < 1 || *p.ParticipantLimit > 100000) {
		return invalid("participantLimit", "must be between 1 and 100000")
	}
	if p.DefaultLanguage != nil && *p.DefaultLanguage != "" {
		if _, err := meetingblock.ParseLocale(*p.DefaultLanguage); err != nil {
			return invalid("defaultLanguage", "%v", err)
		}
	}
	// 0 would stop every update for good: the switch says so plainly.
	for _, b := range []struct {
		field string
		o     Optional[int]
	}{{"notificationBudgetPerHour", p.NotificationBudgetPerHour}, {"organizerMeetingsPerHour", p.OrganizerMeetingsPerHour},
		{"organizerRecipientsPerDay", p.OrganizerRecipientsPerDay}} {
		if b.o.Value != nil && *b.o.Value < 1 {
			return invalid(b.field, "must be at least 1; use meetingMigrationEnabled to stop migrations")
		}
	}
	if p.MaintenanceWindow.Value != nil {
		if err := p.MaintenanceWindow.Value.Validate(); err != nil {
			return invalidErr("maintenanceWindow", fmt.Errorf("maintenanceWindow.%w", err))
		}
	}
	return nil
}

// apply merges the patch into st.
func (p SettingsPatch) apply(st *migration.Settings) {
	set(&st.MeetingMigrationEnabled, p.MeetingMigrationEnabled)
	set(&st.AutomaticallyMigrateUserMeetings, p.AutomaticallyMigrateUserMeetings)
	set(&st.AutomaticallyReplaceAcpProvider, p.AutomaticallyReplaceAcpProvider)
	set(&st.QuietPeriodSeconds, p.QuietPeriodSeconds)
	set(&st.ParticipantLimit, p.ParticipantLimit)
	set(&st.DefaultLanguage, p.DefaultLanguage)
	p.MaintenanceWindow.applyPtr(&st.MaintenanceWindow)
	p.NotificationBudgetPerHour.apply(&st.NotificationBudgetPerHour, 0)
	p.OrganizerMeetingsPerHour.apply(&st.OrganizerMeetingsPerHour, 0)
	p.OrganizerRecipientsPerDay.apply(&st.OrganizerRecipientsPerDay, migration.DefaultOrganizerRecipientsPerDay)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// UpdateSettings checks the patch (ErrInvalid naming the field; nothing is
// stored) and merges it into the tenant's stored settings with the store's
// compare-and-set, so a concurrent change of another field is not lost.
// It returns the settings as stored.
func (s *Service) UpdateSettings(ctx context.Context, tenantID string, p SettingsPatch) (migration.Settings, error) {
	if err := p.Validate(); err != nil {
		return migration.Settings{}, err
	}
	st, err := s.db.UpdateSettings(ctx, tenantID, p.apply)
	if errors.Is(err, store.ErrNotFound) {
		return st, notFound("tenant", "tenant %s not found", quote(tenantID))
	} else if err != nil {
		return st, internal("store settings", err)
	}
	return st, nil
}
