// Package store is the service database: tenants and their settings, the
// directory of users with their conferencing profiles, migration status
// records with per-meeting results, and API tokens.
//
// SQLite (modernc.org/sqlite, pure Go) is the default; a postgres:// URL
// opens PostgreSQL through pgx instead (docs/POSTGRESQL.md). Queries are the
// same portable SQL on both, with text keys and text timestamps and `?`
// placeholders, rebound to $n on PostgreSQL's connections (Rebind).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a tenant, user, record or token does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a row changed since it was read: read it
// again and re-decide.
var ErrConflict = errors.New("changed concurrently")

// DB is the service database.
type DB struct {
	sql *sql.DB
	dsn string
	now func() time.Time
}

// Open opens (creating if needed) the database named by dsn and applies the
// schema migrations. dsn is a file path or "sqlite://PATH" / "file:PATH",
// or a PostgreSQL URL (postgres://user:password@host:5432/db?...), whose
// database must exist.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db, err := OpenSQL(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s := &DB{sql: db, dsn: dsn, now: func() time.Time { return time.Now().UTC() }}
	if err := Migrate(ctx, db, migrationsFS(), ""); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: schema migration: %w", RedactDSN(dsn), err)
	}
	return s, nil
}

// OpenSQL opens (creating if needed) the database named by dsn configured
// as the service uses it, and applies no migrations. The store opens its
// pool with it, and so does each package that keeps its own tables in the
// service database (the sandbox calendar back end): they share the file and
// its settings but not a handle, so that each runs SQL on its own tables
// only and writes to them in its own transactions.
//
// On PostgreSQL each pool is sized by the URL's pool_* parameters
// (postgres.go); on SQLite it has one connection.
func OpenSQL(ctx context.Context, dsn string) (*sql.DB, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("database directory %s: %w", dir, err)
		}
	}
	// The file holds every tenant's users, records and token hashes: it is
	// created readable by its owner only, not 0644 as SQLite would (issue
	// 18, finding 7). SQLite gives the -wal and -shm files the main file's
	// mode. An existing file keeps the mode its operator gave it.
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			err = f.Close()
		}
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	// WAL lets readers run beside the writer; busy_timeout makes another
	// pool on the same file (the sandbox's, or mms sandbox seed's next to
	// mms dev) wait for the write lock instead of failing with SQLITE_BUSY;
	// immediate transactions take that lock when they begin, where the wait
	// is safe, not at their first write, where SQLite could not wait.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(on)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection per pool: SQLite has one writer anyway, and a single
	// connection turns lock contention inside the pool into queueing, not
	// SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}

func sqlitePath(dsn string) (string, error) {
	switch {
	case dsn == "":
		return "", errors.New("database: empty DSN")
	case strings.HasPrefix(dsn, "sqlite://"):
		return strings.TrimPrefix(dsn, "sqlite://"), nil
	case strings.HasPrefix(dsn, "file:"):
		return strings.TrimPrefix(dsn, "file:"), nil
	}
	return dsn, nil
}

// Migrate applies the goose migrations in fsys that db has not applied yet,
// recording them in versionTable ("" is the store's, goose_db_version). Each
// package that owns tables in the service database keeps its own version
// table, so that one package's history never hides or reorders another's.
//
// The same files serve both engines (they are portable SQL: see
// docs/POSTGRESQL.md). On PostgreSQL, where several processes may start at
// once on a new database (two API replicas, three workers), a session
// advisory lock makes them migrate one at a time; on SQLite the write lock
// does.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, versionTable string) error {
	var opts []goose.ProviderOption
	if versionTable != "" {
		opts = append(opts, goose.WithTableName(versionTable))
	}
	dialect := goose.DialectSQLite3
	if isPostgresDB(db) {
		dialect = goose.DialectPostgres
		// Polled every second (goose's default is 5 s): five processes
		// starting together are all serving within seconds.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// DSN is the location the database was opened from, for a package that
// keeps its own tables in the same database to open its own pool there
// with OpenSQL.
func (s *DB) DSN() string { return s.dsn }

// Ping checks the database answers; used by /readyz.
func (s *DB) Ping(ctx context.Context) error { return s.sql.PingContext(ctx) }

// Close closes the database.
func (s *DB) Close() error { return s.sql.Close() }

// Now is the store's clock, exposed so callers stamp rows consistently.
func (s *DB) Now() time.Time { return s.now() }

// TimeLayout is how timestamps are stored: fixed width, so text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime renders t in the storage layout (UTC).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a stored timestamp; "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(TimeLayout, s)
}

// InTx runs fn in a transaction, committing when fn returns nil.
//
// The store's transactions read, decide and write (is there a Pending
// record? does the etag still match?), which is correct only if no other
// transaction slips in between. SQLite serialises writers (immediate
// transactions take the write lock at BEGIN). PostgreSQL's default, READ
// COMMITTED, would let two such transactions both decide on the same
// snapshot (two Pending records, two updates of one etag), so on PostgreSQL
// they run SERIALIZABLE, and one that loses to another (serialization
// failure, deadlock) runs again from the start: fn must only assign what it
// returns, never accumulate across runs.
func InTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	if !isPostgresDB(db) {
		return inTx(ctx, db, nil, fn)
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable}
	for attempt := 1; ; attempt++ {
		err := inTx(ctx, db, opts, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// Jittered back-off, so that the two contenders do not collide again.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond):
		}
	}
}

// maxTxAttempts bounds the runs of one contended transaction; each rerun
// follows a transaction that committed, so the contention is progress.
const maxTxAttempts = 20

func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
