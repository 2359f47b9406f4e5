package store

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openmms/mms/internal/store/storetest"
)

// Issue 18, finding 3: rows stored before user IDs had a canonical form
// are folded to it by migration 00010, and two spellings of one user
// become one directory row (the one changed last).
func TestMigrationFoldsUserIDs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		sqlDB, err := OpenSQL(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// PostgreSQL's lower() folds ASCII only in a C-ctype database, as
		// SQLite's does: the migration means the same on both.
		dialect := goose.DialectSQLite3
		if IsPostgres(dsn) {
			dialect = goose.DialectPostgres
		}
		p, err := goose.NewProvider(dialect, sqlDB, migrationsFS())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO tenants VALUES ('t1', 'T1', '{}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')`,
			`INSERT INTO users VALUES ('t1', 'Alice@Contoso.com', 'old', '{"a":1}', '2026-01-01T00:00:00.000000Z')`,
			`INSERT INTO users VALUES ('t1', 'alice@contoso.com', 'new', '{"a":2}', '2026-01-02T00:00:00.000000Z')`,
			`INSERT INTO users VALUES ('t1', 'BOB@contoso.com', 'bob', '{}', '2026-01-01T00:00:00.000000Z')`,
			`INSERT INTO events (tenant_id, id, user_id, type, payload, triggered, reason, received_at)
			VALUES ('t1', 'e1', 'BOB@contoso.com', 'x', '{}', 0, 'r', '2026-01-01T00:00:00.000000Z')`,
			`INSERT INTO migrations (id, tenant_id, user_id, state, migration_type, source_meeting_type,
			target_meeting_type, trigger_count, last_trigger, workflow_id, created_at, modified_at)
			VALUES ('m1', 't1', 'Alice@Contoso.com', 'Succeeded', 'AllToTeams', 'All', 'Teams', 1, 'manual', 'w',
			'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')`,
		} {
			if _, err := sqlDB.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		sqlDB.Close()

		db, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		users, err := db.Users(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, u := range users {
			got[u.ID] = u.DisplayName
		}
		if len(got) != 2 || got["alice@contoso.com"] != "new" || got["bob@contoso.com"] != "bob" {
			t.Fatalf("users after migration = %v, want alice@contoso.com (the newer row) and bob@contoso.com", got)
		}
		if rec, err := db.LatestStatusRecord(ctx, "t1", "alice@contoso.com"); err != nil || rec.CorrelationID != "m1" {
			t.Fatalf("alice's record after migration = %+v, %v", rec, err)
		}
		if evs, err := db.Events(ctx, "t1", "bob@contoso.com", 10); err != nil || len(evs) != 1 {
			t.Fatalf("bob's events after migration = %+v, %v", evs, err)
		}
	})
}

func TestPutUserStoresCanonicalIDs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db, ctx := open(t, dsn), context.Background()
		if err := db.PutUser(ctx, User{TenantID: "t1", ID: "Carol@Contoso.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.User(ctx, "t1", "carol@contoso.com"); err != nil {
			t.Fatalf("canonical lookup: %v", err)
		}
		for _, bad := range []string{"a\tb", "..", "carol"} {
			if err := db.PutUser(ctx, User{TenantID: "t1", ID: bad}); err == nil {
				t.Errorf("PutUser(%q) accepted", bad)
			}
		}
	})
}
