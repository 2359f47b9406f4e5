package migration

// Settings are a tenant's switches, as Set-CsTenantMigrationConfiguration
// and Set-CsOnlineDialInConferencingTenantSettings name them, plus mms's own
// knobs. Defaults follow docs/DOMAIN.md.
type Settings struct {
	MeetingMigrationEnabled          bool `json:"meetingMigrationEnabled"`
	AutomaticallyMigrateUserMeetings bool `json:"automaticallyMigrateUserMeetings"`
	AutomaticallyReplaceAcpProvider  bool `json:"automaticallyReplaceAcpProvider"`
	// QuietPeriodSeconds merges a burst of changes into one run.
	QuietPeriodSeconds int `json:"quietPeriodSeconds"`
	// ParticipantLimit: meetings with more participants (organizer included) are skipped.
	ParticipantLimit int `json:"participantLimit"`
	// DefaultLanguage (BCP 47) renders the blocks of organizers whose
	// profile has no locale and whose old block names no language mms has
	// a catalog for; empty means en-US.
	DefaultLanguage string `json:"defaultLanguage,omitempty"`

	// Flood control (docs/WORKFLOWS.md, "Flood control"): a maintenance
	// window outside which no update is sent, and budgets; nil and 0 mean
	// none. OrganizerRecipientsPerDay defaults to Exchange Online's limit.
	MaintenanceWindow         *Window `json:"maintenanceWindow,omitempty"`
	NotificationBudgetPerHour int     `json:"notificationBudgetPerHour,omitempty"`
	OrganizerMeetingsPerHour  int     `json:"organizerMeetingsPerHour,omitempty"`
	OrganizerRecipientsPerDay int     `json:"organizerRecipientsPerDay,omitempty"`
}

// DefaultSettings are the settings of a new tenant.
func DefaultSettings() Settings {
	return Settings{
		MeetingMigrationEnabled:          true,
		AutomaticallyMigrateUserMeetings: true,
		AutomaticallyReplaceAcpProvider:  false,
		QuietPeriodSeconds:               600,
		ParticipantLimit:                 250,
		OrganizerRecipientsPerDay:        DefaultOrganizerRecipientsPerDay,
	}
}

// NotRunDisabled is why an automatic run is refused when it begins: the
// tenant turned MeetingMigrationEnabled off after it was triggered.
const NotRunDisabled = "not run: meeting migration is turned off for the tenant"
