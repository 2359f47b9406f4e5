package meetingblock

import (
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/openmms/mms/internal/meetingblock/ical"
	"github.com/openmms/mms/internal/migration"
)

// The block of an iCalendar event lives in two properties: DESCRIPTION
// (text) and Outlook's X-ALT-DESC (HTML). Both are read and written through
// package ical, the one line-preserving editor, by Replace (FormatICal, `mms
// preview --format ical`) and by SetICalBody (the CalDAV back end) alike.

// icalEvent is one VEVENT's DESCRIPTION and HTML X-ALT-DESC, decoded, and
// the block of each.
type icalEvent struct {
	desc, alt       *ical.TextValue // the first of each
	altLine         int
	descBlk, altBlk Block // offsets into the values
	errD, errA      error
	altCharset      string
	found           bool
	merged          Block // offsets into the raw text
}

// readEvent decodes e's DESCRIPTION and HTML X-ALT-DESC and finds their
// blocks. err is the first reason in line order not to trust them as a
// whole: a value that is not UTF-8, a second DESCRIPTION or X-ALT-DESC.
func readEvent(d *ical.Doc, e *ical.Event) (ev *icalEvent, err error) {
	ev = &icalEvent{altLine: -1}
	alts := d.AltHTML(e)
	for _, i := range e.Props {
		l := d.Lines[i]
		slot, bad := &ev.desc, &ev.errD
		switch {
		case l.Name == "DESCRIPTION":
		case len(alts) > 0 && i == alts[0]:
			slot, bad = &ev.alt, &ev.errA
			ev.altLine = i
		case slices.Contains(alts, i):
			slot, bad = &ev.alt, &ev.errA
		default:
			continue
		}
		t := d.Decode(i)
		switch {
		case !utf8.ValidString(t.Value):
			if *slot == nil {
				*bad = ErrInvalidUTF8
			}
			err = firstErr(err, ErrInvalidUTF8)
		case *slot != nil:
			err = firstErr(err, ErrMultipleBlocks)
		}
		if *slot == nil {
			*slot = t
		}
	}
	if ev.desc != nil && ev.errD == nil {
		ev.descBlk, ev.errD = findText(ev.desc.Value)
	}
	if ev.alt != nil && ev.errA == nil {
		var h *htmlDoc
		ev.altBlk, h, ev.errA = findHTML(ev.alt.Value)
		ev.altCharset = h.charset
	}
	return ev, err
}

func firstErr(err, e error) error {
	if err != nil {
		return err
	}
	return e
}

// readICal reads every VEVENT of an iCalendar text and the block of the
// whole text: the first event's, with the spans of all.
func readICal(d *ical.Doc) ([]*icalEvent, Block, error) {
	var evs []*icalEvent
	for _, e := range d.Events() {
		ev, err := readEvent(d, e)
		if err != nil {
			return nil, Block{}, err
		}
		evs = append(evs, ev)
	}
	var blk Block
	var spans []Span
	for _, ev := range evs {
		if err := ev.merge(); err != nil {
			return nil, Block{}, err
		}
		if !ev.found {
			continue
		}
		if blk.Kind == "" {
			blk = ev.merged
		}
		spans = append(spans, ev.merged.Spans...)
	}
	if blk.Kind == "" {
		return nil, Block{}, ErrNoBlock
	}
	blk.Spans = spans
	return evs, blk, nil
}

