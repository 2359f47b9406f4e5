package meetingblock

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/openmms/mms/internal/migration"
)

// icalProp is a DESCRIPTION or X-ALT-DESC property of a VEVENT: where it is
// in the raw text, and its value unfolded and unescaped, with a map from
// value offsets back to raw offsets so that a block found in the value can be
// spliced into the raw text without touching anything else.
type icalProp struct {
	start, end int    // raw content line, without its final line break
	nl         string // the line break this content line uses ("\r\n" or "\n")
	value      string
	segs       []seg
}

// seg says that value offset l is raw offset r; offsets after it map
// linearly until the next seg (a fold or an escape changes the distance).
type seg struct{ l, r int }

// raw maps a value offset to a raw offset.
func (p *icalProp) raw(l int) int {
	i := sort.Search(len(p.segs), func(i int) bool { return p.segs[i].l > l }) - 1
	s := p.segs[i]
	return s.r + l - s.l
}

type icalEvent struct {
	desc, alt       *icalProp
	descBlk, altBlk Block // offsets into the property values
	altCharset      string
	found           bool
	merged          Block // offsets into the raw text
}

type icalDoc struct {
	body   string
	events []*icalEvent
	block  Block
}

// parseICal reads the VEVENTs of an iCalendar text and finds the block of
// each one's DESCRIPTION and HTML alternative.
func parseICal(body string) (*icalDoc, error) {
	doc := &icalDoc{body: body}
	var stack []string
	var ev *icalEvent
	for pos := 0; pos < len(body); {
		start, end, next := pos, len(body), len(body)
		for p := pos; ; {
			i := strings.IndexByte(body[p:], '\n')
			if i < 0 {
				break
			}
			if n := p + i + 1; n < len(body) && (body[n] == ' ' || body[n] == '\t') {
				p = n
				continue
			}
			end, next = p+i, p+i+1
			if end > start && body[end-1] == '\r' {
				end--
			}
			break
		}
		pos = next
		if end == start {
			continue
		}
		switch lower(body[start]) {
		case 'b', 'e', 'd', 'x':
		default:
			continue
		}
		name, params, vstart := splitContentLine(body, start, end)
		switch name {
		case "BEGIN":
			v := strings.ToUpper(strings.TrimSpace(unfold(body[vstart:end])))
			stack = append(stack, v)
			if v == "VEVENT" {
				ev = &icalEvent{}
				doc.events = append(doc.events, ev)
			}
		case "END":
			v := strings.ToUpper(strings.TrimSpace(unfold(body[vstart:end])))
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top == v {
					break
				}
			}
			if v == "VEVENT" {
				ev = nil
			}
		case "DESCRIPTION", "X-ALT-DESC":
			if ev == nil || len(stack) == 0 || stack[len(stack)-1] != "VEVENT" {
				continue // e.g. a VALARM's DESCRIPTION
			}
			if name == "X-ALT-DESC" && !containsFold(strings.ReplaceAll(params, `"`, ""), "fmttype=text/html") {
				continue
			}
			p := decodeProp(body, start, vstart, end)
			if !utf8.ValidString(p.value) {
				return nil, ErrInvalidUTF8
			}
			slot := &ev.desc
			if name == "X-ALT-DESC" {
				slot = &ev.alt
			}
			if *slot != nil {
				return nil, ErrMultipleBlocks
			}
			*slot = p
		}
	}
	var spans []Span
	for _, ev := range doc.events {
		if err := ev.find(); err != nil {
			return nil, err
		}
		if !ev.found {
			continue
		}
		if doc.block.Kind == "" {
			doc.block = ev.merged
		}
		spans = append(spans, ev.merged.Spans...)
	}
	if doc.block.Kind == "" {
		return nil, ErrNoBlock
	}
	doc.block.Spans = spans
	return doc, nil
}

