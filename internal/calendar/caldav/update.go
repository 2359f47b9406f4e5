package caldav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/google/uuid"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
)

// UpdateMeeting implements calendar.Backend.
//
// The VEVENT named by u.MeetingID (a series master, an exception or a single
// meeting; the other VEVENTs of the resource are not touched) gets the new
// body in DESCRIPTION and, when it has or needs one, X-ALT-DESC (both kept
// consistent), the new join link in CONFERENCE and X-MICROSOFT-SKYPETEAMS-
// MEETINGURL when the link changed, SEQUENCE+1, fresh DTSTAMP and
// LAST-MODIFIED, and X-MMS-UPDATE-KEY = u.IdempotencyKey. Every other line
// keeps its exact bytes. It is stored with a PUT conditional on the ETag
// just read, after checking that the VEVENT is still the one u.ETag was
// read from: a concurrent change gives calendar.ErrConflict.
//
// Notification, exactly once per attendee and key, by one mechanism only:
//
//   - NotifyServer: every attendee but the organizer is marked
//     SCHEDULE-FORCE-SEND=REQUEST in the same PUT, so the RFC 6638 server
//     sends the (description-only) REQUEST; mms sends nothing. A replay with
//     the same key finds X-MMS-UPDATE-KEY already set and writes nothing,
//     so the server sends nothing more.
//   - NotifyIMIP: after the PUT, mms sends one iMIP REQUEST per attendee and
//     then records the recipients in X-MMS-NOTIFIED properties of the same
//     VEVENT with a second conditional PUT (also after a partial failure,
//     before the error is returned). A replay with the same key (a retried
//     activity) skips the update, sends only to the attendees not recorded
//     and records them. This mode is refused on a server that advertises
//     calendar-auto-schedule (see notifyMode), so the server never sends too.
//     The one window left is a crash after the SMTP server accepted a
//     message and before the recipients were recorded; the replay then
//     re-sends that message with the same Message-ID (derived from the key
//     and the attendee), which mail systems and calendar clients recognise
//     as the same message. Recording before sending would close it the other
//     way round, at the price of attendees never told; a late duplicate of
//     the same REQUEST (same UID and SEQUENCE) changes nothing for them.
func (b *Backend) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	p, err := b.principal(ctx, tenantID, u.Mailbox)
	if err != nil {
		return calendar.UpdateResult{}, err
	}
	r, d, e, err := p.read(ctx, u.MeetingID)
	if err != nil {
		return calendar.UpdateResult{}, err
	}
	key := u.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	if u.IdempotencyKey != "" && textOf(d.component(e), propUpdateKey) == key {
		// This change is stored already (a retry): finish its notifications.
		return b.finish(ctx, p, r, e.rid, key)
	}
	if o := d.first(e, ical.PropOrganizer); o != nil && !p.addrs[calAddr(o.value)] {
		// Only the organizer's copy is migrated and sent out.
		return calendar.UpdateResult{}, fmt.Errorf("caldav: meeting %q: %s organizes it, not %s",
			u.MeetingID, calAddr(o.value), u.Mailbox)
	}
	srvTag, digest := splitETag(u.ETag)
	if srvTag != r.etag && (digest == "" || digest != d.hash(e)) {
		return calendar.UpdateResult{}, fmt.Errorf("caldav: meeting %q: etag %s, stored %s: %w",
			u.MeetingID, u.ETag, eventETag(r.etag, d.hash(e)), calendar.ErrConflict)
	}
	text := p.apply(d, e, u, key, b.now())
	etag, err := p.dav.put(ctx, r.href, r.etag, text)
	if err != nil {
		return calendar.UpdateResult{}, conflictOr(err, "meeting "+u.MeetingID)
	}
	return b.finish(ctx, p, resource{href: r.href, etag: etag, data: text}, e.rid, key)
}

