// Package migration holds the domain's words: which meetings a migration
// selects (Source), what it turns them into (Target), the migration type the
// status reports, the states of a status record, the outcome of one meeting
// and the typed reason of a skip or a failure, and the Trigger that asks for
// a run. The names and values are the ones Microsoft's cmdlets use
// (Start-CsExMeetingMigration, Get-CsMeetingMigrationStatus): docs/DOMAIN.md.
//
// It is a leaf: it imports nothing of the project's, and no Temporal, HTTP
// or SQL package, so the pure rules, the workflow, the activities, the store
// and the API all speak the same words without depending on each other.
package migration

import "fmt"

// Source selects the meetings a run migrates (-SourceMeetingType).
type Source string

// Sources, as Start-CsExMeetingMigration names them.
const (
	SourceAll   Source = "All"
	SourceSfB   Source = "SfB"
	SourceTeams Source = "Teams"
)

// Valid reports whether s is one of the named sources ("" is not).
func (s Source) Valid() bool { return s == SourceAll || s == SourceSfB || s == SourceTeams }

// ParseSource accepts a source by name; "" is All, the cmdlet's default.
// The error names the JSON field, for a 400.
func ParseSource(s string) (Source, error) {
	return parse(s, SourceAll, Source.Valid, "sourceMeetingType: must be All, SfB or Teams")
}

// Target says what the selected meetings become (-TargetMeetingType).
type Target string

// Targets, as Start-CsExMeetingMigration names them.
const (
	// TargetCurrent keeps each meeting's kind; only the coordinates change.
	TargetCurrent Target = "Current"
	// TargetTeams turns every meeting (Skype ones included) into a Teams meeting.
	TargetTeams Target = "Teams"
)

// Valid reports whether t is one of the named targets ("" is not).
func (t Target) Valid() bool { return t == TargetCurrent || t == TargetTeams }

// ParseTarget accepts a target by name; "" is Current, the cmdlet's default.
func ParseTarget(s string) (Target, error) {
	return parse(s, TargetCurrent, Target.Valid, "targetMeetingType: must be Current or Teams")
}

// parse reads a cmdlet parameter's value: "" is its default, anything but
// a named value is refused with what the parameter accepts.
func parse[T ~string](s string, def T, valid func(T) bool, accepts string) (T, error) {
	switch {
	case s == "":
		return def, nil
	case !valid(T(s)):
		return "", fmt.Errorf("%s, not %q", accepts, s)
	}
	return T(s), nil
}

// Type is the migration type Get-CsMeetingMigrationStatus reports.
type Type string

// Migration types.
const (
	TypeSfbToTeams   Type = "SfbToTeams"
	TypeTeamsToTeams Type = "TeamsToTeams"
	TypeToSameType   Type = "ToSameType"
	TypeAllToTeams   Type = "AllToTeams"
)

// Types lists every migration type, in the order the status shows them.
var Types = []Type{TypeSfbToTeams, TypeTeamsToTeams, TypeToSameType, TypeAllToTeams}

// TypeOf names what a source and target selection does.
func TypeOf(s Source, t Target) Type {
	if t != TargetTeams {
		return TypeToSameType
	}
	switch s {
	case SourceSfB:
		return TypeSfbToTeams
	case SourceTeams:
		return TypeTeamsToTeams
	}
	return TypeAllToTeams
}

// State is where a user's migration stands.
type State string

// States of a status record, as Get-CsMeetingMigrationStatus names them,
// and Idle, which only the workflow reports (between runs, before it ends).
const (
	StatePending    State = "Pending"
	StateInProgress State = "InProgress"
	StateSucceeded  State = "Succeeded"
	StateFailed     State = "Failed"
	StateIdle       State = "Idle"
)

// States lists every state a record can have, in the order admins read them.
var States = []State{StatePending, StateInProgress, StateFailed, StateSucceeded}

// Outcome is what a run did to one meeting.
type Outcome string

// Per-meeting outcomes.
const (
	OutcomeUpdated  Outcome = "Updated"  // block replaced, attendees notified
	OutcomeUpToDate Outcome = "UpToDate" // block already equal to the target: nothing sent
	OutcomeSkipped  Outcome = "Skipped"  // not selected, with the reason
	OutcomeFailed   Outcome = "Failed"   // could not be updated, with the error
	// OutcomeWouldUpdate: a dry run found the block to replace (see its diff).
	OutcomeWouldUpdate Outcome = "WouldUpdate"
)
