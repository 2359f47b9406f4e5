package ical

import "strings"

// Edit collects changes to a document and applies them in one pass: lines
// it does not change keep their bytes.
type Edit struct {
	d       *Doc
	replace map[int]string   // new raw bytes of line i; "" deletes it
	insert  map[int][]string // new lines before line i
}

// Edit starts an edit of d.
func (d *Doc) Edit() *Edit {
	return &Edit{d: d, replace: map[int]string{}, insert: map[int][]string{}}
}

// Doc is the document being edited.
func (ed *Edit) Doc() *Doc { return ed.d }

// Changed says whether the edit changes anything.
func (ed *Edit) Changed() bool { return len(ed.replace) > 0 || len(ed.insert) > 0 }

func (ed *Edit) newLine(name, params, value string) string {
	return Fold(name+params+":"+value, ed.d.NL)
}

// Set gives e exactly one property name with the raw value: the first line
// keeps its parameters unless params is not nil, and its bytes when
// nothing changes; the others are deleted.
func (ed *Edit) Set(e *Event, name string, params *string, value string) {
	done := false
	for _, i := range e.Props {
		l := ed.d.Lines[i]
		if l.Name != name {
			continue
		}
		if done {
			ed.replace[i] = ""
			continue
		}
		done = true
		p := l.Params
		if params != nil {
			p = *params
		}
		ed.SetLine(i, p, value)
	}
	if !done {
		p := ""
		if params != nil {
			p = *params
		}
		ed.Add(e, name, p, value)
	}
}

// Del deletes e's properties named name.
func (ed *Edit) Del(e *Event, name string) {
	for _, i := range e.Props {
		if ed.d.Lines[i].Name == name {
			ed.replace[i] = ""
		}
	}
}

// DelOthers deletes e's properties named name but line keep.
func (ed *Edit) DelOthers(e *Event, name string, keep int) {
	for _, i := range e.Props {
		if i != keep && ed.d.Lines[i].Name == name {
			ed.replace[i] = ""
		}
	}
}

// Add adds a property at the end of e.
func (ed *Edit) Add(e *Event, name, params, value string) {
	ed.insert[e.End] = append(ed.insert[e.End], ed.newLine(name, params, value))
}

// SetLine gives line i new parameters and a new raw value.
func (ed *Edit) SetLine(i int, params, value string) {
	l := ed.d.Lines[i]
	if params == l.Params && value == l.Value {
		delete(ed.replace, i)
		return
	}
	ed.replace[i] = ed.newLine(l.Name, params, value)
}

// Splice replaces [start, end) of the decoded value t with text, escaped
// and folded; every other byte of the line is kept, its tail moving to a
// continuation line when it no longer fits.
func (ed *Edit) Splice(t *TextValue, start, end int, text string) {
	l := t.line
	rs, re := t.Raw(start)-l.start, t.Raw(end)-l.start
	var out strings.Builder
	out.Grow(len(l.Raw) + len(text) + len(text)/8)
	out.WriteString(l.Raw[:rs])
	nl := l.nl()
	col := writeFolded(&out, Escape(text), rs-(strings.LastIndexByte(l.Raw[:rs], '\n')+1), nl)
	tail := strings.IndexAny(l.Raw[re:], "\r\n")
	if tail < 0 {
		tail = len(l.Raw) - re
	}
	if tail > 0 && col+tail > maxLine {
		out.WriteString(nl)
		out.WriteByte(' ')
	}
	out.WriteString(l.Raw[re:])
	ed.replace[t.idx] = out.String()
}

// Apply returns the edited text.
func (ed *Edit) Apply() string {
	var b strings.Builder
	for i, l := range ed.d.Lines {
		for _, n := range ed.insert[i] {
			b.WriteString(n)
		}
		if r, ok := ed.replace[i]; ok {
			b.WriteString(r)
			continue
		}
		b.WriteString(l.Raw)
	}
	for _, n := range ed.insert[len(ed.d.Lines)] {
		b.WriteString(n)
	}
	return b.String()
}

// Ptr returns a pointer to s, for Set's params.
func Ptr(s string) *string { return &s }
