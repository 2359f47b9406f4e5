package devstack

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// TestEveryRouteSucceedsOnTheStack calls every route of the API on the
// embedded stack with a request that must succeed, the routes that reach
// Temporal included, and fails if a route served is not in the table: a
// new route needs its success case here. (Failure cases of every route:
// api/edges_test.go.)
func TestEveryRouteSucceedsOnTheStack(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice, carol = "alice@contoso.com", "carol@contoso.com"

	// retry-failed needs a finished migration with a failed meeting.
	rec, err := st.DB.BeginRun(ctx, store.Request{TenantID: "contoso", UserID: alice, Trigger: "test",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current",
		WorkflowID: "mms-migration/contoso/" + alice}, "route-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.RecordResults(ctx, rec.CorrelationID, []store.MeetingResult{{MeetingID: "gone", Subject: "Gone",
		Start: time.Now().Add(time.Hour), Outcome: migration.OutcomeFailed, Reason: "test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.FinishRun(ctx, rec.CorrelationID, migration.StateFailed, "1 of 1 meetings failed"); err != nil {
		t.Fatal(err)
	}

	profile := map[string]any{"meetingType": "Teams", "conferenceId": "4455667", "tollNumber": "+1 425-555-0142"}
	const m = "/v1/tenants/contoso"
	// Tenants are created and deleted by a service-admin token only.
	serviceAdmin, err := st.DB.CreateToken(ctx, "ops", "", store.RoleServiceAdmin)
	if err != nil {
		t.Fatal(err)
	}
	directory := `"Identity","DisplayName","ConferenceId","ServiceNumber","TollFreeServiceNumber","BridgeId","Provider"` + "\n" +
		`"erin@contoso.com","Erin","5566778","","","","Microsoft"` + "\n"
	covered := map[string]bool{}
	for _, tc := range []struct {
		method, route, path string
		body                any
		code                int
		want                string
		token               string // "" is the admin token
	}{
		{"POST", "/v1/tenants", "/v1/tenants", map[string]any{"id": "northwind", "displayName": "Northwind"}, 201, `"northwind"`, serviceAdmin},
		{"DELETE", "/v1/tenants/:tenant", "/v1/tenants/northwind", nil, 200, `"cancelled":0`, serviceAdmin},
		{"POST", "/v1/tenants/:tenant/users\\:import", m + "/users:import", directory, 200, `"created":1`, ""},
		{"GET", "/healthz", "/healthz", nil, 200, "ok", ""},
		{"GET", "/readyz", "/readyz", nil, 200, `"temporal":"ok"`, ""},
		{"GET", "/openapi.json", "/openapi.json", nil, 200, `"openapi":"3.0.3"`, ""},
		{"GET", "/openapi.yaml", "/openapi.yaml", nil, 200, "openapi: 3.0.3", ""},
		{"GET", "/metrics", "/metrics", nil, 200, "mms_migrations_pending", ""},
		{"POST", "/v1/preview", "/v1/preview", map[string]any{"body": "Agenda only", "format": "text", "profile": profile}, 200, "not-replaced", ""},
		{"GET", "/v1/tenants", "/v1/tenants", nil, 200, "contoso", ""},
		{"GET", "/v1/tenants/:tenant/users", m + "/users", nil, 200, alice, ""},
		{"PUT", "/v1/tenants/:tenant/users/:user", m + "/users/dan@contoso.com", map[string]any{"displayName": "Dan", "profile": profile}, 201, `"created":true`, ""},
		{"GET", "/v1/tenants/:tenant/migration-configuration", m + "/migration-configuration", nil, 200, `"participantLimit":250`, ""},
		{"PUT", "/v1/tenants/:tenant/migration-configuration", m + "/migration-configuration", map[string]any{"quietPeriodSeconds": 3600}, 200, `"quietPeriodSeconds":3600`, ""},
		{"GET", "/v1/tenants/:tenant/dial-in-conferencing-settings", m + "/dial-in-conferencing-settings", nil, 200, "automaticallyMigrateUserMeetings", ""},
		{"PUT", "/v1/tenants/:tenant/dial-in-conferencing-settings", m + "/dial-in-conferencing-settings", map[string]any{"automaticallyReplaceAcpProvider": true}, 200, `"automaticallyReplaceAcpProvider":true`, ""},
		{"POST", "/v1/tenants/:tenant/migrations", m + "/migrations", map[string]any{"user": carol, "quietPeriodSeconds": 3600}, 202, `"state":"Pending"`, ""},
		{"GET", "/v1/tenants/:tenant/migrations", m + "/migrations?state=Pending&format=csv", nil, 200, carol + ",Pending", ""},
		{"GET", "/v1/tenants/:tenant/migrations/summary", m + "/migrations/summary", nil, 200, `{"state":"Pending","userCount":1}`, ""},
		{"GET", "/v1/tenants/:tenant/migrations/:user", m + "/migrations/" + carol + "?meetings=false", nil, 200, `"meetings":[]`, ""},
		{"POST", "/v1/tenants/:tenant/migrations/:user/cancel", m + "/migrations/" + carol + "/cancel", map[string]any{"reason": "route test"}, 202, "cancel requested", ""},
		{"POST", "/v1/tenants/:tenant/migrations/:user/retry-failed", m + "/migrations/" + alice + "/retry-failed", nil, 202, "retry failed of " + rec.CorrelationID, ""},
		{"POST", "/v1/tenants/:tenant/events", m + "/events", map[string]any{"id": "route-1", "type": "conferenceIdChanged", "user": "dan@contoso.com", "conferenceId": "7788990"}, 202, `"triggered":true`, ""},
		{"GET", "/v1/tenants/:tenant/events", m + "/events?user=dan@contoso.com", nil, 200, "route-1", ""},
	} {
		tok := tc.token
		if tok == "" {
			tok = st.AdminToken
		}
		code, raw := c.do(tc.method, tc.path, tok, tc.body)
		if code != tc.code || !strings.Contains(string(raw), tc.want) {
			t.Errorf("%s %s: %d %.300s, want %d with %q", tc.method, tc.path, code, raw, tc.code, tc.want)
		}
		covered[tc.method+" "+tc.route] = true
	}
	engine := (&api.Server{Logger: slog.New(slog.DiscardHandler)}).Handler().(*gin.Engine)
	var missing []string
	for _, r := range engine.Routes() {
		if !covered[r.Method+" "+r.Path] {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("routes without a success case on the stack: %v", missing)
	}
	// The cancelled and the retried migrations end as they should.
	if d := c.waitRecord(carol, "", time.Minute); d.State != migration.StateFailed || !regexp.MustCompile(`cancelled by`).MatchString(d.LastMessage) {
		t.Errorf("cancelled migration: %+v", d.StatusRecord)
	}
	if d := c.waitRecord(alice, "", time.Minute); d.State != migration.StateSucceeded || d.CorrelationID == rec.CorrelationID {
		t.Errorf("retry of the failed meeting: %+v", d.StatusRecord)
	}
}
