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
	return render(newCoords(p, k), p, k, f, "\r\n"), nil
}

func render(c coords, p Profile, k Kind, f Format, nl string) string {
	var b strings.Builder
	b.Grow(4096)
	r := renderer{b: &b, nl: nl, html: f != FormatText}
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
		help = "https://aka.ms/JoinTeamsMeeting?omkt=" + p.locale()
	}
	reset := p.ResetPINURL
	if reset == "" {
		reset = "https://dialin.teams.microsoft.com/usp/pstnconferencing"
	}
	dial := p.hasDialIn()
	nl := r.nl
	if !r.html {
		r.w(teamsSeparator, nl, "Microsoft Teams ")
		r.link(help, "Need help?", "")
		r.w(nl)
		r.link(c.JoinURL, "Join the meeting now", "")
		r.w(nl)
		if c.MeetingID != "" {
			r.w("Meeting ID: ", c.MeetingID, nl)
		}
		if c.Passcode != "" {
			r.w("Passcode: ", c.Passcode, nl)
		}
		r.w(teamsTextDivider, nl)
		if dial {
			conf := phoneDigits(p.ConferenceID)
			r.w("Dial in by phone", nl)
			r.numbers(p, ",,"+conf+"#", nl)
			if p.DialInURL != "" {
				r.link(p.DialInURL, "Find a local number", "")
				r.w(nl)
			}
			r.w("Phone conference ID: ", groupDigits(conf, 3, "#"), nl)
		}
		if c.CompatJoinURL != "" {
			r.link(c.CompatJoinURL, "System reference", "")
			r.w(nl)
		}
		if c.MeetingOptionsURL != "" || dial {
			r.w("For organizers: ")
			if c.MeetingOptionsURL != "" {
				r.link(c.MeetingOptionsURL, "Meeting options", "")
				if dial {
					r.w(" | ")
				}
			}
			if dial {
				r.link(reset, "Reset dial-in PIN", "")
			}
			r.w(nl)
		}
		r.w(teamsSeparator)
		return
	}
	r.w(`<div class="me-email-text" lang="`)
	r.v(p.locale())
	r.w(`" style="max-width:1024px; color:#242424; `, teamsFont, `">`, nl)
	r.w(`<div aria-hidden="true" style="margin-bottom:24px; `, teamsSepHTML, teamsSeparator, `</div>`, nl)
	r.w(`<div style="margin-bottom:12px"><span class="me-email-text" style="font-size:24px; font-weight:700; margin-right:12px">Microsoft Teams</span> `)
	r.link(help, "Need help?", ` id="meet_invite_block.action.help"`+teamsLinkStyle)
	r.w(`</div>`, nl)
	r.w(`<div style="margin-bottom:6px">`)
	r.link(c.JoinURL, "Join the meeting now", ` id="meet_invite_block.action.join_link" title="Meeting join link" class="me-email-headline" style="font-size:20px; font-weight:600; text-decoration:underline; color:#5B5FC7"`)
	r.w(`</div>`, nl)
	if c.MeetingID != "" {
		r.w(`<div style="margin-bottom:6px">`, teamsLabel, `Meeting ID: </span>`, teamsValue)
		r.v(c.MeetingID)
		r.w(`</span></div>`, nl)
	}
	if c.Passcode != "" {
		r.w(`<div style="margin-bottom:6px">`, teamsLabel, `Passcode: </span>`, teamsValue)
		r.v(c.Passcode)
		r.w(`</span></div>`, nl)
	}
	r.w(`<div style="margin-top:24px; margin-bottom:12px; max-width:1024px"><hr style="border:0; background:#616161; height:1px"></div>`, nl)
	if dial {
		conf := phoneDigits(p.ConferenceID)
		r.w(`<div style="margin-bottom:6px"><span class="me-email-text" style="font-size:16px; font-weight:700">Dial in by phone</span></div>`, nl)
		r.numbers(p, ",,"+conf+"#", nl)
		if p.DialInURL != "" {
			r.w(`<div style="margin-bottom:6px">`)
			r.link(p.DialInURL, "Find a local number", teamsLinkStyle)
			r.w(`</div>`, nl)
		}
		r.w(`<div style="margin-bottom:24px">`, teamsLabel, `Phone conference ID: </span>`, teamsValue)
		r.v(groupDigits(conf, 3, "#"))
		r.w(`</span></div>`, nl)
	}
	if c.CompatJoinURL != "" {
		r.w(`<div style="margin-bottom:6px">`)
		r.link(c.CompatJoinURL, "System reference", ` id="meet_invite_block.action.join_link_compatibility"`+teamsLinkStyle)
		r.w(`</div>`, nl)
	}
	if c.MeetingOptionsURL != "" || dial {
		r.w(`<div>`, teamsLabel, `For organizers: </span>`)
		if c.MeetingOptionsURL != "" {
			r.link(c.MeetingOptionsURL, "Meeting options", ` id="meet_invite_block.action.organizer_meet_options"`+teamsLinkStyle)
			if dial {
				r.w(` <span style="color:#616161">|</span> `)
			}
		}
		if dial {
			r.link(reset, "Reset dial-in PIN", teamsLinkStyle)
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
		nums = append(nums, num{p.TollNumber, "(Toll)"})
	}
	for _, n := range p.TollFreeNumbers {
		nums = append(nums, num{n, "(Toll-free)"})
	}
	for _, n := range nums {
		href := "tel:" + phoneDigits(n.n) + suffix
		text := strings.TrimSpace(n.n) + suffix
		if !r.html {
			r.link(href, text, "")
			r.w(" ", n.label, nl)
			continue
		}
		if suffix != "" {
			r.w(`<div style="margin-bottom:4px">`)
			r.link(href, text, teamsLinkStyle)
			r.w(` `, teamsLabel, n.label, `</span></div>`, nl)
		} else {
			r.w(`<div style="font-size:10pt">`)
			r.link(href, text, ` style="color:#0066CC"`)
			r.w(` `, n.label, `</div>`, nl)
		}
	}
}

