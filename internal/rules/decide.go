package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// Decision says whether a change triggers a migration and why. Reason is a
// short, stable phrase for the status record; a non-trigger's reason starts
// with "ignored: ". The meeting types are set only when Trigger is true.
type Decision struct {
	Trigger           bool             `json:"trigger"`
	Reason            string           `json:"reason"`
	SourceMeetingType migration.Source `json:"sourceMeetingType,omitempty"`
	TargetMeetingType migration.Target `json:"targetMeetingType,omitempty"`
}

// MigrationType is the type the status record shows (SfbToTeams, ...).
func (d Decision) MigrationType() migration.Type {
	if !d.Trigger {
		return ""
	}
	return migration.TypeOf(d.SourceMeetingType, d.TargetMeetingType)
}

// Stable reasons of non-triggers (the status record shows them).
const (
	ReasonDisabled         = "ignored: migration disabled for the tenant"
	ReasonAutoMigrateOff   = "ignored: AutomaticallyMigrateUserMeetings is off"
	ReasonAcpKept          = "ignored: third-party provider kept (AutomaticallyReplaceAcpProvider is off)"
	ReasonThirdParty       = "ignored: third-party audio conferencing meetings are not migrated"
	ReasonUnchanged        = "ignored: the user's meeting block does not change"
	ReasonTenantUpgrade    = "ignored: tenant-wide Teams upgrades do not migrate meetings"
	ReasonSIPAddress       = "ignored: SIP address changes do not affect meeting blocks"
	ReasonTenantURL        = "ignored: tenant meeting URL changes do not affect meeting blocks"
	ReasonOnPremises       = "ignored: moves from online back to on-premises are not supported"
	ReasonNoMigrateToTeams = "ignored: Teams upgrade granted with MigrateMeetingsToTeams false"
)

func ignored(why string) Decision { return Decision{Reason: "ignored: " + why} }

// Decide decides whether the event triggers a migration of the meetings of
// the user whose profile before the event is before. Bridge events are
// decided per user of the fan-out (see AffectedByBridge). Manual starts are
// not events: they bypass the switches and never come here.
//
// Reasons that hold whatever the switches say come first, then the
// switches, so the admin reads the most specific cause.
func Decide(e Event, before meetingblock.Profile, s migration.Settings) Decision {
	if err := e.Validate(); err != nil {
		return ignored("invalid event: " + err.Error())
	}
	switch e.Type {
	case SIPAddressChanged:
		return Decision{Reason: ReasonSIPAddress}
	case TenantMeetingURLChanged:
		return Decision{Reason: ReasonTenantURL}
	case TenantTeamsUpgradeGranted:
		return Decision{Reason: ReasonTenantUpgrade}
	case UserMovedOnPremises:
		return Decision{Reason: ReasonOnPremises}
	case TeamsUpgradeGranted:
		if !meetingMode(e.Mode) {
			return ignored("Teams upgrade mode " + e.Mode + " keeps Skype meetings")
		}
		if !e.MigrateMeetingsToTeams {
			return Decision{Reason: ReasonNoMigrateToTeams}
		}
	case BridgeNumberChanged, BridgeNumberUnassigned:
		if before.BridgeID != e.BridgeID {
			return ignored("user is not on bridge " + e.BridgeID)
		}
		if !sameNumber(before.TollNumber, e.OldNumber) &&
			!slices.ContainsFunc(before.TollFreeNumbers, func(n string) bool { return sameNumber(n, e.OldNumber) }) {
			return ignored("the user's invitations do not show number " + e.OldNumber)
		}
	}
	after, err := Apply(before, e, s)
	if err != nil {
		return ignored("event does not fit the user's profile: " + err.Error())
	}
	switch {
	case !s.MeetingMigrationEnabled:
		return Decision{Reason: ReasonDisabled}
	case e.Type.audioConferencing() && !s.AutomaticallyMigrateUserMeetings:
		return Decision{Reason: ReasonAutoMigrateOff}
	case e.Type == LicenceAssigned && after.Provider == meetingblock.ProviderThirdParty:
		return Decision{Reason: ReasonAcpKept}
	case after.Provider == meetingblock.ProviderThirdParty:
		return Decision{Reason: ReasonThirdParty}
	case e.Type.audioConferencing() && len(changedFields(before, after)) == 0:
		return Decision{Reason: ReasonUnchanged}
	}
	d := Decision{Trigger: true, Reason: triggerReason(e, before),
		SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent}
	if e.Type == TeamsUpgradeGranted {
		// Skype meetings become Teams meetings; Teams ones are left alone.
		d.SourceMeetingType, d.TargetMeetingType = migration.SourceSfB, migration.TargetTeams
	}
	return d
}

