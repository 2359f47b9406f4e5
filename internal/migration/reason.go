package migration

import (
	"fmt"
	"time"
)

// Reason is the typed cause of a skipped or failed meeting. The code is
// what metrics and filters use; the admin reads the message made beside it,
// so rewording a message never moves a metric.
type Reason string

// Reasons. Each has a metric category (Category) and a message (the
// constructors below); reason_test.go fails when one is missing.
const (
	ReasonNone             Reason = ""                    // updated or up to date
	ReasonNotOrganizer     Reason = "not-organizer"       // the user only attends the meeting
	ReasonPast             Reason = "past"                // a single meeting or exception under way (started, not ended)
	ReasonNotOnline        Reason = "not-online"          // no online-meeting metadata
	ReasonThirdParty       Reason = "third-party"         // an ACP's block or provider
	ReasonParticipantLimit Reason = "participant-limit"   // more participants than the tenant allows
	ReasonSourceNotChosen  Reason = "source-not-selected" // not of the selected source meeting type
	ReasonDeleted          Reason = "deleted"             // deleted while the run worked on it
	ReasonConflict         Reason = "conflict"            // the organizer kept editing it
	ReasonUnsupported      Reason = "unsupported"         // the back end cannot do what the run needs
	ReasonBlockNotReplaced Reason = "block-not-replaced"  // the block engine found nothing it may replace
	ReasonOverBudget       Reason = "over-budget"         // alone it needs more than a flood-control budget allows
)

// Reasons lists every reason but ReasonNone.
var Reasons = []Reason{ReasonNotOrganizer, ReasonPast, ReasonNotOnline, ReasonThirdParty, ReasonParticipantLimit,
	ReasonSourceNotChosen, ReasonDeleted, ReasonConflict, ReasonUnsupported, ReasonBlockNotReplaced, ReasonOverBudget}

// Category is the reason's metrics label: a bounded set of values, never
// free text. "" for ReasonNone and for a value that is not a reason.
func (r Reason) Category() string {
	switch r {
	case ReasonNotOrganizer, ReasonPast, ReasonNotOnline, ReasonThirdParty, ReasonParticipantLimit,
		ReasonSourceNotChosen, ReasonDeleted, ReasonConflict, ReasonUnsupported, ReasonBlockNotReplaced, ReasonOverBudget:
		return string(r)
	}
	return ""
}

// Skip is a meeting's reason with the message the admin reads.
type Skip struct {
	Reason  Reason
	Message string
}

// Messages of the reasons, kept beside their codes.
// Each constructor makes the one message of its reason.

func NotOrganizer(organizer string) Skip {
	return Skip{ReasonNotOrganizer, "not organizer: " + organizer + " organizes this meeting"}
}

// Past is the reason of a single meeting or a series' exception that has
// started before the run but not ended: listings hold only what overlaps
// the run's window, so one that has ended is never listed, and a series
// master (migrated once for its future occurrences) is never past.
func Past(start time.Time) Skip {
	return Skip{ReasonPast, "past meeting: started " + start.Format(time.RFC3339)}
}

func NotOnline() Skip {
	return Skip{ReasonNotOnline, "not created as an online meeting (no online-meeting metadata)"}
}

func ThirdPartyProvider() Skip {
	return Skip{ReasonThirdParty, "third-party audio conferencing provider"}
}

func ParticipantLimit(n, limit int) Skip {
	return Skip{ReasonParticipantLimit, fmt.Sprintf("%d participants, more than the limit of %d", n, limit)}
}

func SourceNotChosen(s Source) Skip {
	return Skip{ReasonSourceNotChosen, "source meeting type not selected (" + string(s) + ")"}
}

func Deleted() Skip { return Skip{ReasonDeleted, "deleted during the migration"} }

// DeletedSinceFailure: a failed meeting to retry is gone.
func DeletedSinceFailure() Skip { return Skip{ReasonDeleted, "deleted since the failure"} }

func Conflict(attempts int, err error) Skip {
	return Skip{ReasonConflict, fmt.Sprintf("still changing after %d attempts: %v", attempts, err)}
}

// Unsupported carries the back end's own words for what it cannot do.
func Unsupported(err error) Skip { return Skip{ReasonUnsupported, err.Error()} }

// BlockNotReplaced carries the block engine's explanation.
func BlockNotReplaced(why string) Skip { return Skip{ReasonBlockNotReplaced, why} }

// ThirdPartyKept: the user moved from a third party to Microsoft, but the
// tenant keeps the third party's blocks; the message names the switch that
// would replace them.
func ThirdPartyKept() Skip {
	return Skip{ReasonThirdParty, "third-party provider block kept: AutomaticallyReplaceAcpProvider is off"}
}

// OverBudget: the meeting alone would send more than a whole period of a
// flood-control budget allows, so waiting cannot help; raising the budget
// (or updating it by hand) can.
func OverBudget(needs int, budget string) Skip {
	return Skip{ReasonOverBudget, fmt.Sprintf("needs %d notifications, more than the %s allows", needs, budget)}
}
