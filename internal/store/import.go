package store

import (
	"context"
	"database/sql"
	"encoding/json"
)

// ImportedUser is one user of a directory import as the store writes it.
type ImportedUser struct {
	User User
	// Before is the profile the import's decisions were made on; nil when
	// the user is new.
	Before json.RawMessage
	// Events are the change events the difference became, with their
	// decisions, recorded with the new profile.
	Events []Event
}

// ImportUsers writes a directory import in one transaction: each new user
// is created, each changed one gets its new name and profile by the same
// compare-and-set as an event (ErrConflict, nothing written, if any
// profile changed since the import read it: read again and decide again),
// and every event is recorded. Either all of it is written or none.
func (s *DB) ImportUsers(ctx context.Context, tenantID string, users []ImportedUser) ([]ImportedUser, error) {
	now := s.now()
	out := make([]ImportedUser, len(users))
	err := InTx(ctx, s.sql, func(tx *sql.Tx) error {
		for i, u := range users {
			if u.Before == nil {
				r, err := tx.ExecContext(ctx, `INSERT INTO users (tenant_id, id, display_name, profile, updated_at)
					VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`,
					tenantID, u.User.ID, u.User.DisplayName, string(u.User.Profile), FormatTime(now))
				if err := oneRow(r, err, u.User.ID); err != nil {
					return err
				}
			} else {
				if err := swapProfile(ctx, tx, tenantID, u.User.ID, u.Before, u.User.Profile, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE tenant_id = ? AND id = ?`,
					u.User.DisplayName, tenantID, u.User.ID); err != nil {
					return err
				}
			}
			evs := make([]Event, len(u.Events))
			for j, ev := range u.Events {
				ev.ReceivedAt = now
				if _, err := tx.ExecContext(ctx, `INSERT INTO events (tenant_id, id, user_id, type, payload, triggered, reason,
					source_meeting_type, target_meeting_type, correlation_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					tenantID, ev.ID, ev.UserID, ev.Type, string(ev.Payload), boolInt(ev.Triggered), ev.Reason, ev.SourceMeetingType,
					ev.TargetMeetingType, ev.CorrelationID, FormatTime(now)); err != nil {
					return err
				}
				evs[j] = ev
			}
			u.Events = evs
			out[i] = u
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
