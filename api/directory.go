package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// PutUserRequest is the body of PUT /v1/tenants/{tenant}/users/{user}; the
// service checks it (intake.Service.PutUser).
type PutUserRequest struct {
	DisplayName string                `json:"displayName"`
	Profile     *meetingblock.Profile `json:"profile"`
}

// putUser sets a user's profile directly; the difference from the stored
// one decides, as an event would, whether their meetings are migrated.
func (s *Server) putUser(c *gin.Context) {
	var req PutUserRequest
	if !bind(c, &req) {
		return
	}
	userID := c.Param("user")
	change, err := s.Intake.PutUser(c.Request.Context(), c.Param("tenant"), userID, token(c).Name, req.DisplayName, req.Profile)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := gin.H{"user": userID, "created": change.Created, "triggered": change.Decision.Trigger, "reason": change.Decision.Reason}
	if change.Decision.Trigger {
		out["correlationId"] = change.CorrelationID
	}
	status := http.StatusOK
	if change.Created {
		status = http.StatusCreated
	}
	c.JSON(status, out)
}

// MigrationConfiguration mirrors Get/Set-CsTenantMigrationConfiguration,
// plus the quiet period and the participant limit.
type MigrationConfiguration struct {
	MeetingMigrationEnabled *bool `json:"meetingMigrationEnabled"`
	QuietPeriodSeconds      *int  `json:"quietPeriodSeconds"`
	ParticipantLimit        *int  `json:"participantLimit"`
	// DefaultLanguage is the tenant's default block language ("" clears it).
	DefaultLanguage *string `json:"defaultLanguage,omitempty"`
	// Flood control: left out of a PUT, each keeps its value; null removes
	// the window or a budget (organizerRecipientsPerDay returns to its
	// default, Exchange Online's 10,000).
	MaintenanceWindow         Optional[migration.Window] `json:"maintenanceWindow,omitzero"`
	NotificationBudgetPerHour Optional[int]              `json:"notificationBudgetPerHour,omitzero"`
	OrganizerMeetingsPerHour  Optional[int]              `json:"organizerMeetingsPerHour,omitzero"`
	OrganizerRecipientsPerDay Optional[int]              `json:"organizerRecipientsPerDay,omitzero"`
}

func (m *MigrationConfiguration) validate() error {
	if m.QuietPeriodSeconds != nil && (*m.QuietPeriodSeconds < 0 || *m.QuietPeriodSeconds > 86400) {
		return errors.New("quietPeriodSeconds: must be between 0 and 86400")
	}
	if m.ParticipantLimit != nil && (*m.ParticipantLimit < 1 || *m.ParticipantLimit > 100000) {
		return errors.New("participantLimit: must be between 1 and 100000")
	}
	if m.DefaultLanguage != nil && *m.DefaultLanguage != "" {
		if _, err := meetingblock.ParseLocale(*m.DefaultLanguage); err != nil {
			return fmt.Errorf("defaultLanguage: %v", err)
		}
	}
	// 0 would stop every update for good: the switch says so plainly.
	if m.NotificationBudgetPerHour.Value != nil && *m.NotificationBudgetPerHour.Value < 1 {
		return errors.New("notificationBudgetPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations")
	}
	if m.OrganizerMeetingsPerHour.Value != nil && *m.OrganizerMeetingsPerHour.Value < 1 {
		return errors.New("organizerMeetingsPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations")
	}
	if m.OrganizerRecipientsPerDay.Value != nil && *m.OrganizerRecipientsPerDay.Value < 1 {
		return errors.New("organizerRecipientsPerDay: must be at least 1; use meetingMigrationEnabled to stop migrations")
	}
	if m.MaintenanceWindow.Value != nil {
		if err := m.MaintenanceWindow.Value.Validate(); err != nil {
			return fmt.Errorf("maintenanceWindow.%w", err)
		}
	}
	return nil
}

// Optional is a PUT field that may be left out (keep), null (remove) or set.
type Optional[T any] struct {
	Set   bool // present in the body, null included
	Value *T   // nil: null
}

