package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/openmms/mms/internal/migration"
)

// ErrExists is returned when a row to create is already there.
var ErrExists = fmt.Errorf("already exists")

// CreateTenant stores a new tenant; ErrExists if its ID is taken. (PutTenant,
// which seeds use, creates or updates.)
func (s *DB) CreateTenant(ctx context.Context, t Tenant) error {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return err
	}
	now := FormatTime(s.now())
	r, err := s.sql.ExecContext(ctx, `INSERT INTO tenants (id, display_name, settings, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, t.ID, t.DisplayName, string(settings), now, now)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("tenant %q: %w", t.ID, ErrExists)
	}
	return nil
}

// OpenRecords lists the tenant's Pending and InProgress records, dry runs
// included: the migrations that deleting the tenant cancels.
func (s *DB) OpenRecords(ctx context.Context, tenantID string) ([]StatusRecord, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE tenant_id = ? AND state IN (?, ?) ORDER BY user_id, created_at`,
		tenantID, migration.StatePending, migration.StateInProgress)
	return scanRecords(rows, err)
}

// SandboxTables are the sandbox calendar back end's tables keyed by
// tenant_id (internal/calendar/sandbox owns them; its tests check this list
// against its schema). They live in the service database when the sandbox
// is in use, so a tenant's purge removes its sandbox calendars in the same
// transaction; the store cannot import the sandbox (the sandbox imports the
// store), hence the list here.
var SandboxTables = []string{"sandbox_online_meetings", "sandbox_outbox", "sandbox_meetings", "sandbox_mailboxes"}

// TenantPurge counts the rows a tenant's purge deleted, by kind.
type TenantPurge struct {
	Users      int `json:"users"`
	Migrations int `json:"migrations"`
	Results    int `json:"meetingResults"`
	Events     int `json:"events"`
	Tokens     int `json:"tokens"`
	Sandbox    int `json:"sandboxRows"`
}

// DeleteTenant deletes the tenant and everything kept for it (meeting
// results, migration records, events, users, the tokens bound to it, its
// sandbox calendars, its settings) in one transaction: a failure leaves it
// whole. ErrNotFound if there is no such tenant. Stopping its workflows is
// the caller's job, before (internal/intake.DeleteTenant).
func (s *DB) DeleteTenant(ctx context.Context, id string) (TenantPurge, error) {
	// Which sandbox tables exist is asked before the transaction: a failed
	// statement inside it would abort a PostgreSQL transaction.
	var sandbox []string
	for _, t := range SandboxTables {
		if rows, err := s.sql.QueryContext(ctx, `SELECT 1 FROM `+t+` WHERE 1 = 0`); err == nil {
			rows.Close()
			sandbox = append(sandbox, t)
		}
	}
	var p TenantPurge
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		del := func(n *int, query string) error {
			r, err := tx.ExecContext(ctx, query, id)
			if err != nil {
				return err
			}
			k, err := r.RowsAffected()
			*n += int(k)
			return err
		}
		// Children before parents: the schema's foreign keys are enforced.
		steps := []struct {
			n     *int
			query string
		}{
			{&p.Results, `DELETE FROM meeting_results WHERE migration_id IN (SELECT id FROM migrations WHERE tenant_id = ?)`},
			{&p.Migrations, `DELETE FROM migrations WHERE tenant_id = ?`},
			{&p.Events, `DELETE FROM events WHERE tenant_id = ?`},
			{&p.Users, `DELETE FROM users WHERE tenant_id = ?`},
			{&p.Tokens, `DELETE FROM api_tokens WHERE tenant_id = ?`},
		}
		for _, st := range steps {
			if err := del(st.n, st.query); err != nil {
				return err
			}
		}
		for _, t := range sandbox {
			if err := del(&p.Sandbox, `DELETE FROM `+t+` WHERE tenant_id = ?`); err != nil {
				return err
			}
		}
		var gone int
		if err := del(&gone, `DELETE FROM tenants WHERE id = ?`); err != nil {
			return err
		}
		if gone == 0 {
			return fmt.Errorf("tenant %q: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return TenantPurge{}, err
	}
	return p, nil
}
