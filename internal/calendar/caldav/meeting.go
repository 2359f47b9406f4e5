package caldav

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
	xhtml "golang.org/x/net/html"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// Properties mms reads and writes besides the standard ones.
const (
	propUpdateKey = "X-MMS-UPDATE-KEY"
	propNotified  = "X-MMS-NOTIFIED"
	propTeamsURL  = "X-MICROSOFT-SKYPETEAMSMEETINGURL"
	propConfLink  = "X-MICROSOFT-ONLINEMEETINGCONFLINK"
	propMeetInfo  = "X-MICROSOFT-ONLINEMEETINGINFORMATION"
	propConf      = "CONFERENCE"
)

// calAddr turns a calendar user address into a lower-case e-mail address
// ("mailto:Alice@Example.com" -> "alice@example.com").
func calAddr(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return strings.ToLower(v)
}

// owner is the set of calendar user addresses of the mailbox owner.
type owner map[string]bool

// meetingID names a VEVENT: the resource's href, plus "#" and the
// RECURRENCE-ID value for an exception.
func meetingID(href, rid string) string {
	if rid == "" {
		return href
	}
	return href + "#" + rid
}

func splitID(id string) (href, rid string) {
	href, rid, _ = strings.Cut(id, "#")
	return href, rid
}

// eventETag is the server's ETag of the resource plus a digest of the one
// VEVENT: an update of a series master does not make its exceptions (stored
// in the same resource) conflict, while any change to the VEVENT itself does.
func eventETag(serverETag, digest string) string { return serverETag + "#" + digest }

func splitETag(etag string) (server, digest string) {
	i := strings.LastIndexByte(etag, '#')
	if i < 0 {
		return etag, ""
	}
	return etag[:i], etag[i+1:]
}

// propTime parses a DATE or DATE-TIME property. A TZID is resolved through
// the object's own VTIMEZONE, then as an IANA or Windows name; one that
// resolves nowhere is an error, never UTC. A floating time (no TZID, no Z)
// and a DATE are read as UTC, as the rest of mms treats them.
func propTime(p *ical.Prop, z zones) (time.Time, error) {
	v := strings.TrimSpace(p.Value)
	tzid := p.Params.Get(ical.PropTimezoneID)
	if tzid == "" || isDate(p) || strings.HasSuffix(v, "Z") {
		return p.DateTime(time.UTC)
	}
	loc, err := z.location(tzid)
	if err != nil {
		return time.Time{}, err
	}
	return time.ParseInLocation("20060102T150405", v, loc)
}

func isDate(p *ical.Prop) bool {
	return p.ValueType() == ical.ValueDate || len(p.Value) == 8
}

// eventTimes returns an event's start and end.
func eventTimes(c *ical.Component, z zones) (time.Time, time.Time, error) {
	sp := c.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return time.Time{}, time.Time{}, nil
	}
	start, err := propTime(sp, z)
	if err != nil {
		return start, start, err
	}
	switch {
	case c.Props.Get(ical.PropDateTimeEnd) != nil:
		end, err := propTime(c.Props.Get(ical.PropDateTimeEnd), z)
		return start, end, err
	case c.Props.Get(ical.PropDuration) != nil:
		d, err := c.Props.Get(ical.PropDuration).Duration()
		return start, start.Add(d), err
	case isDate(sp):
		return start, start.Add(24 * time.Hour), nil
	}
	return start, start, nil
}

// seriesEnd returns the end of a series' last occurrence, zero when the
// RRULE has neither UNTIL nor COUNT. The rule is expanded in the start's
// own zone (its VTIMEZONE), so that a series crossing a DST change keeps
// its wall-clock time as the organizer's client does.
func seriesEnd(c *ical.Component, start time.Time, dur time.Duration) time.Time {
	opt, err := c.Props.RecurrenceRule()
	if err != nil || opt == nil || (opt.Count == 0 && opt.Until.IsZero()) {
		return time.Time{}
	}
	opt.Dtstart = start
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		if !opt.Until.IsZero() {
			return opt.Until.Add(dur)
		}
		return time.Time{}
	}
	all := r.All()
	if len(all) == 0 {
		return time.Time{}
	}
	return all[len(all)-1].Add(dur).UTC()
}

