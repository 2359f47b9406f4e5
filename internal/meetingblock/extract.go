package meetingblock

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// link is a link found inside a block, in document order.
type link struct {
	href string   // SafeLinks unwrapped
	kind linkKind // classifyLink(href)
	id   string   // element id without received-copy x_ prefixes
	text string   // visible text, whitespace collapsed
	// afterJoinBookmark is set on the first link after Skype's OutJoinLink
	// bookmark, which Outlook puts right before the join link.
	afterJoinBookmark bool
}

const (
	idJoinLink       = "meet_invite_block.action.join_link"
	idJoinLinkCompat = "meet_invite_block.action.join_link_compatibility"
	idMeetOptions    = "meet_invite_block.action.organizer_meet_options"
)

// stripX removes the x_ prefixes Outlook adds to ids, classes and bookmark
// names of a received copy (x_x_ after a second hop).
func stripX(s string) string {
	for len(s) > 2 && (s[0] == 'x' || s[0] == 'X') && s[1] == '_' {
		s = s[2:]
	}
	return s
}

// fill reads the coordinates of a block of kind b.Kind from its links and
// its visible text (lines separated by '\n').
func (b *Block) fill(links []link, text string) {
	var primary, compat, options, sfb string
	for _, l := range links {
		switch l.kind {
		case linkTeamsJoin, linkTeamsMeet:
			switch l.id {
			case idJoinLink:
				primary = l.href
			case idJoinLinkCompat:
				compat = l.href
			}
		case linkTeamsOpts:
			if options == "" || l.id == idMeetOptions {
				options = l.href
			}
		case linkTel:
			b.addToll(telNumber(l.href))
		case linkThirdParty:
			b.ThirdParty = true
		}
	}
	// Without ids (older generations, text bodies) the first Teams link is
	// the join link; a link of the other form (/meet/ vs /l/meetup-join/) is
	// the compatibility link. Another link of the same form is not ours
	// (pasted by the user) and is dropped with the old block.
	var primaryKind linkKind
	for _, l := range links {
		if l.kind != linkTeamsJoin && l.kind != linkTeamsMeet || l.id == idJoinLink || l.id == idJoinLinkCompat {
			continue
		}
		switch {
		case primary == "":
			primary, primaryKind = l.href, l.kind
		case compat == "" && primaryKind != 0 && l.kind != primaryKind:
			compat = l.href
		}
	}
	for _, l := range links {
		if l.afterJoinBookmark && (l.kind == linkSfBJoin || l.kind == linkOther) && validURL(l.href) {
			sfb = l.href
			break
		}
	}
	if sfb == "" {
		for _, l := range links {
			if l.kind == linkSfBJoin || l.kind == linkOther && isSfBJoinText(l.text) && validURL(l.href) {
				sfb = l.href
				break
			}
		}
	}
	if b.Kind == KindTeams {
		b.JoinURL, b.CompatJoinURL, b.MeetingOptionsURL = cleanURL(primary), cleanURL(compat), cleanURL(options)
		if b.CompatJoinURL == b.JoinURL {
			b.CompatJoinURL = ""
		}
	} else {
		b.JoinURL = cleanURL(sfb)
	}
	b.readLabels(text)
	if b.Kind == KindTeams && (b.MeetingID == "" || b.Passcode == "") {
		b.fromMeetLink()
	}
}

func isSfBJoinText(s string) bool {
	if equalFoldASCII(s, "join skype meeting") || equalFoldASCII(s, "join lync meeting") || equalFoldASCII(s, "join online meeting") {
		return true
	}
	for _, t := range sfbJoinTexts {
		if equalFoldASCII(s, t) {
			return true
		}
	}
	return false
}

func cleanURL(u string) string {
	if validURL(u) {
		return u
	}
	return ""
}

func (b *Block) addToll(n string) {
	if len(n) < 6 {
		return
	}
	for _, have := range b.TollNumbers {
		if have == n {
			return
		}
	}
	b.TollNumbers = append(b.TollNumbers, n)
}

// Labels of the passcode a third-party audio-conferencing provider gives
// participants; Microsoft's bridge says "Conference ID" instead.
var acpLabels = []string{"participant passcode", "participant code", "participant pin", "attendee code", "attendee passcode", "access code", "guest passcode"}

