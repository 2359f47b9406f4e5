package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/store"
)

// Issue 18, finding 5: an event ID reused with a different body answered
// 202 with the first body's decision, and the second change was lost. Now
// the ID is an idempotency key with integrity: 409 naming every reused ID,
// and nothing of the batch recorded.
func TestEventIDReusedWithAnotherBodyIsRefused(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "provisioning", "contoso", store.RoleUpstream)
	url := srv.URL + "/v1/tenants/contoso/events"
	profileBefore := func() string {
		u, err := db.User(ctx, "contoso", "admin@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		return string(u.Profile)
	}
	before := profileBefore()

	// Within one batch: the reproduction, conference ID 99999 under e1 again.
	code, body := post(t, url, tok, `[{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"11111"},
		{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"99999"},
		{"id":"e2","type":"sipAddressChanged","user":"admin@contoso.com"},
		{"id":"e2","type":"sipAddressChanged","user":"ADMIN@contoso.com"},
		{"id":"e3","type":"tenantMeetingUrlChanged"},
		{"id":"e3","type":"tenantMeetingUrlChanged","user":"admin@contoso.com"}]`)
	if code != 409 || !strings.Contains(body, `"event_id_reused"`) ||
		!strings.Contains(body, `events[1].id: event ID \"e1\" is also events[0].id, with a different body`) ||
		!strings.Contains(body, `events[5].id: event ID \"e3\"`) || strings.Contains(body, "events[3]") {
		t.Fatalf("batch reusing e1 and e3 = %d %s, want 409 naming events[1].id and events[5].id only", code, body)
	}
	if evs, _ := db.Events(ctx, "contoso", "", 0); len(evs) != 0 || profileBefore() != before {
		t.Fatalf("a refused batch recorded %d events or changed the profile", len(evs))
	}

	// Across requests: recorded first, reused later with another body.
	if code, body := post(t, url, tok, `{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"11111"}`); code != 202 {
		t.Fatalf("first post = %d %s", code, body)
	}
	recorded := profileBefore()
	code, body = post(t, url, tok, `[{"id":"e9","type":"sipAddressChanged","user":"admin@contoso.com"},
		{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"99999"}]`)
	if code != 409 || !strings.Contains(body, `events[1].id: event ID \"e1\" was recorded at `) {
		t.Fatalf("reused e1 = %d %s, want 409 naming events[1].id", code, body)
	}
	if evs, _ := db.Events(ctx, "contoso", "", 0); len(evs) != 1 || profileBefore() != recorded {
		t.Fatalf("after a refused batch: %d events (want 1), profile %s", len(evs), profileBefore())
	}
	// A lone event's field is "id".
	if code, body := post(t, url, tok, `{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"99999"}`); code != 409 || !strings.Contains(body, `"id: event ID`) {
		t.Fatalf("lone reused e1 = %d %s", code, body)
	}

	// The same body, written otherwise (spaces, key order, the user's case,
	// an explicit empty value), replays the first answer.
	first := eventResults(t, post, url, tok, `{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"11111"}`)
	again := eventResults(t, post, url, tok, "{ \"conferenceId\" : \"11111\",\n\"tollNumber\":\"\", \"user\":\"Admin@Contoso.com\",  \"type\":\"conferenceIdChanged\", \"id\":\"e1\" }")
	if len(first) != 1 || len(again) != 1 || first[0].ReceivedAt != again[0].ReceivedAt || first[0].Reason != again[0].Reason {
		t.Fatalf("replay = %+v, want %+v", again, first)
	}
	// And so does the same event twice in one batch.
	if res := eventResults(t, post, url, tok, `[{"id":"e7","type":"sipAddressChanged","user":"admin@contoso.com"},
		{"id":"e7","type":"sipAddressChanged","user":"admin@contoso.com"}]`); len(res) != 2 || res[0].ReceivedAt != res[1].ReceivedAt {
		t.Fatalf("e7 twice = %+v", res)
	}
}

// An event recorded before hashes were kept (migration 00011) has none: a
// retry of it replays the recorded decision without comparison, as it did.
func TestEventRecordedWithoutHashReplaysWithoutComparison(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "provisioning", "contoso", store.RoleUpstream)
	if _, err := db.RecordEvent(ctx, "contoso", store.Event{ID: "old", UserID: "admin@contoso.com", Type: "sipAddressChanged",
		Payload: json.RawMessage(`{}`), Reason: "ignored: recorded before 00011"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	res := eventResults(t, post, srv.URL+"/v1/tenants/contoso/events", tok,
		`{"id":"old","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"99999"}`)
	if len(res) != 1 || res[0].Reason != "ignored: recorded before 00011" {
		t.Fatalf("retry of a hashless event = %+v", res)
	}
}

func eventResults(t *testing.T, post func(*testing.T, string, string, string) (int, string), url, tok, body string) []store.Event {
	t.Helper()
	code, out := post(t, url, tok, body)
	var res struct{ Results []store.Event }
	if code != 202 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("post %s = %d %s", body, code, out)
	}
	return res.Results
}
