package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openmms/mms/internal/calendar"
)

// The single-value extended properties mms keeps on an event (a named
// string property in mms's own property set). UpdateKeyProperty carries the
// idempotency key of the last update; TeamsJoinURLProperty the join URL of
// the Teams meeting an update converted the item to (Graph's
// event.onlineMeeting is read-only).
const (
	propertySet          = "{6d1f3c0e-8a4b-4f5e-9b7a-2c9e4d1a7f30}"
	UpdateKeyProperty    = "String " + propertySet + " Name mmsUpdateKey"
	TeamsJoinURLProperty = "String " + propertySet + " Name mmsTeamsJoinUrl"
)

// eventSelect is every field the migration reads.
const eventSelect = "subject,organizer,isOrganizer,attendees,start,end,type,seriesMasterId,recurrence,body," +
	"isOnlineMeeting,onlineMeetingProvider,onlineMeeting"

var eventExpand = "singleValueExtendedProperties($filter=id eq '" + UpdateKeyProperty +
	"' or id eq '" + TeamsJoinURLProperty + "')"

// preferHeader asks for HTML bodies and UTC times.
var preferHeader = http.Header{"Prefer": {`outlook.body-content-type="html"`, `outlook.timezone="UTC"`}}

// maxPageSize is the largest $top Graph accepts for calendarView.
const maxPageSize = 1000

// maxEmptyPages bounds how many calendarView pages one ListMeetings call
// reads when they hold only occurrences of masters already returned.
const maxEmptyPages = 10

func userPath(user string) string { return "/users/" + url.PathEscape(user) }

// Mailbox implements calendar.Backend. It resolves the user once, by
// GET /users/{userPrincipalName} (user-get.md documents /users/{id |
// userPrincipalName}; a mail address that differs from the UPN is answered
// 404), and returns the object ID for every later call, and all the
// user's addresses for organizer matching.
func (b *Backend) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	ctx = b.withCallDeadline(ctx)
	t, err := b.tenant(ctx, tenantID)
	if err != nil {
		return calendar.Mailbox{}, err
	}
	u, err := b.resolveUser(ctx, t, user)
	if err != nil {
		return calendar.Mailbox{}, fmt.Errorf("mailbox %q: %w", user, err)
	}
	mb := calendar.Mailbox{ID: u.ID, Address: u.Mail, DisplayName: u.DisplayName, Online: true}
	if mb.Address == "" {
		mb.Address = u.UserPrincipalName
	}
	// A user whose mailbox is on premises exists in the directory, but its
	// calendar is not reachable through Graph.
	_, err = b.do(ctx, t, request{method: http.MethodGet, path: userPath(u.ID) + "/calendar", mailbox: u.ID,
		idempotent: true, query: url.Values{"$select": {"id"}}}, nil)
	switch {
	case HasCode(err, "MailboxNotEnabledForRESTAPI", "ErrorMailboxNotEnabledForRESTAPI"):
		mb.Online = false
	case err != nil:
		return calendar.Mailbox{}, fmt.Errorf("calendar of %q: %w", user, permanent(err))
	}
	return mb, nil
}

// directoryUser is the part of Graph's user resource mms reads.
type directoryUser struct {
	ID                string   `json:"id"`
	DisplayName       string   `json:"displayName"`
	Mail              string   `json:"mail"`
	UserPrincipalName string   `json:"userPrincipalName"`
	ProxyAddresses    []string `json:"proxyAddresses"`
}