// finish notifies the attendees of a stored update (iMIP mode) and returns
// the result: the meeting's ETag and the number of attendees told.
func (b *Backend) finish(ctx context.Context, p *principal, r resource, rid, key string) (calendar.UpdateResult, error) {
	d := parseICS(r.data)
	e := d.event(rid)
	if e == nil {
		return calendar.UpdateResult{}, fmt.Errorf("caldav: %s#%s vanished: %w", r.href, rid, calendar.ErrNotFound)
	}
	recips := p.recipients(d, e)
	res := calendar.UpdateResult{InvitesSent: len(recips)}
	var sendErr error
	if p.mode == NotifyIMIP {
		done := map[string]bool{}
		for _, l := range d.all(e, propNotified) {
			done[calAddr(unescapeText(l.value))] = true
		}
		var pending []calendar.Attendee
		for _, a := range recips {
			if !done[a.Address] {
				pending = append(pending, a)
			}
		}
		var sent []string
		sent, sendErr = b.sendIMIP(ctx, p, d, e, key, pending)
		res.InvitesSent = len(recips) - len(pending) + len(sent)
		if len(sent) > 0 {
			if err := p.recordNotified(ctx, r, rid, key, sent); err != nil {
				return res, errors.Join(sendErr, err)
			}
		}
		if sendErr != nil {
			return res, sendErr
		}
	}
	// The ETag of the VEVENT as the server now stores it (servers may
	// reformat the data, Cyrus sends no ETag on PUT).
	data, etag, err := p.dav.get(ctx, r.href)
	if err != nil {
		return res, err
	}
	d = parseICS(data)
	if e = d.event(rid); e != nil {
		res.ETag = eventETag(etag, d.hash(e))
	}
	return res, nil
}

// recordNotified adds X-MMS-NOTIFIED lines for sent to the VEVENT, with a
// conditional PUT re-read and retried on a conflict, as long as the VEVENT
// still carries this update's key.
func (p *principal) recordNotified(ctx context.Context, r resource, rid, key string, sent []string) error {
	for attempt := 0; ; attempt++ {
		if r.etag == "" {
			data, etag, err := p.dav.get(ctx, r.href)
			if err != nil {
				return err
			}
			r.data, r.etag = data, etag
		}
		d := parseICS(r.data)
		e := d.event(rid)
		if e == nil || textOf(d.component(e), propUpdateKey) != key {
			return nil // superseded by a later update: nothing to record
		}
		have := map[string]bool{}
		for _, l := range d.all(e, propNotified) {
			have[calAddr(unescapeText(l.value))] = true
		}
		ed := d.edit(e)
		for _, a := range sent {
			if !have[a] {
				ed.add(propNotified, "", escapeText("mailto:"+a))
			}
		}
		if len(ed.insert) == 0 {
			return nil
		}
		_, err := p.dav.put(ctx, r.href, r.etag, ed.apply())
		if err == nil {
			return nil
		}
		if httpStatus(err) != http.StatusPreconditionFailed || attempt >= 4 {
			return fmt.Errorf("caldav: recording the notified attendees of %s: %w", r.href, err)
		}
		r.etag = "" // re-read and try again
	}
}

// recipients returns the attendees to tell: all but the organizer and the
// mailbox owner, and not those whose scheduling is disabled.
func (p *principal) recipients(d *icsDoc, e *icsEvent) []calendar.Attendee {
	c := d.component(e)
	org := ""
	if o := c.Props.Get(ical.PropOrganizer); o != nil {
		org = calAddr(o.Value)
	}
	seen := map[string]bool{}
	var out []calendar.Attendee
	for _, a := range c.Props.Values(ical.PropAttendee) {
		addr := calAddr(a.Value)
		if addr == "" || addr == org || p.addrs[addr] || seen[addr] || !strings.Contains(addr, "@") {
			continue
		}
		if strings.EqualFold(a.Params.Get("SCHEDULE-AGENT"), "NONE") {
			continue
		}
		if p.mode == NotifyServer && strings.EqualFold(a.Params.Get("SCHEDULE-AGENT"), "CLIENT") {
			continue
		}
		seen[addr] = true
		out = append(out, calendar.Attendee{Address: addr, Name: a.Params.Get(ical.ParamCommonName)})
	}
	return out
}

