package meetingblock

import (
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// Several MB of agenda around a block: replaced, agenda kept.
func TestLargeBody(t *testing.T) {
	if testing.Short() {
		t.Skip("large body")
	}
	fx := loadFixture(t, agendaFixtures[2]) // teams_gen3_2023.html
	para := "<p>Résumé 予算 🚀 — <b>bold</b> &amp; <a href=\"https://contoso.example/x\">link</a></p>\r\n"
	pad := strings.Repeat(para, (5<<20)/len(para)/2)
	in := insertAgenda(fx.body, fx.format, pad, pad)
	res := checkReplace(t, in, fx.format, fx.p, fx.target)
	if res.Outcome != Replaced || res.Body != insertAgenda(fx.replaced, fx.format, pad, pad) {
		t.Errorf("%s (%s)", res.Outcome, res.Reason)
	}
}

// Crafted markup that would make a naive tree builder quadratic: deep
// unclosed nesting, stray end tags that search the whole stack, thousands
// of separators. Each must finish quickly and give a clear outcome.
func TestPathologicalHTML(t *testing.T) {
	block := teamsHTML(teamsJn)
	cases := map[string]string{
		"deep unclosed nesting":    strings.Repeat("<div><span>", 100000) + block,
		"stray end tags":           "<table>" + strings.Repeat("<span>", 50000) + strings.Repeat("</div>", 50000) + block,
		"implied p ends":           "<p><table>" + strings.Repeat("<b>", 50000) + strings.Repeat("<div>", 50000) + block,
		"many separators":          strings.Repeat("<div>"+sep80+"</div>", 20000) + block,
		"many anchors":             strings.Repeat(`<a class="me-email-headline" href="x">`, 30000) + block,
		"long attribute":           `<a href="https://teams.microsoft.com/l/meetup-join/` + strings.Repeat("a", 2<<20) + `">` + block,
		"unterminated tag at end":  block + "<div class=\"" + strings.Repeat("x", 1<<20),
		"nul and control bytes":    "\x00\x01<p>\x00</p>" + block + "\x1b[31m",
		"separator soup in a cell": "<table><tr><td>" + strings.Repeat(sep80+"<br>", 5000) + "</td></tr></table>" + block,
	}
	p := dialProfile()
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			res := checkReplace(t, body, FormatHTML, p, migration.TargetCurrent)
			// A generous bound that still catches quadratic behaviour
			// (which takes minutes on these inputs).
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
			t.Logf("%s: %s %s", name, res.Outcome, res.Reason)
			if res.Outcome == NotReplaced && res.Reason == "" {
				t.Error("not replaced without a reason")
			}
		})
	}
}

func TestPathologicalText(t *testing.T) {
	body := strings.Repeat(sep80+"\n", 50000) + strings.Repeat("x", 3<<20) + "\n" + strings.Repeat(". ", 1<<20)
	res := checkReplace(t, body, FormatText, dialProfile(), migration.TargetCurrent)
	if res.Outcome != NotReplaced {
		t.Errorf("outcome %s", res.Outcome)
	}
	ics := "BEGIN:VEVENT\r\nDESCRIPTION:" + strings.Repeat("\\n\r\n \\,", 200000) + "\r\nEND:VEVENT\r\n"
	checkReplace(t, ics, FormatICal, dialProfile(), migration.TargetCurrent)
}

func TestTagName(t *testing.T) {
	var buf [maxTagName]byte
	for raw, want := range map[string]string{
		"<DIV class=x>": "div", "</o:p>": "o:p", "<br/>": "br", "<a\nhref=x>": "a", "</TD >": "td",
		"<" + strings.Repeat("x", 100) + ">": strings.Repeat("x", maxTagName),
	} {
		if got := string(tagName([]byte(raw), &buf)); got != want {
			t.Errorf("tagName(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestManyCandidates(t *testing.T) {
	pair := "<div>" + sep80 + "</div>" + `<a href="` + teamsJn + `">Join</a>` + "<div>" + sep80 + "</div><p>x</p>"
	start := time.Now()
	if _, err := Find(strings.Repeat(pair, 30000), FormatHTML); err != ErrMultipleBlocks {
		t.Errorf("err %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}
