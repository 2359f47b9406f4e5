package meetingblock

import (
	"errors"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
)

// textToHTML wraps a plain-text body the way Exchange serves it as HTML
// (a copy of the Graph emulator's, internal/calendar/graph/graphtest).
func textToHTML(t string) string {
	esc := strings.ReplaceAll(html.EscapeString(t), "\r\n", "\n")
	esc = strings.ReplaceAll(esc, "\n", "<br>\r\n")
	return "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n" +
		"<div class=\"PlainText\">" + esc + "</div>\r\n</body>\r\n</html>\r\n"
}

// A text body in other wrappings: each converts text to HTML and back.
type textWrapping struct {
	name         string
	wrap, unwrap func(string) string
}

// brWrapping escapes the text and writes its line breaks as br, between
// head and tail.
func brWrapping(name, head, br, tail string) textWrapping {
	return textWrapping{name: name,
		wrap: func(t string) string {
			esc := strings.ReplaceAll(html.EscapeString(t), "\r\n", "\n")
			return head + strings.ReplaceAll(esc, "\n", br) + tail
		},
		unwrap: func(h string) string {
			h = strings.TrimSuffix(strings.TrimPrefix(h, head), tail)
			return html.UnescapeString(strings.ReplaceAll(h, br, "\n"))
		},
	}
}

var textWrappings = []textWrapping{
	{"graph", textToHTML, func(h string) string {
		_, h, _ = strings.Cut(h, `<div class="PlainText">`)
		h, _, _ = strings.Cut(h, "</div>\r\n</body>")
		return html.UnescapeString(strings.ReplaceAll(h, "<br>\r\n", "\n"))
	}},
	brWrapping("bare br", "<html><body>", "<br>", "</body></html>"),
	brWrapping("bare br/ LF", "<!DOCTYPE html>\n<title>x</title>", "<BR/>\n", ""),
	{"pre", func(t string) string {
		return "<html><body><p>Intro &amp; more</p><pre>" + html.EscapeString(t) + "</pre><p>end</p></body></html>"
	}, func(h string) string {
		_, h, _ = strings.Cut(h, "<pre>")
		h, _, _ = strings.Cut(h, "</pre>")
		return html.UnescapeString(h)
	}},
}

// demoTextBody is a text body as the sandbox seeds it (seed.go, demoItem):
// an agenda, the block rendered from p, a closing note.
func demoTextBody(t *testing.T, p Profile, agenda string) string {
	t.Helper()
	block, err := Render(p, Kind(p.MeetingType), FormatText)
	if err != nil {
		t.Fatal(err)
	}
	return agenda + "\r\n\r\n" + block + "\r\n\r\nNotes: bring last week's numbers & <slides>.\r\n"
}

func demoProfiles() (teamsOld, teamsNew, sfbOld, sfbNew Profile) {
	teams := func(confID, toll string, tollFree ...string) Profile {
		return Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: confID, TollNumber: toll,
			TollFreeNumbers: tollFree, DialInURL: "https://dialin.teams.microsoft.com/local", Locale: "en-US"}
	}
	teamsOld, teamsNew = teams("111222333", "+1 425-555-0100"), teams("987654321", "+1 206-555-0199", "+1 888-555-0123")
	teamsOld.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22contoso%22%7d"
	sfbOld = Profile{MeetingType: "SfB", Provider: "Microsoft", JoinURL: "https://meet.contoso.com/bob/K8QF2R7L",
		ConferenceID: "4410021", TollNumber: "+1 425-555-0142", DialInURL: "https://dialin.contoso.com", Locale: "en-US"}
	sfbNew = Profile{MeetingType: "SfB", Provider: "Microsoft", JoinURL: "https://meet.lync.com/contoso/bob/Z3JT9W5M",
		ConferenceID: "88213047", TollNumber: "+1 206-555-0177", TollFreeNumbers: []string{"+1 866-555-0110"},
		DialInURL: "https://dialin.lync.com/contoso", Locale: "en-US"}
	return
}

var brRE = regexp.MustCompile(`(?i)<br\s*/?>(\r\n|\n|\r)?`)

// brText reads converted text: <br> and the line break after it are one newline.
func brText(h string) string {
	return html.UnescapeString(brRE.ReplaceAllString(h, "\n"))
}

// coordsOf is a Block without its position.
func coordsOf(b Block) Block {
	b.Start, b.End, b.Spans = 0, 0, nil
	return b
}

