package calendar

import "testing"

// TestParticipantsCountEachPersonOnce: addresses compare case-insensitively
// and a person listed twice counts once (issue 16, finding 8).
func TestParticipantsCountEachPersonOnce(t *testing.T) {
	m := Meeting{Organizer: "Alice@Contoso.com", Attendees: []Attendee{
		{Address: "alice@contoso.com"}, {Address: "bob@contoso.com"}, {Address: "BOB@contoso.com"}, {Address: "erin@fabrikam.com"},
	}}
	if got := m.Participants(); got != 3 {
		t.Errorf("Participants() = %d, want 3 (alice, bob, erin)", got)
	}
	if got := (Meeting{Organizer: "a@x"}).Participants(); got != 1 {
		t.Errorf("organizer alone: %d, want 1", got)
	}
}
