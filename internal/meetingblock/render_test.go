package meetingblock

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func renderProfile() Profile {
	return Profile{
		MeetingType: "Teams", JoinURL: teamsJn, MeetingID: "472 019 385 226", Passcode: "Hq3Zm8",
		MeetingOptionsURL: "https://teams.microsoft.com/meetingOptions/?organizerId=1&tenantId=2&language=en-US",
		ConferenceID:      "903184275", TollNumber: "+1 206-555-0142", TollFreeNumbers: []string{"+1 888-555-0199"},
		DialInURL: "https://dialin.teams.microsoft.com/x?id=903184275&a='b'", Provider: ProviderMicrosoft, Locale: "en-US",
	}
}

// A rendered block is found again, whole, with the coordinates it was
// rendered from: what makes Replace idempotent.
func TestRenderRoundTrip(t *testing.T) {
	for _, k := range []Kind{KindTeams, KindSfB} {
		for _, f := range []Format{FormatHTML, FormatText} {
			p := renderProfile()
			if k == KindSfB {
				p.MeetingType, p.JoinURL, p.MeetingID, p.Passcode, p.MeetingOptionsURL = "SfB", "https://meet.lync.com/contoso-com/adele/K7QX9ZP2", "", "", ""
			}
			out, err := Render(p, k, f)
			if err != nil {
				t.Fatal(err)
			}
			body := "before\r\n" + out + "\r\nafter"
			b, err := Find(body, f)
			if err != nil {
				t.Fatalf("%s/%s: %v\n%s", k, f, err, out)
			}
			if body[b.Start:b.End] != out {
				t.Errorf("%s/%s: span %q", k, f, body[b.Start:b.End])
			}
			if b.Kind != k || b.JoinURL != p.JoinURL || b.MeetingID != p.MeetingID || b.Passcode != p.Passcode ||
				b.MeetingOptionsURL != p.MeetingOptionsURL || b.ConferenceID != "903184275" || b.ThirdParty {
				t.Errorf("%s/%s: read back %+v", k, f, b)
			}
			if len(b.TollNumbers) != 2 || b.TollNumbers[0] != "+12065550142" || b.TollNumbers[1] != "+18885550199" {
				t.Errorf("%s/%s: numbers %v", k, f, b.TollNumbers)
			}
			for _, s := range []string{"tel:+12065550142", "Find a local number", "903"} {
				if !strings.Contains(out, s) {
					t.Errorf("%s/%s: no %q", k, f, s)
				}
			}
		}
	}
}

func TestRenderHTMLIsEscapedASCII(t *testing.T) {
	p := renderProfile()
	p.Locale = "de-DE"
	out, err := Render(p, KindTeams, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(out); i++ {
		if out[i] >= utf8.RuneSelf {
			t.Fatalf("non-ASCII byte at %d", i)
		}
	}
	if strings.Contains(out, "a='b'") || !strings.Contains(out, "id=903184275&amp;a=&#39;b&#39;") {
		t.Error("dialInUrl not escaped")
	}
	// The markup is balanced: parsing it yields one top-level element.
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil || len(nodes) != 1 {
		t.Errorf("fragment parses into %d nodes (%v)", len(nodes), err)
	}
	var b strings.Builder
	escapeHTML(&b, `<"&'>é😀`)
	if got := b.String(); got != "&lt;&#34;&amp;&#39;&gt;&#xE9;&#x1F600;" {
		t.Errorf("escapeHTML: %q", got)
	}
}

func TestRenderNoDialIn(t *testing.T) {
	for _, provider := range []string{ProviderNone, ""} {
		p := Profile{MeetingType: "Teams", JoinURL: teamsJn, Provider: provider}
		for _, f := range []Format{FormatHTML, FormatText} {
			out, err := Render(p, KindTeams, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"tel:", "Dial in", "conference ID", "Reset dial-in PIN"} {
				if strings.Contains(out, s) {
					t.Errorf("provider %q %s: %q in a block without dial-in", provider, f, s)
				}
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	p := renderProfile()
	if _, err := Render(p, Kind("Zoom"), FormatHTML); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := Render(p, KindTeams, FormatICal); err == nil {
		t.Error("ical accepted")
	}
	p.JoinURL = ""
	if _, err := Render(p, KindTeams, FormatHTML); err == nil || !strings.HasPrefix(err.Error(), "joinUrl:") {
		t.Errorf("missing joinUrl: %v", err)
	}
	p.MeetingType = ""
	if _, err := Render(p, KindTeams, FormatHTML); err == nil {
		t.Error("invalid profile accepted")
	}
}

func TestRenderConferenceIDNormalised(t *testing.T) {
	p := renderProfile()
	p.ConferenceID = "903 184 275#"
	for _, k := range []Kind{KindTeams, KindSfB} {
		out, err := Render(p, k, FormatHTML)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "tel:+12065550142,,903184275#") != (k == KindTeams) || strings.Contains(out, `href="tel:+12065550142 `) {
			t.Errorf("%s: tel links %q", k, out)
		}
		if k == KindSfB && !strings.Contains(out, "Conference ID: 903184275<") {
			t.Errorf("SfB conference ID not normalised")
		}
	}
}

// The newest blocks carry a short /meet/ link and the classic one; both
// survive a dial-in change in either format.
func TestRenderCompatLinkRoundTrip(t *testing.T) {
	c := coords{
		JoinURL:       "https://teams.microsoft.com/meet/358204716493?p=Qe7Lw2Ks9Tb",
		CompatJoinURL: teamsJn, MeetingID: "358 204 716 493", Passcode: "Qe7Lw2Ks9Tb",
	}
	for _, f := range []Format{FormatHTML, FormatText} {
		out := render(c, dialProfile(), catalogs[0], KindTeams, f, "\n")
		b, err := Find(out, f)
		if err != nil {
			t.Fatal(err)
		}
		if b.JoinURL != c.JoinURL || b.CompatJoinURL != c.CompatJoinURL || b.MeetingID != c.MeetingID || b.Passcode != c.Passcode {
			t.Errorf("%s: read back %+v", f, b)
		}
	}
}
