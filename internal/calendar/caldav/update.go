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
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
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
	if u.IdempotencyKey != "" && textOf(component(d, e), propUpdateKey) == key {
		// This change is stored already (a retry): finish its notifications.
		return b.finish(ctx, p, r, e.RID, key)
	}
	if o := d.First(e, ical.PropOrganizer); o != nil && !p.addrs[calAddr(o.Value)] {
		// Only the organizer's copy is migrated and sent out.
		return calendar.UpdateResult{}, fmt.Errorf("caldav: meeting %q: %s organizes it, not %s",
			u.MeetingID, calAddr(o.Value), u.Mailbox)
	}
	srvTag, digest := splitETag(u.ETag)
	if srvTag != r.etag && (digest == "" || digest != hash(d, e)) {
		return calendar.UpdateResult{}, fmt.Errorf("caldav: meeting %q: etag %s, stored %s: %w",
			u.MeetingID, u.ETag, eventETag(r.etag, hash(d, e)), calendar.ErrConflict)
	}
	text := p.apply(d, e, u, key, b.now())
	etag, err := p.dav.put(ctx, r.href, r.etag, text)
	if err != nil {
		return calendar.UpdateResult{}, conflictOr(err, "meeting "+u.MeetingID)
	}
	return b.finish(ctx, p, resource{href: r.href, etag: etag, data: text}, e.RID, key)
}

// finish notifies the attendees of a stored update (iMIP mode) and returns
// the result: the meeting's ETag and the number of attendees told.
func (b *Backend) finish(ctx context.Context, p *principal, r resource, rid, key string) (calendar.UpdateResult, error) {
	d := icaledit.Parse(r.data)
	e := d.Event(rid)
	if e == nil {
		return calendar.UpdateResult{}, fmt.Errorf("caldav: %s#%s vanished: %w", r.href, rid, calendar.ErrNotFound)
	}
	recips := p.recipients(d, e)
	res := calendar.UpdateResult{InvitesSent: len(recips)}
	var sendErr error
	if p.mode == NotifyIMIP {
		done := map[string]bool{}
		for _, l := range d.All(e, propNotified) {
			done[calAddr(icaledit.Unescape(l.Value))] = true
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
	d = icaledit.Parse(data)
	if e = d.Event(rid); e != nil {
		res.ETag = eventETag(etag, hash(d, e))
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
		d := icaledit.Parse(r.data)
		e := d.Event(rid)
		if e == nil || textOf(component(d, e), propUpdateKey) != key {
			return nil // superseded by a later update: nothing to record
		}
		have := map[string]bool{}
		for _, l := range d.All(e, propNotified) {
			have[calAddr(icaledit.Unescape(l.Value))] = true
		}
		ed := d.Edit()
		for _, a := range sent {
			if !have[a] {
				ed.Add(e, propNotified, "", icaledit.Escape("mailto:"+a))
			}
		}
		if !ed.Changed() {
			return nil
		}
		_, err := p.dav.put(ctx, r.href, r.etag, ed.Apply())
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
func (p *principal) recipients(d *icaledit.Doc, e *icaledit.Event) []calendar.Attendee {
	c := component(d, e)
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

// apply edits the VEVENT and returns the new resource text. The body goes
// through the block engine's iCalendar editor, which keeps DESCRIPTION and
// X-ALT-DESC consistent and tells the old and new join links, so the event
// and the new body are each read once.
func (p *principal) apply(d *icaledit.Doc, e *icaledit.Event, u calendar.Update, key string, now time.Time) string {
	ed := d.Edit()
	c := component(d, e)

	// Body: one body in, DESCRIPTION and X-ALT-DESC out, consistently.
	body := meetingblock.SetICalBody(ed, e, u.Body, looksHTML(u.Body))
	if !body.TextDone && body.Format == meetingblock.FormatHTML {
		ed.Set(e, ical.PropDescription, nil, icaledit.Escape(htmlToText(u.Body)))
	}

	// Join link metadata.
	oldJoin, newJoin := "", ""
	if body.OldErr == nil {
		oldJoin = body.Old.JoinURL
	}
	if body.NewErr == nil {
		newJoin = body.New.JoinURL
	}
	if u.OnlineMeeting != nil && u.OnlineMeeting.JoinURL != "" {
		newJoin = u.OnlineMeeting.JoinURL
	}
	if newJoin != "" && (u.OnlineMeeting != nil || newJoin != oldJoin) {
		old := onlineMeeting(c, body.Old, body.OldErr == nil)
		teamsProp := c.Props.Get(propTeamsURL) != nil
		if teamsProp || (u.OnlineMeeting != nil && u.OnlineMeeting.Provider == calendar.ProviderTeams) {
			ed.Set(e, propTeamsURL, nil, icaledit.Escape(newJoin))
		}
		replaced := false
		for _, i := range e.Props {
			l := d.Lines[i]
			if l.Name != propConf {
				continue
			}
			v := strings.TrimSpace(l.Value)
			if v == oldJoin || (old != nil && v == old.JoinURL) || isTeamsURL(v) || providerOf(v, true, false) == calendar.ProviderSkype {
				ed.SetLine(i, l.Params, newJoin)
				replaced = true
			}
		}
		if !replaced {
			ed.Add(e, propConf, ";VALUE=URI;FEATURE=AUDIO,VIDEO", newJoin)
		}
	}

	// SEQUENCE (stored + 1, written as a plain integer), stamps, key.
	seq := 0
	if l := d.First(e, ical.PropSequence); l != nil {
		seq = atoi(l.Value)
	}
	ed.Set(e, ical.PropSequence, nil, fmt.Sprint(seq+1))
	stamp := now.UTC().Format(icalUTC)
	ed.Set(e, ical.PropDateTimeStamp, nil, stamp)
	ed.Set(e, ical.PropLastModified, nil, stamp)
	ed.Set(e, propUpdateKey, icaledit.Ptr(""), icaledit.Escape(key))
	ed.Del(e, propNotified)

	// Server scheduling: force the REQUEST for this insignificant change.
	org := ""
	if o := c.Props.Get(ical.PropOrganizer); o != nil {
		org = calAddr(o.Value)
	}
	for _, i := range e.Props {
		l := d.Lines[i]
		if l.Name != ical.PropAttendee || calAddr(l.Value) == org || p.addrs[calAddr(l.Value)] {
			continue
		}
		agent := parseParams(l.Params).Get("SCHEDULE-AGENT")
		if p.mode == NotifyServer && (agent == "" || strings.EqualFold(agent, "SERVER")) {
			ed.SetLine(i, icaledit.RemoveParam(l.Params, "SCHEDULE-FORCE-SEND")+";SCHEDULE-FORCE-SEND=REQUEST", l.Value)
		}
	}
	return ed.Apply()
}
