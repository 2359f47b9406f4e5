package ical

import (
	"sort"
	"strings"
	"unicode/utf8"
)

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

// unfold joins folded physical lines.
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

// TextValue is a TEXT value unfolded and unescaped, with a map from value
// offsets back to offsets in the line's raw bytes, so that a part of it
// found in the value can be spliced into the raw text without touching
// anything else.
type TextValue struct {
	Value string
	line  *Line
	idx   int // of the line
	segs  []seg
}

// seg says that value offset l is raw offset r; offsets after it map
// linearly until the next seg (a fold or an escape changes the distance).
type seg struct{ l, r int }

// Raw maps a value offset to an offset in the document.
func (t *TextValue) Raw(l int) int {
	i := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].l > l }) - 1
	s := t.segs[i]
	return t.line.start + s.r + l - s.l
}

// Decode unfolds and unescapes (RFC 5545 §3.3.11 TEXT) the value of line i.
func (d *Doc) Decode(i int) *TextValue {
	l := d.Lines[i]
	t := &TextValue{line: l, idx: i, segs: []seg{{0, l.vstart}}}
	t.Value = decode(l.Raw, l.vstart, l.end, &t.segs)
	return t
}

// Unescape decodes an unfolded TEXT value (what Line.Value holds).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return decode(s, 0, len(s), nil)
}

// decode unfolds and unescapes raw[from:to], appending to segs (when not
// nil) where the distance between value and raw offsets changes. An
// unknown escape ("\x") is kept as it is.
func decode(raw string, from, to int, segs *[]seg) string {
	mark := func(l, r int) {
		if segs != nil {
			*segs = append(*segs, seg{l, r})
		}
	}
	var b strings.Builder
	b.Grow(to - from)
	for i := from; i < to; {
		if n := foldAt(raw, i); n > 0 {
			i += n
			mark(b.Len(), i)
			continue
		}
		if raw[i] == '\\' {
			j := i + 1
			for j < to && foldAt(raw, j) > 0 {
				j += foldAt(raw, j)
			}
			var c byte
			if j < to {
				switch raw[j] {
				case 'n', 'N':
					c = '\n'
				case '\\', ';', ',':
					c = raw[j]
				}
			}
			if c != 0 {
				mark(b.Len(), i)
				b.WriteByte(c)
				mark(b.Len(), j+1)
				i = j + 1
				continue
			}
		}
		b.WriteByte(raw[i])
		i++
	}
	return b.String()
}

// Escape encodes a TEXT value; every line break (CRLF, LF or CR) becomes \n.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteByte(c)
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

// maxLine is RFC 5545's limit for a content line, line break excluded.
const maxLine = 75

// writeFolded writes s, content-line text starting at column col, folded
// so that no physical line passes maxLine octets, and returns the column
// after it. It never breaks inside a UTF-8 sequence (some readers decode
// each physical line) or an escape pair.
func writeFolded(out *strings.Builder, s string, col int, nl string) int {
	for i := 0; i < len(s); {
		n := 1
		if s[i] == '\\' && i+1 < len(s) {
			n = 2
		} else if s[i] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		if col+n > maxLine {
			out.WriteString(nl)
			out.WriteByte(' ')
			col = 1
		}
		out.WriteString(s[i : i+n])
		col += n
		i += n
	}
	return col
}

// Fold renders a whole content line folded at 75 octets, followed by nl.
func Fold(text, nl string) string {
	var b strings.Builder
	writeFolded(&b, text, 0, nl)
	b.WriteString(nl)
	return b.String()
}

// Line is the index of the line the value is in.
func (t *TextValue) Line() int { return t.idx }
