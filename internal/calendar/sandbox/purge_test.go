package sandbox

import (
	"context"
	"slices"
	"testing"

	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// store.SandboxTables must name every sandbox table keyed by tenant, or
// deleting a tenant would leave its calendars behind.
func TestStoreKnowsEveryTenantTable(t *testing.T) {
	storetest.Run(t, testStoreKnowsEveryTenantTable)
}

func testStoreKnowsEveryTenantTable(t *testing.T, dsn string) {
	be, _ := newBackend(t, dsn)
	q := `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c
		 WHERE m.type = 'table' AND m.name LIKE 'sandbox\_%' ESCAPE '\' AND c.name = 'tenant_id' ORDER BY m.name`
	if store.IsPostgres(dsn) {
		q = `SELECT table_name FROM information_schema.columns
		 WHERE table_schema = current_schema() AND table_name LIKE 'sandbox\_%' ESCAPE '\' AND column_name = 'tenant_id'
		 ORDER BY table_name`
	}
	rows, err := be.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	want := slices.Sorted(slices.Values(store.SandboxTables))
	if !slices.Equal(tables, want) {
		t.Fatalf("sandbox tables with tenant_id: %v; store.SandboxTables: %v", tables, want)
	}
}
