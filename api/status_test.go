package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

func TestSummaryFiltersAndCSV(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "reader", "contoso", store.RoleReader)
	req := func(user string, typ migration.Type) store.Request {
		return store.Request{TenantID: "contoso", UserID: user, Trigger: "t", MigrationType: typ,
			SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-" + user}
	}
	// a: Succeeded then a newer Pending (counts as Pending); b: Failed; c: InProgress.
	m, _ := db.BeginRun(ctx, req("a@contoso.com", "ToSameType"), "ka")
	db.FinishRun(ctx, m.CorrelationID, migration.StateSucceeded, "")
	time.Sleep(2 * time.Millisecond)
	db.OpenPending(ctx, req("a@contoso.com", "ToSameType"))
	m, _ = db.BeginRun(ctx, req("b@contoso.com", "SfbToTeams"), "kb")
	db.FinishRun(ctx, m.CorrelationID, migration.StateFailed, "mailbox on premises, \"really\"")
	db.BeginRun(ctx, req("c@contoso.com", "ToSameType"), "kc")

	base := srv.URL + "/v1/tenants/contoso/migrations"
	code, body := get(t, base+"/summary", tok)
	want := `{"summary":[{"state":"Pending","userCount":1},{"state":"InProgress","userCount":1},{"state":"Failed","userCount":1},{"state":"Succeeded","userCount":0}]}`
	if code != 200 || body != want {
		t.Fatalf("summary = %d %s\nwant %s", code, body, want)
	}
	var list struct{ Migrations []store.StatusRecord }
	code, body = get(t, base+"?type=SfbToTeams", tok)
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Migrations) != 1 || list.Migrations[0].UserID != "b@contoso.com" {
		t.Fatalf("type filter = %d %s", code, body)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if code, body = get(t, base+"?start="+future, tok); code != 200 || body != `{"migrations":[],"total":0}` {
		t.Fatalf("start in the future = %d %s", code, body)
	}
	code, body = get(t, base+"?format=csv&state=Failed", tok)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 2 || rows[0][0] != "UserId" || rows[1][9] != `mailbox on premises, "really"` {
		t.Fatalf("csv = %d %q (%v)", code, body, err)
	}
	// retry-failed: only after a run with failures has ended.
	op, _ := db.CreateToken(ctx, "operator", "contoso", store.RoleOperator)
	for user, want := range map[string]string{
		"c@contoso.com":      "in_progress",
		"b@contoso.com":      "nothing_failed",
		"nobody@contoso.com": "no migration",
	} {
		if code, body := post(t, base+"/"+user+"/retry-failed", op, ""); code < 400 || !strings.Contains(body, want) {
			t.Errorf("retry-failed %s: %d %s, want %q", user, code, body, want)
		}
	}
	for q, msg := range map[string]string{
		"?type=Magic":      "type: must be one of",
		"?start=yesterday": "start: must be an RFC 3339 time",
		"?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z": "start: must be before end",
		"?format=xml": "format: must be json or csv",
	} {
		if code, body := get(t, base+q, tok); code != 400 || !strings.Contains(body, msg) {
			t.Errorf("%s: %d %s, want 400 with %q", q, code, body, msg)
		}
	}
}

// TestListingsPageDryRunsAndUPN is finding 8 of issue 16: a listing says how
// many records there are and where the next page is, leaves dry runs out
// unless asked (then with a DryRun column), and names each user's UPN.
func TestListingsPageDryRunsAndUPN(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "reader", "contoso", store.RoleReader)
	for i := range 5 {
		user := fmt.Sprintf("u%d@contoso.com", i)
		if _, err := db.OpenPending(ctx, store.Request{TenantID: "contoso", UserID: user, Trigger: "t",
			MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-" + user}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.OpenDryRun(ctx, store.Request{TenantID: "contoso", UserID: "u0@contoso.com", Trigger: "dry run",
		MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-dry"}); err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/v1/tenants/contoso/migrations"
	var seen []string
	for url := base + "?limit=2"; ; {
		code, body := get(t, url, tok)
		var page MigrationList
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil || page.Total != 5 {
			t.Fatalf("%s: %d %s", url, code, body)
		}
		for _, m := range page.Migrations {
			if m.DryRun || m.UserPrincipalName != m.UserID {
				t.Errorf("record %+v: a dry run, or no UPN", m)
			}
			seen = append(seen, m.UserID)
		}
		if page.Next == "" {
			break
		}
		url = base + "?limit=2&cursor=" + page.Next
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %v, want all 5 users once", seen)
	}
	code, body := get(t, base+"/summary", tok)
	if code != 200 || !strings.Contains(body, `{"state":"Pending","userCount":5}`) {
		t.Errorf("summary = %s: the dry run counted", body)
	}
	code, body = get(t, base+"?dryRun=true&format=csv", tok)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 7 {
		t.Fatalf("csv with dry runs: %d %v %q", code, err, body)
	}
	head := rows[0]
	if head[len(head)-2] != "UserPrincipalName" || head[len(head)-1] != "DryRun" {
		t.Fatalf("header %v", head)
	}
	dry := 0
	for _, r := range rows[1:] {
		if r[len(r)-1] == "true" {
			dry++
		}
	}
	if dry != 1 {
		t.Errorf("%d dry-run rows, want 1", dry)
	}
	if code, body := get(t, base+"?cursor=bogus", tok); code != 400 || !strings.Contains(body, "cursor") {
		t.Errorf("bad cursor: %d %s", code, body)
	}
}
