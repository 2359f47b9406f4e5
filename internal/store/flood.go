package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Claim asks for Amount units of a budget of Limit per period: counter
// Counter of the period that starts at Period (Unix seconds).
type Claim struct {
	Counter string
	Period  int64
	Limit   int64
	Amount  int64
}

// reserveAttempts bounds how often a reservation is tried again when
// another worker changed a counter between its read and its write.
const reserveAttempts = 50

// Reserve takes every claim or none: it returns -1 when all were taken, or
// the index of the first claim its budget cannot cover (nothing taken).
// Each counter is written with a compare-and-set on the value read, so
// workers of any number, on any database, never grant more than a budget
// between them.
func (s *DB) Reserve(ctx context.Context, tenantID string, claims []Claim) (int, error) {
	for range reserveAttempts {
		refused := -1
		err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
			for i, c := range claims {
				if _, err := tx.ExecContext(ctx, `INSERT INTO flood_counters (tenant_id, counter, period_start, used)
					VALUES (?, ?, ?, 0) ON CONFLICT (tenant_id, counter, period_start) DO NOTHING`,
					tenantID, c.Counter, c.Period); err != nil {
					return err
				}
				var used int64
				if err := tx.QueryRowContext(ctx, `SELECT used FROM flood_counters
					WHERE tenant_id = ? AND counter = ? AND period_start = ?`, tenantID, c.Counter, c.Period).Scan(&used); err != nil {
					return err
				}
				if used+c.Amount > c.Limit {
					refused = i
					return errRefused
				}
				r, err := tx.ExecContext(ctx, `UPDATE flood_counters SET used = ?
					WHERE tenant_id = ? AND counter = ? AND period_start = ? AND used = ?`,
					used+c.Amount, tenantID, c.Counter, c.Period, used)
				if err != nil {
					return err
				}
				if n, err := r.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					return ErrConflict
				}
			}
			return nil
		})
		switch {
		case errors.Is(err, errRefused):
			return refused, nil
		case errors.Is(err, ErrConflict):
			continue
		case err != nil:
			return 0, err
		}
		return -1, nil
	}
	return 0, fmt.Errorf("flood budget of tenant %q: %w", tenantID, ErrConflict)
}

var errRefused = errors.New("budget refused")

// Used is how much of counter the period has used.
func (s *DB) Used(ctx context.Context, tenantID, counter string, period int64) (int64, error) {
	var used int64
	err := s.sql.QueryRowContext(ctx, `SELECT used FROM flood_counters WHERE tenant_id = ? AND counter = ? AND period_start = ?`,
		tenantID, counter, period).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return used, err
}

// DeleteFloodCountersBefore drops the counters of periods that started
// before period (Unix seconds): only the current hour and day are read.
func (s *DB) DeleteFloodCountersBefore(ctx context.Context, period int64) (int64, error) {
	r, err := s.sql.ExecContext(ctx, `DELETE FROM flood_counters WHERE period_start < ?`, period)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
