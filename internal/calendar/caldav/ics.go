package caldav

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// The update path edits an iCalendar resource at the level of its content
// lines: every line it does not rewrite is written back with its exact
// bytes (folding, parameter order and quoting, unknown properties,
// line endings), which go-ical's encoder, sorting properties and parameters,
// cannot promise. Reading uses the same lines, wrapped as go-ical Props for
// its typed accessors (dates, durations, recurrence sets, text unescaping).

// contentLine is one logical line of an iCalendar text.
type contentLine struct {
	raw    string // exact bytes of all its physical lines, line breaks included
	text   string // unfolded, without the final line break
	name   string // upper case
	params string // raw parameter text after the name (";A=b;C=d"), unfolded
	value  string // raw value after the first unquoted ':'
}

type icsDoc struct {
	lines []*contentLine
	nl    string // the document's line break ("\r\n" unless it uses "\n")
}

// icsEvent is a VEVENT that is a direct child of VCALENDAR.
type icsEvent struct {
	begin, end int    // indexes of its BEGIN:VEVENT and END:VEVENT lines
	rid        string // RECURRENCE-ID value, "" for a master or single
	props      []int  // indexes of its own property lines (not VALARM's)
}

func parseICS(s string) *icsDoc {
	d := &icsDoc{nl: "\r\n"}
	if i := strings.IndexByte(s, '\n'); i >= 0 && (i == 0 || s[i-1] != '\r') {
		d.nl = "\n"
	}
	for pos := 0; pos < len(s); {
		end := len(s)
		for p := pos; ; {
			i := strings.IndexByte(s[p:], '\n')
			if i < 0 {
				break
			}
			n := p + i + 1
			if n < len(s) && (s[n] == ' ' || s[n] == '\t') {
				p = n
				continue
			}
			end = n
			break
		}
		d.lines = append(d.lines, newContentLine(s[pos:end]))
		pos = end
	}
	return d
}

func newContentLine(raw string) *contentLine {
	l := &contentLine{raw: raw, text: unfold(raw)}
	t := l.text
	i := strings.IndexAny(t, ";:")
	if i < 0 {
		l.name = strings.ToUpper(strings.TrimSpace(t))
		return l
	}
	l.name = strings.ToUpper(t[:i])
	quoted := false
	for j := i; j < len(t); j++ {
		switch t[j] {
		case '"':
			quoted = !quoted
		case ':':
			if !quoted {
				l.params, l.value = t[i:j], t[j+1:]
				return l
			}
		}
	}
	l.params = t[i:]
	return l
}

// unfold joins folded physical lines and drops the final line break.
func unfold(raw string) string {
	raw = strings.TrimRight(raw, "\r\n")
	if !strings.Contains(raw, "\n") {
		return raw
	}
	var b strings.Builder
	for i, part := range strings.Split(raw, "\n") {
		part = strings.TrimSuffix(part, "\r")
		if i > 0 && part != "" {
			part = part[1:]
		}
		b.WriteString(part)
	}
	return b.String()
}

func (d *icsDoc) String() string {
	var b strings.Builder
	for _, l := range d.lines {
		b.WriteString(l.raw)
	}
	return b.String()
}

