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
	links, text := extractHTML(body[start:end])
	b.fill(links, text)
	b.detectLanguage(body[start:end], text)
	return b, d, nil
}

// extractHTML reads the links and the visible text (one line per block-level
// element or <br>, white space collapsed) of a block's markup.
func extractHTML(s string) ([]link, string) {
	z := html.NewTokenizer(strings.NewReader(s))
	var links []link
	var text, atext strings.Builder
	inA, hidden, bookmark := -1, 0, false
	space := false
	write := func(b *strings.Builder, t string) {
		for i := 0; i < len(t); {
			if n := spaceLen(t, i); n > 0 {
				space = true
				i += n
				continue
			}
			if space && b.Len() > 0 {
				if last := b.String()[b.Len()-1]; last != '\n' && last != ' ' {
					b.WriteByte(' ')
				}
			}
			space = false
			b.WriteByte(t[i])
			i++
		}
	}
	newline := func() {
		space = false
		if text.Len() > 0 && text.String()[text.Len()-1] != '\n' {
			text.WriteByte('\n')
		}
	}
	endA := func() {
		if inA >= 0 {
			links[inA].text = trimSpace(atext.String())
			atext.Reset()
			inA = -1
		}
	}
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			endA()
			return links, text.String()
		case html.TextToken:
			if hidden > 0 {
				continue
			}
			t := string(z.Text())
			sp := space
			write(&text, t)
			if inA >= 0 {
				space = sp
				write(&atext, t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			var nb [maxTagName]byte
			a := atom.Lookup(tagName(z.Raw(), &nb))
			more := true
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
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "href":
					href = string(v)
				case "id":
					id = string(v)
				case "name":
					bm = string(v)
				}
			}
			if strings.EqualFold(stripX(bm), "OutJoinLink") {
				bookmark = true
			}
			if href == "" {
				continue
			}
			l := newLink(strings.TrimSpace(href), id, "")
			if l.kind != linkTel && bookmark {
				l.afterJoinBookmark, bookmark = true, false
			}
			links = append(links, l)
			if tt == html.StartTagToken {
				inA = len(links) - 1
			}
		case html.EndTagToken:
			var nb [maxTagName]byte
			a := atom.Lookup(tagName(z.Raw(), &nb))
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

// lineBreaking elements start a new line of visible text.
func lineBreaking(t atom.Atom) bool {
	switch t {
	case atom.Br, atom.Div, atom.P, atom.Tr, atom.Li, atom.Table, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Hr, atom.Ul, atom.Ol, atom.Blockquote, atom.Section, atom.Pre, atom.Td, atom.Th:
		return true
	}
	return false
}
