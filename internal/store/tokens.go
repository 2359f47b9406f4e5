package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Token is an API credential. An empty TenantID may act on every tenant.
type Token struct {
	ID       string
	Name     string
	TenantID string
}

// CreateToken stores a new token and returns its secret, which is shown once
// and stored only as a hash.
func (s *DB) CreateToken(ctx context.Context, name, tenantID string) (secret string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret = "mms_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, s.ImportToken(ctx, name, tenantID, secret)
}

// ImportToken stores a token whose secret the caller already has (the dev
// server keeps its admin token across restarts). Importing the same secret
// twice is a no-op.
func (s *DB) ImportToken(ctx context.Context, name, tenantID, secret string) error {
	if len(secret) < 20 {
		return errors.New("token: too short (at least 20 characters)")
	}
	var tenant any
	if tenantID != "" {
		tenant = tenantID
	}
	_, err := s.sql.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, name, tenant_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING`,
		uuid.NewString(), hashToken(secret), name, tenant, FormatTime(s.now()))
	return err
}

// LookupToken finds the token with this secret, or ErrNotFound.
func (s *DB) LookupToken(ctx context.Context, secret string) (Token, error) {
	var t Token
	var tenant sql.NullString
	err := s.sql.QueryRowContext(ctx, `SELECT id, name, tenant_id FROM api_tokens WHERE token_hash = ?`,
		hashToken(secret)).Scan(&t.ID, &t.Name, &tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	t.TenantID = tenant.String
	return t, err
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
