package faulttest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the database
)

// pgServer is the cluster's PostgreSQL, run on the host from Debian's
// `postgresql` binaries (a throwaway cluster per scenario), listening on
// loopback for the test and on the Docker network's gateway for the
// containers, which share nothing else: no volume, no file. Password
// authentication, from the network's subnet only.
type pgServer struct {
	t        *testing.T
	bin, dir string
	port     int
	password string
	listen   string // listen_addresses
	asPG     bool   // run the server as the postgres user (the test runs as root)
}

// startPostgres starts the cluster's PostgreSQL, reachable from subnet
// through gateway, and creates the service database. Without PostgreSQL's
// binaries the test is skipped, unless CI is set: then it fails.
func startPostgres(t *testing.T, gateway, subnet string) *pgServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") == "" {
			t.Skip("no PostgreSQL binaries (Debian's postgresql): the fault suite runs mms on PostgreSQL")
		}
		t.Fatal("no PostgreSQL binaries under CI: install Debian's postgresql (.ci/run does)")
	}
	sort.Strings(bins)
	s := &pgServer{t: t, bin: filepath.Dir(bins[len(bins)-1]), listen: "127.0.0.1," + gateway}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s.password = hex.EncodeToString(b)
	// Not t.TempDir(): the server may run as another user, who must reach it.
	dir, err := os.MkdirTemp("", "mms-faulttest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 { // initdb refuses root
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.asPG = true
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run("initdb", "-D", s.data(), "-U", "postgres", "--pwfile", pwfile, "-A", "scram-sha-256", "--locale=C.UTF-8")
	hba := "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all " + subnet + " scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(s.data(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.asPG {
		pg, _ := user.Lookup("postgres")
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		_ = os.Chown(filepath.Join(s.data(), "pg_hba.conf"), uid, gid)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Start()
	t.Cleanup(s.Stop)
	db, err := sql.Open("pgx", s.DSN("127.0.0.1", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// C collation, as docs/POSTGRESQL.md asks.
	if _, err := db.Exec(`CREATE DATABASE mms TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return s
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// run runs one of PostgreSQL's programs (as the postgres user under root).
func (s *pgServer) run(prog string, args ...string) {
	s.t.Helper()
	path := filepath.Join(s.bin, prog)
	cmd := exec.Command(path, args...)
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v\n%s", prog, err, out)
	}
}

// Start starts the server and waits until it accepts connections.
func (s *pgServer) Start() {
	s.t.Helper()
	s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=%s -c max_connections=200 -c fsync=off", s.port, s.dir, s.listen), "start")
}

// Stop stops the server at once (clients are disconnected, in-flight
// transactions rolled back), as a fail-over or a crash-restart would.
func (s *pgServer) Stop() {
	cmd := exec.Command(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-m", "fast", "-w", "stop")
	if s.asPG {
		cmd = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-m", "fast", "-w", "stop")
	}
	_ = cmd.Run()
}

// DSN is the URL of database db on host (127.0.0.1 for the test, the
// gateway for the containers).
func (s *pgServer) DSN(host, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", s.password),
		Host: net.JoinHostPort(host, strconv.Itoa(s.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// waitUp waits until the server answers again after a restart.
func (s *pgServer) waitUp(within time.Duration) {
	s.t.Helper()
	db, err := sql.Open("pgx", s.DSN("127.0.0.1", "mms"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("PostgreSQL not back after %s: %v", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
