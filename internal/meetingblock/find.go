package meetingblock

import (
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/openmms/mms/internal/meetingblock/ical"
)

// Errors returned by Find; their text is the "not replaced" reason Replace reports.
var (
	ErrNoBlock          = errors.New("no block found")
	ErrMultipleBlocks   = errors.New("more than one block")
	ErrNestedSeparators = errors.New("nested separators around the block")
	ErrBoundaries       = errors.New("block boundaries not found")
	ErrStraddles        = errors.New("block straddles element boundaries")
	ErrInvalidUTF8      = errors.New("body is not valid UTF-8")
	ErrMismatch         = errors.New("DESCRIPTION and X-ALT-DESC disagree")
	ErrTooLarge         = errors.New("body too large")
)

// MaxBodySize bounds the bodies the package works on (bytes).
const MaxBodySize = 64 << 20

// Span is a byte range [Start, End) of a body.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Block is what was found: its kind, its byte span in the body, and the
// coordinates read from it.
type Block struct {
	Kind  Kind `json:"kind"`
	Start int  `json:"start"` // [Start, End) is the whole block, separators included
	End   int  `json:"end"`

	JoinURL           string   `json:"joinUrl,omitempty"` // SafeLinks unwrapped
	CompatJoinURL     string   `json:"compatJoinUrl,omitempty"`
	MeetingOptionsURL string   `json:"meetingOptionsUrl,omitempty"`
	ConferenceID      string   `json:"conferenceId,omitempty"` // digits only
	MeetingID         string   `json:"meetingId,omitempty"`
	Passcode          string   `json:"passcode,omitempty"`
	TollNumbers       []string `json:"tollNumbers,omitempty"` // + and digits
	// ThirdParty: the dial-in belongs to a third-party audio-conferencing provider.
	ThirdParty bool `json:"thirdParty,omitempty"`
	// Language is the block's language as the block itself says it (a
	// BCP 47 tag), and LanguageFrom where it says it: its lang attribute,
	// omkt= or language= parameter, Skype's LCID marker or its labels.
	Language     string `json:"language,omitempty"`
	LanguageFrom string `json:"languageFrom,omitempty"`

	// Spans lists every block found: one for HTML and text; for iCalendar
	// the DESCRIPTION and X-ALT-DESC blocks of each VEVENT, in body order,
	// Start/End being the first VEVENT's DESCRIPTION block (its X-ALT-DESC
	// block when the text has none), coordinates merged from both.
	Spans []Span `json:"spans,omitempty"`
}

// Find finds the online meeting block of body. It returns ErrNoBlock when
// there is none, and another error when it cannot be sure where the block is.
func Find(body string, f Format) (Block, error) {
	if len(body) > MaxBodySize {
		return Block{}, ErrTooLarge
	}
	switch f {
	case FormatHTML:
		if !utf8.ValidString(body) {
			return Block{}, ErrInvalidUTF8
		}
		b, _, _, err := findHTMLOrText(body)
		return b, err
	case FormatText:
		if !utf8.ValidString(body) {
			return Block{}, ErrInvalidUTF8
		}
		return findText(body)
	case FormatICal:
		_, b, err := readICal(ical.Parse(body))
		return b, err
	}
	return Block{}, fmt.Errorf("unknown format %q", f)
}

type sepKind uint8

const (
	sepUnderscore sepKind = iota // Teams: 80 underscores
	sepDots                      // Skype for Business: a line of dots
)

func sepFor(k Kind) sepKind {
	if k == KindSfB {
		return sepDots
	}
	return sepUnderscore
}

// minSepLen is the shortest run taken for a separator. Teams draws 80
// underscores and Skype 137 dots, while Outlook's own reply header is 32
// underscores, as is the divider inside the newest Teams text block.
const minSepLen = 40

// sepLine reports whether the trimmed text t is a separator line.
func sepLine[T string | []byte](t T) (sepKind, bool) {
	if len(t) < minSepLen {
		return 0, false
	}
	c := t[0]
	if c != '_' && c != '.' {
		return 0, false
	}
	for i := 1; i < len(t); i++ {
		if t[i] != c {
			return 0, false
		}
	}
	if c == '_' {
		return sepUnderscore, true
	}
	return sepDots, true
}

