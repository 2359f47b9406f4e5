package meetingblock

import "strings"

// textLine is one line of a plain-text body: [start, end) without its line
// break.
type textLine struct{ start, end int }

// scanText finds separators and anchors in a plain-text body.
func scanText(body string) (layout, []textLine) {
	l := layout{body: body}
	var sepLines [2][]textLine
	for ls := 0; ls < len(body); {
		le, next := len(body), len(body)
		if i := strings.IndexByte(body[ls:], '\n'); i >= 0 {
			le, next = ls+i, ls+i+1
		}
		content := le
		if content > ls && body[content-1] == '\r' {
			content--
		}
		line := body[ls:content]
		t := trimSpace(line)
		if k, ok := sepLine(t); ok {
			l.seps[k] = append(l.seps[k], ls)
			sepLines[k] = append(sepLines[k], textLine{ls, content})
		} else if len(t) > 0 && len(t) <= 2048 {
			scanTextLine(&l, ls, t)
		}
		ls = next
	}
	// Separator lines are returned in the same order as l.seps so that a
	// choice's pair indexes both.
	return l, append(sepLines[sepUnderscore], sepLines[sepDots]...)
}

// Headings of a block as a whole line (lower case): the English ones of
// every generation here, each catalog's added when the catalogs load, so
// that a block in any catalog language is found by its headings too.
var (
	teamsHeadings = []string{"microsoft teams meeting", "join microsoft teams meeting", "microsoft teams", "microsoft teams need help?", "join the meeting now", "click here to join the meeting"}
	sfbHeadings   = []string{"join skype meeting", "join lync meeting", "try skype web app", "trouble joining? try skype web app"}
)

func scanTextLine(l *layout, pos int, t string) {
	// "Join the meeting now<https://...>": a heading followed by its link.
	head := t
	if i := strings.IndexByte(t, '<'); i >= 0 {
		head = trimSpace(t[:i])
	}
	if k, ok := heading(head); ok {
		l.anchors = append(l.anchors, anchor{pos: pos, kind: k, elem: -1})
	}
	for _, tl := range textLinks(t) {
		switch tl.kind {
		case linkTeamsJoin, linkTeamsMeet:
			l.anchors = append(l.anchors, anchor{pos: pos, kind: KindTeams, elem: -1})
		case linkSfBJoin:
			l.anchors = append(l.anchors, anchor{pos: pos, kind: KindSfB, elem: -1})
		}
	}
}

// heading reports whether the trimmed, whitespace-collapsed text is a block
// heading, and of which kind.
func heading[T string | []byte](t T) (Kind, bool) {
	// The longest heading is a few dozen characters, up to 4 bytes each.
	if len(t) > 256 || len(t) == 0 {
		return "", false
	}
	// Every text node of an HTML body and every line of a text body comes
	// here, and almost none starts like a heading: the index by first byte
	// spares comparing each with all the headings of every catalog.
	// What equalFoldCollapsed compares with a heading's second byte (a
	// space for a run of white space) rules out most of the rest.
	var second byte
	if len(t) > 1 {
		second = lower(t[1])
		if spaceLen(t, 1) > 0 {
			second = ' '
		}
	}
	for _, h := range headingsByFirst[lower(t[0])] {
		if len(t) > 1 && len(h.text) > 1 && h.text[1] != second {
			continue
		}
		if equalFoldCollapsed(t, h.text) {
			return h.kind, true
		}
	}
	return "", false
}

type indexedHeading struct {
	text string
	kind Kind
}

// headingsByFirst indexes the headings (Teams' first, in the order they
// were searched) by their first byte; indexHeadings fills it once the
// catalogs have added theirs, at start-up.
var headingsByFirst [256][]indexedHeading

func indexHeadings() {
	for _, hs := range []struct {
		list []string
		kind Kind
	}{{teamsHeadings, KindTeams}, {sfbHeadings, KindSfB}} {
		for _, h := range hs.list {
			if h != "" {
				headingsByFirst[h[0]] = append(headingsByFirst[h[0]], indexedHeading{h, hs.kind})
			}
		}
	}
}