// merge checks that the blocks of one VEVENT agree and merges them.
func (ev *icalEvent) merge() error {
	errD, errA := ev.errD, ev.errA
	if ev.desc == nil {
		errD = ErrNoBlock
	}
	if ev.alt == nil {
		errA = ErrNoBlock
	}
	for _, err := range []error{errD, errA} {
		if err != nil && err != ErrNoBlock {
			return err
		}
	}
	hasD, hasA := errD == nil, errA == nil
	switch {
	case !hasD && !hasA:
		return nil
	case hasD && ev.alt != nil && !hasA, hasA && ev.desc != nil && !hasD:
		return ErrMismatch
	}
	ev.found = true
	var m Block
	if hasA {
		m = ev.altBlk
		a := Span{ev.alt.Raw(m.Start), ev.alt.Raw(m.End)}
		m.Spans = []Span{a}
		m.Start, m.End = a.Start, a.End
	}
	if hasD {
		d := ev.descBlk
		s := Span{ev.desc.Raw(d.Start), ev.desc.Raw(d.End)}
		if !hasA {
			m = d
			m.Spans = nil
		} else if d.Kind != m.Kind || d.JoinURL != "" && m.JoinURL != "" && d.JoinURL != m.JoinURL {
			return ErrMismatch
		} else {
			m.mergeFrom(d)
		}
		m.Start, m.End = s.Start, s.End
		m.Spans = append(m.Spans, s)
		sort.Slice(m.Spans, func(i, j int) bool { return m.Spans[i].Start < m.Spans[j].Start })
	}
	ev.merged = m
	return nil
}

// mergeFrom fills what the HTML block lacks from the text block.
func (b *Block) mergeFrom(o Block) {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&b.JoinURL, o.JoinURL}, {&b.CompatJoinURL, o.CompatJoinURL}, {&b.MeetingOptionsURL, o.MeetingOptionsURL},
		{&b.ConferenceID, o.ConferenceID}, {&b.MeetingID, o.MeetingID}, {&b.Passcode, o.Passcode},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	for _, n := range o.TollNumbers {
		b.addToll(n)
	}
	b.ThirdParty = b.ThirdParty || o.ThirdParty
	if b.Language == "" {
		b.Language, b.LanguageFrom = o.Language, o.LanguageFrom
	}
}

// renderInto puts the block rendered for c and kind in place of block b of
// the value t, unless it is that block already, and says whether it did.
func renderInto(ed *ical.Edit, t *ical.TextValue, b Block, c coords, p Profile, l *catalog, kind Kind, f Format) bool {
	nl := "\n" // escaped TEXT has only LF line breaks
	if f == FormatHTML {
		nl = newline(t.Value, b.Start, b.End)
	}
	nb := render(c, p, l, kind, f, nl)
	if t.Value[b.Start:b.End] == nb {
		return false
	}
	ed.Splice(t, b.Start, b.End, nb)
	return true
}

// replaceICal rewrites the DESCRIPTION and X-ALT-DESC blocks of every VEVENT
// that has one, keeping every other byte of the iCalendar text.
func replaceICal(body string, p Profile, t migration.Target) Result {
	res := Result{Outcome: NotReplaced, Body: body}
	d := ical.Parse(body)
	evs, blk, err := readICal(d)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	res.Old = blk
	ed := d.Edit()
	changed := false
	for _, ev := range evs {
		if !ev.found {
			continue
		}
		if ev.alt != nil {
			if err := checkCharset(ev.altCharset); err != nil {
				res.Reason = err.Error()
				return res
			}
		}
		c, kind, keep, reason := plan(ev.merged, p, t)
		if res.NewKind == "" {
			res.NewKind = kind
		}
		if reason != "" {
			res.Reason = reason
			return res
		}
		if keep {
			continue
		}
		l, why := chooseCatalog(p, ev.merged)
		if res.Language == "" {
			res.Language, res.LanguageReason = l.Tag, why
		}
		if ev.desc != nil {
			changed = renderInto(ed, ev.desc, ev.descBlk, c, p, l, kind, FormatText) || changed
		}
		if ev.alt != nil {
			changed = renderInto(ed, ev.alt, ev.altBlk, c, p, l, kind, FormatHTML) || changed
		}
	}
	if !changed {
		res.Outcome = UpToDate
		return res
	}
	res.Outcome = Replaced
	res.Body = ed.Apply()
	return res
}

