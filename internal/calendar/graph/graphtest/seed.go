package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Attendee of a seeded event.
type Attendee struct {
	Address string
	Name    string
	Type    string // required (default), optional, resource
}

// Recurrence is a simple recurrence pattern: daily or weekly with an
// interval, ending after Count occurrences, on the date Until, or never.
type Recurrence struct {
	Type       string // "daily" or "weekly"
	Interval   int    // default 1
	DaysOfWeek []time.Weekday
	Count      int
	Until      time.Time // the last day (a date) an occurrence may start on
}

// Event is a calendar item as a test seeds it.
type Event struct {
	Subject       string
	Organizer     string // address; the mailbox owner when empty
	OrganizerName string
	Attendees     []Attendee
	Start, End    time.Time
	Body          string
	BodyType      string // "html" (default) or "text"
	// Online-meeting metadata an "add online meeting" button stamps.
	IsOnlineMeeting bool
	Provider        string // teamsForBusiness, skypeForBusiness, unknown
	JoinURL         string
	ConferenceID    string
	Recurrence      *Recurrence
}

// EventState is a stored event and its history, for assertions.
type EventState struct {
	Event
	ID             string
	Mailbox        string
	Type           string // singleInstance, seriesMaster, exception
	SeriesMasterID string
	ETag           string
	// ETags lists every etag the event had, oldest first.
	ETags []string
	// Writes counts successful PATCHes.
	Writes int
	// ExtendedProperties by property id.
	ExtendedProperties map[string]string
}

// Notification is a meeting update Graph sent an attendee because the
// organizer's event was patched.
type Notification struct {
	EventID string
	Mailbox string
	From    string
	To      string
	Subject string
	At      time.Time
}

type storedEvent struct {
	ev            Event
	id            string
	mailbox       string
	kind          string
	masterID      string
	originalStart time.Time
	version       int
	etags         []string
	writes        int
	props         map[string]extProp // by lower-case id
	created       time.Time
	modified      time.Time
}

type extProp struct{ id, value string }

func (e *storedEvent) etag() string { return e.etags[len(e.etags)-1] }

// bump records a new version.
func (e *storedEvent) bump(now time.Time) {
	e.version++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", e.id, e.version))
	e.etags = append(e.etags, `W/"DwAAABYAAA`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`)
	e.modified = now
}

func (s *Server) newID() string {
	s.seq++
	u := uuid.New()
	return "AAMkAG" + base64.RawURLEncoding.EncodeToString(append(u[:], byte(s.seq>>8), byte(s.seq)))
}

// AddEvent stores an event in the mailbox's calendar and returns its id. An
// event with a Recurrence is a series master.
func (s *Server) AddEvent(mailbox string, e Event) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(mailbox)
	if u == nil {
		return "", fmt.Errorf("graphtest: no user %q", mailbox)
	}
	if e.Organizer == "" {
		e.Organizer, e.OrganizerName = u.Address, u.DisplayName
	}
	if e.BodyType == "" {
		e.BodyType = "html"
	}
	if !e.End.After(e.Start) {
		return "", errors.New("graphtest: event must end after it starts")
	}
	kind := "singleInstance"
	if e.Recurrence != nil {
		kind = "seriesMaster"
		if e.Recurrence.Type != "daily" && e.Recurrence.Type != "weekly" {
			return "", fmt.Errorf("graphtest: recurrence type %q not emulated", e.Recurrence.Type)
		}
	}
	se := &storedEvent{ev: cloneEvent(e), id: s.newID(), mailbox: u.key(), kind: kind, props: map[string]extProp{}, created: s.now()}
	se.bump(s.now())
	s.events[se.id] = se
	return se.id, nil
}

// AddException replaces the occurrence of a series starting at
// originalStart with an exception edited by edit, and returns its id.
func (s *Server) AddException(masterID string, originalStart time.Time, edit func(*Event)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.events[masterID]
	if m == nil || m.kind != "seriesMaster" {
		return "", fmt.Errorf("graphtest: no series master %q", masterID)
	}
	if !s.isOccurrence(m, originalStart) {
		return "", fmt.Errorf("graphtest: series %q has no occurrence at %s", masterID, originalStart)
	}
	ex := s.materialize(m, originalStart)
	if edit != nil {
		edit(&ex.ev)
		ex.ev.Recurrence = nil
	}
	return ex.id, nil
}

// materialize turns an occurrence into an exception. s.mu held.
func (s *Server) materialize(m *storedEvent, start time.Time) *storedEvent {
	if ex := s.exceptionAt(m, start); ex != nil {
		return ex
	}
	e := cloneEvent(m.ev)
	e.Recurrence = nil
	d := e.End.Sub(e.Start)
	e.Start, e.End = start, start.Add(d)
	ex := &storedEvent{ev: e, id: s.newID(), mailbox: m.mailbox, kind: "exception", masterID: m.id,
		originalStart: start, props: maps.Clone(m.props), created: s.now()}
	ex.bump(s.now())
	s.events[ex.id] = ex
	return ex
}

// EditEvent changes a stored event as its owner would in Outlook (a
// concurrent edit): a new etag, no notification.
func (s *Server) EditEvent(id string, edit func(*Event)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events[id]
	if e == nil {
		return fmt.Errorf("graphtest: no event %q", id)
	}
	edit(&e.ev)
	e.bump(s.now())
	return nil
}

// DeleteEvent removes an event (and a master's exceptions).
func (s *Server) DeleteEvent(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.events {
		if k == id || e.masterID == id {
			delete(s.events, k)
		}
	}
}

// Event returns a stored event's state.
func (s *Server) Event(id string) (EventState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events[id]
	if e == nil {
		return EventState{}, false
	}
	st := EventState{Event: cloneEvent(e.ev), ID: e.id, Mailbox: e.mailbox, Type: e.kind, SeriesMasterID: e.masterID,
		ETag: e.etag(), ETags: append([]string(nil), e.etags...), Writes: e.writes, ExtendedProperties: map[string]string{}}
	for _, p := range e.props {
		st.ExtendedProperties[p.id] = p.value
	}
	return st, true
}

// Events returns the stored events (series masters, exceptions and single
// items; not the occurrences) of a mailbox, ordered by start then id.
func (s *Server) Events(mailbox string) []EventState {
	s.mu.Lock()
	key := s.mailboxKey(mailbox)
	var ids []string
	for id, e := range s.events {
		if e.mailbox == key {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	out := make([]EventState, 0, len(ids))
	for _, id := range ids {
		if st, ok := s.Event(id); ok {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b EventState) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Notifications returns every update notification sent so far.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.notifications...)
}

// NotificationCount counts the notifications sent for one event ("" : all).
func (s *Server) NotificationCount(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if eventID == "" {
		return len(s.notifications)
	}
	n := 0
	for _, x := range s.notifications {
		if x.EventID == eventID {
			n++
		}
	}
	return n
}

func cloneEvent(e Event) Event {
	e.Attendees = append([]Attendee(nil), e.Attendees...)
	if e.Recurrence != nil {
		r := *e.Recurrence
		r.DaysOfWeek = append([]time.Weekday(nil), r.DaysOfWeek...)
		e.Recurrence = &r
	}
	return e
}