// apply edits the VEVENT and returns the new resource text.
func (p *principal) apply(d *icsDoc, e *icsEvent, u calendar.Update, key string, now time.Time) string {
	ed := d.edit(e)
	c := d.component(e)
	oldText := textOf(c, ical.PropDescription)
	var oldHTML string
	alt := d.altHTML(e)
	if alt != nil {
		oldHTML = unescapeText(alt.value)
	}

	// Body: one body in, DESCRIPTION and X-ALT-DESC out, consistently.
	var newText, newHTML string
	format := meetingblock.FormatText
	if alt != nil || looksHTML(u.Body) {
		format = meetingblock.FormatHTML
		newHTML = u.Body
		var ok bool
		if newText, ok = convert(oldText, meetingblock.FormatText, u.Body, meetingblock.FormatHTML); !ok {
			newText = htmlToText(u.Body)
		}
		if alt != nil {
			ed.setLine(d.lineIndex(alt), alt.params, escapeText(newHTML))
		} else {
			ed.add(propAltDesc, ";FMTTYPE=text/html", escapeText(newHTML))
		}
	} else {
		newText = u.Body
	}
	ed.set(ical.PropDescription, nil, escapeText(newText))

	// Join link metadata.
	oldBody := oldText
	if format == meetingblock.FormatHTML {
		oldBody = oldHTML
	}
	oldJoin, newJoin := "", ""
	if blk, err := meetingblock.Find(oldBody, format); err == nil {
		oldJoin = blk.JoinURL
	}
	if blk, err := meetingblock.Find(u.Body, format); err == nil {
		newJoin = blk.JoinURL
	}
	if u.OnlineMeeting != nil && u.OnlineMeeting.JoinURL != "" {
		newJoin = u.OnlineMeeting.JoinURL
	}
	if newJoin != "" && (u.OnlineMeeting != nil || newJoin != oldJoin) {
		old := onlineMeeting(c, oldBody, map[meetingblock.Format]string{meetingblock.FormatHTML: calendar.BodyHTML,
			meetingblock.FormatText: calendar.BodyText}[format])
		teamsProp := c.Props.Get(propTeamsURL) != nil
		if teamsProp || (u.OnlineMeeting != nil && u.OnlineMeeting.Provider == calendar.ProviderTeams) {
			ed.set(propTeamsURL, nil, escapeText(newJoin))
		}
		replaced := false
		var confs []int
		for _, i := range e.props {
			if d.lines[i].name == propConf {
				confs = append(confs, i)
			}
		}
		for _, i := range confs {
			v := strings.TrimSpace(d.lines[i].value)
			if v == oldJoin || (old != nil && v == old.JoinURL) || isTeamsURL(v) || providerOf(v, true, false) == calendar.ProviderSkype {
				ed.setLine(i, d.lines[i].params, newJoin)
				replaced = true
			}
		}
		if !replaced {
			ed.add(propConf, ";VALUE=URI;FEATURE=AUDIO,VIDEO", newJoin)
		}
	}

	// SEQUENCE (stored + 1, written as a plain integer), stamps, key.
	seq := 0
	if l := d.first(e, ical.PropSequence); l != nil {
		seq = atoi(l.value)
	}
	ed.set(ical.PropSequence, nil, fmt.Sprint(seq+1))
	stamp := now.UTC().Format(icalUTC)
	ed.set(ical.PropDateTimeStamp, nil, stamp)
	ed.set(ical.PropLastModified, nil, stamp)
	ed.set(propUpdateKey, ptr(""), escapeText(key))
	ed.del(propNotified)

	// Server scheduling: force the REQUEST for this insignificant change.
	org := ""
	if o := c.Props.Get(ical.PropOrganizer); o != nil {
		org = calAddr(o.Value)
	}
	for _, i := range e.props {
		l := d.lines[i]
		if l.name != ical.PropAttendee || calAddr(l.value) == org || p.addrs[calAddr(l.value)] {
			continue
		}
		agent := parseParams(l.params).Get("SCHEDULE-AGENT")
		if p.mode == NotifyServer && (agent == "" || strings.EqualFold(agent, "SERVER")) {
			ed.setLine(i, removeParam(l.params, "SCHEDULE-FORCE-SEND")+";SCHEDULE-FORCE-SEND=REQUEST", l.value)
		}
	}
	return ed.apply()
}

func (d *icsDoc) lineIndex(l *contentLine) int {
	for i, x := range d.lines {
		if x == l {
			return i
		}
	}
	return -1
}
