// Package ical is the one line-preserving iCalendar editor of mms: the
// block engine's `--format ical` (meetingblock) and the CalDAV back end both
// read and write iCalendar text through it.
//
// It works at the level of content lines (RFC 5545 §3.1): every line it is
// not told to rewrite is written back with its exact bytes (folding,
// parameter order and quoting, unknown properties, line endings), which a
// decode/encode round trip through a generic iCalendar library, sorting
// properties and parameters, cannot promise. A TEXT value is decoded with a
// map back to its raw bytes, so that part of it (a meeting block) can be
// replaced without touching the rest of the line.
package ical

import (
	"strings"
)

// Line is one content line: its physical lines joined.
type Line struct {
	Raw    string // exact bytes of its physical lines, the final line break included
	Name   string // upper case
	Params string // raw parameter text after the name (";A=b;C=d"), unfolded
	Value  string // raw value after the first unquoted ':', unfolded

	start  int // offset of the line in the document
	vstart int // offset of the value's first byte in Raw
	end    int // offset of the final line break in Raw (len(Raw) if none)
}

// Text is the line unfolded, without its final line break.
func (l *Line) Text() string { return unfold(l.Raw[:l.end]) }

// nl is the line break this line ends with ("\r\n" unless it uses "\n").
func (l *Line) nl() string {
	if l.end < len(l.Raw) && l.Raw[l.end] == '\n' {
		return "\n"
	}
	return "\r\n"
}

// Doc is a parsed iCalendar text.
type Doc struct {
	Lines  []*Line
	NL     string // line break for new lines: "\r\n" unless the text uses "\n"
	events []*Event
}

// Event is a VEVENT component.
type Event struct {
	Begin, End int    // indexes of its BEGIN:VEVENT and END:VEVENT lines (End is len(Lines) if it has none)
	RID        string // RECURRENCE-ID value, "" for a series master or a single meeting
	Props      []int  // indexes of its own property lines (not a VALARM's)
}

// Parse splits an iCalendar text into content lines and finds its VEVENTs.
// It never fails: what it cannot read it keeps as lines.
func Parse(s string) *Doc {
	d := &Doc{NL: "\r\n"}
	if i := strings.IndexByte(s, '\n'); i >= 0 && (i == 0 || s[i-1] != '\r') {
		d.NL = "\n"
	}
	for pos := 0; pos < len(s); {
		end, next := len(s), len(s)
		for p := pos; ; {
			i := strings.IndexByte(s[p:], '\n')
			if i < 0 {
				break
			}
			// A line break followed by a space or tab is a fold.
			if n := p + i + 1; n < len(s) && (s[n] == ' ' || s[n] == '\t') {
				p = n
				continue
			}
			end, next = p+i, p+i+1
			if end > pos && s[end-1] == '\r' {
				end--
			}
			break
		}
		d.Lines = append(d.Lines, newLine(s[pos:next], end-pos))
		d.Lines[len(d.Lines)-1].start = pos
		pos = next
	}
	d.findEvents()
	return d
}

// newLine splits the content line raw, whose final line break starts at end.
func newLine(raw string, end int) *Line {
	l := &Line{Raw: raw, end: end, vstart: end}
	nameEnd, colon := -1, -1
	quoted := false
	for i := 0; i < end; i++ {
		if n := foldAt(raw, i); n > 0 {
			i += n - 1
			continue
		}
		switch c := raw[i]; {
		case nameEnd < 0 && (c == ';' || c == ':'):
			nameEnd = i
			if c == ':' {
				colon = i
			}
		case nameEnd >= 0 && c == '"':
			quoted = !quoted
		case nameEnd >= 0 && c == ':' && !quoted:
			colon = i
		}
		if colon >= 0 {
			break
		}
	}
	switch {
	case nameEnd < 0:
		l.Name = strings.ToUpper(strings.TrimSpace(unfold(raw[:end])))
	case colon < 0:
		l.Name, l.Params = strings.ToUpper(unfold(raw[:nameEnd])), unfold(raw[nameEnd:end])
	default:
		l.Name, l.Params = strings.ToUpper(unfold(raw[:nameEnd])), unfold(raw[nameEnd:colon])
		l.vstart = colon + 1
		l.Value = unfold(raw[l.vstart:end])
	}
	return l
}

