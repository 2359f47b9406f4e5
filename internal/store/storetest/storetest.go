// Package storetest gives tests a fresh service database on each engine the
// store runs on: SQLite always, PostgreSQL through the server named by
// MMS_TEST_POSTGRES (a URL such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, whose user
// may create databases). Without that variable the PostgreSQL runs are
// skipped, unless CI is set: then they fail, so that a CI machine without
// PostgreSQL cannot pass the store's suite on SQLite alone.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver, for creating databases
)

// EnvPostgres names the PostgreSQL server tests create their databases on.
const EnvPostgres = "MMS_TEST_POSTGRES"

// EnvEngine picks the one engine of the packages that use the store
// without testing it (intake, api, activities, workflows): sqlite (the
// default) or postgres. `make test-postgres` runs them on PostgreSQL.
const EnvEngine = "MMS_TEST_ENGINE"

// Engines the store runs on, as subtest names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Engines lists the engines, SQLite first.
var Engines = []string{SQLite, Postgres}

// Run runs fn as one subtest per engine, each with the DSN of a new, empty
// database (dropped when the subtest ends).
func Run(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) { fn(t, DSN(t, engine)) })
	}
}

// Default returns the DSN of a new, empty database on the engine
// MMS_TEST_ENGINE names (SQLite when unset).
func Default(t testing.TB) string {
	t.Helper()
	engine := os.Getenv(EnvEngine)
	if engine == "" {
		engine = SQLite
	}
	return DSN(t, engine)
}

// DSN returns the DSN of a new, empty database on engine, or skips (fails
// under CI) when PostgreSQL is asked for and not configured.
func DSN(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case SQLite:
		return filepath.Join(t.TempDir(), "mms.db")
	case Postgres:
		return PostgresDSN(t)
	}
	t.Fatalf("storetest: unknown engine %q", engine)
	return ""
}

// PostgresDSN creates a database of its own for the test on the server
// MMS_TEST_POSTGRES names, and drops it when the test ends. The database
// is created as docs/POSTGRESQL.md asks production's to be: UTF8 with the
// C collation, so that text sorts as on SQLite.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: under CI the PostgreSQL runs must run (see .ci/run)", EnvPostgres)
		}
		t.Skipf("%s is not set: no PostgreSQL to test on", EnvPostgres)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "mms_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name+
		` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("%s: create database: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a pool the test left open must not keep its database.
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
