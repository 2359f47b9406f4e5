package migration

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Trigger asks for a migration of a user's meetings. It is the payload of
// the workflow's "trigger" signal (docs/WORKFLOWS.md): its JSON is a public
// contract, and fields are only ever added, each optional, so that a
// payload written before a field existed keeps its meaning.
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
	// Manual marks an admin's own request (a start, a retry of failures):
	// like Start-CsExMeetingMigration it runs whatever the tenant's
	// automatic switches say. Every other trigger is automatic, and its run
	// is refused when MeetingMigrationEnabled is off when it begins.
	Manual bool `json:"manual,omitempty"`
	// ReplaceThirdParty says the user's audio conferencing moved from a
	// third party (ACP) to Microsoft: with AutomaticallyReplaceAcpProvider
	// on, the run replaces the third party's blocks with Microsoft's.
	ReplaceThirdParty bool `json:"replaceThirdParty,omitempty"`
	// Event is the change the trigger announces, as POSTed to the events
	// API (its "user" may be left out: it is the workflow's). The run
	// applies it to the directory first, through the same decision and
	// compare-and-set as the API, so an upstream system that signals the
	// workflow directly changes coordinates without a separate call. It is
	// raw JSON here: the rules that read it are not this package's words.
	Event json.RawMessage `json:"event,omitempty"`
	// Recorded is the correlation ID of the Pending record the mms API
	// opened for the trigger. Upstream callers leave it empty: the
	// workflow then opens (or joins) the user's Pending record itself.
	Recorded string `json:"recorded,omitempty"`
}

// Validate checks the fields a run acts on; the error names the JSON field.
func (t Trigger) Validate() error {
	if t.SourceMeetingType != "" {
		if _, err := ParseSource(string(t.SourceMeetingType)); err != nil {
			return err
		}
	}
	if t.TargetMeetingType != "" {
		if _, err := ParseTarget(string(t.TargetMeetingType)); err != nil {
			return err
		}
	}
	if t.QuietPeriodSeconds < 0 {
		return fmt.Errorf("quietPeriodSeconds: must not be negative, not %d", t.QuietPeriodSeconds)
	}
	return nil
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
	// Manual: at least one trigger is an admin's own (see Trigger.Manual).
	Manual bool
	// ReplaceThirdParty: some trigger moved the user from a third party to
	// Microsoft (see Trigger.ReplaceThirdParty).
	ReplaceThirdParty bool
	// Merged lists every merged trigger, for the record's LastMessage; ""
	// for a single trigger.
	Merged string
}

// Type is the migration type the selection's record shows.
func (s Selection) Type() Type { return TypeOf(s.Source, s.Target) }

// Merge folds triggers into one run's selection by what each asks for, not
// by its order, so no trigger's intent is lost to a later one:
//   - the target is Teams if any trigger asks for Teams (a conversion
//     cannot be undone by a later "keep the kind");
//   - the sources widen to their union (All absorbs; SfB and Teams make All);
//   - coordinates always apply: every run renders the directory's current
//     profile, so a coordinates change merged with anything is carried.
//
// For one trigger it gives what the API records, so the record and the run
// describe it alike.
func Merge(ts ...Trigger) Selection {
	s := Selection{RetryFailedOf: ts[len(ts)-1].RetryFailedOf}
	for i, t := range ts {
		if t.RetryFailedOf == "" {
			s.RetryFailedOf = "" // a full run covers the failed meetings too
		}
		src := t.SourceMeetingType
		if src == "" {
			src = SourceAll
		}
		if i == 0 {
			s.Source = src
		} else {
			s.Source = WidenSource(s.Source, src)
		}
		if t.TargetMeetingType == TargetTeams {
			s.Target = TargetTeams
		}
		s.Manual = s.Manual || t.Manual
		s.ReplaceThirdParty = s.ReplaceThirdParty || t.ReplaceThirdParty
	}
	if s.Target == "" {
		s.Target = TargetCurrent
	}
	s.Reason, s.Merged = describeMerged(ts)
	return s
}

// MergeLatest is the merge of workflow histories recorded before Merge went
// by meaning: the latest trigger's meeting types win. Only the workflow's
// replay of those histories calls it.
func MergeLatest(ts ...Trigger) Selection {
	s := Selection{Source: SourceAll, Target: TargetCurrent, RetryFailedOf: ts[len(ts)-1].RetryFailedOf}
	for _, t := range ts {
		if t.RetryFailedOf == "" {
			s.RetryFailedOf = ""
		}
		if t.SourceMeetingType != "" {
			s.Source = t.SourceMeetingType
		}
		if t.TargetMeetingType != "" {
			s.Target = t.TargetMeetingType
		}
	}
	s.Reason, _ = describeMerged(ts)
	return s
}

// WidenSource is the union of two selections of meetings.
func WidenSource(a, b Source) Source {
	if a == b {
		return a
	}
	return SourceAll // All absorbs, and SfB with Teams is every meeting
}

// describeMerged names the latest trigger (the record's LastTrigger, as it
// always was) and lists them all when there are several.
func describeMerged(ts []Trigger) (reason, merged string) {
	reason = ts[len(ts)-1].Describe()
	if len(ts) == 1 {
		return reason, ""
	}
	reason += " (+" + strconv.Itoa(len(ts)-1) + " merged)"
	all := make([]string, len(ts))
	for i, t := range ts {
		all[i] = t.Describe()
	}
	return reason, MergedMessage(len(all), strings.Join(all, "; "))
}

const mergedSep = " triggers merged: "

// MergedMessage is the record's LastMessage for a run that serves n
// triggers, listed "a; b; c".
func MergedMessage(n int, list string) string { return strconv.Itoa(n) + mergedSep + list }

// MergedList is the list of a MergedMessage, and whether msg is one.
func MergedList(msg string) (string, bool) {
	_, list, ok := strings.Cut(msg, mergedSep)
	return list, ok
}
