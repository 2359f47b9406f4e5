package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

func TestEventsIgnoredAreRecordedAndBadOnesChangeNothing(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "provisioning", "contoso", store.RoleUpstream)
	// Audio-conferencing changes do not trigger with this switch off, but the
	// directory still learns the new profile.
	ten, _ := db.Tenant(ctx, "contoso")
	ten.Settings.AutomaticallyMigrateUserMeetings = false
	if err := db.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: "admin@contoso.com", DisplayName: "Admin",
		Profile: json.RawMessage(`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"111222333","tollNumber":"+1 425-555-0100"}`)}); err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/v1/tenants/contoso/events"
	code, body := post(t, url, tok, `[{"id":"e1","type":"sipAddressChanged","user":"admin@contoso.com"},
		{"id":"e2","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"987654321"},
		{"id":"e3","type":"tenantMeetingUrlChanged"}]`)
	var res struct{ Results []store.Event }
	if code != 202 || json.Unmarshal([]byte(body), &res) != nil || len(res.Results) != 3 {
		t.Fatalf("post = %d %s", code, body)
	}
	for i, want := range []string{"ignored: SIP", "ignored: AutomaticallyMigrateUserMeetings is off", "ignored: "} {
		if r := res.Results[i]; r.Triggered || !strings.HasPrefix(r.Reason, want) {
			t.Errorf("result %d = %+v, want %q", i, r, want)
		}
	}
	u, _ := db.User(ctx, "contoso", "admin@contoso.com")
	if !strings.Contains(string(u.Profile), `"conferenceId":"987654321"`) {
		t.Fatalf("profile after conferenceIdChanged = %s", u.Profile)
	}
	// The same ID and body again (keys in another order) returns the
	// recorded decision and changes nothing.
	code, again := post(t, url, tok, `{"conferenceId":"987654321", "user":"admin@contoso.com", "type":"conferenceIdChanged","id":"e2"}`)
	if code != 202 || !strings.Contains(again, "AutomaticallyMigrateUserMeetings is off") {
		t.Fatalf("repeat = %d %s", code, again)
	}
	if evs, _ := db.Events(ctx, "contoso", "", 100); len(evs) != 3 {
		t.Fatalf("%d events recorded, want 3", len(evs))
	}
	// A bridge's number changes: exactly the users on that bridge get a
	// decision and the new number.
	for user, bridge := range map[string]string{"u1@contoso.com": "amer-1", "u2@contoso.com": "amer-1", "u3@contoso.com": "amer-2"} {
		if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: user, DisplayName: user, Profile: json.RawMessage(
			`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","bridgeId":"` + bridge + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	code, body = post(t, url, tok, `{"id":"b0","type":"bridgeNumberChanged","bridgeId":"amer-1","oldNumber":"+1 425-555-0100","newNumber":"+1 425-555-0199"}`)
	var fan struct{ Results []store.Event }
	if code != 202 || json.Unmarshal([]byte(body), &fan) != nil || len(fan.Results) != 2 ||
		fan.Results[0].UserID != "u1@contoso.com" || fan.Results[1].UserID != "u2@contoso.com" {
		t.Fatalf("fan-out = %d %s", code, body)
	}
	for user, want := range map[string]string{"u1@contoso.com": "425-555-0199", "u3@contoso.com": "425-555-0100"} {
		if u, _ := db.User(ctx, "contoso", user); !strings.Contains(string(u.Profile), want) {
			t.Errorf("%s after the bridge change: %s, want %s", user, u.Profile, want)
		}
	}

	// Two events for one user in one batch: the second applies to the
	// profile the first left, so neither change is lost.
	code, body = post(t, url, tok, `[{"id":"s1","type":"conferenceIdChanged","user":"u3@contoso.com","conferenceId":"777888"},
		{"id":"s2","type":"userMovedToBridge","user":"u3@contoso.com","bridgeId":"amer-9","tollNumber":"+1 206-555-0111"}]`)
	if code != 202 {
		t.Fatalf("batch for one user = %d %s", code, body)
	}
	if u, _ := db.User(ctx, "contoso", "u3@contoso.com"); !strings.Contains(string(u.Profile), `"conferenceId":"777888"`) ||
		!strings.Contains(string(u.Profile), `"bridgeId":"amer-9"`) {
		t.Fatalf("profile after two events in one batch: %s", u.Profile)
	}

	// A bridge nobody is on: recorded as ignored, not lost.
	code, body = post(t, url, tok, `{"id":"b1","type":"bridgeNumberChanged","bridgeId":"emea-7","oldNumber":"+44 20 7946 0000","newNumber":"+44 20 7946 0001"}`)
	if code != 202 || !strings.Contains(body, "ignored: no user is on bridge emea-7") {
		t.Fatalf("empty bridge = %d %s", code, body)
	}
	reader, _ := db.CreateToken(ctx, "auditor", "contoso", store.RoleReader)
	code, body = get(t, url+"?user=admin@contoso.com", reader)
	var list struct{ Events []store.Event }
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Events) != 2 || list.Events[0].ID != "e2" {
		t.Fatalf("list = %d %s", code, body)
	}

	for bad, want := range map[string]string{
		`{"type":"teleport","user":"admin@contoso.com"}`:                            `type: unknown event type "teleport"`,
		`{"type":"conferenceIdChanged","user":"admin@contoso.com"}`:                 "conferenceId: required for conferenceIdChanged",
		`[{"type":"sipAddressChanged","user":"admin@contoso.com"},{"type":"nope"}]`: "events[1].type: unknown event type",
		`{"type":"sipAddressChanged","user":"nobody@contoso.com"}`:                  `user: "nobody@contoso.com" is not in tenant "contoso"`,
		`{"type":"sipAddressChanged","user":"admin@contoso.com","colour":1}`:        "colour: unknown field",
		`[]`: "between 1 and 1000 events",
	} {
		code, body := post(t, url, tok, bad)
		var e struct{ Error Error }
		if (code != 400 && code != 404) || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s: %d %s, want an error with %q", bad, code, body, want)
		}
	}
	if evs, _ := db.Events(ctx, "contoso", "", 100); len(evs) != 8 {
		t.Fatalf("bad requests recorded events: %d", len(evs))
	}
}