// equalFoldCollapsed compares s, ignoring ASCII case and treating any run of
// white space (NBSP included) as one space, with the lower-case want.
func equalFoldCollapsed[T string | []byte](s T, want string) bool {
	j := 0
	for i := 0; i < len(s); {
		if sp := spaceLen(s, i); sp > 0 {
			for i < len(s) && spaceLen(s, i) > 0 {
				i += spaceLen(s, i)
			}
			if j >= len(want) || want[j] != ' ' {
				return false
			}
			j++
			continue
		}
		if j >= len(want) || lower(s[i]) != want[j] {
			return false
		}
		i++
		j++
	}
	return j == len(want)
}

func spaceLen[T string | []byte](s T, i int) int {
	if isASCIISpace(s[i]) {
		return 1
	}
	if s[i] == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0 {
		return 2
	}
	return 0
}

// textLinks returns the links of a plain-text line: Outlook writes
// "label<https://...>", newer Teams text also bare "Join: https://...".
func textLinks(line string) []link {
	var links []link
	for i := 0; i < len(line); {
		j := strings.IndexAny(line[i:], "<h")
		if j < 0 {
			break
		}
		j += i
		if line[j] == '<' {
			k := strings.IndexByte(line[j+1:], '>')
			if k < 0 {
				break
			}
			u := trimSpace(line[j+1 : j+1+k])
			if hasPrefixFold(u, "http://") || hasPrefixFold(u, "https://") || hasPrefixFold(u, "tel:") {
				label := line[i:j]
				if p := strings.LastIndexAny(label, ">|"); p >= 0 {
					label = label[p+1:]
				}
				links = append(links, newLink(u, "", trimSpace(label)))
			}
			i = j + 1 + k + 1
			continue
		}
		if hasPrefixFold(line[j:], "https://") || hasPrefixFold(line[j:], "http://") {
			k := strings.IndexAny(line[j:], " \t<>\"")
			if k < 0 {
				k = len(line) - j
			}
			links = append(links, newLink(line[j:j+k], "", ""))
			i = j + k
			continue
		}
		i = j + 1
	}
	return links
}

func newLink(href, id, text string) link {
	u := unwrapSafeLinks(href)
	return link{href: u, kind: classifyLink(u), id: stripX(id), text: text}
}

// linkMemo remembers the kinds of the links that needed a URL parse to
// classify (the conferencing ones), so that the HTML scan and the block's
// extraction parse each only once.
type linkMemo struct {
	n int
	e [8]struct {
		u string
		k linkKind
	}
}

func (m *linkMemo) classify(u string) linkKind {
	if a, ok := authority(u); !ok || !interestingHost(a) {
		return classifyLink(u)
	}
	for _, e := range m.e[:m.n] {
		if e.u == u {
			return e.k
		}
	}
	k := classifyLink(u)
	if m.n < len(m.e) {
		m.e[m.n].u, m.e[m.n].k = u, k
		m.n++
	}
	return k
}

// findText finds the block of a plain-text body.
func findText(body string) (Block, error) {
	l, lines := scanText(body)
	c, err := l.choose()
	if err != nil {
		return Block{}, err
	}
	// A pair index is relative to its kind's separators; lines holds the
	// underscore lines first, then the dot lines.
	idx := c.pair
	if sepFor(c.kind) == sepDots {
		idx += len(l.seps[sepUnderscore])
	}
	b := Block{Kind: c.kind, Start: lines[idx].start, End: lines[idx+1].end}
	b.Spans = []Span{{b.Start, b.End}}
	inner := body[b.Start:b.End]
	var links []link
	for rest := inner; len(rest) > 0; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if len(line) <= 2048 {
			links = append(links, textLinks(line)...)
		}
	}
	b.fill(links, inner)
	b.detectLanguage(inner, inner)
	return b, nil
}
