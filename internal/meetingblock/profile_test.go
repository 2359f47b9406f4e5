package meetingblock

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProfileValidate(t *testing.T) {
	good := Profile{MeetingType: "Teams", ConferenceID: "123456789", TollNumber: "+1 425-555-0100", Provider: ProviderMicrosoft}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid profile: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Profile)
		field string
	}{
		{"meeting type", func(p *Profile) { p.MeetingType = "Zoom" }, `meetingType: must be "Teams" or "SfB"`},
		{"provider", func(p *Profile) { p.Provider = "PGi" }, "provider:"},
		{"join url scheme", func(p *Profile) { p.JoinURL = "javascript:alert(1)" }, "joinUrl:"},
		{"join url quote", func(p *Profile) { p.JoinURL = `https://teams.microsoft.com/l/meetup-join/x" onclick="y` }, "joinUrl:"},
		{"dial-in url", func(p *Profile) { p.DialInURL = "dialin.teams.microsoft.com" }, "dialInUrl:"},
		{"conference id", func(p *Profile) { p.ConferenceID = "12ab" }, "conferenceId:"},
		{"conference id missing", func(p *Profile) { p.ConferenceID = "" }, "conferenceId: required"},
		{"toll number", func(p *Profile) { p.TollNumber = "call me" }, "tollNumber:"},
		{"toll-free number", func(p *Profile) { p.TollFreeNumbers = []string{"+1 800 555 0100", "<b>"} }, "tollFreeNumbers[1]:"},
		{"numbers without provider", func(p *Profile) { p.Provider = ProviderNone }, "tollNumber: must be empty"},
		{"meeting id", func(p *Profile) { p.MeetingID = "12 34 x" }, "meetingId:"},
		{"passcode", func(p *Profile) { p.Passcode = "a b" }, "passcode:"},
		{"locale", func(p *Profile) { p.Locale = "english" }, "locale:"},
		{"bridge id", func(p *Profile) { p.BridgeID = "a\x00b" }, "bridgeId:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want one containing %q", err, tc.field)
			}
		})
	}
}

func TestProfileJSONNames(t *testing.T) {
	const doc = `{"meetingType":"Teams","joinUrl":"https://teams.microsoft.com/l/meetup-join/x/0","conferenceId":"123456","tollNumber":"+14255550100","tollFreeNumbers":["+18005550100"],"dialInUrl":"https://dialin.teams.microsoft.com/x","provider":"Microsoft","bridgeId":"b1","locale":"en-US"}`
	var p Profile
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	if p.JoinURL == "" || p.ConferenceID != "123456" || len(p.TollFreeNumbers) != 1 || p.DialInURL == "" || p.BridgeID != "b1" || p.Locale != "en-US" {
		t.Errorf("decoded %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	if !p.hasDialIn() {
		t.Error("no dial-in")
	}
	p.Provider = ProviderNone
	if p.hasDialIn() {
		t.Error("dial-in with provider None")
	}
}
