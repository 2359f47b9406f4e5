package graph

import "testing"

// TestInviteesCountEachPersonOnce: Graph mails each attendee once, however
// often and in whatever case the event lists them (issue 16, finding 8).
func TestInviteesCountEachPersonOnce(t *testing.T) {
	r := func(addr string) recipient {
		var x recipient
		x.EmailAddress.Address = addr
		return x
	}
	org := r("Alice@Contoso.com")
	ev := event{Organizer: &org, Attendees: []recipient{r("alice@contoso.com"), r("bob@contoso.com"),
		r("BOB@contoso.com"), r("erin@fabrikam.com"), r("Room1@contoso.com")}}
	if got := invitees(ev, true, []string{"room1@contoso.com"}); got != 2 {
		t.Errorf("invitees = %d, want 2 (bob, erin)", got)
	}
	if got := invitees(ev, false, nil); got != 0 {
		t.Errorf("not the organizer: %d, want 0", got)
	}
}
