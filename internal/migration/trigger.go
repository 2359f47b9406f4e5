package migration

import "strconv"

// Trigger asks for a migration of a user's meetings. It is the payload of
// the workflow's "trigger" signal (docs/WORKFLOWS.md): its JSON is a public
// contract.
type Trigger struct {
	// Reason says why, for the status record ("manual", "event: ...").
	Reason string `json:"reason"`
	// RequestedBy names who asked (an admin token's name, a system).
	RequestedBy string `json:"requestedBy,omitempty"`
	// SourceMeetingType selects meetings: All (default), SfB or Teams.
	SourceMeetingType Source `json:"sourceMeetingType,omitempty"`
	// TargetMeetingType: Current (default) keeps each meeting's kind,
	// Teams converts Skype meetings to Teams meetings.
	TargetMeetingType Target `json:"targetMeetingType,omitempty"`
	// QuietPeriodSeconds: the run starts once no trigger has arrived for
	// this long. 0 runs at once.
	QuietPeriodSeconds int `json:"quietPeriodSeconds,omitempty"`
	// RetryFailedOf, a record's correlation ID, re-runs only the meetings
	// that failed in it. Merged with any other trigger, a full run happens.
	RetryFailedOf string `json:"retryFailedOf,omitempty"`
}

// Describe is the trigger as status records show it: the reason and who asked.
func (t Trigger) Describe() string {
	if t.RequestedBy != "" {
		return t.Reason + " by " + t.RequestedBy
	}
	return t.Reason
}

// Selection is what one run does for the triggers it serves.
type Selection struct {
	Source Source
	Target Target
	// Reason describes the triggers for the status record.
	Reason string
	// RetryFailedOf is set when every trigger only retries that record's
	// failed meetings.
	RetryFailedOf string
}

// Type is the migration type the selection's record shows.
func (s Selection) Type() Type { return TypeOf(s.Source, s.Target) }

// Merge folds triggers into one run's selection: the latest trigger's
// meeting types win (the admin's latest intent). For one trigger it gives
// what the API records, so the record and the run describe it alike.
func Merge(ts ...Trigger) Selection {
	s := Selection{Source: SourceAll, Target: TargetCurrent, RetryFailedOf: ts[len(ts)-1].RetryFailedOf}
	for _, t := range ts {
		if t.RetryFailedOf == "" {
			s.RetryFailedOf = "" // a full run covers the failed meetings too
		}
		if t.SourceMeetingType != "" {
			s.Source = t.SourceMeetingType
		}
		if t.TargetMeetingType != "" {
			s.Target = t.TargetMeetingType
		}
	}
	s.Reason = ts[len(ts)-1].Describe()
	if len(ts) > 1 {
		s.Reason += " (+" + strconv.Itoa(len(ts)-1) + " merged)"
	}
	return s
}