// findEvents finds every VEVENT and its own properties. An END closes the
// innermost open component of its name (and what is open inside it).
func (d *Doc) findEvents() {
	type open struct {
		name string
		ev   *Event
	}
	var stack []open
	for i, l := range d.Lines {
		switch l.Name {
		case "BEGIN":
			c := strings.ToUpper(strings.TrimSpace(l.Value))
			o := open{name: c}
			if c == "VEVENT" {
				o.ev = &Event{Begin: i, End: len(d.Lines)}
				d.events = append(d.events, o.ev)
			}
			stack = append(stack, o)
			continue
		case "END":
			c := strings.ToUpper(strings.TrimSpace(l.Value))
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top.name == c {
					if top.ev != nil {
						top.ev.End = i
					}
					break
				}
			}
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1].ev == nil {
			continue
		}
		ev := stack[len(stack)-1].ev
		ev.Props = append(ev.Props, i)
		if l.Name == "RECURRENCE-ID" {
			ev.RID = strings.TrimSpace(l.Value)
		}
	}
}

// Events returns the VEVENTs in document order.
func (d *Doc) Events() []*Event { return d.events }

// Event returns the VEVENT with RECURRENCE-ID rid ("" for the master or a
// single meeting), or nil.
func (d *Doc) Event(rid string) *Event {
	for _, e := range d.events {
		if e.RID == rid {
			return e
		}
	}
	return nil
}

// String returns the text.
func (d *Doc) String() string {
	var b strings.Builder
	for _, l := range d.Lines {
		b.WriteString(l.Raw)
	}
	return b.String()
}

// First returns the first own line of e named name, or nil.
func (d *Doc) First(e *Event, name string) *Line {
	for _, i := range e.Props {
		if d.Lines[i].Name == name {
			return d.Lines[i]
		}
	}
	return nil
}

// All returns the own lines of e named name.
func (d *Doc) All(e *Event, name string) []*Line {
	var out []*Line
	for _, i := range e.Props {
		if d.Lines[i].Name == name {
			out = append(out, d.Lines[i])
		}
	}
	return out
}

// PropAltDesc is Microsoft's alternative description, the HTML body.
const PropAltDesc = "X-ALT-DESC"

// AltHTML returns the indexes of e's HTML alternative descriptions:
// X-ALT-DESC lines with FMTTYPE=text/html or no FMTTYPE.
func (d *Doc) AltHTML(e *Event) []int {
	var out []int
	for _, i := range e.Props {
		l := d.Lines[i]
		if l.Name != PropAltDesc {
			continue
		}
		if ft := ParseParams(l.Params)["FMTTYPE"]; len(ft) == 0 || strings.EqualFold(ft[0], "text/html") {
			out = append(out, i)
		}
	}
	return out
}

// ParseParams reads ";NAME=v1,v2;NAME2="q"" into values by upper-case
// name, quotes removed.
func ParseParams(s string) map[string][]string {
	p := map[string][]string{}
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return p
		}
		name := strings.ToUpper(s[:eq])
		s = s[eq+1:]
		for {
			var v string
			if strings.HasPrefix(s, `"`) {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					v, s = s[1:], ""
				} else {
					v, s = s[1:end+1], s[end+2:]
				}
			} else {
				end := strings.IndexAny(s, ",;")
				if end < 0 {
					end = len(s)
				}
				v, s = s[:end], s[end:]
			}
			p[name] = append(p[name], v)
			if strings.HasPrefix(s, ",") {
				s = s[1:]
				continue
			}
			break
		}
	}
	return p
}

// RemoveParam drops every NAME=... parameter from raw parameter text.
func RemoveParam(params, name string) string {
	var b strings.Builder
	for len(params) > 0 {
		// params starts with ';': find the end of this parameter.
		end, quoted := 1, false
		for ; end < len(params); end++ {
			if params[end] == '"' {
				quoted = !quoted
			} else if params[end] == ';' && !quoted {
				break
			}
		}
		one := params[:end]
		params = params[end:]
		if n, _, _ := strings.Cut(one[1:], "="); strings.EqualFold(n, name) {
			continue
		}
		b.WriteString(one)
	}
	return b.String()
}
