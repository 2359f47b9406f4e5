package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/openmms/mms/internal/migration"
)

// StatusRecord is what Get-CsMeetingMigrationStatus shows of one run of a
// user's migration, with the cmdlet's field names. (The migration itself is
// the workflow; this is its record.)
type StatusRecord struct {
	CorrelationID string `json:"correlationId"`
	TenantID      string `json:"tenantId"`
	UserID        string `json:"userId"`
	// UserPrincipalName is the user's UPN, as the cmdlet reports it. The
	// directory addresses users by their UPN (the user ID is the UPN), so
	// it is the user ID until the directory keeps a distinct one.
	UserPrincipalName string           `json:"userPrincipalName"`
	State             migration.State  `json:"state"`
	MigrationType     migration.Type   `json:"migrationType"`
	SourceMeetingType migration.Source `json:"sourceMeetingType"`
	TargetMeetingType migration.Target `json:"targetMeetingType"`
	TriggerCount      int              `json:"triggerCount"`
	LastTrigger       string           `json:"lastTrigger"`
	TotalMeeting      int              `json:"totalMeeting"`
	SucceededMeeting  int              `json:"succeededMeeting"`
	FailedMeeting     int              `json:"failedMeeting"`
	SkippedMeeting    int              `json:"skippedMeeting"`
	InvitesUpdate     int              `json:"invitesUpdate"`
	RetryCount        int              `json:"retryCount"`
	// ExpectedMeeting is how many items the back end counted in the run's
	// window (0: unknown); ProcessedMeeting how many have an outcome yet.
	ExpectedMeeting  int       `json:"expectedMeeting"`
	ProcessedMeeting int       `json:"processedMeeting"`
	LastMessage      string    `json:"lastMessage"`
	WorkflowID       string    `json:"workflowId"`
	DryRun           bool      `json:"dryRun,omitempty"`
	CreateDate       time.Time `json:"createDate"`
	ModifiedDate     time.Time `json:"modifiedDate"`
}

// Request describes what a trigger asks for.
type Request struct {
	TenantID          string
	UserID            string
	Trigger           string // why: "manual by admin", "event: conferenceIdChanged", ...
	MigrationType     migration.Type
	SourceMeetingType migration.Source
	TargetMeetingType migration.Target
	WorkflowID        string
	// CorrelationID names the record a run claims (a dry run's, created
	// by OpenDryRun); empty claims the user's Pending record.
	CorrelationID string
	// Merged lists the triggers a run serves, for LastMessage (run only).
	Merged string
}

const migrationColumns = `id, tenant_id, user_id, state, migration_type, source_meeting_type,
	target_meeting_type, trigger_count, last_trigger, total_meeting, succeeded_meeting, failed_meeting,
	skipped_meeting, invites_update, retry_count, expected_meeting, processed_meeting, last_message, workflow_id,
	dry_run, created_at, modified_at`

// OpenPending returns the user's Pending record, merging this request into
// it, or creates one. Called before the workflow is signalled so that the
// caller can read the record back at once.
func (s *DB) OpenPending(ctx context.Context, r Request) (StatusRecord, error) {
	var m StatusRecord
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		var err error
		m, err = openRecord(ctx, tx, s.now(), r, migration.StatePending, true)
		return err
	})
	return m, err
}

