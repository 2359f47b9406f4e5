package graph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openmms/mms/internal/calendar"
)

// event is the part of Graph's event resource the migration reads.
type event struct {
	ETag                  string           `json:"@odata.etag"`
	ID                    string           `json:"id"`
	Subject               string           `json:"subject"`
	Type                  string           `json:"type"`
	SeriesMasterID        string           `json:"seriesMasterId"`
	IsOrganizer           bool             `json:"isOrganizer"`
	Organizer             *recipient       `json:"organizer"`
	Attendees             []recipient      `json:"attendees"`
	Start                 *dateTimeZone    `json:"start"`
	End                   *dateTimeZone    `json:"end"`
	Body                  *itemBody        `json:"body"`
	IsOnlineMeeting       bool             `json:"isOnlineMeeting"`
	OnlineMeetingProvider string           `json:"onlineMeetingProvider"`
	OnlineMeeting         *onlineMeeting   `json:"onlineMeeting"`
	Recurrence            *recurrence      `json:"recurrence"`
	ExtendedProperties    []extendedString `json:"singleValueExtendedProperties"`
}

type recipient struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

type dateTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type onlineMeeting struct {
	JoinURL      string `json:"joinUrl"`
	ConferenceID string `json:"conferenceId"`
}

type extendedString struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type recurrence struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		Month          int      `json:"month"`
		DayOfMonth     int      `json:"dayOfMonth"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
		Index          string   `json:"index"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
	} `json:"range"`
}

// meeting converts a Graph event and remembers what UpdateMeeting needs.
func (b *Backend) meeting(t *tenant, mailbox string, ev event) calendar.Meeting {
	m := calendar.Meeting{
		ID:             ev.ID,
		Subject:        ev.Subject,
		IsOrganizer:    ev.IsOrganizer,
		SeriesMasterID: ev.SeriesMasterID,
		ETag:           ev.ETag,
		BodyType:       calendar.BodyHTML,
	}
	var serr, eerr error
	m.Start, serr = ev.Start.time()
	m.End, eerr = ev.End.time()
	if err := errors.Join(serr, eerr); err != nil {
		m.Unreadable = err.Error()
	}
	own := b.ownerAddresses(t, mailbox)
	if ev.Organizer != nil {
		m.Organizer = ev.Organizer.EmailAddress.Address
		// isOrganizer compares with the calendar owner's primary address;
		// an organizer written with the UPN or a proxy address is the
		// owner too.
		m.IsOrganizer = m.IsOrganizer || slices.Contains(own, strings.ToLower(m.Organizer))
	}
	for _, a := range ev.Attendees {
		m.Attendees = append(m.Attendees, calendar.Attendee{Address: a.EmailAddress.Address, Name: a.EmailAddress.Name})
	}
	switch ev.Type {
	case "seriesMaster":
		m.Kind = calendar.KindSeriesMaster
		m.SeriesMasterID = ""
		m.Recurrence, m.SeriesEnd = ev.Recurrence.rrule()
	case "exception", "occurrence":
		m.Kind = calendar.KindException
	default:
		m.Kind = calendar.KindSingle
	}
	if ev.Body != nil {
		m.Body = ev.Body.Content
		if strings.EqualFold(ev.Body.ContentType, "text") {
			m.BodyType = calendar.BodyText
		}
	}
	if ev.IsOnlineMeeting {
		m.OnlineMeeting = &calendar.OnlineMeeting{Provider: provider(ev.OnlineMeetingProvider)}
		if ev.OnlineMeeting != nil {
			m.OnlineMeeting.JoinURL = ev.OnlineMeeting.JoinURL
			m.OnlineMeeting.ConferenceID = ev.OnlineMeeting.ConferenceID
		}
	}
	for _, p := range ev.ExtendedProperties {
		switch {
		case strings.EqualFold(p.ID, UpdateKeyProperty):
			m.UpdateKey = p.Value
		case strings.EqualFold(p.ID, TeamsJoinURLProperty) && p.Value != "":
			// mms converted this item to a Teams meeting (Graph's own
			// onlineMeeting is read-only and still shows the old one).
			conf := ""
			if m.OnlineMeeting != nil && m.OnlineMeeting.Provider == calendar.ProviderTeams {
				conf = m.OnlineMeeting.ConferenceID
			}
			m.OnlineMeeting = &calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: p.Value, ConferenceID: conf}
		}
	}
	b.remember(t, mailbox, m, ev)
	return m
}

func (b *Backend) remember(t *tenant, mailbox string, m calendar.Meeting, ev event) {
	b.reads.put(cacheKey(t.id, mailbox, m.ID), cachedItem{etag: m.ETag, updateKey: m.UpdateKey,
		invitees: invitees(ev, m.IsOrganizer, b.ownerAddresses(t, mailbox)), subject: m.Subject, start: m.Start, end: m.End})
}

// ownerAddresses are the mailbox owner's addresses this process resolved
// (nil when it did not: Graph's isOrganizer alone decides then).
func (b *Backend) ownerAddresses(t *tenant, mailbox string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.owners[t.id+"\x00"+mailbox]
}

