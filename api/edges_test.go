package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/store"
)

// Every tenant route, tried with another tenant's admin token, answers
// exactly as for a tenant that does not exist, and shows none of its data.
// The routes come from the router, so a new route is covered by itself.
func TestEveryTenantRouteIsIsolated(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	contoso, _ := db.CreateToken(ctx, "contoso-admin", "contoso", store.RoleAdmin)
	before := snapshot(t, srv.URL, db)
	engine := (&Server{Logger: slog.New(slog.DiscardHandler)}).Handler().(*gin.Engine)
	tried := 0
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/tenants/:tenant") {
			continue
		}
		path := strings.NewReplacer(":tenant", "fabrikam", ":user", "admin@fabrikam.com", `\:`, ":").Replace(r.Path)
		body := `{"user":"admin@fabrikam.com","type":"sipAddressChanged","profile":{"meetingType":"Teams"}}`
		code, got := call(t, r.Method, srv.URL+path, contoso, body)
		missing := strings.Replace(path, "fabrikam", "nonexistent", 1)
		_, want := call(t, r.Method, srv.URL+missing, contoso, body)
		if code != 404 || strings.Contains(got, "admin@fabrikam.com\"") ||
			strings.ReplaceAll(got, "fabrikam", "X") != strings.ReplaceAll(want, "nonexistent", "X") {
			t.Errorf("%s %s with contoso's token: %d %s (a missing tenant: %s)", r.Method, path, code, got, want)
		}
		tried++
	}
	if tried < 14 {
		t.Fatalf("only %d tenant routes tried", tried)
	}
	if after := snapshot(t, srv.URL, db); after != before {
		t.Fatalf("another tenant's token changed fabrikam:\n%s\n%s", before, after)
	}
}

// snapshot renders everything the API can show of fabrikam, to prove that
// rejected requests changed nothing.
func snapshot(t *testing.T, base string, db *store.DB) string {
	t.Helper()
	root, err := db.CreateToken(context.Background(), "snapshot", "", store.RoleReader)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tenant := range []string{"contoso", "fabrikam"} {
		for _, p := range []string{"users", "migration-configuration", "dial-in-conferencing-settings", "migrations", "events"} {
			code, body := get(t, base+"/v1/tenants/"+tenant+"/"+p, root)
			b.WriteString(p + " " + body + "\n")
			if code != 200 {
				t.Fatalf("snapshot %s: %d %s", p, code, body)
			}
		}
	}
	return b.String()
}