// ICalBody says what SetICalBody did.
type ICalBody struct {
	// Format is the representation the body went into whole: FormatHTML
	// (X-ALT-DESC) or FormatText (DESCRIPTION).
	Format Format
	// Old is the block of the event's previous body in that representation,
	// as the event was read; New is the block of the new body.
	Old, New       Block
	OldErr, NewErr error
	// TextDone is false when an HTML body could not be carried over into
	// DESCRIPTION by its block alone: the caller writes DESCRIPTION whole.
	TextDone bool
}

// SetICalBody makes body the body of the VEVENT e, for a back end that
// stores iCalendar (CalDAV). An HTML body (or any body of an event that
// has an HTML X-ALT-DESC) becomes X-ALT-DESC, and DESCRIPTION gets the
// block of the new body in place of its own, everything around it kept, so
// that text-only clients show the same meeting; a text body becomes
// DESCRIPTION. The event is read once, and body is searched once.
func SetICalBody(ed *ical.Edit, e *ical.Event, body string, html bool) ICalBody {
	d := ed.Doc()
	ev, _ := readEvent(d, e) // a second DESCRIPTION is deleted below, not a reason to refuse
	r := ICalBody{Format: FormatText, Old: ev.descBlk, OldErr: ev.errD}
	if ev.desc == nil {
		r.OldErr = ErrNoBlock
	}
	if ev.alt != nil || html {
		r.Format, r.Old, r.OldErr = FormatHTML, ev.altBlk, ev.errA
		if ev.alt == nil {
			r.OldErr = ErrNoBlock
		}
	}
	r.New, r.NewErr = Find(body, r.Format)
	if r.Format == FormatText {
		ed.Set(e, "DESCRIPTION", nil, ical.Escape(body))
		return r
	}
	if ev.alt != nil {
		ed.SetLine(ev.altLine, d.Lines[ev.altLine].Params, ical.Escape(body))
	} else {
		ed.Add(e, ical.PropAltDesc, ";FMTTYPE=text/html", ical.Escape(body))
	}
	r.TextDone = ev.carryText(ed, e, r.New, r.NewErr)
	return r
}

// carryText replaces the block of DESCRIPTION by nb rendered as text, as
// Replace would with a profile made from nb, and says whether it could.
func (ev *icalEvent) carryText(ed *ical.Edit, e *ical.Event, nb Block, err error) bool {
	if err != nil || ev.desc == nil || ev.desc.Value == "" || ev.errD != nil || len(ev.desc.Value) > MaxBodySize {
		return false
	}
	p := profileFrom(nb)
	if p.Validate() != nil {
		return false
	}
	t := migration.TargetCurrent
	if nb.Kind == KindTeams {
		t = migration.TargetTeams
	}
	c, kind, keep, reason := plan(ev.descBlk, p, t)
	if reason != "" || keep {
		return false // the caller writes DESCRIPTION whole
	}
	l, _ := chooseCatalog(p, ev.descBlk)
	renderInto(ed, ev.desc, ev.descBlk, c, p, l, kind, FormatText)
	ed.DelOthers(e, "DESCRIPTION", ev.desc.Line())
	return true
}

// profileFrom turns a block found in one representation of a body into a
// profile rendering the same block in another.
func profileFrom(b Block) Profile {
	p := Profile{
		MeetingType:       string(b.Kind),
		JoinURL:           b.JoinURL,
		ConferenceID:      b.ConferenceID,
		MeetingID:         b.MeetingID,
		Passcode:          b.Passcode,
		MeetingOptionsURL: b.MeetingOptionsURL,
		Provider:          ProviderNone,
	}
	// The text then says what the HTML says, in its language.
	if _, err := ParseLocale(b.Language); err == nil {
		p.Locale = b.Language
	}
	if len(b.TollNumbers) > 0 {
		p.Provider = ProviderMicrosoft
		p.TollNumber = b.TollNumbers[0]
		p.TollFreeNumbers = b.TollNumbers[1:]
	}
	return p
}
