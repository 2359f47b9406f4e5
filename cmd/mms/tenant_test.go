package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// The tenant and import verbs against the real API on a real database (no
// Temporal: nothing here starts a migration).
func TestTenantAndImportVerbs(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutTenant(ctx, store.Tenant{ID: "contoso", DisplayName: "Contoso", Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer((&api.Server{DB: db, Intake: intake.New(db, nil, logger, nil), Logger: logger}).Handler())
	defer srv.Close()
	ops, _ := db.CreateToken(ctx, "ops", "", store.RoleServiceAdmin)
	c := cli{t: t, url: srv.URL, token: ops}

	if r := c.run("tenant", "create", "northwind", "--display-name", "Northwind"); r.code != 0 || !strings.Contains(r.stdout, "tenant northwind created") {
		t.Fatalf("create: %+v", r)
	}
	if r := c.run("tenant", "create", "Bad/ID"); r.code != 2 || !strings.Contains(r.stderr, "id: must be lower case") {
		t.Fatalf("create a bad ID: %+v", r)
	}
	if r := c.run("tenant", "list"); r.code != 0 || !strings.Contains(r.stdout, "northwind") || !strings.Contains(r.stdout, "contoso") {
		t.Fatalf("list: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "users.csv")
	csv := "#TYPE Deserialized.Microsoft.Rtc.Management.Hosted.Bvd.Types.LacUserInfo\n" +
		`"Identity","DisplayName","ConferenceId","ServiceNumber","TollFreeServiceNumber","BridgeName","Provider"` + "\n" +
		`"ann@contoso.com","Ann","123456","+1 425-555-0100","+1 888-555-0100;+1 877-555-0100","Bridge 1","Microsoft"` + "\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.run("user", "import", file, "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, "would import (dry run): 1 created") {
		t.Fatalf("dry run: %+v", r)
	}
	if r := c.run("user", "import", file); r.code != 0 || !strings.Contains(r.stdout, "imported: 1 created") || !strings.Contains(r.stdout, "line 3") {
		t.Fatalf("import: %+v", r)
	}
	if u, err := db.User(ctx, "contoso", "ann@contoso.com"); err != nil || !strings.Contains(string(u.Profile), `"bridgeId":"Bridge 1"`) {
		t.Fatalf("ann = %+v, %v", u, err)
	}
	if err := os.WriteFile(file, []byte(csv+`"bob@contoso.com","Bob","@1","","","","Microsoft"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.run("user", "import", file); r.code != 2 || !strings.Contains(r.stderr, "line 4: ConferenceId: begins with '@'") {
		t.Fatalf("malformed row: %+v", r)
	}
	if r := c.run("tenant", "delete", "contoso"); r.code != 0 || !strings.Contains(r.stdout, "0 migrations cancelled") || !strings.Contains(r.stdout, "purged 1 users") {
		t.Fatalf("delete: %+v", r)
	}
	if r := c.run("tenant", "delete", "contoso"); r.code != 2 || !strings.Contains(r.stderr, "404") {
		t.Fatalf("delete again: %+v", r)
	}
}