// Set returns an Optional holding v.
func Set[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

// MarshalJSON writes null or the value; left out (omitzero) when not Set.
func (o Optional[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.Value) }

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

// FloodControlView is how the settings show flood control: a window or
// budget that is not set is left out.
type FloodControlView struct {
	MaintenanceWindow         *migration.Window `json:"maintenanceWindow,omitempty"`
	NotificationBudgetPerHour *int              `json:"notificationBudgetPerHour,omitempty"`
	OrganizerMeetingsPerHour  *int              `json:"organizerMeetingsPerHour,omitempty"`
	OrganizerRecipientsPerDay int               `json:"organizerRecipientsPerDay"`
}

// MigrationConfigurationView is the answer of GET and PUT migration-configuration.
// The pointers are always set but DefaultLanguage's (left out when unset).
type MigrationConfigurationView struct {
	MeetingMigrationEnabled *bool   `json:"meetingMigrationEnabled"`
	QuietPeriodSeconds      *int    `json:"quietPeriodSeconds"`
	ParticipantLimit        *int    `json:"participantLimit"`
	DefaultLanguage         *string `json:"defaultLanguage,omitempty"`
	FloodControlView
}

// DialInConferencingSettings mirrors the migration switches of
// Get/Set-CsOnlineDialInConferencingTenantSettings.
type DialInConferencingSettings struct {
	AutomaticallyMigrateUserMeetings *bool `json:"automaticallyMigrateUserMeetings"`
	AutomaticallyReplaceAcpProvider  *bool `json:"automaticallyReplaceAcpProvider"`
}

func (*DialInConferencingSettings) validate() error { return nil }

// migrationConfiguration is the tenant's MigrationConfiguration; an unset
// default language is left out, as before the setting existed.
func migrationConfiguration(ts *migration.Settings) MigrationConfigurationView {
	mc := MigrationConfigurationView{MeetingMigrationEnabled: &ts.MeetingMigrationEnabled,
		QuietPeriodSeconds: &ts.QuietPeriodSeconds, ParticipantLimit: &ts.ParticipantLimit,
		FloodControlView: FloodControlView{MaintenanceWindow: ts.MaintenanceWindow,
			OrganizerRecipientsPerDay: ts.OrganizerRecipientsPerDay}}
	if ts.DefaultLanguage != "" {
		mc.DefaultLanguage = &ts.DefaultLanguage
	}
	if ts.NotificationBudgetPerHour > 0 {
		mc.NotificationBudgetPerHour = &ts.NotificationBudgetPerHour
	}
	if ts.OrganizerMeetingsPerHour > 0 {
		mc.OrganizerMeetingsPerHour = &ts.OrganizerMeetingsPerHour
	}
	return mc
}

func (s *Server) getMigrationConfiguration(c *gin.Context) {
	s.withSettings(c, false, func(ts *migration.Settings) any {
		return migrationConfiguration(ts)
	})
}

func (s *Server) putMigrationConfiguration(c *gin.Context) {
	var req MigrationConfiguration
	if !bindJSON(c, &req) {
		return
	}
	s.withSettings(c, true, func(ts *migration.Settings) any {
		set(&ts.MeetingMigrationEnabled, req.MeetingMigrationEnabled)
		set(&ts.QuietPeriodSeconds, req.QuietPeriodSeconds)
		set(&ts.ParticipantLimit, req.ParticipantLimit)
		set(&ts.DefaultLanguage, req.DefaultLanguage)
		req.MaintenanceWindow.applyPtr(&ts.MaintenanceWindow)
		req.NotificationBudgetPerHour.apply(&ts.NotificationBudgetPerHour, 0)
		req.OrganizerMeetingsPerHour.apply(&ts.OrganizerMeetingsPerHour, 0)
		req.OrganizerRecipientsPerDay.apply(&ts.OrganizerRecipientsPerDay, migration.DefaultOrganizerRecipientsPerDay)
		return migrationConfiguration(ts)
	})
}

func (s *Server) getDialInSettings(c *gin.Context) {
	s.withSettings(c, false, func(ts *migration.Settings) any {
		return DialInConferencingSettings{&ts.AutomaticallyMigrateUserMeetings, &ts.AutomaticallyReplaceAcpProvider}
	})
}

func (s *Server) putDialInSettings(c *gin.Context) {
	var req DialInConferencingSettings
	if !bindJSON(c, &req) {
		return
	}
	s.withSettings(c, true, func(ts *migration.Settings) any {
		set(&ts.AutomaticallyMigrateUserMeetings, req.AutomaticallyMigrateUserMeetings)
		set(&ts.AutomaticallyReplaceAcpProvider, req.AutomaticallyReplaceAcpProvider)
		return DialInConferencingSettings{&ts.AutomaticallyMigrateUserMeetings, &ts.AutomaticallyReplaceAcpProvider}
	})
}

// withSettings reads the tenant's settings, lets fn change them (saved when
// write is true; fields left out of a PUT keep their value) and answers
// with fn's view of them. A write is a compare-and-set in the store, so a
// concurrent PUT of another field is not lost.
func (s *Server) withSettings(c *gin.Context, write bool, fn func(*migration.Settings) any) {
	ctx := c.Request.Context()
	if !write {
		t, err := s.DB.Tenant(ctx, c.Param("tenant"))
		if err != nil {
			s.internal(c, "tenant lookup", err)
			return
		}
		c.JSON(http.StatusOK, fn(&t.Settings))
		return
	}
	var view any
	if _, err := s.DB.UpdateSettings(ctx, c.Param("tenant"), func(st *migration.Settings) { view = fn(st) }); err != nil {
		s.internal(c, "store settings", err)
		return
	}
	c.JSON(http.StatusOK, view)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
