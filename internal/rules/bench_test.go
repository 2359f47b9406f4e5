package rules

import (
	"testing"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// benchEvents are the events the API decides most: a conference ID change
// (triggers), a dial-in change (triggers), a SIP change (ignored at once),
// a Teams upgrade and a bridge number change (the fan-out's per-user call).
var benchEvents = []struct {
	name   string
	e      Event
	before meetingblock.Profile
}{
	{"ConferenceIDChanged", Event{Type: ConferenceIDChanged, User: "ann@contoso.com", ConferenceID: "987654321"}, msUser},
	{"DialInEnabled", msNumbers(Event{Type: DialInEnabled, User: "ann@contoso.com"}), noDialIn},
	{"SIPAddressChanged", Event{Type: SIPAddressChanged, User: "ann@contoso.com"}, msUser},
	{"TeamsUpgradeGranted", Event{Type: TeamsUpgradeGranted, User: "ann@contoso.com", Mode: ModeTeamsOnly,
		MigrateMeetingsToTeams: true, JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"}, sfbUser},
	{"BridgeNumberChanged", Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: toll,
		NewNumber: "+1 206-555-0199"}, msUser},
}

func BenchmarkDecide(b *testing.B) {
	s := migration.DefaultSettings()
	for _, c := range benchEvents {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Decide(c.e, c.before, s)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	s := migration.DefaultSettings()
	for _, c := range benchEvents {
		if _, err := Apply(c.before, c.e, s); err != nil {
			continue // an event Apply refuses is not a hot path
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Apply(c.before, c.e, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAffectedByBridge is a bridge event's fan-out over a directory of
// 10,000 users, a tenth of them on the bridge.
func BenchmarkAffectedByBridge(b *testing.B) {
	users := make([]UserProfile, 10000)
	for i := range users {
		p := msUser
		if i%10 != 0 {
			p = otherBridge
		}
		users[i] = UserProfile{User: "u" + string(rune('a'+i%26)), Profile: p}
	}
	b.ReportAllocs()
	for b.Loop() {
		if n := len(AffectedByBridge("bridge-1", users)); n != 1000 {
			b.Fatalf("%d affected", n)
		}
	}
}
