package meetingblock_test

import (
	"fmt"
	"strings"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

func ExampleReplace() {
	sep := strings.Repeat("_", 80)
	body := "Agenda: budget\n" + sep + "\nMicrosoft Teams meeting\n" +
		"Join the meeting now<https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0>\n" +
		"Meeting ID: 123 456 789 012\nPasscode: Ab12Cd\n" + sep + "\nSee you there\n"
	p := meetingblock.Profile{MeetingType: "Teams", Provider: "None"} // dial-in removed
	res := meetingblock.Replace(body, meetingblock.FormatText, p, migration.TargetCurrent)
	fmt.Println(res.Outcome, res.Old.Kind, res.Old.MeetingID)
	fmt.Print(meetingblock.UnifiedDiff(body, res.Body))

	again := meetingblock.Replace(res.Body, meetingblock.FormatText, p, migration.TargetCurrent)
	fmt.Println(again.Outcome)
	// Output:
	// replaced Teams 123 456 789 012
	// --- old
	// +++ new
	// @@ -1,8 +1,9 @@
	//  Agenda: budget
	//  ________________________________________________________________________________
	// -Microsoft Teams meeting
	// +Microsoft Teams Need help?<https://aka.ms/JoinTeamsMeeting?omkt=en-US>
	//  Join the meeting now<https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0>
	//  Meeting ID: 123 456 789 012
	//  Passcode: Ab12Cd
	// +________________________________
	//  ________________________________________________________________________________
	//  See you there
	// up-to-date
}
