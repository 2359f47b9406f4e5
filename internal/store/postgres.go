package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres says whether dsn names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Pool settings of a PostgreSQL DSN, read from its query string and removed
// from it before pgx sees it (pgx would send unknown parameters to the
// server as run-time settings, which the server refuses). The names are
// pgxpool's, so that they read the same to whoever knows pgx.
// docs/POSTGRESQL.md gives the arithmetic for many replicas.
const (
	paramMaxConns        = "pool_max_conns"          // MaxOpenConns of each pool
	paramMaxIdleConns    = "pool_max_idle_conns"     // MaxIdleConns of each pool
	paramMaxConnLifetime = "pool_max_conn_lifetime"  // ConnMaxLifetime
	paramMaxConnIdleTime = "pool_max_conn_idle_time" // ConnMaxIdleTime
)

// Defaults sized so that an API replica or a worker holds at most 10
// connections per pool: the worker's activities (default 16 at a time) wait
// on Graph far longer than on the database, and 10 replicas of each fit in
// PostgreSQL's default max_connections of 100 with room for the sandbox's
// pool and an operator. Connections are recycled every 30 minutes so that a
// fail-over or a pgbouncer in front rebalances them.
const (
	defaultMaxConns        = 10
	defaultMaxIdleConns    = 5
	defaultMaxConnLifetime = 30 * time.Minute
	defaultMaxConnIdleTime = 5 * time.Minute
)

// PoolConfig is how a PostgreSQL pool is sized.
type PoolConfig struct {
	MaxConns, MaxIdleConns           int
	MaxConnLifetime, MaxConnIdleTime time.Duration
}

// RedactDSN renders dsn for messages: a PostgreSQL URL without its
// password, a SQLite path as it is.
func RedactDSN(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// parsePostgres splits a PostgreSQL URL into pgx's connection settings and
// the pool's.
func parsePostgres(dsn string) (*pgx.ConnConfig, PoolConfig, error) {
	pc := PoolConfig{defaultMaxConns, defaultMaxIdleConns, defaultMaxConnLifetime, defaultMaxConnIdleTime}
	u, err := url.Parse(dsn)
	if err != nil {
		// url's message quotes the URL, password and all: say only where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, pc, fmt.Errorf("database: malformed PostgreSQL URL: %v", err)
	}
	q := u.Query()
	for _, p := range []struct {
		name string
		n    *int
		d    *time.Duration
	}{
		{paramMaxConns, &pc.MaxConns, nil}, {paramMaxIdleConns, &pc.MaxIdleConns, nil},
		{paramMaxConnLifetime, nil, &pc.MaxConnLifetime}, {paramMaxConnIdleTime, nil, &pc.MaxConnIdleTime},
	} {
		v := q.Get(p.name)
		q.Del(p.name)
		if v == "" {
			continue
		}
		if p.n != nil {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, pc, fmt.Errorf("database %s: %s: %q is not a positive integer", u.Redacted(), p.name, v)
			}
			*p.n = n
		} else {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, pc, fmt.Errorf("database %s: %s: %q is not a duration (e.g. 30m)", u.Redacted(), p.name, v)
			}
			*p.d = d
		}
	}
	if pc.MaxIdleConns > pc.MaxConns {
		pc.MaxIdleConns = pc.MaxConns
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, pc, fmt.Errorf("database %s: %s", u.Redacted(), oneLine(err.Error(), u))
	}
	return cfg, pc, nil
}

// openPostgres opens a pool on the PostgreSQL database named by dsn and
// checks that it answers.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, pc, err := parsePostgres(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		// A wrong address fails in seconds, not the OS's minutes.
		cfg.ConnectTimeout = 10 * time.Second
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(pc.MaxConns)
	db.SetMaxIdleConns(pc.MaxIdleConns)
	db.SetConnMaxLifetime(pc.MaxConnLifetime)
	db.SetConnMaxIdleTime(pc.MaxConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		u, _ := url.Parse(dsn)
		return nil, fmt.Errorf("database %s: cannot connect to %s: %s", RedactDSN(dsn),
			net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), oneLine(connectCause(err), u))
	}
	return db, nil
}

// connectCause is why a connection failed, without pgx's preamble (which
// repeats the user and database) when the cause is a network or server
// error the preamble wraps.
func connectCause(err error) string {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap().Error()
	}
	return err.Error()
}

// oneLine folds a message onto one line (pgx lists one line per address it
// tried) and removes the URL's password should a message ever quote it.
func oneLine(msg string, u *url.URL) string {
	if u != nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// isPostgresDB says whether db was opened on PostgreSQL by OpenSQL.
func isPostgresDB(db *sql.DB) bool {
	_, ok := db.Driver().(rebindDriver)
	return ok
}

// retryable says whether a PostgreSQL transaction failed only because it
// ran beside another (SERIALIZABLE's serialization failure, a deadlock):
// run again, it sees the other's result and decides afresh.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// The store's SQL is written once, with SQLite's and database/sql's `?`
// placeholders; PostgreSQL numbers its parameters ($1, $2...). Rather than
// every query passing through a helper (and the sandbox's, and tests'),
// the PostgreSQL pool's connections rebind each query as it is prepared or
// run: the driver below wraps pgx's and changes nothing else.

type rebindConnector struct{ inner driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return rebindConn{conn.(*stdlib.Conn)}, nil
}

func (c rebindConnector) Driver() driver.Driver { return rebindDriver{c.inner.Driver()} }

type rebindDriver struct{ inner driver.Driver }

func (d rebindDriver) Open(name string) (driver.Conn, error) {
	conn, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return rebindConn{conn.(*stdlib.Conn)}, nil
}

// rebindConn is pgx's connection (begin, ping, reset, named values: all
// promoted) with its queries rebound.
type rebindConn struct{ *stdlib.Conn }

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	st, err := c.Conn.Prepare(Rebind(query))
	return textStmt{st}, err
}

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, Rebind(query))
	return textStmt{st}, err
}

func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, Rebind(query), pgText(args))
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, Rebind(query), pgText(args))
}

// textStmt is pgx's prepared statement with its text arguments made
// storable (pgText).
type textStmt struct{ driver.Stmt }

func (s textStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, pgText(args))
}

func (s textStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, pgText(args))
}

// pgText makes text arguments storable in PostgreSQL, whose text type
// refuses a NUL byte and invalid UTF-8 (SQLSTATE 22021) where SQLite takes
// them. Such text comes from outside: a meeting subject from a calendar,
// an error message from a back end, a display name. Refusing it would fail
// the whole write (a page of results, a record's last message) on one
// engine only, and retrying could not help; each such byte is stored as
// U+FFFD instead. The edges refuse these bytes where the value is a key
// (user, tenant and event IDs), so no two keys become one.
func pgText(args []driver.NamedValue) []driver.NamedValue {
	for i, a := range args {
		if s, ok := a.Value.(string); ok && (strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)) {
			args[i].Value = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
	return args
}

// Rebind turns the `?` placeholders of query into PostgreSQL's $1, $2...,
// leaving alone a `?` inside a string literal, a quoted identifier or a
// comment. The store's SQL has no dollar-quoted strings and no JSON `?`
// operators, the two other places a PostgreSQL query may hold a `?`.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			// To the closing quote; a doubled quote is an escaped one and
			// simply closes and reopens.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
