package directory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const header = `"Identity","DisplayName","SipAddress","Provider","ConferenceId","ServiceNumber","TollFreeServiceNumber","BridgeId","BridgeName"` + "\n"

func TestParseCmdletCSV(t *testing.T) {
	file := "\xef\xbb\xbf#TYPE Deserialized.Microsoft.Rtc.Management.Hosted.Bvd.Types.LacUserInfo\n" + header +
		`"Alice@Contoso.com","Alice","sip:alice@contoso.com","Microsoft","123456","+1 425-555-0100","+1 888-555-0100;+1 877-555-0100","b-1","Bridge"` + "\n" +
		`"sip:Bob@contoso.com","Bob","sip:bob@contoso.com","","654321","14255550100","","","Bridge 2"` + "\n"
	format, entries, err := Parse([]byte(file))
	if err != nil || format != FormatCSV || len(entries) != 2 {
		t.Fatalf("Parse = %q, %+v, %v", format, entries, err)
	}
	a, b := entries[0], entries[1]
	if a.User != "alice@contoso.com" || a.Line != 3 || a.Row != 1 || a.DisplayName != "Alice" || *a.DialIn.ConferenceID != "123456" ||
		*a.DialIn.TollNumber != "+1 425-555-0100" || len(*a.DialIn.TollFreeNumbers) != 2 || *a.DialIn.BridgeID != "b-1" ||
		*a.DialIn.Provider != "Microsoft" {
		t.Errorf("alice = %+v", a)
	}
	// A SIP identity maps to its address; no BridgeId: the bridge's name.
	if b.User != "bob@contoso.com" || b.Line != 4 || *b.DialIn.BridgeID != "Bridge 2" || *b.DialIn.Provider != "Microsoft" ||
		len(*b.DialIn.TollFreeNumbers) != 0 {
		t.Errorf("bob = %+v", b)
	}
}

func TestParseCmdletJSONAndMMSList(t *testing.T) {
	one := `{"Identity":"carol@contoso.com","ConferenceId":13579246,"ServiceNumber":null,"TollFreeServiceNumber":["+1 888-555-0100"],"AllowTollFreeDialIn":true}`
	format, entries, err := Parse([]byte(one))
	if err != nil || format != FormatCmdletJSON || len(entries) != 1 || *entries[0].DialIn.ConferenceID != "13579246" ||
		*entries[0].DialIn.TollNumber != "" || (*entries[0].DialIn.TollFreeNumbers)[0] != "+1 888-555-0100" {
		t.Fatalf("Parse = %q %+v %v", format, entries, err)
	}
	list := `[{"user":"Dan@contoso.com","displayName":"Dan","profile":{"meetingType":"Teams","conferenceId":"123456","tollNumber":"+1 425-555-0100"}}]`
	format, entries, err = Parse([]byte(list))
	if err != nil || format != FormatMMSJSON || !entries[0].Replace || entries[0].User != "dan@contoso.com" || entries[0].Profile.ConferenceID != "123456" {
		t.Fatalf("Parse = %q %+v %v", format, entries, err)
	}
}

// A malformed row names its line (or index) and field; formula cells are
// refused, not stored.
func TestParseRefusesMalformedRows(t *testing.T) {
	row := func(fields string) string {
		return header + `"a@contoso.com","A","","Microsoft","123456","+1 425-555-0100","","",""` + "\n" + fields + "\n"
	}
	for _, tc := range []struct{ name, file, want string }{
		{"formula id", row(`"=HYPERLINK(""http://x"")","B","","Microsoft","123456","","","",""`), "line 3: Identity: begins with '='"},
		{"formula conf id", row(`"b@contoso.com","B","","Microsoft","+123456","","","",""`), "line 3: ConferenceId: begins with '+'"},
		{"at conf id", row(`"b@contoso.com","B","","Microsoft","@SUM(1)","","","",""`), "line 3: ConferenceId: begins with '@'"},
		{"minus number", row(`"b@contoso.com","B","","Microsoft","123456","-1+2","","",""`), "line 3: ServiceNumber: begins with '-'"},
		{"formula phone", row(`"b@contoso.com","B","","Microsoft","123456","+1+cmd|' /C calc'!A0","","",""`), "line 3: ServiceNumber: must be a phone number"},
		{"bad conf id", row(`"b@contoso.com","B","","Microsoft","12ab","","","",""`), "line 3: ConferenceId: must be 4 to 20 digits"},
		{"distinguished name", row(`"CN=Bob,OU=Users,DC=contoso,DC=com","B","","Microsoft","123456","","","",""`), "line 3: Identity: must be a user principal name"},
		{"list placeholder", row(`"b@contoso.com","B","","Microsoft","123456","","System.Object[]","",""`), "line 3: TollFreeServiceNumber: is PowerShell's name of a list"},
		{"duplicate", row(`"A@contoso.com","B","","Microsoft","123456","","","",""`), "line 3: Identity: a@contoso.com is also on line 2"},
		{"short row", row(`"b@contoso.com","B"`), "line 3: has 2 fields, the header 9"},
		{"bare quote", row(`"b@contoso.com","B"x,"","","","","","",""`), "line 3: malformed CSV"},
		{"no identity", "\"Name\",\"ConferenceId\"\n\"a\",\"1234\"\n", "line 1: the header names no Identity"},
		{"json formula", `[{"Identity":"a@contoso.com","ConferenceId":"=1+2"}]`, "[0].ConferenceId: begins with '='"},
		{"json nested", `[{"Identity":"a@contoso.com"},{"Identity":"b@contoso.com","ConferenceId":{"x":1}}]`, "[1].ConferenceId: must be a string"},
		{"mms unknown field", `[{"user":"a@contoso.com","profile":{"meetingType":"Teams"},"colour":"red"}]`, "[0].colour: unknown field"},
		{"mms bad profile", `[{"user":"a@contoso.com","profile":{"meetingType":"Zoom"}}]`, "[0].profile.meetingType: must be"},
		{"mixed", `[{"user":"a@contoso.com","profile":{"meetingType":"Teams"}},{"Identity":"b@contoso.com"}]`, "[1]: mixes"},
		{"utf16", "\xff\xfe\"\x00", "file: UTF-16"},
		{"empty", " \n", "file: empty"},
	} {
		_, _, err := Parse([]byte(tc.file))
		var de *Error
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseBoundsTheFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := 0; i <= MaxRows; i++ {
		fmt.Fprintf(&b, "\"u%d@contoso.com\",\"\",\"\",\"\",\"123456\",\"\",\"\",\"\",\"\"\n", i)
	}
	if _, _, err := Parse([]byte(b.String())); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d rows: %v", MaxRows+1, err)
	}
	if _, _, err := Parse(make([]byte, MaxBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d bytes: %v", MaxBytes+1, err)
	}
}
