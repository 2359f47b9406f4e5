package devstack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// importDatabases is the one place the end-to-end import test picks its
// database engines: SQLite always, and PostgreSQL when MMS_TEST_POSTGRES
// names a server (a postgres:// URL of a database the test may fill; the
// store's PostgreSQL support, issue 19 item 1, reads it).
func importDatabases(t *testing.T) map[string]func(dir string) string {
	engines := map[string]func(string) string{
		"sqlite": func(dir string) string { return filepath.Join(dir, "mms.db") },
	}
	if url := os.Getenv("MMS_TEST_POSTGRES"); url != "" {
		engines["postgres"] = func(string) string { return url }
	}
	return engines
}

// A Get-CsOnlineDialInConferencingUser export, as Windows PowerShell's
// Export-Csv writes it without -NoTypeInformation: alice's conference ID
// was reset (her numbers did not change).
const aliceCSV = `#TYPE Deserialized.Microsoft.Rtc.Management.Hosted.Bvd.Types.LacUserInfo
"Identity","DisplayName","SipAddress","Provider","Domain","ConferenceId","ServiceNumber","TollFreeServiceNumber","BridgeId","BridgeName","AllowPstnOnlyMeetings","AllowTollFreeDialIn"
"Alice@Contoso.com","Alice Wong","sip:alice@contoso.com","Microsoft","contoso.com","246813579","+1 206-555-0199","+1 888-555-0123","","","False","True"
`

// TestImportedUserIsMigratedEndToEnd: a user imported from the cmdlet's CSV
// with a new ConferenceId is migrated by the running service (embedded
// Temporal, worker, API, sandbox calendars); importing the file again is a
// fixed point; deleting the tenant cancels a pending migration first and
// purges everything (issue 19, item 5).
func TestImportedUserIsMigratedEndToEnd(t *testing.T) {
	for engine, dsn := range importDatabases(t) {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			st := startStack(t, Config{DataDir: dir, Database: dsn(dir), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"})
			defer st.Stop(context.Background())
			testImportEndToEnd(t, st)
		})
	}
}

func testImportEndToEnd(t *testing.T, st *Stack) {
	ctx := context.Background()
	const alice, bob = "alice@contoso.com", "bob@contoso.com"
	ops, err := st.DB.CreateToken(ctx, "ops", "", store.RoleServiceAdmin)
	if err != nil {
		t.Fatal(err)
	}
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	if code, raw := c.do("PUT", "/v1/tenants/contoso/migration-configuration", st.AdminToken, `{"quietPeriodSeconds":0}`); code != 200 {
		t.Fatalf("quiet period: %d %s", code, raw)
	}
	importCSV := func(body string, dryRun bool) intake.ImportResult {
		t.Helper()
		path := "/v1/tenants/contoso/users:import"
		if dryRun {
			path += "?dryRun=true"
		}
		code, raw := c.do("POST", path, st.AdminToken, body)
		var res intake.ImportResult
		if code != 200 || json.Unmarshal(raw, &res) != nil {
			t.Fatalf("import: %d %s", code, raw)
		}
		return res
	}

	// A dry run says what would change and changes nothing.
	dry := importCSV(aliceCSV, true)
	if !dry.DryRun || dry.Changed != 1 || dry.Triggered != 1 || len(dry.Users) != 1 || dry.Users[0].Line != 3 ||
		len(dry.Users[0].Events) != 1 || dry.Users[0].Events[0].Type != "conferenceIdChanged" || dry.Users[0].Events[0].ID != "" {
		t.Fatalf("dry run = %+v", dry)
	}
	if evs, _ := st.DB.Events(ctx, "contoso", alice, 0); len(evs) != 0 {
		t.Fatalf("the dry run recorded %d events", len(evs))
	}

	res := importCSV(aliceCSV, false)
	if res.Changed != 1 || res.Created != 0 || res.Triggered != 1 || res.Users[0].User != alice {
		t.Fatalf("import = %+v", res)
	}
	ev := res.Users[0].Events[0]
	if !ev.Triggered || ev.CorrelationID == "" || ev.Reason != "conference ID changed" {
		t.Fatalf("event = %+v", ev)
	}
	d := c.waitFinal(alice)
	if d.State != migration.StateSucceeded || d.CorrelationID != ev.CorrelationID || d.SucceededMeeting != 4 || d.InvitesUpdate != 4 {
		t.Fatalf("record = %+v", d.StatusRecord)
	}
	meetings, err := st.Sandbox.Meetings(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}
	updated := 0
	for _, m := range meetings {
		if strings.Contains(m.Body, "246 813 579") || strings.Contains(m.Body, "246813579") {
			updated++
		}
	}
	if updated != 4 {
		t.Fatalf("%d of alice's meetings show the imported conference ID", updated)
	}
	sent, _ := st.Sandbox.Outbox(ctx, "contoso", "")

	// The same file again: nothing changes, nobody is notified.
	again := importCSV(aliceCSV, false)
	if again.Unchanged != 1 || again.Changed != 0 || again.Triggered != 0 {
		t.Fatalf("second import = %+v", again)
	}
	recs, _ := st.DB.StatusRecords(ctx, "contoso", store.Filter{})
	if len(recs) != 1 {
		t.Fatalf("%d records after the second import, want 1", len(recs))
	}
	if now, _ := st.Sandbox.Outbox(ctx, "contoso", ""); len(now) != len(sent) {
		t.Fatalf("the second import sent %d notifications", len(now)-len(sent))
	}

	// Deleting the tenant while bob's migration waits out a quiet period:
	// it is cancelled first, then everything is purged.
	if code, raw := c.do("PUT", "/v1/tenants/contoso/migration-configuration", st.AdminToken, `{"quietPeriodSeconds":600}`); code != 200 {
		t.Fatalf("quiet period: %d %s", code, raw)
	}
	bobJSON := `[{"Identity":"bob@contoso.com","ConferenceId":13579246,"ServiceNumber":"+1 206-555-0199","TollFreeServiceNumber":null,"Provider":"Microsoft"}]`
	if r := importCSV(bobJSON, false); r.Format != "cmdletJson" || r.Triggered != 1 {
		t.Fatalf("bob's import = %+v", r)
	}
	if code, raw := c.do("DELETE", "/v1/tenants/contoso", st.AdminToken, nil); code != 403 {
		t.Fatalf("a tenant admin deleted the tenant: %d %s", code, raw)
	}
	code, raw := c.do("DELETE", "/v1/tenants/contoso", ops, nil)
	var del intake.TenantDeletion
	if code != 200 || json.Unmarshal(raw, &del) != nil || del.Cancelled != 1 || del.Purged.Users == 0 || del.Purged.Sandbox == 0 {
		t.Fatalf("delete = %d %s", code, raw)
	}
	desc, err := st.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID("contoso", bob), "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("bob's workflow after the delete: %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	if code, raw := c.do("GET", "/v1/tenants/contoso/users", ops, nil); code != 404 {
		t.Fatalf("deleted tenant: %d %s", code, raw)
	}
	if left, _ := st.Sandbox.Meetings(ctx, "contoso", alice); len(left) != 0 {
		t.Fatalf("%d sandbox meetings left", len(left))
	}
	if code, raw := c.do("DELETE", "/v1/tenants/contoso", ops, nil); code != 404 {
		t.Fatalf("second delete: %d %s", code, raw)
	}
}
