// Package caldav is the CalDAV (RFC 4791) calendar back end: it finds a
// user's calendars by principal discovery, lists meetings with a time-range
// calendar-query, rewrites the online meeting block of one VEVENT with a
// conditional PUT (If-Match, SEQUENCE+1) that keeps every other byte of the
// resource, and tells the attendees either through the server's own RFC 6638
// scheduling (SCHEDULE-FORCE-SEND=REQUEST) or by sending iMIP (RFC 6047)
// e-mails itself, exactly once per attendee and idempotency key.
package caldav

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // TZIDs resolve in images without a zoneinfo database

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmms/mms/internal/calendar"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// Backend is the CalDAV calendar back end.
type Backend struct {
	lookup func(ctx context.Context, tenantID string) (TenantConfig, error)
	hc     *http.Client
	now    func() time.Time
	ttl    time.Duration
	tracer trace.Tracer

	mu    sync.Mutex
	cache map[string]*principal
}

var (
	_ calendar.Backend = (*Backend)(nil)
	_ calendar.Counter = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithHTTPClient sets the HTTP client (default: 60 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(b *Backend) { b.hc = c } }

// WithClock sets the clock used for DTSTAMP, LAST-MODIFIED and mail dates.
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithDiscoveryTTL sets how long a mailbox's discovered calendars are
// remembered (default 5 minutes; 0 disables the cache).
func WithDiscoveryTTL(d time.Duration) Option { return func(b *Backend) { b.ttl = d } }

// WithTracerProvider traces each iMIP SMTP session (HTTP calls are traced by
// the client's transport); default: the global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(b *Backend) {
		if tp != nil {
			b.tracer = tp.Tracer("github.com/openmms/mms/internal/calendar/caldav")
		}
	}
}

// New returns a CalDAV back end; lookup gives each mms tenant's settings.
func New(lookup func(ctx context.Context, mmsTenantID string) (TenantConfig, error), opts ...Option) *Backend {
	b := &Backend{lookup: lookup, hc: &http.Client{Timeout: 60 * time.Second}, now: time.Now,
		ttl: 5 * time.Minute, cache: map[string]*principal{},
		tracer: otel.GetTracerProvider().Tracer("github.com/openmms/mms/internal/calendar/caldav")}
	for _, o := range opts {
		o(b)
	}
	return b
}

// principal is what discovery found for one mailbox.
type principal struct {
	cfg          TenantConfig
	dav          *davClient
	home         string
	calendars    []string // absolute URLs
	displayName  string
	addrs        owner
	autoSchedule bool   // the server advertises calendar-auto-schedule (RFC 6638)
	mode         string // NotifyServer or NotifyIMIP
	expires      time.Time
}