// readLabels reads "Meeting ID:", "Passcode:", "Conference ID:" and phone
// numbers from the visible text. Labels count only at the start of a line so
// that "Participant passcode:" is not read as a Teams passcode.
func (b *Block) readLabels(text string) {
	acp, conf := false, false
	for line := range strings.Lines(text) {
		line = trimSpace(line) // the newline too
		if len(line) > 512 {
			continue
		}
		if v, ok := cutAnyLabel(line, labelsMeetingID); ok && b.MeetingID == "" {
			if id := leadingDigits(v); validDigits(id, 6, 24) {
				b.MeetingID = id
			}
		}
		if v, ok := cutAnyLabel(line, labelsPasscode); ok && b.Passcode == "" {
			if pc := firstField(v); validPasscode(pc) {
				b.Passcode = pc
			}
		}
		if v, ok := cutAnyLabel(line, labelsConferenceID); ok {
			conf = true
			if id := strings.ReplaceAll(leadingDigits(v), " ", ""); b.ConferenceID == "" && len(id) >= 4 {
				b.ConferenceID = id
			}
		}
		for _, l := range acpLabels {
			if containsFold(line, l) {
				acp = true
			}
		}
		b.scanPhones(line)
	}
	if acp && !conf {
		b.ThirdParty = true
	}
}

// fromMeetLink reads the meeting ID and passcode from a short join link
// https://teams.microsoft.com/meet/<id>?p=<passcode> when the text lacks them.
func (b *Block) fromMeetLink() {
	id, pc := meetLinkIDs(b.JoinURL)
	if b.MeetingID == "" {
		b.MeetingID = id
	}
	if b.Passcode == "" {
		b.Passcode = pc
	}
}

// meetLinkIDs is the meeting ID (grouped as the block shows it) and the
// passcode a short join link carries, "" for what it does not. Find reads
// them from a block that lacks the lines, so a block rendered for such a
// link must show them: otherwise the next run renders them and rewrites it.
func meetLinkIDs(joinURL string) (id, passcode string) {
	if classifyLink(joinURL) != linkTeamsMeet {
		return "", ""
	}
	pu, err := url.Parse(joinURL)
	if err != nil {
		return "", ""
	}
	if raw := strings.Trim(pu.EscapedPath()[len("/meet/"):], "/"); validDigits(raw, 6, 24) {
		id = groupDigits(raw, 3, "")
	}
	if pc := pu.Query().Get("p"); validPasscode(pc) {
		passcode = pc
	}
	return id, passcode
}

// scanPhones collects "+<digits...>" phone numbers written as text (Skype
// blocks often have no tel: links).
func (b *Block) scanPhones(line string) {
	for i := 0; i < len(line); i++ {
		if line[i] != '+' || i+1 >= len(line) || line[i+1] < '0' || line[i+1] > '9' {
			continue
		}
		j, digits := i+1, 0
		for ; j < len(line); j++ {
			c := line[j]
			if c >= '0' && c <= '9' {
				digits++
			} else if c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' {
				break
			}
		}
		if digits >= 8 && digits <= 15 {
			b.addToll(phoneDigits(line[i:j]))
		}
		i = j
	}
}

// cutAnyLabel returns what follows the first of the label stems (every
// catalog's, see labelStem) that starts line and is followed by a colon,
// ASCII or full-width, after optional spaces: "Meeting ID:", "ID de
// réunion :", "会議 ID：". The colon keeps "ID de conférence" from matching
// "ID de conférence téléphonique :".
func cutAnyLabel(line string, stems []string) (string, bool) {
	for _, st := range stems {
		// Two ASCII first bytes fold alike only as ASCII letters do: most
		// stems of most lines are ruled out without EqualFold.
		if st != "" && line != "" && st[0] < utf8.RuneSelf && line[0] < utf8.RuneSelf && lower(st[0]) != lower(line[0]) {
			continue
		}
		if !hasPrefixFold(line, st) {
			continue
		}
		rest := trimSpace(line[len(st):])
		switch {
		case strings.HasPrefix(rest, ":"):
			return trimSpace(rest[1:]), true
		case strings.HasPrefix(rest, "\uff1a"):
			return trimSpace(rest[len("\uff1a"):]), true
		}
	}
	return "", false
}

// leadingDigits returns the leading run of digits and single spaces.
func leadingDigits(s string) string {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == ' ' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
		i++
	}
	return s[:i]
}

func firstField(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// trimSpace trims ASCII white space and no-break spaces (U+00A0), which
// Outlook uses for layout.
func trimSpace[T string | []byte](s T) T {
	for {
		switch {
		case len(s) > 0 && isASCIISpace(s[0]):
			s = s[1:]
		case len(s) > 1 && s[0] == 0xc2 && s[1] == 0xa0:
			s = s[2:]
		case len(s) > 0 && isASCIISpace(s[len(s)-1]):
			s = s[:len(s)-1]
		case len(s) > 1 && s[len(s)-2] == 0xc2 && s[len(s)-1] == 0xa0:
			s = s[:len(s)-2]
		default:
			return s
		}
	}
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// groupDigits writes the digits of s in groups of n separated by spaces
// (Teams shows "123 456 789"), followed by suffix.
func groupDigits(s string, n int, suffix string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/n + len(suffix))
	k := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if k > 0 && k%n == 0 {
				b.WriteByte(' ')
			}
			b.WriteByte(c)
			k++
		}
	}
	b.WriteString(suffix)
	return b.String()
}
