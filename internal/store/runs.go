package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// RunRecord is the record a workflow run works on: the one it claimed with
// runKey, or, when its BeginRun never got through, the user's Pending
// record. The workflow notes its problems there and fails it when it gives
// up, so no record waits for a run that has stopped trying.
func (s *DB) RunRecord(ctx context.Context, tenantID, userID, runKey string) (StatusRecord, error) {
	m, err := scanMigration(s.sql.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE tenant_id = ? AND user_id = ? AND state = ? AND run_key = ?`,
		tenantID, userID, migration.StateInProgress, runKey))
	if errors.Is(err, sql.ErrNoRows) {
		m, err = scanMigration(s.sql.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
			WHERE tenant_id = ? AND user_id = ? AND state = ? AND dry_run = 0`,
			tenantID, userID, migration.StatePending))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return StatusRecord{}, fmt.Errorf("no open record of run %q: %w", runKey, ErrNotFound)
	}
	return m, err
}

// NoteRun sets the message of a record that is not final yet (and its
// retry count when attempt > 0): why its run is waiting to try again.
func (s *DB) NoteRun(ctx context.Context, id, message string, attempt int) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE migrations SET last_message = ?,
		retry_count = CASE WHEN ? > 0 THEN ? ELSE retry_count END, modified_at = ?
		WHERE id = ? AND state IN (?, ?)`, message, attempt, attempt, FormatTime(s.now()), id,
		migration.StatePending, migration.StateInProgress)
	return err
}

// OpenRecordsBefore lists up to limit records, of every tenant, that are
// Pending or InProgress and unchanged since before: the ones a sweep checks
// against their workflows.
func (s *DB) OpenRecordsBefore(ctx context.Context, before time.Time, limit int) ([]StatusRecord, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE state IN (?, ?) AND modified_at < ? ORDER BY modified_at LIMIT ?`,
		migration.StatePending, migration.StateInProgress, FormatTime(before), limit)
	return scanRecords(rows, err)
}

// FailOpen closes a Pending or InProgress record as Failed with message.
func (s *DB) FailOpen(ctx context.Context, id, message string) (StatusRecord, error) {
	if _, err := s.sql.ExecContext(ctx, `UPDATE migrations SET state = ?, last_message = ?, modified_at = ?
		WHERE id = ? AND state IN (?, ?)`, migration.StateFailed, message, FormatTime(s.now()), id,
		migration.StatePending, migration.StateInProgress); err != nil {
		return StatusRecord{}, err
	}
	return s.StatusRecord(ctx, id)
}

// SetEventReason rewrites the reason of an event's record for one user
// ("" for the event's own record): a fan-out reports its progress there.
func (s *DB) SetEventReason(ctx context.Context, tenantID, id, userID, reason string) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE events SET reason = ? WHERE tenant_id = ? AND id = ? AND user_id = ?`,
		reason, tenantID, id, userID)
	return err
}

// Served is a Pending record some of whose triggers a finished run served,
// and how many of them it served in all.
type Served struct {
	ID       string `json:"id"`
	Triggers int    `json:"triggers"`
}

// AmendFinished rewrites what a finished run's record says once the run is
// over: its trigger count and LastMessage (absolute values, so a retried
// call writes the same). Each Pending record in served whose every trigger
// the run served is folded into it: removed, its events pointed at the run,
// since no run of its own will ever claim it and an empty run would be the
// record the status shows first. A Pending record holding a trigger the run
// did not serve is left to the run that will serve it. It reports whether
// the record was finished (an open one is not amended).
func (s *DB) AmendFinished(ctx context.Context, id string, triggerCount int, message string, served []Served) (bool, error) {
	amended := false
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE migrations SET trigger_count = ?, last_message = ?
			WHERE id = ? AND state IN (?, ?)`, triggerCount, message, id, migration.StateSucceeded, migration.StateFailed)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		amended = true
		for _, p := range served {
			// The count in the condition makes the check and the removal
			// one step: a trigger merged meanwhile keeps the record.
			res, err := tx.ExecContext(ctx, `DELETE FROM migrations WHERE id = ? AND state = ? AND dry_run = 0
				AND trigger_count <= ?`, p.ID, migration.StatePending, p.Triggers)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				if _, err := tx.ExecContext(ctx, `UPDATE events SET correlation_id = ? WHERE correlation_id = ?`, id, p.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return amended, err
}
