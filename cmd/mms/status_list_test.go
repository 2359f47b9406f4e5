package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/devstack"
)

// TestStatusListsEveryRecord is issue 16's status parity for `mms status`
// against the real API: the list follows the next cursor to the last
// record (pages of 2 here), --limit cuts it, CSV keeps one header row
// across pages, and --dry-run adds the dry runs with a DryRun column.
func TestStatusListsEveryRecord(t *testing.T) {
	st, err := devstack.Start(context.Background(), devstack.Config{DataDir: t.TempDir(), APIAddr: freeAddr(t),
		TemporalAddr: freeAddr(t), UIAddr: "-", SeedDemo: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(context.Background())
	users, err := sandbox.SeedBulk(context.Background(), st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 5, Meetings: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { listPage = n }(listPage)
	listPage = 2
	c := cli{t: t, url: st.APIURL, token: st.AdminToken}
	for _, u := range users {
		// Waiting out an hour's quiet period: five records, nothing runs.
		c.must("start", "--user", u, "--quiet-period", "3600")
	}
	c.must("start", "--user", users[0], "--dry-run")

	var list api.MigrationList
	if err := json.Unmarshal([]byte(c.must("status", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range list.Migrations {
		seen[m.UserID] = true
		if m.DryRun {
			t.Errorf("a dry run is listed without --dry-run: %+v", m)
		}
	}
	if len(list.Migrations) != 5 || len(seen) != 5 || list.Total != 5 || list.Next != "" {
		t.Errorf("status -o json: %d records of %d users, total %d, next %q; want all 5", len(list.Migrations), len(seen), list.Total, list.Next)
	}
	r := c.run("status", "--limit", "3", "-o", "json")
	list = api.MigrationList{}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("status --limit 3: exit %d, %v", r.code, err)
	}
	if len(list.Migrations) != 3 || list.Total != 5 || list.Next == "" || !strings.Contains(r.stderr, "3 of 5 records shown") {
		t.Errorf("status --limit 3: %d records, total %d, next %q, stderr %q", len(list.Migrations), list.Total, list.Next, r.stderr)
	}
	if r := c.run("status", "--limit", "-1"); r.code != 1 {
		t.Errorf("status --limit -1: exit %d, want 1", r.code)
	}

	rows, err := csv.NewReader(strings.NewReader(c.must("status", "-o", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[0][0] != "UserId" || slices.Contains(rows[0], "DryRun") {
		t.Errorf("status -o csv: %d rows (want a header and 5), header %q", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		if row[0] == "UserId" {
			t.Errorf("a page's header row repeated in the CSV")
		}
	}
	rows, _ = csv.NewReader(strings.NewReader(c.must("status", "-o", "csv", "--limit", "3"))).ReadAll()
	if len(rows) != 4 {
		t.Errorf("status -o csv --limit 3: %d rows, want a header and 3", len(rows))
	}

	// With --dry-run: six records, the dry run marked, in every format.
	out := c.must("status", "--dry-run")
	if !regexp.MustCompile(`(?m)^USER\s+DRYRUN\s+STATE`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(users[0])+`\s+true\s`).MatchString(out) ||
		len(regexp.MustCompile(`(?m)^user\d+\S+\s+false\s`).FindAllString(out, -1)) != 5 {
		t.Errorf("status --dry-run: want a DRYRUN column, one dry run and 5 real runs:\n%s", out)
	}
	rows, _ = csv.NewReader(strings.NewReader(c.must("status", "--dry-run", "-o", "csv"))).ReadAll()
	if len(rows) != 7 || rows[0][len(rows[0])-1] != "DryRun" {
		t.Errorf("status --dry-run -o csv: %d rows, header %q; want the DryRun column and 6 records", len(rows), rows[0])
	}
	if out := c.must("status"); strings.Contains(out, "DRYRUN") || len(regexp.MustCompile(`(?m)^user\d+`).FindAllString(out, -1)) != 5 {
		t.Errorf("status: want the 5 real runs without a DRYRUN column:\n%s", out)
	}
}