// addresses are the user's addresses, lower-case: mail, UPN and the SMTP
// proxy addresses ("SMTP:" primary, "smtp:" secondary).
func (u directoryUser) addresses() []string {
	var out []string
	add := func(a string) {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	add(u.Mail)
	add(u.UserPrincipalName)
	for _, p := range u.ProxyAddresses {
		if kind, a, ok := strings.Cut(p, ":"); ok && strings.EqualFold(kind, "smtp") {
			add(a)
		}
	}
	return out
}

// resolveUser reads the user once and remembers its addresses by object ID.
func (b *Backend) resolveUser(ctx context.Context, t *tenant, user string) (directoryUser, error) {
	var u directoryUser
	if _, err := b.do(ctx, t, request{method: http.MethodGet, path: userPath(user), mailbox: user, idempotent: true,
		query: url.Values{"$select": {"id,displayName,mail,userPrincipalName,proxyAddresses"}}}, &u); err != nil {
		return u, permanent(err)
	}
	if u.ID == "" {
		return u, fmt.Errorf("graph: user %q: answer without id", user)
	}
	b.mu.Lock()
	b.owners[t.id+"\x00"+u.ID] = u.addresses()
	b.mu.Unlock()
	return u, nil
}

// owner returns the addresses of the mailbox addressed by id, reading them
// once when this process has not resolved the user yet (a page processed
// by another worker than the run's start).
func (b *Backend) owner(ctx context.Context, t *tenant, id string) ([]string, error) {
	b.mu.Lock()
	addrs, ok := b.owners[t.id+"\x00"+id]
	b.mu.Unlock()
	if ok {
		return addrs, nil
	}
	u, err := b.resolveUser(ctx, t, id)
	return u.addresses(), err
}

// permanent marks Graph's 404 for a user or mailbox as a refusal no retry
// changes: the user's UPN (or the object ID resolved from it) names nobody
// Graph knows, and only an administrator can fix that.
func permanent(err error) error {
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != http.StatusNotFound ||
		!HasCode(err, "ErrorInvalidUser", "Request_ResourceNotFound", "ResourceNotFound", "MailboxNotFound") {
		return err
	}
	return &calendar.PermanentError{Err: err,
		Message: "Graph does not know this mailbox (" + ge.Code + "): check the user's userPrincipalName"}
}

// cursor is what ListMeetings carries between pages: Graph's nextLink and
// short hashes of the series masters already returned.
type cursor struct {
	Next    string `json:"n"`
	Masters string `json:"m,omitempty"` // concatenated 8-byte hashes, base64
	hashes  map[[8]byte]bool
}

// ListMeetings implements calendar.Backend on calendarView: occurrences are
// replaced by their series master (returned once per listing), exceptions
// are returned on their own, and items the mailbox owner does not organize
// are kept with IsOrganizer false.
func (b *Backend) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cur string, pageSize int) (calendar.Page, error) {
	ctx = b.withCallDeadline(ctx)
	t, err := b.tenant(ctx, tenantID)
	if err != nil {
		return calendar.Page{}, err
	}
	c, err := decodeCursor(cur)
	if err != nil {
		return calendar.Page{}, err
	}
	if _, err := b.owner(ctx, t, mailbox); err != nil {
		return calendar.Page{}, fmt.Errorf("calendar view of %q: %w", mailbox, err)
	}
	if pageSize <= 0 {
		pageSize = 100
	}
	pageSize = min(pageSize, maxPageSize)
	req := request{method: http.MethodGet, path: c.Next, header: preferHeader, mailbox: mailbox, idempotent: true}
	if c.Next == "" {
		if limit := b.now().Add(t.cfg.Horizon); to.After(limit) {
			to = limit
		}
		if !from.Before(to) {
			return calendar.Page{}, nil
		}
		req.path = userPath(mailbox) + "/calendarView"
		req.query = url.Values{
			"startDateTime": {from.UTC().Format(time.RFC3339)},
			"endDateTime":   {to.UTC().Format(time.RFC3339)},
			"$select":       {eventSelect},
			"$expand":       {eventExpand},
			"$top":          {strconv.Itoa(pageSize)},
		}
	}
	var page calendar.Page
	for pages := 1; ; pages++ {
		var resp struct {
			Value    []event `json:"value"`
			NextLink string  `json:"@odata.nextLink"`
		}
		if _, err := b.do(ctx, t, req, &resp); err != nil {
			return calendar.Page{}, fmt.Errorf("calendar view of %q: %w", mailbox, permanent(err))
		}
		for _, ev := range resp.Value {
			masterID := ev.SeriesMasterID
			if ev.Type == "seriesMaster" {
				masterID = ev.ID
			}
			if masterID != "" && !c.has(masterID) {
				master := ev
				if ev.Type != "seriesMaster" {
					master, err = b.getEvent(ctx, t, mailbox, masterID)
					if errors.Is(err, calendar.ErrNotFound) {
						continue // deleted since: its occurrences go with it
					}
					if err != nil {
						return calendar.Page{}, err
					}
				}
				c.add(masterID)
				page.Meetings = append(page.Meetings, b.meeting(t, mailbox, master))
			}
			if ev.Type != "occurrence" && ev.Type != "seriesMaster" {
				page.Meetings = append(page.Meetings, b.meeting(t, mailbox, ev))
			}
		}
		if resp.NextLink == "" {
			return page, nil
		}
		c.Next = resp.NextLink
		if len(page.Meetings) > 0 || pages >= maxEmptyPages {
			page.NextCursor = c.encode()
			return page, nil
		}
		req = request{method: http.MethodGet, path: c.Next, header: preferHeader, mailbox: mailbox, idempotent: true}
	}
}