func (b *Backend) config(ctx context.Context, tenantID string) (TenantConfig, error) {
	cfg, err := b.lookup(ctx, tenantID)
	if err != nil {
		return cfg, fmt.Errorf("caldav: tenant %q: %w", tenantID, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("caldav: tenant %q: %w", tenantID, err)
	}
	return cfg, nil
}

func (b *Backend) credentials(ctx context.Context, cfg TenantConfig, mailbox string) (Credentials, error) {
	if cfg.Delegate != nil {
		return *cfg.Delegate, nil
	}
	for addr, c := range cfg.Users {
		if strings.EqualFold(addr, mailbox) {
			return c, nil
		}
	}
	if cfg.UserCredentials != nil {
		return cfg.UserCredentials(ctx, mailbox)
	}
	return Credentials{}, fmt.Errorf("caldav: no credentials for mailbox %q: %w", mailbox, calendar.ErrNotFound)
}

// principal discovers (or recalls) a mailbox's calendars.
func (b *Backend) principal(ctx context.Context, tenantID, mailbox string) (*principal, error) {
	cfg, err := b.config(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	key := tenantID + "\x00" + strings.ToLower(mailbox)
	b.mu.Lock()
	p := b.cache[key]
	b.mu.Unlock()
	if p != nil && b.now().Before(p.expires) && p.cfg.URL == cfg.URL {
		// Discovery is remembered; the settings are the current ones.
		q := *p
		q.cfg = cfg
		if q.mode, err = notifyMode(cfg, p.autoSchedule); err != nil {
			return nil, err
		}
		return &q, nil
	}
	p, err = b.discover(ctx, cfg, mailbox)
	if err != nil {
		return nil, err
	}
	if b.ttl > 0 {
		p.expires = b.now().Add(b.ttl)
		b.mu.Lock()
		b.cache[key] = p
		b.mu.Unlock()
	}
	return p, nil
}

// forget drops a mailbox's discovery (a calendar vanished).
func (b *Backend) forget(tenantID, mailbox string) {
	b.mu.Lock()
	delete(b.cache, tenantID+"\x00"+strings.ToLower(mailbox))
	b.mu.Unlock()
}

// notifyMode resolves NotifyAuto. NotifyIMIP is refused on a server that
// schedules by itself: it would notify too (Cyrus sends on any change), and
// turning its scheduling off per attendee (SCHEDULE-AGENT=CLIENT) makes it
// send a CANCEL instead; either way attendees would get two messages.
func notifyMode(cfg TenantConfig, autoSchedule bool) (string, error) {
	switch {
	case cfg.Notify == NotifyIMIP && autoSchedule:
		return "", fmt.Errorf("caldav: notify: %q, but %s schedules by itself (calendar-auto-schedule): use %q or %q",
			NotifyIMIP, cfg.URL, NotifyServer, NotifyAuto)
	case cfg.Notify == NotifyServer || cfg.Notify == NotifyIMIP:
		return cfg.Notify, nil
	case autoSchedule:
		return NotifyServer, nil
	}
	return NotifyIMIP, nil
}

func notFound(err error, what string) error {
	if c := httpStatus(err); c == http.StatusNotFound || c == http.StatusGone {
		return fmt.Errorf("caldav: %s: %w (%v)", what, calendar.ErrNotFound, err)
	}
	return err
}

func (b *Backend) discover(ctx context.Context, cfg TenantConfig, mailbox string) (*principal, error) {
	cred, err := b.credentials(ctx, cfg, mailbox)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("caldav: url: %w", err)
	}
	p := &principal{cfg: cfg, dav: &davClient{hc: b.hc, base: base, cred: cred},
		addrs: owner{strings.ToLower(mailbox): true}}
	for k, as := range cfg.Aliases {
		if strings.EqualFold(k, mailbox) {
			for _, a := range as {
				p.addrs[calAddr(a)] = true
			}
		}
	}
	if cfg.Delegate != nil {
		p.home = cfg.home(mailbox)
	} else {
		rs, err := p.dav.multi(ctx, "PROPFIND", cfg.URL, "0", propfindPrincipal)
		if err != nil {
			return nil, notFound(err, "mailbox "+mailbox)
		}
		var princ string
		for _, r := range rs {
			if pr, ok := r.ok(); ok && pr.CurrentUserPrincipal != nil && len(pr.CurrentUserPrincipal.Hrefs) > 0 {
				princ = strings.TrimSpace(pr.CurrentUserPrincipal.Hrefs[0])
			}
		}
		if princ == "" {
			return nil, fmt.Errorf("caldav: mailbox %s: no current-user-principal: %w", mailbox, calendar.ErrNotFound)
		}
		rs, err = p.dav.multi(ctx, "PROPFIND", princ, "0", propfindPrincipal)
		if err != nil {
			return nil, notFound(err, "principal of "+mailbox)
		}
		for _, r := range rs {
			pr, ok := r.ok()
			if !ok {
				continue
			}
			p.displayName = pr.DisplayName
			if pr.HomeSet != nil && len(pr.HomeSet.Hrefs) > 0 {
				p.home = strings.TrimSpace(pr.HomeSet.Hrefs[0])
			}
			if pr.AddressSet != nil {
				for _, h := range pr.AddressSet.Hrefs {
					if a := strings.TrimSpace(h); strings.HasPrefix(strings.ToLower(a), "mailto:") {
						p.addrs[calAddr(a)] = true
					}
				}
			}
		}
		if p.home == "" {
			return nil, fmt.Errorf("caldav: mailbox %s: no calendar-home-set: %w", mailbox, calendar.ErrNotFound)
		}
	}
	if p.home, err = p.dav.resolve(p.home); err != nil {
		return nil, err
	}
	rs, err := p.dav.multi(ctx, "PROPFIND", p.home, "1", propfindCalendars)
	if err != nil {
		return nil, notFound(err, "calendar home of "+mailbox)
	}
	for _, r := range rs {
		pr, ok := r.ok()
		if !ok {
			continue
		}
		abs, err := p.dav.resolve(strings.TrimSpace(r.Href))
		if err != nil {
			return nil, err
		}
		if abs == p.home || strings.TrimSuffix(abs, "/") == strings.TrimSuffix(p.home, "/") {
			if p.displayName == "" {
				p.displayName = pr.DisplayName
			}
			continue
		}
		if pr.ResourceType.Calendar == nil {
			continue
		}
		if pr.CompSet != nil && len(pr.CompSet.Comps) > 0 && !slices.ContainsFunc(pr.CompSet.Comps, func(c struct {
			Name string `xml:"name,attr"`
		}) bool {
			return strings.EqualFold(c.Name, "VEVENT")
		}) {
			continue
		}
		p.calendars = append(p.calendars, abs)
	}
	slices.Sort(p.calendars)
	resp, _, err := p.dav.do(ctx, http.MethodOptions, p.home, nil, nil)
	if err != nil {
		return nil, notFound(err, "calendar home of "+mailbox)
	}
	for _, v := range resp.Header.Values("DAV") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "calendar-auto-schedule") {
				p.autoSchedule = true
			}
		}
	}
	if p.mode, err = notifyMode(cfg, p.autoSchedule); err != nil {
		return nil, err
	}
	return p, nil
}