// anchor is evidence of a block at a position. Strong anchors are markup
// only an invitation has (meet_invite_block ids, me-email classes, Skype
// bookmarks); weak ones (join links, headings) may also appear in an agenda.
type anchor struct {
	pos    int
	kind   Kind
	strong bool
	elem   int32 // HTML: innermost open element, -1 otherwise
}

// layout is what a scan of a body found: separator positions per kind (in
// order) and anchors. body is the scanned text, searched for block content
// outside the chosen separators only when there are more separators.
type layout struct {
	body    string
	seps    [2][]int
	anchors []anchor
	// container returns the block container (Teams me-email-text element)
	// enclosing an anchor, or -1, and elemSpan an element's byte span; nil
	// for text.
	container func(anchor) int32
	elemSpan  func(int32) (int, int)
}

// choice is the block a layout points at: a separator pair (seps[sep][pair],
// seps[sep][pair+1]) or, without separators, a container element.
type choice struct {
	kind      Kind
	pair      int
	container int32
}

// choose picks the one block of a layout, or explains why it cannot.
func (l *layout) choose() (choice, error) {
	// A few distinct candidates are enough to know there is more than one
	// block; the bound keeps crafted bodies with thousands of them linear.
	const maxCands = 16
	var cands []choice
	var strongOrphans []anchor
	oneSided := false
	add := func(c choice) {
		for _, have := range cands {
			if have == c {
				return
			}
		}
		if len(cands) < maxCands {
			cands = append(cands, c)
		}
	}
	for _, a := range l.anchors {
		seps := l.seps[sepFor(a.kind)]
		i := sort.SearchInts(seps, a.pos) - 1
		if i >= 0 && i+1 < len(seps) {
			add(choice{kind: a.kind, pair: i, container: -1})
			continue
		}
		if l.container != nil && a.kind == KindTeams {
			if c := l.container(a); c >= 0 {
				add(choice{kind: KindTeams, pair: -1, container: c})
				continue
			}
		}
		if len(seps) > 0 {
			oneSided = true
		}
		if a.strong {
			strongOrphans = append(strongOrphans, a)
		}
	}
	switch {
	case len(cands) == 0 && (oneSided || len(strongOrphans) > 0):
		return choice{}, ErrBoundaries
	case len(cands) == 0:
		return choice{}, ErrNoBlock
	}
	for i := range cands {
		for j := range cands {
			if i != j && cands[i].kind == cands[j].kind && cands[i].pair >= 0 && cands[j].pair == cands[i].pair+1 {
				return choice{}, ErrNestedSeparators
			}
		}
	}
	if len(cands) > 1 {
		return choice{}, ErrMultipleBlocks
	}
	c := cands[0]
	var lo, hi int
	if c.pair < 0 {
		lo, hi = l.elemSpan(c.container)
	} else {
		seps := l.seps[sepFor(c.kind)]
		lo, hi = seps[c.pair], seps[c.pair+1]
	}
	// Block markup outside the block: a second, damaged block.
	for _, a := range strongOrphans {
		if a.pos < lo || a.pos > hi {
			return choice{}, ErrMultipleBlocks
		}
	}
	if c.pair < 0 {
		return c, nil
	}
	seps := l.seps[sepFor(c.kind)]
	// Block content between the chosen separators and the ones beyond them
	// means a separator inside the block (or a block inside separators).
	if c.pair > 0 && l.hintIn(seps[c.pair-1], lo) || c.pair+2 < len(seps) && l.hintIn(hi, seps[c.pair+2]) {
		return choice{}, ErrNestedSeparators
	}
	return c, nil
}

// Words that only block content has ("tel:" catches dial-in links).
var hintWords = []string{"conference id", "meeting id", "passcode", "join by phone", "dial in", "dial-in", "call in", "tel:"}

// hintIn reports whether body[lo:hi] (raw text or markup) has block content.
func (l *layout) hintIn(lo, hi int) bool {
	for _, w := range hintWords {
		if containsFold(l.body[lo:hi], w) {
			return true
		}
	}
	return false
}

// evidenceIn reports whether body[lo:hi] has an anchor or block content.
func (l *layout) evidenceIn(lo, hi int) bool {
	if lo >= hi {
		return false
	}
	i := sort.Search(len(l.anchors), func(i int) bool { return l.anchors[i].pos >= lo })
	return i < len(l.anchors) && l.anchors[i].pos < hi || l.hintIn(lo, hi)
}
