package meetingblock

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// item is a node of the light-weight tree: an element or a separator text.
type item struct {
	start, end   int
	parent       int32
	depth        int32
	sigLo, sigHi int32
}

func (d *htmlDoc) sepItem(s hSep) item {
	it := item{start: s.start, end: s.end, parent: s.parent, sigLo: s.sig, sigHi: s.sig + 1}
	if s.parent >= 0 {
		it.depth = d.els[s.parent].depth + 1
	}
	return it
}

func (d *htmlDoc) elemItem(i int32) item {
	e := &d.els[i]
	return item{start: e.start, end: e.end, parent: e.parent, depth: e.depth, sigLo: e.sigLo, sigHi: e.sigHi}
}

func (d *htmlDoc) depthOf(i int32) int32 {
	if i < 0 {
		return -1
	}
	return d.els[i].depth
}

// wrap climbs from a separator text to the outermost element holding nothing
// visible but it (<div><span>____</span></div>, Word's <p>).
func (d *htmlDoc) wrap(it item) item {
	for it.parent >= 0 {
		p := &d.els[it.parent]
		if p.sigHi-p.sigLo != 1 || structural(p.tag) || p.container {
			break
		}
		it = d.elemItem(it.parent)
	}
	return it
}

// align makes the top and bottom separators siblings, so that the span
// between them is balanced markup: a separator nested deeper than the other
// is replaced by its ancestors as long as they hold nothing visible before
// (top) or after (bottom) it. Then, if the pair fills a Teams container
// element, the container is the block.
func (d *htmlDoc) align(top, bot item) (item, item, error) {
	for top.parent != bot.parent {
		if d.depthOf(top.parent) >= d.depthOf(bot.parent) {
			p := &d.els[top.parent]
			if p.sigLo != top.sigLo || structural(p.tag) {
				return top, bot, ErrStraddles
			}
			top = d.elemItem(top.parent)
		} else {
			p := &d.els[bot.parent]
			if p.sigHi != bot.sigHi || structural(p.tag) {
				return top, bot, ErrStraddles
			}
			bot = d.elemItem(bot.parent)
		}
	}
	for top.parent >= 0 {
		p := &d.els[top.parent]
		if !p.container || p.sigLo != top.sigLo || p.sigHi != bot.sigHi || structural(p.tag) {
			break
		}
		top = d.elemItem(top.parent)
		bot = top
	}
	return top, bot, nil
}

// findHTML finds the block of an HTML body.
func findHTML(body string) (Block, *htmlDoc, error) {
	d := scanHTML(body)
	c, err := d.layout.choose()
	if err != nil {
		return Block{}, d, err
	}
	var start, end int
	if c.pair < 0 {
		e := &d.els[c.container]
		start, end = e.start, e.end
	} else {
		seps := d.seps[sepFor(c.kind)]
		ts, bs := seps[c.pair], seps[c.pair+1]
		// A Teams container holding one separator but not the other lost its
		// other separator (the user deleted it): the pair found reaches into
		// the agenda, the container is the block. Unless block content lies
		// between the container and the other separator: then markup broke
		// the container open and the block is not where it seems.
		ct, cb := d.containerOf(anchor{elem: ts.parent}), d.containerOf(anchor{elem: bs.parent})
		switch {
		case ct >= 0 && ct != cb:
			if d.layout.evidenceIn(d.els[ct].end, bs.start) {
				return Block{}, d, ErrStraddles
			}
			start, end = d.els[ct].start, d.els[ct].end
		case cb >= 0 && ct != cb:
			if d.layout.evidenceIn(ts.end, d.els[cb].start) {
				return Block{}, d, ErrStraddles
			}
			start, end = d.els[cb].start, d.els[cb].end
		default:
			top, bot, err := d.align(d.wrap(d.sepItem(ts)), d.wrap(d.sepItem(bs)))
			if err != nil {
				return Block{}, d, err
			}
			start, end = top.start, bot.end
		}
	}
	b := Block{Kind: c.kind, Start: start, End: end, Spans: []Span{{start, end}}}
	links, text := extractHTML(body[start:end], &d.links)
	b.fill(links, text)
	b.detectLanguage(body[start:end], text)
	return b, d, nil
}