// Mailbox implements calendar.Backend.
func (b *Backend) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	p, err := b.principal(ctx, tenantID, user)
	if err != nil {
		return calendar.Mailbox{}, err
	}
	return calendar.Mailbox{Address: user, DisplayName: p.displayName, Online: true}, nil
}

// resource is one calendar object as read from the server.
type resource struct {
	href, etag, data string
}

// meetingsOf converts a resource's VEVENTs. A VEVENT whose dates cannot be
// read is listed marked Unreadable, so the run records it as failed with
// the reason instead of leaving it out unseen.
func (p *principal) meetingsOf(r resource, mailbox string) []calendar.Meeting {
	d := icaledit.Parse(r.data)
	z := zonesOf(d)
	evs := d.Events()
	hasMaster := slices.ContainsFunc(evs, func(e *icaledit.Event) bool { return e.RID == "" })
	var out []calendar.Meeting
	for _, e := range evs {
		out = append(out, meeting(d, z, e, r.href, r.etag, p.addrs, hasMaster, mailbox))
	}
	return out
}

// overlaps says whether a listed item overlaps [from, to) (Backend semantics).
// An unreadable item cannot be placed: the server's time-range query
// selected it, which is all that is known.
func overlaps(m calendar.Meeting, from, to time.Time) bool {
	if m.Unreadable != "" {
		return true
	}
	if !m.Start.Before(to) {
		return false
	}
	if m.Kind == calendar.KindSeriesMaster {
		return m.SeriesEnd.IsZero() || m.SeriesEnd.After(from)
	}
	return m.End.After(from) || (m.End.Equal(m.Start) && !m.Start.Before(from))
}

const icalUTC = "20060102T150405Z"

