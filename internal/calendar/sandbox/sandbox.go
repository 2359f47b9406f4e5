// Package sandbox is a real, persistent calendar back end kept in the
// service's own database: mailboxes, meetings (single, series masters,
// exceptions) with HTML or text bodies and online-meeting metadata, and an
// outbox recording every notification "sent". It behaves like Microsoft
// Graph where it matters to a migration: etags with If-Match, and an update
// of the organizer's item notifies the attendees in the same step.
//
// The sandbox owns its tables (sandbox_*) and their schema migrations, and
// reaches them through a connection pool of its own on the service
// database, opened with store.OpenSQL: it shares the store's database (a
// SQLite file or PostgreSQL) and settings, not the store's handle, and never
// reads the store's tables.
package sandbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/store"
)

// Backend is the sandbox calendar back end.
type Backend struct {
	db  *sql.DB // the sandbox's own pool: its tables only
	now func() time.Time
}

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable records the sandbox's schema versions apart from the store's
// goose_db_version: the two histories are numbered independently.
const versionTable = "sandbox_goose_db_version"

// Open opens the sandbox in the service database named by dsn (the store's
// DSN: the same database) with a connection pool of its own, and applies the
// sandbox's schema migrations. Close releases the pool.
func Open(ctx context.Context, dsn string) (*Backend, error) {
	db, err := store.OpenSQL(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err == nil {
		err = store.Migrate(ctx, db, sub, versionTable)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sandbox: database %s: schema migration: %w", store.RedactDSN(dsn), err)
	}
	return &Backend{db: db, now: func() time.Time { return time.Now().UTC() }}, nil
}

// In opens the sandbox in the store's database, on the store's clock. The
// sandbox keeps a connection pool of its own (its tables are its own): the
// caller closes it.
func In(ctx context.Context, db *store.DB) (*Backend, error) {
	b, err := Open(ctx, db.DSN())
	if err != nil {
		return nil, err
	}
	b.now = db.Now
	return b, nil
}

// Close releases the sandbox's connection pool.
func (b *Backend) Close() error { return b.db.Close() }

var (
	_ calendar.Backend = (*Backend)(nil)
	_ calendar.Counter = (*Backend)(nil)
)

// Mailbox implements calendar.Backend.
func (b *Backend) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	var m calendar.Mailbox
	var location string
	err := b.db.QueryRowContext(ctx, `SELECT address, display_name, location FROM sandbox_mailboxes
		WHERE tenant_id = ? AND address = ?`, tenantID, user).Scan(&m.Address, &m.DisplayName, &location)
	if errors.Is(err, sql.ErrNoRows) {
		return calendar.Mailbox{}, fmt.Errorf("mailbox %q: %w", user, calendar.ErrNotFound)
	}
	m.Online = location == LocationOnline
	return m, err
}

const meetingColumns = `id, mailbox, organizer, subject, start_time, end_time, kind, series_master_id,
	recurrence, series_end, attendees, body, body_type, online_meeting, version, last_update_key`

// inWindow selects a mailbox's items overlapping [from, to): its parameters
// are tenant, mailbox, to, from, from.
const inWindow = `tenant_id = ? AND mailbox = ? AND start_time < ?
	AND ((kind <> 'seriesMaster' AND end_time > ?) OR (kind = 'seriesMaster' AND (series_end = '' OR series_end > ?)))`

