package sandbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/store"
)

// Mailbox locations.
const (
	LocationOnline = "online"
	LocationOnPrem = "onprem"
)

// PutMailbox creates or updates a mailbox.
func (b *Backend) PutMailbox(ctx context.Context, tenantID string, m calendar.Mailbox) error {
	loc := LocationOnPrem
	if m.Online {
		loc = LocationOnline
	}
	_, err := b.db.ExecContext(ctx, `INSERT INTO sandbox_mailboxes (tenant_id, address, display_name, location)
		VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, address) DO UPDATE SET display_name = excluded.display_name,
		location = excluded.location`, tenantID, m.Address, m.DisplayName, loc)
	return err
}

// NewItem is a meeting to add to a mailbox; ID is generated when empty.
type NewItem struct {
	Mailbox string
	calendar.Meeting
}

// AddMeetings inserts items in one transaction and returns their IDs.
func (b *Backend) AddMeetings(ctx context.Context, tenantID string, items []NewItem) ([]string, error) {
	ids := make([]string, len(items))
	err := store.InTx(ctx, b.db, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO sandbox_meetings (tenant_id, id, mailbox, organizer,
			subject, start_time, end_time, kind, series_master_id, recurrence, series_end, attendees, body,
			body_type, online_meeting, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := store.FormatTime(b.now())
		for i, it := range items {
			m := it.Meeting
			if m.ID == "" {
				m.ID = "mtg-" + uuid.NewString()
			}
			ids[i] = m.ID
			attendees, err := json.Marshal(m.Attendees)
			if err != nil {
				return err
			}
			online := ""
			if m.OnlineMeeting != nil {
				raw, err := json.Marshal(m.OnlineMeeting)
				if err != nil {
					return err
				}
				online = string(raw)
			}
			seriesEnd := ""
			if !m.SeriesEnd.IsZero() {
				seriesEnd = store.FormatTime(m.SeriesEnd)
			}
			if m.Kind == "" {
				m.Kind = calendar.KindSingle
			}
			if _, err := stmt.ExecContext(ctx, tenantID, m.ID, it.Mailbox, m.Organizer, m.Subject,
				store.FormatTime(m.Start), store.FormatTime(m.End), m.Kind, m.SeriesMasterID, m.Recurrence,
				seriesEnd, string(attendees), m.Body, m.BodyType, online, now); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// Notification is one message in the outbox.
type Notification struct {
	MeetingID      string    `json:"meetingId"`
	Sender         string    `json:"sender"`
	Recipient      string    `json:"recipient"`
	Subject        string    `json:"subject"`
	Body           string    `json:"body"`
	IdempotencyKey string    `json:"idempotencyKey"`
	SentAt         time.Time `json:"sentAt"`
}

// Outbox lists the notifications sent for a tenant's meetings; meetingID
// "" lists all of them.
func (b *Backend) Outbox(ctx context.Context, tenantID, meetingID string) ([]Notification, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT meeting_id, sender, recipient, subject, body, idempotency_key,
		sent_at FROM sandbox_outbox WHERE tenant_id = ? AND (? = '' OR meeting_id = ?) ORDER BY sent_at, id`,
		tenantID, meetingID, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var sent string
		if err := rows.Scan(&n.MeetingID, &n.Sender, &n.Recipient, &n.Subject, &n.Body, &n.IdempotencyKey, &sent); err != nil {
			return nil, err
		}
		if n.SentAt, err = store.ParseTime(sent); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Meetings lists every item of a mailbox (past and future), for tests and
// for admins inspecting the sandbox.
func (b *Backend) Meetings(ctx context.Context, tenantID, mailbox string) ([]calendar.Meeting, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT `+meetingColumns+` FROM sandbox_meetings
		WHERE tenant_id = ? AND mailbox = ? ORDER BY start_time, id`, tenantID, mailbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []calendar.Meeting
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
