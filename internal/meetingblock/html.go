package meetingblock

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// hElem is an element of the light-weight tree built from the tokenizer:
// just enough structure (parent, byte span, amount of visible content) to
// find the elements that wrap a block. It is not a conforming HTML tree
// builder, but it implies the end tags that matter for block layout
// (p, li, td, tr, ...), which is what real invitations rely on.
type hElem struct {
	start, end int // '<' of the start tag; just past the end tag, or where it was implicitly closed
	parent     int32
	depth      int32
	// sigLo and sigHi bracket the visible items (non-blank text, images)
	// inside the element: it holds sigHi-sigLo of them.
	sigLo, sigHi int32
	tag          atom.Atom
	name         string // when tag == 0 (e.g. Word's o:p)
	container    bool   // class me-email-text: the newest Teams block wraps itself in one
}

// hSep is a separator text node.
type hSep struct {
	start, end int
	parent     int32
	sig        int32
}

type htmlDoc struct {
	body    string
	els     []hElem
	seps    [2][]hSep
	layout  layout
	charset string // first declared charset, lower case
	names   map[string]string
	links   linkMemo
}

// Maximum number of open elements searched for an end tag or an implied
// end: real documents nest a few dozen deep, and a bound keeps crafted
// input (thousands of unclosed tags) linear.
const maxScopeWalk = 256

// scanHTML tokenizes body once and records elements, separators and
// anchors with their byte offsets.
func scanHTML(body string) *htmlDoc {
	d := &htmlDoc{body: body, layout: layout{body: body, anchors: make([]anchor, 0, 8)}}
	// Elements are at most half the '<' (start and end tags): size once.
	d.els = make([]hElem, 0, 16+strings.Count(body, "<")/2)
	var z lexer
	z.init(body)
	stack := make([]int32, 0, 64) // open elements: real documents nest a few dozen deep
	// Open elements per name (hashed: a collision only costs a stack walk
	// that finds nothing), so that a stray end tag costs no stack walk.
	var open [openSlots]int32
	count := func(e *hElem, delta int32) {
		open[openSlot(e.tag, e.name)] += delta
	}
	var sig int32
	invisible := 0 // open script/style/title/... elements

	closeTop := func(end int) {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e := &d.els[i]
		e.end, e.sigHi = end, sig
		count(e, -1)
		if hiddenText(e.tag) {
			invisible--
		}
	}
	// closeTo pops the stack down to and including stack index k.
	closeTo := func(k int, innerEnd, end int) {
		for len(stack)-1 > k {
			closeTop(innerEnd)
		}
		closeTop(end)
	}
	// find returns the stack index of the innermost open element a (or
	// name, for unknown elements), not looking past a boundary of the given
	// scope, or -1.
	find := func(a atom.Atom, name string, sc scopeKind) int {
		if open[openSlot(a, name)] == 0 {
			return -1
		}
		for k, n := len(stack)-1, 0; k >= 0 && n < maxScopeWalk; k, n = k-1, n+1 {
			e := &d.els[stack[k]]
			if e.tag == a && (a != 0 || e.name == name) {
				return k
			}
			if sc.boundary(e.tag) {
				return -1
			}
		}
		return -1
	}
	var anchorBuf [2]anchor
	scratch := make([]byte, 0, 512) // decoded text nodes: only those up to 512 bytes are decoded

	for {
		tt := z.next()
		raw := z.raw()
		start, pos := z.start, z.pos
		switch tt {
		case html.ErrorToken:
			for len(stack) > 0 {
				closeTop(len(body))
			}
			d.finish()
			return d
		case html.TextToken:
			if invisible > 0 {
				continue
			}
			// The raw text is the text unless it has character references
			// (or NULs the tokenizer would replace). Long text cannot be a
			// heading and with an entity hardly a separator: it only counts
			// as visible content, which needs no copy.
			t := body[start:pos]
			var sk sepKind
			var hk Kind
			var isSep, isHeading, blank bool
			if len(t) <= 512 && (strings.IndexByte(t, '&') >= 0 || strings.IndexByte(t, 0) >= 0) {
				// Decoded into a buffer reused from node to node when its
				// references are the common ones: no copy per node.
				var ok bool
				if !z.rawText && !z.convertNUL && strings.IndexByte(t, 0) < 0 {
					scratch, ok = appendUnescaped(scratch[:0], t)
				}
				if ok {
					sk, isSep, hk, isHeading, blank = classifyText(scratch)
				} else {
					sk, isSep, hk, isHeading, blank = classifyText(z.text())
				}
			} else {
				sk, isSep, hk, isHeading, blank = classifyText(t)
			}
			if blank {
				continue
			}
			parent := int32(-1)
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if isSep {
				if d.seps[sk] == nil {
					d.seps[sk] = make([]hSep, 0, 4) // a block's two, and a few more
				}
				d.seps[sk] = append(d.seps[sk], hSep{start: start, end: pos, parent: parent, sig: sig})
			} else if isHeading {
				d.layout.anchors = append(d.layout.anchors, anchor{pos: start, kind: hk, elem: parent})
			}
			sig++
		case html.StartTagToken, html.SelfClosingTagToken:
			var nb [maxTagName]byte
			name := tagName(raw, &nb)
			a := atom.Lookup(name)
			e := hElem{start: start, tag: a, parent: -1}
			if a == 0 {
				e.name = d.intern(name)
			}
			// Outlook always closes <head>; other producers rely on the
			// first body element doing it.
			if !headContent(a) {
				if k := find(atom.Head, "", inScope); k >= 0 {
					closeTo(k, start, start)
				}
			}
			// Implied end tags, before the element is attached.
			switch {
			case closesP(a):
				if k := find(atom.P, "", inButtonScope); k >= 0 {
					closeTo(k, start, start)
				}
				if a == atom.Li {
					if k := find(atom.Li, "", inListScope); k >= 0 {
						closeTo(k, start, start)
					}
				}
				if a == atom.Dd || a == atom.Dt {
					if k := find(atom.Dd, "", inListScope); k >= 0 {
						closeTo(k, start, start)
					}
					if k := find(atom.Dt, "", inListScope); k >= 0 {
						closeTo(k, start, start)
					}
				}
			case a == atom.Td || a == atom.Th:
				for _, key := range [...]atom.Atom{atom.Td, atom.Th} {
					if k := find(key, "", inRowScope); k >= 0 {
						closeTo(k, start, start)
					}
				}
			case a == atom.Tr:
				if k := find(atom.Tr, "", inTableScope); k >= 0 {
					closeTo(k, start, start)
				}
			case a == atom.Tbody || a == atom.Thead || a == atom.Tfoot:
				for _, key := range [...]atom.Atom{atom.Tbody, atom.Thead, atom.Tfoot} {
					if k := find(key, "", inTableScope); k >= 0 {
						closeTo(k, start, start)
					}
				}
			}
			if len(stack) > 0 {
				e.parent = stack[len(stack)-1]
				e.depth = d.els[e.parent].depth + 1
			}
			// The tokenizer copies every attribute it returns: read them
			// only where one can matter.
			var n []anchor
			if a == atom.A || a == atom.Meta || len(z.attrs) > 0 && hasBlockMarkup(raw) {
				n = d.attrs(&z, &e, start, anchorBuf[:0])
			}
			idx := int32(len(d.els))
			for _, an := range n {
				an.elem = idx
				d.layout.anchors = append(d.layout.anchors, an)
			}
			if significant(a) {
				sig++
			}
			e.sigLo = sig
			if tt == html.SelfClosingTagToken || void(a) {
				e.end, e.sigHi = pos, sig
				d.els = append(d.els, e)
				continue
			}
			d.els = append(d.els, e)
			stack = append(stack, idx)
			count(&e, 1)
			if hiddenText(a) {
				invisible++
			}
		case html.EndTagToken:
			var nb [maxTagName]byte
			name := tagName(raw, &nb)
			a := atom.Lookup(name)
			key := ""
			if a == 0 {
				key = d.intern(name)
			}
			sc := inScope
			switch a {
			case atom.Table, atom.Td, atom.Th, atom.Tr, atom.Tbody, atom.Thead, atom.Tfoot, atom.Caption:
				sc = inTableScope
			}
			if k := find(a, key, sc); k >= 0 {
				closeTo(k, start, pos)
			}
		}
	}
}

