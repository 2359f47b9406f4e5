package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

const (
	toll     = "+1 425-555-0100"
	tollFree = "+1 800-555-0100"
	dialIn   = "https://dialin.teams.microsoft.com/local"
)

// Profiles of the users the tests start from.
var (
	// msUser: Teams meetings with Microsoft dial-in on bridge-1.
	msUser = meetingblock.Profile{MeetingType: "Teams", ConferenceID: "123456789", TollNumber: toll,
		TollFreeNumbers: []string{tollFree}, DialInURL: dialIn, Provider: "Microsoft", BridgeID: "bridge-1", Locale: "en-US"}
	// sfbUser: Skype meetings online, same dial-in.
	sfbUser = with(msUser, func(p *meetingblock.Profile) {
		p.MeetingType, p.JoinURL = "SfB", "https://meet.lync.com/contoso/ann/ABC123"
	})
	// onPremUser: Skype meetings on the on-premises server.
	onPremUser = with(sfbUser, func(p *meetingblock.Profile) { p.JoinURL = "https://meet.contoso.com/ann/ABC123" })
	// acpUser: a third-party audio-conferencing provider.
	acpUser = meetingblock.Profile{MeetingType: "Teams", ConferenceID: "99887766", TollNumber: "+1 555 0199 000",
		DialInURL: "https://acp.example.com/numbers", Provider: "ThirdParty"}
	// unlicensed: no Audio Conferencing licence, no dial-in.
	unlicensed = meetingblock.Profile{MeetingType: "Teams", Provider: "None"}
	// noDialIn: licensed, dial-in disabled.
	noDialIn = meetingblock.Profile{MeetingType: "Teams", ConferenceID: "123456789", Provider: "Microsoft", BridgeID: "bridge-1"}
	// otherBridge: like msUser, on bridge-2.
	otherBridge = with(msUser, func(p *meetingblock.Profile) { p.BridgeID = "bridge-2" })
)

// with returns a copy of p edited by edit.
func with(p meetingblock.Profile, edit func(*meetingblock.Profile)) meetingblock.Profile {
	p.TollFreeNumbers = append([]string(nil), p.TollFreeNumbers...)
	edit(&p)
	return p
}

// msNumbers: the coordinates on Microsoft's bridge that events carry.
func msNumbers(e Event) Event {
	e.ConferenceID, e.TollNumber, e.TollFreeNumbers, e.DialInURL, e.BridgeID = "123456789", toll, []string{tollFree}, dialIn, "bridge-1"
	return e
}

// gate says which tenant switches can stop a row's decision.
type gate int

const (
	never gate = iota // no switch matters: the row's decision always holds
	mme               // MeetingMigrationEnabled only (moves online, Teams upgrades)
	amum              // and AutomaticallyMigrateUserMeetings (audio conferencing)
	arap              // and AutomaticallyReplaceAcpProvider (licence for a third-party user)
)

var (
	current = Decision{SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent}
	toTeams = Decision{SourceMeetingType: migration.SourceSfB, TargetMeetingType: migration.TargetTeams}
)

func trig(reason string, types Decision) Decision {
	types.Trigger, types.Reason = true, reason
	return types
}

func ign(reason string) Decision { return Decision{Reason: reason} }