// GetMeeting implements calendar.Backend.
func (b *Backend) GetMeeting(ctx context.Context, tenantID, mailbox, id string) (calendar.Meeting, error) {
	ctx = b.withCallDeadline(ctx)
	t, err := b.tenant(ctx, tenantID)
	if err != nil {
		return calendar.Meeting{}, err
	}
	ev, err := b.getEvent(ctx, t, mailbox, id)
	if err != nil {
		return calendar.Meeting{}, err
	}
	return b.meeting(t, mailbox, ev), nil
}

func (b *Backend) getEvent(ctx context.Context, t *tenant, mailbox, id string) (event, error) {
	var ev event
	_, err := b.do(ctx, t, request{method: http.MethodGet, path: userPath(mailbox) + "/events/" + url.PathEscape(id),
		header: preferHeader, mailbox: mailbox, idempotent: true,
		query: url.Values{"$select": {eventSelect}, "$expand": {eventExpand}}}, &ev)
	if err != nil {
		return event{}, fmt.Errorf("event %q of %q: %w", id, mailbox, err)
	}
	return ev, nil
}

// UpdateMeeting implements calendar.Backend with PATCH and If-Match. Graph
// itself sends the update to the attendees when the organizer's event is
// patched; mms sends nothing else, and InvitesSent is the number of
// attendees other than the organizer.
//
// Idempotency: the key is written with the body in one PATCH, so an etag
// whose version carries the key proves the update was made. The client
// remembers the key seen at each etag it read; when the caller's etag is
// such a version carrying this key, nothing is sent. When the caller's etag
// is unknown to the client, it GETs the event first (one request, needed so
// a replay with the current etag cannot notify attendees twice). A 412
// re-reads the event: carrying the key means an earlier attempt (whose
// answer was lost) made the update; otherwise it is calendar.ErrConflict.
func (b *Backend) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	ctx = b.withCallDeadline(ctx)
	t, err := b.tenant(ctx, tenantID)
	if err != nil {
		return calendar.UpdateResult{}, err
	}
	ck := cacheKey(t.id, u.Mailbox, u.MeetingID)
	if u.IdempotencyKey != "" {
		known, ok := b.reads.get(ck)
		if !ok || known.etag != u.ETag {
			ev, err := b.getEvent(ctx, t, u.Mailbox, u.MeetingID)
			if err != nil {
				return calendar.UpdateResult{}, err
			}
			b.meeting(t, u.Mailbox, ev) // caches it
			known, _ = b.reads.get(ck)
		}
		if known.updateKey == u.IdempotencyKey {
			return calendar.UpdateResult{ETag: known.etag, InvitesSent: known.invitees}, nil
		}
		if known.etag != u.ETag {
			return calendar.UpdateResult{}, fmt.Errorf("event %q of %q: etag %s, now %s: %w",
				u.MeetingID, u.Mailbox, u.ETag, known.etag, calendar.ErrConflict)
		}
	}
	patch := eventPatch{Body: itemBody{ContentType: "html", Content: u.Body}}
	if u.IdempotencyKey != "" {
		patch.ExtendedProperties = append(patch.ExtendedProperties, extendedString{ID: UpdateKeyProperty, Value: u.IdempotencyKey})
	}
	if u.OnlineMeeting != nil && u.OnlineMeeting.JoinURL != "" {
		// event.onlineMeeting is read-only: the new join URL lives in the
		// body (the caller put it there) and in mms's own property.
		patch.ExtendedProperties = append(patch.ExtendedProperties, extendedString{ID: TeamsJoinURLProperty, Value: u.OnlineMeeting.JoinURL})
	}
	// Graph answers with the whole event, body included: the body is the
	// one just sent, so it is skipped rather than decoded and copied.
	var answer struct {
		event
		Body skipped `json:"body"`
	}
	_, err = b.do(ctx, t, request{method: http.MethodPatch,
		path:   userPath(u.Mailbox) + "/events/" + url.PathEscape(u.MeetingID),
		header: http.Header{"If-Match": {u.ETag}}, body: patch, mailbox: u.Mailbox,
		// If-Match makes a repeat harmless: it fails with 412, handled below.
		idempotent: u.ETag != ""}, &answer)
	ev := answer.event
	if errors.Is(err, calendar.ErrConflict) && u.IdempotencyKey != "" {
		cur, gerr := b.getEvent(ctx, t, u.Mailbox, u.MeetingID)
		if gerr != nil {
			return calendar.UpdateResult{}, gerr
		}
		m := b.meeting(t, u.Mailbox, cur)
		if m.UpdateKey == u.IdempotencyKey {
			known, _ := b.reads.get(ck)
			return calendar.UpdateResult{ETag: m.ETag, InvitesSent: known.invitees}, nil
		}
	}
	if err != nil {
		return calendar.UpdateResult{}, fmt.Errorf("update event %q of %q: %w", u.MeetingID, u.Mailbox, err)
	}
	if ev.ETag == "" { // an answer without the event: keep what we know
		return calendar.UpdateResult{}, fmt.Errorf("update event %q of %q: answer without @odata.etag", u.MeetingID, u.Mailbox)
	}
	if ev.ID == "" {
		ev.ID = u.MeetingID
	}
	m := b.meeting(t, u.Mailbox, ev)
	m.UpdateKey = u.IdempotencyKey
	b.remember(t, u.Mailbox, m, ev)
	return calendar.UpdateResult{ETag: m.ETag, InvitesSent: invitees(ev, m.IsOrganizer, b.ownerAddresses(t, u.Mailbox))}, nil
}

