package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
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
