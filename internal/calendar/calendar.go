// Package calendar defines what the migration needs from a calendar back end
// (the sandbox, Microsoft Graph, CalDAV): list a mailbox's meetings, update a
// meeting's body so its attendees are told, and obtain Teams meetings.
package calendar

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Errors a back end returns so that activities can decide what to retry.
var (
	// ErrConflict: the meeting changed since it was read (etag mismatch).
	// Re-read and re-apply.
	ErrConflict = errors.New("calendar: meeting changed since it was read")
	// ErrNotFound: no such mailbox or meeting.
	ErrNotFound = errors.New("calendar: not found")
	// ErrUnsupported: the back end cannot do this (a CalDAV server cannot
	// create Teams meetings). The meeting is skipped with the reason.
	ErrUnsupported = errors.New("calendar: not supported by this back end")
)

// PermanentError is a refusal that no retry can change (a mailbox the back
// end does not know, credentials the identity platform rejects). A run that
// meets one ends Failed with Message at once instead of retrying for
// minutes.
type PermanentError struct {
	Message string // what the run's record says, with the remedy
	Err     error
}

func (e *PermanentError) Error() string { return e.Message + ": " + e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Item kinds. A series is updated once, at its master; an edited occurrence
// is an exception and is updated on its own.
const (
	KindSingle       = "single"
	KindSeriesMaster = "seriesMaster"
	KindException    = "exception"
)

// Body formats.
const (
	BodyHTML = "html"
	BodyText = "text"
)

// Online meeting providers, as Graph names them.
const (
	ProviderTeams      = "teamsForBusiness"
	ProviderSkype      = "skypeForBusiness"
	ProviderThirdParty = "thirdParty"
)

// Mailbox is a user's calendar home.
type Mailbox struct {
	// ID is how the back end addresses the mailbox in every later call
	// (Graph: the user's object ID, as a mail address may not name it);
	// "" means Address.
	ID          string `json:"id,omitempty"`
	Address     string `json:"address"`
	DisplayName string `json:"displayName"`
	// Online is false for an on-premises mailbox, which cannot be migrated.
	Online bool `json:"online"`
}

// Key is what later calls name the mailbox by.
func (m Mailbox) Key() string {
	if m.ID != "" {
		return m.ID
	}
	return m.Address
}

// Attendee is an invited participant.
type Attendee struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
}

// OnlineMeeting is the metadata an "add online meeting" button stamps on an
// item; a block pasted into an ordinary meeting has none.
type OnlineMeeting struct {
	Provider     string `json:"provider"`
	JoinURL      string `json:"joinUrl,omitempty"`
	ConferenceID string `json:"conferenceId,omitempty"`
	// The meeting's own dial-in, as EnsureTeamsMeeting returns it (Graph's
	// audioConferencing); empty when the meeting has none.
	TollNumber     string `json:"tollNumber,omitempty"`
	TollFreeNumber string `json:"tollFreeNumber,omitempty"`
	DialInURL      string `json:"dialInUrl,omitempty"`
}

// Meeting is one calendar item as the migration sees it.
type Meeting struct {
	ID             string         `json:"id"`
	Subject        string         `json:"subject"`
	Organizer      string         `json:"organizer"`
	IsOrganizer    bool           `json:"isOrganizer"` // the mailbox owner organizes it
	Attendees      []Attendee     `json:"attendees"`
	Start          time.Time      `json:"start"`
	End            time.Time      `json:"end"`
	Kind           string         `json:"kind"`
	SeriesMasterID string         `json:"seriesMasterId,omitempty"`
	Recurrence     string         `json:"recurrence,omitempty"`
	SeriesEnd      time.Time      `json:"seriesEnd,omitzero"` // zero: no end
	Body           string         `json:"body"`
	BodyType       string         `json:"bodyType"`
	OnlineMeeting  *OnlineMeeting `json:"onlineMeeting,omitempty"`
	ETag           string         `json:"etag"`
	// UpdateKey is the idempotency key of the last update this service made
	// to the item (kept with the item: Graph in an extended property,
	// CalDAV in an X- property), so a retried run can tell its own update
	// from one made by an earlier run.
	UpdateKey string `json:"updateKey,omitempty"`
	// Unreadable, when set, is why the item cannot be migrated as read (a
	// time zone neither its own definition nor the CLDR mapping resolves):
	// the meeting fails with it rather than being placed at a wrong time.
	Unreadable string `json:"unreadable,omitempty"`
}

// Participants counts the organizer and the attendees, as the 250 limit
// does: each address once, compared case-insensitively (mail addresses are,
// and a back end may list one attendee twice or spell the organizer in
// another case).
func (m Meeting) Participants() int {
	seen := map[string]bool{strings.ToLower(m.Organizer): true}
	for _, a := range m.Attendees {
		seen[strings.ToLower(a.Address)] = true
	}
	return len(seen)
}

// Page is one page of a listing; NextCursor is "" on the last page.
type Page struct {
	Meetings   []Meeting
	NextCursor string
}

// Update asks a back end to replace a meeting's body and tell its attendees.
type Update struct {
	Mailbox   string
	MeetingID string
	ETag      string // If-Match
	Body      string
	// OnlineMeeting, when set, replaces the item's online-meeting metadata
	// (a conversion to Teams).
	OnlineMeeting *OnlineMeeting
	// IdempotencyKey identifies this change: a back end that sees it again
	// reports the earlier result and sends nothing more.
	IdempotencyKey string
}

// UpdateResult says what an update did.
type UpdateResult struct {
	ETag string
	// InvitesSent is how many attendees were sent the update.
	InvitesSent int
}

// Backend is a calendar system holding the organizers' mailboxes.
type Backend interface {
	// Mailbox returns the user's mailbox, or ErrNotFound.
	Mailbox(ctx context.Context, tenantID, user string) (Mailbox, error)
	// ListMeetings returns the items of a mailbox that overlap [from, to):
	// single meetings, series masters whose series overlaps, and exceptions.
	// Items the user attends but does not organize are included, marked so.
	ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, pageSize int) (Page, error)
	// GetMeeting re-reads one item (after a conflict).
	GetMeeting(ctx context.Context, tenantID, mailbox, id string) (Meeting, error)
	// UpdateMeeting writes the new body and notifies the attendees, once per
	// idempotency key. ErrConflict when the etag no longer matches.
	UpdateMeeting(ctx context.Context, tenantID string, u Update) (UpdateResult, error)
	// EnsureTeamsMeeting returns the Teams meeting for a calendar item,
	// creating it on first call and returning the same one afterwards.
	EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (OnlineMeeting, error)
}

// Counter is implemented by back ends that can count a mailbox's items in a
// window cheaply (the same items ListMeetings returns), so a run can show
// its progress as done / total. Graph cannot count a calendarView, so it
// does not implement it.
type Counter interface {
	CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error)
}

type waitHookKey struct{}

// ContextWithWaitHook returns a context carrying fn, which a back end calls
// while it waits on a rate limit, a Retry-After or (through
// WaitingTransport) an answer, at least every few seconds, so that an
// activity can heartbeat during a long wait instead of being timed out as
// dead. fn may be called from another goroutine.
func ContextWithWaitHook(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, waitHookKey{}, fn)
}

// WaitHook returns the context's wait hook, or one that does nothing.
func WaitHook(ctx context.Context) func() {
	if fn, _ := ctx.Value(waitHookKey{}).(func()); fn != nil {
		return fn
	}
	return func() {}
}