// events returns the VEVENTs of the VCALENDAR.
func (d *icsDoc) events() []*icsEvent {
	var out []*icsEvent
	var stack []string
	var ev *icsEvent
	for i, l := range d.lines {
		switch l.name {
		case "BEGIN":
			c := strings.ToUpper(strings.TrimSpace(l.value))
			stack = append(stack, c)
			if c == "VEVENT" && len(stack) == 2 {
				ev = &icsEvent{begin: i}
			}
			continue
		case "END":
			if len(stack) == 2 && ev != nil {
				ev.end = i
				out = append(out, ev)
				ev = nil
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if ev != nil && len(stack) == 2 {
			ev.props = append(ev.props, i)
			if l.name == "RECURRENCE-ID" {
				ev.rid = strings.TrimSpace(l.value)
			}
		}
	}
	return out
}

func (d *icsDoc) event(rid string) *icsEvent {
	for _, e := range d.events() {
		if e.rid == rid {
			return e
		}
	}
	return nil
}

// first returns the first line of the event named name, or nil.
func (d *icsDoc) first(e *icsEvent, name string) *contentLine {
	for _, i := range e.props {
		if d.lines[i].name == name {
			return d.lines[i]
		}
	}
	return nil
}

func (d *icsDoc) all(e *icsEvent, name string) []*contentLine {
	var out []*contentLine
	for _, i := range e.props {
		if d.lines[i].name == name {
			out = append(out, d.lines[i])
		}
	}
	return out
}

// hash digests the event's unfolded lines, so that a server refolding the
// text does not change it.
func (d *icsDoc) hash(e *icsEvent) string {
	h := sha256.New()
	for i := e.begin; i <= e.end; i++ {
		h.Write([]byte(d.lines[i].text))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// component returns the event as a go-ical component (own properties only)
// for typed access.
func (d *icsDoc) component(e *icsEvent) *ical.Component {
	c := ical.NewComponent(ical.CompEvent)
	for _, i := range e.props {
		l := d.lines[i]
		c.Props.Add(&ical.Prop{Name: l.name, Params: parseParams(l.params), Value: l.value})
	}
	return c
}

// parseParams reads ";NAME=v1,v2;NAME2="q"" into go-ical Params.
func parseParams(s string) ical.Params {
	p := ical.Params{}
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
			p.Add(name, v)
			if strings.HasPrefix(s, ",") {
				s = s[1:]
				continue
			}
			break
		}
	}
	return p
}

// removeParam drops every NAME=... parameter from raw parameter text.
func removeParam(params, name string) string {
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

// escapeText escapes a TEXT value (RFC 5545 §3.3.11); line breaks become \n.
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeText undoes escapeText (\N too).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// fold renders a content line folded at 75 octets (RFC 5545 §3.1) without
// splitting a UTF-8 sequence, followed by nl.
func fold(text, nl string) string {
	var b strings.Builder
	limit := 75
	for len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		b.WriteString(text[:cut])
		b.WriteString(nl)
		b.WriteByte(' ')
		text = text[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(text)
	b.WriteString(nl)
	return b.String()
}

func (d *icsDoc) newLine(name, params, value string) *contentLine {
	return newContentLine(fold(name+params+":"+value, d.nl))
}

// icsEdit collects changes to one event and applies them in one pass.
type icsEdit struct {
	d       *icsDoc
	e       *icsEvent
	replace map[int]*contentLine // nil value: delete
	insert  []*contentLine       // before END:VEVENT
}

func (d *icsDoc) edit(e *icsEvent) *icsEdit {
	return &icsEdit{d: d, e: e, replace: map[int]*contentLine{}}
}

// set gives the event exactly one property name with value; the first
// existing line keeps its parameters unless params is not nil.
func (ed *icsEdit) set(name string, params *string, value string) {
	done := false
	for _, i := range ed.e.props {
		l := ed.d.lines[i]
		if l.name != name {
			continue
		}
		if done {
			ed.replace[i] = nil
			continue
		}
		p := l.params
		if params != nil {
			p = *params
		}
		if p == l.params && value == l.value {
			done = true // unchanged: keep its bytes
			continue
		}
		ed.replace[i] = ed.d.newLine(name, p, value)
		done = true
	}
	if !done {
		p := ""
		if params != nil {
			p = *params
		}
		ed.insert = append(ed.insert, ed.d.newLine(name, p, value))
	}
}

func (ed *icsEdit) del(name string) {
	for _, i := range ed.e.props {
		if ed.d.lines[i].name == name {
			ed.replace[i] = nil
		}
	}
}

func (ed *icsEdit) add(name, params, value string) {
	ed.insert = append(ed.insert, ed.d.newLine(name, params, value))
}

// setLine replaces line i (an own property of the event).
func (ed *icsEdit) setLine(i int, params, value string) {
	l := ed.d.lines[i]
	if params == l.params && value == l.value {
		return
	}
	ed.replace[i] = ed.d.newLine(l.name, params, value)
}

// apply returns the edited document text.
func (ed *icsEdit) apply() string {
	var b strings.Builder
	for i, l := range ed.d.lines {
		if i == ed.e.end {
			for _, n := range ed.insert {
				b.WriteString(n.raw)
			}
		}
		if r, ok := ed.replace[i]; ok {
			if r != nil {
				b.WriteString(r.raw)
			}
			continue
		}
		b.WriteString(l.raw)
	}
	return b.String()
}

func ptr(s string) *string { return &s }
