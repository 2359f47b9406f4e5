package meetingblock

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openmms/mms/internal/migration"
)

// icalUnfold undoes RFC 5545 folding at the byte level.
func icalUnfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n ", "")
	s = strings.ReplaceAll(s, "\r\n\t", "")
	s = strings.ReplaceAll(s, "\n ", "")
	return strings.ReplaceAll(s, "\n\t", "")
}

func TestICalReplaceFoldsAndEscapes(t *testing.T) {
	in := readBody(t, "teams_recurring.ics")
	res := Replace(in, FormatICal, dialProfile(), migration.TargetCurrent)
	if res.Outcome != Replaced {
		t.Fatalf("%s: %s", res.Outcome, res.Reason)
	}
	// Every line we wrote fits in 75 octets; lines that were too long in
	// the input (UID, ONLINEMEETINGCONFLINK) are input bytes.
	inLines := map[string]bool{}
	for _, l := range strings.Split(in, "\r\n") {
		inLines[l] = true
	}
	for i, l := range strings.Split(res.Body, "\r\n") {
		if len(l) > 75 && !inLines[l] {
			t.Errorf("line %d has %d octets: %q", i+1, len(l), l)
		}
	}
	// The unfolded output is valid UTF-8 (the input splits a character
	// across a fold, outside the block) and carries the new dial-in in both
	// the text and the HTML part of both events.
	un := icalUnfold(res.Body)
	if !utf8.ValidString(un) {
		t.Error("unfolded output is not valid UTF-8")
	}
	if n := strings.Count(un, `903 184 275#`); n != 4 {
		t.Errorf("new conference ID appears %d times, want 4 (2 events x text and HTML)", n)
	}
	if n := strings.Count(un, `tel:+12065550142\,\,903184275#`); n != 4 {
		t.Errorf("escaped tel: link appears %d times, want 4", n)
	}
	for _, keep := range []string{"DESCRIPTION:REMINDER\r\n", "SUMMARY;LANGUAGE=en-us:Quarterly planning\\, Q3\\; budget\r\n", "X-MICROSOFT-SKYPETEAMSMEETINGURL:"} {
		if strings.Count(res.Body, keep) != strings.Count(in, keep) {
			t.Errorf("%q changed", keep)
		}
	}
}

func TestICalErrors(t *testing.T) {
	block := strings.ReplaceAll(strings.ReplaceAll(readBody(t, "teams_gen2_2021.txt"), "\r\n", "\\n"), ",", "\\,")
	tests := []struct {
		name, body string
		want       string
	}{
		{"no event", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no block found"},
		{"alarm only", "BEGIN:VEVENT\r\nBEGIN:VALARM\r\nDESCRIPTION:" + block + "\r\nEND:VALARM\r\nEND:VEVENT\r\n", "no block found"},
		{"two descriptions", "BEGIN:VEVENT\r\nDESCRIPTION:a\r\nDESCRIPTION:" + block + "\r\nEND:VEVENT\r\n", "more than one block"},
		{"invalid UTF-8", "BEGIN:VEVENT\r\nDESCRIPTION:\xff" + block + "\r\nEND:VEVENT\r\n", "body is not valid UTF-8"},
	}
	for _, tc := range tests {
		res := Replace(tc.body, FormatICal, dialProfile(), migration.TargetCurrent)
		if res.Outcome != NotReplaced || res.Reason != tc.want || res.Body != tc.body {
			t.Errorf("%s: %q %q", tc.name, res.Outcome, res.Reason)
		}
	}
	// A VEVENT without X-ALT-DESC is fine; the text-only block is replaced.
	body := "BEGIN:VEVENT\nDESCRIPTION:" + block + "\nEND:VEVENT\n"
	res := Replace(body, FormatICal, dialProfile(), migration.TargetCurrent)
	if res.Outcome != Replaced || !strings.HasSuffix(res.Body, "\nEND:VEVENT\n") || strings.Contains(res.Body, "\r") {
		t.Errorf("LF text-only event: %q %q", res.Outcome, res.Reason)
	}
}
