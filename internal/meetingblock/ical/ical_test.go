package ical

import (
	"strings"
	"testing"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\n" +
	"DTSTAMP:20250101T000000Z\r\nDTSTART:20300101T100000Z\r\nSEQUENCE:7\r\n" +
	"ATTENDEE;CN=\"Doe, J.\";X-Q=\"a:b\";RSVP=TRUE:mailto:j@example.com\r\n" +
	"X-WEIRD;b=2;a=1:va\r\n lue\r\n" +
	"DESCRIPTION:old\r\n" +
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:alarm\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n" +
	"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:u1\r\nRECURRENCE-ID:20300108T100000Z\r\nDTSTAMP:20250101T000000Z\r\n" +
	"DTSTART:20300108T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestParseRoundTripIsByteExact(t *testing.T) {
	for _, s := range []string{sample, strings.ReplaceAll(sample, "\r\n", "\n"), strings.TrimSuffix(sample, "\r\n")} {
		d := Parse(s)
		assert.Equal(t, s, d.String())
		evs := d.Events()
		require.Len(t, evs, 2)
		assert.Equal(t, "", evs[0].RID)
		assert.Equal(t, "20300108T100000Z", evs[1].RID)
		// An edit that changes nothing writes the same bytes.
		ed := d.Edit()
		ed.Set(evs[0], "DESCRIPTION", nil, "old")
		assert.Equal(t, s, ed.Apply())
	}
	d := Parse(sample)
	l := d.First(d.Events()[0], "X-WEIRD")
	assert.Equal(t, "value", l.Value)
	assert.Equal(t, ";b=2;a=1", l.Params)
	a := d.First(d.Events()[0], "ATTENDEE")
	p := ParseParams(a.Params)
	assert.Equal(t, "Doe, J.", p["CN"][0])
	assert.Equal(t, "a:b", p["X-Q"][0])
	assert.Equal(t, "mailto:j@example.com", a.Value)
	assert.Equal(t, `;CN="Doe, J.";RSVP=TRUE`, RemoveParam(a.Params, "x-q"))
}

func TestEditTouchesOnlyItsEvent(t *testing.T) {
	d := Parse(sample)
	e := d.Events()[0]
	ed := d.Edit()
	ed.Set(e, "DESCRIPTION", nil, Escape("new; text, with\nbreaks"))
	ed.Set(e, "SEQUENCE", nil, "8")
	ed.Set(e, "LAST-MODIFIED", nil, "20250102T000000Z")
	out := ed.Apply()
	want := strings.Replace(sample, "SEQUENCE:7", "SEQUENCE:8", 1)
	want = strings.Replace(want, "DESCRIPTION:old\r\n", `DESCRIPTION:new\; text\, with\nbreaks`+"\r\n", 1)
	want = strings.Replace(want, "END:VALARM\r\nEND:VEVENT", "END:VALARM\r\nLAST-MODIFIED:20250102T000000Z\r\nEND:VEVENT", 1)
	assert.Equal(t, want, out)
	// go-ical reads it: SEQUENCE is a plain integer, not VALUE=TEXT.
	cal, err := goical.NewDecoder(strings.NewReader(out)).Decode()
	require.NoError(t, err)
	ev := cal.Events()[0]
	n, err := ev.Props.Get("SEQUENCE").Int()
	require.NoError(t, err)
	assert.Equal(t, 8, n)
	desc, err := ev.Props.Text("DESCRIPTION")
	require.NoError(t, err)
	assert.Equal(t, "new; text, with\nbreaks", desc)
}

func TestFoldKeepsUTF8(t *testing.T) {
	texts := []string{
		strings.Repeat("日本語の議題", 40),
		strings.Repeat("🎉👩‍💻", 50),
		"Grüße " + strings.Repeat("äöüß€", 60),
		strings.Repeat("a", 74) + "é" + strings.Repeat("b", 80),
	}
	for _, text := range texts {
		line := "DESCRIPTION:" + Escape(text)
		folded := Fold(line, "\r\n")
		for i, phys := range strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n") {
			assert.LessOrEqual(t, len(phys), 75, "line %d", i)
			assert.True(t, utf8.ValidString(phys), "line %d splits a UTF-8 sequence: %q", i, phys)
			if i > 0 {
				assert.Equal(t, byte(' '), phys[0])
			}
		}
		assert.Equal(t, line, Parse(folded).Lines[0].Text())
		cal, err := goical.NewDecoder(strings.NewReader("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20250101T000000Z\r\n" +
			folded + "END:VEVENT\r\nEND:VCALENDAR\r\n")).Decode()
		require.NoError(t, err)
		got, err := cal.Events()[0].Props.Text("DESCRIPTION")
		require.NoError(t, err)
		assert.Equal(t, text, got, "go-ical reads it back exactly")
	}
}

func TestEscapeText(t *testing.T) {
	s := "a\\b;c,d\r\ne\nf"
	assert.Equal(t, `a\\b\;c\,d\ne\nf`, Escape(s))
	assert.Equal(t, "a\\b;c,d\ne\nf", Unescape(Escape(s)))
	assert.Equal(t, "x\ny", Unescape(`x\Ny`))
}

func TestDecode(t *testing.T) {
	body := "BEGIN:VEVENT\r\nDESCRIPTION;LANGUAGE=\"en:US\":a\\,b\\;c\\\\d\\ne\r\n f\\\r\n ng\\x\r\nEND:VEVENT\r\n"
	end := strings.Index(body, "\r\nEND")
	d := Parse(body)
	l := d.Lines[1]
	if l.Name != "DESCRIPTION" || l.Params != `;LANGUAGE="en:US"` {
		t.Fatalf("name %q params %q", l.Name, l.Params)
	}
	p := d.Decode(1)
	if want := "a,b;c\\d\nef\ng\\x"; p.Value != want {
		t.Errorf("value %q, want %q", p.Value, want)
	}
	// Offsets map back to the raw bytes of the same characters.
	for l := 0; l < len(p.Value); l++ {
		r := p.Raw(l)
		c := p.Value[l]
		switch {
		case c == '\n' || c == ',' || c == ';' || c == '\\' && body[r+1] == '\\':
			if body[r] != '\\' {
				t.Errorf("value[%d]=%q maps to raw %q", l, c, body[r])
			}
		case body[r] != c:
			t.Errorf("value[%d]=%q maps to raw %q", l, c, body[r])
		}
	}
	if p.Raw(len(p.Value)) != end {
		t.Errorf("end maps to %d, want %d", p.Raw(len(p.Value)), end)
	}
}

func TestWriteFolded(t *testing.T) {
	var b strings.Builder
	s := strings.Repeat("日本語, ok; \\ \n", 20)
	col := writeFolded(&b, Escape(s), len("DESCRIPTION:"), "\r\n")
	out := "DESCRIPTION:" + b.String()
	for _, l := range strings.Split(out, "\r\n") {
		if len(l) > maxLine {
			t.Errorf("line of %d octets", len(l))
		}
		if !utf8.ValidString(l) {
			t.Errorf("fold splits a character: %q", l)
		}
	}
	if last := out[strings.LastIndex(out, "\n")+1:]; col != len(last) {
		t.Errorf("column %d, last line %d", col, len(last))
	}
	if got := Parse(out).Decode(0).Value; got != s {
		t.Errorf("round trip:\n%q\n%q", got, s)
	}
}