// extractHTML reads the links and the visible text (one line per block-level
// element or <br>, white space collapsed) of a block's markup.
// Links already classified by the scan are looked up in m.
func extractHTML(s string, m *linkMemo) ([]link, string) {
	var z lexer
	z.init(s)
	links := make([]link, 0, 8)
	// The visible text is a fraction of the markup: one buffer, sized once.
	text := make([]byte, 0, len(s)/4)
	// The links' texts, one after the other, made strings once at the end.
	atext := make([]byte, 0, 256)
	var scratch []byte
	type span struct{ link, start, end int }
	atexts := make([]span, 0, 8)
	aStart := 0
	inA, hidden, bookmark := -1, 0, false
	var c collapser
	newline := func() {
		c.space = false
		if len(text) > 0 && text[len(text)-1] != '\n' {
			text = append(text, '\n')
		}
	}
	endA := func() {
		if inA >= 0 {
			// A run of space written at the start of the link's text
			// (after the previous one's) is trimmed away here. The
			// trimmed text is a sub-slice: its start is where its
			// capacity says.
			seg := atext[aStart:]
			t := trimSpace(seg)
			off := aStart + cap(seg) - cap(t)
			atexts = append(atexts, span{inA, off, off + len(t)})
			aStart = len(atext)
			inA = -1
		}
	}
	for {
		switch tt := z.next(); tt {
		case html.ErrorToken:
			endA()
			all := string(atext)
			for _, sp := range atexts {
				links[sp.link].text = all[sp.start:sp.end]
			}
			return links, string(text)
		case html.TextToken:
			if hidden > 0 {
				continue
			}
			// Line breaks are white space here, so only references need
			// decoding, into a buffer reused from node to node.
			t := z.raw()
			var dec []byte
			ok := !(z.convertNUL && strings.IndexByte(t, 0) >= 0) && (z.rawText || strings.IndexByte(t, '&') < 0)
			if !ok && !z.convertNUL {
				scratch, ok = appendUnescaped(scratch[:0], t)
				dec = scratch
			}
			if !ok {
				t, dec, ok = z.text(), nil, true
			}
			sp := c.space
			if dec != nil {
				collapseTo(&c, &text, dec)
			} else {
				collapseTo(&c, &text, t)
			}
			if inA >= 0 {
				c.space = sp
				if dec != nil {
					collapseTo(&c, &atext, dec)
				} else {
					collapseTo(&c, &atext, t)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			var nb [maxTagName]byte
			a := atom.Lookup(tagName(z.raw(), &nb))
			if lineBreaking(a) {
				newline()
			}
			if hiddenText(a) && a != atom.Head && tt == html.StartTagToken {
				hidden++
			}
			if a != atom.A {
				continue
			}
			endA()
			var href, id, bm string
			for _, at := range z.attributes() {
				switch k := s[at.k0:at.k1]; {
				case equalFoldASCII(k, "href"):
					href = z.attrVal(at)
				case equalFoldASCII(k, "id"):
					id = z.attrVal(at)
				case equalFoldASCII(k, "name"):
					bm = z.attrVal(at)
				}
			}
			if strings.EqualFold(stripX(bm), "OutJoinLink") {
				bookmark = true
			}
			if href == "" {
				continue
			}
			u := unwrapSafeLinks(strings.TrimSpace(href))
			l := link{href: u, kind: m.classify(u), id: stripX(id)}
			if l.kind != linkTel && bookmark {
				l.afterJoinBookmark, bookmark = true, false
			}
			links = append(links, l)
			if tt == html.StartTagToken {
				inA = len(links) - 1
			}
		case html.EndTagToken:
			var nb [maxTagName]byte
			a := atom.Lookup(tagName(z.raw(), &nb))
			if a == atom.A {
				endA()
			}
			if hiddenText(a) && a != atom.Head && hidden > 0 {
				hidden--
			}
			if lineBreaking(a) {
				newline()
			}
		}
	}
}

// collapser writes text with each run of white space (NBSP included) as
// one space, none at the start of a line; space is a run seen and not yet
// written.
type collapser struct{ space bool }

func collapseTo[T string | []byte](c *collapser, b *[]byte, t T) {
	for i := 0; i < len(t); {
		if n := spaceLen(t, i); n > 0 {
			c.space = true
			i += n
			continue
		}
		if c.space && len(*b) > 0 {
			if last := (*b)[len(*b)-1]; last != '\n' && last != ' ' {
				*b = append(*b, ' ')
			}
		}
		c.space = false
		*b = append(*b, t[i])
		i++
	}
}

// lineBreaking elements start a new line of visible text.
func lineBreaking(t atom.Atom) bool {
	switch t {
	case atom.Br, atom.Div, atom.P, atom.Tr, atom.Li, atom.Table, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Hr, atom.Ul, atom.Ol, atom.Blockquote, atom.Section, atom.Pre, atom.Td, atom.Th:
		return true
	}
	return false
}