// TestDecide covers every row of docs/DOMAIN.md's trigger and non-trigger lists
// under all eight combinations of the three tenant switches.
func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		event  Event
		before meetingblock.Profile
		gate   gate
		want   Decision // with every switch on
	}{
		// Triggers.
		{"moved online", Event{Type: UserMovedOnline, User: "ann", JoinURL: "https://meet.lync.com/contoso/ann/XYZ789"},
			onPremUser, mme, trig("user moved to online", current)},
		{"moved online without new coordinates", Event{Type: UserMovedOnline, User: "ann"},
			onPremUser, mme, trig("user moved to online", current)},
		{"licence assigned", msNumbers(Event{Type: LicenceAssigned, User: "ann"}),
			unlicensed, amum, trig("Audio Conferencing licence assigned", current)},
		{"licence removed", Event{Type: LicenceRemoved, User: "ann"},
			msUser, amum, trig("Audio Conferencing licence removed", current)},
		{"dial-in enabled", Event{Type: DialInEnabled, User: "ann", TollNumber: toll},
			noDialIn, amum, trig("dial-in enabled", current)},
		{"dial-in disabled", Event{Type: DialInDisabled, User: "ann"},
			msUser, amum, trig("dial-in disabled", current)},
		{"conference ID changed", Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "555666777"},
			msUser, amum, trig("conference ID changed", current)},
		{"conference ID reset", Event{Type: ConferenceIDReset, User: "ann", ConferenceID: "555666778"},
			msUser, amum, trig("conference ID reset", current)},
		{"moved to bridge", Event{Type: UserMovedToBridge, User: "ann", BridgeID: "bridge-2", TollNumber: "+44 20 7946 0000"},
			msUser, amum, trig("moved to bridge bridge-2", current)},
		{"bridge number changed", Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: "+14255550100", NewNumber: "+1 425-555-0199"},
			msUser, amum, trig("bridge bridge-1: number +14255550100 changed to +1 425-555-0199", current)},
		{"bridge number unassigned", Event{Type: BridgeNumberUnassigned, BridgeID: "bridge-1", OldNumber: tollFree},
			msUser, amum, trig("bridge bridge-1: number "+tollFree+" unassigned", current)},
		{"provider switched to Microsoft", msNumbers(Event{Type: ProviderSwitchedToMicrosoft, User: "ann"}),
			acpUser, amum, trig("audio conferencing provider switched to Microsoft", current)},
		{"licence assigned to third-party user", msNumbers(Event{Type: LicenceAssigned, User: "ann"}),
			acpUser, arap, trig("Audio Conferencing licence assigned: third-party provider replaced by Microsoft", current)},
		{"Teams upgrade TeamsOnly", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeTeamsOnly, MigrateMeetingsToTeams: true},
			sfbUser, mme, trig("Teams upgrade granted (TeamsOnly)", toTeams)},
		{"Teams upgrade SfBWithTeamsCollabAndMeetings", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeSfBWithTeamsCollabAndMeetings,
			MigrateMeetingsToTeams: true, JoinURL: "https://teams.microsoft.com/l/meetup-join/abc"},
			sfbUser, mme, trig("Teams upgrade granted (SfBWithTeamsCollabAndMeetings)", toTeams)},

		// Non-triggers, whatever the switches say.
		{"tenant-wide Teams upgrade", Event{Type: TenantTeamsUpgradeGranted, Mode: ModeTeamsOnly, MigrateMeetingsToTeams: true},
			sfbUser, never, ign(ReasonTenantUpgrade)},
		{"SIP address changed", Event{Type: SIPAddressChanged, User: "ann"}, sfbUser, never, ign(ReasonSIPAddress)},
		{"tenant meeting URL changed", Event{Type: TenantMeetingURLChanged}, sfbUser, never, ign(ReasonTenantURL)},
		{"moved back on premises", Event{Type: UserMovedOnPremises, User: "ann"}, sfbUser, never, ign(ReasonOnPremises)},
		{"Teams upgrade without MigrateMeetingsToTeams", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeTeamsOnly},
			sfbUser, never, ign(ReasonNoMigrateToTeams)},
		{"Teams upgrade SfBWithTeamsCollab", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeSfBWithTeamsCollab, MigrateMeetingsToTeams: true},
			sfbUser, never, ign("ignored: Teams upgrade mode SfBWithTeamsCollab keeps Skype meetings")},
		{"Teams upgrade Islands", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeIslands, MigrateMeetingsToTeams: true},
			sfbUser, never, ign("ignored: Teams upgrade mode Islands keeps Skype meetings")},
		{"Teams upgrade SfBOnly", Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeSfBOnly, MigrateMeetingsToTeams: true},
			sfbUser, never, ign("ignored: Teams upgrade mode SfBOnly keeps Skype meetings")},
		{"bridge number of another bridge", Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: toll, NewNumber: "+1 425-555-0199"},
			otherBridge, never, ign("ignored: user is not on bridge bridge-1")},
		{"bridge number the user does not show", Event{Type: BridgeNumberUnassigned, BridgeID: "bridge-1", OldNumber: "+1 206 555 0100"},
			msUser, never, ign("ignored: the user's invitations do not show number +1 206 555 0100")},
		{"invalid event", Event{Type: ConferenceIDChanged, User: "ann"},
			msUser, never, ign("ignored: invalid event: conferenceId: required for conferenceIdChanged")},
		{"malformed conference ID", Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "12ab"},
			msUser, never, ign("ignored: invalid event: conferenceId: must be 4 to 20 digits")},

		// Non-triggers once the switches let the event through.
		{"third-party user's conference ID", Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "555666777"},
			acpUser, amum, ign(ReasonThirdParty)},
		{"third-party user moved online", Event{Type: UserMovedOnline, User: "ann"}, acpUser, mme, ign(ReasonThirdParty)},
		{"third-party user's licence removed", Event{Type: LicenceRemoved, User: "ann"}, acpUser, amum, ign(ReasonThirdParty)},
		{"dial-in disabled twice", Event{Type: DialInDisabled, User: "ann"}, noDialIn, amum, ign(ReasonUnchanged)},
		{"same conference ID", Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "123456789"}, msUser, amum, ign(ReasonUnchanged)},
	}
	for _, tt := range tests {
		for _, s := range allSettings() {
			name := fmt.Sprintf("%s/enabled=%t,auto=%t,acp=%t", tt.name, s.MeetingMigrationEnabled,
				s.AutomaticallyMigrateUserMeetings, s.AutomaticallyReplaceAcpProvider)
			t.Run(name, func(t *testing.T) {
				want := tt.want
				switch {
				case tt.gate == never:
				case !s.MeetingMigrationEnabled:
					want = ign(ReasonDisabled)
				case tt.gate >= amum && !s.AutomaticallyMigrateUserMeetings:
					want = ign(ReasonAutoMigrateOff)
				case tt.gate >= arap && !s.AutomaticallyReplaceAcpProvider:
					want = ign(ReasonAcpKept)
				}
				got := Decide(tt.event, tt.before, s)
				if got != want {
					t.Errorf("Decide =\n %+v, want\n %+v", got, want)
				}
				if !got.Trigger && !strings.HasPrefix(got.Reason, "ignored: ") {
					t.Errorf("non-trigger reason %q lacks the ignored: prefix", got.Reason)
				}
			})
		}
	}
}