func triggerReason(e Event, before meetingblock.Profile) string {
	switch e.Type {
	case UserMovedOnline:
		return "user moved to online"
	case LicenceAssigned:
		if before.Provider == meetingblock.ProviderThirdParty {
			return "Audio Conferencing licence assigned: third-party provider replaced by Microsoft"
		}
		return "Audio Conferencing licence assigned"
	case LicenceRemoved:
		return "Audio Conferencing licence removed"
	case DialInEnabled:
		return "dial-in enabled"
	case DialInDisabled:
		return "dial-in disabled"
	case ConferenceIDChanged:
		return "conference ID changed"
	case ConferenceIDReset:
		return "conference ID reset"
	case UserMovedToBridge:
		return "moved to bridge " + e.BridgeID
	case BridgeNumberChanged:
		return fmt.Sprintf("bridge %s: number %s changed to %s", e.BridgeID, e.OldNumber, e.NewNumber)
	case BridgeNumberUnassigned:
		return fmt.Sprintf("bridge %s: number %s unassigned", e.BridgeID, e.OldNumber)
	case ProviderSwitchedToMicrosoft:
		return "audio conferencing provider switched to Microsoft"
	case TeamsUpgradeGranted:
		return "Teams upgrade granted (" + e.Mode + ")"
	}
	return string(e.Type)
}

// acFields are the profile fields that belong to audio conferencing
// (AutomaticallyMigrateUserMeetings governs their changes).
var acFields = []string{"conferenceId", "tollNumber", "tollFreeNumbers", "dialInUrl", "provider", "bridgeId"}

// changedFields lists, by JSON name, the profile fields whose change makes
// existing blocks wrong. Locale, per-meeting extras (meetingId, passcode,
// meetingOptionsUrl: they come with joinUrl) and help links do not.
func changedFields(a, b meetingblock.Profile) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(a.MeetingType != b.MeetingType, "meetingType")
	add(a.JoinURL != b.JoinURL, "joinUrl")
	add(a.ConferenceID != b.ConferenceID, "conferenceId")
	add(a.TollNumber != b.TollNumber, "tollNumber")
	add(!slices.Equal(a.TollFreeNumbers, b.TollFreeNumbers), "tollFreeNumbers")
	add(a.DialInURL != b.DialInURL, "dialInUrl")
	add(provider(a) != provider(b), "provider")
	add(a.BridgeID != b.BridgeID, "bridgeId")
	return out
}

// provider treats an empty provider as Microsoft, as rendering does.
func provider(p meetingblock.Profile) string {
	if p.Provider == "" {
		return meetingblock.ProviderMicrosoft
	}
	return p.Provider
}

// DecideProfileChange decides a direct replacement of the user's profile
// (PUT): it triggers when a field the blocks show changed. A change of
// meetingType from SfB to Teams is a Teams upgrade (not governed by
// AutomaticallyMigrateUserMeetings) and converts Skype meetings; a joinUrl
// change is a move of the user's meetings, also not governed by it.
func DecideProfileChange(before, after meetingblock.Profile, s migration.Settings) Decision {
	changed := changedFields(before, after)
	isAC := func(f string) bool { return slices.Contains(acFields, f) }
	var counted []string // the changes that may trigger under the switches
	for _, f := range changed {
		if !isAC(f) || s.AutomaticallyMigrateUserMeetings {
			counted = append(counted, f)
		}
	}
	toTeams := before.MeetingType != string(meetingblock.KindTeams) && after.MeetingType == string(meetingblock.KindTeams)
	switch {
	case len(changed) == 0:
		return Decision{Reason: ReasonUnchanged}
	case !s.MeetingMigrationEnabled:
		return Decision{Reason: ReasonDisabled}
	case before.MeetingType == string(meetingblock.KindTeams) && after.MeetingType == string(meetingblock.KindSfB):
		return ignored("meetings are not converted from Teams back to Skype for Business")
	case after.Provider == meetingblock.ProviderThirdParty:
		return Decision{Reason: ReasonThirdParty}
	case len(counted) == 0:
		return Decision{Reason: ReasonAutoMigrateOff}
	}
	d := Decision{Trigger: true, Reason: "profile changed: " + strings.Join(counted, ", "),
		SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent}
	if toTeams {
		d.TargetMeetingType = migration.TargetTeams
		if !slices.ContainsFunc(counted, isAC) {
			// Only the conversion counts: Teams meetings are left alone.
			d.SourceMeetingType = migration.SourceSfB
		}
	}
	return d
}

// UserProfile is one user of a bridge fan-out.
type UserProfile struct {
	User    string               `json:"user"`
	Profile meetingblock.Profile `json:"profile"`
}

// AffectedByBridge returns, in input order, the users on the bridge: a
// change of the bridge's numbers concerns exactly them. Decide then decides
// each one (a user whose invitations do not show the number is ignored).
func AffectedByBridge(bridgeID string, users []UserProfile) []string {
	var out []string
	for _, u := range users {
		if bridgeID != "" && u.Profile.BridgeID == bridgeID {
			out = append(out, u.User)
		}
	}
	return out
}

// MovesToMicrosoft reports the events after which the user's audio
// conferencing is Microsoft's even if it was a third party's: their run may
// replace the third party's blocks (AutomaticallyReplaceAcpProvider).
func (t EventType) MovesToMicrosoft() bool {
	return t == LicenceAssigned || t == ProviderSwitchedToMicrosoft
}

// TenantWide reports the events that name no user (see tenantWide).
func (t EventType) TenantWide() bool { return t.tenantWide() }