// find finds the blocks of one VEVENT and checks that they agree.
func (ev *icalEvent) find() error {
	var errD, errA error = ErrNoBlock, ErrNoBlock
	if ev.desc != nil {
		ev.descBlk, errD = findText(ev.desc.value)
	}
	if ev.alt != nil {
		var d *htmlDoc
		ev.altBlk, d, errA = findHTML(ev.alt.value)
		ev.altCharset = d.charset
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
		a := Span{ev.alt.raw(m.Start), ev.alt.raw(m.End)}
		m.Spans = []Span{a}
		m.Start, m.End = a.Start, a.End
	}
	if hasD {
		d := ev.descBlk
		s := Span{ev.desc.raw(d.Start), ev.desc.raw(d.End)}
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
}

// splitContentLine returns the upper-case property name, the parameters and
// the raw offset of the value of the content line [start, end).
func splitContentLine(body string, start, end int) (name, params string, vstart int) {
	var nb strings.Builder
	inName, quoted := true, false
	pstart := -1
	for i := start; i < end; i++ {
		if n := foldAt(body, i); n > 0 {
			i += n - 1
			continue
		}
		c := body[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ':' && !quoted:
			if pstart >= 0 {
				params = unfold(body[pstart:i])
			}
			return strings.ToUpper(nb.String()), params, i + 1
		case c == ';' && inName:
			inName, pstart = false, i+1
		}
		if inName {
			if nb.Len() > 64 {
				return "", "", end
			}
			nb.WriteByte(c)
		}
	}
	return "", "", end
}

// foldAt returns the length of the line fold (CRLF or LF followed by a space
// or tab) at s[i], or 0.
func foldAt(s string, i int) int {
	switch {
	case s[i] == '\r' && i+2 < len(s) && s[i+1] == '\n' && (s[i+2] == ' ' || s[i+2] == '\t'):
		return 3
	case s[i] == '\n' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t'):
		return 2
	}
	return 0
}

func unfold(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if n := foldAt(s, i); n > 0 {
			i += n - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// decodeProp unfolds and unescapes (RFC 5545 TEXT) the value [vstart, end).
func decodeProp(body string, start, vstart, end int) *icalProp {
	p := &icalProp{start: start, end: end, nl: "\r\n", segs: []seg{{0, vstart}}}
	if end < len(body) && body[end] == '\n' {
		p.nl = "\n"
	}
	var b strings.Builder
	b.Grow(end - vstart)
	for i := vstart; i < end; {
		if n := foldAt(body, i); n > 0 {
			i += n
			p.segs = append(p.segs, seg{b.Len(), i})
			continue
		}
		if body[i] == '\\' {
			j := i + 1
			for j < end && foldAt(body, j) > 0 {
				j += foldAt(body, j)
			}
			var c byte
			if j < end {
				switch body[j] {
				case 'n', 'N':
					c = '\n'
				case '\\', ';', ',':
					c = body[j]
				}
			}
			if c != 0 {
				p.segs = append(p.segs, seg{b.Len(), i})
				b.WriteByte(c)
				p.segs = append(p.segs, seg{b.Len(), j + 1})
				i = j + 1
				continue
			}
		}
		b.WriteByte(body[i])
		i++
	}
	p.value = b.String()
	return p
}

// maxLine is RFC 5545's limit for a content line, line break excluded.
const maxLine = 75

// writeValue writes s as an escaped, folded TEXT value that starts at
// column col of a content line, and returns the column after it.
func writeValue(out *strings.Builder, s string, col int, nl string) int {
	var unit [4]byte
	for i := 0; i < len(s); {
		var u []byte
		switch c := s[i]; c {
		case '\\', ';', ',':
			unit[0], unit[1] = '\\', c
			u = unit[:2]
			i++
		case '\n':
			unit[0], unit[1] = '\\', 'n'
			u = unit[:2]
			i++
		case '\r':
			i++
			continue
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			u = unit[:copy(unit[:], s[i:i+n])]
			i += n
		}
		if col+len(u) > maxLine {
			out.WriteString(nl)
			out.WriteByte(' ')
			col = 1
		}
		out.Write(u)
		col += len(u)
	}
	return col
}

// splice writes body[from:rs] then the new value text in place of [rs,re),
// folding it, and returns re.
func (p *icalProp) splice(out *strings.Builder, body string, from, rs, re int, text string) int {
	out.WriteString(body[from:rs])
	col := rs - (strings.LastIndexByte(body[:rs], '\n') + 1)
	col = writeValue(out, text, col, p.nl)
	// The rest of the raw line keeps its bytes; it moves to a continuation
	// line if it no longer fits.
	tail := strings.IndexAny(body[re:], "\r\n")
	if tail < 0 {
		tail = len(body) - re
	}
	if tail > 0 && col+tail > maxLine {
		out.WriteString(p.nl)
		out.WriteByte(' ')
	}
	return re
}

// replaceICal rewrites the DESCRIPTION and X-ALT-DESC blocks of every VEVENT
// that has one, keeping every other byte of the iCalendar text.
func replaceICal(body string, p Profile, t migration.Target) Result {
	res := Result{Outcome: NotReplaced, Body: body}
	doc, err := parseICal(body)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	res.Old = doc.block
	type edit struct {
		prop *icalProp
		span Span // in the property value
		text string
	}
	var edits []edit
	for _, ev := range doc.events {
		if !ev.found {
			continue
		}
		if ev.alt != nil {
			if err := checkCharset(ev.altCharset); err != nil {
				res.Reason = err.Error()
				return res
			}
		}
		c, kind, reason := plan(ev.merged, p, t)
		if res.NewKind == "" {
			res.NewKind = kind
		}
		if reason != "" {
			res.Reason = reason
			return res
		}
		if ev.desc != nil {
			b := ev.descBlk
			// Escaped TEXT has only LF line breaks.
			nb := render(c, p, kind, FormatText, "\n")
			if ev.desc.value[b.Start:b.End] != nb {
				edits = append(edits, edit{ev.desc, Span{b.Start, b.End}, nb})
			}
		}
		if ev.alt != nil {
			b := ev.altBlk
			nb := render(c, p, kind, FormatHTML, newline(ev.alt.value, b.Start, b.End))
			if ev.alt.value[b.Start:b.End] != nb {
				edits = append(edits, edit{ev.alt, Span{b.Start, b.End}, nb})
			}
		}
	}
	if len(edits) == 0 {
		res.Outcome = UpToDate
		return res
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].prop.start < edits[j].prop.start })
	var out strings.Builder
	out.Grow(len(body) + 8192)
	from := 0
	for _, e := range edits {
		from = e.prop.splice(&out, body, from, e.prop.raw(e.span.Start), e.prop.raw(e.span.End), e.text)
	}
	out.WriteString(body[from:])
	res.Outcome = Replaced
	res.Body = out.String()
	return res
}