// Concurrent events for one user are applied one after the other: the
// stored profile equals the events replayed in the order they were
// recorded, so no event's change was lost to another's stale read.
func TestConcurrentEventsForOneUserLoseNothing(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "provisioning", "contoso", store.RoleUpstream)
	ten, _ := db.Tenant(ctx, "contoso")
	ten.Settings.AutomaticallyMigrateUserMeetings = false // decided and recorded, no workflow needed
	if err := db.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	start := `{"meetingType":"Teams","provider":"Microsoft","conferenceId":"100000","tollNumber":"+1 425-555-0100","bridgeId":"b0"}`
	if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: "u@contoso.com", DisplayName: "U", Profile: json.RawMessage(start)}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		var ev string
		switch i % 3 {
		case 0:
			ev = fmt.Sprintf(`{"type":"conferenceIdChanged","user":"u@contoso.com","conferenceId":"%d"}`, 200000+i)
		case 1:
			ev = fmt.Sprintf(`{"type":"userMovedToBridge","user":"u@contoso.com","bridgeId":"b%d","tollNumber":"+1 206-555-%04d"}`, i, i)
		default:
			ev = fmt.Sprintf(`{"type":"dialInEnabled","user":"u@contoso.com","tollFreeNumbers":["+1 800-555-%04d"]}`, i)
		}
		wg.Go(func() {
			if code, body := post(t, srv.URL+"/v1/tenants/contoso/events", tok, ev); code != 202 {
				errs <- fmt.Sprintf("%d %s", code, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Events are listed newest first by the time they were recorded. For
	// one user that is the order they were applied in: an event is stamped
	// after it read the profile the previous one committed (or it conflicts
	// and is decided and stamped again), so oldest first replays them.
	evs, err := db.Events(ctx, "contoso", "u@contoso.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	var want meetingblock.Profile
	_ = json.Unmarshal([]byte(start), &want)
	recorded := 0
	for _, ev := range evs {
		var e rules.Event
		if err := json.Unmarshal(ev.Payload, &e); err != nil {
			t.Fatal(err, string(ev.Payload))
		}
		if want, err = rules.Apply(want, e, ten.Settings); err != nil {
			t.Fatal(err)
		}
		recorded++
	}
	if recorded != n {
		t.Fatalf("%d events recorded, want %d", recorded, n)
	}
	u, _ := db.User(ctx, "contoso", "u@contoso.com")
	var got meetingblock.Profile
	_ = json.Unmarshal(u.Profile, &got)
	// Compared as JSON, as the store keeps them: nil and empty lists are equal.
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("stored profile %s\nis not the events replayed in order: %+v", u.Profile, want)
	}
}

// The impact preview answers 200 with the decisions, records nothing, and
// refuses what posting would refuse, plus a bridge nobody is on (issue 21).
func TestImpactPreviewRoute(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "up", "contoso", store.RoleUpstream)
	if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: "alice@contoso.com", Profile: json.RawMessage(
		`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","bridgeId":"b1"}`)}); err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/v1/tenants/contoso/events"
	code, body := call(t, "POST", url+"?preview=true", tok,
		`{"type":"bridgeNumberChanged","bridgeId":"b1","oldNumber":"+1 425-555-0100","newNumber":"+1 425-555-0199"}`)
	var imp intake.Impact
	if code != 200 || json.Unmarshal([]byte(body), &imp) != nil || imp.Summary.Users != 1 || imp.Summary.Migrations != 1 ||
		len(imp.Users) != 1 || imp.Users[0].User != "alice@contoso.com" || !imp.Users[0].Migrate ||
		!imp.Summary.Estimate || imp.Summary.Text != "bridge change: 1 users, 1 to migrate; meetings not counted (no calendar back end)" {
		t.Fatalf("preview = %d %s", code, body)
	}
	if evs, _ := db.Events(ctx, "contoso", "", 10); len(evs) != 0 {
		t.Fatalf("the preview recorded %d events", len(evs))
	}
	for q, want := range map[string]string{
		"?preview=true":  `bridgeId: no user of tenant \"contoso\" is on bridge \"nowhere\"`,
		"?preview=maybe": `preview: true or false`,
	} {
		code, body := call(t, "POST", url+q, tok, `{"type":"bridgeNumberChanged","bridgeId":"nowhere","oldNumber":"+1 425-555-0100","newNumber":"+1 425-555-0199"}`)
		if code != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 400 with %s", q, code, body, want)
		}
	}
}
