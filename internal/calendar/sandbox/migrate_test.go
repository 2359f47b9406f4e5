package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/store"
)

// TestOpenAdoptsAnOldDatabase builds databases as mms did when the store's
// migrations created the sandbox's tables (testdata: the store's migrations
// at f3e028c), at version 5 (tables, no sandbox_meetings_by_start) and 6
// (tables and index), with data written as that version wrote it. The
// current store and sandbox must open them, keep the data, work on it, and
// end with the same schema as a database created new.
func TestOpenAdoptsAnOldDatabase(t *testing.T) {
	ctx := context.Background()
	want := sandboxSchema(t, newDatabase(t))
	for _, version := range []int64{5, 6} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mms.db")
			oldDatabase(t, path, version)
			db, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			b, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got := sandboxSchema(t, path); got != want {
				t.Fatalf("adopted schema differs from a new database's:\n%s\nwant\n%s", got, want)
			}
			if ten, err := db.Tenant(ctx, "t"); err != nil || ten.DisplayName != "Old tenant" {
				t.Fatalf("store's tenant = %+v, %v", ten, err)
			}
			if mb, err := b.Mailbox(ctx, "t", "a@x"); err != nil || mb.DisplayName != "A" || !mb.Online {
				t.Fatalf("old mailbox = %+v, %v", mb, err)
			}
			m, err := b.GetMeeting(ctx, "t", "a@x", "old-1")
			if err != nil || m.Subject != "Old meeting" || m.ETag != "3" || m.Body != "<p>old</p>" {
				t.Fatalf("old meeting = %+v, %v", m, err)
			}
			if sent, err := b.Outbox(ctx, "t", "old-1"); err != nil || len(sent) != 1 || sent[0].Recipient != "y@x" {
				t.Fatalf("old outbox = %+v, %v", sent, err)
			}
			r, err := b.UpdateMeeting(ctx, "t", calendar.Update{Mailbox: "a@x", MeetingID: "old-1", ETag: m.ETag,
				Body: "<p>new</p>", IdempotencyKey: "run2/old-1"})
			if err != nil || r.InvitesSent != 1 || r.ETag != "4" {
				t.Fatalf("update of an old meeting = %+v, %v", r, err)
			}
			if sent, _ := b.Outbox(ctx, "t", "old-1"); len(sent) != 2 {
				t.Fatalf("outbox after the update holds %d messages, want the old one and the new one", len(sent))
			}
			// Opening again finds nothing to do.
			again, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			again.Close()
		})
	}
}

// newDatabase creates a database with the current store and sandbox.
func newDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mms.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	return path
}

// oldDatabase creates at path the database an older mms left at the
// store's schema version, with a tenant, a mailbox, a meeting updated twice
// and the notification of its last update.
func oldDatabase(t *testing.T, path string, version int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQL(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("testdata/store-migrations-f3e028c"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	ts := "2026-01-01T09:00:00.000000Z"
	for _, q := range []string{
		`INSERT INTO tenants VALUES ('t', 'Old tenant', '{}', '` + ts + `', '` + ts + `')`,
		`INSERT INTO sandbox_mailboxes VALUES ('t', 'a@x', 'A', 'online')`,
		`INSERT INTO sandbox_meetings (tenant_id, id, mailbox, organizer, subject, start_time, end_time, kind,
			attendees, body, body_type, version, last_update_key, updated_at) VALUES ('t', 'old-1', 'a@x', 'a@x',
			'Old meeting', '2030-01-01T09:00:00.000000Z', '2030-01-01T10:00:00.000000Z', 'single',
			'[{"address":"a@x"},{"address":"y@x"}]', '<p>old</p>', 'html', 3, 'run1/old-1', '` + ts + `')`,
		`INSERT INTO sandbox_outbox VALUES ('n1', 't', 'old-1', 'a@x', 'y@x', 'Updated: Old meeting', '<p>old</p>',
			'run1/old-1', '` + ts + `')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// sandboxSchema describes the sandbox's tables and indexes in the database
// at path: columns with types, constraints and defaults, and indexed columns.
func sandboxSchema(t *testing.T, path string) string {
	t.Helper()
	db, err := store.OpenSQL(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	describe := func(q string, args ...any) {
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			v := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(v))
			for i := range v {
				ptrs[i] = &v[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, s := range v {
				fmt.Fprintf(&b, "%s|", s.String)
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	describe(`SELECT m.type, m.name, m.tbl_name, c.* FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name LIKE 'sandbox%' AND m.name <> ? ORDER BY m.name, c.cid`, versionTable)
	describe(`SELECT m.type, m.name, m.tbl_name, l."unique", l.partial, i.* FROM sqlite_master m,
		pragma_index_list(m.tbl_name) l, pragma_index_info(m.name) i
		WHERE m.type = 'index' AND m.tbl_name LIKE 'sandbox%' AND l.name = m.name ORDER BY m.name, i.seqno`)
	return b.String()
}

// A sandbox whose schema cannot be migrated (here, a view stands where a
// table should be) is refused at start-up, naming the migration.
func TestInReportsAFailedMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mms.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := store.OpenSQL(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE VIEW sandbox_meetings AS SELECT 1 AS id`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if b, err := In(ctx, db); err == nil || !strings.Contains(err.Error(), "schema migration") {
		if b != nil {
			b.Close()
		}
		t.Fatalf("In on a database whose sandbox schema cannot be migrated: %v", err)
	}
}
