package meetingblock

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// coords are a meeting's own online coordinates: kept from the old block, or
// taken from a profile that brings a new join link.
type coords struct {
	JoinURL, CompatJoinURL, MeetingOptionsURL, MeetingID, Passcode string
}

// newCoords are the coordinates of the new meeting a profile brings. The
// meeting ID and passcode a short Teams link carries are shown even when
// the profile omits them, as Find reads them from the link: the block then
// is the one the next run renders (a fixed point), not one it completes.
func newCoords(p Profile, k Kind) coords {
	c := coords{JoinURL: p.JoinURL, MeetingOptionsURL: p.MeetingOptionsURL, MeetingID: p.MeetingID, Passcode: p.Passcode}
	if k == KindTeams {
		id, pc := meetLinkIDs(c.JoinURL)
		if c.MeetingID == "" {
			c.MeetingID = id
		}
		if c.Passcode == "" {
			c.Passcode = pc
		}
	}
	return c
}

var (
	teamsSeparator = strings.Repeat("_", 80)
	sfbSeparator   = strings.Repeat(".", 137)
	// The divider between the meeting and dial-in parts of the newest Teams
	// text block: shorter than minSepLen on purpose, like the original.
	teamsTextDivider = strings.Repeat("_", 32)
)

// Render renders a fresh block for a meeting of kind k from profile p alone
// (p.JoinURL is required), in HTML or text, with CRLF line breaks.
func Render(p Profile, k Kind, f Format) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if k != KindTeams && k != KindSfB {
		return "", fmt.Errorf("unknown meeting kind %q", k)
	}
	if f != FormatHTML && f != FormatText {
		return "", fmt.Errorf("cannot render format %q: want %q or %q", f, FormatHTML, FormatText)
	}
	if p.JoinURL == "" {
		return "", errors.New("joinUrl: required to render a block")
	}
	return render(newCoords(p, k), p, defaultCatalog(p), k, f, "\r\n"), nil
}

// render renders a block in the language of catalog l.
func render(c coords, p Profile, l *catalog, k Kind, f Format, nl string) string {
	var b strings.Builder
	b.Grow(4096)
	r := renderer{b: &b, nl: nl, html: f != FormatText, l: l}
	if k == KindSfB {
		r.sfb(c, p)
	} else {
		r.teams(c, p)
	}
	return b.String()
}

type renderer struct {
	b    *strings.Builder
	nl   string
	html bool
	l    *catalog
}

// t writes the catalog string key as a value: translations are not ASCII.
func (r renderer) t(key string) { r.v(r.l.s(key)) }

// label writes a catalog label followed by a space ("Meeting ID: ").
func (r renderer) label(key string) {
	r.t(key)
	r.w(" ")
}

// w writes markup or text verbatim (constants only).
func (r renderer) w(s ...string) {
	for _, x := range s {
		r.b.WriteString(x)
	}
}

// v writes a value: escaped, ASCII-only in HTML.
func (r renderer) v(s string) {
	if r.html {
		escapeHTML(r.b, s)
		return
	}
	r.b.WriteString(s)
}

// link writes a link: <a href=...>label</a> in HTML, label<url> in text.
func (r renderer) link(href, label, attrs string) {
	if r.html {
		r.w(`<a href="`)
		r.v(href)
		r.w(`"`, attrs, `>`)
		r.v(label)
		r.w(`</a>`)
		return
	}
	r.w(label, "<", href, ">")
}

const (
	teamsFont      = `font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif`
	teamsLinkStyle = ` class="me-email-link" style="font-size:14px; text-decoration:underline; color:#5B5FC7"`
	teamsLabel     = `<span class="me-email-text-secondary" style="font-size:14px; color:#616161">`
	teamsValue     = `<span class="me-email-text" style="font-size:14px; color:#242424">`
	teamsSepHTML   = `overflow:hidden; white-space:nowrap">` // the separator divs' style tail
)

