package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// PutUserRequest is the body of PUT /v1/tenants/{tenant}/users/{user}.
type PutUserRequest struct {
	DisplayName string                `json:"displayName"`
	Profile     *meetingblock.Profile `json:"profile"`
}

func (r *PutUserRequest) validate() error {
	if r.Profile == nil {
		return errors.New("profile: required")
	}
	if len(r.DisplayName) > 256 {
		return errors.New("displayName: at most 256 characters")
	}
	if err := r.Profile.Validate(); err != nil {
		return errors.New("profile." + err.Error())
	}
	return nil
}

// putUser sets a user's profile directly; the difference from the stored
// one decides, as an event would, whether their meetings are migrated.
func (s *Server) putUser(c *gin.Context) {
	var req PutUserRequest
	if !bindJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	tenantID, userID := c.Param("tenant"), c.Param("user")
	tenant, err := s.DB.Tenant(ctx, tenantID)
	if err != nil {
		s.internal(c, "tenant lookup", err)
		return
	}
	raw, err := json.Marshal(req.Profile)
	if err != nil {
		s.internal(c, "encode profile", err)
		return
	}
	var decision rules.Decision
	var created bool
	for attempt := 1; ; attempt++ {
		decision, created, err = s.replaceUser(ctx, tenant, userID, req.DisplayName, *req.Profile, raw)
		if !errors.Is(err, store.ErrConflict) || attempt == maxDecideAttempts {
			break
		}
	}
	if err != nil {
		s.internal(c, "store user", err)
		return
	}
	out := gin.H{"user": userID, "created": created, "triggered": decision.Trigger, "reason": decision.Reason}
	if decision.Trigger {
		rec, err := s.handOff(ctx, tenantID, userID, migration.Trigger{Reason: "profile set: " + decision.Reason,
			RequestedBy: token(c).Name, SourceMeetingType: decision.SourceMeetingType,
			TargetMeetingType: decision.TargetMeetingType, QuietPeriodSeconds: tenant.Settings.QuietPeriodSeconds})
		if err != nil {
			abort(c, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
		out["correlationId"] = rec.CorrelationID
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, out)
}

// replaceUser decides the profile change against the stored profile and
// stores the new one only if that is still the stored one (ErrConflict
// otherwise: read again and re-decide).
func (s *Server) replaceUser(ctx context.Context, tenant store.Tenant, userID, name string, p meetingblock.Profile, raw json.RawMessage) (rules.Decision, bool, error) {
	decision := rules.Decision{Reason: "ignored: a new user has no meetings with an old block"}
	old, err := s.DB.User(ctx, tenant.ID, userID)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		return decision, false, err
	}
	var before json.RawMessage
	if !created {
		before = old.Profile
		var prev meetingblock.Profile
		if json.Unmarshal(old.Profile, &prev) == nil {
			decision = rules.DecideProfileChange(prev, p, tenant.Settings)
		}
		if name == "" {
			name = old.DisplayName
		}
	}
	err = s.DB.ReplaceUser(ctx, store.User{TenantID: tenant.ID, ID: userID, DisplayName: name, Profile: raw}, before)
	return decision, created, err
}

// MigrationConfiguration mirrors Get/Set-CsTenantMigrationConfiguration,
// plus the quiet period and the participant limit.
type MigrationConfiguration struct {
	MeetingMigrationEnabled *bool `json:"meetingMigrationEnabled"`
	QuietPeriodSeconds      *int  `json:"quietPeriodSeconds"`
	ParticipantLimit        *int  `json:"participantLimit"`
}

func (m *MigrationConfiguration) validate() error {
	if m.QuietPeriodSeconds != nil && (*m.QuietPeriodSeconds < 0 || *m.QuietPeriodSeconds > 86400) {
		return errors.New("quietPeriodSeconds: must be between 0 and 86400")
	}
	if m.ParticipantLimit != nil && (*m.ParticipantLimit < 1 || *m.ParticipantLimit > 100000) {
		return errors.New("participantLimit: must be between 1 and 100000")
	}
	return nil
}

// DialInConferencingSettings mirrors the migration switches of
// Get/Set-CsOnlineDialInConferencingTenantSettings.
type DialInConferencingSettings struct {
	AutomaticallyMigrateUserMeetings *bool `json:"automaticallyMigrateUserMeetings"`
	AutomaticallyReplaceAcpProvider  *bool `json:"automaticallyReplaceAcpProvider"`
}

func (*DialInConferencingSettings) validate() error { return nil }

func (s *Server) getMigrationConfiguration(c *gin.Context) {
	s.withSettings(c, false, func(ts *migration.Settings) any {
		return MigrationConfiguration{&ts.MeetingMigrationEnabled, &ts.QuietPeriodSeconds, &ts.ParticipantLimit}
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
		return MigrationConfiguration{&ts.MeetingMigrationEnabled, &ts.QuietPeriodSeconds, &ts.ParticipantLimit}
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
// with fn's view of them.
func (s *Server) withSettings(c *gin.Context, write bool, fn func(*migration.Settings) any) {
	ctx := c.Request.Context()
	t, err := s.DB.Tenant(ctx, c.Param("tenant"))
	if err != nil {
		s.internal(c, "tenant lookup", err)
		return
	}
	view := fn(&t.Settings)
	if write {
		if err := s.DB.PutTenant(ctx, t); err != nil {
			s.internal(c, "store settings", err)
			return
		}
	}
	c.JSON(http.StatusOK, view)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
