package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openmms/mms/internal/migration"
)

// User is a directory entry: who the user is and the conferencing profile
// their meeting blocks must show.
type User struct {
	TenantID    string          `json:"tenantId"`
	ID          string          `json:"id"`
	DisplayName string          `json:"displayName"`
	Profile     json.RawMessage `json:"profile"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// PutUser creates or replaces a user. The tenant must exist. It is how
// seeds and imports fill the directory, so it enforces the grammar of user
// IDs and stores the canonical form (migration.ParseUserID) itself.
func (s *DB) PutUser(ctx context.Context, u User) error {
	id, err := migration.ParseUserID(u.ID)
	if err != nil {
		return fmt.Errorf("user %q: %w", u.ID, err)
	}
	u.ID = id
	if len(u.Profile) == 0 {
		u.Profile = json.RawMessage(`{}`)
	}
	_, err = s.sql.ExecContext(ctx, `
		INSERT INTO users (tenant_id, id, display_name, profile, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = excluded.display_name,
			profile = excluded.profile, updated_at = excluded.updated_at`,
		u.TenantID, u.ID, u.DisplayName, string(u.Profile), FormatTime(s.now()))
	return err
}

// ReplaceUser sets a user's name and profile if the stored profile is still
// before (nil: the user must not exist yet); otherwise ErrConflict.
func (s *DB) ReplaceUser(ctx context.Context, u User, before json.RawMessage) error {
	now := s.now()
	if before == nil {
		r, err := s.sql.ExecContext(ctx, `INSERT INTO users (tenant_id, id, display_name, profile, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`,
			u.TenantID, u.ID, u.DisplayName, string(u.Profile), FormatTime(now))
		return oneRow(r, err, u.ID)
	}
	return InTx(ctx, s.sql, func(tx *sql.Tx) error {
		if err := swapProfile(ctx, tx, u.TenantID, u.ID, before, u.Profile, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE tenant_id = ? AND id = ?`,
			u.DisplayName, u.TenantID, u.ID)
		return err
	})
}

// swapProfile is the compare-and-set on a user's profile. An unchanged
// profile is "written" too: the match proves the decision's premise.
func swapProfile(ctx context.Context, tx *sql.Tx, tenantID, id string, before, after json.RawMessage, now time.Time) error {
	r, err := tx.ExecContext(ctx, `UPDATE users SET profile = ?,
		updated_at = CASE WHEN profile = ? THEN updated_at ELSE ? END
		WHERE tenant_id = ? AND id = ? AND profile = ?`,
		string(after), string(after), FormatTime(now), tenantID, id, string(before))
	return oneRow(r, err, id)
}

func oneRow(r sql.Result, err error, id string) error {
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("user %q: %w", id, ErrConflict)
	}
	return nil
}

// User returns one user, or ErrNotFound.
func (s *DB) User(ctx context.Context, tenantID, id string) (User, error) {
	row := s.sql.QueryRowContext(ctx, `SELECT tenant_id, id, display_name, profile, updated_at
		FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q in tenant %q: %w", id, tenantID, ErrNotFound)
	}
	return u, err
}

// Users lists a tenant's users ordered by ID.
func (s *DB) Users(ctx context.Context, tenantID string) ([]User, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT tenant_id, id, display_name, profile, updated_at
		FROM users WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (User, error) {
	var u User
	var profile, updated string
	if err := r.Scan(&u.TenantID, &u.ID, &u.DisplayName, &profile, &updated); err != nil {
		return User{}, err
	}
	u.Profile = json.RawMessage(profile)
	var err error
	u.UpdatedAt, err = ParseTime(updated)
	return u, err
}