// teams renders the newest Teams layout: a me-email-text container with the
// underscore separators inside and the meet_invite_block element ids.
func (r renderer) teams(c coords, p Profile) {
	help := p.HelpURL
	if help == "" {
		help = "https://aka.ms/JoinTeamsMeeting?omkt=" + r.l.Tag
	}
	reset := p.ResetPINURL
	if reset == "" {
		reset = "https://dialin.teams.microsoft.com/usp/pstnconferencing"
	}
	dial := p.hasDialIn()
	nl := r.nl
	if !r.html {
		r.w(teamsSeparator, nl, "Microsoft Teams ")
		r.link(help, r.l.s(kNeedHelp), "")
		r.w(nl)
		r.link(c.JoinURL, r.l.s(kJoinNow), "")
		r.w(nl)
		if c.MeetingID != "" {
			r.label(kMeetingID)
			r.w(c.MeetingID, nl)
		}
		if c.Passcode != "" {
			r.label(kPasscode)
			r.w(c.Passcode, nl)
		}
		r.w(teamsTextDivider, nl)
		if dial {
			conf := phoneDigits(p.ConferenceID)
			r.t(kDialIn)
			r.w(nl)
			r.numbers(p, ",,"+conf+"#", nl)
			if p.DialInURL != "" {
				r.link(p.DialInURL, r.l.s(kFindLocal), "")
				r.w(nl)
			}
			r.label(kPhoneConferenceID)
			r.w(groupDigits(conf, 3, "#"), nl)
		}
		if c.CompatJoinURL != "" {
			r.link(c.CompatJoinURL, r.l.s(kSystemReference), "")
			r.w(nl)
		}
		if c.MeetingOptionsURL != "" || dial {
			r.label(kForOrganizers)
			if c.MeetingOptionsURL != "" {
				r.link(c.MeetingOptionsURL, r.l.s(kMeetingOptions), "")
				if dial {
					r.w(" | ")
				}
			}
			if dial {
				r.link(reset, r.l.s(kResetPIN), "")
			}
			r.w(nl)
		}
		r.w(teamsSeparator)
		return
	}
	r.w(`<div class="me-email-text" lang="`)
	r.v(r.l.Tag)
	r.w(`"`, r.dir(), ` style="max-width:1024px; color:#242424; `, teamsFont, `">`, nl)
	r.w(`<div aria-hidden="true" style="margin-bottom:24px; `, teamsSepHTML, teamsSeparator, `</div>`, nl)
	r.w(`<div style="margin-bottom:12px"><span class="me-email-text" style="font-size:24px; font-weight:700; margin-right:12px">Microsoft Teams</span> `)
	r.link(help, r.l.s(kNeedHelp), ` id="meet_invite_block.action.help"`+teamsLinkStyle)
	r.w(`</div>`, nl)
	r.w(`<div style="margin-bottom:6px">`)
	r.link(c.JoinURL, r.l.s(kJoinNow), ` id="meet_invite_block.action.join_link" title="`+htmlAttr(r.l.s(kJoinTitle))+`" class="me-email-headline" style="font-size:20px; font-weight:600; text-decoration:underline; color:#5B5FC7"`)
	r.w(`</div>`, nl)
	if c.MeetingID != "" {
		r.w(`<div style="margin-bottom:6px">`, teamsLabel)
		r.label(kMeetingID)
		r.w(`</span>`, teamsValue)
		r.v(c.MeetingID)
		r.w(`</span></div>`, nl)
	}
	if c.Passcode != "" {
		r.w(`<div style="margin-bottom:6px">`, teamsLabel)
		r.label(kPasscode)
		r.w(`</span>`, teamsValue)
		r.v(c.Passcode)
		r.w(`</span></div>`, nl)
	}
	r.w(`<div style="margin-top:24px; margin-bottom:12px; max-width:1024px"><hr style="border:0; background:#616161; height:1px"></div>`, nl)
	if dial {
		conf := phoneDigits(p.ConferenceID)
		r.w(`<div style="margin-bottom:6px"><span class="me-email-text" style="font-size:16px; font-weight:700">`)
		r.t(kDialIn)
		r.w(`</span></div>`, nl)
		r.numbers(p, ",,"+conf+"#", nl)
		if p.DialInURL != "" {
			r.w(`<div style="margin-bottom:6px">`)
			r.link(p.DialInURL, r.l.s(kFindLocal), teamsLinkStyle)
			r.w(`</div>`, nl)
		}
		r.w(`<div style="margin-bottom:24px">`, teamsLabel)
		r.label(kPhoneConferenceID)
		r.w(`</span>`, teamsValue)
		r.v(groupDigits(conf, 3, "#"))
		r.w(`</span></div>`, nl)
	}
	if c.CompatJoinURL != "" {
		r.w(`<div style="margin-bottom:6px">`)
		r.link(c.CompatJoinURL, r.l.s(kSystemReference), ` id="meet_invite_block.action.join_link_compatibility"`+teamsLinkStyle)
		r.w(`</div>`, nl)
	}
	if c.MeetingOptionsURL != "" || dial {
		r.w(`<div>`, teamsLabel)
		r.label(kForOrganizers)
		r.w(`</span>`)
		if c.MeetingOptionsURL != "" {
			r.link(c.MeetingOptionsURL, r.l.s(kMeetingOptions), ` id="meet_invite_block.action.organizer_meet_options"`+teamsLinkStyle)
			if dial {
				r.w(` <span style="color:#616161">|</span> `)
			}
		}
		if dial {
			r.link(reset, r.l.s(kResetPIN), teamsLinkStyle)
		}
		r.w(`</div>`, nl)
	}
	r.w(`<div aria-hidden="true" style="margin-top:24px; margin-bottom:6px; `, teamsSepHTML, teamsSeparator, `</div>`, nl)
	r.w(`</div>`)
}