// eventPatch is the PATCH of a migrated event.
type eventPatch struct {
	Body               itemBody         `json:"body"`
	ExtendedProperties []extendedString `json:"singleValueExtendedProperties,omitempty"`
}

// skipped is a JSON value read past without decoding it.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// EnsureTeamsMeeting implements calendar.Backend with
// onlineMeetings/createOrGet keyed by an externalId derived from the item.
func (b *Backend) EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (calendar.OnlineMeeting, error) {
	ctx = b.withCallDeadline(ctx)
	t, err := b.tenant(ctx, tenantID)
	if err != nil {
		return calendar.OnlineMeeting{}, err
	}
	it, ok := b.reads.get(cacheKey(t.id, organizer, itemID))
	if !ok {
		ev, err := b.getEvent(ctx, t, organizer, itemID)
		if err != nil {
			return calendar.OnlineMeeting{}, err
		}
		b.meeting(t, organizer, ev)
		it, _ = b.reads.get(cacheKey(t.id, organizer, itemID))
	}
	body := map[string]any{"externalId": ExternalID(itemID), "subject": it.subject}
	if !it.start.IsZero() {
		body["startDateTime"] = it.start.UTC().Format(time.RFC3339)
		body["endDateTime"] = it.end.UTC().Format(time.RFC3339)
	}
	var om struct {
		ID                string    `json:"id"`
		JoinWebURL        string    `json:"joinWebUrl"`
		AudioConferencing *struct { // audioconferencing.md; null without a licence
			ConferenceID    string   `json:"conferenceId"`
			TollNumber      string   `json:"tollNumber"`
			TollFreeNumber  string   `json:"tollFreeNumber"`  // v1.0's audioconferencing.md
			TollFreeNumbers []string `json:"tollFreeNumbers"` // the list some answers carry
			DialinURL       string   `json:"dialinUrl"`
		} `json:"audioConferencing"`
	}
	// createOrGet is idempotent by externalId: safe to repeat.
	if _, err := b.do(ctx, t, request{method: http.MethodPost, path: userPath(organizer) + "/onlineMeetings/createOrGet",
		body: body, mailbox: organizer, idempotent: true}, &om); err != nil {
		return calendar.OnlineMeeting{}, fmt.Errorf("teams meeting for event %q of %q: %w", itemID, organizer, err)
	}
	if om.JoinWebURL == "" {
		return calendar.OnlineMeeting{}, fmt.Errorf("teams meeting for event %q of %q: answer without joinWebUrl", itemID, organizer)
	}
	res := calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: om.JoinWebURL}
	if ac := om.AudioConferencing; ac != nil && ac.ConferenceID != "" {
		res.ConferenceID, res.TollNumber, res.DialInURL = ac.ConferenceID, ac.TollNumber, ac.DialinURL
		res.TollFreeNumber = ac.TollFreeNumber
		if res.TollFreeNumber == "" && len(ac.TollFreeNumbers) > 0 {
			res.TollFreeNumber = ac.TollFreeNumbers[0]
		}
	}
	return res, nil
}

// ExternalID is the createOrGet externalId of a calendar item: a hash, as
// item ids are longer than Graph accepts and must not leak into URLs.
func ExternalID(itemID string) string {
	sum := sha256.Sum256([]byte(itemID))
	return "mms-" + hex.EncodeToString(sum[:16])
}

func cacheKey(tenantID, mailbox, id string) string {
	return tenantID + "\x00" + strings.ToLower(mailbox) + "\x00" + id
}
