package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/store"
)

// Issue 18, finding 7: the scheme of Authorization is case-insensitive
// (RFC 9110, section 11.1); "bearer" was refused.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "reader", "", store.RoleReader)
	for scheme, want := range map[string]int{"Bearer": 200, "bearer": 200, "BEARER": 200, "Basic": 401, "Bearer\t": 401} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/tenants", nil)
		req.Header.Set("Authorization", scheme+" "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%q: %d, want %d", scheme, resp.StatusCode, want)
		}
	}
}

// Issue 18, finding 7: a key given twice was accepted and the last one won.
// Now a 400 names the key, at any depth, on every route that takes a body,
// and nothing changes.
func TestDuplicateKeysAreRefused(t *testing.T) {
	srv, db := newAPI(t)
	admin, _ := db.CreateToken(context.Background(), "admin", "", store.RoleAdmin)
	before := snapshot(t, srv.URL, db)
	const c = "/v1/tenants/contoso"
	for _, tc := range []struct{ method, path, body, want string }{
		{"PUT", c + "/migration-configuration", `{"participantLimit":5,"participantLimit":6}`, "participantLimit: duplicate key"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":{"meetingType":"Teams","meetingType":"SfB"}}`, "profile.meetingType: duplicate key"},
		{"POST", c + "/events", `[{"type":"sipAddressChanged","user":"admin@contoso.com","profile":{"meetingType":"Teams"}},` +
			`{"type":"sipAddressChanged","user":"admin@contoso.com","user":"x@contoso.com","profile":{"meetingType":"Teams"}}]`, "[1].user: duplicate key"},
		{"POST", "/v1/preview", `{"body":"a","body":"b","profile":{"meetingType":"Teams"}}`, "body: duplicate key"},
		{"POST", "/v1/preview", `{"body":"a","profile":{"meetingType":"Teams","tollFreeNumbers":["1"],"tollFreeNumbers":[]}}`, "profile.tollFreeNumbers: duplicate key"},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","user":"admin@contoso.com"}`, "user: duplicate key"},
	} {
		if code, out := call(t, tc.method, srv.URL+tc.path, admin, tc.body); code != 400 || !strings.Contains(out, tc.want) {
			t.Errorf("%s %s %s: %d %s, want 400 %q", tc.method, tc.path, tc.body, code, out, tc.want)
		}
	}
	// Equal keys in different objects are no duplicates.
	if code, out := call(t, "POST", srv.URL+"/v1/preview", admin,
		`{"body":"x","profile":{"meetingType":"Teams","locale":"en-US"},"locale":"en-US"}`); code != 200 {
		t.Errorf("keys repeated across objects: %d %s", code, out)
	}
	if after := snapshot(t, srv.URL, db); after != before {
		t.Fatalf("a refused request changed something:\n%s\n%s", before, after)
	}
}

// Issue 18, finding 7: "must be api.StartRequest, not array" named a Go
// type and no field.
func TestNoGoTypeNamesInErrors(t *testing.T) {
	srv, db := newAPI(t)
	admin, _ := db.CreateToken(context.Background(), "admin", "", store.RoleAdmin)
	const c = "/v1/tenants/contoso"
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", c + "/migrations", `[]`, "body: must be a JSON object, not an array"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":[1]}`, "profile: must be a JSON object, not an array"},
		{"POST", "/v1/preview", `{"body":"x","profile":{"meetingType":"Teams","tollFreeNumbers":{}}}`, "profile.tollFreeNumbers: must be an array, not an object"},
		{"POST", "/v1/preview", `{"body":7,"profile":{"meetingType":"Teams"}}`, "body: must be string, not number"},
		{"POST", c + "/events", `[1]`, "body: must be a JSON object, not number"},
	} {
		code, out := call(t, tc.method, srv.URL+tc.path, admin, tc.body)
		if code != 400 || !strings.Contains(out, tc.want) || strings.Contains(out, "api.") || strings.Contains(out, "meetingblock.") ||
			strings.Contains(out, "[]") {
			t.Errorf("%s %s %s: %d %s, want 400 %q", tc.method, tc.path, tc.body, code, out, tc.want)
		}
	}
}
