package meetingblock

import (
	"errors"
	"sort"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Exchange and Graph serve a plain-text body as HTML when asked for HTML:
// the text escaped, every line break turned into "<br>\r\n", inside
// <div class="PlainText">. Such a body has no block markup, only the text
// block, so when the HTML finder sees nothing the text inside such a
// container (a PlainText div, a <pre>, or a body that is only text and
// <br>) is read as text, searched with the text finder, and the block's
// text range mapped back to byte offsets of the HTML. The new block is then
// rendered as text, escaped, and given the body's own line-break form, so
// that the body stays a converted text body.

// htmlSeg maps decoded text text[t:] (up to the next segment) to the HTML
// bytes [h, hEnd): byte for byte when lit, else as one unit (a character
// reference, or a <br> and the CR/LF after it, which read as "\n").
// Offsets are int32: bodies are at most MaxBodySize.
type htmlSeg struct {
	t, h, hEnd int32
	lit, br    bool
}

// htmlText is a container's content read as text.
type htmlText struct {
	body    string
	text    strings.Builder
	segs    []htmlSeg
	markup  []int // offsets of tags other than <br>, comments: never inside a block
	afterBr bool  // the previous token was a <br>: a CR/LF after it belongs to it
	// The block, set by findHTMLText: its text range.
	start, end int
}

func (x *htmlText) addBr(start, end int) {
	x.segs = append(x.segs, htmlSeg{t: int32(x.text.Len()), h: int32(start), hEnd: int32(end), br: true})
	x.text.WriteByte('\n')
	x.afterBr = true
}

// addText appends the raw text body[start:end], decoding character references.
func (x *htmlText) addText(start, end int) {
	raw := x.body[start:end]
	if x.afterBr {
		// The line break after a <br> is part of that one newline.
		n := 0
		if strings.HasPrefix(raw, "\r\n") {
			n = 2
		} else if raw != "" && (raw[0] == '\n' || raw[0] == '\r') {
			n = 1
		}
		x.segs[len(x.segs)-1].hEnd += int32(n)
		raw, start = raw[n:], start+n
		x.afterBr = false
	}
	lit := 0 // start of the pending literal run in raw
	flush := func(i int) {
		if i > lit {
			x.segs = append(x.segs, htmlSeg{t: int32(x.text.Len()), h: int32(start + lit), hEnd: int32(start + i), lit: true})
			x.text.WriteString(raw[lit:i])
		}
	}
	for i := strings.IndexByte(raw, '&'); i >= 0; {
		j := i + 1
		for j < len(raw) && j-i < 40 && (isAlnum(raw[j]) || raw[j] == '#') {
			j++
		}
		if j < len(raw) && raw[j] == ';' {
			j++
		}
		if u := html.UnescapeString(raw[i:j]); u != raw[i:j] {
			flush(i)
			x.segs = append(x.segs, htmlSeg{t: int32(x.text.Len()), h: int32(start + i), hEnd: int32(start + j)})
			x.text.WriteString(u)
			lit = j
		} else {
			j = i + 1
		}
		k := strings.IndexByte(raw[j:], '&')
		if k < 0 {
			break
		}
		i = j + k
	}
	flush(len(raw))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// seg returns the segment holding text byte i.
func (x *htmlText) seg(i int) htmlSeg {
	return x.segs[sort.Search(len(x.segs), func(k int) bool { return int(x.segs[k].t) > i })-1]
}

// span maps the text range [s, e) (e > s) to HTML offsets.
func (x *htmlText) span(s, e int) (int, int) {
	a, b := x.seg(s), x.seg(e-1)
	hs, he := int(a.h), int(b.hEnd)
	if a.lit {
		hs += s - int(a.t)
	}
	if b.lit {
		he = int(b.h) + e - int(b.t)
	}
	return hs, he
}

// lineBreak returns the block's first line break: in the text ("\n" or
// "\r\n") and as written in the HTML ("<br>\r\n", a raw newline in <pre>).
func (x *htmlText) lineBreak() (string, string) {
	t := x.text.String()
	if i := strings.IndexByte(t[x.start:x.end], '\n'); i >= 0 {
		i += x.start
		switch sg := x.seg(i); {
		case sg.br:
			return "\n", x.body[sg.h:sg.hEnd]
		case sg.lit && i > x.start && t[i-1] == '\r' && x.seg(i-1).lit:
			return "\r\n", "\r\n"
		case sg.lit:
			return "\n", "\n"
		}
	}
	return "\n", "<br>\r\n"
}

// render renders the block as text the way the text path does, and reports
// whether the body already holds it; else it returns it escaped, with the
// body's line breaks.
func (x *htmlText) render(c coords, p Profile, l *catalog, k Kind) (string, bool) {
	nl, br := x.lineBreak()
	txt := render(c, p, l, k, FormatText, nl)
	if x.text.String()[x.start:x.end] == txt {
		return "", true
	}
	var b strings.Builder
	b.Grow(len(txt) + len(txt)/8)
	for i, line := range strings.Split(txt, nl) {
		if i > 0 {
			b.WriteString(br)
		}
		escapeHTML(&b, line)
	}
	return b.String(), false
}

// findHTMLOrText finds the block of an HTML body in its markup or, when
// that finds none or one without a join link, in its text-converted
// content; tx is set in the latter case.
func findHTMLOrText(body string) (b Block, d *htmlDoc, tx *htmlText, err error) {
	b, d, err = findHTML(body)
	switch {
	case err == nil && b.JoinURL != "",
		err != nil && !errors.Is(err, ErrNoBlock) && !errors.Is(err, ErrBoundaries),
		// Without a literal separator run the text finder finds nothing:
		// bodies without a block are not read twice.
		!strings.Contains(body, minUnderscores) && !strings.Contains(body, minDots):
		return b, d, nil, err
	}
	tb, tx, terr := findHTMLText(body)
	switch {
	case errors.Is(err, ErrNoBlock) && terr != nil:
		return b, d, nil, terr
	case terr != nil,
		err == nil && (tb.End <= b.Start || b.End <= tb.Start),
		// Unsure boundaries because of markup (a block's ids or links)
		// stay unsure: only heading lines of the text may be ignored.
		err != nil && !errors.Is(err, ErrNoBlock) && !textAnchorsOnly(d):
		return b, d, nil, err
	}
	// Converted text has no link markup, and its heading lines ("Microsoft
	// Teams meeting") are all the HTML finder sees: it finds no block, or
	// one without a join link, or (a heading in the agenda) no boundaries.
	return tb, d, tx, nil
}

// textAnchorsOnly reports whether the HTML finder's only evidence of a
// block is heading text: no block markup, no join link.
func textAnchorsOnly(d *htmlDoc) bool {
	for _, a := range d.layout.anchors {
		if a.strong || d.body[a.pos] == '<' {
			return false
		}
	}
	return true
}

var (
	minUnderscores = strings.Repeat("_", minSepLen)
	minDots        = strings.Repeat(".", minSepLen)
)

// findHTMLText reads the text containers of body and finds the one text
// block among them.
func findHTMLText(body string) (Block, *htmlText, error) {
	var found *htmlText
	var fb Block
	for _, x := range textContainers(body) {
		b, err := findText(x.text.String())
		switch {
		case errors.Is(err, ErrNoBlock):
			continue
		case err != nil:
			return Block{}, nil, err
		case found != nil:
			return Block{}, nil, ErrMultipleBlocks
		}
		x.start, x.end = b.Start, b.End
		b.Start, b.End = x.span(b.Start, b.End)
		b.Spans = []Span{{b.Start, b.End}}
		// Markup inside the block would be cut by the splice.
		if i := sort.SearchInts(x.markup, b.Start); i < len(x.markup) && x.markup[i] < b.End {
			return Block{}, nil, ErrStraddles
		}
		found, fb = x, b
	}
	if found == nil {
		return Block{}, nil, ErrNoBlock
	}
	return fb, found, nil
}

// textContainers returns the content of each <div class="PlainText"> and
// <pre> read as text or, when body has no other elements than the document
// skeleton and <br>, its whole visible text.
func textContainers(body string) []*htmlText {
	var out []*htmlText
	var cur *htmlText // open container
	curPre, depth := false, 0
	bare, bareOK := &htmlText{body: body}, true
	// Open script, style, title, ... elements and <head>, which, as in
	// scanHTML, the first body element closes when no end tag does.
	hidden, head := 0, false
	z := html.NewTokenizer(strings.NewReader(body))
	for pos := 0; ; {
		tt := z.Next()
		raw := z.Raw()
		start := pos
		pos += len(raw)
		var a atom.Atom
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken || tt == html.EndTagToken {
			var nb [maxTagName]byte
			a = atom.Lookup(tagName(raw, &nb))
		}
		switch tt {
		case html.ErrorToken:
			if cur != nil {
				out = append(out, cur)
			}
			if bareOK && len(out) == 0 {
				out = append(out, bare)
			}
			return out
		case html.TextToken:
			if hidden > 0 || head {
				continue
			}
			if cur != nil {
				cur.addText(start, pos)
			}
			if bareOK {
				bare.addText(start, pos)
			}
			continue
		case html.StartTagToken, html.SelfClosingTagToken:
			if !headContent(a) {
				head = false
			}
			if a == atom.Br && hidden == 0 {
				if cur != nil {
					cur.addBr(start, pos)
				}
				if bareOK {
					bare.addBr(start, pos)
				}
				continue
			}
			if tt == html.StartTagToken && a == atom.Head {
				head = true
			} else if tt == html.StartTagToken && hiddenText(a) {
				hidden++
			}
			if cur == nil && hidden == 0 && !head && tt == html.StartTagToken && (a == atom.Pre || a == atom.Div && plainTextDiv(z)) {
				cur, curPre, depth = &htmlText{body: body}, a == atom.Pre, 0
				// A segment per line break and character reference at most.
				cur.segs = make([]htmlSeg, 0, 16+strings.Count(body[pos:], "<")+2*strings.Count(body[pos:], "&"))
				cur.text.Grow(len(body) - pos)
				bareOK = false
				continue
			}
			if cur != nil && !curPre && a == atom.Div && tt == html.StartTagToken {
				depth++
			}
		case html.EndTagToken:
			if a == atom.Head {
				head = false
			} else if hiddenText(a) && hidden > 0 {
				hidden--
			}
			if cur != nil && (curPre && a == atom.Pre || !curPre && a == atom.Div && depth == 0) {
				out = append(out, cur)
				cur = nil
				continue
			}
			if cur != nil && !curPre && a == atom.Div {
				depth--
			}
		}
		if cur != nil {
			cur.markup = append(cur.markup, start)
			cur.afterBr = false
		}
		if bareOK {
			bareOK = tt == html.CommentToken || tt == html.DoctypeToken || skeleton(a)
			bare.markup = append(bare.markup, start)
			bare.afterBr = false
		}
	}
}

// plainTextDiv reports whether the current start tag has class PlainText.
func plainTextDiv(z *html.Tokenizer) bool {
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == "class" {
			for _, c := range strings.Fields(string(v)) {
				if strings.EqualFold(c, "PlainText") {
					return true
				}
			}
		}
	}
	return false
}

// skeleton elements may surround a bare text body.
func skeleton(a atom.Atom) bool {
	switch a {
	case atom.Html, atom.Head, atom.Body, atom.Meta, atom.Title, atom.Style, atom.Link, atom.Base:
		return true
	}
	return false
}
