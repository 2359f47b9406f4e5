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
	"slices"

	"github.com/google/uuid"
)

// Token roles.
const (
	RoleAdmin    = "admin"    // everything
	RoleOperator = "operator" // start, cancel, read
	RoleReader   = "reader"   // read
	RoleUpstream = "upstream" // post change events only
	// RoleServiceAdmin runs the service: it creates and deletes tenants,
	// and may do what an admin does in every tenant. It is never bound to
	// one tenant.
	RoleServiceAdmin = "service-admin"
)

// Roles lists the roles, most powerful first.
var Roles = []string{RoleServiceAdmin, RoleAdmin, RoleOperator, RoleReader, RoleUpstream}

// Permission is something a token may be allowed to do.
type Permission string

// The permissions; RolesFor says which roles hold each.
const (
	PermRead       Permission = "read"        // read records, settings, events
	PermOperate    Permission = "operate"     // start, dry run, cancel, retry failed
	PermAdminister Permission = "administer"  // change settings and users
	PermPostEvents Permission = "post events" // post change events
	// PermManageTenants creates and deletes tenants: a tenant's own admin
	// may not delete it, nor make another.
	PermManageTenants Permission = "manage tenants"
)

// permissions is the one role table: the API's routes and the console's
// buttons both read it, so a button is shown exactly when its request would
// be allowed.
var permissions = map[Permission][]string{
	PermRead:          {RoleServiceAdmin, RoleAdmin, RoleOperator, RoleReader},
	PermOperate:       {RoleServiceAdmin, RoleAdmin, RoleOperator},
	PermAdminister:    {RoleServiceAdmin, RoleAdmin},
	PermPostEvents:    {RoleServiceAdmin, RoleAdmin, RoleUpstream},
	PermManageTenants: {RoleServiceAdmin},
}

// RolesFor lists the roles holding the permission (a copy).
func RolesFor(p Permission) []string { return slices.Clone(permissions[p]) }

// Token is an API credential. An empty TenantID may act on every tenant.
type Token struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TenantID string `json:"tenantId,omitempty"`
	Role     string `json:"role"`
}

// CreateToken stores a new token and returns its secret, which is shown once
// and stored only as a hash.
func (s *DB) CreateToken(ctx context.Context, name, tenantID, role string) (secret string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret = "mms_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, s.ImportToken(ctx, name, tenantID, role, secret)
}

// ImportToken stores a token whose secret the caller already has (the dev
// server keeps its admin token across restarts). Importing the same secret
// twice is a no-op.
func (s *DB) ImportToken(ctx context.Context, name, tenantID, role, secret string) error {
	if len(secret) < 20 {
		return errors.New("token: too short (at least 20 characters)")
	}
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("token role: must be one of %v, not %q", Roles, role)
	}
	if role == RoleServiceAdmin && tenantID != "" {
		return errors.New("token role: a service-admin token is not bound to a tenant (no tenant)")
	}
	var tenant any
	if tenantID != "" {
		tenant = tenantID
	}
	_, err := s.sql.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, name, tenant_id, role, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING`,
		uuid.NewString(), hashToken(secret), name, tenant, role, FormatTime(s.now()))
	return err
}

// RevokeToken deletes the tokens with this name (and tenant, when given),
// returning how many there were.
func (s *DB) RevokeToken(ctx context.Context, name, tenantID string) (int, error) {
	if name == "" {
		// No caller means "every unnamed token" (issue 18, finding 7).
		return 0, errors.New("revoke token: empty name")
	}
	res, err := s.sql.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = ? AND (? = '' OR tenant_id = ?)`,
		name, tenantID, tenantID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LookupToken finds the token with this secret, or ErrNotFound. The lookup
// is by SHA-256 of the secret, so its timing reveals nothing about secrets.
func (s *DB) LookupToken(ctx context.Context, secret string) (Token, error) {
	var t Token
	var tenant sql.NullString
	err := s.sql.QueryRowContext(ctx, `SELECT id, name, tenant_id, role FROM api_tokens WHERE token_hash = ?`,
		hashToken(secret)).Scan(&t.ID, &t.Name, &tenant, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	t.TenantID = tenant.String
	return t, err
}

// May says whether the token's role holds the permission.
func (t Token) May(p Permission) bool { return slices.Contains(permissions[p], t.Role) }

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
