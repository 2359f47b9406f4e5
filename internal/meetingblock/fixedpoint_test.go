package meetingblock

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
)

// fixedPointProfiles are the profiles a run replaces with: a Teams user's
// bridge with and without dial-in, toll-free only, a Skype user's, and the
// conversions to Teams (a meetup-join link with its own ID and passcode, a
// short /meet/ link whose ID and passcode Find reads from the link, and a
// new meeting without audio conferencing).
func fixedPointProfiles() map[string]Profile {
	teams := Profile{MeetingType: "Teams", Provider: ProviderMicrosoft, ConferenceID: "987654321",
		TollNumber: "+1 206-555-0199", TollFreeNumbers: []string{"+1 888-555-0123"},
		DialInURL: "https://dialin.teams.microsoft.com/local", Locale: "en-US"}
	tollFree := teams
	tollFree.TollNumber, tollFree.DialInURL = "", ""
	none := Profile{MeetingType: "Teams", Provider: ProviderNone}
	sfb := Profile{MeetingType: "SfB", Provider: ProviderMicrosoft, JoinURL: "https://meet.lync.com/contoso/bob/Z3JT9W5M",
		ConferenceID: "88213047", TollNumber: "+1 206-555-0177", TollFreeNumbers: []string{"+1 866-555-0110"},
		DialInURL: "https://dialin.lync.com/contoso", Locale: "en-US"}
	meetup := teams
	meetup.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%7d"
	meetup.MeetingID, meetup.Passcode = "472 019 385 226", "Hq3Zm8"
	meetup.MeetingOptionsURL = "https://teams.microsoft.com/meetingOptions/?organizerId=x"
	short := teams
	short.JoinURL = "https://teams.microsoft.com/meet/1930275943804?p=njN2gB"
	shortNoDial := none
	shortNoDial.JoinURL = short.JoinURL
	return map[string]Profile{"teams": teams, "teams toll-free": tollFree, "teams no dial-in": none, "sfb": sfb,
		"convert meetup-join": meetup, "convert short link": short, "convert without dial-in": shortNoDial}
}

// fixedPointBodies are blocks of every layout and kind: the recorded
// fixtures (Teams generations, Skype, text, Graph's plain-text HTML,
// iCalendar) and the blocks this package renders itself, fresh, for each
// meeting type and format, including one rendered for a short link.
func fixedPointBodies(t *testing.T) map[string]struct {
	body string
	f    Format
} {
	out := map[string]struct {
		body string
		f    Format
	}{}
	for _, name := range []string{"teams_gen1_2018.html", "teams_gen2_2021.html", "teams_gen3_2023.html",
		"teams_gen4_2025.html", "teams_received_x.html", "teams_safelinks.html", "teams_gen3_2023_plaintext.html",
		"sfb_outlook.html", "teams_gen2_2021.txt", "teams_gen3_2023.txt", "sfb.txt", "sfb_caldav.ics", "teams_recurring.ics"} {
		f := FormatHTML
		switch {
		case strings.HasSuffix(name, ".txt"):
			f = FormatText
		case strings.HasSuffix(name, ".ics"):
			f = FormatICal
		}
		out[name] = struct {
			body string
			f    Format
		}{readBody(t, name), f}
	}
	for name, p := range fixedPointProfiles() {
		for _, k := range []Kind{KindTeams, KindSfB} {
			for _, f := range []Format{FormatHTML, FormatText} {
				q := p
				if q.JoinURL == "" || Kind(q.MeetingType) != k {
					q.MeetingType = string(k)
					q.JoinURL, q.MeetingID, q.Passcode, q.MeetingOptionsURL = "https://teams.microsoft.com/meet/2220004440001?p=Zx9", "", "", ""
					if k == KindSfB {
						q.JoinURL = "https://meet.contoso.com/bob/K8QF2R7L"
					}
				}
				block, err := Render(q, k, f)
				if err != nil {
					t.Fatal(err)
				}
				body := "Agenda\r\n\r\n" + block + "\r\n\r\nNotes\r\n"
				if f == FormatHTML {
					body = "<html><body><div><p>Agenda</p></div>\n" + block + "\n<div><p>Notes</p></div></body></html>"
				}
				out[fmt.Sprintf("rendered %s %s %s", name, k, f)] = struct {
					body string
					f    Format
				}{body, f}
			}
		}
	}
	return out
}