// openRecord merges r into the user's record in state, or inserts one.
// count says whether r is a new trigger, merged by meaning as the workflow
// merges its batch (migration.Merge): a Teams target wins, the sources
// widen to their union, and LastMessage lists the merged triggers. When r
// is the run claiming the record (count false), its selection is the run's
// own and replaces the record's.
func openRecord(ctx context.Context, tx *sql.Tx, now time.Time, r Request, state migration.State, count bool) (StatusRecord, error) {
	ts := FormatTime(now)
	cur, err := scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE tenant_id = ? AND user_id = ? AND state = ? AND dry_run = 0`, r.TenantID, r.UserID, state))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (id, tenant_id, user_id, state, migration_type,
			source_meeting_type, target_meeting_type, trigger_count, last_trigger, last_message, workflow_id, created_at, modified_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
			uuid.NewString(), r.TenantID, r.UserID, state, r.MigrationType, r.SourceMeetingType,
			r.TargetMeetingType, r.Trigger, r.Merged, r.WorkflowID, ts, ts); err != nil {
			return StatusRecord{}, err
		}
	case err != nil:
		return StatusRecord{}, err
	default:
		src, tgt, msg, inc := r.SourceMeetingType, r.TargetMeetingType, cur.LastMessage, 0
		if r.Merged != "" {
			msg = r.Merged
		}
		if count {
			inc = 1
			src = migration.WidenSource(cur.SourceMeetingType, r.SourceMeetingType)
			if cur.TargetMeetingType == migration.TargetTeams {
				tgt = migration.TargetTeams
			}
			msg = mergedMessage(cur, r.Trigger)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE migrations SET trigger_count = trigger_count + ?, last_trigger = ?,
			migration_type = ?, source_meeting_type = ?, target_meeting_type = ?, last_message = ?, modified_at = ?
			WHERE id = ?`, inc, r.Trigger, migration.TypeOf(src, tgt), src, tgt, msg, ts, cur.CorrelationID); err != nil {
			return StatusRecord{}, err
		}
	}
	return scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE tenant_id = ? AND user_id = ? AND state = ? AND dry_run = 0`, r.TenantID, r.UserID, state))
}

// mergedMessage adds a trigger to the list of those a record merged: the
// first merge lists the record's own trigger and the new one.
func mergedMessage(cur StatusRecord, trigger string) string {
	list, ok := migration.MergedList(cur.LastMessage)
	if !ok {
		list = cur.LastTrigger
	}
	return migration.MergedMessage(cur.TriggerCount+1, list+"; "+trigger)
}

// BeginRun moves the user's Pending record to InProgress for the workflow run
// identified by runKey (creating the record when the workflow was started
// directly, not through the API). It is idempotent for the same runKey, so
// a retried activity gets the same record. An InProgress record left by
// another run (terminated by an operator, say) is closed as Failed.
func (s *DB) BeginRun(ctx context.Context, r Request, runKey string) (StatusRecord, error) {
	var m StatusRecord
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		now := FormatTime(s.now())
		row := tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
			WHERE tenant_id = ? AND user_id = ? AND state = ? AND run_key = ?`,
			r.TenantID, r.UserID, migration.StateInProgress, runKey)
		var err error
		if m, err = scanMigration(row); err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if r.CorrelationID != "" {
			return claim(ctx, tx, &m, r.CorrelationID, runKey, now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE migrations SET state = ?, last_message = ?, modified_at = ?
			WHERE tenant_id = ? AND user_id = ? AND state = ? AND dry_run = 0`,
			migration.StateFailed, "abandoned: the workflow run that owned this record ended without finishing it",
			now, r.TenantID, r.UserID, migration.StateInProgress); err != nil {
			return err
		}
		pending, err := openRecord(ctx, tx, s.now(), r, migration.StatePending, false)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE migrations SET state = ?, run_key = ?, modified_at = ? WHERE id = ?`,
			migration.StateInProgress, runKey, now, pending.CorrelationID); err != nil {
			return err
		}
		m, err = scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations WHERE id = ?`,
			pending.CorrelationID))
		return err
	})
	return m, err
}

// claim moves a record created for a specific run (a dry run) to
// InProgress; a retried claim by the same run finds it there.
func claim(ctx context.Context, tx *sql.Tx, m *StatusRecord, id, runKey, now string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE migrations SET state = ?, run_key = ?, modified_at = ?
		WHERE id = ? AND state = ?`, migration.StateInProgress, runKey, now, id, migration.StatePending); err != nil {
		return err
	}
	got, err := scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE id = ? AND state = ? AND run_key = ?`, id, migration.StateInProgress, runKey))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("migration %q: not pending for this run: %w", id, ErrNotFound)
	}
	*m = got
	return err
}

// OpenDryRun creates the Pending record of a dry run, which never merges
// with the user's real migrations.
func (s *DB) OpenDryRun(ctx context.Context, r Request) (StatusRecord, error) {
	id, ts := uuid.NewString(), FormatTime(s.now())
	if _, err := s.sql.ExecContext(ctx, `INSERT INTO migrations (id, tenant_id, user_id, state, migration_type,
		source_meeting_type, target_meeting_type, trigger_count, last_trigger, workflow_id, dry_run, created_at, modified_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 1, ?, ?)`, id, r.TenantID, r.UserID, migration.StatePending, r.MigrationType,
		r.SourceMeetingType, r.TargetMeetingType, r.Trigger, r.WorkflowID, ts, ts); err != nil {
		return StatusRecord{}, err
	}
	return s.StatusRecord(ctx, id)
}

// FinishRun closes an InProgress record as Succeeded or Failed.
func (s *DB) FinishRun(ctx context.Context, id string, state migration.State, message string) (StatusRecord, error) {
	if state != migration.StateSucceeded && state != migration.StateFailed {
		return StatusRecord{}, fmt.Errorf("finish run: state %q is not final", state)
	}
	_, err := s.sql.ExecContext(ctx, `UPDATE migrations SET state = ?, last_message = ?, modified_at = ?
		WHERE id = ? AND state = ?`, state, message, FormatTime(s.now()), id, migration.StateInProgress)
	if err != nil {
		return StatusRecord{}, err
	}
	return s.StatusRecord(ctx, id)
}

// SetExpected records how many meetings a run will go through.
func (s *DB) SetExpected(ctx context.Context, id string, n int) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE migrations SET expected_meeting = ? WHERE id = ?`, n, id)
	return err
}

