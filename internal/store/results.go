package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// MeetingResult is what a run did to one meeting.
type MeetingResult struct {
	MeetingID string            `json:"meetingId"`
	Subject   string            `json:"subject"`
	Start     time.Time         `json:"start"`
	Outcome   migration.Outcome `json:"outcome"`
	Reason    string            `json:"reason,omitempty"`
	// ReasonCode is the reason's typed cause: metrics and filters use it,
	// so rewording a message never moves them.
	ReasonCode  migration.Reason `json:"reasonCode,omitempty"`
	InvitesSent int              `json:"invitesSent"`
	// Language is the language the new block was written in (a BCP 47
	// tag), and LanguageReason why it was chosen; set when a block was
	// (or in a dry run would be) written.
	Language       string `json:"language,omitempty"`
	LanguageReason string `json:"languageReason,omitempty"`
	// Diff is a dry run's unified diff of the body.
	Diff string `json:"diff,omitempty"`
}

// RecordResults stores per-meeting outcomes (replacing earlier ones for the
// same meetings, so a retried batch does not count twice) and recomputes the
// record's counters from them in the same transaction.
func (s *DB) RecordResults(ctx context.Context, migrationID string, results []MeetingResult) (StatusRecord, error) {
	now := FormatTime(s.now())
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO meeting_results (migration_id, meeting_id, subject,
			start_time, outcome, reason, reason_code, invites_sent, diff, language, language_reason, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id, meeting_id) DO UPDATE SET subject = excluded.subject,
			start_time = excluded.start_time, outcome = excluded.outcome, reason = excluded.reason,
			reason_code = excluded.reason_code, language = excluded.language,
			language_reason = excluded.language_reason, invites_sent = excluded.invites_sent, diff = excluded.diff, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range results {
			if _, err := stmt.ExecContext(ctx, migrationID, r.MeetingID, r.Subject, FormatTime(r.Start),
				r.Outcome, r.Reason, r.ReasonCode, r.InvitesSent, r.Diff, r.Language, r.LanguageReason, now); err != nil {
				return err
			}
		}
		// One pass over the run's results for every counter (not one per
		// counter), and the latest failure's reason through the index.
		_, err = tx.ExecContext(ctx, `UPDATE migrations SET
			(total_meeting, succeeded_meeting, failed_meeting, skipped_meeting, processed_meeting, invites_update) =
			(SELECT COALESCE(SUM(CASE WHEN r.outcome <> 'Skipped' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN r.outcome IN ('Updated', 'UpToDate', 'WouldUpdate') THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN r.outcome = 'Failed' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN r.outcome = 'Skipped' THEN 1 ELSE 0 END), 0),
				COUNT(*),
				COALESCE(SUM(CASE WHEN r.invites_sent > 0 THEN 1 ELSE 0 END), 0)
				FROM meeting_results r WHERE r.migration_id = migrations.id),
			last_message = COALESCE((SELECT r.reason FROM meeting_results r WHERE r.migration_id = migrations.id
				AND r.outcome = 'Failed' ORDER BY r.updated_at DESC LIMIT 1), last_message),
			modified_at = ?
			WHERE id = ?`, now, migrationID)
		return err
	})
	if err != nil {
		return StatusRecord{}, err
	}
	return s.StatusRecord(ctx, migrationID)
}

// MeetingResults lists a record's per-meeting outcomes by meeting start.
func (s *DB) MeetingResults(ctx context.Context, migrationID string) ([]MeetingResult, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT meeting_id, subject, start_time, outcome, reason, reason_code, invites_sent, diff,
		language, language_reason FROM meeting_results WHERE migration_id = ? ORDER BY start_time, meeting_id`, migrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MeetingResult{}
	for rows.Next() {
		var r MeetingResult
		var start string
		if err := rows.Scan(&r.MeetingID, &r.Subject, &start, &r.Outcome, &r.Reason, &r.ReasonCode, &r.InvitesSent, &r.Diff,
			&r.Language, &r.LanguageReason); err != nil {
			return nil, err
		}
		if r.Start, err = ParseTime(start); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FailedMeetingIDs lists the meetings of a record whose outcome is Failed.
func (s *DB) FailedMeetingIDs(ctx context.Context, migrationID string) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT meeting_id FROM meeting_results WHERE migration_id = ? AND outcome = ?
		ORDER BY start_time, meeting_id`, migrationID, migration.OutcomeFailed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetRetryCount records which retry a record is on (idempotent per attempt).
func (s *DB) SetRetryCount(ctx context.Context, migrationID string, attempt int) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE migrations SET retry_count = ?, modified_at = ? WHERE id = ? AND retry_count < ?`,
		attempt, FormatTime(s.now()), migrationID, attempt)
	return err
}
