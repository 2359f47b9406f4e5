package api

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openmms/mms/internal/store"
)

// The probe's user IDs of issue 18 (finding 3). Each was accepted before
// (PUT answered 201 and a start then 503 with a Failed record).
var badUserIDs = []string{"a\tb", "a\x00b@contoso.com", "a\r\nb@contoso.com", "\x1b[2J@contoso.com",
	strings.Repeat("a", 5000) + "@contoso.com", ".", "..", "alice", "alice@", "=1+2", "\xff@contoso.com"}

// Every route that takes a user refuses a malformed one with a 400 naming
// the field, and writes nothing.
func TestMalformedUserIDsAreRefusedEverywhere(t *testing.T) {
	srv, db := newAPI(t)
	admin, _ := db.CreateToken(context.Background(), "root", "", store.RoleAdmin)
	before := snapshot(t, srv.URL, db)
	base := srv.URL + "/v1/tenants/contoso"
	for _, id := range badUserIDs {
		body, _ := json.Marshal(map[string]any{"user": id})
		event, _ := json.Marshal(map[string]any{"user": id, "type": "sipAddressChanged"})
		batch, _ := json.Marshal([]map[string]any{{"user": "admin@contoso.com", "type": "sipAddressChanged"},
			{"user": id, "type": "sipAddressChanged"}})
		for _, tc := range []struct{ method, path, body, field string }{
			{"PUT", "/users/" + url.PathEscape(id), `{"profile":{"meetingType":"Teams"}}`, `"user: `},
			{"GET", "/migrations/" + url.PathEscape(id), "", `"user: `},
			{"POST", "/migrations/" + url.PathEscape(id) + "/cancel", "", `"user: `},
			{"POST", "/migrations/" + url.PathEscape(id) + "/retry-failed", "", `"user: `},
			{"POST", "/migrations", string(body), `"user: `},
			{"POST", "/migrations", strings.Replace(string(body), "{", `{"dryRun":true,`, 1), `"user: `},
			{"POST", "/events", string(event), `"user: `},
			{"POST", "/events", string(batch), `"events[1].user: `},
			{"GET", "/migrations?user=" + url.QueryEscape(id), "", `"user: `},
			{"GET", "/events?user=" + url.QueryEscape(id), "", `"user: `},
		} {
			if tc.body != "" && tc.method == "POST" && !utf8.ValidString(id) {
				continue // JSON carries no invalid UTF-8: encoding made it U+FFFD
			}
			code, got := call(t, tc.method, base+tc.path, admin, tc.body)
			if code != 400 || !strings.Contains(got, tc.field) {
				t.Errorf("%s %s (user %q): %d %s, want 400 naming %s", tc.method, tc.path, id, code, got, tc.field)
			}
		}
	}
	if after := snapshot(t, srv.URL, db); after != before {
		t.Fatalf("refused requests changed the store:\n%s\n%s", before, after)
	}
}

// IDs compare without regard to case: one user, stored in lower case,
// found by any spelling.
func TestUserIDsAreCaseInsensitive(t *testing.T) {
	srv, db := newAPI(t)
	admin, _ := db.CreateToken(context.Background(), "root", "", store.RoleAdmin)
	base := srv.URL + "/v1/tenants/contoso"
	if code, got := call(t, "PUT", base+"/users/ALICE@Contoso.com", admin, `{"profile":{"meetingType":"Teams"}}`); code != 201 ||
		!strings.Contains(got, `"user":"alice@contoso.com"`) {
		t.Fatalf("first PUT: %d %s, want 201 for alice@contoso.com", code, got)
	}
	if code, got := call(t, "PUT", base+"/users/alice@contoso.com", admin, `{"profile":{"meetingType":"Teams"}}`); code != 200 {
		t.Fatalf("second spelling: %d %s, want 200 (the same user)", code, got)
	}
	_, got := get(t, base+"/users", admin)
	if strings.Count(strings.ToLower(got), "alice@contoso.com") != 1 || strings.Contains(got, "ALICE") {
		t.Fatalf("users: %s, want one alice@contoso.com", got)
	}
	if code, got := get(t, base+"/migrations/Alice@CONTOSO.com", admin); code != 404 || !strings.Contains(got, "no migration for user") {
		t.Fatalf("lookup by another spelling: %d %s, want the known user's 404", code, got)
	}
}