// ListMeetings implements calendar.Backend. CalDAV has no paging: every page
// runs the calendar-query again and pages the sorted result with a keyset
// cursor, so items changing between pages are neither repeated nor skipped
// unless their start moves across the cursor.
//
// The order is by start, except that a series' exceptions (stored in the
// master's resource) follow their master, by RECURRENCE-ID: the master's
// iMIP REQUEST carries its exceptions as stored, so the master must be
// written first or an exception's change reaches its attendees twice
// (issue 17). An exception is keyed by its master's start, resource and
// its RECURRENCE-ID, whatever its own start (one moved before the series'
// first occurrence included).
func (b *Backend) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, pageSize int) (calendar.Page, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	var after listKey
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		ns, id, ok := strings.Cut(string(raw), "|")
		n, perr := strconv.ParseInt(ns, 10, 64)
		if err != nil || !ok || perr != nil {
			return calendar.Page{}, fmt.Errorf("caldav: malformed cursor %q", cursor)
		}
		after = listKey{start: time.Unix(0, n).UTC()}
		after.href, after.rid = splitID(id)
	}
	all, err := b.inWindow(ctx, tenantID, mailbox, from, to)
	if err != nil {
		return calendar.Page{}, err
	}
	keys := listKeys(all)
	slices.SortFunc(all, func(a, b calendar.Meeting) int { return keys[a.ID].compare(keys[b.ID]) })
	if cursor != "" {
		i, found := slices.BinarySearchFunc(all, after, func(m calendar.Meeting, k listKey) int { return keys[m.ID].compare(k) })
		if found {
			i++
		}
		all = all[i:]
	}
	var page calendar.Page
	if len(all) > pageSize {
		last := keys[all[pageSize-1].ID]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.start.UnixNano(), 10) + "|" +
			meetingID(last.href, last.rid)))
		all = all[:pageSize]
	}
	page.Meetings = all
	return page, nil
}

// listKey orders a listing: a meeting's start (its master's, for an
// exception whose master is listed), its resource, its RECURRENCE-ID ("" for
// the master, so the master sorts first).
type listKey struct {
	start     time.Time
	href, rid string
}

func (k listKey) compare(o listKey) int {
	return cmp.Or(k.start.Compare(o.start), strings.Compare(k.href, o.href), strings.Compare(k.rid, o.rid))
}

// listKeys returns each listed meeting's key, by ID.
func listKeys(ms []calendar.Meeting) map[string]listKey {
	masters := map[string]time.Time{} // a listed master's href -> its start
	for _, m := range ms {
		if m.Kind == calendar.KindSeriesMaster {
			masters[m.ID] = m.Start
		}
	}
	keys := make(map[string]listKey, len(ms))
	for _, m := range ms {
		k := listKey{start: m.Start}
		k.href, k.rid = splitID(m.ID)
		if s, ok := masters[k.href]; ok && m.Kind == calendar.KindException {
			k.start = s
		}
		keys[m.ID] = k
	}
	return keys
}

// CountMeetings implements calendar.Counter: CalDAV has no paging, so the
// count is the same time-range query ListMeetings runs for each page.
func (b *Backend) CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error) {
	all, err := b.inWindow(ctx, tenantID, mailbox, from, to)
	return len(all), err
}