// FailPending closes a Pending record that could not be handed to a workflow.
func (s *DB) FailPending(ctx context.Context, id, message string) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE migrations SET state = ?, last_message = ?, modified_at = ?
		WHERE id = ? AND state = ?`, migration.StateFailed, message, FormatTime(s.now()), id, migration.StatePending)
	return err
}

// StatusRecord returns one record by correlation ID.
func (s *DB) StatusRecord(ctx context.Context, id string) (StatusRecord, error) {
	m, err := scanMigration(s.sql.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return StatusRecord{}, fmt.Errorf("migration %q: %w", id, ErrNotFound)
	}
	return m, err
}

// LatestStatusRecord returns the user's most recent record, or ErrNotFound.
func (s *DB) LatestStatusRecord(ctx context.Context, tenantID, userID string) (StatusRecord, error) {
	m, err := scanMigration(s.sql.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
		WHERE tenant_id = ? AND user_id = ? AND dry_run = 0 ORDER BY created_at DESC, id DESC LIMIT 1`, tenantID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return StatusRecord{}, fmt.Errorf("no migration for user %q in tenant %q: %w", userID, tenantID, ErrNotFound)
	}
	return m, err
}

// Filter selects records for a listing. Start and End select records created
// or modified in [Start, End), as Get-CsMeetingMigrationStatus does.
type Filter struct {
	UserID        string
	State         migration.State
	MigrationType migration.Type
	Start, End    time.Time
	Limit         int
	Offset        int
	// DryRun includes dry runs; without it listings and summaries show
	// users' real migrations only.
	DryRun bool
}