// Bad input on every route that takes any: 400 with the field named, or
// 404 for an unknown tenant or user, and nothing changes.
func TestBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	admin, _ := db.CreateToken(ctx, "admin", "", store.RoleAdmin)
	if _, err := db.OpenPending(ctx, store.Request{TenantID: "contoso", UserID: "admin@contoso.com", Trigger: "manual",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, srv.URL, db)
	const c = "/v1/tenants/contoso"
	profile := `{"meetingType":"Teams","conferenceId":"123456","tollNumber":"+1 425-555-0100"}`
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		// PUT users/{user}
		{"PUT", c + "/users/u@contoso.com", `{"profile":`, 400, "body: malformed JSON"},
		{"PUT", c + "/users/u@contoso.com", ``, 400, "body: a JSON object is required"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":` + profile + `,"colour":"red"}`, 400, "colour: unknown field"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":` + profile + `,"displayName":7}`, 400, "displayName: must be string"},
		{"PUT", c + "/users/u@contoso.com", `{"displayName":"U"}`, 400, "profile: required"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":{"meetingType":"Zoom"}}`, 400, "profile.meetingType"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":{"meetingType":"Teams","conferenceId":"12"}}`, 400, "profile.conferenceId: must be 4 to 20 digits"},
		{"PUT", c + "/users/u@contoso.com", `{"profile":` + profile + `} {}`, 400, "unexpected data after the JSON object"},
		{"PUT", "/v1/tenants/nowhere/users/u@x.com", `{"profile":` + profile + `}`, 404, `tenant "nowhere" not found`},
		// migration-configuration and dial-in settings
		{"PUT", c + "/migration-configuration", `{"quietPeriodSeconds":86401}`, 400, "quietPeriodSeconds: must be between 0 and 86400"},
		{"PUT", c + "/migration-configuration", `{"participantLimit":"many"}`, 400, "participantLimit: must be int"},
		{"PUT", c + "/migration-configuration", `[]`, 400, "body: must be a JSON object, not an array"}, // issue 18: was "must be api.MigrationConfiguration"
		{"PUT", c + "/dial-in-conferencing-settings", `{"automaticallyReplaceAcpProvider":1}`, 400, "automaticallyReplaceAcpProvider: must be bool"},
		{"PUT", c + "/dial-in-conferencing-settings", `{"meetingMigrationEnabled":true}`, 400, "meetingMigrationEnabled: unknown field"},
		// POST migrations
		{"POST", c + "/migrations", `{}`, 400, "user: required"},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","sourceMeetingType":"Zoom"}`, 400, `sourceMeetingType: must be All, SfB or Teams, not "Zoom"`},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","targetMeetingType":"Webex"}`, 400, "targetMeetingType: must be Current or Teams"},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","quietPeriodSeconds":-5}`, 400, "quietPeriodSeconds: must be between 0 and 86400"},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","dryRun":"yes"}`, 400, "dryRun: must be bool"},
		{"POST", c + "/migrations", `{"user":"admin@contoso.com","dryRun":true,"quietPeriodSeconds":5}`, 400, "quietPeriodSeconds: a dry run starts at once"},
		{"POST", c + "/migrations", `{"user":"nobody@contoso.com"}`, 404, `user "nobody@contoso.com" not found`},
		// GET migrations and summary
		{"GET", c + "/migrations?state=Done", ``, 400, "state: must be one of"},
		{"GET", c + "/migrations?type=Magic", ``, 400, "type: must be one of"},
		{"GET", c + "/migrations?start=yesterday", ``, 400, "start: must be an RFC 3339 time"},
		{"GET", c + "/migrations?end=2026-13-01T00:00:00Z", ``, 400, "end: must be an RFC 3339 time"},
		{"GET", c + "/migrations?start=2026-11-02T00:00:00Z&end=2026-11-01T00:00:00Z", ``, 400, "start: must be before end"},
		{"GET", c + "/migrations?limit=1001", ``, 400, "limit: must be an integer between 1 and 1000"},
		{"GET", c + "/migrations?format=xml", ``, 400, "format: must be json or csv"},
		{"GET", c + "/migrations/summary?state=Nope", ``, 400, "state: must be one of"},
		{"GET", c + "/migrations/summary?start=2026-11-02T00:00:00Z&end=2026-11-02T00:00:00Z", ``, 400, "start: must be before end"},
		// GET migrations/{user}
		{"GET", c + "/migrations/admin@contoso.com?meetings=maybe", ``, 400, `meetings: must be true or false, not "maybe"`},
		{"GET", c + "/migrations/nobody@contoso.com", ``, 404, `user "nobody@contoso.com" not found`},
		{"GET", c + "/migrations/admin@contoso.com?correlationId=nope", ``, 404, `no migration "nope"`},
		// cancel and retry-failed
		{"POST", c + "/migrations/admin@contoso.com/cancel", `{"reason":` + `"` + strings.Repeat("x", 501) + `"}`, 400, "reason: at most 500 characters"},
		{"POST", c + "/migrations/admin@contoso.com/cancel", `{"why":"x"}`, 400, "why: unknown field"},
		{"POST", c + "/migrations/nobody@contoso.com/cancel", ``, 404, `user "nobody@contoso.com" not found`},
		{"POST", c + "/migrations/admin@contoso.com/retry-failed", ``, 409, "is Pending; retry when it has ended"},
		{"POST", c + "/migrations/nobody@contoso.com/retry-failed", ``, 404, "no migration for user"},
		// events
		{"POST", c + "/events", `{"type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":12}`, 400, "conferenceId: must be string"},
		{"POST", c + "/events", `{"type":"dialInEnabled","user":"admin@contoso.com"}`, 400, "tollNumber: required for dialInEnabled"},
		{"POST", c + "/events", `{"type":"teamsUpgradeGranted","user":"admin@contoso.com","mode":"Sometimes"}`, 400, "mode"},
		{"POST", c + "/events", `{"type":"bridgeNumberChanged","bridgeId":"b1","oldNumber":"+1 425-555-0100"}`, 400, "newNumber: required"},
		{"POST", c + "/events", `{"id":"` + strings.Repeat("i", 201) + `","type":"sipAddressChanged","user":"admin@contoso.com"}`, 400, "id: at most 200 characters"},
		{"POST", c + "/events", `"sipAddressChanged"`, 400, "body: must be a JSON object, not string"}, // issue 18: was "must be api.EventIn"
		{"POST", c + "/events", `{"type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"12ab"}`, 400, "conferenceId"},
		{"GET", c + "/events?limit=0", ``, 400, "limit: must be an integer between 1 and 1000"},
		// preview
		{"POST", "/v1/preview", `{"body":"x","profile":` + profile + `,"format":"pdf"}`, 400, "format: must be html, text or ical"},
		{"POST", "/v1/preview", `{"body":"x","profile":` + profile + `,"target":"Zoom"}`, 400, "target: must be Current or Teams"},
		{"POST", "/v1/preview", `{"profile":` + profile + `}`, 400, "body: required"},
		// oversized
		{"PUT", c + "/migration-configuration", `{"quietPeriodSeconds":` + strings.Repeat(" ", MaxBodyBytes) + `1}`, 400, "body: larger than 1048576 bytes"},
	} {
		code, body := call(t, tc.method, srv.URL+tc.path, admin, tc.body)
		var e struct{ Error Error }
		if code != tc.code || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("%s %s %.80s: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	if after := snapshot(t, srv.URL, db); after != before {
		t.Fatalf("bad requests changed state:\n%s\n%s", before, after)
	}
}