// LCIDs for Skype's language marker [!OC([1033])!].
var lcids = map[string]string{
	"en-us": "1033", "en-gb": "2057", "de-de": "1031", "fr-fr": "1036", "es-es": "3082", "it-it": "1040",
	"ja-jp": "1041", "nl-nl": "1043", "pt-br": "1046", "sv-se": "1053", "zh-cn": "2052",
}

// sfb renders the Skype for Business layout: dotted lines, the OutJoinLink
// bookmark, "Join Skype Meeting" and the dial-in part.
func (r renderer) sfb(c coords, p Profile) {
	lcid := lcids[strings.ToLower(p.locale())]
	if lcid == "" {
		lcid = "1033"
	}
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
		r.link(c.JoinURL, "Join Skype Meeting", "")
		r.w(nl, "Trouble Joining? ")
		r.link(webApp, "Try Skype Web App", "")
		r.w(nl)
		if dial {
			r.w("Join by phone", nl, nl)
			r.numbers(p, "", nl)
			if p.DialInURL != "" {
				r.link(p.DialInURL, "Find a local number", "")
				r.w(nl)
			}
			r.w(nl, "Conference ID: ", phoneDigits(p.ConferenceID), nl)
			if reset != "" {
				r.link(reset, "Forgot your dial-in PIN?", "")
				r.w(" |")
			}
		}
		r.link(help, "Help", "")
		r.w(nl, nl, "[!OC([", lcid, "])!]", nl, sfbSeparator)
		return
	}
	const p10 = `<div style="font-size:10pt; ` + sfbFont + `">`
	r.w(`<div style="font-size:8pt; color:#404040; `, sfbFont, `">`, sfbSeparator, `</div>`, nl)
	r.w(`<div style="`, sfbFont, `"><a name="OutJoinLink"></a>`)
	r.link(c.JoinURL, "Join Skype Meeting", ` style="font-size:16pt; color:#0066CC"`)
	r.w(`</div>`, nl)
	r.w(`<div style="font-size:10pt; margin-left:16pt; margin-bottom:12pt; `, sfbFont, `">Trouble Joining? `)
	r.link(webApp, "Try Skype Web App", ` style="color:#0066CC"`)
	r.w(`</div>`, nl)
	if dial {
		r.w(`<div style="font-size:13pt; `, sfbFont, `">Join by phone</div>`, nl)
		r.numbers(p, "", nl)
		if p.DialInURL != "" {
			r.w(p10)
			r.link(p.DialInURL, "Find a local number", ` style="color:#0066CC"`)
			r.w(`</div>`, nl)
		}
		r.w(`<div style="font-size:10pt; margin-top:8pt; `, sfbFont, `">Conference ID: `)
		r.v(phoneDigits(p.ConferenceID))
		r.w(`</div>`, nl)
	}
	r.w(p10)
	if dial && reset != "" {
		r.link(reset, "Forgot your dial-in PIN?", ` style="color:#0066CC"`)
		r.w(` | `)
	}
	r.link(help, "Help", ` style="color:#0066CC"`)
	r.w(`</div>`, nl)
	r.w(`<div style="font-size:8pt; color:#404040; `, sfbFont, `">[!OC([`, lcid, `])!]</div>`, nl)
	r.w(`<div style="font-size:8pt; color:#404040; `, sfbFont, `">`, sfbSeparator, `</div>`)
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
		fmt.Fprintf(b, "&#x%X;", r)
		i += n
	}
}
