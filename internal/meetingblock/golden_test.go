package meetingblock

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openmms/mms/internal/migration"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type goldenCase struct {
	name    string
	body    string // under testdata/bodies
	format  Format
	profile string // under testdata/profiles
	target  migration.Target
	want    Outcome
	reason  string // NotReplaced: the reason starts with this
}

var goldenCases = []goldenCase{
	{"teams_gen1_2018", "teams_gen1_2018.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_gen2_2021_licence_removed", "teams_gen2_2021.html", FormatHTML, "teams_no_dialin.json", migration.TargetCurrent, Replaced, ""},
	{"teams_gen3_2023", "teams_gen3_2023.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_gen4_2025", "teams_gen4_2025.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_received_x", "teams_received_x.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_safelinks", "teams_safelinks.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_user_edited", "teams_user_edited.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_charset_1252", "teams_charset_1252.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"sfb_moved_online", "sfb_outlook.html", FormatHTML, "sfb_moved_online.json", migration.TargetCurrent, Replaced, ""},
	{"sfb_to_teams", "sfb_outlook.html", FormatHTML, "teams_conversion.json", migration.TargetTeams, Replaced, ""},
	{"sfb_acp_replace_allowed", "sfb_acp_third_party.html", FormatHTML, "sfb_acp_replace.json", migration.TargetCurrent, Replaced, ""},
	{"teams_gen2_2021_text", "teams_gen2_2021.txt", FormatText, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"teams_gen3_2023_text", "teams_gen3_2023.txt", FormatText, "teams_no_dialin.json", migration.TargetCurrent, Replaced, ""},
	{"sfb_text_moved_online", "sfb.txt", FormatText, "sfb_moved_online.json", migration.TargetCurrent, Replaced, ""},
	{"sfb_text_to_teams", "sfb.txt", FormatText, "teams_conversion.json", migration.TargetTeams, Replaced, ""},
	{"ical_teams_recurring", "teams_recurring.ics", FormatICal, "teams_dialin_change.json", migration.TargetCurrent, Replaced, ""},
	{"ical_sfb_to_teams", "sfb_caldav.ics", FormatICal, "teams_conversion.json", migration.TargetTeams, Replaced, ""},

	{"sfb_acp", "sfb_acp_third_party.html", FormatHTML, "sfb_moved_online.json", migration.TargetCurrent, NotReplaced, ReasonThirdPartyBlock},
	{"teams_two_blocks", "teams_two_blocks.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, NotReplaced, "more than one block"},
	{"teams_nested_separators", "teams_nested_separators.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, NotReplaced, "nested separators"},
	{"no_block", "no_block.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, NotReplaced, "no block found"},
	{"teams_charset_utf16", "teams_charset_utf16.html", FormatHTML, "teams_dialin_change.json", migration.TargetCurrent, NotReplaced, "body declares charset"},
	{"sfb_to_teams_without_link", "sfb_outlook.html", FormatHTML, "teams_dialin_change.json", migration.TargetTeams, NotReplaced, ReasonNeedsJoinURL},
	{"ical_mismatch", "teams_mismatch.ics", FormatICal, "teams_dialin_change.json", migration.TargetCurrent, NotReplaced, "DESCRIPTION and X-ALT-DESC disagree"},
}

func readProfile(t testing.TB, name string) Profile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "profiles", name))
	if err != nil {
		t.Fatal(err)
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func readBody(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bodies", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change):\n%s", name, UnifiedDiff(string(want), string(got)))
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			in := readBody(t, tc.body)
			p := readProfile(t, tc.profile)
			res := Replace(in, tc.format, p, tc.target)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %q (reason %q), want %q", res.Outcome, res.Reason, tc.want)
			}
			if tc.want == NotReplaced {
				if !strings.HasPrefix(res.Reason, tc.reason) {
					t.Errorf("reason %q, want it to start with %q", res.Reason, tc.reason)
				}
				if res.Body != in {
					t.Error("body changed although not replaced")
				}
				return
			}
			ext := filepath.Ext(tc.body)
			golden(t, tc.name+".out"+ext, []byte(res.Body))
			var blk bytes.Buffer
			enc := json.NewEncoder(&blk)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res.Old); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".block.json", blk.Bytes())

			assertOutsideUnchanged(t, in, res.Body, res.Old.Spans)
			if utf8.ValidString(in) && !utf8.ValidString(res.Body) {
				t.Error("output is not valid UTF-8")
			}
			wantKind := res.Old.Kind
			if tc.target == migration.TargetTeams {
				wantKind = KindTeams
			}
			if res.NewKind != wantKind {
				t.Errorf("new kind %q, want %q", res.NewKind, wantKind)
			}

			// The new block is found again, exactly where the old one was.
			nb, err := Find(res.Body, tc.format)
			if err != nil {
				t.Fatalf("Find on the output: %v", err)
			}
			if tc.format != FormatICal && (nb.Start != res.Old.Start || len(res.Body)-nb.End != len(in)-res.Old.End) {
				t.Errorf("new block at [%d,%d) of %d bytes, old at [%d,%d) of %d", nb.Start, nb.End, len(res.Body), res.Old.Start, res.Old.End, len(in))
			}
			if nb.Kind != wantKind {
				t.Errorf("new block kind %q, want %q", nb.Kind, wantKind)
			}
			// Idempotent: a second run has nothing to do.
			again := Replace(res.Body, tc.format, p, tc.target)
			if again.Outcome != UpToDate || again.Body != res.Body {
				t.Errorf("second run: %q (%s), body changed: %v", again.Outcome, again.Reason, again.Body != res.Body)
			}
		})
	}
}

// assertOutsideUnchanged checks that every byte of in outside spans is in
// out, in order, at the same distance from the start (before the first span)
// and from the end (after the last).
func assertOutsideUnchanged(t *testing.T, in, out string, spans []Span) {
	t.Helper()
	if msg := outsideChanged(in, out, spans); msg != "" {
		t.Error(msg)
	}
}

func outsideChanged(in, out string, spans []Span) string {
	if len(spans) == 0 {
		return "no spans"
	}
	first, last := spans[0], spans[len(spans)-1]
	if !strings.HasPrefix(out, in[:first.Start]) {
		return "bytes before the block changed"
	}
	if !strings.HasSuffix(out, in[last.End:]) {
		return "bytes after the block changed"
	}
	pos := first.Start
	for i := 1; i < len(spans); i++ {
		mid := in[spans[i-1].End:spans[i].Start]
		j := strings.Index(out[pos:], mid)
		if j < 0 {
			return "bytes between two blocks changed"
		}
		pos += j + len(mid)
	}
	return ""
}
