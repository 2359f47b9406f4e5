package store

import (
	"context"
	"database/sql"
	"time"
)

// DefaultRetention is how long status records and events are kept, as in
// Microsoft's service.
const DefaultRetention = 150 * 24 * time.Hour

// Purged counts what Purge deleted.
type Purged struct {
	Migrations, MeetingResults, Events int
}

// Purge deletes finished records (with their per-meeting results) and
// events last modified before the cutoff. Pending and in-progress records
// are kept whatever their age: a workflow still owns them.
func (s *DB) Purge(ctx context.Context, before time.Time) (Purged, error) {
	var p Purged
	cutoff := FormatTime(before)
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		old := `SELECT id FROM migrations WHERE modified_at < ? AND state IN ('Succeeded', 'Failed')`
		n, err := exec(ctx, tx, `DELETE FROM meeting_results WHERE migration_id IN (`+old+`)`, cutoff)
		if err != nil {
			return err
		}
		p.MeetingResults = n
		if p.Migrations, err = exec(ctx, tx, `DELETE FROM migrations WHERE modified_at < ? AND state IN ('Succeeded', 'Failed')`, cutoff); err != nil {
			return err
		}
		p.Events, err = exec(ctx, tx, `DELETE FROM events WHERE received_at < ?`, cutoff)
		return err
	})
	return p, err
}

func exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
