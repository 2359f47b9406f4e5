package meetingblock

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

const (
	sep80   = "________________________________________________________________________________"
	teamsJn = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%7d"
)

// teamsHTML is a minimal classic Teams block.
func teamsHTML(join string) string {
	return `<div><span>` + sep80 + `</span></div>` +
		`<div class="me-email-text"><a class="me-email-headline" href="` + join + `">Join Microsoft Teams Meeting</a><br>` +
		`<span>Conference ID: </span><span>123 456 789#</span></div>` +
		`<div><span>` + sep80 + `</span></div>`
}

func TestFindHTMLSpanIsWrappers(t *testing.T) {
	block := teamsHTML(teamsJn)
	body := "<html><body><p>Agenda é</p>" + block + "<p>Signature</p></body></html>"
	b, err := Find(body, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if got := body[b.Start:b.End]; got != block {
		t.Errorf("span %q\nwant %q", got, block)
	}
	if b.Kind != KindTeams || b.JoinURL != teamsJn || b.ConferenceID != "123456789" {
		t.Errorf("block %+v", b)
	}
}

func TestFindErrors(t *testing.T) {
	block := teamsHTML(teamsJn)
	tests := []struct {
		name, body string
		want       error
	}{
		{"empty", "", ErrNoBlock},
		{"agenda only", "<p>Lunch</p><p>" + strings.Repeat("_", 32) + "</p>", ErrNoBlock},
		{"pasted join link only", `<p>Recording: <a href="` + teamsJn + `">link</a></p>`, ErrNoBlock},
		{"two blocks", block + "<p>x</p>" + block, ErrMultipleBlocks},
		{"separator inside the block", strings.Replace(block, "<br>", "<br><div>"+sep80+"</div>", 1), ErrNestedSeparators},
		{"top separator only", `<div>` + sep80 + `</div><a class="x" href="` + teamsJn + `">Join Microsoft Teams Meeting</a>`, ErrBoundaries},
		{"strong anchor without separators", `<p><a name="OutJoinLink"></a><a href="https://meet.lync.com/c/u/X1">Join Skype Meeting</a></p>`, ErrBoundaries},
		{"separators in two table cells", `<table><tr><td><div>` + sep80 + `</div><a href="` + teamsJn + `">Join</a></td><td>x</td><td><div>` + sep80 + `</div></td></tr></table>`, ErrStraddles},
		{"invalid UTF-8", "<p>\xff</p>" + block, ErrInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Find(tc.body, FormatHTML)
			if !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFindUnknownFormat(t *testing.T) {
	if _, err := Find("x", Format("rtf")); err == nil {
		t.Error("no error for an unknown format")
	}
}

// The newest layout with its bottom separator deleted by the user, and an
// underscore line of the user's further down: the container is the block,
// the agenda after it is untouched.
func TestFindContainerWhenSeparatorDeleted(t *testing.T) {
	block := `<div class="me-email-text"><div>` + sep80 + `</div>` +
		`<div><a id="meet_invite_block.action.join_link" href="` + teamsJn + `">Join the meeting now</a></div></div>`
	body := block + "<p>Notes</p><p>" + sep80 + "</p><p>Sign here</p>"
	b, err := Find(body, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if got := body[b.Start:b.End]; got != block {
		t.Errorf("span %q\nwant %q", got, block)
	}
	// Without any separator, the container alone.
	body2 := "<p>a</p>" + strings.Replace(block, "<div>"+sep80+"</div>", "", 1) + "<p>b</p>"
	b, err = Find(body2, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body2[b.Start:], `<div class="me-email-text">`) || body2[b.End:] != "<p>b</p>" {
		t.Errorf("span %q", body2[b.Start:b.End])
	}
}

// Broken markup around and inside the block: implied end tags, stray end
// tags, an unclosed container at end of input.
func TestFindBrokenHTML(t *testing.T) {
	cases := []string{
		"<p>agenda<p>more</span></b>" + teamsHTML(teamsJn) + "<p>sig",
		"<div><div><div>" + teamsHTML(teamsJn),
		"<table><tr><td>agenda</td></tr></table>" + teamsHTML(teamsJn) + "</div></div></td></table>",
		strings.TrimSuffix(teamsHTML(teamsJn), "</span></div>") + "<!-- unterminated",
	}
	for i, body := range cases {
		b, err := Find(body, FormatHTML)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if b.JoinURL != teamsJn || !strings.Contains(body[b.Start:b.End], "Join Microsoft Teams Meeting") {
			t.Errorf("case %d: block %+v", i, b)
		}
	}
}

func TestFindText(t *testing.T) {
	body := "Agenda\r\n\r\n" + sep80 + "\r\nMicrosoft Teams meeting\r\nClick here to join the meeting<" + teamsJn + ">\r\n" +
		"Meeting ID: 123 456 789 012\r\nPasscode: aB3dE\r\n" + sep80 + "\r\nBye\r\n"
	b, err := Find(body, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	if body[:b.Start] != "Agenda\r\n\r\n" || body[b.End:] != "\r\nBye\r\n" {
		t.Errorf("span [%d,%d): %q", b.Start, b.End, body[b.Start:b.End])
	}
	if b.JoinURL != teamsJn || b.MeetingID != "123 456 789 012" || b.Passcode != "aB3dE" {
		t.Errorf("block %+v", b)
	}
	// Outlook's own reply separator (32 underscores) is not a block separator.
	if _, err := Find("x\n"+strings.Repeat("_", 32)+"\nMicrosoft Teams meeting\n"+strings.Repeat("_", 32), FormatText); !errors.Is(err, ErrNoBlock) {
		t.Errorf("32 underscores taken as separators: %v", err)
	}
}

func TestUnwrapSafeLinks(t *testing.T) {
	orig := "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d"
	wrap := func(u string) string {
		return "https://nam06.safelinks.protection.outlook.com/?url=" + url.QueryEscape(u) + "&data=05%7C01&reserved=0"
	}
	if got := unwrapSafeLinks(wrap(wrap(orig))); got != orig {
		t.Errorf("double wrap: %q", got)
	}
	// Bounded: a link wrapped more often than maxSafeLinksDepth stays wrapped.
	u := orig
	for range maxSafeLinksDepth + 2 {
		u = wrap(u)
	}
	if got := unwrapSafeLinks(u); got == orig || !strings.Contains(got, "safelinks") {
		t.Errorf("unbounded unwrap: %q", got)
	}
	for _, keep := range []string{
		"https://evil.example/?url=" + url.QueryEscape(orig) + "&x=safelinks.protection.outlook.com",
		"https://nam06.safelinks.protection.outlook.com/?data=1",
		"https://nam06.safelinks.protection.outlook.com/%zz",
	} {
		if got := unwrapSafeLinks(keep); got != keep {
			t.Errorf("%q unwrapped to %q", keep, got)
		}
	}
}

func TestClassifyLink(t *testing.T) {
	tests := map[string]linkKind{
		teamsJn: linkTeamsJoin,
		"https://teams.microsoft.com/meet/358204716493?p=Qe7Lw2Ks9Tb":   linkTeamsMeet,
		"https://dod.teams.microsoft.us/l/meetup-join/19%3ameeting_x/0": linkTeamsJoin,
		"https://teams.microsoft.com/meetingOptions/?organizerId=1":     linkTeamsOpts,
		"https://meet.lync.com/contoso-com/adele/K7QX9ZP2":              linkSfBJoin,
		"https://meet.contoso.com/adele/K7QX9ZP2":                       linkSfBJoin,
		"https://meet.lync.com/contoso-com/adele/K7QX9ZP2?sl=1":         linkSfBWebApp,
		"tel:+14255550100,,123#":                                        linkTel,
		"https://www.intercall.com/l/dial-in-number-lookup.php":         linkThirdParty,
		"https://teams.microsoft.com.evil.example/l/meetup-join/19/0":   linkOther,
		"https://aka.ms/JoinTeamsMeeting":                               linkOther,
		"javascript:alert(1)":                                           linkOther,
	}
	for u, want := range tests {
		if got := classifyLink(u); got != want {
			t.Errorf("classifyLink(%q) = %d, want %d", u, got, want)
		}
	}
	if got := telNumber("tel:+1%20425-555-0170,,611803492#%20"); got != "+14255550170" {
		t.Errorf("telNumber: %q", got)
	}
}

func TestThirdPartyDetection(t *testing.T) {
	dots := strings.Repeat(".", 137)
	acp := dots + "\nJoin Skype Meeting<https://meet.lync.com/c/u/X1>\nJoin by phone\nToll number: +1 (334) 555-0162\nParticipant passcode: 8824017\n" + dots
	b, err := Find(acp, FormatText)
	if err != nil || !b.ThirdParty {
		t.Errorf("ACP block: %+v %v", b, err)
	}
	ms := strings.Replace(acp, "Participant passcode: 8824017", "Conference ID: 8824017", 1)
	b, err = Find(ms, FormatText)
	if err != nil || b.ThirdParty || b.ConferenceID != "8824017" {
		t.Errorf("Microsoft block: %+v %v", b, err)
	}
}

func TestCheckCharset(t *testing.T) {
	for _, ok := range []string{"", "utf-8", "UTF-8", "us-ascii", "windows-1252", "iso-8859-1", "shift_jis", "gb2312", "ks_c_5601-1987"} {
		if err := checkCharset(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"utf-16", "UTF-16LE", "unicode", "iso-2022-jp", "utf-7", "ibm037", "x-nonsense"} {
		if err := checkCharset(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := charsetFromContentType(`text/html; charset="Windows-1252"`); got != "windows-1252" {
		t.Errorf("charsetFromContentType: %q", got)
	}
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, sub string
		want   bool
	}{
		{"Conference ID: 1", "conference id", true},
		{"CONFERENCE ID", "conference id", true},
		{"conference i", "conference id", false},
		{"xxcCcONFERENCE idxx", "conference id", true},
		{"", "a", false},
		{"abc", "", true},
		{"tel:", "tel:", true},
		{"Tel;", "tel:", false},
		{strings.Repeat("c", 1000) + "C" + "onference id", "conference id", true},
	}
	for _, tc := range tests {
		if got := containsFold(tc.s, tc.sub); got != tc.want {
			t.Errorf("containsFold(%q, %q) = %v", tc.s, tc.sub, got)
		}
	}
}

func TestFindContainerWithOrphan(t *testing.T) {
	block := `<div class="me-email-text"><a id="meet_invite_block.action.join_link" href="` + teamsJn + `">Join the meeting now</a></div>`
	orphan := `<p><a name="OutJoinLink"></a><a href="https://meet.lync.com/c/u/X1">Join Skype Meeting</a></p>`
	if _, err := Find(block+orphan, FormatHTML); !errors.Is(err, ErrMultipleBlocks) {
		t.Errorf("container plus a damaged Skype block: %v", err)
	}
}
