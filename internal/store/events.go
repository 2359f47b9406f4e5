package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// Event is a change event as recorded, with its decision for one user.
type Event struct {
	ID        string          `json:"id"`
	UserID    string          `json:"user"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	Triggered bool            `json:"triggered"`
	Reason    string          `json:"reason"`
	// SourceMeetingType and TargetMeetingType: what a triggering event asks to migrate.
	SourceMeetingType migration.Source `json:"sourceMeetingType,omitempty"`
	TargetMeetingType migration.Target `json:"targetMeetingType,omitempty"`
	CorrelationID     string           `json:"correlationId,omitempty"`
	ReceivedAt        time.Time        `json:"receivedAt"`
	// BodyHash is the hex SHA-256 of the event's canonical body, which a
	// retry under the same ID must match; "" for events recorded before
	// it was kept (migration 00011).
	BodyHash string `json:"-"`
}

// RecordEvent stores an event's decision and, for a user's event, the
// user's new profile (after; nil when unchanged), in one transaction: a run
// never reads a profile whose event is not recorded, nor the reverse. The
// decision was made on the profile "before"; if another event changed it
// since, nothing is written and ErrConflict says to decide again, so two
// concurrent events for one user never lose an update.
func (s *DB) RecordEvent(ctx context.Context, tenantID string, ev Event, before, after json.RawMessage) (Event, error) {
	// At the stored precision, so the first answer and a replay of it say
	// the same time.
	ev.ReceivedAt, _ = ParseTime(FormatTime(s.now()))
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		if before != nil {
			if after == nil {
				after = before
			}
			if err := swapProfile(ctx, tx, tenantID, ev.UserID, before, after, ev.ReceivedAt); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO events (tenant_id, id, user_id, type, payload, triggered, reason,
			source_meeting_type, target_meeting_type, correlation_id, received_at, body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, ev.ID, ev.UserID, ev.Type, string(ev.Payload), boolInt(ev.Triggered), ev.Reason, ev.SourceMeetingType,
			ev.TargetMeetingType, ev.CorrelationID, FormatTime(ev.ReceivedAt), ev.BodyHash)
		return err
	})
	return ev, err
}

// SetEventCorrelation links a triggering event to the migration it reached.
func (s *DB) SetEventCorrelation(ctx context.Context, tenantID, id, userID, correlationID string) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE events SET correlation_id = ? WHERE tenant_id = ? AND id = ? AND user_id = ?`,
		correlationID, tenantID, id, userID)
	return err
}

// EventsByID returns the recorded decisions for an event ID (one per user).
func (s *DB) EventsByID(ctx context.Context, tenantID, id string) ([]Event, error) {
	return s.queryEvents(ctx, `WHERE tenant_id = ? AND id = ? ORDER BY user_id`, tenantID, id)
}

// Events lists a tenant's recorded events, newest first; userID "" lists
// every user's. limit 0 lists them all, for checks over a whole tenant.
func (s *DB) Events(ctx context.Context, tenantID, userID string, limit int) ([]Event, error) {
	where := `WHERE tenant_id = ? AND (? = '' OR user_id = ?) ORDER BY received_at DESC, id`
	args := []any{tenantID, userID, userID}
	if limit > 0 {
		where += ` LIMIT ?`
		args = append(args, limit)
	}
	return s.queryEvents(ctx, where, args...)
}

func (s *DB) queryEvents(ctx context.Context, where string, args ...any) ([]Event, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT id, user_id, type, payload, triggered, reason, source_meeting_type,
		target_meeting_type, correlation_id, received_at, body_sha256 FROM events `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var ev Event
		var payload, received string
		if err := rows.Scan(&ev.ID, &ev.UserID, &ev.Type, &payload, &ev.Triggered, &ev.Reason, &ev.SourceMeetingType,
			&ev.TargetMeetingType, &ev.CorrelationID, &received, &ev.BodyHash); err != nil {
			return nil, err
		}
		ev.Payload = json.RawMessage(payload)
		if ev.ReceivedAt, err = ParseTime(received); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EventHandOffs counts the users an event's fan-out has handed off: those
// with a recorded decision that either did not trigger or reached a
// migration (a triggering decision without one is still to be handed off).
func (s *DB) EventHandOffs(ctx context.Context, tenantID, id string) (int, error) {
	var n int
	err := s.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tenant_id = ? AND id = ? AND user_id <> ''
		AND (triggered = 0 OR correlation_id <> '')`, tenantID, id).Scan(&n)
	return n, err
}

// boolInt stores a flag as the portable schema does, an INTEGER 0 or 1:
// SQLite takes a Go bool for one, PostgreSQL does not.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
