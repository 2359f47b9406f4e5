package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// recordHistory, when set, writes the first migration's workflow history as
// JSON for the replay test in workflows/ (run with -record-history=PATH when
// the workflow changes in a compatible way, and keep the old files).
var recordHistory = flag.String("record-history", "", "write alice's workflow history (JSON) to this file")

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startStack(t *testing.T, cfg Config) *Stack {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.SeedDemo = true
	st, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type client_ struct {
	t     testing.TB
	base  string
	token string
}

func (c client_) do(method, path, token string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (c client_) waitFinal(user string) api.MigrationDetail {
	return c.waitRecord(user, "", time.Minute)
}

// waitRecord polls a user's latest record (or one by correlation ID) until it is final.
func (c client_) waitRecord(user, correlationID string, within time.Duration) api.MigrationDetail {
	c.t.Helper()
	deadline := time.Now().Add(within)
	path := "/v1/tenants/contoso/migrations/" + user
	if correlationID != "" {
		path += "?correlationId=" + correlationID
	}
	for {
		code, raw := c.do("GET", path, c.token, nil)
		var d api.MigrationDetail
		if code == 200 {
			if err := json.Unmarshal(raw, &d); err != nil {
				c.t.Fatal(err)
			}
			if d.State == migration.StateSucceeded || d.State == migration.StateFailed {
				return d
			}
		}
		if code == 404 && correlationID != "" {
			// A trigger served by the run before it (issue 18: no empty
			// follow-up run) has its Pending record folded into that run's
			// record, which then says so: that record is the answer.
			if d, ok := c.servedBy(user); ok {
				return d
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("migration of %s not final after %s: %d %s", user, within, code, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servedBy is the user's latest record if it is final and served later
// triggers (its LastMessage says "served by this run").
func (c client_) servedBy(user string) (api.MigrationDetail, bool) {
	c.t.Helper()
	code, raw := c.do("GET", "/v1/tenants/contoso/migrations/"+user, c.token, nil)
	var d api.MigrationDetail
	if code != 200 || json.Unmarshal(raw, &d) != nil {
		return d, false
	}
	final := d.State == migration.StateSucceeded || d.State == migration.StateFailed
	return d, final && strings.Contains(d.LastMessage, "served by this run")
}

// checkOutcomes checks each named meeting's outcome and reason (a prefix of
// "<outcome> <reason>").
func checkOutcomes(t *testing.T, d api.MigrationDetail, want map[string]string) {
	t.Helper()
	outcomes := map[string]string{}
	for _, m := range d.Meetings {
		outcomes[m.Subject] = string(m.Outcome) + " " + m.Reason
	}
	for subject, w := range want {
		if !strings.HasPrefix(outcomes[subject], w) {
			t.Errorf("%s: outcome %q, want %q", subject, outcomes[subject], w)
		}
	}
}

// TestEndToEnd migrates a seeded user through the HTTP API on the embedded
// stack and checks every meeting, byte for byte, then restarts the stack.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: freeAddr(t)}
	st := startStack(t, cfg)
	stopped := false
	defer func() {
		if !stopped {
			st.Stop(context.Background())
		}
	}()
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"

	if code, raw := c.do("GET", "/readyz", "", nil); code != 200 {
		t.Fatalf("readyz = %d %s", code, raw)
	}
	resp, err := http.Get(st.UIURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(bytes.ToLower(page), []byte("<html")) {
		t.Fatalf("Temporal UI = %d, %.80q", resp.StatusCode, page)
	}

	// Bad input changes nothing and starts nothing.
	for _, tc := range []struct {
		name, token, path string
		body              any
		code              int
		want              string
	}{
		{"no token", "", "/v1/tenants/contoso/migrations", `{"user":"alice@contoso.com"}`, 401, "bearer token"},
		{"wrong token", "mms_wrong-token-0123456789", "/v1/tenants/contoso/migrations", `{"user":"alice@contoso.com"}`, 401, "invalid"},
		{"malformed", st.AdminToken, "/v1/tenants/contoso/migrations", `{"user":`, 400, "malformed"},
		{"missing user", st.AdminToken, "/v1/tenants/contoso/migrations", `{}`, 400, "user: required"},
		{"wrong type", st.AdminToken, "/v1/tenants/contoso/migrations", `{"user":5}`, 400, "user: must be string"},
		{"unknown field", st.AdminToken, "/v1/tenants/contoso/migrations", `{"user":"a","colour":"red"}`, 400, "colour: unknown field"},
		{"bad enum", st.AdminToken, "/v1/tenants/contoso/migrations", `{"user":"alice@contoso.com","targetMeetingType":"Zoom"}`, 400, "targetMeetingType"},
		{"unknown user", st.AdminToken, "/v1/tenants/contoso/migrations", `{"user":"nobody@contoso.com"}`, 404, "nobody@contoso.com"},
		{"unknown tenant", st.AdminToken, "/v1/tenants/fabrikam/migrations", `{"user":"alice@contoso.com"}`, 404, "fabrikam"},
	} {
		code, raw := c.do("POST", tc.path, tc.token, tc.body)
		var e struct{ Error api.Error }
		if code != tc.code || json.Unmarshal(raw, &e) != nil || !strings.Contains(e.Error.Message, tc.want) || e.Error.Code == "" {
			t.Errorf("%s: %d %s, want %d with a message containing %q", tc.name, code, raw, tc.code, tc.want)
		}
	}
	if recs, _ := st.DB.StatusRecords(ctx, "contoso", store.Filter{}); len(recs) != 0 {
		t.Fatalf("bad requests created records: %+v", recs)
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken,
		`{"user":"alice@contoso.com","dryRun":true,"quietPeriodSeconds":5}`); code != 400 || !strings.Contains(string(raw), "dry run starts at once") {
		t.Fatalf("dry run with a quiet period: %d %s", code, raw)
	}

	before, err := st.Sandbox.Meetings(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}

	// A dry run first: every outcome and diff, nothing written or sent, and
	// no trace in the user's real status.
	code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice, "dryRun": true})
	var dry store.StatusRecord
	if code != 202 || json.Unmarshal(raw, &dry) != nil || !dry.DryRun {
		t.Fatalf("dry run = %d %s", code, raw)
	}
	dd := c.waitRecord(alice, dry.CorrelationID, time.Minute)
	wouldUpdate := 0
	for _, m := range dd.Meetings {
		if m.Outcome == migration.OutcomeWouldUpdate {
			wouldUpdate++
			if !strings.Contains(m.Diff, "+") || !strings.Contains(m.Diff, "206-555-0199") {
				t.Errorf("%q: dry-run diff does not show the new number:\n%s", m.Subject, m.Diff)
			}
		}
	}
	if dd.State != migration.StateSucceeded || wouldUpdate != 4 || dd.SkippedMeeting != 3 || dd.InvitesUpdate != 0 {
		t.Fatalf("dry run record = %+v (%d would update)", dd.StatusRecord, wouldUpdate)
	}
	unchanged, _ := st.Sandbox.Meetings(ctx, "contoso", alice)
	for i := range before {
		if unchanged[i].Body != before[i].Body || unchanged[i].ETag != before[i].ETag {
			t.Errorf("dry run changed %q", before[i].Subject)
		}
	}
	if sent, _ := st.Sandbox.Outbox(ctx, "contoso", ""); len(sent) != 0 {
		t.Fatalf("dry run sent %d notifications", len(sent))
	}
	if code, raw := c.do("GET", "/v1/tenants/contoso/migrations/"+alice, st.AdminToken, nil); code != 404 {
		t.Fatalf("a dry run shows as the user's migration: %d %s", code, raw)
	}
	if code, raw := c.do("GET", "/v1/tenants/contoso/migrations/"+alice+"?correlationId=nope", st.AdminToken, nil); code != 404 {
		t.Fatalf("unknown correlation ID: %d %s", code, raw)
	}
	code, raw = c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice})
	if code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitFinal(alice)
	if d.State != migration.StateSucceeded || d.TotalMeeting != 4 || d.SucceededMeeting != 4 || d.FailedMeeting != 0 ||
		d.SkippedMeeting != 3 || d.InvitesUpdate != 4 || d.MigrationType != "ToSameType" {
		t.Fatalf("record = %+v", d.StatusRecord)
	}

	after, err := st.Sandbox.Meetings(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	updated := 0
	for i, old := range before {
		nu := after[i]
		selected := old.IsOrganizer && old.OnlineMeeting != nil && old.Participants() <= 250 &&
			(old.Kind == calendar.KindSeriesMaster || old.Start.After(now))
		if !selected {
			if nu.Body != old.Body || nu.ETag != old.ETag {
				t.Errorf("%q (not selected) was changed", old.Subject)
			}
			continue
		}
		updated++
		format := meetingblock.FormatHTML
		if old.BodyType == calendar.BodyText {
			format = meetingblock.FormatText
		}
		ob, err := meetingblock.Find(old.Body, format)
		if err != nil {
			t.Fatalf("%q: old block: %v", old.Subject, err)
		}
		nb, err := meetingblock.Find(nu.Body, format)
		if err != nil {
			t.Fatalf("%q: new block: %v", old.Subject, err)
		}
		if old.Body[:ob.Start] != nu.Body[:nb.Start] || old.Body[ob.End:] != nu.Body[nb.End:] {
			t.Errorf("%q: bytes outside the block changed", old.Subject)
		}
		block := nu.Body[nb.Start:nb.End]
		if !strings.Contains(block, "987654321") || strings.Contains(block, "111222333") ||
			!strings.Contains(block, "206-555-0199") || nb.JoinURL != ob.JoinURL {
			t.Errorf("%q: new block does not show the new dial-in with the meeting's own link:\n%s", old.Subject, block)
		}
		sent, err := st.Sandbox.Outbox(ctx, "contoso", old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) != len(old.Attendees) {
			t.Errorf("%q: %d notifications, want one per attendee (%d)", old.Subject, len(sent), len(old.Attendees))
		}
	}
	if updated != 4 {
		t.Fatalf("%d meetings selected by the test's own rule, want 4", updated)
	}
	checkOutcomes(t, d, map[string]string{
		"All hands":          "Skipped 301 participants",
		"Lunch & learn":      "Skipped not created as an online meeting",
		"Architecture board": "Skipped not organizer",
		"Weekly sync":        "Updated",
	})

	if *recordHistory != "" {
		writeHistory(t, st, workflows.WorkflowID("contoso", alice), *recordHistory)
	}

	// A second run finds every block up to date and sends nothing.
	allSent, _ := st.Sandbox.Outbox(ctx, "contoso", "")
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("second start = %d %s", code, raw)
	}
	d2 := c.waitFinal(alice)
	for d2.CorrelationID == d.CorrelationID {
		time.Sleep(50 * time.Millisecond)
		d2 = c.waitFinal(alice)
	}
	if d2.State != migration.StateSucceeded || d2.SucceededMeeting != 4 || d2.InvitesUpdate != 0 {
		t.Fatalf("re-run = %+v", d2.StatusRecord)
	}
	if again, _ := st.Sandbox.Outbox(ctx, "contoso", ""); len(again) != len(allSent) {
		t.Fatalf("re-run sent %d more notifications", len(again)-len(allSent))
	}

	// A Skype for Business user moved online: the same kind of block, his new
	// meeting URL and dial-in.
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": "bob@contoso.com"}); code != 202 {
		t.Fatalf("start bob = %d %s", code, raw)
	}
	if db := c.waitFinal("bob@contoso.com"); db.State != migration.StateSucceeded || db.SucceededMeeting != 2 {
		t.Fatalf("bob = %+v", db.StatusRecord)
	}
	bobs, _ := st.Sandbox.Meetings(ctx, "contoso", "bob@contoso.com")
	for _, m := range bobs {
		format := meetingblock.FormatHTML
		if m.BodyType == calendar.BodyText {
			format = meetingblock.FormatText
		}
		blk, err := meetingblock.Find(m.Body, format)
		if err != nil || blk.Kind != meetingblock.KindSfB || blk.JoinURL != "https://meet.lync.com/contoso/bob/Z3JT9W5M" ||
			blk.ConferenceID != "88213047" {
			t.Errorf("bob's %q: block %+v, %v", m.Subject, blk, err)
		}
	}

	// Cancel: a migration waiting out its quiet period is stopped and
	// recorded as cancelled; with nothing running, cancel is a conflict.
	const dave = "user-cancel@contoso.com"
	if err := st.DB.PutUser(ctx, store.User{TenantID: "contoso", ID: dave, DisplayName: "Cancel Me",
		Profile: json.RawMessage(`{"meetingType":"Teams","provider":"Microsoft"}`)}); err != nil {
		t.Fatal(err)
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken,
		map[string]any{"user": dave, "quietPeriodSeconds": 3600}); code != 202 {
		t.Fatalf("start with a quiet period = %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations/"+dave+"/cancel", st.AdminToken,
		map[string]any{"reason": "wrong user"}); code != 202 {
		t.Fatalf("cancel = %d %s", code, raw)
	}
	if dc := c.waitFinal(dave); dc.State != migration.StateFailed || dc.LastMessage != "cancelled by dev-admin (wrong user)" {
		t.Fatalf("cancelled record = %+v", dc.StatusRecord)
	}
	for {
		code, raw := c.do("POST", "/v1/tenants/contoso/migrations/"+dave+"/cancel", st.AdminToken, nil)
		if code == 409 {
			break
		}
		if code != 202 { // the workflow may take a moment to complete
			t.Fatalf("second cancel = %d %s", code, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An on-premises mailbox fails with a clear reason.
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": "carol@contoso.com"}); code != 202 {
		t.Fatalf("start carol = %d %s", code, raw)
	}
	if dc := c.waitFinal("carol@contoso.com"); dc.State != migration.StateFailed || !strings.Contains(dc.LastMessage, "on premises") {
		t.Fatalf("carol = %+v", dc.StatusRecord)
	}

	// A change event: Alice's conference ID is reset upstream. The profile
	// changes, the tenant's quiet period passes, her meetings follow.
	ten, _ := st.DB.Tenant(ctx, "contoso")
	ten.Settings.QuietPeriodSeconds = 1
	if err := st.DB.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	event := map[string]any{"id": "prov-42", "type": "conferenceIdReset", "user": alice, "conferenceId": "424242424"}
	code, raw = c.do("POST", "/v1/tenants/contoso/events", st.AdminToken, event)
	var evRes struct{ Results []store.Event }
	if code != 202 || json.Unmarshal(raw, &evRes) != nil || len(evRes.Results) != 1 || !evRes.Results[0].Triggered ||
		evRes.Results[0].CorrelationID == "" {
		t.Fatalf("event = %d %s", code, raw)
	}
	corr := evRes.Results[0].CorrelationID
	var de api.MigrationDetail
	for de = c.waitFinal(alice); de.CorrelationID != corr; de = c.waitFinal(alice) {
		time.Sleep(50 * time.Millisecond)
	}
	if de.State != migration.StateSucceeded || de.SucceededMeeting != 4 || de.InvitesUpdate != 4 ||
		!strings.HasPrefix(de.LastTrigger, "event conferenceIdReset") {
		t.Fatalf("after the event: %+v", de.StatusRecord)
	}
	ms, _ := st.Sandbox.Meetings(ctx, "contoso", alice)
	for _, m := range ms {
		if m.IsOrganizer && m.Subject == "Quarterly review — Q1 📈 (日本語 / العربية)" && !strings.Contains(m.Body, "424 242 424") &&
			!strings.Contains(m.Body, "424242424") {
			t.Errorf("%q does not show the reset conference ID", m.Subject)
		}
	}
	// The upstream system retries the same event: same answer, no new run.
	code, raw = c.do("POST", "/v1/tenants/contoso/events", st.AdminToken, event)
	if code != 202 || !strings.Contains(string(raw), corr) {
		t.Fatalf("retried event = %d %s", code, raw)
	}
	if recs, _ := st.DB.StatusRecords(ctx, "contoso", store.Filter{UserID: alice}); recs[0].CorrelationID != corr {
		t.Fatalf("a retried event started another migration: %+v", recs[0])
	}

	// Setting Bob's profile directly: a new conference ID migrates his meetings.
	bobProfile := map[string]any{"meetingType": "SfB", "provider": "Microsoft", "joinUrl": "https://meet.lync.com/contoso/bob/Z3JT9W5M",
		"conferenceId": "77700077", "tollNumber": "+1 206-555-0177", "dialInUrl": "https://dialin.lync.com/contoso"}
	code, raw = c.do("PUT", "/v1/tenants/contoso/users/bob@contoso.com", st.AdminToken, map[string]any{"profile": bobProfile})
	var put struct {
		Triggered     bool
		CorrelationID string
	}
	if code != 200 || json.Unmarshal(raw, &put) != nil || !put.Triggered || put.CorrelationID == "" {
		t.Fatalf("put bob = %d %s", code, raw)
	}
	var db2 api.MigrationDetail
	for db2 = c.waitFinal("bob@contoso.com"); db2.CorrelationID != put.CorrelationID; db2 = c.waitFinal("bob@contoso.com") {
		time.Sleep(50 * time.Millisecond)
	}
	if db2.State != migration.StateSucceeded || db2.SucceededMeeting != 2 || db2.InvitesUpdate != 2 {
		t.Fatalf("bob after PUT = %+v", db2.StatusRecord)
	}

	// Converting Bob's Skype meetings to Teams: each gets a Teams meeting of
	// its own (created once), a Teams block, and Teams metadata.
	code, raw = c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken,
		map[string]any{"user": "bob@contoso.com", "sourceMeetingType": "SfB", "targetMeetingType": "Teams"})
	var conv store.StatusRecord
	if code != 202 || json.Unmarshal(raw, &conv) != nil {
		t.Fatalf("convert bob = %d %s", code, raw)
	}
	var dconv api.MigrationDetail
	for dconv = c.waitFinal("bob@contoso.com"); dconv.CorrelationID != conv.CorrelationID; dconv = c.waitFinal("bob@contoso.com") {
		time.Sleep(50 * time.Millisecond)
	}
	if dconv.State != migration.StateSucceeded || dconv.SucceededMeeting != 2 || dconv.MigrationType != "SfbToTeams" {
		t.Fatalf("conversion = %+v %+v", dconv.StatusRecord, dconv.Meetings)
	}
	converted, _ := st.Sandbox.Meetings(ctx, "contoso", "bob@contoso.com")
	for _, m := range converted {
		format := meetingblock.FormatHTML
		if m.BodyType == calendar.BodyText {
			format = meetingblock.FormatText
		}
		blk, err := meetingblock.Find(m.Body, format)
		if err != nil || blk.Kind != meetingblock.KindTeams || !strings.HasPrefix(blk.JoinURL, "https://teams.microsoft.com/meet/") ||
			m.OnlineMeeting == nil || m.OnlineMeeting.Provider != calendar.ProviderTeams || m.OnlineMeeting.JoinURL != blk.JoinURL {
			t.Errorf("bob's %q after conversion: block %+v (%v), metadata %+v", m.Subject, blk, err, m.OnlineMeeting)
		}
	}

	// Restart on the same data directory: the records and the workflow history survive.
	st.Stop(ctx)
	stopped = true
	st2 := startStack(t, cfg)
	defer st2.Stop(ctx)
	c2 := client_{t: t, base: st2.APIURL, token: st2.AdminToken}
	if st2.AdminToken != st.AdminToken {
		t.Fatal("admin token changed across a restart")
	}
	if d3 := c2.waitFinal(alice); d3.CorrelationID != corr || d3.State != migration.StateSucceeded {
		t.Fatalf("after restart = %+v", d3.StatusRecord)
	}
	desc, err := st2.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID("contoso", alice), "")
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus().String() != "Completed" {
		t.Fatalf("workflow after restart: %v", desc.GetWorkflowExecutionInfo().GetStatus())
	}
	if seeded, _ := sandbox.SeedDemo(ctx, st2.DB, time.Now()); seeded {
		t.Fatal("demo seeded twice")
	}
}

func writeHistory(t *testing.T, st *Stack, workflowID, path string) {
	t.Helper()
	var h historypb.History
	it := st.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d events to %s", len(h.Events), path)
}

// TestStartErrors: a port in use or an unwritable data directory is one clear error.
func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = Start(context.Background(), Config{DataDir: t.TempDir(), APIAddr: busy.Addr().String(),
		TemporalAddr: freeAddr(t), UIAddr: "-"})
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("API port in use: %v", err)
	}
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Config{DataDir: file + "/data", APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"})
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Fatalf("unwritable data dir: %v", err)
	}
}

// TestTenThousandMeetings migrates one organizer with 10,000 future
// meetings on the embedded stack. Pages of 19 make 527 pages, so the run
// continues as new after 500 and finishes in the next execution.
func TestTenThousandMeetings(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Service: service.Config{PageSize: 19}}
	st := startStack(t, cfg)
	defer st.Stop(context.Background())
	ctx := context.Background()
	users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 1, Meetings: 10000}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	user := users[0]
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	// 10,000 meetings of one organizer notify more people than Exchange
	// Online lets one mailbox reach in a day, which mms budgets by default
	// (the run would wait for tomorrow): this test measures the run, so the
	// tenant lifts its limit.
	if code, raw := c.do("PUT", "/v1/tenants/contoso/migration-configuration", st.AdminToken,
		map[string]any{"organizerRecipientsPerDay": 10_000_000}); code != 200 {
		t.Fatalf("lift the daily recipient limit = %d %s", code, raw)
	}
	start := time.Now()
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": user}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitRecord(user, "", 10*time.Minute)
	t.Logf("10,000 meetings in %s", time.Since(start).Round(time.Second))
	if d.State != migration.StateSucceeded || d.TotalMeeting != 10000 || d.SucceededMeeting != 10000 || d.InvitesUpdate != 10000 ||
		len(d.Meetings) != 10000 {
		t.Fatalf("record = %+v (%d results)", d.StatusRecord, len(d.Meetings))
	}
	ms, err := st.Sandbox.Meetings(ctx, "contoso", user)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ETag != "2" { // seeded at version 1: exactly one write
			t.Fatalf("%s was written %s times", m.ID, m.ETag)
		}
	}
	sent, _ := st.Sandbox.Outbox(ctx, "contoso", "")
	pairs := map[string]bool{}
	for _, n := range sent {
		pairs[n.MeetingID+"|"+n.Recipient] = true
	}
	if len(sent) != 20000 || len(pairs) != 20000 {
		t.Fatalf("%d notifications, %d distinct (meeting, attendee) pairs; want 20,000 of each", len(sent), len(pairs))
	}
	// The run outgrew one execution's page budget: the first run continued as new.
	wfID := workflows.WorkflowID("contoso", user)
	desc, err := st.Client.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if first := desc.GetWorkflowExecutionInfo().GetFirstRunId(); first == desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() {
		t.Fatal("the run did not continue as new")
	}
}
