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
