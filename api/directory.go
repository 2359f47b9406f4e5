package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/intake"
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

// patch is the change the PUT asks for; the service checks and applies it.
func (m *MigrationConfiguration) patch() intake.SettingsPatch {
	return intake.SettingsPatch{MeetingMigrationEnabled: m.MeetingMigrationEnabled,
		QuietPeriodSeconds: m.QuietPeriodSeconds, ParticipantLimit: m.ParticipantLimit,
		DefaultLanguage: m.DefaultLanguage, MaintenanceWindow: m.MaintenanceWindow,
		NotificationBudgetPerHour: m.NotificationBudgetPerHour, OrganizerMeetingsPerHour: m.OrganizerMeetingsPerHour,
		OrganizerRecipientsPerDay: m.OrganizerRecipientsPerDay}
}

// Optional is a PUT field that may be left out (keep), null (remove) or
// set: the service's type, under the name the API's clients know.
type Optional[T any] = intake.Optional[T]

// Set returns an Optional holding v.
func Set[T any](v T) Optional[T] { return intake.Set(v) }

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
	withSettings(s, c, migrationConfiguration)
}

func (s *Server) putMigrationConfiguration(c *gin.Context) {
	var req MigrationConfiguration
	if !bind(c, &req) {
		return
	}
	updateSettings(s, c, req.patch(), migrationConfiguration)
}

func (s *Server) getDialInSettings(c *gin.Context) {
	withSettings(s, c, dialInSettings)
}

func dialInSettings(ts *migration.Settings) DialInConferencingSettings {
	return DialInConferencingSettings{&ts.AutomaticallyMigrateUserMeetings, &ts.AutomaticallyReplaceAcpProvider}
}

func (s *Server) putDialInSettings(c *gin.Context) {
	var req DialInConferencingSettings
	if !bind(c, &req) {
		return
	}
	updateSettings(s, c, intake.SettingsPatch{AutomaticallyMigrateUserMeetings: req.AutomaticallyMigrateUserMeetings,
		AutomaticallyReplaceAcpProvider: req.AutomaticallyReplaceAcpProvider}, dialInSettings)
}

// withSettings answers with view of the tenant's settings.
func withSettings[V any](s *Server, c *gin.Context, view func(*migration.Settings) V) {
	t, err := s.DB.Tenant(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		s.internal(c, "tenant lookup", err)
		return
	}
	c.JSON(http.StatusOK, view(&t.Settings))
}

// updateSettings has the service merge the patch into the stored settings
// (fields left out keep their value; a compare-and-set, so a concurrent
// PUT of another field is not lost) and answers with view of the result.
func updateSettings[V any](s *Server, c *gin.Context, p intake.SettingsPatch, view func(*migration.Settings) V) {
	st, err := s.Intake.UpdateSettings(c.Request.Context(), c.Param("tenant"), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view(&st))
}
