package intake

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// MaxDisplayName bounds a user's display name.
const MaxDisplayName = 256

// UserChange is what PutUser did.
type UserChange struct {
	Created bool // the user was not in the directory
	// Decision on the difference from the stored profile: whether it
	// triggered a migration, and why.
	Decision rules.Decision
	// CorrelationID of the migration the change started or joined, when it
	// triggered one.
	CorrelationID string
}

// PutUser sets a user's profile directly (and the display name, unless
// empty); the difference from the stored profile decides, as an event would,
// whether their meetings are migrated. Errors: ErrInvalid, ErrNotFound (the
// tenant), ErrUnavailable (the profile is stored; the migration is not
// started: setting the same profile again decides nothing new, so start it).
func (s *Service) PutUser(ctx context.Context, tenantID, userID, requester, displayName string, profile *meetingblock.Profile) (UserChange, error) {
	userID, err := canonicalUser("user", userID)
	if err != nil {
		return UserChange{}, err
	}
	switch {
	case profile == nil:
		return UserChange{}, invalid("profile", "required")
	case len(displayName) > MaxDisplayName:
		return UserChange{}, invalid("displayName", "at most %d characters", MaxDisplayName)
	case strings.IndexFunc(displayName, unicode.IsControl) >= 0:
		// A name is shown in tables, CSV and the console: a control
		// character there only ever hides or forges what is shown.
		return UserChange{}, invalid("displayName", "must be printable: no control characters")
	}
	if err := profile.Validate(); err != nil {
		return UserChange{}, invalidErr("profile", errors.New("profile."+err.Error()))
	}
	tenant, err := s.tenant(ctx, tenantID)
	if err != nil {
		return UserChange{}, err
	}
	raw, err := json.Marshal(profile)
	if err != nil {
		return UserChange{}, internal("encode profile", err)
	}
	change, err := untilStored(func() (UserChange, error) {
		return s.replaceUser(ctx, tenant, userID, displayName, *profile, raw)
	})
	if err != nil {
		return UserChange{}, internal("store user", err)
	}
	if change.Decision.Trigger {
		rec, err := s.handOff(ctx, tenantID, userID, migration.Trigger{Reason: "profile set: " + change.Decision.Reason,
			RequestedBy: requester, SourceMeetingType: change.Decision.SourceMeetingType,
			TargetMeetingType: change.Decision.TargetMeetingType, QuietPeriodSeconds: tenant.Settings.QuietPeriodSeconds})
		if err != nil {
			return UserChange{}, err
		}
		change.CorrelationID = rec.CorrelationID
	}
	return change, nil
}

// replaceUser decides the profile change against the stored profile and
// stores the new one only if that is still the stored one (ErrConflict
// otherwise, for untilStored to read again and re-decide).
func (s *Service) replaceUser(ctx context.Context, tenant store.Tenant, userID, name string, p meetingblock.Profile, raw json.RawMessage) (UserChange, error) {
	change := UserChange{Decision: rules.Decision{Reason: "ignored: a new user has no meetings with an old block"}}
	old, err := s.db.User(ctx, tenant.ID, userID)
	change.Created = errors.Is(err, store.ErrNotFound)
	if err != nil && !change.Created {
		return change, err
	}
	var before json.RawMessage
	if !change.Created {
		before = old.Profile
		var prev meetingblock.Profile
		if json.Unmarshal(old.Profile, &prev) == nil {
			change.Decision = rules.DecideProfileChange(prev, p, tenant.Settings)
		}
		if name == "" {
			name = old.DisplayName
		}
	}
	err = s.db.ReplaceUser(ctx, store.User{TenantID: tenant.ID, ID: userID, DisplayName: name, Profile: raw}, before)
	return change, err
}
