package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openmms/mms/internal/migration"
)

// Tenant is an organisation served by this instance.
type Tenant struct {
	ID          string             `json:"id"`
	DisplayName string             `json:"displayName"`
	Settings    migration.Settings `json:"settings"`
}

// PutTenant creates the tenant or updates its name and settings.
func (s *DB) PutTenant(ctx context.Context, t Tenant) error {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return err
	}
	now := FormatTime(s.now())
	_, err = s.sql.ExecContext(ctx, `
		INSERT INTO tenants (id, display_name, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
			settings = excluded.settings, updated_at = excluded.updated_at`,
		t.ID, t.DisplayName, string(settings), now, now)
	return err
}

// Tenant returns one tenant, or ErrNotFound.
func (s *DB) Tenant(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	var settings string
	err := s.sql.QueryRowContext(ctx, `SELECT id, display_name, settings FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.DisplayName, &settings)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, err
	}
	return t, decodeSettings(settings, &t.Settings)
}

// Tenants lists all tenants ordered by ID.
func (s *DB) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT id, display_name, settings FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Tenant{}
	for rows.Next() {
		var t Tenant
		var settings string
		if err := rows.Scan(&t.ID, &t.DisplayName, &settings); err != nil {
			return nil, err
		}
		if err := decodeSettings(settings, &t.Settings); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func decodeSettings(raw string, into *migration.Settings) error {
	*into = migration.DefaultSettings() // fields added later keep their defaults
	return json.Unmarshal([]byte(raw), into)
}

// UpdateSettings applies fn to the tenant's settings and stores them with a
// compare-and-set: the write happens only if the stored settings are still
// those fn saw, else fn runs again on the newer ones. Two concurrent PUTs
// of different fields both survive (a plain read-modify-write would keep
// only the last). fn must be free of side effects; it may run several times.
func (s *DB) UpdateSettings(ctx context.Context, tenantID string, fn func(*migration.Settings)) (migration.Settings, error) {
	for {
		var raw string
		err := s.sql.QueryRowContext(ctx, `SELECT settings FROM tenants WHERE id = ?`, tenantID).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.Settings{}, fmt.Errorf("tenant %q: %w", tenantID, ErrNotFound)
		} else if err != nil {
			return migration.Settings{}, err
		}
		var st migration.Settings
		if err := decodeSettings(raw, &st); err != nil {
			return migration.Settings{}, err
		}
		fn(&st)
		next, err := json.Marshal(st)
		if err != nil {
			return migration.Settings{}, err
		}
		r, err := s.sql.ExecContext(ctx, `UPDATE tenants SET settings = ?, updated_at = ? WHERE id = ? AND settings = ?`,
			string(next), FormatTime(s.now()), tenantID, raw)
		if err != nil {
			return migration.Settings{}, err
		}
		if n, err := r.RowsAffected(); err != nil {
			return migration.Settings{}, err
		} else if n == 1 {
			return st, nil
		}
		if err := ctx.Err(); err != nil {
			return migration.Settings{}, err
		}
	}
}