// numbers writes the toll and toll-free numbers as tel: links; suffix is
// the one-tap ",,<conference id>#" (Teams) or "" (Skype).
func (r renderer) numbers(p Profile, suffix, nl string) {
	type num struct{ n, label string }
	var nums []num
	if p.TollNumber != "" {
		nums = append(nums, num{p.TollNumber, r.l.s(kToll)})
	}
	for _, n := range p.TollFreeNumbers {
		nums = append(nums, num{n, r.l.s(kTollFree)})
	}
	for _, n := range nums {
		href := "tel:" + phoneDigits(n.n) + suffix
		text := strings.TrimSpace(n.n) + suffix
		if !r.html {
			r.link(href, text, "")
			r.w(" ", n.label, nl) // text: UTF-8 as is
			continue
		}
		if suffix != "" {
			r.w(`<div style="margin-bottom:4px">`)
			r.link(href, text, teamsLinkStyle)
			r.w(` `, teamsLabel)
			r.v(n.label)
			r.w(`</span></div>`, nl)
		} else {
			r.w(`<div`, r.dir(), ` style="font-size:10pt">`)
			r.link(href, text, ` style="color:#0066CC"`)
			r.w(` `)
			r.v(n.label)
			r.w(`</div>`, nl)
		}
	}
}