func allSettings() []migration.Settings {
	var out []migration.Settings
	for _, enabled := range []bool{true, false} {
		for _, auto := range []bool{true, false} {
			for _, acp := range []bool{true, false} {
				s := migration.DefaultSettings()
				s.MeetingMigrationEnabled, s.AutomaticallyMigrateUserMeetings, s.AutomaticallyReplaceAcpProvider = enabled, auto, acp
				out = append(out, s)
			}
		}
	}
	return out
}

func TestMigrationType(t *testing.T) {
	up := Decide(Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeTeamsOnly, MigrateMeetingsToTeams: true}, sfbUser, migration.DefaultSettings())
	if got := up.MigrationType(); got != migration.TypeSfbToTeams {
		t.Errorf("Teams upgrade: MigrationType = %q, want SfbToTeams", got)
	}
	cid := Decide(Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "555666777"}, msUser, migration.DefaultSettings())
	if got := cid.MigrationType(); got != migration.TypeToSameType {
		t.Errorf("conference ID: MigrationType = %q, want ToSameType", got)
	}
	if got := (Decision{Reason: ReasonSIPAddress}).MigrationType(); got != "" {
		t.Errorf("non-trigger: MigrationType = %q, want empty", got)
	}
}

// TestAcpProvider checks both values of AutomaticallyReplaceAcpProvider on
// the profile as well as on the decision.
func TestAcpProvider(t *testing.T) {
	e := msNumbers(Event{Type: LicenceAssigned, User: "ann"})
	s := migration.DefaultSettings()

	s.AutomaticallyReplaceAcpProvider = true
	after, err := Apply(acpUser, e, s)
	if err != nil || after.Provider != "Microsoft" || after.TollNumber != toll || after.DialInURL != dialIn {
		t.Errorf("replace on: Apply = %+v, %v; want Microsoft's numbers", after, err)
	}
	if d := Decide(e, acpUser, s); !d.Trigger {
		t.Errorf("replace on: %+v, want a trigger", d)
	}

	s.AutomaticallyReplaceAcpProvider = false
	after, err = Apply(acpUser, e, s)
	if err != nil || !reflect.DeepEqual(after, acpUser) {
		t.Errorf("replace off: Apply = %+v, %v; want the third-party profile unchanged", after, err)
	}
	if d := Decide(e, acpUser, s); d != ign(ReasonAcpKept) {
		t.Errorf("replace off: %+v", d)
	}

	// Without new numbers in the event the third party's ones are dropped, not kept.
	s.AutomaticallyReplaceAcpProvider = true
	after, err = Apply(acpUser, Event{Type: LicenceAssigned, User: "ann"}, s)
	if err != nil || after.TollNumber != "" || after.ConferenceID != "" || after.DialInURL != "" || after.Provider != "Microsoft" {
		t.Errorf("replace on, no numbers: Apply = %+v, %v", after, err)
	}
}