// invitees is how many people Graph sends the update to when the event is
// patched: the attendees other than the organizer, if the mailbox owner
// organizes it (a change to an attendee's copy is sent to nobody).
func invitees(ev event, isOrganizer bool, own []string) int {
	if !isOrganizer {
		return 0
	}
	org := ""
	if ev.Organizer != nil {
		org = ev.Organizer.EmailAddress.Address
	}
	// Each person once: an attendee listed twice gets one message.
	seen := map[string]bool{strings.ToLower(org): true}
	for _, a := range ev.Attendees {
		addr := strings.ToLower(a.EmailAddress.Address)
		if !slices.Contains(own, addr) {
			seen[addr] = true
		}
	}
	return len(seen) - 1
}

// provider maps Graph's onlineMeetingProvider; anything but Teams and
// Skype for Business (skypeForConsumer, unknown) is treated as a third
// party, which the migration does not touch.
func provider(p string) string {
	switch p {
	case "teamsForBusiness":
		return calendar.ProviderTeams
	case "skypeForBusiness":
		return calendar.ProviderSkype
	}
	return calendar.ProviderThirdParty
}

// time parses Graph's dateTimeTimeZone: 7-digit fractions without an
// offset, in timeZone (UTC when we asked for it; otherwise the event's
// originalStartTimeZone, often a Windows name). A zone that neither IANA nor
// the CLDR mapping knows is an error, never UTC.
func (d *dateTimeZone) time() (time.Time, error) {
	if d == nil || d.DateTime == "" {
		return time.Time{}, nil
	}
	loc := time.UTC
	if d.TimeZone != "" && !strings.EqualFold(d.TimeZone, "UTC") {
		l, err := calendar.LoadLocation(d.TimeZone)
		if err != nil {
			return time.Time{}, fmt.Errorf("graph: %w", err)
		}
		loc = l
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("graph: unreadable dateTime %q", d.DateTime)
}

var rruleDays = map[string]string{"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE",
	"thursday": "TH", "friday": "FR", "saturday": "SA"}

var rruleIndex = map[string]string{"first": "1", "second": "2", "third": "3", "fourth": "4", "last": "-1"}

// rrule renders a Graph recurrence as an RFC 5545 RRULE value and the
// series' end (zero when it has none or ends after a count).
func (r *recurrence) rrule() (string, time.Time) {
	if r == nil {
		return "", time.Time{}
	}
	p := r.Pattern
	var parts []string
	days := func(prefix string) string {
		var ds []string
		for _, d := range p.DaysOfWeek {
			if v, ok := rruleDays[strings.ToLower(d)]; ok {
				ds = append(ds, prefix+v)
			}
		}
		return strings.Join(ds, ",")
	}
	switch p.Type {
	case "daily":
		parts = append(parts, "FREQ=DAILY")
	case "weekly":
		parts = append(parts, "FREQ=WEEKLY")
		if d := days(""); d != "" {
			parts = append(parts, "BYDAY="+d)
		}
	case "absoluteMonthly":
		parts = append(parts, "FREQ=MONTHLY", "BYMONTHDAY="+strconv.Itoa(p.DayOfMonth))
	case "relativeMonthly":
		parts = append(parts, "FREQ=MONTHLY", "BYDAY="+days(rruleIndex[p.Index]))
	case "absoluteYearly":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+strconv.Itoa(p.Month), "BYMONTHDAY="+strconv.Itoa(p.DayOfMonth))
	case "relativeYearly":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+strconv.Itoa(p.Month), "BYDAY="+days(rruleIndex[p.Index]))
	default:
		return "", time.Time{}
	}
	if p.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(p.Interval))
	}
	var end time.Time
	switch r.Range.Type {
	case "numbered":
		parts = append(parts, "COUNT="+strconv.Itoa(r.Range.NumberOfOccurrences))
	case "endDate":
		if d, err := time.Parse("2006-01-02", r.Range.EndDate); err == nil {
			parts = append(parts, "UNTIL="+d.Format("20060102"))
			end = d.Add(24 * time.Hour)
		}
	}
	return strings.Join(parts, ";"), end
}

// hashID is the short form of a series master id kept in a cursor.
func hashID(id string) [8]byte {
	sum := sha256.Sum256([]byte(id))
	var h [8]byte
	copy(h[:], sum[:8])
	return h
}

func (c *cursor) has(id string) bool { return c.hashes[hashID(id)] }

func (c *cursor) add(id string) {
	h := hashID(id)
	if c.hashes == nil {
		c.hashes = map[[8]byte]bool{}
	}
	c.hashes[h] = true
	raw, _ := base64.RawStdEncoding.DecodeString(c.Masters)
	c.Masters = base64.RawStdEncoding.EncodeToString(append(raw, h[:]...))
}

func (c *cursor) encode() string {
	raw, _ := json.Marshal(struct {
		Next    string `json:"n"`
		Masters string `json:"m,omitempty"`
	}{c.Next, c.Masters})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor reads a cursor; seen answers "was this master returned"
// through hashes (a collision of 64-bit hashes is not a practical concern).
func decodeCursor(s string) (*cursor, error) {
	c := &cursor{}
	if s == "" {
		return c, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(raw, c)
	}
	if err != nil || c.Next == "" {
		return nil, fmt.Errorf("graph: malformed cursor")
	}
	hashes, err := base64.RawStdEncoding.DecodeString(c.Masters)
	if err != nil || len(hashes)%8 != 0 {
		return nil, fmt.Errorf("graph: malformed cursor")
	}
	c.hashes = map[[8]byte]bool{}
	for i := 0; i < len(hashes); i += 8 {
		c.hashes[[8]byte(hashes[i:i+8])] = true
	}
	return c, nil
}
