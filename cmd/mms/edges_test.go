package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// Issue 18, finding 3: a malformed --user is a usage error (exit 1) that
// names the flag, and nothing reaches the API.
func TestUserFlagGrammar(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the API was called: %s %s", r.Method, r.URL)
		http.Error(w, "{}", http.StatusTeapot)
	}))
	defer srv.Close()
	c := cli{t: t, url: srv.URL, token: "t"}
	for _, user := range []string{"a\tb@contoso.com", "..", "alice", "\x1b[2J@contoso.com", strings.Repeat("a", 300) + "@x"} {
		for _, args := range [][]string{{"start", "--user", user}, {"cancel", "--user", user}, {"retry", "--user", user},
			{"status", "--user", user}, {"event", "post", "--type", "sipAddressChanged", "--user", user},
			{"event", "list", "--user", user}} {
			if r := c.run(args...); r.code != 1 || !strings.Contains(r.stderr, "--user: ") {
				t.Errorf("mms %q: exit %d %q, want 1 naming --user", args, r.code, r.stderr)
			}
		}
	}
}

func TestEscKeepsUnicodeAndEscapesControls(t *testing.T) {
	for in, want := range map[string]string{"alice@contoso.com": "alice@contoso.com", "Zoë 会议 🎉": "Zoë 会议 🎉",
		"\x1b[2J": `\x1b[2J`, "a\tb\nc\rd": `a\tb\nc\rd`, "a\u200bb": `a\u200bb`, "\xff": `\xff`, "\x00": `\x00`} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
}

// Issue 18, finding 4: mms status prints no raw control character in its
// table and no formula cell in -o csv, whatever the API sends (an older API
// does not neutralise its CSV).
func TestStatusOutputIsSafe(t *testing.T) {
	payloads := []string{"=1+2", "+1", "-1", "@SUM(A1)", "|calc", `=HYPERLINK("http://evil.example")`, "\x1b[2J", "a\rb"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "csv" {
			w.Header().Set("Content-Type", "text/csv")
			cw := csv.NewWriter(w)
			_ = cw.Write([]string{"UserId", "State", "LastMessage"})
			for _, p := range payloads {
				_ = cw.Write([]string{p, "Failed", p})
			}
			cw.Flush()
			return
		}
		var list api.MigrationList
		for _, p := range payloads {
			list.Migrations = append(list.Migrations, store.StatusRecord{UserID: p + "@contoso.com", State: "Failed", LastMessage: p})
		}
		list.Total = len(list.Migrations)
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()
	c := cli{t: t, url: srv.URL, token: "t"}
	table := c.must("status")
	if strings.ContainsAny(table, "\x1b\r") || !strings.Contains(table, `\x1b[2J`) {
		t.Errorf("status table holds a raw control character or lost the escaped one:\n%q", table)
	}
	rows, err := csv.NewReader(strings.NewReader(c.must("status", "-o", "csv"))).ReadAll()
	if err != nil || len(rows) != len(payloads)+1 {
		t.Fatalf("status -o csv: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q is not neutralised", cell)
			}
		}
	}
}

// Issue 18, finding 7: `token revoke --name dup` without a scope revoked
// tokens in three tenants, and an empty name was accepted. The scope is
// now required and the name must not be empty.
func TestTokenRevokeNeedsAScopeAndAName(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mms.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"contoso", "fabrikam"} {
		if err := db.PutTenant(ctx, store.Tenant{ID: id, DisplayName: id, Settings: migration.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateToken(ctx, "dup", id, store.RoleReader); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateToken(ctx, "dup", "", store.RoleReader); err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		root := &cobra.Command{Use: "mms", SilenceUsage: true, SilenceErrors: true}
		root.AddCommand(tokenCommand())
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"token", "revoke", "--database", path}, args...))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	for _, args := range [][]string{{"--name", "dup"}, {"--name", "", "--all-tenants"}, {"--name", " ", "--tenant", "contoso"},
		{"--name", "dup", "--tenant", "contoso", "--all-tenants"}} {
		if _, err := run(args...); err == nil {
			t.Errorf("token revoke %q: no error", args)
		}
	}
	if out, err := run("--name", "dup", "--tenant", "contoso"); err != nil || !strings.Contains(out, "revoked 1 token") {
		t.Fatalf("--tenant contoso: %v %s", err, out)
	}
	if out, err := run("--name", "dup", "--all-tenants"); err != nil || !strings.Contains(out, "revoked 2 token") {
		t.Fatalf("--all-tenants: %v %s", err, out)
	}
}

// Issue 19, bad input: a postgres:// URL that cannot connect ends every
// command that opens the database with one line naming the host and the
// cause, never the password, and a non-zero exit.
func TestUnreachablePostgresIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused
	url := "postgres://mms:pa55-w0rd@" + addr + "/mms?sslmode=disable"
	for _, args := range [][]string{
		{"worker", "--database", url, "--temporal-address", addr},
		{"api", "--database", url, "--temporal-address", addr, "--addr", "127.0.0.1:0"},
		{"token", "create", "--database", url, "--name", "x"},
	} {
		root := newRoot()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := root.ExecuteContext(ctx)
		cancel()
		if err == nil {
			t.Fatalf("mms %s: no error", args[0])
		}
		line := "mms: " + err.Error()
		t.Log(line)
		if exitCode(err) == 0 || strings.ContainsAny(line, "\n\r") || strings.Contains(line, "pa55") ||
			!strings.Contains(line, addr) || !strings.Contains(line, "refused") {
			t.Errorf("mms %s: exit %d, %q; want one line naming %s and the refusal, without the password",
				args[0], exitCode(err), line, addr)
		}
	}
}