// sfb renders the Skype for Business layout: dotted lines, the OutJoinLink
// bookmark, "Join Skype Meeting" and the dial-in part. The layout has no
// container: in a right-to-left language every one of its elements says so.
func (r renderer) sfb(c coords, p Profile) {
	lcid := r.l.LCID
	help := p.HelpURL
	if help == "" {
		help = "https://o15.officeredir.microsoft.com/r/rlidLync15?clid=" + lcid + "&p1=5&p2=2009"
	}
	reset := p.ResetPINURL
	if reset == "" {
		reset = p.DialInURL
	}
	webApp := c.JoinURL + "?sl=1"
	if strings.Contains(c.JoinURL, "?") {
		webApp = c.JoinURL + "&sl=1"
	}
	dial := p.hasDialIn()
	nl := r.nl
	if !r.html {
		r.w(sfbSeparator, nl)
		r.link(c.JoinURL, r.l.s(kSfBJoin), "")
		r.w(nl)
		r.label(kSfBTrouble)
		r.link(webApp, r.l.s(kSfBWebApp), "")
		r.w(nl)
		if dial {
			r.t(kSfBJoinByPhone)
			r.w(nl, nl)
			r.numbers(p, "", nl)
			if p.DialInURL != "" {
				r.link(p.DialInURL, r.l.s(kSfBFindLocal), "")
				r.w(nl)
			}
			r.w(nl)
			r.label(kSfBConferenceID)
			r.w(phoneDigits(p.ConferenceID), nl)
			if reset != "" {
				r.link(reset, r.l.s(kSfBForgotPIN), "")
				r.w(" |")
			}
		}
		r.link(help, r.l.s(kSfBHelp), "")
		r.w(nl, nl, "[!OC([", lcid, "])!]", nl, sfbSeparator)
		return
	}
	dir := r.dir()
	p10 := `<div` + dir + ` style="font-size:10pt; ` + sfbFont + `">`
	small := `<div` + dir + ` style="font-size:8pt; color:#404040; ` + sfbFont + `">`
	r.w(small, sfbSeparator, `</div>`, nl)
	r.w(`<div`, dir, ` style="`, sfbFont, `"><a name="OutJoinLink"></a>`)
	r.link(c.JoinURL, r.l.s(kSfBJoin), ` style="font-size:16pt; color:#0066CC"`)
	r.w(`</div>`, nl)
	r.w(`<div`, dir, ` style="font-size:10pt; margin-left:16pt; margin-bottom:12pt; `, sfbFont, `">`)
	r.label(kSfBTrouble)
	r.link(webApp, r.l.s(kSfBWebApp), ` style="color:#0066CC"`)
	r.w(`</div>`, nl)
	if dial {
		r.w(`<div`, dir, ` style="font-size:13pt; `, sfbFont, `">`)
		r.t(kSfBJoinByPhone)
		r.w(`</div>`, nl)
		r.numbers(p, "", nl)
		if p.DialInURL != "" {
			r.w(p10)
			r.link(p.DialInURL, r.l.s(kSfBFindLocal), ` style="color:#0066CC"`)
			r.w(`</div>`, nl)
		}
		r.w(`<div`, dir, ` style="font-size:10pt; margin-top:8pt; `, sfbFont, `">`)
		r.label(kSfBConferenceID)
		r.v(phoneDigits(p.ConferenceID))
		r.w(`</div>`, nl)
	}
	r.w(p10)
	if dial && reset != "" {
		r.link(reset, r.l.s(kSfBForgotPIN), ` style="color:#0066CC"`)
		r.w(` | `)
	}
	r.link(help, r.l.s(kSfBHelp), ` style="color:#0066CC"`)
	r.w(`</div>`, nl)
	r.w(small, `[!OC([`, lcid, `])!]</div>`, nl)
	r.w(small, sfbSeparator, `</div>`)
}

// dir is the dir attribute of the block's elements: none for left to right,
// which keeps the markup of those blocks as it always was.
func (r renderer) dir() string {
	if r.l.isRTL() {
		return ` dir="rtl"`
	}
	return ""
}

// htmlAttr escapes s for an attribute value, ASCII-only.
func htmlAttr(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	escapeHTML(&b, s)
	return b.String()
}

const sfbFont = `font-family:'Segoe UI',sans-serif`

// escapeHTML writes s escaped for HTML text and attribute values, with every
// non-ASCII character as a numeric character reference.
func escapeHTML(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '&':
				b.WriteString("&amp;")
			case '<':
				b.WriteString("&lt;")
			case '>':
				b.WriteString("&gt;")
			case '"':
				b.WriteString("&#34;")
			case '\'':
				b.WriteString("&#39;")
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		// "&#x%X;" without fmt, which allocates per character.
		var buf [16]byte
		k := len(buf)
		buf[k-1] = ';'
		k--
		for v := uint32(r); ; v >>= 4 {
			k--
			buf[k] = "0123456789ABCDEF"[v&15]
			if v < 16 {
				break
			}
		}
		k -= 3
		copy(buf[k:], "&#x")
		b.Write(buf[k:])
		i += n
	}
}

// needsEscape reports whether escapeHTML changes s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '&', c == '<', c == '>', c == '"', c == '\'':
			return true
		}
	}
	return false
}