func TestApply(t *testing.T) {
	s := migration.DefaultSettings()
	tests := []struct {
		name   string
		before meetingblock.Profile
		event  Event
		want   meetingblock.Profile
	}{
		{"moved online", onPremUser,
			Event{Type: UserMovedOnline, User: "ann", JoinURL: "https://meet.lync.com/contoso/ann/XYZ789", ConferenceID: "222333444"},
			with(onPremUser, func(p *meetingblock.Profile) {
				p.JoinURL, p.ConferenceID = "https://meet.lync.com/contoso/ann/XYZ789", "222333444"
			})},
		{"moved online, nothing new", onPremUser, Event{Type: UserMovedOnline, User: "ann"}, onPremUser},
		{"moved back on premises", sfbUser, Event{Type: UserMovedOnPremises, User: "ann"}, sfbUser},
		{"licence assigned", unlicensed, msNumbers(Event{Type: LicenceAssigned, User: "ann"}),
			with(msUser, func(p *meetingblock.Profile) { p.Locale = "" })},
		{"licence removed", msUser, Event{Type: LicenceRemoved, User: "ann"},
			meetingblock.Profile{MeetingType: "Teams", Provider: "None", Locale: "en-US"}},
		{"licence removed, third party", acpUser, Event{Type: LicenceRemoved, User: "ann"}, acpUser},
		{"dial-in enabled", noDialIn, Event{Type: DialInEnabled, User: "ann", TollNumber: toll, DialInURL: dialIn},
			with(noDialIn, func(p *meetingblock.Profile) { p.TollNumber, p.DialInURL = toll, dialIn })},
		{"dial-in enabled, no provider yet", meetingblock.Profile{MeetingType: "Teams"},
			Event{Type: DialInEnabled, User: "ann", TollNumber: toll, ConferenceID: "123456789"},
			meetingblock.Profile{MeetingType: "Teams", TollNumber: toll, ConferenceID: "123456789", Provider: "Microsoft"}},
		{"dial-in disabled", msUser, Event{Type: DialInDisabled, User: "ann"},
			with(msUser, func(p *meetingblock.Profile) { p.TollNumber, p.TollFreeNumbers, p.DialInURL = "", nil, "" })},
		{"conference ID changed", msUser, Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "555666777"},
			with(msUser, func(p *meetingblock.Profile) { p.ConferenceID = "555666777" })},
		{"conference ID reset", msUser, Event{Type: ConferenceIDReset, User: "ann", ConferenceID: "555666778"},
			with(msUser, func(p *meetingblock.Profile) { p.ConferenceID = "555666778" })},
		{"moved to bridge", msUser, Event{Type: UserMovedToBridge, User: "ann", BridgeID: "bridge-2", TollNumber: "+44 20 7946 0000"},
			with(msUser, func(p *meetingblock.Profile) {
				p.BridgeID, p.TollNumber, p.TollFreeNumbers, p.DialInURL = "bridge-2", "+44 20 7946 0000", nil, ""
			})},
		{"bridge number changed (toll)", msUser, Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: "+14255550100", NewNumber: "+1 425 555 0199"},
			with(msUser, func(p *meetingblock.Profile) { p.TollNumber = "+1 425 555 0199" })},
		{"bridge number changed (toll-free)", msUser, Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: tollFree, NewNumber: "+1 888 555 0100"},
			with(msUser, func(p *meetingblock.Profile) { p.TollFreeNumbers = []string{"+1 888 555 0100"} })},
		{"bridge number changed, other bridge", otherBridge, Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: toll, NewNumber: "+1 425 555 0199"},
			otherBridge},
		{"bridge number unassigned (toll-free)", msUser, Event{Type: BridgeNumberUnassigned, BridgeID: "bridge-1", OldNumber: tollFree},
			with(msUser, func(p *meetingblock.Profile) { p.TollFreeNumbers = nil })},
		{"bridge number unassigned (toll), newNumber not used", msUser,
			Event{Type: BridgeNumberUnassigned, BridgeID: "bridge-1", OldNumber: toll, NewNumber: "+1 425 555 0199"},
			with(msUser, func(p *meetingblock.Profile) { p.TollNumber = "" })},
		{"provider switched to Microsoft", acpUser, msNumbers(Event{Type: ProviderSwitchedToMicrosoft, User: "ann"}),
			with(msUser, func(p *meetingblock.Profile) { p.Locale = "" })},
		{"Teams upgrade TeamsOnly", sfbUser, Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeTeamsOnly, MigrateMeetingsToTeams: true},
			with(sfbUser, func(p *meetingblock.Profile) { p.MeetingType, p.JoinURL = "Teams", "" })},
		{"Teams upgrade without MigrateMeetingsToTeams still makes new meetings Teams", sfbUser,
			Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeSfBWithTeamsCollabAndMeetings, JoinURL: "https://teams.microsoft.com/l/meetup-join/abc", Passcode: "x1"},
			with(sfbUser, func(p *meetingblock.Profile) {
				p.MeetingType, p.JoinURL, p.Passcode = "Teams", "https://teams.microsoft.com/l/meetup-join/abc", "x1"
			})},
		{"Teams upgrade Islands", sfbUser, Event{Type: TeamsUpgradeGranted, User: "ann", Mode: ModeIslands, MigrateMeetingsToTeams: true}, sfbUser},
		{"tenant-wide Teams upgrade", sfbUser, Event{Type: TenantTeamsUpgradeGranted, Mode: ModeTeamsOnly}, sfbUser},
		{"SIP address changed", sfbUser, Event{Type: SIPAddressChanged, User: "ann"}, sfbUser},
		{"tenant meeting URL changed", sfbUser, Event{Type: TenantMeetingURLChanged}, sfbUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := with(tt.before, func(*meetingblock.Profile) {})
			got, err := Apply(tt.before, tt.event, s)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply =\n %+v, want\n %+v", got, tt.want)
			}
			if !reflect.DeepEqual(tt.before, before) {
				t.Errorf("Apply changed its input: %+v", tt.before)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	s := migration.DefaultSettings()
	tests := []struct {
		name   string
		before meetingblock.Profile
		event  Event
		want   string
	}{
		{"invalid event", msUser, Event{Type: "x"}, `type: unknown event type "x"`},
		{"bad conference ID", msUser, Event{Type: ConferenceIDChanged, User: "ann", ConferenceID: "12ab"}, "conferenceId: must be 4 to 20 digits"},
		{"bad toll number", noDialIn, Event{Type: DialInEnabled, User: "ann", TollNumber: "call me"}, "tollNumber: must be a phone number (digits, optional leading +, spaces, -, ., parentheses)"},
		{"numbers without conference ID", meetingblock.Profile{MeetingType: "Teams"},
			Event{Type: DialInEnabled, User: "ann", TollNumber: toll}, "conferenceId: required when dial-in numbers are given"},
		{"bad join URL", onPremUser, Event{Type: UserMovedOnline, User: "ann", JoinURL: "javascript:x"}, "joinUrl:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(tt.before, tt.event, s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		event Event
		want  string // "" for valid
	}{
		{Event{}, "type: required"},
		{Event{Type: "userRenamed", User: "ann"}, `type: unknown event type "userRenamed"`},
		{Event{Type: LicenceAssigned}, "user: required for licenceAssigned"},
		{Event{Type: SIPAddressChanged}, "user: required for sipAddressChanged"},
		{Event{Type: ConferenceIDChanged, User: "ann"}, "conferenceId: required for conferenceIdChanged"},
		{Event{Type: ConferenceIDReset, User: "ann"}, "conferenceId: required for conferenceIdReset"},
		{Event{Type: DialInEnabled, User: "ann"}, "tollNumber: required for dialInEnabled"},
		{Event{Type: UserMovedToBridge, User: "ann"}, "bridgeId: required for userMovedToBridge\ntollNumber: required for userMovedToBridge"},
		{Event{Type: BridgeNumberChanged}, "bridgeId: required for bridgeNumberChanged\noldNumber: required for bridgeNumberChanged\nnewNumber: required for bridgeNumberChanged"},
		{Event{Type: BridgeNumberUnassigned, BridgeID: "b"}, "oldNumber: required for bridgeNumberUnassigned"},
		{Event{Type: TeamsUpgradeGranted, User: "ann"}, "mode: required for teamsUpgradeGranted"},
		{Event{Type: TeamsUpgradeGranted, User: "ann", Mode: "TeamsFirst"}, `mode: unknown Teams upgrade mode "TeamsFirst"`},
		{Event{Type: TenantTeamsUpgradeGranted}, "mode: required for tenantTeamsUpgradeGranted"},
		{Event{Type: UserMovedOnline, User: "ann"}, ""},
		{Event{Type: UserMovedOnPremises, User: "ann"}, ""},
		{Event{Type: LicenceRemoved, User: "ann"}, ""},
		{Event{Type: DialInDisabled, User: "ann"}, ""},
		{Event{Type: DialInEnabled, User: "ann", TollFreeNumbers: []string{tollFree}}, ""},
		{Event{Type: ProviderSwitchedToMicrosoft, User: "ann"}, ""},
		{Event{Type: BridgeNumberChanged, BridgeID: "b", OldNumber: "+1 425-555-0100", NewNumber: "+1 425-555-0101"}, ""},
		{Event{Type: BridgeNumberChanged, BridgeID: "b", OldNumber: "one", NewNumber: "+1 425-555-0101"}, "oldNumber: must be a phone number (digits, optional leading +, spaces, -, ., parentheses)"},
		{Event{Type: DialInEnabled, User: "u", TollNumber: "call me"}, "tollNumber: must be a phone number (digits, optional leading +, spaces, -, ., parentheses)"},
		{Event{Type: UserMovedOnline, User: "u", JoinURL: "javascript:alert(1)"}, "joinUrl: must be an absolute http(s) URL without spaces, quotes or angle brackets"},
		{Event{Type: TenantMeetingURLChanged}, ""},
		{Event{Type: TenantTeamsUpgradeGranted, Mode: ModeTeamsOnly}, ""},
	}
	for _, tt := range tests {
		err := tt.event.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v: Validate = %q, want %q", tt.event, got, tt.want)
		}
	}
}