// A plain-text body served as HTML is found and replaced as the text body
// is, touching nothing but the block.
func TestHTMLConvertedText(t *testing.T) {
	teamsOld, teamsNew, sfbOld, sfbNew := demoProfiles()
	conversion := teamsNew
	conversion.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_new%40thread.v2/0"
	tests := []struct {
		name   string
		old, p Profile
		target migration.Target
		agenda string
	}{
		{"teams", teamsOld, teamsNew, migration.TargetCurrent, "Topics: hiring plan; offsite."},
		{"teams unicode", teamsOld, teamsNew, migration.TargetCurrent, "Agenda — naïve café résumé, 会議の議題 📈 & <b>R&D</b> \"quoted\" it's"},
		{"teams heading in agenda", teamsOld, teamsNew, migration.TargetCurrent, "Microsoft Teams meeting\r\nTopics: hiring plan"},
		{"sfb", sfbOld, sfbNew, migration.TargetCurrent, "FY27 budget: Q&A < 5 min > ok — Größe"},
		{"sfb to teams", sfbOld, conversion, migration.TargetTeams, "Migration: مراجعة & <done>"},
	}
	for _, tc := range tests {
		raw := demoTextBody(t, tc.old, tc.agenda)
		rawBlock, err := Find(raw, FormatText)
		if err != nil {
			t.Fatalf("%s: raw text: %v", tc.name, err)
		}
		rawRes := Replace(raw, FormatText, tc.p, tc.target)
		if rawRes.Outcome != Replaced {
			t.Fatalf("%s: raw text: %s (%s)", tc.name, rawRes.Outcome, rawRes.Reason)
		}
		for _, w := range textWrappings {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				in := w.wrap(raw)
				b, err := Find(in, FormatHTML)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := coordsOf(b), coordsOf(rawBlock); !reflect.DeepEqual(got, want) {
					t.Errorf("block\n got %+v\nwant %+v", got, want)
				}
				if got := brText(in[b.Start:b.End]); got != strings.ReplaceAll(raw[rawBlock.Start:rawBlock.End], "\r\n", "\n") &&
					got != raw[rawBlock.Start:rawBlock.End] {
					t.Errorf("span holds %q", got)
				}
				// Outside bytes, idempotence, UTF-8: checkReplace.
				res := checkReplace(t, in, FormatHTML, tc.p, tc.target)
				if res.Outcome != Replaced {
					t.Fatalf("%s (%s)", res.Outcome, res.Reason)
				}
				if !reflect.DeepEqual(coordsOf(res.Old), coordsOf(rawBlock)) {
					t.Errorf("Result.Old %+v", res.Old)
				}
				got, want := w.unwrap(res.Body), rawRes.Body
				if w.name != "pre" { // pre keeps the CRLF, <br> is one newline
					want = strings.ReplaceAll(want, "\r\n", "\n")
				}
				if got != want {
					t.Errorf("as text:\n%s", UnifiedDiff(want, got))
				}
				// The block is ASCII, escaped as the conversion escapes:
				// the result is the converted text result, byte for byte.
				if w.name != "pre" && res.Body != w.wrap(rawRes.Body) {
					t.Errorf("not the conversion of the text result:\n%s", UnifiedDiff(w.wrap(rawRes.Body), res.Body))
				}
				// The block as the organizer's client wrote it is up to date.
				if again := Replace(in, FormatHTML, tc.old, migration.TargetCurrent); again.Outcome != UpToDate || again.Body != in {
					t.Errorf("unchanged block: %s (%s)", again.Outcome, again.Reason)
				}
			})
		}
	}
}

// The fixtures' text bodies too, and what is not sure is refused.
func TestHTMLConvertedTextFixtures(t *testing.T) {
	for _, fx := range agendaFixtures {
		if fx.format != FormatText {
			continue
		}
		raw := readBody(t, fx.file)
		p := readProfile(t, fx.profile)
		rawRes := Replace(raw, FormatText, p, fx.target)
		in := textToHTML(raw)
		res := checkReplace(t, in, FormatHTML, p, fx.target)
		if res.Outcome != rawRes.Outcome || !reflect.DeepEqual(coordsOf(res.Old), coordsOf(rawRes.Old)) {
			t.Errorf("%s: %s (%s) %+v, text: %s %+v", fx.file, res.Outcome, res.Reason, res.Old, rawRes.Outcome, rawRes.Old)
		}
	}
}

func TestHTMLConvertedTextUnsure(t *testing.T) {
	teamsOld, _, sfbOld, _ := demoProfiles()
	teams, sfb := demoTextBody(t, teamsOld, "a"), demoTextBody(t, sfbOld, "b")
	inner := func(h string) string {
		_, h, _ = strings.Cut(h, `<div class="PlainText">`)
		h, _, _ = strings.Cut(h, "</div>\r\n</body>")
		return h
	}
	join := strings.Index(textToHTML(teams), "Join the meeting now")
	tests := []struct {
		name string
		body string
		err  error
	}{
		{"two containers", "<body>" + textToHTML(teams) + textToHTML(teams) + "</body>", ErrMultipleBlocks},
		{"two kinds", textToHTML(teams + "\r\n" + sfb), ErrMultipleBlocks},
		{"markup in block", textToHTML(teams)[:join] + "<b>" + textToHTML(teams)[join:], ErrStraddles},
		{"div in block", textToHTML(teams)[:join] + "<div></div>" + textToHTML(teams)[join:], ErrStraddles},
		{"join link markup outside", `<p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0">Join</a></p>` +
			`<div class="PlainText">` + inner(textToHTML(teams)) + "</div>", ErrBoundaries},
		{"not a container", "<div class=other>" + inner(textToHTML(teams)) + "</div>", ErrNoBlock},
		{"br body with a div", "<body>" + inner(textToHTML(teams)) + "<div>x</div></body>", ErrNoBlock},
		{"text in head", "<head><title>" + inner(textToHTML(teams)) + "</title></head><body>x</body>", ErrNoBlock},
	}
	for _, tc := range tests {
		if _, err := Find(tc.body, FormatHTML); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
		if res := Replace(tc.body, FormatHTML, teamsOld, migration.TargetCurrent); res.Outcome != NotReplaced || res.Body != tc.body {
			t.Errorf("%s: %s", tc.name, res.Outcome)
		}
	}
	// A nested div in the container does not end it; an unclosed one ends
	// with the body; a <br> body without a <body> tag is read whole.
	for _, body := range []string{
		`<div class="x PlainText"><div>Intro</div>` + inner(textToHTML(teams)) + "</div><p>after</p>",
		`<DIV CLASS=plaintext>` + inner(textToHTML(teams)),
		inner(textToHTML(teams)),
	} {
		if b, err := Find(body, FormatHTML); err != nil || b.JoinURL != teamsOld.JoinURL {
			t.Errorf("%.40q: %v %+v", body, err, b)
		}
		checkReplace(t, body, FormatHTML, teamsOld, migration.TargetTeams)
	}
}