// TestEveryReplacementIsAFixedPoint: whatever a run writes is exactly what
// the next run with the same profile writes, for every block, profile and
// target: the second replacement is UpToDate, and nobody is mailed twice.
// (A conversion used to write no "Meeting ID" and "Passcode" lines for a
// short join link, which the next run then added.)
func TestEveryReplacementIsAFixedPoint(t *testing.T) {
	bodies := fixedPointBodies(t)
	for pname, p := range fixedPointProfiles() {
		for bname, b := range bodies {
			for _, tg := range []migration.Target{migration.TargetCurrent, migration.TargetTeams} {
				first := Replace(b.body, b.f, p, tg)
				if first.Outcome == NotReplaced {
					continue // e.g. a conversion without a Teams link
				}
				second := Replace(first.Body, b.f, p, tg)
				if second.Outcome != UpToDate || second.Body != first.Body {
					t.Errorf("%s, profile %s, target %s: second run %s (%s)", bname, pname, tg, second.Outcome, second.Reason)
				}
				// The run after a conversion no longer has the new
				// meeting's link: the user's profile alone, as the
				// activities pass it for a meeting that is Teams already.
				later := p
				if Kind(p.MeetingType) == KindTeams {
					later.JoinURL, later.MeetingID, later.Passcode, later.MeetingOptionsURL = "", "", "", ""
				}
				for _, tg2 := range []migration.Target{migration.TargetCurrent, migration.TargetTeams} {
					if first.NewKind != KindTeams && tg2 == migration.TargetTeams {
						continue // that would be a conversion of its own
					}
					next := Replace(first.Body, b.f, later, tg2)
					if next.Outcome != UpToDate || next.Body != first.Body {
						t.Errorf("%s, profile %s, target %s, then target %s: %s (%s)", bname, pname, tg, tg2, next.Outcome, next.Reason)
					}
				}
			}
		}
	}
}

// TestConversionShowsTheShortLinksIDs: a block rendered for a short join
// link shows the meeting ID and passcode Find reads from it.
func TestConversionShowsTheShortLinksIDs(t *testing.T) {
	p := fixedPointProfiles()["convert without dial-in"]
	for _, f := range []Format{FormatHTML, FormatText} {
		res := Replace(readBody(t, map[Format]string{FormatHTML: "sfb_outlook.html", FormatText: "sfb.txt"}[f]), f, p, migration.TargetTeams)
		if res.Outcome != Replaced {
			t.Fatalf("%s: %s (%s)", f, res.Outcome, res.Reason)
		}
		if !strings.Contains(res.Body, "193 027 594 380 4") || !strings.Contains(res.Body, "njN2gB") {
			t.Errorf("%s: no meeting ID or passcode lines:\n%s", f, res.Body)
		}
	}
}

// TestSkypeProfileLeavesTeamsBlocks: the bridge of a user whose profile is
// still a Skype one does not serve Teams meetings, so their Teams blocks
// (converted ones with the dial-in createOrGet gave them) stay as they are.
func TestSkypeProfileLeavesTeamsBlocks(t *testing.T) {
	sfb := fixedPointProfiles()["sfb"]
	for _, tg := range []migration.Target{migration.TargetCurrent, migration.TargetTeams} {
		in := readBody(t, "teams_gen3_2023.html")
		if res := Replace(in, FormatHTML, sfb, tg); res.Outcome != UpToDate || res.Body != in {
			t.Errorf("target %s: %s (%s)", tg, res.Outcome, res.Reason)
		}
	}
}