// where renders the filter's conditions (without paging).
func (f Filter) where(tenantID string) (string, []any) {
	q := ` WHERE tenant_id = ?`
	args := []any{tenantID}
	add := func(cond string, v any) {
		q += " AND " + cond
		args = append(args, v)
	}
	if !f.DryRun {
		q += " AND dry_run = 0"
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.MigrationType != "" {
		add("migration_type = ?", f.MigrationType)
	}
	if !f.Start.IsZero() {
		add("(created_at >= ? OR modified_at >= ?)", FormatTime(f.Start))
		args = append(args, FormatTime(f.Start))
	}
	if !f.End.IsZero() {
		add("(created_at < ? OR modified_at < ?)", FormatTime(f.End))
		args = append(args, FormatTime(f.End))
	}
	return q, args
}

// Summary counts the users in each state (every state present, zero or
// not), as Get-CsMeetingMigrationStatus -SummaryOnly; the filter's state and
// paging are ignored. A user counts once, by their latest record.
func (s *DB) Summary(ctx context.Context, tenantID string, f Filter) (map[migration.State]int, error) {
	f.State = ""
	where, args := f.where(tenantID) // dry runs left out unless f.DryRun asks
	// Each user's latest record first, then its state by an index lookup
	// (CROSS JOIN keeps SQLite from scanning the records for the join).
	rows, err := s.sql.QueryContext(ctx, `SELECT m.state, COUNT(*)
		FROM (SELECT user_id, MAX(created_at) AS latest FROM migrations`+where+` GROUP BY user_id) l
		CROSS JOIN migrations m WHERE m.tenant_id = ? AND m.user_id = l.user_id AND m.created_at = l.latest
		GROUP BY m.state`,
		append(args, tenantID)...)
	if err != nil {
		return nil, err
	}
	return stateCounts(rows)
}

// SummaryByType is Summary split by migration type: each user counts once,
// by their latest record, under that record's state and type, so the cells
// add up to Summary's counts (the console's summary table). Absent pairs
// are zero.
func (s *DB) SummaryByType(ctx context.Context, tenantID string, f Filter) (map[migration.Type]map[migration.State]int, error) {
	f.State, f.MigrationType = "", ""
	where, args := f.where(tenantID)
	rows, err := s.sql.QueryContext(ctx, `SELECT m.migration_type, m.state, COUNT(*)
		FROM (SELECT user_id, MAX(created_at) AS latest FROM migrations`+where+` GROUP BY user_id) l
		CROSS JOIN migrations m WHERE m.tenant_id = ? AND m.user_id = l.user_id AND m.created_at = l.latest
		GROUP BY m.migration_type, m.state`,
		append(args, tenantID)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[migration.Type]map[migration.State]int{}
	for rows.Next() {
		var typ migration.Type
		var st migration.State
		var n int
		if err := rows.Scan(&typ, &st, &n); err != nil {
			return nil, err
		}
		if out[typ] == nil {
			out[typ] = map[migration.State]int{}
		}
		out[typ][st] = n
	}
	return out, rows.Err()
}

// StateCounts counts the records of every tenant in each state, dry runs
// left out (every state present, zero or not): the store's gauges.
func (s *DB) StateCounts(ctx context.Context) (map[migration.State]int, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT state, COUNT(*) FROM migrations WHERE dry_run = 0 GROUP BY state`)
	if err != nil {
		return nil, err
	}
	return stateCounts(rows)
}

// stateCounts reads (state, count) rows into a map holding every state.
func stateCounts(rows *sql.Rows) (map[migration.State]int, error) {
	defer rows.Close()
	out := map[migration.State]int{}
	for _, st := range migration.States {
		out[st] = 0
	}
	for rows.Next() {
		var st migration.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// CountStatusRecords counts the records StatusRecords pages through: the
// listing's total.
func (s *DB) CountStatusRecords(ctx context.Context, tenantID string, f Filter) (int, error) {
	where, args := f.where(tenantID)
	var n int
	err := s.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations`+where, args...).Scan(&n)
	return n, err
}

// StatusRecords lists a tenant's records, newest first.
func (s *DB) StatusRecords(ctx context.Context, tenantID string, f Filter) ([]StatusRecord, error) {
	where, args := f.where(tenantID)
	q := `SELECT ` + migrationColumns + ` FROM migrations` + where
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, f.Limit, f.Offset)
	rows, err := s.sql.QueryContext(ctx, q, args...)
	return scanRecords(rows, err)
}

// scanRecords reads the records a query returned (never nil: a listing of
// none is an empty JSON array).
func scanRecords(rows *sql.Rows, err error) ([]StatusRecord, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []StatusRecord{}
	for rows.Next() {
		m, err := scanMigration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMigration(r scanner) (StatusRecord, error) {
	var m StatusRecord
	var created, modified string
	err := r.Scan(&m.CorrelationID, &m.TenantID, &m.UserID, &m.State, &m.MigrationType, &m.SourceMeetingType,
		&m.TargetMeetingType, &m.TriggerCount, &m.LastTrigger, &m.TotalMeeting, &m.SucceededMeeting,
		&m.FailedMeeting, &m.SkippedMeeting, &m.InvitesUpdate, &m.RetryCount, &m.ExpectedMeeting, &m.ProcessedMeeting,
		&m.LastMessage, &m.WorkflowID,
		&m.DryRun, &created, &modified)
	if err != nil {
		return StatusRecord{}, err
	}
	m.UserPrincipalName = m.UserID
	if m.CreateDate, err = ParseTime(created); err != nil {
		return StatusRecord{}, err
	}
	m.ModifiedDate, err = ParseTime(modified)
	return m, err
}