// wallClock reads a date-time's digits as UTC, ignoring its zone; only for
// showing an unreadable meeting in the record.
func wallClock(p *ical.Prop) time.Time {
	if p == nil {
		return time.Time{}
	}
	v := strings.TrimSuffix(strings.TrimSpace(p.Value), "Z")
	for _, layout := range []string{"20060102T150405", "20060102"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

func textOf(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return icaledit.Unescape(p.Value)
	}
	return ""
}

// altHTML returns the event's HTML alternative description line, or nil.
func altHTML(d *icaledit.Doc, e *icaledit.Event) *icaledit.Line {
	if alts := d.AltHTML(e); len(alts) > 0 {
		return d.Lines[alts[0]]
	}
	return nil
}

// component returns the event as a go-ical component (own properties only)
// for typed access (dates, durations, recurrence sets); writing goes through
// icaledit.Edit, which keeps the bytes of every line it does not change.
func component(d *icaledit.Doc, e *icaledit.Event) *ical.Component {
	c := ical.NewComponent(ical.CompEvent)
	for _, i := range e.Props {
		l := d.Lines[i]
		c.Props.Add(&ical.Prop{Name: l.Name, Params: parseParams(l.Params), Value: l.Value})
	}
	return c
}

// parseParams reads raw parameter text into go-ical Params.
func parseParams(s string) ical.Params { return ical.Params(icaledit.ParseParams(s)) }

// hash digests the event's unfolded lines, so that a server refolding the
// text does not change it.
func hash(d *icaledit.Doc, e *icaledit.Event) string {
	h := sha256.New()
	for i := e.Begin; i <= e.End && i < len(d.Lines); i++ {
		h.Write([]byte(d.Lines[i].Text()))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// meeting converts one VEVENT of a resource.
func meeting(d *icaledit.Doc, z zones, e *icaledit.Event, href, serverETag string, own owner, hasMaster bool, mailbox string) calendar.Meeting {
	c := component(d, e)
	m := calendar.Meeting{
		ID:        meetingID(href, e.RID),
		Subject:   textOf(c, ical.PropSummary),
		ETag:      eventETag(serverETag, hash(d, e)),
		UpdateKey: textOf(c, propUpdateKey),
		Kind:      calendar.KindSingle,
		Attendees: []calendar.Attendee{},
	}
	start, end, err := eventTimes(c, z)
	if err != nil {
		// Listed all the same (the server placed it in the window) and
		// failed by the run with the reason, rather than dropped or read
		// at a guessed instant; its times are the wall clock as UTC, for
		// the record only.
		m.Unreadable = fmt.Sprintf("caldav: the times of %q cannot be read: %v", m.Subject, err)
		start, end = wallClock(c.Props.Get(ical.PropDateTimeStart)), wallClock(c.Props.Get(ical.PropDateTimeEnd))
		if end.Before(start) {
			end = start
		}
	}
	m.Start, m.End = start.UTC(), end.UTC()
	switch {
	case e.RID != "":
		m.Kind = calendar.KindException
		if hasMaster {
			m.SeriesMasterID = href
		}
	case c.Props.Get(ical.PropRecurrenceRule) != nil:
		m.Kind = calendar.KindSeriesMaster
		m.Recurrence = c.Props.Get(ical.PropRecurrenceRule).Value
		if m.Unreadable == "" {
			m.SeriesEnd = seriesEnd(c, start, m.End.Sub(m.Start))
		}
	}
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		m.Organizer = calAddr(p.Value)
		m.IsOrganizer = own[m.Organizer]
	} else {
		// No ORGANIZER: a personal event of the calendar's owner.
		m.Organizer, m.IsOrganizer = strings.ToLower(mailbox), true
	}
	for _, p := range c.Props.Values(ical.PropAttendee) {
		m.Attendees = append(m.Attendees, calendar.Attendee{Address: calAddr(p.Value), Name: p.Params.Get(ical.ParamCommonName)})
	}
	if l := altHTML(d, e); l != nil {
		m.Body, m.BodyType = icaledit.Unescape(l.Value), calendar.BodyHTML
	} else {
		m.Body, m.BodyType = textOf(c, ical.PropDescription), calendar.BodyText
	}
	f := meetingblock.FormatText
	if m.BodyType == calendar.BodyHTML {
		f = meetingblock.FormatHTML
	}
	blk, err := meetingblock.Find(m.Body, f)
	m.OnlineMeeting = onlineMeeting(c, blk, err == nil)
	return m
}

// onlineMeeting reads the metadata an "add online meeting" button stamps,
// completed from the block of the body when found.
func onlineMeeting(c *ical.Component, blk meetingblock.Block, found bool) *calendar.OnlineMeeting {
	teams := strings.TrimSpace(textOf(c, propTeamsURL))
	conf := strings.TrimSpace(textOf(c, propConfLink))
	info := textOf(c, propMeetInfo)
	var confURL string
	for _, p := range c.Props.Values(propConf) {
		if v := strings.TrimSpace(p.Value); isHTTP(v) {
			confURL = v
			break
		}
	}
	if teams == "" && conf == "" && info == "" && confURL == "" {
		return nil
	}
	om := &calendar.OnlineMeeting{JoinURL: teams}
	if om.JoinURL == "" {
		om.JoinURL = confURL
	}
	om.Provider = providerOf(om.JoinURL, teams != "", conf != "")
	if found {
		om.ConferenceID = blk.ConferenceID
		if om.JoinURL == "" {
			om.JoinURL = blk.JoinURL
		}
	}
	return om
}

func isHTTP(v string) bool {
	l := strings.ToLower(v)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}

func isTeamsURL(u string) bool {
	h := hostOf(u)
	return h == "teams.microsoft.com" || strings.HasSuffix(h, ".teams.microsoft.com") || h == "teams.live.com"
}

func providerOf(join string, hasTeamsProp, hasConfLink bool) string {
	h := hostOf(join)
	switch {
	case isTeamsURL(join):
		return calendar.ProviderTeams
	case strings.Contains(h, "lync") || strings.HasPrefix(h, "meet."):
		return calendar.ProviderSkype
	case !hasTeamsProp && hasConfLink:
		return calendar.ProviderSkype
	}
	return calendar.ProviderThirdParty
}

// htmlToText renders an HTML body as plain text: text content, line breaks
// for block elements, links as "text <url>".
func htmlToText(s string) string {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	var hrefs []string
	skip, space := 0, false
	nl := func() {
		if t := b.String(); t != "" && !strings.HasSuffix(t, "\n") {
			b.WriteString("\r\n")
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return strings.TrimSpace(b.String()) + "\r\n"
		case xhtml.TextToken:
			if skip > 0 {
				continue
			}
			raw := string(z.Text())
			t := strings.Join(strings.Fields(raw), " ")
			if t == "" {
				space = space || raw != ""
				continue
			}
			if cur := b.String(); (space || unicode.IsSpace(rune(raw[0]))) && cur != "" &&
				!strings.HasSuffix(cur, "\n") && !strings.HasSuffix(cur, " ") {
				b.WriteByte(' ')
			}
			b.WriteString(t)
			space = unicode.IsSpace(rune(raw[len(raw)-1]))
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title":
				if tt == xhtml.StartTagToken {
					skip++
				} else if tt == xhtml.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				b.WriteString("\r\n")
				space = false
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol":
				nl()
			case "a":
				if tt == xhtml.StartTagToken {
					href := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
					}
					hrefs = append(hrefs, href)
				} else if tt == xhtml.EndTagToken && len(hrefs) > 0 {
					href := hrefs[len(hrefs)-1]
					hrefs = hrefs[:len(hrefs)-1]
					if href != "" && !strings.HasSuffix(b.String(), href) {
						b.WriteString(" <" + href + ">")
					}
				}
			}
		}
	}
}

// looksHTML says whether a body handed to UpdateMeeting is HTML.
func looksHTML(s string) bool {
	t := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(t, "<") && strings.Contains(t, "</")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}
