package meetingblock

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openmms/mms/internal/migration"
)

// agendaFixture is a body with places where agenda text can be inserted
// without touching markup: after the <body> start tag and before </body>
// (HTML), at the very start and end (text).
type agendaFixture struct {
	file    string
	format  Format
	profile string
	target  migration.Target
}

var agendaFixtures = []agendaFixture{
	{"teams_gen1_2018.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
	{"teams_gen2_2021.html", FormatHTML, "teams_no_dialin.json", migration.TargetCurrent},
	{"teams_gen3_2023.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
	{"teams_gen4_2025.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
	{"teams_received_x.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
	{"teams_safelinks.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
	{"sfb_outlook.html", FormatHTML, "teams_conversion.json", migration.TargetTeams},
	{"teams_gen2_2021.txt", FormatText, "teams_dialin_change.json", migration.TargetCurrent},
	{"teams_gen3_2023.txt", FormatText, "teams_no_dialin.json", migration.TargetCurrent},
	{"sfb.txt", FormatText, "sfb_moved_online.json", migration.TargetCurrent},
	// A text body as Graph serves it in HTML (<div class="PlainText">).
	{"teams_gen3_2023_plaintext.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent},
}

// insertAgenda puts pre and post around the content of fixture body.
func insertAgenda(body string, f Format, pre, post string) string {
	if f == FormatText {
		return pre + body + post
	}
	i := strings.Index(body, "<body")
	i += strings.IndexByte(body[i:], '>') + 1
	j := strings.LastIndex(body, "</body>")
	return body[:i] + pre + body[i:j] + post + body[j:]
}

// agendaText removes what could be markup or a separator line, keeping
// everything else (any Unicode, control characters, line breaks).
func agendaText(s string, f Format) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	drop := "_."
	if f == FormatHTML {
		drop = "<>&_."
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(drop, r) {
			return -1
		}
		return r
	}, s)
}

// checkReplace asserts the invariants of Replace for any input.
func checkReplace(t *testing.T, in string, f Format, p Profile, tg migration.Target) Result {
	t.Helper()
	res := Replace(in, f, p, tg)
	if strings.HasPrefix(res.Reason, "internal error") {
		t.Fatalf("Replace panicked: %s", res.Reason)
	}
	if res.Outcome != Replaced {
		if res.Body != in {
			t.Fatalf("%s changed the body", res.Outcome)
		}
		return res
	}
	for _, s := range res.Old.Spans {
		if s.Start < 0 || s.Start > s.End || s.End > len(in) {
			t.Fatalf("span %v out of [0,%d]", s, len(in))
		}
	}
	if msg := outsideChanged(in, res.Body, res.Old.Spans); msg != "" {
		t.Fatal(msg)
	}
	valid, validOut := utf8.ValidString(in), utf8.ValidString(res.Body)
	if f == FormatICal {
		// A fold may split a character outside the block: judge the
		// unfolded text.
		valid, validOut = utf8.ValidString(icalUnfold(in)), utf8.ValidString(icalUnfold(res.Body))
	}
	if valid && !validOut {
		t.Fatal("output is not valid UTF-8")
	}
	const rc = "\uFFFD"
	want := strings.Count(in, rc)
	for _, s := range res.Old.Spans {
		want -= strings.Count(in[s.Start:s.End], rc)
	}
	if got := strings.Count(res.Body, rc); got != want {
		t.Fatalf("%d replacement characters in the output, %d outside the old blocks", got, want)
	}
	again := Replace(res.Body, f, p, tg)
	if again.Outcome != UpToDate || again.Body != res.Body {
		t.Fatalf("not idempotent: second run %s (%s)", again.Outcome, again.Reason)
	}
	return res
}

// loadedFixture is an agenda fixture read, with its replacement without agenda.
type loadedFixture struct {
	agendaFixture
	body, replaced string
	p              Profile
}

func loadFixture(t testing.TB, fx agendaFixture) loadedFixture {
	lf := loadedFixture{agendaFixture: fx, body: readBody(t, fx.file), p: readProfile(t, fx.profile)}
	lf.replaced = Replace(lf.body, fx.format, lf.p, fx.target).Body
	return lf
}

// checkAgenda asserts that a block surrounded by agenda text is replaced
// exactly as without the agenda, and the agenda kept to the byte.
func checkAgenda(t *testing.T, fx loadedFixture, pre, post string) {
	t.Helper()
	pre, post = agendaText(pre, fx.format), agendaText(post, fx.format)
	in := insertAgenda(fx.body, fx.format, pre, post)
	res := checkReplace(t, in, fx.format, fx.p, fx.target)
	if fx.replaced == fx.body {
		// A block as rendered (a localized fixture) stays as it is.
		if res.Outcome != UpToDate {
			t.Fatalf("%s with agenda %q / %q: %s (%s)", fx.file, pre, post, res.Outcome, res.Reason)
		}
		return
	}
	if res.Outcome != Replaced {
		t.Fatalf("%s with agenda %q / %q: %s (%s)", fx.file, pre, post, res.Outcome, res.Reason)
	}
	if want := insertAgenda(fx.replaced, fx.format, pre, post); res.Body != want {
		t.Fatalf("%s: agenda %q / %q not kept as is", fx.file, pre, post)
	}
}

// Runes agendas are made of: CJK, emoji (with ZWJ and variation selectors),
// RTL scripts and marks, combining marks, NBSP and other spaces, BOM, U+FFFD
// itself, control characters and line breaks.
var agendaRunes = []rune("議題会議室谢谢한국어🚀📅👩\u200d💻❤\ufe0fعربيةשלום\u200f\u202eé\u0301\u0308\u00a0\u2009\u3000\ufeff\ufffd\x00\x01\x7f\t\r\nabc XYZ 123:;,'\"/|\\-+#")

func TestPropertyUnicodeAgendas(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 7))
	gen := func() string {
		rs := make([]rune, rng.IntN(40))
		for i := range rs {
			rs[i] = agendaRunes[rng.IntN(len(agendaRunes))]
		}
		return string(rs)
	}
	for _, fx := range agendaFixtures {
		lf := loadFixture(t, fx)
		for range 50 {
			checkAgenda(t, lf, gen(), gen())
		}
	}
}

func FuzzReplaceAgenda(f *testing.F) {
	f.Add("議題：予算 🚀", "谢谢！", uint8(0))
	f.Add("جدول الأعمال\u200f", "סדר יום", uint8(2))
	f.Add("e\u0301\u00a0\ufffd", "👩\u200d💻", uint8(7))
	f.Add("\x00\x01\r\n", "\r", uint8(9))
	loaded := allFixtures(f)
	f.Fuzz(func(t *testing.T, pre, post string, which uint8) {
		checkAgenda(t, loaded[int(which)%len(loaded)], pre, post)
	})
}

// FuzzReplace feeds arbitrary text and markup around (and, by splitting the
// fixture, inside) a real block: whatever happens, the invariants hold.
func FuzzReplace(f *testing.F) {
	f.Add("<p>agenda</p>", "</div></table><div>", uint8(0), uint16(0))
	f.Add("<table><tr><td>", "________________________________________________________________________________", uint8(2), uint16(900))
	f.Add("\xff\xfe", "<!--", uint8(6), uint16(40))
	f.Add("Meeting ID: 1", "................................................", uint8(9), uint16(300))
	f.Add("<pre>", "&lt;br&gt;<br>", uint8(10), uint16(700))
	loaded := allFixtures(f)
	f.Fuzz(func(t *testing.T, pre, mid string, which uint8, at uint16) {
		fx := loaded[int(which)%len(loaded)]
		i := int(at) % (len(fx.body) + 1)
		checkReplace(t, pre+fx.body[:i]+mid+fx.body[i:], fx.format, fx.p, fx.target)
	})
}

func FuzzReplaceICal(f *testing.F) {
	f.Add("Agenda, with; escapes\\n", uint16(0), false)
	f.Add("\r\n ", uint16(7000), true)
	f.Add("BEGIN:VEVENT\r\nDESCRIPTION:", uint16(300), false)
	teams, sfbBody := readBody(f, "teams_recurring.ics"), readBody(f, "sfb_caldav.ics")
	conversion := readProfile(f, "teams_conversion.json")
	f.Fuzz(func(t *testing.T, mid string, at uint16, sfb bool) {
		body, p, tg := teams, dialProfile(), migration.TargetCurrent
		if sfb {
			body, p, tg = sfbBody, conversion, migration.TargetTeams
		}
		i := int(at) % (len(body) + 1)
		checkReplace(t, body[:i]+mid+body[i:], FormatICal, p, tg)
	})
}

// FuzzFind: any bytes, any format: no panic, spans inside the body.
func FuzzFind(f *testing.F) {
	f.Add("<div class=me-email-text><a id=meet_invite_block.action.join_link href=https://teams.microsoft.com/meet/1?p=a>", uint8(0))
	f.Add("BEGIN:VEVENT\nDESCRIPTION:"+strings.Repeat("_", 80)+"\\nJoin Skype Meeting\nEND:VEVENT", uint8(2))
	f.Add(`<div class="PlainText">`+strings.Repeat("_", 80)+"<br>\r\nJoin the meeting now&lt;https://teams.microsoft.com/meet/1?p=a&gt;<br>\r\n"+strings.Repeat("_", 80)+"</div>", uint8(0))
	f.Add("a<br>"+strings.Repeat(".", 137)+"<BR/>Join Skype Meeting&lt;https://meet.lync.com/a/b&gt;<br>\n"+strings.Repeat(".", 137), uint8(0))
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		format := []Format{FormatHTML, FormatText, FormatICal}[int(which)%3]
		b, err := Find(body, format)
		if err != nil {
			return
		}
		if b.Start < 0 || b.Start > b.End || b.End > len(body) {
			t.Fatalf("span [%d,%d) of %d", b.Start, b.End, len(body))
		}
	})
}

// FuzzEdit replaces a stretch of a real body (often inside the block, the
// way users edit it or a client truncates it) with arbitrary bytes.
func FuzzEdit(f *testing.F) {
	f.Add("", uint8(0), uint16(700), uint8(40))
	f.Add("</div>", uint8(2), uint16(1500), uint8(6))
	f.Add("<!--", uint8(6), uint16(2000), uint8(0))
	f.Add("\n", uint8(7), uint16(300), uint8(81))
	f.Add("&amp;<br>", uint8(10), uint16(400), uint8(9))
	loaded := allFixtures(f)
	f.Fuzz(func(t *testing.T, mid string, which uint8, at uint16, del uint8) {
		fx := loaded[int(which)%len(loaded)]
		i := int(at) % (len(fx.body) + 1)
		j := min(i+int(del), len(fx.body))
		checkReplace(t, fx.body[:i]+mid+fx.body[j:], fx.format, fx.p, fx.target)
	})
}
