package meetingblock

import (
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
)

func dialProfile() Profile {
	return Profile{MeetingType: "Teams", ConferenceID: "903184275", TollNumber: "+1 206-555-0142", Provider: ProviderMicrosoft}
}

func TestReplaceKeepsMeetingCoordinates(t *testing.T) {
	in := readBody(t, "teams_gen3_2023.html")
	old, err := Find(in, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	res := Replace(in, FormatHTML, dialProfile(), migration.TargetCurrent)
	if res.Outcome != Replaced {
		t.Fatalf("%s: %s", res.Outcome, res.Reason)
	}
	nb, err := Find(res.Body, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if nb.JoinURL != old.JoinURL || nb.MeetingID != old.MeetingID || nb.Passcode != old.Passcode || nb.MeetingOptionsURL != old.MeetingOptionsURL {
		t.Errorf("meeting coordinates not kept:\nold %+v\nnew %+v", old, nb)
	}
	if nb.ConferenceID != "903184275" || len(nb.TollNumbers) != 1 || nb.TollNumbers[0] != "+12065550142" {
		t.Errorf("dial-in not from the profile: %+v", nb)
	}
}

func TestReplaceProfileJoinURLReplacesCoordinates(t *testing.T) {
	in := readBody(t, "teams_gen3_2023.html")
	p := dialProfile()
	p.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_new%40thread.v2/0"
	p.MeetingID = "111 222 333 444"
	res := Replace(in, FormatHTML, p, migration.TargetCurrent)
	nb, err := Find(res.Body, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if nb.JoinURL != p.JoinURL || nb.MeetingID != p.MeetingID || nb.Passcode != "" || nb.MeetingOptionsURL != "" {
		t.Errorf("old coordinates leaked into the new meeting: %+v", nb)
	}
	// A Teams link does not go into a Skype meeting kept as Skype.
	sfb := readBody(t, "sfb_outlook.html")
	res = Replace(sfb, FormatHTML, p, migration.TargetCurrent)
	if res.Outcome != Replaced || res.NewKind != KindSfB {
		t.Fatalf("%s %s: %s", res.Outcome, res.NewKind, res.Reason)
	}
	nb, _ = Find(res.Body, FormatHTML)
	if nb.Kind != KindSfB || nb.JoinURL != "https://meet.lync.com/contoso-com/adele.vance/K7QX9ZP2" {
		t.Errorf("Skype meeting got %+v", nb)
	}
}

func TestReplaceNotReplaced(t *testing.T) {
	gen2 := readBody(t, "teams_gen2_2021.html")
	noJoin := strings.Replace(gen2, `href="https://teams.microsoft.com/l/meetup-join/`, `href="https://example.com/l/meetup-join/`, 1)
	tests := []struct {
		name   string
		body   string
		f      Format
		p      Profile
		t      migration.Target
		reason string
	}{
		{"invalid UTF-8", gen2 + "\xc3", FormatHTML, dialProfile(), migration.TargetCurrent, "body is not valid UTF-8"},
		{"invalid UTF-8 text", "a\xffb", FormatText, dialProfile(), migration.TargetCurrent, "body is not valid UTF-8"},
		{"invalid profile", gen2, FormatHTML, Profile{MeetingType: "x"}, migration.TargetCurrent, "invalid profile: meetingType:"},
		{"third-party profile", gen2, FormatHTML, Profile{MeetingType: "Teams", Provider: ProviderThirdParty}, migration.TargetCurrent, ReasonThirdPartyProfile},
		{"unknown target", gen2, FormatHTML, dialProfile(), migration.Target("Zoom"), "unknown target"},
		{"unknown format", gen2, Format("rtf"), dialProfile(), migration.TargetCurrent, "unknown format"},
		{"no join link", noJoin, FormatHTML, dialProfile(), migration.TargetCurrent, ReasonNoJoinLink},
		{"too large", strings.Repeat("a", MaxBodySize+1), FormatText, dialProfile(), migration.TargetCurrent, "body too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Replace(tc.body, tc.f, tc.p, tc.t)
			if res.Outcome != NotReplaced || !strings.HasPrefix(res.Reason, tc.reason) || res.Body != tc.body {
				t.Errorf("got %q %q, want not-replaced %q", res.Outcome, res.Reason, tc.reason)
			}
		})
	}
}

func TestReplaceUpToDate(t *testing.T) {
	p := renderProfile()
	block, err := Render(p, KindTeams, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	body := "Agenda\r\n" + block + "\r\n"
	res := Replace(body, FormatText, p, migration.TargetCurrent)
	if res.Outcome != UpToDate || res.Body != body || res.Reason != "" {
		t.Errorf("%q %q", res.Outcome, res.Reason)
	}
	// The same with LF line breaks throughout.
	lf := "Agenda\n" + strings.ReplaceAll(block, "\r\n", "\n") + "\n"
	res = Replace(lf, FormatText, p, migration.TargetCurrent)
	if res.Outcome != UpToDate {
		t.Errorf("LF body: %q %q", res.Outcome, res.Reason)
	}
}

func TestNewline(t *testing.T) {
	tests := []struct {
		body       string
		start, end int
		want       string
	}{
		{"a\nB\r\nLOCK\r\nb", 2, 9, "\r\n"},
		{"a\nBLOCK\r\nb", 2, 7, "\n"},
		{"aBLOCK\r\nb\n", 1, 6, "\r\n"},
		{"BLOCK", 0, 5, "\r\n"},
		{"a\r\nBLOCK\nx\n", 3, 8, "\r\n"},
	}
	for _, tc := range tests {
		if got := newline(tc.body, tc.start, tc.end); got != tc.want {
			t.Errorf("newline(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// The old block's coordinates survive junk the user typed around them.
func TestReplaceUserEditedBlock(t *testing.T) {
	in := readBody(t, "teams_user_edited.html")
	res := Replace(in, FormatHTML, dialProfile(), migration.TargetCurrent)
	if res.Outcome != Replaced {
		t.Fatalf("%s: %s", res.Outcome, res.Reason)
	}
	if strings.Contains(res.Body, "bridge has 20 lines") {
		t.Error("the user's edit inside the block survived")
	}
	if !strings.Contains(res.Body, "Quarterly business review") {
		t.Error("the agenda was lost")
	}
}

func TestPreview(t *testing.T) {
	in := readBody(t, "teams_gen2_2021.txt")
	pr := Preview(in, FormatText, dialProfile(), migration.TargetCurrent)
	if pr.Outcome != Replaced || !strings.Contains(pr.Diff, "\n-Phone Conference ID: 735 219 804#\r\n") || !strings.Contains(pr.Diff, "\n+Phone conference ID: 903 184 275#\r\n") {
		t.Errorf("%s\n%s", pr.Outcome, pr.Diff)
	}
	if got, err := applyDiff(in, pr.Diff); err != nil || got != pr.Body {
		t.Errorf("diff does not apply: %v", err)
	}
	if up := Preview(pr.Body, FormatText, dialProfile(), migration.TargetCurrent); up.Outcome != UpToDate || up.Diff != "" {
		t.Errorf("second preview: %s %q", up.Outcome, up.Diff)
	}
}
