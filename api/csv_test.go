package api

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// The probe's formula payloads (issue 18, finding 4), as user IDs the
// grammar admits and as messages (which carry third-party text).
var formulaPayloads = []string{"=1+2", "+1", "-1", "@SUM(A1)", "|calc", `=HYPERLINK("http://evil.example","x")`,
	"\tx", "\rx", "\x1b[2J"}

func TestSafeCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "+": "'+", "-": "'-", "@": "'@", "\tx": "'\tx",
		"\rx": "'\rx", "|calc": "|calc", "alice@contoso.com": "alice@contoso.com", "": "", "'=1": "'=1", "12": "12",
		"\x1b[2J": `\x1b[2J`, "a\x00b\x7f\u009b": `a\x00b\x7f\u009b`, "-\x1b": `'-\x1b`, "a\tb\r\nc": "a\tb\r\nc"} {
		if got := SafeCSVCell(in); got != want {
			t.Errorf("SafeCSVCell(%q) = %q, want %q", in, got, want)
		}
		if got := SafeCSVCell(SafeCSVCell(in)); got != want {
			t.Errorf("SafeCSVCell twice (%q) = %q, want %q", in, got, want)
		}
	}
}

// ?format=csv: no cell begins with a character a spreadsheet runs.
func TestCSVListingIsNeutralised(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tok, _ := db.CreateToken(ctx, "r", "", store.RoleReader)
	for _, p := range formulaPayloads {
		rec, err := db.OpenPending(ctx, store.Request{TenantID: "contoso", UserID: strings.TrimSpace(p) + "@contoso.com",
			Trigger: p, MigrationType: migration.TypeOf(migration.SourceAll, migration.TargetCurrent),
			SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf-" + p})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.FailPending(ctx, rec.CorrelationID, p); err != nil {
			t.Fatal(err)
		}
	}
	code, body := get(t, srv.URL+"/v1/tenants/contoso/migrations?format=csv", tok)
	if code != 200 {
		t.Fatalf("csv: %d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(formulaPayloads)+1 {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(formulaPayloads)+1, body)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q is not neutralised (row %q)", cell, row)
			}
		}
	}
	if !strings.Contains(body, `'=HYPERLINK(""http://evil.example"",""x"")`) {
		t.Errorf("the HYPERLINK message is not kept, quoted:\n%s", body)
	}
}