// CountMeetings implements calendar.Counter: what ListMeetings would return.
func (b *Backend) CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error) {
	f, t := store.FormatTime(from), store.FormatTime(to)
	var n int
	err := b.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sandbox_meetings WHERE `+inWindow,
		tenantID, mailbox, t, f, f).Scan(&n)
	return n, err
}

// ListMeetings implements calendar.Backend with keyset paging on (start, id):
// the lower bound on start_time lets a page start in the index
// sandbox_meetings_by_start instead of scanning the mailbox from its first
// item, so that a mailbox's pages cost the same whatever their position.
func (b *Backend) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, pageSize int) (calendar.Page, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	afterStart, afterID := "", ""
	if cursor != "" {
		var ok bool
		afterStart, afterID, ok = strings.Cut(cursor, "|")
		if !ok {
			return calendar.Page{}, fmt.Errorf("sandbox: malformed cursor %q", cursor)
		}
	}
	f, t := store.FormatTime(from), store.FormatTime(to)
	rows, err := b.db.QueryContext(ctx, `SELECT `+meetingColumns+` FROM sandbox_meetings
		WHERE `+inWindow+` AND start_time >= ? AND (start_time > ? OR id > ?)
		ORDER BY start_time, id LIMIT ?`,
		tenantID, mailbox, t, f, f, afterStart, afterStart, afterID, pageSize+1)
	if err != nil {
		return calendar.Page{}, err
	}
	defer rows.Close()
	var page calendar.Page
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return calendar.Page{}, err
		}
		page.Meetings = append(page.Meetings, m)
	}
	if err := rows.Err(); err != nil {
		return calendar.Page{}, err
	}
	if len(page.Meetings) > pageSize {
		page.Meetings = page.Meetings[:pageSize]
		last := page.Meetings[pageSize-1]
		page.NextCursor = store.FormatTime(last.Start) + "|" + last.ID
	}
	return page, nil
}

// GetMeeting implements calendar.Backend.
func (b *Backend) GetMeeting(ctx context.Context, tenantID, mailbox, id string) (calendar.Meeting, error) {
	m, err := scanMeeting(b.db.QueryRowContext(ctx, `SELECT `+meetingColumns+` FROM sandbox_meetings
		WHERE tenant_id = ? AND mailbox = ? AND id = ?`, tenantID, mailbox, id))
	if errors.Is(err, sql.ErrNoRows) {
		return calendar.Meeting{}, fmt.Errorf("meeting %q in %q: %w", id, mailbox, calendar.ErrNotFound)
	}
	return m, err
}

// UpdateMeeting implements calendar.Backend: body (and metadata) written and
// one notification per attendee queued in the same transaction, so a
// meeting is never updated without its attendees being told, or twice.
func (b *Backend) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	var res calendar.UpdateResult
	err := store.InTx(ctx, b.db, func(tx *sql.Tx) error {
		res = calendar.UpdateResult{} // a rerun (store.InTx) starts afresh
		var version int
		var lastKey, organizer, subject, attendeesJSON string
		err := tx.QueryRowContext(ctx, `SELECT version, last_update_key, organizer, subject, attendees
			FROM sandbox_meetings WHERE tenant_id = ? AND mailbox = ? AND id = ?`,
			tenantID, u.Mailbox, u.MeetingID).Scan(&version, &lastKey, &organizer, &subject, &attendeesJSON)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("meeting %q in %q: %w", u.MeetingID, u.Mailbox, calendar.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if u.IdempotencyKey != "" && lastKey == u.IdempotencyKey {
			// The same change again (a retried activity): report, send nothing.
			res.ETag = strconv.Itoa(version)
			return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sandbox_outbox WHERE idempotency_key = ?`,
				u.IdempotencyKey).Scan(&res.InvitesSent)
		}
		if u.ETag != strconv.Itoa(version) {
			return fmt.Errorf("meeting %q: etag %s, stored %d: %w", u.MeetingID, u.ETag, version, calendar.ErrConflict)
		}
		now := store.FormatTime(b.now())
		online := ""
		if u.OnlineMeeting != nil {
			raw, err := json.Marshal(u.OnlineMeeting)
			if err != nil {
				return err
			}
			online = string(raw)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_meetings SET body = ?, version = version + 1,
			last_update_key = ?, updated_at = ?, online_meeting = CASE WHEN ? = '' THEN online_meeting ELSE ? END
			WHERE tenant_id = ? AND mailbox = ? AND id = ?`,
			u.Body, u.IdempotencyKey, now, online, online, tenantID, u.Mailbox, u.MeetingID); err != nil {
			return err
		}
		var attendees []calendar.Attendee
		if err := json.Unmarshal([]byte(attendeesJSON), &attendees); err != nil {
			return fmt.Errorf("meeting %q: attendees: %w", u.MeetingID, err)
		}
		key := u.IdempotencyKey
		if key == "" {
			key = uuid.NewString()
		}
		// One message per person: addresses compare case-insensitively,
		// as Participants counts them.
		sent := map[string]bool{strings.ToLower(organizer): true}
		for _, a := range attendees {
			if sent[strings.ToLower(a.Address)] {
				continue
			}
			sent[strings.ToLower(a.Address)] = true
			r, err := tx.ExecContext(ctx, `INSERT INTO sandbox_outbox (id, tenant_id, meeting_id, sender, recipient,
				subject, body, idempotency_key, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (idempotency_key, recipient) DO NOTHING`,
				uuid.NewString(), tenantID, u.MeetingID, organizer, a.Address, "Updated: "+subject, u.Body, key, now)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res.InvitesSent++
			}
		}
		res.ETag = strconv.Itoa(version + 1)
		return nil
	})
	return res, err
}

// EnsureTeamsMeeting implements calendar.Backend like Graph's
// onlineMeetings/createOrGet: keyed by the calendar item.
func (b *Backend) EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (calendar.OnlineMeeting, error) {
	code, err := digits(13)
	if err != nil {
		return calendar.OnlineMeeting{}, err
	}
	pass, err := passcode()
	if err != nil {
		return calendar.OnlineMeeting{}, err
	}
	key := organizer + "/" + itemID
	if _, err := b.db.ExecContext(ctx, `INSERT INTO sandbox_online_meetings (tenant_id, external_id, join_url,
		meeting_code, passcode, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, external_id) DO NOTHING`,
		tenantID, key, "https://teams.microsoft.com/meet/"+code+"?p="+pass, code, pass,
		store.FormatTime(b.now())); err != nil {
		return calendar.OnlineMeeting{}, err
	}
	om := calendar.OnlineMeeting{Provider: calendar.ProviderTeams}
	// The dial-in conference ID is the organizer's, from their profile.
	err = b.db.QueryRowContext(ctx, `SELECT join_url FROM sandbox_online_meetings
		WHERE tenant_id = ? AND external_id = ?`, tenantID, key).Scan(&om.JoinURL)
	return om, err
}

func scanMeeting(r interface{ Scan(...any) error }) (calendar.Meeting, error) {
	var m calendar.Meeting
	var mailbox, start, end, seriesEnd, attendees, online string
	var version int
	if err := r.Scan(&m.ID, &mailbox, &m.Organizer, &m.Subject, &start, &end, &m.Kind, &m.SeriesMasterID,
		&m.Recurrence, &seriesEnd, &attendees, &m.Body, &m.BodyType, &online, &version, &m.UpdateKey); err != nil {
		return calendar.Meeting{}, err
	}
	var err error
	if m.Start, err = store.ParseTime(start); err != nil {
		return m, err
	}
	if m.End, err = store.ParseTime(end); err != nil {
		return m, err
	}
	if m.SeriesEnd, err = store.ParseTime(seriesEnd); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(attendees), &m.Attendees); err != nil {
		return m, fmt.Errorf("meeting %q: attendees: %w", m.ID, err)
	}
	if online != "" {
		m.OnlineMeeting = &calendar.OnlineMeeting{}
		if err := json.Unmarshal([]byte(online), m.OnlineMeeting); err != nil {
			return m, fmt.Errorf("meeting %q: online meeting: %w", m.ID, err)
		}
	}
	m.IsOrganizer = strings.EqualFold(m.Organizer, mailbox)
	m.ETag = strconv.Itoa(version)
	return m, nil
}

func digits(n int) (string, error) {
	var sb strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String(), nil
}

func passcode() (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
	var sb strings.Builder
	for range 6 {
		d, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		sb.WriteByte(alphabet[d.Int64()])
	}
	return sb.String(), nil
}