// inWindow runs the time-range REPORT on each of the mailbox's calendars
// and returns the meetings overlapping [from, to), unordered.
func (b *Backend) inWindow(ctx context.Context, tenantID, mailbox string, from, to time.Time) ([]calendar.Meeting, error) {
	p, err := b.principal(ctx, tenantID, mailbox)
	if err != nil {
		return nil, err
	}
	var all []calendar.Meeting
	q := calendarQuery(from.UTC().Format(icalUTC), to.UTC().Format(icalUTC))
	for _, cal := range p.calendars {
		rs, err := p.dav.multi(ctx, "REPORT", cal, "1", q)
		if err != nil {
			if c := httpStatus(err); c == http.StatusNotFound || c == http.StatusGone {
				b.forget(tenantID, mailbox) // the next attempt discovers again
			}
			return nil, err
		}
		for _, r := range rs {
			pr, ok := r.ok()
			if !ok || pr.CalendarData == "" {
				continue
			}
			href, err := p.dav.resolve(strings.TrimSpace(r.Href))
			if err != nil {
				return nil, err
			}
			for _, m := range p.meetingsOf(resource{href: pathOf(href), etag: pr.ETag, data: pr.CalendarData}, mailbox) {
				if overlaps(m, from, to) {
					all = append(all, m)
				}
			}
		}
	}
	return all, nil
}

// pathOf reduces an absolute URL to its path (the href part of an ID).
func pathOf(abs string) string {
	u, err := url.Parse(abs)
	if err != nil {
		return abs
	}
	return u.EscapedPath()
}

// resourceOf checks that an ID names a resource in one of the mailbox's
// calendars and returns its absolute URL and RECURRENCE-ID.
func (p *principal) resourceOf(id string) (string, string, error) {
	href, rid := splitID(id)
	abs, err := p.dav.resolve(href)
	if err != nil || href == "" {
		return "", "", fmt.Errorf("caldav: meeting %q: %w", id, calendar.ErrNotFound)
	}
	for _, c := range p.calendars {
		if strings.HasPrefix(abs, strings.TrimSuffix(c, "/")+"/") {
			return abs, rid, nil
		}
	}
	return "", "", fmt.Errorf("caldav: meeting %q is not in the mailbox's calendars: %w", id, calendar.ErrNotFound)
}

// read GETs a resource and finds the VEVENT.
func (p *principal) read(ctx context.Context, id string) (resource, *icaledit.Doc, *icaledit.Event, error) {
	abs, rid, err := p.resourceOf(id)
	if err != nil {
		return resource{}, nil, nil, err
	}
	data, etag, err := p.dav.get(ctx, abs)
	if err != nil {
		return resource{}, nil, nil, notFound(err, "meeting "+id)
	}
	if etag == "" {
		return resource{}, nil, nil, fmt.Errorf("caldav: GET %s: the server sent no ETag", abs)
	}
	d := icaledit.Parse(data)
	e := d.Event(rid)
	if e == nil {
		return resource{}, nil, nil, fmt.Errorf("caldav: meeting %q: no such VEVENT: %w", id, calendar.ErrNotFound)
	}
	return resource{href: abs, etag: etag, data: data}, d, e, nil
}

// GetMeeting implements calendar.Backend.
func (b *Backend) GetMeeting(ctx context.Context, tenantID, mailbox, id string) (calendar.Meeting, error) {
	p, err := b.principal(ctx, tenantID, mailbox)
	if err != nil {
		return calendar.Meeting{}, err
	}
	r, d, e, err := p.read(ctx, id)
	if err != nil {
		return calendar.Meeting{}, err
	}
	hasMaster := d.Event("") != nil
	return meeting(d, zonesOf(d), e, pathOf(r.href), r.etag, p.addrs, hasMaster, mailbox), nil
}

// EnsureTeamsMeeting implements calendar.Backend: a CalDAV server cannot
// create Teams meetings.
func (b *Backend) EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (calendar.OnlineMeeting, error) {
	return calendar.OnlineMeeting{}, fmt.Errorf("caldav: %s: a CalDAV server cannot create Teams meetings: %w",
		itemID, calendar.ErrUnsupported)
}

// conflictOr maps 412 to calendar.ErrConflict and 404 to ErrNotFound.
func conflictOr(err error, what string) error {
	switch httpStatus(err) {
	case http.StatusPreconditionFailed:
		return fmt.Errorf("caldav: %s: %w (%v)", what, calendar.ErrConflict, err)
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("caldav: %s: %w (%v)", what, calendar.ErrNotFound, err)
	}
	return err
}