// TestEventJSON: the API decodes an event from its JSON body.
func TestEventJSON(t *testing.T) {
	var e Event
	body := `{"type":"teamsUpgradeGranted","user":"ann@contoso.com","mode":"TeamsOnly","migrateMeetingsToTeams":true,
		"joinUrl":"https://teams.microsoft.com/l/meetup-join/abc","tollFreeNumbers":["+1 800 555 0100"]}`
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	want := Event{Type: TeamsUpgradeGranted, User: "ann@contoso.com", Mode: ModeTeamsOnly, MigrateMeetingsToTeams: true,
		JoinURL: "https://teams.microsoft.com/l/meetup-join/abc", TollFreeNumbers: []string{"+1 800 555 0100"}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("decoded %+v, want %+v", e, want)
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}
	out, _ := json.Marshal(Decide(e, sfbUser, migration.DefaultSettings()))
	if got := string(out); got != `{"trigger":true,"reason":"Teams upgrade granted (TeamsOnly)","sourceMeetingType":"SfB","targetMeetingType":"Teams"}` {
		t.Errorf("decision JSON %s", got)
	}
}

func TestAffectedByBridge(t *testing.T) {
	users := []UserProfile{
		{User: "ann", Profile: msUser},
		{User: "bob", Profile: otherBridge},
		{User: "cat", Profile: unlicensed}, // no bridge
		{User: "dan", Profile: with(msUser, func(p *meetingblock.Profile) { p.TollNumber = "+1 206 555 0100" })},
		{User: "eve", Profile: with(msUser, func(p *meetingblock.Profile) { p.BridgeID = "bridge-10" })},
	}
	if got := AffectedByBridge("bridge-1", users); !reflect.DeepEqual(got, []string{"ann", "dan"}) {
		t.Errorf("bridge-1: %v, want [ann dan]", got)
	}
	if got := AffectedByBridge("bridge-2", users); !reflect.DeepEqual(got, []string{"bob"}) {
		t.Errorf("bridge-2: %v, want [bob]", got)
	}
	if got := AffectedByBridge("", users); got != nil {
		t.Errorf("empty bridge ID: %v, want none (users without a bridge are not on one)", got)
	}
	if got := AffectedByBridge("bridge-9", users); got != nil {
		t.Errorf("unknown bridge: %v, want none", got)
	}

	// The fan-out then decides per user: ann shows the toll number, dan does not.
	e := Event{Type: BridgeNumberChanged, BridgeID: "bridge-1", OldNumber: toll, NewNumber: "+1 425 555 0199"}
	var triggered []string
	for _, u := range users {
		if Decide(e, u.Profile, migration.DefaultSettings()).Trigger {
			triggered = append(triggered, u.User)
		}
	}
	if !reflect.DeepEqual(triggered, []string{"ann"}) {
		t.Errorf("triggered %v, want [ann]", triggered)
	}
}