// classifyText says whether a text node (trimmed) is blank, a separator
// line or a block heading.
func classifyText[T string | []byte](t T) (sk sepKind, isSep bool, hk Kind, isHeading, blank bool) {
	if t = trimSpace(t); len(t) == 0 {
		return 0, false, "", false, true
	}
	if sk, isSep = sepLine(t); isSep {
		return sk, true, "", false, false
	}
	hk, isHeading = heading(t)
	return 0, false, hk, isHeading, false
}

// hasBlockMarkup reports whether a tag mentions a Teams block's classes or
// ids (strings.Contains of "me-email-" or "meet_invite_block", in one pass).
func hasBlockMarkup(raw string) bool {
	for i := strings.IndexByte(raw, 'm'); i >= 0; {
		r := raw[i:]
		if strings.HasPrefix(r, "me-email-") || strings.HasPrefix(r, "meet_invite_block") {
			return true
		}
		j := strings.IndexByte(r[1:], 'm')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

const openSlots = 512

// openSlot hashes an element's name (its atom, or its name when it has
// none) to a counter of open elements.
func openSlot(a atom.Atom, name string) uint32 {
	h := uint32(a)
	if a == 0 {
		h = 2166136261
		for i := 0; i < len(name); i++ {
			h = (h ^ uint32(name[i])) * 16777619
		}
	}
	return (h * 2654435761) >> (32 - 9) // 9 bits: openSlots
}

// maxTagName bounds the tag names read; longer ones are cut (and so never
// match a known element, which is what they are).
const maxTagName = 64

// tagName returns the lower-case name of the start or end tag raw, read the
// way the tokenizer reads it, into buf: TagName would copy it.
func tagName[T string | []byte](raw T, buf *[maxTagName]byte) []byte {
	i := 1
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	n := 0
	for ; i < len(raw) && n < len(buf); i++ {
		c := raw[i]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '/' || c == '>' {
			break
		}
		buf[n] = lower(c)
		n++
	}
	return buf[:n]
}

// attrs reads the attributes that matter: ids and classes of Teams blocks,
// Skype bookmarks, links, and meta charset declarations. Values are decoded
// (a copy) only for the attributes read.
func (d *htmlDoc) attrs(z *lexer, e *hElem, pos int, out []anchor) []anchor {
	var href, httpEquiv, content string
	for _, a := range z.attributes() {
		switch k := z.s[a.k0:a.k1]; {
		case equalFoldASCII(k, "id"):
			if id := stripX(z.attrVal(a)); strings.HasPrefix(id, "meet_invite_block.") {
				out = append(out, anchor{pos: pos, kind: KindTeams, strong: true})
			}
		case equalFoldASCII(k, "class"):
			v := z.attrVal(a)
			if !strings.Contains(v, "me-email-") {
				continue
			}
			for c := range strings.FieldsSeq(v) {
				switch stripX(c) {
				case "me-email-text":
					e.container = true
				case "me-email-headline":
					out = append(out, anchor{pos: pos, kind: KindTeams, strong: true})
				}
			}
		case equalFoldASCII(k, "name"):
			if e.tag == atom.A {
				switch strings.ToLower(stripX(z.attrVal(a))) {
				case "outjoinlink", "outsharednoteborder", "outsharednotelink":
					out = append(out, anchor{pos: pos, kind: KindSfB, strong: true})
				}
			}
		case equalFoldASCII(k, "href"):
			if e.tag == atom.A {
				href = z.attrVal(a)
			}
		case equalFoldASCII(k, "charset"):
			if e.tag == atom.Meta && d.charset == "" {
				d.charset = strings.ToLower(strings.TrimSpace(z.attrVal(a)))
			}
		case equalFoldASCII(k, "http-equiv"):
			httpEquiv = z.attrVal(a)
		case equalFoldASCII(k, "content"):
			content = z.attrVal(a)
		}
	}
	if e.tag == atom.Meta && d.charset == "" && strings.EqualFold(strings.TrimSpace(httpEquiv), "content-type") {
		d.charset = charsetFromContentType(content)
	}
	// Only an http(s) link to a conferencing host, or one wrapped by
	// SafeLinks, can be a join link: the agenda's others are not parsed.
	if a, ok := authority(href); ok && (interestingHost(a) || containsFold(a, "safelinks.protection.")) {
		switch d.links.classify(unwrapSafeLinks(href)) {
		case linkTeamsJoin, linkTeamsMeet:
			out = append(out, anchor{pos: pos, kind: KindTeams})
		case linkSfBJoin:
			out = append(out, anchor{pos: pos, kind: KindSfB})
		}
	}
	return out
}

func charsetFromContentType(ct string) string {
	i := indexFold(ct, "charset")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(ct[i+len("charset"):], " \t")
	if !strings.HasPrefix(v, "=") {
		return ""
	}
	v = strings.Trim(strings.TrimSpace(v[1:]), `"'`)
	if j := strings.IndexAny(v, `;"' `); j >= 0 {
		v = v[:j]
	}
	return strings.ToLower(v)
}

// finish sorts the scan results into the layout used by choose.
func (d *htmlDoc) finish() {
	for k := range d.seps {
		d.layout.seps[k] = make([]int, 0, len(d.seps[k]))
		for _, s := range d.seps[k] {
			d.layout.seps[k] = append(d.layout.seps[k], s.start)
		}
	}
	d.layout.container = d.containerOf
	d.layout.elemSpan = func(i int32) (int, int) { return d.els[i].start, d.els[i].end }
}

// containerOf returns the outermost me-email-text element around an anchor.
func (d *htmlDoc) containerOf(a anchor) int32 {
	found := int32(-1)
	for e, n := a.elem, 0; e >= 0 && n < maxScopeWalk; e, n = d.els[e].parent, n+1 {
		if d.els[e].container {
			found = e
		}
	}
	return found
}

// intern returns name as a string, allocating once per distinct name:
// Word HTML has thousands of <o:p> elements.
func (d *htmlDoc) intern(name []byte) string {
	if s, ok := d.names[string(name)]; ok {
		return s
	}
	if d.names == nil {
		d.names = map[string]string{}
	}
	s := string(name)
	d.names[s] = s
	return s
}