func TestDecideProfileChange(t *testing.T) {
	teamsJoin := "https://teams.microsoft.com/l/meetup-join/abc"
	tests := []struct {
		name      string
		before    meetingblock.Profile
		edit      func(*meetingblock.Profile)
		want      Decision // every switch on
		wantNoAMM Decision // AutomaticallyMigrateUserMeetings off
	}{
		{"joinUrl", sfbUser, func(p *meetingblock.Profile) { p.JoinURL = "https://meet.lync.com/contoso/ann/NEW" },
			trig("profile changed: joinUrl", current), trig("profile changed: joinUrl", current)},
		{"conferenceId", msUser, func(p *meetingblock.Profile) { p.ConferenceID = "555666777" },
			trig("profile changed: conferenceId", current), ign(ReasonAutoMigrateOff)},
		{"tollNumber", msUser, func(p *meetingblock.Profile) { p.TollNumber = "+1 425 555 0199" },
			trig("profile changed: tollNumber", current), ign(ReasonAutoMigrateOff)},
		{"tollFreeNumbers", msUser, func(p *meetingblock.Profile) { p.TollFreeNumbers = append(p.TollFreeNumbers, "+1 888 555 0100") },
			trig("profile changed: tollFreeNumbers", current), ign(ReasonAutoMigrateOff)},
		{"dialInUrl", msUser, func(p *meetingblock.Profile) { p.DialInURL = "https://dialin.teams.microsoft.com/other" },
			trig("profile changed: dialInUrl", current), ign(ReasonAutoMigrateOff)},
		{"provider", acpUser, func(p *meetingblock.Profile) { p.Provider = "Microsoft" },
			trig("profile changed: provider", current), ign(ReasonAutoMigrateOff)},
		{"bridgeId", msUser, func(p *meetingblock.Profile) { p.BridgeID = "bridge-2" },
			trig("profile changed: bridgeId", current), ign(ReasonAutoMigrateOff)},
		{"meetingType", sfbUser, func(p *meetingblock.Profile) { p.MeetingType, p.JoinURL = "Teams", teamsJoin },
			trig("profile changed: meetingType, joinUrl", toTeams), trig("profile changed: meetingType, joinUrl", toTeams)},
		{"meetingType and conferenceId", sfbUser, func(p *meetingblock.Profile) { p.MeetingType, p.ConferenceID = "Teams", "555666777" },
			trig("profile changed: meetingType, conferenceId",
				Decision{SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetTeams}),
			trig("profile changed: meetingType", toTeams)},
		{"locale only", msUser, func(p *meetingblock.Profile) { p.Locale = "de-DE" }, ign(ReasonUnchanged), ign(ReasonUnchanged)},
		{"per-meeting extras only", msUser, func(p *meetingblock.Profile) {
			p.MeetingID, p.Passcode, p.HelpURL = "123456789", "abc", "https://x.example/help"
		},
			ign(ReasonUnchanged), ign(ReasonUnchanged)},
		{"empty provider is Microsoft", msUser, func(p *meetingblock.Profile) { p.Provider = "" }, ign(ReasonUnchanged), ign(ReasonUnchanged)},
		{"nothing", msUser, func(*meetingblock.Profile) {}, ign(ReasonUnchanged), ign(ReasonUnchanged)},
		{"Teams back to SfB", msUser, func(p *meetingblock.Profile) { p.MeetingType = "SfB" },
			ign("ignored: meetings are not converted from Teams back to Skype for Business"),
			ign("ignored: meetings are not converted from Teams back to Skype for Business")},
		{"third party stays", acpUser, func(p *meetingblock.Profile) { p.TollNumber = "+1 555 0199 111" }, ign(ReasonThirdParty), ign(ReasonThirdParty)},
	}
	for _, tt := range tests {
		after := with(tt.before, tt.edit)
		for _, s := range allSettings() {
			name := fmt.Sprintf("%s/enabled=%t,auto=%t,acp=%t", tt.name, s.MeetingMigrationEnabled,
				s.AutomaticallyMigrateUserMeetings, s.AutomaticallyReplaceAcpProvider)
			t.Run(name, func(t *testing.T) {
				want := tt.want
				switch {
				case want == ign(ReasonUnchanged):
				case !s.MeetingMigrationEnabled:
					want = ign(ReasonDisabled)
				case !s.AutomaticallyMigrateUserMeetings:
					want = tt.wantNoAMM
				}
				if got := DecideProfileChange(tt.before, after, s); got != want {
					t.Errorf("DecideProfileChange =\n %+v, want\n %+v", got, want)
				}
			})
		}
	}
}

func TestEventTypesAreAllKnown(t *testing.T) {
	for _, typ := range EventTypes {
		if !typ.known() {
			t.Errorf("%s is listed but not known", typ)
		}
	}
	if EventType("teleport").known() {
		t.Error("an unlisted type is known")
	}
}
